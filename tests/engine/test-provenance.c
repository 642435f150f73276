/* test-provenance.c — authorship runs, the hash-chained event log and the summary,
 * checked against independent expectations: a per-character origin array for the
 * runs, GChecksum over hand-written canonical JSON for the chain. */
#include "config.h"

#include <string.h>

#include "loom.h"

/* The simple model: one (origin, source) per character. */
typedef struct
{
  LoomOrigin  origin;
  const char *source;  /* interned */
} Cell;

static GArray *
expand (LoomAuthorship *authorship)
{
  GArray *cells = g_array_new (FALSE, FALSE, sizeof (Cell));
  guint expected_start = 0;

  for (guint i = 0; i < loom_authorship_get_n_runs (authorship); i++)
    {
      guint start, length;
      Cell cell;

      loom_authorship_get_run (authorship, i, &start, &length, &cell.origin);
      cell.source = loom_authorship_get_run_source (authorship, i);
      g_assert_cmpuint (start, ==, expected_start);
      g_assert_cmpuint (length, >, 0);
      if (i > 0)
        {
          LoomOrigin previous;

          /* Runs are merged: neighbours always differ. */
          loom_authorship_get_run (authorship, i - 1, NULL, NULL, &previous);
          g_assert_true (previous != cell.origin ||
                         loom_authorship_get_run_source (authorship, i - 1) != cell.source);
        }
      for (guint j = 0; j < length; j++)
        g_array_append_val (cells, cell);
      expected_start += length;
    }
  g_assert_cmpuint (expected_start, ==, loom_authorship_get_length (authorship));

  return cells;
}

static void
assert_matches (LoomAuthorship *authorship,
                GArray         *model)
{
  g_autoptr(GArray) cells = expand (authorship);

  g_assert_cmpuint (cells->len, ==, model->len);
  for (guint i = 0; i < model->len; i++)
    {
      Cell *a = &g_array_index (cells, Cell, i);
      Cell *b = &g_array_index (model, Cell, i);

      if (a->origin != b->origin || a->source != b->source)
        g_error ("character %u: runs say %s/%s, the model %s/%s", i,
                 loom_origin_to_string (a->origin), a->source,
                 loom_origin_to_string (b->origin), b->source);
    }
  g_assert_true (loom_authorship_validate (authorship, model->len, NULL));
}

static void
test_origin_names (void)
{
  LoomOrigin origin;

  g_assert_cmpstr (loom_origin_to_string (LOOM_ORIGIN_HUMAN_TYPED), ==, "human_typed");
  g_assert_cmpstr (loom_origin_to_string (LOOM_ORIGIN_AI_ACCEPTED), ==, "ai_accepted");
  g_assert_cmpstr (loom_origin_to_string (LOOM_ORIGIN_AI_EDITED), ==, "ai_edited");
  g_assert_cmpstr (loom_origin_to_string (LOOM_ORIGIN_PASTED), ==, "pasted");
  g_assert_cmpstr (loom_origin_to_string (LOOM_ORIGIN_IMPORTED), ==, "imported");
  for (guint i = 0; i < LOOM_N_ORIGINS; i++)
    {
      g_assert_true (loom_origin_from_string (loom_origin_to_string (i), &origin));
      g_assert_cmpint (origin, ==, i);
    }
  g_assert_false (loom_origin_from_string ("typed", &origin));
  g_assert_false (loom_origin_from_string (NULL, &origin));
}

static void
test_runs_basic (void)
{
  g_autoptr(LoomAuthorship) runs = loom_authorship_new ();
  g_autoptr(LoomAuthorship) piece = NULL;
  guint start, length;
  LoomOrigin origin;
  const char *source;

  loom_authorship_insert (runs, 0, 5, LOOM_ORIGIN_HUMAN_TYPED, NULL);
  loom_authorship_insert (runs, 5, 3, LOOM_ORIGIN_HUMAN_TYPED, NULL);
  g_assert_cmpuint (loom_authorship_get_n_runs (runs), ==, 1);

  /* A suggestion in the middle splits the typed run in two. */
  loom_authorship_insert (runs, 4, 6, LOOM_ORIGIN_AI_ACCEPTED, "e1");
  g_assert_cmpuint (loom_authorship_get_n_runs (runs), ==, 3);
  loom_authorship_get_run (runs, 1, &start, &length, &origin);
  g_assert_cmpuint (start, ==, 4);
  g_assert_cmpuint (length, ==, 6);
  g_assert_cmpint (origin, ==, LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpstr (loom_authorship_get_run_source (runs, 1), ==, "e1");
  g_assert_cmpuint (loom_authorship_find_run (runs, 3), ==, 0);
  g_assert_cmpuint (loom_authorship_find_run (runs, 4), ==, 1);
  g_assert_cmpuint (loom_authorship_find_run (runs, 9), ==, 1);
  g_assert_cmpuint (loom_authorship_find_run (runs, 10), ==, 2);
  g_assert_cmpint (loom_authorship_get_origin_at (runs, 9, &source), ==, LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpstr (source, ==, "e1");

  /* Deleting the suggestion merges the typed halves again. */
  piece = loom_authorship_copy_range (runs, 4, 6);
  g_assert_cmpuint (loom_authorship_get_length (piece), ==, 6);
  loom_authorship_delete (runs, 4, 6);
  g_assert_cmpuint (loom_authorship_get_n_runs (runs), ==, 1);
  g_assert_cmpuint (loom_authorship_get_length (runs), ==, 8);

  /* And putting it back restores the three runs. */
  loom_authorship_insert_authorship (runs, 4, piece);
  g_assert_cmpuint (loom_authorship_get_n_runs (runs), ==, 3);
  loom_authorship_mark_edited (runs, "e1");
  g_assert_cmpint (loom_authorship_get_origin_at (runs, 5, NULL), ==, LOOM_ORIGIN_AI_EDITED);

  g_assert_false (loom_authorship_validate (runs, 13, NULL));
  g_assert_true (loom_authorship_validate (runs, 14, NULL));
}

typedef struct
{
  GArray         *model;  /* of Cell */
  LoomAuthorship *runs;
} Snapshot;

static void
snapshot_clear (gpointer data)
{
  Snapshot *snapshot = data;

  g_array_unref (snapshot->model);
  g_object_unref (snapshot->runs);
}

static void
model_insert (GArray     *model,
              guint       offset,
              guint       length,
              LoomOrigin  origin,
              const char *source)
{
  Cell cell = { origin, g_intern_string (source) };

  for (guint i = 0; i < length; i++)
    g_array_insert_val (model, offset, cell);
}

static GArray *
model_copy (GArray *model)
{
  GArray *copy = g_array_sized_new (FALSE, FALSE, sizeof (Cell), model->len);

  g_array_append_vals (copy, model->data, model->len);

  return copy;
}

/* Thousands of random edits, range copies put back (as undo does) and whole-state undo
 * and redo, each checked against the per-character model. */
static void
test_runs_random (void)
{
  g_autoptr(LoomAuthorship) runs = loom_authorship_new ();
  g_autoptr(GArray) model = g_array_new (FALSE, FALSE, sizeof (Cell));
  g_autoptr(GArray) undo = g_array_new (FALSE, FALSE, sizeof (Snapshot));
  g_autoptr(GArray) redo = g_array_new (FALSE, FALSE, sizeof (Snapshot));
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240501);
  static const char * const sources[] = { NULL, "e1", "e2", "e3" };
  guint n_steps = g_test_slow () ? 50000 : 5000;

  g_array_set_clear_func (undo, snapshot_clear);
  g_array_set_clear_func (redo, snapshot_clear);

  for (guint step = 0; step < n_steps; step++)
    {
      guint length = model->len;
      guint op = g_rand_int_range (rand, 0, 100);
      Snapshot before = { model_copy (model), loom_authorship_copy (runs) };
      gboolean edit = TRUE;

      if (op < 40 || length == 0)
        {
          guint offset = g_rand_int_range (rand, 0, length + 1);
          guint n = g_rand_int_range (rand, 1, 8);
          LoomOrigin origin = g_rand_int_range (rand, 0, LOOM_N_ORIGINS);
          const char *source = sources[g_rand_int_range (rand, 0, G_N_ELEMENTS (sources))];

          loom_authorship_insert (runs, offset, n, origin, source);
          model_insert (model, offset, n, origin, source);
        }
      else if (op < 65)
        {
          guint offset = g_rand_int_range (rand, 0, length);
          guint n = g_rand_int_range (rand, 1, MIN (10, length - offset) + 1);

          loom_authorship_delete (runs, offset, n);
          g_array_remove_range (model, offset, n);
        }
      else if (op < 75)
        {
          guint offset = g_rand_int_range (rand, 0, length);
          guint n = g_rand_int_range (rand, 1, MIN (10, length - offset) + 1);
          LoomOrigin origin = g_rand_int_range (rand, 0, LOOM_N_ORIGINS);
          const char *source = sources[g_rand_int_range (rand, 0, G_N_ELEMENTS (sources))];

          loom_authorship_set_origin (runs, offset, n, origin, source);
          g_array_remove_range (model, offset, n);
          model_insert (model, offset, n, origin, source);
        }
      else if (op < 80)
        {
          const char *source = g_intern_string (sources[g_rand_int_range (rand, 1, G_N_ELEMENTS (sources))]);

          loom_authorship_mark_edited (runs, source);
          for (guint i = 0; i < model->len; i++)
            {
              Cell *cell = &g_array_index (model, Cell, i);

              if (cell->origin == LOOM_ORIGIN_AI_ACCEPTED && cell->source == source)
                cell->origin = LOOM_ORIGIN_AI_EDITED;
            }
        }
      else if (op < 87)
        {
          /* Moving a range: copy its runs, delete it, put the copy back elsewhere. */
          guint offset = g_rand_int_range (rand, 0, length);
          guint n = g_rand_int_range (rand, 1, MIN (10, length - offset) + 1);
          g_autoptr(LoomAuthorship) piece = loom_authorship_copy_range (runs, offset, n);
          g_autoptr(GArray) moved = g_array_new (FALSE, FALSE, sizeof (Cell));
          guint target;

          g_array_append_vals (moved, &g_array_index (model, Cell, offset), n);
          loom_authorship_delete (runs, offset, n);
          g_array_remove_range (model, offset, n);
          target = g_rand_int_range (rand, 0, model->len + 1);
          loom_authorship_insert_authorship (runs, target, piece);
          g_array_insert_vals (model, target, moved->data, n);
        }
      else if (op < 95)
        {
          edit = FALSE;
          if (undo->len > 0)
            {
              Snapshot *previous = &g_array_index (undo, Snapshot, undo->len - 1);
              Snapshot current = { model_copy (model), loom_authorship_copy (runs) };

              g_array_append_val (redo, current);
              g_array_unref (model);
              model = model_copy (previous->model);
              loom_authorship_delete (runs, 0, loom_authorship_get_length (runs));
              loom_authorship_insert_authorship (runs, 0, previous->runs);
              g_array_remove_index (undo, undo->len - 1);
            }
        }
      else
        {
          edit = FALSE;
          if (redo->len > 0)
            {
              Snapshot *next = &g_array_index (redo, Snapshot, redo->len - 1);
              Snapshot current = { model_copy (model), loom_authorship_copy (runs) };

              g_array_append_val (undo, current);
              g_array_unref (model);
              model = model_copy (next->model);
              loom_authorship_delete (runs, 0, loom_authorship_get_length (runs));
              loom_authorship_insert_authorship (runs, 0, next->runs);
              g_array_remove_index (redo, redo->len - 1);
            }
        }

      if (edit)
        {
          g_array_append_val (undo, before);
          g_array_set_size (redo, 0);
        }
      else
        snapshot_clear (&before);

      assert_matches (runs, model);
      if (step % 500 == 0)
        {
          g_autoptr(JsonNode) json = loom_authorship_to_json (runs);
          g_autoptr(LoomAuthorship) parsed = loom_authorship_new_from_json (json, NULL);

          g_assert_nonnull (parsed);
          g_assert_true (loom_authorship_equal (parsed, runs));
        }
    }
}

static LoomAuthorship *
parse_runs (const char  *json,
            GError     **error)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);

  return loom_authorship_new_from_json (node, error);
}

static void
test_runs_json (void)
{
  g_autoptr(LoomAuthorship) runs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;

  runs = parse_runs ("[{\"start\":0,\"length\":3,\"origin\":\"human_typed\"},"
                     "{\"start\":3,\"length\":2,\"origin\":\"ai_accepted\",\"source\":\"e4\"}]",
                     &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loom_authorship_get_length (runs), ==, 5);
  node = loom_authorship_to_json (runs);
  text = json_to_string (node, FALSE);
  g_assert_cmpstr (text, ==,
                   "[{\"start\":0,\"length\":3,\"origin\":\"human_typed\"},"
                   "{\"start\":3,\"length\":2,\"origin\":\"ai_accepted\",\"source\":\"e4\"}]");
  g_clear_object (&runs);

  /* A gap, an overlap, an unknown origin, an empty run, a non-list. */
  runs = parse_runs ("[{\"start\":0,\"length\":3,\"origin\":\"human_typed\"},"
                     "{\"start\":4,\"length\":2,\"origin\":\"pasted\"}]", &error);
  g_assert_null (runs);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
  g_clear_error (&error);
  runs = parse_runs ("[{\"start\":0,\"length\":3,\"origin\":\"human_typed\"},"
                     "{\"start\":2,\"length\":2,\"origin\":\"pasted\"}]", &error);
  g_assert_null (runs);
  g_clear_error (&error);
  runs = parse_runs ("[{\"start\":0,\"length\":3,\"origin\":\"typed\"}]", &error);
  g_assert_null (runs);
  g_clear_error (&error);
  runs = parse_runs ("[{\"start\":0,\"length\":0,\"origin\":\"pasted\"}]", &error);
  g_assert_null (runs);
  g_clear_error (&error);
  runs = parse_runs ("{\"start\":0}", &error);
  g_assert_null (runs);
  g_clear_error (&error);
}

static void
test_canonical_json (void)
{
  g_autoptr(JsonNode) node = json_from_string ("{ \"b\": 1, \"a\": { \"d\": true, \"c\": [1, \"x\", null] },"
                                               "  \"B\": \"é\\n\" }", NULL);
  g_autofree char *canonical = loom_json_canonicalize (node);

  /* Sorted by bytes ("B" < "a" < "b"), no whitespace. */
  g_assert_cmpstr (canonical, ==, "{\"B\":\"é\\n\",\"a\":{\"c\":[1,\"x\",null],\"d\":true},\"b\":1}");
}

static JsonObject *
fields_with (const char *name,
             const char *value)
{
  JsonObject *fields = json_object_new ();

  json_object_set_string_member (fields, name, value);

  return fields;
}

static LoomEventLog *
make_log (void)
{
  LoomEventLog *log = loom_event_log_new ();
  JsonObject *fields = json_object_new ();
  LoomModelAgent model = { "stories260K", "stories260K.gguf", "ab12", 1185376, "F32", "MIT" };

  json_object_set_int_member (fields, "offset", 0);
  json_object_set_int_member (fields, "length", 12);
  loom_event_log_append_at_time (log, "type", fields, 1714557600123456);
  fields = json_object_new ();
  json_object_set_string_member (fields, "model", "stories260K");
  json_object_set_double_member (fields, "temperature", 0.8);
  json_object_set_string_member (fields, "seed", "18446744073709551615");
  loom_event_log_append_at_time (log, "suggest", fields, 1714557601000000);
  loom_event_log_append (log, "reject", fields_with ("suggestion", "e2"));
  loom_event_log_append (log, "cycle", fields_with ("suggestion", "e2"));
  loom_event_log_set_author (log, "Ada");
  loom_event_log_set_app (log, "candor", "0.1.0");
  loom_event_log_add_model (log, &model);

  return log;
}

static void
test_log_chain (void)
{
  g_autoptr(LoomEventLog) log = make_log ();
  g_autoptr(LoomEventLog) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *serialized = NULL;
  g_autofree char *reserialized = NULL;
  g_autofree char *head = NULL;
  g_autofree char *parsed_head = NULL;
  LoomModelAgent model;
  JsonObject *event;

  g_assert_cmpuint (loom_event_log_get_n_events (log), ==, 4);
  event = loom_event_log_get_event (log, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "id"), ==, "e1");
  g_assert_cmpstr (json_object_get_string_member (event, "time"), ==, "2024-05-01T10:00:00.123456Z");
  g_assert_cmpstr (json_object_get_string_member (event, "prev"), ==,
                   "0000000000000000000000000000000000000000000000000000000000000000");

  /* Event 2 links to the SHA-256 of event 1 written out by hand in canonical form. */
  {
    const char *canonical = "{\"fields\":{\"length\":12,\"offset\":0},\"id\":\"e1\",\"kind\":\"type\","
                            "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
                            "\"time\":\"2024-05-01T10:00:00.123456Z\"}";
    g_autofree char *expected = g_compute_checksum_for_string (G_CHECKSUM_SHA256, canonical, -1);

    g_assert_cmpstr (json_object_get_string_member (loom_event_log_get_event (log, 1), "prev"), ==,
                     expected);
  }
  g_assert_true (loom_event_log_verify (log, &error));
  g_assert_no_error (error);
  g_assert_nonnull (loom_event_log_lookup (log, "e3"));
  g_assert_null (loom_event_log_lookup (log, "e9"));

  /* Round trip: the same events, the same head, the same agents, and it verifies. */
  serialized = loom_event_log_serialize (log);
  parsed = loom_event_log_parse (serialized, -1, &error);
  g_assert_no_error (error);
  g_assert_true (loom_event_log_verify (parsed, &error));
  g_assert_no_error (error);
  head = loom_event_log_dup_head (log);
  parsed_head = loom_event_log_dup_head (parsed);
  g_assert_cmpstr (head, ==, parsed_head);
  reserialized = loom_event_log_serialize (parsed);
  g_assert_cmpstr (serialized, ==, reserialized);
  g_assert_cmpstr (loom_event_log_get_author (parsed), ==, "Ada");
  g_assert_cmpuint (loom_event_log_get_n_models (parsed), ==, 1);
  loom_event_log_get_model (parsed, 0, &model);
  g_assert_cmpstr (model.file_name, ==, "stories260K.gguf");
  g_assert_cmpuint (model.size, ==, 1185376);
  g_assert_cmpstr (model.licence, ==, "MIT");

  /* Appending to a parsed log continues its chain. */
  g_assert_cmpstr (loom_event_log_append (parsed, "regenerate", fields_with ("suggestion", "e2")), ==, "e5");
  g_assert_true (loom_event_log_verify (parsed, &error));
  g_assert_no_error (error);
}

/* Parses @json, applies @change to event @index's fields, and returns the log. */
static LoomEventLog *
tampered_log (const char *json,
              guint       index,
              const char *member,
              JsonNode   *value)
{
  g_autoptr(JsonNode) root = json_from_string (json, NULL);
  JsonArray *events = json_object_get_array_member (json_node_get_object (root), "events");
  JsonObject *event = json_array_get_object_element (events, index);

  json_object_set_member (json_object_get_object_member (event, "fields"), member, value);

  return loom_event_log_new_from_json (root, NULL);
}

static void
test_log_tamper (void)
{
  g_autoptr(LoomEventLog) log = make_log ();
  g_autofree char *json = loom_event_log_serialize (log);
  g_autoptr(GError) error = NULL;

  /* One field of the second event: the third event's link names it. */
  {
    JsonNode *value = json_node_init_double (json_node_alloc (), 0.7);
    g_autoptr(LoomEventLog) changed = tampered_log (json, 1, "temperature", value);

    g_assert_nonnull (changed);
    g_assert_false (loom_event_log_verify (changed, &error));
    g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "event e2 (suggest)"));
    g_clear_error (&error);
  }

  /* The last event has no successor: the stored head catches it. */
  {
    JsonNode *value = json_node_init_string (json_node_alloc (), "e1");
    g_autoptr(LoomEventLog) changed = tampered_log (json, 3, "suggestion", value);

    g_assert_false (loom_event_log_verify (changed, &error));
    g_assert_nonnull (strstr (error->message, "event e4 (cycle)"));
    g_clear_error (&error);
  }

  /* The first event. */
  {
    JsonNode *value = json_node_init_int (json_node_alloc (), 13);
    g_autoptr(LoomEventLog) changed = tampered_log (json, 0, "length", value);

    g_assert_false (loom_event_log_verify (changed, &error));
    g_assert_nonnull (strstr (error->message, "event e1 (type)"));
    g_clear_error (&error);
  }

  /* Dropping an event breaks the chain too. */
  {
    g_autoptr(JsonNode) root = json_from_string (json, NULL);
    g_autoptr(LoomEventLog) changed = NULL;

    json_array_remove_element (json_object_get_array_member (json_node_get_object (root), "events"), 1);
    changed = loom_event_log_new_from_json (root, NULL);
    g_assert_false (loom_event_log_verify (changed, &error));
    g_assert_nonnull (strstr (error->message, "event e1 (type)"));
    g_clear_error (&error);
  }

  /* Malformed logs do not parse. */
  g_assert_null (loom_event_log_parse ("{\"events\":[{\"id\":\"e1\"}],\"head\":\"00\"}", -1, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (loom_event_log_parse ("[1,2]", -1, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
}

static void
test_summary (void)
{
  g_autoptr(LoomAuthorship) runs = loom_authorship_new ();
  g_autoptr(LoomEventLog) log = loom_event_log_new ();
  g_autoptr(LoomProvenanceSummary) summary = NULL;
  g_autoptr(JsonNode) json = NULL;
  JsonObject *fields;
  /* "I wrote this. " typed (14), "The fox ran" from e1 (11), " far" from e2 (4) of which
   * "ar" was deleted and "ast" typed: "The fox ran fast". */
  const char *text = "I wrote this. The fox ran fast";

  loom_authorship_insert (runs, 0, 14, LOOM_ORIGIN_HUMAN_TYPED, NULL);
  loom_authorship_insert (runs, 14, 11, LOOM_ORIGIN_AI_ACCEPTED, "e1");
  loom_authorship_insert (runs, 25, 2, LOOM_ORIGIN_AI_EDITED, "e2");
  loom_authorship_insert (runs, 27, 3, LOOM_ORIGIN_HUMAN_TYPED, NULL);
  g_assert_cmpuint (loom_authorship_get_length (runs), ==, g_utf8_strlen (text, -1));

  loom_event_log_append (log, "suggest", NULL);
  loom_event_log_append (log, "suggest", NULL);
  loom_event_log_append (log, "suggest", NULL);
  fields = fields_with ("suggestion", "e1");
  json_object_set_int_member (fields, "length", 11);
  loom_event_log_append (log, "accept", fields);
  fields = fields_with ("suggestion", "e2");
  json_object_set_int_member (fields, "length", 4);
  loom_event_log_append (log, "accept", fields);
  loom_event_log_append (log, "reject", fields_with ("suggestion", "e3"));
  loom_event_log_append (log, "cycle", fields_with ("suggestion", "e3"));

  summary = loom_provenance_summary_compute (runs, log, text);
  g_assert_cmpuint (summary->total_chars, ==, 30);
  g_assert_cmpuint (summary->chars[LOOM_ORIGIN_HUMAN_TYPED], ==, 17);
  g_assert_cmpuint (summary->chars[LOOM_ORIGIN_AI_ACCEPTED], ==, 11);
  g_assert_cmpuint (summary->chars[LOOM_ORIGIN_AI_EDITED], ==, 2);
  g_assert_cmpfloat_with_epsilon (summary->char_share[LOOM_ORIGIN_HUMAN_TYPED], 17.0 / 30, 1e-9);
  /* Words: I, wrote, this. (typed); The, fox, ran (model); "fast" is " f" edited + "ast"
   * typed: typed by majority. */
  g_assert_cmpuint (summary->total_words, ==, 7);
  g_assert_cmpuint (summary->words[LOOM_ORIGIN_HUMAN_TYPED], ==, 4);
  g_assert_cmpuint (summary->words[LOOM_ORIGIN_AI_ACCEPTED], ==, 3);
  g_assert_cmpuint (summary->suggestions_shown, ==, 3);
  g_assert_cmpuint (summary->accepted, ==, 2);
  g_assert_cmpuint (summary->accepted_then_edited, ==, 1);
  g_assert_cmpuint (summary->rejected, ==, 1);
  g_assert_cmpuint (summary->cycled, ==, 1);
  g_assert_cmpuint (summary->accepted_chars, ==, 15);
  g_assert_cmpuint (summary->retained_chars, ==, 13);
  g_assert_cmpfloat_with_epsilon (summary->retention, 13.0 / 15, 1e-9);

  json = loom_provenance_summary_to_json (summary);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
                     json_object_get_object_member (json_node_get_object (json), "origins"),
                     "ai_edited"), "characters"), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/provenance/origin/names", test_origin_names);
  g_test_add_func ("/engine/provenance/runs/basic", test_runs_basic);
  g_test_add_func ("/engine/provenance/runs/random", test_runs_random);
  g_test_add_func ("/engine/provenance/runs/json", test_runs_json);
  g_test_add_func ("/engine/provenance/log/canonical", test_canonical_json);
  g_test_add_func ("/engine/provenance/log/chain", test_log_chain);
  g_test_add_func ("/engine/provenance/log/tamper", test_log_tamper);
  g_test_add_func ("/engine/provenance/summary", test_summary);

  return g_test_run ();
}
