/* test-document.c — CandorDocument: origins through typing, accepting, editing inside a
 * suggestion, pasting (through a real clipboard), streaming, undo and redo; and the
 * .candor file, import, export and autosave. Expected runs are written out by hand. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "candor-document.h"
#include "candor-test-app.h"

typedef struct
{
  guint       start;
  guint       length;
  LoomOrigin  origin;
} ExpectedRun;

#define RUN(s, l, o) { s, l, LOOM_ORIGIN_##o }

static void
assert_runs (CandorDocument    *document,
             const ExpectedRun *expected,
             guint              n_expected)
{
  LoomAuthorship *runs = candor_document_get_authorship (document);
  GtkTextBuffer *buffer = candor_document_get_buffer (document);

  g_assert_true (loom_authorship_validate (runs, gtk_text_buffer_get_char_count (buffer), NULL));
  g_assert_cmpuint (loom_authorship_get_n_runs (runs), ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    {
      guint start, length;
      LoomOrigin origin;

      loom_authorship_get_run (runs, i, &start, &length, &origin);
      g_assert_cmpuint (start, ==, expected[i].start);
      g_assert_cmpuint (length, ==, expected[i].length);
      g_assert_cmpstr (loom_origin_to_string (origin), ==,
                       loom_origin_to_string (expected[i].origin));
    }
}

static void
assert_text (CandorDocument *document,
             const char     *expected)
{
  g_autofree char *text = candor_document_dup_text (document);

  g_assert_cmpstr (text, ==, expected);
}

static void
type (CandorDocument *document,
      const char     *text)
{
  candor_test_type_in_document (document, text);
}

static void
place_cursor (CandorDocument *document,
              guint           offset)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_offset (buffer, &iter, offset);
  gtk_text_buffer_place_cursor (buffer, &iter);
}

static void
backspace (CandorDocument *document)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_backspace (buffer, &iter, TRUE, TRUE);
  gtk_text_buffer_end_user_action (buffer);
}

static char *
suggest (CandorDocument *document,
         const char     *output)
{
  return candor_document_log_suggest (document, "stories260K", NULL, "context", output,
                                      0.8, 0.95, 42, 32);
}

static void
accept_at_cursor (CandorDocument *document,
                  const char     *text,
                  const char     *id)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  candor_document_accept (document, &iter, text, id, CANDOR_ACCEPT_ALL);
  /* The iter is revalidated to the end of the inserted text. */
  gtk_text_buffer_place_cursor (buffer, &iter);
}

static guint
count_events (CandorDocument *document,
              const char     *kind)
{
  LoomEventLog *log = candor_document_get_log (document);
  guint n = 0;

  for (guint i = 0; i < loom_event_log_get_n_events (log); i++)
    if (g_str_equal (json_object_get_string_member (loom_event_log_get_event (log, i), "kind"), kind))
      n++;

  return n;
}

static JsonObject *
last_event (CandorDocument *document)
{
  LoomEventLog *log = candor_document_get_log (document);

  return loom_event_log_get_event (log, loom_event_log_get_n_events (log) - 1);
}

static void
changed_cb (CandorDocument *document,
            guint          *count)
{
  (*count)++;
}

static void
test_typing (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  const ExpectedRun expected[] = { RUN (0, 11, HUMAN_TYPED) };
  g_autofree char *id = NULL;
  JsonObject *type_event;
  guint changes = 0;

  g_signal_connect (document, "changed", G_CALLBACK (changed_cb), &changes);
  type (document, "Once upon a");
  assert_text (document, "Once upon a");
  assert_runs (document, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (changes, ==, 11);
  g_assert_true (candor_document_get_modified (document));

  /* Typing is not logged per keystroke: one `type` event when something else happens. */
  g_assert_cmpuint (count_events (document, "type"), ==, 0);
  id = suggest (document, " time");
  g_assert_cmpuint (count_events (document, "type"), ==, 1);
  type_event = loom_event_log_get_event (candor_document_get_log (document), 0);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (type_event, "fields"),
                                               "length"), ==, 11);
  g_assert_cmpstr (json_object_get_string_member (last_event (document), "id"), ==, id);
}

static void
test_accept_and_edit (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  JsonObject *fields;

  type (document, "The fox ");
  first = suggest (document, "ran far away");
  accept_at_cursor (document, "ran far away", first);
  assert_text (document, "The fox ran far away");
  {
    const ExpectedRun expected[] = { RUN (0, 8, HUMAN_TYPED), RUN (8, 12, AI_ACCEPTED) };

    assert_runs (document, expected, G_N_ELEMENTS (expected));
  }
  fields = json_object_get_object_member (last_event (document), "fields");
  g_assert_cmpstr (json_object_get_string_member (last_event (document), "kind"), ==, "accept");
  g_assert_cmpstr (json_object_get_string_member (fields, "suggestion"), ==, first);
  g_assert_cmpint (json_object_get_int_member (fields, "length"), ==, 12);
  g_assert_cmpstr (json_object_get_string_member (fields, "how"), ==, "all");

  /* Typing inside the suggestion: its model characters become ai_edited, the typed
   * ones human_typed. */
  place_cursor (document, 15);
  type (document, "!!");
  assert_text (document, "The fox ran far!! away");
  {
    const ExpectedRun expected[] = {
      RUN (0, 8, HUMAN_TYPED), RUN (8, 7, AI_EDITED), RUN (15, 2, HUMAN_TYPED),
      RUN (17, 5, AI_EDITED),
    };

    assert_runs (document, expected, G_N_ELEMENTS (expected));
  }

  /* Typing right after a suggestion does not edit it. */
  place_cursor (document, 22);
  type (document, ". ");
  second = suggest (document, "It was late.");
  accept_at_cursor (document, "It was late.", second);
  type (document, " Yes");
  {
    const ExpectedRun expected[] = {
      RUN (0, 8, HUMAN_TYPED), RUN (8, 7, AI_EDITED), RUN (15, 2, HUMAN_TYPED),
      RUN (17, 5, AI_EDITED), RUN (22, 2, HUMAN_TYPED), RUN (24, 12, AI_ACCEPTED),
      RUN (36, 4, HUMAN_TYPED),
    };

    assert_runs (document, expected, G_N_ELEMENTS (expected));
  }

  /* Deleting inside the second suggestion edits what is left of it. */
  place_cursor (document, 30);  /* after "It was" */
  backspace (document);
  assert_text (document, "The fox ran far!! away. It wa late. Yes");
  {
    const ExpectedRun expected[] = {
      RUN (0, 8, HUMAN_TYPED), RUN (8, 7, AI_EDITED), RUN (15, 2, HUMAN_TYPED),
      RUN (17, 5, AI_EDITED), RUN (22, 2, HUMAN_TYPED), RUN (24, 11, AI_EDITED),
      RUN (35, 4, HUMAN_TYPED),
    };

    assert_runs (document, expected, G_N_ELEMENTS (expected));
  }

  {
    g_autoptr(LoomProvenanceSummary) summary = candor_document_dup_summary (document);

    g_assert_cmpuint (summary->suggestions_shown, ==, 2);
    g_assert_cmpuint (summary->accepted, ==, 2);
    g_assert_cmpuint (summary->accepted_then_edited, ==, 2);
    g_assert_cmpuint (summary->chars[LOOM_ORIGIN_AI_EDITED], ==, 23);
    g_assert_cmpuint (summary->chars[LOOM_ORIGIN_HUMAN_TYPED], ==, 16);
    g_assert_cmpuint (summary->accepted_chars, ==, 24);
  }
}

typedef struct
{
  char           *text;
  LoomAuthorship *runs;
} State;

static State
snapshot (CandorDocument *document)
{
  State state = {
    candor_document_dup_text (document),
    loom_authorship_copy (candor_document_get_authorship (document)),
  };

  return state;
}

static void
assert_state (CandorDocument *document,
              State          *state)
{
  assert_text (document, state->text);
  g_assert_true (loom_authorship_equal (candor_document_get_authorship (document), state->runs));
}

static void
state_clear (State *state)
{
  g_free (state->text);
  g_object_unref (state->runs);
}

static void
test_undo_redo (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autofree char *id = NULL;
  State states[5];

  g_assert_false (candor_document_can_undo (document));
  type (document, "one ");
  states[0] = snapshot (document);
  type (document, "two ");
  states[1] = snapshot (document);
  id = suggest (document, "three four");
  accept_at_cursor (document, "three four", id);
  states[2] = snapshot (document);
  place_cursor (document, 13);  /* inside the suggestion, after "three" */
  type (document, "X");
  states[3] = snapshot (document);
  backspace (document);
  backspace (document);
  states[4] = snapshot (document);
  {
    const ExpectedRun expected[] = {
      RUN (0, 8, HUMAN_TYPED), RUN (8, 9, AI_EDITED),
    };

    assert_text (document, "one two thre four");
    assert_runs (document, expected, G_N_ELEMENTS (expected));
  }

  /* The two backspaces are one step, the typed X one, the accept one, each word one. */
  for (int i = 3; i >= 0; i--)
    {
      g_assert_true (candor_document_can_undo (document));
      candor_document_undo (document);
      assert_state (document, &states[i]);
    }
  candor_document_undo (document);
  assert_text (document, "");
  g_assert_cmpuint (loom_authorship_get_n_runs (candor_document_get_authorship (document)), ==, 0);
  g_assert_false (candor_document_can_undo (document));

  for (int i = 0; i < 5; i++)
    {
      g_assert_true (candor_document_can_redo (document));
      candor_document_redo (document);
      assert_state (document, &states[i]);
    }
  g_assert_false (candor_document_can_redo (document));

  /* A new edit after undo drops the redo history. */
  candor_document_undo (document);
  place_cursor (document, 0);
  type (document, "Z");
  g_assert_false (candor_document_can_redo (document));

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    state_clear (&states[i]);
}

static void
test_replace_selection (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  g_autofree char *id = suggest (document, "bright day");
  GtkTextIter start, end;

  type (document, "A ");
  accept_at_cursor (document, "bright day", id);
  /* Select "bright" and type over it: one undo step, which restores the suggestion. */
  gtk_text_buffer_get_iter_at_offset (buffer, &start, 2);
  gtk_text_buffer_get_iter_at_offset (buffer, &end, 8);
  gtk_text_buffer_select_range (buffer, &start, &end);
  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_delete_selection (buffer, TRUE, TRUE);
  gtk_text_buffer_insert_interactive_at_cursor (buffer, "dark", -1, TRUE);
  gtk_text_buffer_end_user_action (buffer);
  assert_text (document, "A dark day");
  /* The typed runs merge; what is left of the suggestion is edited. */
  assert_runs (document, (ExpectedRun[]) { RUN (0, 6, HUMAN_TYPED), RUN (6, 4, AI_EDITED) }, 2);
  candor_document_undo (document);
  assert_text (document, "A bright day");
  assert_runs (document, (ExpectedRun[]) { RUN (0, 2, HUMAN_TYPED), RUN (2, 10, AI_ACCEPTED) }, 2);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
paste_done_cb (GtkTextBuffer *buffer,
               GdkClipboard  *clipboard,
               gboolean      *done)
{
  *done = TRUE;
}

static void
test_paste (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GdkClipboard *clipboard = gdk_display_get_clipboard (gdk_display_get_default ());
  gboolean done = FALSE;
  JsonObject *fields;

  type (document, "Start ");
  gdk_clipboard_set_text (clipboard, "from elsewhere");
  g_signal_connect (buffer, "paste-done", G_CALLBACK (paste_done_cb), &done);
  candor_document_mark_paste (document, FALSE);
  gtk_text_buffer_paste_clipboard (buffer, clipboard, NULL, TRUE);
  candor_test_wait_until (flag_set, &done, 5000);
  type (document, " end");

  assert_text (document, "Start from elsewhere end");
  assert_runs (document, (ExpectedRun[]) {
                 RUN (0, 6, HUMAN_TYPED), RUN (6, 14, PASTED), RUN (20, 4, HUMAN_TYPED),
               }, 3);
  g_assert_cmpuint (count_events (document, "paste"), ==, 1);
  fields = json_object_get_object_member (loom_event_log_get_event (candor_document_get_log (document), 1),
                                          "fields");
  g_assert_cmpint (json_object_get_int_member (fields, "length"), ==, 14);
  g_assert_false (json_object_get_boolean_member (fields, "internal"));

  /* Undo removes "end", " " (typing is undone a word at a time), then the paste. */
  candor_document_undo (document);
  candor_document_undo (document);
  assert_text (document, "Start from elsewhere");
  candor_document_undo (document);
  assert_text (document, "Start ");
  candor_document_redo (document);
  assert_runs (document, (ExpectedRun[]) { RUN (0, 6, HUMAN_TYPED), RUN (6, 14, PASTED) }, 2);
}

static void
test_stream (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  g_autofree char *id = NULL;
  GtkTextIter iter;
  JsonObject *fields;

  type (document, "Begin.");
  id = suggest (document, " One day the sun rose.");
  gtk_text_buffer_get_end_iter (buffer, &iter);
  candor_document_begin_stream (document, &iter, id);
  candor_document_stream_append (document, " One day");
  candor_document_stream_append (document, " the sun");
  candor_document_stream_append (document, " rose.");
  candor_document_end_stream (document);

  assert_text (document, "Begin. One day the sun rose.");
  assert_runs (document, (ExpectedRun[]) { RUN (0, 6, HUMAN_TYPED), RUN (6, 22, AI_ACCEPTED) }, 2);
  fields = json_object_get_object_member (last_event (document), "fields");
  g_assert_cmpstr (json_object_get_string_member (fields, "how"), ==, "continue");
  g_assert_cmpint (json_object_get_int_member (fields, "length"), ==, 22);

  /* One undo removes the whole passage. */
  candor_document_undo (document);
  assert_text (document, "Begin.");
  candor_document_redo (document);
  assert_text (document, "Begin. One day the sun rose.");
}


/* A story with every kind of origin and event. */
static CandorDocument *
make_story (void)
{
  CandorDocument *document = candor_document_new ();
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GdkClipboard *clipboard = gdk_display_get_clipboard (gdk_display_get_default ());
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  gboolean done = FALSE;
  gulong handler;

  type (document, "Über den Fluss ");
  first = suggest (document, "kam ein Boot.");
  accept_at_cursor (document, "kam ein Boot.", first);
  second = suggest (document, "ignored");
  candor_document_log_cycle (document, second);
  candor_document_log_reject (document, second);
  place_cursor (document, 19);
  type (document, "—");
  place_cursor (document, gtk_text_buffer_get_char_count (buffer));
  gdk_clipboard_set_text (clipboard, " 引用");
  handler = g_signal_connect (buffer, "paste-done", G_CALLBACK (paste_done_cb), &done);
  candor_document_mark_paste (document, TRUE);
  gtk_text_buffer_paste_clipboard (buffer, clipboard, NULL, TRUE);
  candor_test_wait_until (flag_set, &done, 5000);
  g_signal_handler_disconnect (buffer, handler);
  candor_document_set_memory (document, "A river story.");
  candor_document_set_authors_note (document, "Keep it short.");

  return document;
}

static void
test_save_load (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-document-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) document = make_story ();
  g_autoptr(CandorDocument) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *log_json = NULL;
  g_autofree char *loaded_log_json = NULL;
  g_autofree char *text = NULL;
  g_autofree char *loaded_text = NULL;

  g_assert_true (candor_document_save (document, file, &error));
  g_assert_no_error (error);
  g_assert_false (candor_document_get_modified (document));
  g_assert_true (g_file_equal (candor_document_get_file (document), file));

  loaded = candor_document_load (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  text = candor_document_dup_text (document);
  loaded_text = candor_document_dup_text (loaded);
  g_assert_cmpstr (loaded_text, ==, text);
  g_assert_true (loom_authorship_equal (candor_document_get_authorship (loaded),
                                        candor_document_get_authorship (document)));
  log_json = loom_event_log_serialize (candor_document_get_log (document));
  loaded_log_json = loom_event_log_serialize (candor_document_get_log (loaded));
  g_assert_cmpstr (loaded_log_json, ==, log_json);
  g_assert_cmpstr (candor_document_get_memory (loaded), ==, "A river story.");
  g_assert_cmpstr (candor_document_get_authors_note (loaded), ==, "Keep it short.");
  g_assert_false (candor_document_get_training_allowed (loaded));
  g_assert_false (candor_document_get_modified (loaded));
  g_assert_false (candor_document_can_undo (loaded));

  /* The saved runs hold every origin the story was made with. */
  assert_runs (loaded, (ExpectedRun[]) {
                 RUN (0, 15, HUMAN_TYPED), RUN (15, 4, AI_EDITED), RUN (19, 1, HUMAN_TYPED),
                 RUN (20, 9, AI_EDITED), RUN (29, 3, PASTED),
               }, 5);

  /* Editing the loaded story goes on from its record. */
  place_cursor (loaded, 0);
  type (loaded, "X");
  g_assert_true (loom_event_log_verify (candor_document_get_log (loaded), NULL));

  candor_test_remove_tree (dir);
}

static void
write_file (const char *path,
            const char *data,
            gssize      length)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
}

/* Loading @data must fail with a message containing @message, leave the file as it was,
 * and leave the open document as it was. */
static void
assert_load_fails (CandorDocument *open,
                   const char     *path,
                   const char     *data,
                   gssize          length,
                   const char     *message)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(CandorDocument) loaded = NULL;
  g_autofree char *before = candor_document_dup_text (open);
  g_autofree char *after = NULL;
  g_autofree char *on_disk = NULL;
  gsize on_disk_length;

  write_file (path, data, length);
  loaded = candor_document_load (file, &error);
  g_assert_null (loaded);
  g_assert_nonnull (error);
  if (strstr (error->message, message) == NULL)
    g_error ("expected “%s” in “%s”", message, error->message);
  g_assert_true (g_str_has_prefix (error->message, "“story.candor” cannot be opened: "));

  g_assert_true (g_file_get_contents (path, &on_disk, &on_disk_length, NULL));
  g_assert_cmpmem (on_disk, on_disk_length, data, length < 0 ? strlen (data) : (gsize) length);
  after = candor_document_dup_text (open);
  g_assert_cmpstr (after, ==, before);
  g_assert_true (loom_event_log_verify (candor_document_get_log (open), NULL));
}

static char *
modify_json (const char *data,
             void      (*change) (JsonObject *root))
{
  g_autoptr(JsonNode) root = json_from_string (data, NULL);

  g_assert_nonnull (root);
  change (json_node_get_object (root));

  return json_to_string (root, TRUE);
}

static void
change_log_field (JsonObject *root)
{
  JsonArray *events = json_object_get_array_member (json_object_get_object_member (root, "log"),
                                                    "events");
  JsonObject *event = json_array_get_object_element (events, 1);

  /* The suggestion's model, in the second event. */
  json_object_set_string_member (json_object_get_object_member (event, "fields"), "model",
                                 "a human");
}

static void
change_version (JsonObject *root)
{
  json_object_set_int_member (root, "version", 3);
}

static void
change_text (JsonObject *root)
{
  json_object_set_string_member (root, "text", "Über den Fluss kam ein Boot—.  引用");
}

static void
change_runs (JsonObject *root)
{
  JsonArray *runs = json_object_get_array_member (root, "runs");

  json_array_remove_element (runs, json_array_get_length (runs) - 1);
}

static void
test_bad_files (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-document-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) document = make_story ();
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *future = NULL;
  g_autofree char *text_changed = NULL;
  g_autofree char *runs_changed = NULL;
  gsize length;

  g_assert_true (candor_document_save (document, file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &data, &length, NULL));

  tampered = modify_json (data, change_log_field);
  assert_load_fails (document, path, tampered, -1, "event e2 (suggest)");
  future = modify_json (data, change_version);
  assert_load_fails (document, path, future, -1, "made by a newer Candor");
  text_changed = modify_json (data, change_text);
  assert_load_fails (document, path, text_changed, -1, "does not match its recorded hash");
  runs_changed = modify_json (data, change_runs);
  assert_load_fails (document, path, runs_changed, -1, "authorship record is invalid");
  assert_load_fails (document, path, data, length / 2, "damaged or not a Candor document");
  assert_load_fails (document, path, "\x89PNG\r\n", 6, "damaged or not a Candor document");
  assert_load_fails (document, path, "{\"format\": \"other\"}", -1, "not a Candor document");

  /* A save that cannot be written reports it and keeps the document as it was. */
  {
    g_autofree char *missing = g_build_filename (dir, "no-such-folder", "story.candor", NULL);
    g_autoptr(GFile) missing_file = g_file_new_for_path (missing);

    type (document, "!");
    g_assert_false (candor_document_save (document, missing_file, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_true (candor_document_get_modified (document));
    g_assert_true (g_file_equal (candor_document_get_file (document), file));
  }

  candor_test_remove_tree (dir);
}

static void
test_import (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-document-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "draft.txt", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  const char *content = "An old draft.\nSecond line — ünïcode.\n";
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, content, -1);
  JsonObject *event, *fields;

  write_file (path, content, -1);
  document = candor_document_load (file, &error);
  g_assert_no_error (error);
  assert_text (document, content);
  assert_runs (document, (ExpectedRun[]) { RUN (0, g_utf8_strlen (content, -1), IMPORTED) }, 1);
  g_assert_cmpuint (loom_event_log_get_n_events (candor_document_get_log (document)), ==, 1);
  event = loom_event_log_get_event (candor_document_get_log (document), 0);
  fields = json_object_get_object_member (event, "fields");
  g_assert_cmpstr (json_object_get_string_member (event, "kind"), ==, "import");
  g_assert_cmpstr (json_object_get_string_member (fields, "file_name"), ==, "draft.txt");
  g_assert_cmpstr (json_object_get_string_member (fields, "sha256"), ==, hash);
  /* An import is not a .candor file: saving asks where. */
  g_assert_null (candor_document_get_file (document));
  g_assert_false (candor_document_can_undo (document));

  /* Not UTF-8: a clear error. */
  write_file (path, "caf\xe9", 4);
  g_clear_object (&document);
  document = candor_document_load (file, &error);
  g_assert_null (document);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);

  candor_test_remove_tree (dir);
}

static void
test_export (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-document-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.md", NULL);
  g_autofree char *sidecar_path = g_build_filename (dir, "story.provenance.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) sidecar = candor_document_get_sidecar_file (file);
  g_autoptr(CandorDocument) document = make_story ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(LoomAuthorship) runs = NULL;
  g_autoptr(LoomEventLog) log = NULL;
  g_autofree char *exported = NULL;
  g_autofree char *text = candor_document_dup_text (document);
  g_autofree char *nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, nfc, -1);
  JsonObject *root, *summary;

  g_assert_cmpstr (g_file_peek_path (sidecar), ==, sidecar_path);
  g_assert_true (candor_document_export (document, file, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &exported, NULL, NULL));
  g_assert_cmpstr (exported, ==, text);

  g_assert_true (json_parser_load_from_mapped_file (parser, sidecar_path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "candor-provenance");
  g_assert_cmpstr (json_object_get_string_member (root, "text_sha256"), ==, hash);
  g_assert_cmpstr (json_object_get_string_member (root, "training_preference"), ==, "notAllowed");
  runs = loom_authorship_new_from_json (json_object_get_member (root, "runs"), &error);
  g_assert_no_error (error);
  g_assert_true (loom_authorship_equal (runs, candor_document_get_authorship (document)));
  log = loom_event_log_new_from_json (json_object_get_member (root, "log"), &error);
  g_assert_no_error (error);
  g_assert_true (loom_event_log_verify (log, &error));
  g_assert_cmpuint (loom_event_log_get_n_events (log), ==,
                    loom_event_log_get_n_events (candor_document_get_log (document)));
  summary = json_object_get_object_member (root, "summary");
  g_assert_cmpint (json_object_get_int_member (summary, "characters"), ==, g_utf8_strlen (text, -1));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (summary, "suggestions"),
                                               "rejected"), ==, 1);

  candor_test_remove_tree (dir);
}

static void
test_autosave (void)
{
  g_autoptr(CandorDocument) document = make_story ();
  g_autoptr(CandorDocument) recovered = NULL;
  g_autoptr(GFile) autosave = candor_document_get_autosave_file (document);
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-document-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *text = NULL;
  g_autofree char *recovered_text = NULL;

  g_assert_true (g_str_has_prefix (g_file_peek_path (autosave), g_get_user_state_dir ()));
  g_assert_true (candor_document_autosave (document, &error));
  g_assert_no_error (error);

  files = candor_document_list_recoverable ();
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_true (g_file_equal (g_ptr_array_index (files, 0), autosave));

  recovered = candor_document_recover (g_ptr_array_index (files, 0), &error);
  g_assert_no_error (error);
  text = candor_document_dup_text (document);
  recovered_text = candor_document_dup_text (recovered);
  g_assert_cmpstr (recovered_text, ==, text);
  g_assert_true (loom_authorship_equal (candor_document_get_authorship (recovered),
                                        candor_document_get_authorship (document)));
  g_assert_true (candor_document_get_modified (recovered));
  g_assert_null (candor_document_get_file (recovered));
  g_assert_true (g_file_equal (candor_document_get_autosave_file (recovered), autosave));

  /* Saving the recovered story removes its autosave. */
  g_assert_true (candor_document_save (recovered, file, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_query_exists (autosave, NULL));
  g_clear_pointer (&files, g_ptr_array_unref);
  files = candor_document_list_recoverable ();
  g_assert_cmpuint (files->len, ==, 0);

  /* Closing without saving removes it too. */
  g_assert_true (candor_document_autosave (document, &error));
  g_assert_true (g_file_query_exists (autosave, NULL));
  candor_document_discard_autosave (document);
  g_assert_false (g_file_query_exists (autosave, NULL));

  candor_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *state_dir = candor_test_make_temp_dir ("candor-test-document-XXXXXX");
  int status;

  /* Autosaves go to a private state folder, set before GLib reads it. */
  g_setenv ("XDG_STATE_HOME", state_dir, TRUE);
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/document/typing", test_typing);
  g_test_add_func ("/app/document/accept-and-edit", test_accept_and_edit);
  g_test_add_func ("/app/document/undo-redo", test_undo_redo);
  g_test_add_func ("/app/document/replace-selection", test_replace_selection);
  g_test_add_func ("/app/document/paste", test_paste);
  g_test_add_func ("/app/document/stream", test_stream);
  g_test_add_func ("/app/document/save-load", test_save_load);
  g_test_add_func ("/app/document/bad-files", test_bad_files);
  g_test_add_func ("/app/document/import", test_import);
  g_test_add_func ("/app/document/export", test_export);
  g_test_add_func ("/app/document/autosave", test_autosave);

  status = g_test_run ();
  candor_test_remove_tree (state_dir);

  return status;
}
