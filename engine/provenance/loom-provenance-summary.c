/* loom-provenance-summary.c — counting origins over the runs and suggestions over the
 * log. */
#include "config.h"

#include <string.h>

#include "loom-authorship.h"
#include "loom-event-log.h"
#include "loom-provenance-summary.h"

static const char *
field_string (JsonObject *event,
              const char *name)
{
  JsonNode *fields = json_object_get_member (event, "fields");
  JsonNode *node;

  if (fields == NULL || !JSON_NODE_HOLDS_OBJECT (fields))
    return NULL;
  node = json_object_get_member (json_node_get_object (fields), name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gint64
field_int (JsonObject *event,
           const char *name)
{
  JsonNode *fields = json_object_get_member (event, "fields");
  JsonNode *node;

  if (fields == NULL || !JSON_NODE_HOLDS_OBJECT (fields))
    return 0;
  node = json_object_get_member (json_node_get_object (fields), name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;

  return json_node_get_int (node);
}

static void
count_words (LoomProvenanceSummary *summary,
             LoomAuthorship        *authorship,
             const char            *text)
{
  guint n_chars = loom_authorship_get_length (authorship);
  guint64 in_word[LOOM_N_ORIGINS] = { 0, };
  gboolean inside = FALSE;
  guint run = 0, run_end = 0;
  LoomOrigin origin = LOOM_ORIGIN_HUMAN_TYPED;
  const char *p = text;

  /* One pass over the text and the runs together; a word counts for the origin that
   * wrote most of its characters (the first such origin on a tie). */
  for (guint i = 0; i <= n_chars; i++)
    {
      gboolean space = TRUE;

      if (i < n_chars && *p != '\0')
        {
          gunichar c = g_utf8_get_char (p);

          space = g_unichar_isspace (c);
          p = g_utf8_next_char (p);
          if (i == run_end)
            {
              guint start, length;

              loom_authorship_get_run (authorship, run++, &start, &length, &origin);
              run_end = start + length;
            }
          /* U+FFFC stands for a placed picture, which has its own record: it is neither
           * a character nor part of a word of the text. */
          if (c == LOOM_OBJECT_CHAR)
            {
              summary->chars[origin]--;
              summary->total_chars--;
              summary->pictures++;
              space = TRUE;
            }
        }

      if (!space)
        {
          in_word[origin]++;
          inside = TRUE;
        }
      else if (inside)
        {
          guint best = 0;

          for (guint o = 1; o < LOOM_N_ORIGINS; o++)
            if (in_word[o] > in_word[best])
              best = o;
          summary->words[best]++;
          summary->total_words++;
          memset (in_word, 0, sizeof in_word);
          inside = FALSE;
        }
    }
}

LoomProvenanceSummary *
loom_provenance_summary_compute (LoomAuthorship *authorship,
                                 LoomEventLog   *log,
                                 const char     *text)
{
  LoomProvenanceSummary *summary;
  g_autoptr(GHashTable) accepted = NULL;
  g_autoptr(GHashTable) edited = NULL;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (LOOM_IS_AUTHORSHIP (authorship), NULL);
  g_return_val_if_fail (LOOM_IS_EVENT_LOG (log), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  summary = g_new0 (LoomProvenanceSummary, 1);
  edited = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < loom_authorship_get_n_runs (authorship); i++)
    {
      guint length;
      LoomOrigin origin;

      loom_authorship_get_run (authorship, i, NULL, &length, &origin);
      summary->chars[origin] += length;
      summary->total_chars += length;
      if (origin == LOOM_ORIGIN_AI_EDITED && loom_authorship_get_run_source (authorship, i) != NULL)
        g_hash_table_add (edited, (char *) loom_authorship_get_run_source (authorship, i));
    }
  summary->retained_chars = summary->chars[LOOM_ORIGIN_AI_ACCEPTED] +
                            summary->chars[LOOM_ORIGIN_AI_EDITED];

  count_words (summary, authorship, text);

  for (guint o = 0; o < LOOM_N_ORIGINS; o++)
    {
      if (summary->total_chars > 0)
        summary->char_share[o] = (double) summary->chars[o] / summary->total_chars;
      if (summary->total_words > 0)
        summary->word_share[o] = (double) summary->words[o] / summary->total_words;
    }

  accepted = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < loom_event_log_get_n_events (log); i++)
    {
      JsonObject *event = loom_event_log_get_event (log, i);
      const char *kind = json_object_get_string_member (event, "kind");

      if (g_str_equal (kind, "suggest"))
        summary->suggestions_shown++;
      else if (g_str_equal (kind, "reject"))
        summary->rejected++;
      else if (g_str_equal (kind, "cycle"))
        summary->cycled++;
      else if (g_str_equal (kind, "regenerate"))
        summary->regenerated++;
      else if (g_str_equal (kind, "image.generate"))
        summary->image_rounds++;
      else if (g_str_equal (kind, "image.select"))
        summary->images_selected++;
      else if (g_str_equal (kind, "image.discard"))
        summary->images_discarded++;
      else if (g_str_equal (kind, "image.place"))
        summary->images_placed++;
      else if (g_str_equal (kind, "image.stroke"))
        {
          gint64 strokes = field_int (event, "strokes");

          if (strokes > 0)
            summary->image_strokes += strokes;
        }
      else if (g_str_equal (kind, "accept"))
        {
          const char *suggestion = field_string (event, "suggestion");
          gint64 length = field_int (event, "length");

          if (suggestion != NULL)
            g_hash_table_add (accepted, (char *) suggestion);
          if (length > 0)
            summary->accepted_chars += length;
        }
    }
  summary->accepted = g_hash_table_size (accepted);

  g_hash_table_iter_init (&iter, accepted);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (g_hash_table_contains (edited, key))
      summary->accepted_then_edited++;

  if (summary->accepted_chars > 0)
    summary->retention = MIN (1.0, (double) summary->retained_chars / summary->accepted_chars);

  return summary;
}

void
loom_provenance_summary_free (LoomProvenanceSummary *summary)
{
  g_free (summary);
}

/* One "name": count member. */
static void
add_count (JsonBuilder *builder,
           const char  *name,
           guint64      count)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, (gint64) MIN (count, G_MAXINT64));
}

JsonNode *
loom_provenance_summary_to_json (const LoomProvenanceSummary *summary)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (summary != NULL, NULL);

  json_builder_begin_object (builder);
  add_count (builder, "characters", summary->total_chars);
  add_count (builder, "words", summary->total_words);
  json_builder_set_member_name (builder, "origins");
  json_builder_begin_object (builder);
  for (guint o = 0; o < LOOM_N_ORIGINS; o++)
    {
      json_builder_set_member_name (builder, loom_origin_to_string (o));
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "characters");
      json_builder_add_int_value (builder, summary->chars[o]);
      json_builder_set_member_name (builder, "character_share");
      json_builder_add_double_value (builder, summary->char_share[o]);
      json_builder_set_member_name (builder, "words");
      json_builder_add_int_value (builder, summary->words[o]);
      json_builder_set_member_name (builder, "word_share");
      json_builder_add_double_value (builder, summary->word_share[o]);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "suggestions");
  json_builder_begin_object (builder);
  add_count (builder, "shown", summary->suggestions_shown);
  add_count (builder, "accepted", summary->accepted);
  add_count (builder, "accepted_then_edited", summary->accepted_then_edited);
  add_count (builder, "rejected", summary->rejected);
  add_count (builder, "cycled", summary->cycled);
  add_count (builder, "regenerated", summary->regenerated);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "images");
  json_builder_begin_object (builder);
  add_count (builder, "generated", summary->image_rounds);
  add_count (builder, "selected", summary->images_selected);
  add_count (builder, "discarded", summary->images_discarded);
  add_count (builder, "strokes", summary->image_strokes);
  add_count (builder, "placed", summary->images_placed);
  add_count (builder, "pictures_in_text", summary->pictures);
  json_builder_end_object (builder);

  add_count (builder, "accepted_characters", summary->accepted_chars);
  add_count (builder, "retained_characters", summary->retained_chars);
  json_builder_set_member_name (builder, "retention");
  json_builder_add_double_value (builder, summary->retention);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}
