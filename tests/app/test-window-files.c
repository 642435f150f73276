/* test-window-files.c — a window's story files, with real widgets: save and open through
 * the window, files that cannot be opened, the title's modified marker, export,
 * autosave and recovery at start, and closing with unsaved changes. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "candor-document.h"
#include "candor-story-view.h"
#include "candor-test-app.h"
#include "candor-window.h"


static void
iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static CandorWindow *
new_window (void)
{
  CandorWindow *window = candor_window_new (candor_test_get_application ());

  gtk_window_present (GTK_WINDOW (window));
  candor_test_wait_mapped (GTK_WIDGET (window));
  return window;
}

/* Destroys the window as a crash would: no close request, the autosave stays. */
static void
crash_window (CandorWindow *window)
{
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
  g_assert_null (window);
}

static CandorDocument *
document_of (CandorWindow *window)
{
  return candor_story_view_get_document (candor_window_get_story_view (window));
}

/* Ends a test's window without asking, and without leaving an autosave behind for the
 * recovery test to find. */
static void
destroy_window (CandorWindow *window)
{
  candor_document_discard_autosave (document_of (window));
  crash_window (window);
}

static void
type (CandorWindow *window,
      const char   *text)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document_of (window));

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gtk_text_buffer_begin_user_action (buffer);
      gtk_text_buffer_insert_interactive_at_cursor (buffer, p, g_utf8_next_char (p) - p, TRUE);
      gtk_text_buffer_end_user_action (buffer);
    }
}

static void
assert_text (CandorDocument *document,
             const char     *expected)
{
  g_autofree char *text = candor_document_dup_text (document);

  g_assert_cmpstr (text, ==, expected);
}

static guint
count_windows (void)
{
  guint n = 0;

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (candor_test_get_application ()));
       l != NULL; l = l->next)
    n += CANDOR_IS_WINDOW (l->data);
  return n;
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

/* Answers the dialog shown as the author would, by clicking @response. */
static void
respond (AdwMessageDialog *dialog,
         const char       *response)
{
  /* A click emits the response, then the dialog closes; the window it belonged to may
   * have gone with it. */
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  adw_message_dialog_response (dialog, response);
  if (dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (dialog));
  iterate ();
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

static void
test_actions (void)
{
  GtkApplication *app = GTK_APPLICATION (candor_test_get_application ());
  const struct { const char *action, *accel; } expected[] = {
    { "win.open", "<Control>o" },
    { "win.save", "<Control>s" },
    { "win.save-as", "<Shift><Control>s" },
    { "win.export", "<Control>e" },
    { "app.new-window", "<Control>n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_auto(GStrv) accels = gtk_application_get_accels_for_action (app, expected[i].action);
      guint key, parsed_key;
      GdkModifierType mods, parsed_mods;

      g_assert_nonnull (accels[0]);
      g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
      g_assert_true (gtk_accelerator_parse (expected[i].accel, &parsed_key, &parsed_mods));
      g_assert_cmpuint (key, ==, parsed_key);
      g_assert_cmpuint (mods, ==, parsed_mods);
    }
}

/* The title names the story and marks unsaved changes; saving through the window and
 * opening in another gives the same text, runs and log. */
static void
test_save_open (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-window-files-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "tale.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) saved = NULL;
  g_autoptr(GError) error = NULL;
  CandorWindow *window = new_window ();
  CandorWindow *other;
  CandorDocument *opened;
  g_autofree char *saved_text = NULL;

  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Untitled Story — Candor");
  type (window, "Once upon a time, a lighthouse.");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "• Untitled Story — Candor");

  g_assert_true (candor_window_save_to (window, file, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "tale.candor — Candor");

  /* Save, with a file, saves there without asking. */
  type (window, " It kept a light.");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "• tale.candor — Candor");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.save", NULL));
  g_assert_false (candor_document_get_modified (document_of (window)));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "tale.candor — Candor");

  /* The same file asked for again shows the window that has it. */
  g_assert_true (candor_window_open_file (window, file) == window);

  saved = g_object_ref (document_of (window));
  saved_text = candor_document_dup_text (saved);
  destroy_window (window);

  window = new_window ();
  other = candor_window_open_file (window, file);
  /* An empty new window's draft gives way to the story opened. */
  g_assert_true (other == window);
  g_assert_cmpuint (count_windows (), ==, 1);
  opened = document_of (window);
  g_assert_true (opened != saved);
  assert_text (opened, saved_text);
  g_assert_true (loom_authorship_equal (candor_document_get_authorship (opened),
                                        candor_document_get_authorship (saved)));
  g_assert_cmpuint (loom_event_log_get_n_events (candor_document_get_log (opened)), ==,
                    loom_event_log_get_n_events (candor_document_get_log (saved)));
  g_assert_true (loom_event_log_verify (candor_document_get_log (opened), &error));
  g_assert_no_error (error);
  g_assert_false (candor_document_get_modified (opened));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "tale.candor — Candor");

  destroy_window (window);
  candor_test_remove_tree (dir);
}

static void
assert_open_fails (CandorWindow *window,
                   GFile        *file,
                   const char   *message)
{
  CandorDocument *before = document_of (window);
  g_autofree char *text = candor_document_dup_text (before);
  g_autoptr(LoomAuthorship) runs = loom_authorship_copy (candor_document_get_authorship (before));
  guint n_events = loom_event_log_get_n_events (candor_document_get_log (before));
  gboolean modified = candor_document_get_modified (before);
  guint n_windows = count_windows ();
  AdwMessageDialog *dialog;

  g_assert_null (candor_window_open_file (window, file));
  iterate ();

  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Could Not Open the Story");
  if (strstr (adw_message_dialog_get_body (dialog), message) == NULL)
    g_error ("“%s” does not say “%s”", adw_message_dialog_get_body (dialog), message);
  respond (dialog, "close");

  /* Nothing changed: the same document, text, runs, log and state, and no new window. */
  g_assert_true (document_of (window) == before);
  assert_text (before, text);
  g_assert_true (loom_authorship_equal (candor_document_get_authorship (before), runs));
  g_assert_cmpuint (loom_event_log_get_n_events (candor_document_get_log (before)), ==, n_events);
  g_assert_cmpint (candor_document_get_modified (before), ==, modified);
  g_assert_cmpuint (count_windows (), ==, n_windows);
}

static void
test_bad_files (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-window-files-XXXXXX");
  g_autofree char *good_path = g_build_filename (dir, "good.candor", NULL);
  g_autofree char *bad_path = g_build_filename (dir, "bad.candor", NULL);
  g_autoptr(GFile) good = g_file_new_for_path (good_path);
  g_autoptr(GFile) bad = g_file_new_for_path (bad_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *data = NULL;
  g_autofree char *future = NULL;
  gsize length;
  CandorWindow *window = new_window ();
  CandorWindow *empty;

  type (window, "A story worth keeping.");
  g_assert_true (candor_window_save_to (window, good, &error));
  g_assert_no_error (error);
  type (window, " Unsaved words.");
  g_assert_true (g_file_get_contents (good_path, &data, &length, NULL));

  write_file (bad_path, "{\"format\": \"candor\", \"version\": 1, \"text\": [}", -1);
  assert_open_fails (window, bad, "damaged or not a Candor document");
  write_file (bad_path, data, length / 2);
  assert_open_fails (window, bad, "damaged or not a Candor document");
  root = json_from_string (data, &error);
  g_assert_no_error (error);
  json_object_set_int_member (json_node_get_object (root), "version", 99);
  future = json_to_string (root, FALSE);
  write_file (bad_path, future, -1);
  assert_open_fails (window, bad, "made by a newer Candor");

  /* An empty window keeps its own draft too. */
  empty = new_window ();
  assert_open_fails (empty, bad, "made by a newer Candor");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (empty)), ==, "Untitled Story — Candor");

  destroy_window (empty);
  destroy_window (window);
  candor_test_remove_tree (dir);
}

static void
test_export (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-window-files-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "tale.md", NULL);
  g_autofree char *sidecar_path = g_build_filename (dir, "tale.provenance.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *exported = NULL;
  CandorWindow *window = new_window ();
  JsonObject *root;

  type (window, "# The Lighthouse\n\nIt kept a light.");
  g_assert_true (candor_window_export_to (window, file, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &exported, NULL, NULL));
  g_assert_cmpstr (exported, ==, "# The Lighthouse\n\nIt kept a light.");
  g_assert_true (json_parser_load_from_file (parser, sidecar_path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "candor-provenance");
  g_assert_cmpstr (json_object_get_string_member (root, "file_name"), ==, "tale.md");
  /* Export is not save: the story is still unsaved and has no file. */
  g_assert_true (candor_document_get_modified (document_of (window)));
  g_assert_null (candor_document_get_file (document_of (window)));

  destroy_window (window);
  candor_test_remove_tree (dir);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_query_exists (G_FILE (data), NULL);
}

/* Edits are autosaved after a pause; after a crash the next start offers the story and
 * restores it; closing it without saving asks, and Discard removes the autosave. */
static void
test_autosave_recover (void)
{
  CandorApplication *app = candor_test_get_application ();
  CandorWindow *window = new_window ();
  g_autoptr(GFile) autosave = candor_document_get_autosave_file (document_of (window));
  g_autoptr(GPtrArray) files = NULL;
  AdwMessageDialog *dialog;
  GtkWindow *recovered_window = NULL;
  const char *text = "Written just before the power went out.";

  g_assert_false (g_file_query_exists (autosave, NULL));
  type (window, text);
  candor_test_wait_until (file_exists, autosave, 15000);
  files = candor_document_list_recoverable ();
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_true (g_file_equal (g_ptr_array_index (files, 0), autosave));

  /* The crash: the window goes without closing; the autosave stays. */
  crash_window (window);
  g_assert_cmpuint (count_windows (), ==, 0);
  g_assert_true (g_file_query_exists (autosave, NULL));

  /* The next start: the first window offers the story. */
  g_application_activate (G_APPLICATION (app));
  iterate ();
  g_assert_cmpuint (count_windows (), ==, 1);
  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Recover Unsaved Stories?");
  recovered_window = gtk_window_get_transient_for (GTK_WINDOW (dialog));
  respond (dialog, "recover");

  g_assert_cmpuint (count_windows (), ==, 1);
  window = CANDOR_WINDOW (recovered_window);
  assert_text (document_of (window), text);
  g_assert_true (candor_document_get_modified (document_of (window)));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "• Untitled Story — Candor");

  /* Closing asks; Cancel keeps the window. */
  gtk_window_close (GTK_WINDOW (window));
  iterate ();
  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Save Changes?");
  respond (dialog, "cancel");
  g_assert_cmpuint (count_windows (), ==, 1);
  g_assert_true (g_file_query_exists (autosave, NULL));

  /* Discard closes it and lets the autosave go. */
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_close (GTK_WINDOW (window));
  iterate ();
  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  respond (dialog, "discard");
  g_assert_null (window);
  g_assert_cmpuint (count_windows (), ==, 0);
  g_assert_false (g_file_query_exists (autosave, NULL));
  g_clear_pointer (&files, g_ptr_array_unref);
  files = candor_document_list_recoverable ();
  g_assert_cmpuint (files->len, ==, 0);
}

/* A window with no unsaved changes closes without asking, and leaves no autosave. */
static void
test_close_saved (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-window-files-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "tale.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  CandorWindow *window = new_window ();

  type (window, "Short.");
  g_assert_true (candor_window_save_to (window, file, &error));
  g_assert_no_error (error);
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_close (GTK_WINDOW (window));
  iterate ();
  g_assert_null (find_message_dialog ());
  g_assert_null (window);

  candor_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *state_dir = candor_test_make_temp_dir ("candor-test-window-files-XXXXXX");
  int status;

  /* Autosaves go to a private state folder, set before GLib reads it. */
  g_setenv ("XDG_STATE_HOME", state_dir, TRUE);
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/window-files/actions", test_actions);
  g_test_add_func ("/app/window-files/save-open", test_save_open);
  g_test_add_func ("/app/window-files/bad-files", test_bad_files);
  g_test_add_func ("/app/window-files/export", test_export);
  g_test_add_func ("/app/window-files/autosave-recover", test_autosave_recover);
  g_test_add_func ("/app/window-files/close-saved", test_close_saved);

  status = g_test_run ();
  candor_test_remove_tree (state_dir);
  return status;
}
