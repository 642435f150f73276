/* loom-authorship.c — LoomAuthorship keeps runs as an array in text order; every edit
 * splits the runs at the edit's ends, replaces the runs between, and merges neighbours
 * again, so the representation of a given text's origins is unique. */
#include "config.h"

#include "loom-error.h"
#include "loom-authorship.h"

typedef struct
{
  guint       length;  /* code points, > 0 */
  LoomOrigin  origin;
  const char *source;  /* (nullable): interned */
} Run;

struct _LoomAuthorship
{
  GObject  parent_instance;

  GArray  *runs;       /* of Run */
  GArray  *starts;     /* of guint, one per run; rebuilt when stale */
  gboolean starts_valid;
  guint    length;
};

G_DEFINE_FINAL_TYPE (LoomAuthorship, loom_authorship, G_TYPE_OBJECT)

static void
loom_authorship_finalize (GObject *object)
{
  LoomAuthorship *self = LOOM_AUTHORSHIP (object);

  g_array_unref (self->runs);
  g_array_unref (self->starts);

  G_OBJECT_CLASS (loom_authorship_parent_class)->finalize (object);
}

static void
loom_authorship_class_init (LoomAuthorshipClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = loom_authorship_finalize;
}

static void
loom_authorship_init (LoomAuthorship *self)
{
  self->runs = g_array_new (FALSE, FALSE, sizeof (Run));
  self->starts = g_array_new (FALSE, FALSE, sizeof (guint));
}

LoomAuthorship *
loom_authorship_new (void)
{
  return g_object_new (LOOM_TYPE_AUTHORSHIP, NULL);
}

LoomAuthorship *
loom_authorship_copy (LoomAuthorship *self)
{
  LoomAuthorship *copy;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), NULL);

  copy = loom_authorship_new ();
  g_array_append_vals (copy->runs, self->runs->data, self->runs->len);
  copy->length = self->length;

  return copy;
}

gboolean
loom_authorship_equal (LoomAuthorship *a,
                       LoomAuthorship *b)
{
  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (a), FALSE);
  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (b), FALSE);

  if (a->length != b->length || a->runs->len != b->runs->len)
    return FALSE;

  for (guint i = 0; i < a->runs->len; i++)
    {
      const Run *ra = &g_array_index (a->runs, Run, i);
      const Run *rb = &g_array_index (b->runs, Run, i);

      if (ra->length != rb->length || ra->origin != rb->origin || ra->source != rb->source)
        return FALSE;
    }

  return TRUE;
}

static void
ensure_starts (LoomAuthorship *self)
{
  guint start = 0;

  if (self->starts_valid)
    return;

  g_array_set_size (self->starts, self->runs->len);
  for (guint i = 0; i < self->runs->len; i++)
    {
      g_array_index (self->starts, guint, i) = start;
      start += g_array_index (self->runs, Run, i).length;
    }
  self->starts_valid = TRUE;
}

/* Merges neighbours with the same origin and source and drops empty runs: after every
 * edit, so equal origins always have one representation. */
static void
normalize (LoomAuthorship *self)
{
  guint out = 0;

  for (guint i = 0; i < self->runs->len; i++)
    {
      Run run = g_array_index (self->runs, Run, i);

      if (run.length == 0)
        continue;
      if (out > 0)
        {
          Run *last = &g_array_index (self->runs, Run, out - 1);

          if (last->origin == run.origin && last->source == run.source)
            {
              last->length += run.length;
              continue;
            }
        }
      g_array_index (self->runs, Run, out++) = run;
    }
  g_array_set_size (self->runs, out);
  self->starts_valid = FALSE;
}

/* Splits the run holding @offset so that a run starts there, and returns the index of
 * that run (n_runs when @offset is the end). */
static guint
split_at (LoomAuthorship *self,
          guint           offset)
{
  guint start = 0;

  for (guint i = 0; i < self->runs->len; i++)
    {
      Run *run = &g_array_index (self->runs, Run, i);

      if (offset == start)
        return i;
      if (offset < start + run->length)
        {
          Run tail = *run;

          tail.length = start + run->length - offset;
          run->length = offset - start;
          g_array_insert_val (self->runs, i + 1, tail);
          self->starts_valid = FALSE;
          return i + 1;
        }
      start += run->length;
    }

  return self->runs->len;
}

guint
loom_authorship_get_length (LoomAuthorship *self)
{
  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), 0);

  return self->length;
}

guint
loom_authorship_get_n_runs (LoomAuthorship *self)
{
  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), 0);

  return self->runs->len;
}

void
loom_authorship_get_run (LoomAuthorship *self,
                         guint           i,
                         guint          *start,
                         guint          *length,
                         LoomOrigin     *origin)
{
  const Run *run;

  g_return_if_fail (LOOM_IS_AUTHORSHIP (self));
  g_return_if_fail (i < self->runs->len);

  ensure_starts (self);
  run = &g_array_index (self->runs, Run, i);
  if (start != NULL)
    *start = g_array_index (self->starts, guint, i);
  if (length != NULL)
    *length = run->length;
  if (origin != NULL)
    *origin = run->origin;
}

const char *
loom_authorship_get_run_source (LoomAuthorship *self,
                                guint           i)
{
  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), NULL);
  g_return_val_if_fail (i < self->runs->len, NULL);

  return g_array_index (self->runs, Run, i).source;
}

guint
loom_authorship_find_run (LoomAuthorship *self,
                          guint           offset)
{
  guint lo = 0, hi;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), 0);
  g_return_val_if_fail (offset < self->length, 0);

  /* Binary search over the run starts: the last run starting at or before @offset. */
  ensure_starts (self);
  hi = self->runs->len;
  while (hi - lo > 1)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (self->starts, guint, mid) <= offset)
        lo = mid;
      else
        hi = mid;
    }

  return lo;
}

LoomOrigin
loom_authorship_get_origin_at (LoomAuthorship  *self,
                               guint            offset,
                               const char     **source)
{
  const Run *run;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), LOOM_ORIGIN_HUMAN_TYPED);
  g_return_val_if_fail (offset < self->length, LOOM_ORIGIN_HUMAN_TYPED);

  run = &g_array_index (self->runs, Run, loom_authorship_find_run (self, offset));
  if (source != NULL)
    *source = run->source;

  return run->origin;
}

void
loom_authorship_insert (LoomAuthorship *self,
                        guint           offset,
                        guint           length,
                        LoomOrigin      origin,
                        const char     *source)
{
  Run run = { length, origin, g_intern_string (source) };

  g_return_if_fail (LOOM_IS_AUTHORSHIP (self));
  g_return_if_fail (offset <= self->length);
  g_return_if_fail ((guint) origin < LOOM_N_ORIGINS);

  if (length == 0)
    return;

  g_array_insert_val (self->runs, split_at (self, offset), run);
  self->length += length;
  normalize (self);
}

void
loom_authorship_delete (LoomAuthorship *self,
                        guint           offset,
                        guint           length)
{
  guint first, last;

  g_return_if_fail (LOOM_IS_AUTHORSHIP (self));
  g_return_if_fail (offset <= self->length && length <= self->length - offset);

  if (length == 0)
    return;

  first = split_at (self, offset);
  last = split_at (self, offset + length);
  g_array_remove_range (self->runs, first, last - first);
  self->length -= length;
  normalize (self);
}

void
loom_authorship_set_origin (LoomAuthorship *self,
                            guint           offset,
                            guint           length,
                            LoomOrigin      origin,
                            const char     *source)
{
  g_return_if_fail (LOOM_IS_AUTHORSHIP (self));
  g_return_if_fail (offset <= self->length && length <= self->length - offset);

  loom_authorship_delete (self, offset, length);
  loom_authorship_insert (self, offset, length, origin, source);
}

void
loom_authorship_mark_edited (LoomAuthorship *self,
                             const char     *source)
{
  const char *interned = g_intern_string (source);

  g_return_if_fail (LOOM_IS_AUTHORSHIP (self));

  for (guint i = 0; i < self->runs->len; i++)
    {
      Run *run = &g_array_index (self->runs, Run, i);

      if (run->origin == LOOM_ORIGIN_AI_ACCEPTED && run->source == interned)
        run->origin = LOOM_ORIGIN_AI_EDITED;
    }
  normalize (self);
}

LoomAuthorship *
loom_authorship_copy_range (LoomAuthorship *self,
                            guint           offset,
                            guint           length)
{
  LoomAuthorship *piece;
  guint first, last;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), NULL);
  g_return_val_if_fail (offset <= self->length && length <= self->length - offset, NULL);

  piece = loom_authorship_new ();
  if (length == 0)
    return piece;

  first = split_at (self, offset);
  last = split_at (self, offset + length);
  g_array_append_vals (piece->runs, &g_array_index (self->runs, Run, first), last - first);
  piece->length = length;
  normalize (self);

  return piece;
}

void
loom_authorship_insert_authorship (LoomAuthorship *self,
                                   guint           offset,
                                   LoomAuthorship *piece)
{
  g_return_if_fail (LOOM_IS_AUTHORSHIP (self));
  g_return_if_fail (LOOM_IS_AUTHORSHIP (piece));
  g_return_if_fail (offset <= self->length);
  g_return_if_fail (piece != self);

  if (piece->length == 0)
    return;

  g_array_insert_vals (self->runs, split_at (self, offset), piece->runs->data, piece->runs->len);
  self->length += piece->length;
  normalize (self);
}

gboolean
loom_authorship_validate (LoomAuthorship  *self,
                          guint            length,
                          GError         **error)
{
  guint64 sum = 0;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), FALSE);

  for (guint i = 0; i < self->runs->len; i++)
    {
      const Run *run = &g_array_index (self->runs, Run, i);

      if (run->length == 0 || (guint) run->origin >= LOOM_N_ORIGINS)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "Authorship run %u is empty or has no valid origin", i);
          return FALSE;
        }
      sum += run->length;
    }

  if (sum != length)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "The authorship runs cover %" G_GUINT64_FORMAT " characters but the text "
                   "has %u", sum, length);
      return FALSE;
    }

  return TRUE;
}

JsonNode *
loom_authorship_to_json (LoomAuthorship *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint start = 0;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (self), NULL);

  json_builder_begin_array (builder);
  for (guint i = 0; i < self->runs->len; i++)
    {
      const Run *run = &g_array_index (self->runs, Run, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "start");
      json_builder_add_int_value (builder, start);
      json_builder_set_member_name (builder, "length");
      json_builder_add_int_value (builder, run->length);
      json_builder_set_member_name (builder, "origin");
      json_builder_add_string_value (builder, loom_origin_to_string (run->origin));
      if (run->source != NULL)
        {
          json_builder_set_member_name (builder, "source");
          json_builder_add_string_value (builder, run->source);
        }
      json_builder_end_object (builder);
      start += run->length;
    }
  json_builder_end_array (builder);

  return json_builder_get_root (builder);
}

static gboolean
read_uint (JsonObject  *object,
           const char  *name,
           guint       *value)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 v;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0 || v > G_MAXUINT)
    return FALSE;
  *value = v;

  return TRUE;
}

static const char *
read_string (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

LoomAuthorship *
loom_authorship_new_from_json (JsonNode  *node,
                               GError   **error)
{
  g_autoptr(LoomAuthorship) self = NULL;
  JsonArray *array;
  guint64 expected_start = 0;

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED, "The authorship runs are not a list");
      return NULL;
    }

  self = loom_authorship_new ();
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *object;
      JsonNode *source_node;
      Run run = { 0, };
      guint start;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        goto bad_run;
      object = json_node_get_object (element);
      if (!read_uint (object, "start", &start) || !read_uint (object, "length", &run.length) ||
          run.length == 0 ||
          !loom_origin_from_string (read_string (object, "origin"),
                                    &run.origin))
        goto bad_run;
      if (start != expected_start)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "Authorship run %u starts at %u, not where the run before it ends "
                       "(%" G_GUINT64_FORMAT ")", i, start, expected_start);
          return NULL;
        }
      source_node = json_object_get_member (object, "source");
      if (source_node != NULL)
        {
          if (json_node_get_value_type (source_node) != G_TYPE_STRING)
            goto bad_run;
          run.source = g_intern_string (json_node_get_string (source_node));
        }
      expected_start += run.length;
      if (expected_start > G_MAXUINT)
        goto bad_run;
      g_array_append_val (self->runs, run);
      continue;

    bad_run:
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "Authorship run %u is not an object with a start, a positive length and "
                   "a known origin", i);
      return NULL;
    }
  self->length = expected_start;
  normalize (self);

  return g_steal_pointer (&self);
}
