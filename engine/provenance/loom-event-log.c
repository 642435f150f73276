/* loom-event-log.c — LoomEventLog keeps each event as the JSON object that is saved, so
 * the hash of an event is computed from exactly what a reader of the file sees. */
#include "config.h"

#include <string.h>

#include "loom-error.h"
#include "loom-event-log.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct
{
  char   *name;
  char   *file_name;
  char   *sha256;
  guint64 size;
  char   *quantization;
  char   *licence;
} ModelAgent;

struct _LoomEventLog
{
  GObject     parent_instance;

  GPtrArray  *events;         /* of JsonObject, owned */
  GHashTable *by_id;          /* id → JsonObject, borrowed from events */
  char       *head;           /* hash of the last event, or ZERO_HASH */
  char       *stored_head;    /* (nullable): the head a parsed log claimed */

  char       *author;
  char       *app_name;
  char       *app_version;
  GArray     *models;         /* of ModelAgent */
};

G_DEFINE_FINAL_TYPE (LoomEventLog, loom_event_log, G_TYPE_OBJECT)

static void
model_agent_clear (gpointer data)
{
  ModelAgent *model = data;

  g_free (model->name);
  g_free (model->file_name);
  g_free (model->sha256);
  g_free (model->quantization);
  g_free (model->licence);
}

static void
loom_event_log_finalize (GObject *object)
{
  LoomEventLog *self = LOOM_EVENT_LOG (object);

  g_hash_table_unref (self->by_id);
  g_ptr_array_unref (self->events);
  g_free (self->head);
  g_free (self->stored_head);
  g_free (self->author);
  g_free (self->app_name);
  g_free (self->app_version);
  g_array_unref (self->models);

  G_OBJECT_CLASS (loom_event_log_parent_class)->finalize (object);
}

static void
loom_event_log_class_init (LoomEventLogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = loom_event_log_finalize;
}

static void
loom_event_log_init (LoomEventLog *self)
{
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->head = g_strdup (ZERO_HASH);
  self->models = g_array_new (FALSE, TRUE, sizeof (ModelAgent));
  g_array_set_clear_func (self->models, model_agent_clear);
}

LoomEventLog *
loom_event_log_new (void)
{
  return g_object_new (LOOM_TYPE_EVENT_LOG, NULL);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (a, b);
}

static JsonNode *
canonical_copy (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObject *sorted = json_object_new ();
        GList *members = g_list_sort (json_object_get_members (object), compare_strings);
        JsonNode *copy;

        for (GList *l = members; l != NULL; l = l->next)
          json_object_set_member (sorted, l->data,
                                  canonical_copy (json_object_get_member (object, l->data)));
        g_list_free (members);
        copy = json_node_init_object (json_node_alloc (), sorted);
        json_object_unref (sorted);
        return copy;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        JsonArray *sorted = json_array_sized_new (json_array_get_length (array));
        JsonNode *copy;

        for (guint i = 0; i < json_array_get_length (array); i++)
          json_array_add_element (sorted, canonical_copy (json_array_get_element (array, i)));
        copy = json_node_init_array (json_node_alloc (), sorted);
        json_array_unref (sorted);
        return copy;
      }
    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
    default:
      return json_node_copy (node);
    }
}

char *
loom_json_canonicalize (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) sorted = NULL;

  g_return_val_if_fail (node != NULL, NULL);

  sorted = canonical_copy (node);
  json_generator_set_pretty (generator, FALSE);
  json_generator_set_root (generator, sorted);

  return json_generator_to_data (generator, NULL);
}

static char *
hash_event (JsonObject *event)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), event);
  g_autofree char *canonical = loom_json_canonicalize (node);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, canonical, -1);
}

static char *
format_time (gint64 time_us)
{
  g_autoptr(GDateTime) seconds = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) time = g_date_time_add (seconds, time_us % G_USEC_PER_SEC);

  /* A fixed layout (always microseconds, always Z), so two writers agree byte for byte. */
  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%S.%fZ");
}

const char *
loom_event_log_append_at_time (LoomEventLog *self,
                               const char   *kind,
                               JsonObject   *fields,
                               gint64        time_us)
{
  JsonObject *event;
  g_autofree char *id = NULL;
  g_autofree char *time = NULL;

  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);
  g_return_val_if_fail (kind != NULL && *kind != '\0', NULL);

  if (fields == NULL)
    fields = json_object_new ();

  /* Ids count from 1; a loaded log may have gaps no one made, so the next free number
   * is taken. */
  for (guint n = self->events->len + 1;; n++)
    {
      g_free (id);
      id = g_strdup_printf ("e%u", n);
      if (!g_hash_table_contains (self->by_id, id))
        break;
    }
  time = format_time (time_us);

  event = json_object_new ();
  json_object_set_string_member (event, "id", id);
  json_object_set_string_member (event, "kind", kind);
  json_object_set_string_member (event, "time", time);
  json_object_set_object_member (event, "fields", fields);
  json_object_set_string_member (event, "prev", self->head);
  json_object_seal (event);

  g_ptr_array_add (self->events, event);
  g_hash_table_insert (self->by_id, (char *) json_object_get_string_member (event, "id"), event);
  g_free (self->head);
  self->head = hash_event (event);
  g_clear_pointer (&self->stored_head, g_free);

  return json_object_get_string_member (event, "id");
}

const char *
loom_event_log_append (LoomEventLog *self,
                       const char   *kind,
                       JsonObject   *fields)
{
  return loom_event_log_append_at_time (self, kind, fields, g_get_real_time ());
}

guint
loom_event_log_get_n_events (LoomEventLog *self)
{
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), 0);

  return self->events->len;
}

JsonObject *
loom_event_log_get_event (LoomEventLog *self,
                          guint         i)
{
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);
  g_return_val_if_fail (i < self->events->len, NULL);

  return g_ptr_array_index (self->events, i);
}

JsonObject *
loom_event_log_lookup (LoomEventLog *self,
                       const char   *id)
{
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);

  if (id == NULL)
    return NULL;

  return g_hash_table_lookup (self->by_id, id);
}

char *
loom_event_log_dup_head (LoomEventLog *self)
{
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);

  return g_strdup (self->head);
}

static const char *
event_string (JsonObject *event,
              const char *name)
{
  JsonNode *node = json_object_get_member (event, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

gboolean
loom_event_log_verify (LoomEventLog  *self,
                       GError       **error)
{
  g_autofree char *expected = g_strdup (ZERO_HASH);

  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), FALSE);

  for (guint i = 0; i < self->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (self->events, i);
      const char *prev = event_string (event, "prev");

      if (g_strcmp0 (prev, expected) != 0)
        {
          if (i == 0)
            g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                         "The event log does not start a chain: event %s does not link to "
                         "the beginning", event_string (event, "id"));
          else
            {
              JsonObject *broken = g_ptr_array_index (self->events, i - 1);

              g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                           "The event log was changed: event %s (%s) does not match the "
                           "hash recorded in event %s", event_string (broken, "id"),
                           event_string (broken, "kind"), event_string (event, "id"));
            }
          return FALSE;
        }
      g_free (expected);
      expected = hash_event (event);
    }

  if (self->stored_head != NULL && g_strcmp0 (self->stored_head, expected) != 0)
    {
      if (self->events->len == 0)
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                     "The event log is empty but its recorded head says otherwise");
      else
        {
          JsonObject *last = g_ptr_array_index (self->events, self->events->len - 1);

          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "The event log was changed: event %s (%s) does not match the log's "
                       "recorded head", event_string (last, "id"), event_string (last, "kind"));
        }
      return FALSE;
    }

  return TRUE;
}

void
loom_event_log_set_author (LoomEventLog *self,
                           const char   *name)
{
  g_return_if_fail (LOOM_IS_EVENT_LOG (self));

  g_free (self->author);
  self->author = g_strdup (name);
}

const char *
loom_event_log_get_author (LoomEventLog *self)
{
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);

  return self->author;
}

void
loom_event_log_set_app (LoomEventLog *self,
                        const char   *name,
                        const char   *version)
{
  g_return_if_fail (LOOM_IS_EVENT_LOG (self));

  g_free (self->app_name);
  g_free (self->app_version);
  self->app_name = g_strdup (name);
  self->app_version = g_strdup (version);
}

void
loom_event_log_add_model (LoomEventLog         *self,
                          const LoomModelAgent *model)
{
  ModelAgent copy;

  g_return_if_fail (LOOM_IS_EVENT_LOG (self));
  g_return_if_fail (model != NULL && model->name != NULL);

  copy.name = g_strdup (model->name);
  copy.file_name = g_strdup (model->file_name);
  copy.sha256 = g_strdup (model->sha256);
  copy.size = model->size;
  copy.quantization = g_strdup (model->quantization);
  copy.licence = g_strdup (model->licence);

  for (guint i = 0; i < self->models->len; i++)
    {
      ModelAgent *existing = &g_array_index (self->models, ModelAgent, i);
      gboolean same = model->sha256 != NULL ? g_strcmp0 (existing->sha256, model->sha256) == 0
                                            : (existing->sha256 == NULL &&
                                               g_str_equal (existing->name, model->name));

      if (same)
        {
          model_agent_clear (existing);
          *existing = copy;
          return;
        }
    }
  g_array_append_val (self->models, copy);
}

guint
loom_event_log_get_n_models (LoomEventLog *self)
{
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), 0);

  return self->models->len;
}

void
loom_event_log_get_model (LoomEventLog   *self,
                          guint           i,
                          LoomModelAgent *model)
{
  const ModelAgent *agent;

  g_return_if_fail (LOOM_IS_EVENT_LOG (self));
  g_return_if_fail (i < self->models->len);
  g_return_if_fail (model != NULL);

  agent = &g_array_index (self->models, ModelAgent, i);
  model->name = agent->name;
  model->file_name = agent->file_name;
  model->sha256 = agent->sha256;
  model->size = agent->size;
  model->quantization = agent->quantization;
  model->licence = agent->licence;
}

static void
add_nullable_string (JsonBuilder *builder,
                     const char  *name,
                     const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

JsonNode *
loom_event_log_to_json (LoomEventLog *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "events");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (self->events, i);

      json_builder_add_value (builder, json_node_init_object (json_node_alloc (), event));
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "head");
  json_builder_add_string_value (builder, self->head);

  json_builder_set_member_name (builder, "agents");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "author");
  json_builder_begin_object (builder);
  add_nullable_string (builder, "name", self->author);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "models");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->models->len; i++)
    {
      const ModelAgent *model = &g_array_index (self->models, ModelAgent, i);

      json_builder_begin_object (builder);
      add_nullable_string (builder, "name", model->name);
      add_nullable_string (builder, "file_name", model->file_name);
      add_nullable_string (builder, "sha256", model->sha256);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64) model->size);
      add_nullable_string (builder, "quantization", model->quantization);
      add_nullable_string (builder, "licence", model->licence);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "app");
  json_builder_begin_object (builder);
  add_nullable_string (builder, "name", self->app_name);
  add_nullable_string (builder, "version", self->app_version);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* A member that must be a string or null; FALSE when it is anything else. */
static gboolean
read_nullable_string (JsonObject  *object,
                      const char  *name,
                      const char **value)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  *value = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return FALSE;
  *value = json_node_get_string (node);

  return TRUE;
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gboolean
is_hex_hash (const char *string)
{
  if (string == NULL || strlen (string) != 64)
    return FALSE;
  for (const char *p = string; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;

  return TRUE;
}

static gboolean
read_agents (LoomEventLog  *self,
             JsonObject    *agents,
             GError       **error)
{
  JsonNode *models_node;
  const char *name, *version;

  if (agents == NULL)
    return TRUE;

  if (!read_nullable_string (object_member (agents, "author"), "name", &name))
    goto bad;
  loom_event_log_set_author (self, name);

  if (!read_nullable_string (object_member (agents, "app"), "name", &name) ||
      !read_nullable_string (object_member (agents, "app"), "version", &version))
    goto bad;
  loom_event_log_set_app (self, name, version);

  models_node = json_object_get_member (agents, "models");
  if (models_node != NULL)
    {
      JsonArray *models;

      if (!JSON_NODE_HOLDS_ARRAY (models_node))
        goto bad;
      models = json_node_get_array (models_node);
      for (guint i = 0; i < json_array_get_length (models); i++)
        {
          JsonNode *element = json_array_get_element (models, i);
          JsonObject *object;
          LoomModelAgent model = { 0, };
          JsonNode *size;

          if (!JSON_NODE_HOLDS_OBJECT (element))
            goto bad;
          object = json_node_get_object (element);
          size = json_object_get_member (object, "size");
          if (!read_nullable_string (object, "name", &model.name) || model.name == NULL ||
              !read_nullable_string (object, "file_name", &model.file_name) ||
              !read_nullable_string (object, "sha256", &model.sha256) ||
              !read_nullable_string (object, "quantization", &model.quantization) ||
              !read_nullable_string (object, "licence", &model.licence) ||
              (size != NULL && json_node_get_value_type (size) != G_TYPE_INT64))
            goto bad;
          model.size = size != NULL ? (guint64) json_node_get_int (size) : 0;
          loom_event_log_add_model (self, &model);
        }
    }

  return TRUE;

bad:
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED, "The agents list is malformed");
  return FALSE;
}

LoomEventLog *
loom_event_log_new_from_json (JsonNode  *node,
                              GError   **error)
{
  g_autoptr(LoomEventLog) self = NULL;
  JsonObject *root;
  JsonNode *events_node;
  JsonArray *events;
  const char *head;

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED, "The event log is not an object");
      return NULL;
    }
  root = json_node_get_object (node);
  events_node = json_object_get_member (root, "events");
  if (events_node == NULL || !JSON_NODE_HOLDS_ARRAY (events_node))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED, "The event log has no list of events");
      return NULL;
    }
  if (!read_nullable_string (root, "head", &head) || !is_hex_hash (head))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "The event log has no valid head hash");
      return NULL;
    }

  self = loom_event_log_new ();
  events = json_node_get_array (events_node);
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonNode *element = json_array_get_element (events, i);
      JsonObject *event;
      const char *id, *kind, *time;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        goto bad_event;
      event = json_node_get_object (element);
      if (!read_nullable_string (event, "id", &id) || id == NULL ||
          !read_nullable_string (event, "kind", &kind) || kind == NULL || *kind == '\0' ||
          !read_nullable_string (event, "time", &time) || time == NULL ||
          object_member (event, "fields") == NULL ||
          !is_hex_hash (event_string (event, "prev")))
        goto bad_event;
      if (g_hash_table_contains (self->by_id, id))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "The event log has two events with the id %s", id);
          return NULL;
        }

      /* Kept as parsed, extra members included: the hash covers them. */
      json_object_ref (event);
      json_object_seal (event);
      g_ptr_array_add (self->events, event);
      g_hash_table_insert (self->by_id, (char *) id, event);
      continue;

    bad_event:
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "Event %u of the log is not an object with an id, a kind, a time, "
                   "fields and a previous-event hash", i + 1);
      return NULL;
    }

  if (!read_agents (self, object_member (root, "agents"), error))
    return NULL;

  g_free (self->head);
  self->head = self->events->len > 0
               ? hash_event (g_ptr_array_index (self->events, self->events->len - 1))
               : g_strdup (ZERO_HASH);
  self->stored_head = g_strdup (head);

  return g_steal_pointer (&self);
}

char *
loom_event_log_serialize (LoomEventLog *self)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (LOOM_IS_EVENT_LOG (self), NULL);

  root = loom_event_log_to_json (self);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

LoomEventLog *
loom_event_log_parse (const char  *json,
                      gssize       length,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_return_val_if_fail (json != NULL, NULL);

  if (!json_parser_load_from_data (parser, json, length, error))
    return NULL;

  return loom_event_log_new_from_json (json_parser_get_root (parser), error);
}
