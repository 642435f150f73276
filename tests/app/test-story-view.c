/* test-story-view.c — the Story view with real widgets and a real model: suggestions as
 * ghost text, accepting, cycling, dismissing, Continue, and the origins they leave.
 *
 * The model is stories260K (from $CANDOR_TESTDATA) when present, else a small random
 * model this test writes with `candor-cli make-model` ($CANDOR_CLI). Keys go through the
 * view's own key handler first and then, when it leaves them, through the text view's
 * bindings, as GTK dispatches them; typing goes through the text view's insert-at-cursor.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "candor-document.h"
#include "candor-story-view.h"
#include "candor-test-app.h"
#include "candor-window.h"

static char *model_dir;

static const char *
model_path (void)
{
  static char *path;
  const char *testdata = g_getenv ("CANDOR_TESTDATA");
  const char *cli = g_getenv ("CANDOR_CLI");

  if (path != NULL)
    return path;
  if (testdata != NULL)
    {
      path = g_build_filename (testdata, "llama-stories260k", "stories260K.gguf", NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_clear_pointer (&path, g_free);
    }
  if (cli == NULL)
    return NULL;
  model_dir = candor_test_make_temp_dir ("candor-story-XXXXXX");
  path = g_build_filename (model_dir, "random.gguf", NULL);
  {
    const char *argv[] = { cli, "make-model", path, "--type", "F32", "--dim", "64", "--layers",
                           "2", "--ffn", "128", "--heads", "4", "--kv-heads", "4", "--vocab",
                           "400", "--ctx", "256", "--seed", "7", NULL };

    candor_test_run_command (argv);
  }
  return path;
}

static gboolean
model_settled (gpointer data)
{
  return !candor_application_get_text_model_busy (candor_test_get_application ())
         && (candor_application_get_text_model (candor_test_get_application ()) != NULL
             || candor_application_get_text_model_error (candor_test_get_application ()) != NULL);
}

/* Loads the test model; FALSE (after skipping) when there is no device to run it on. */
static gboolean
load_model (void)
{
  CandorApplication *app = candor_test_get_application ();
  GSettings *settings = candor_application_get_settings (app);
  const char *path;

  if (!candor_test_require_device ())
    return FALSE;
  path = model_path ();
  if (path == NULL)
    {
      g_test_skip ("Neither stories260K.gguf nor candor-cli to write a model");
      return FALSE;
    }
  g_settings_set_string (settings, "text-model-path", path);
  candor_test_wait_until (model_settled, NULL, 120000);
  g_assert_null (candor_application_get_text_model_error (app));
  g_assert_nonnull (candor_application_get_text_model (app));
  return TRUE;
}

typedef struct
{
  CandorWindow               *window;
  CandorStoryView            *view;
  GtkTextView                *text_view;
  GtkTextBuffer              *buffer;
  CandorDocument             *document;
  CandorSuggestionController *controller;
} Fixture;

static void
fixture_open (Fixture *f)
{
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());

  /* Suggestions when asked, so each test decides when they come. */
  g_settings_set_enum (settings, "suggestion-mode", 1);
  g_settings_set_double (settings, "suggestion-temperature", 1.0);
  g_settings_set_double (settings, "suggestion-top-p", 0.95);
  g_settings_set_uint (settings, "suggestion-length", 12);

  f->window = candor_window_new (candor_test_get_application ());
  gtk_window_present (GTK_WINDOW (f->window));
  candor_test_wait_mapped (GTK_WIDGET (f->window));
  f->view = candor_window_get_story_view (f->window);
  f->text_view = candor_story_view_get_text_view (f->view);
  f->document = candor_story_view_get_document (f->view);
  f->buffer = candor_document_get_buffer (f->document);
  f->controller = candor_story_view_get_controller (f->view);
  gtk_widget_grab_focus (GTK_WIDGET (f->text_view));
}

static void
fixture_close (Fixture *f)
{
  candor_test_destroy_window (GTK_WIDGET (f->window));
}

static void
type (Fixture    *f,
      const char *text)
{
  candor_test_type (f->text_view, text);
}

static GtkEventController *
capture_key_controller (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_EVENT_CONTROLLER_KEY (c)
          && gtk_event_controller_get_propagation_phase (c) == GTK_PHASE_CAPTURE)
        return c;
    }
  return NULL;
}

/* A key press as GTK dispatches it: the view's capture handler, else the first of the
 * text view's shortcuts (its key bindings) that the key triggers. Returns who took it:
 * 1 the view, 2 a binding, 0 nobody. */
static int
press (Fixture         *f,
       guint            keyval,
       GdkModifierType  state)
{
  GtkWidget *widget = GTK_WIDGET (f->text_view);
  GtkEventController *key = capture_key_controller (widget);
  g_autoptr(GListModel) controllers = NULL;
  gboolean handled = FALSE;

  g_assert_nonnull (key);
  g_signal_emit_by_name (key, "key-pressed", keyval, 0, state, &handled);
  if (handled)
    return 1;

  controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
      GListModel *shortcuts;
      if (!GTK_IS_SHORTCUT_CONTROLLER (c))
        continue;
      shortcuts = G_LIST_MODEL (c);
      for (guint j = 0; j < g_list_model_get_n_items (shortcuts); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (shortcuts, j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == state)
            {
              gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut),
                                            GTK_SHORTCUT_ACTION_EXCLUSIVE, widget,
                                            gtk_shortcut_get_arguments (shortcut));
              return 2;
            }
        }
    }
  return 0;
}

static char *
buffer_text (Fixture *f)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (f->buffer, &start, &end);
  return gtk_text_buffer_get_text (f->buffer, &start, &end, FALSE);
}

static gboolean
generation_done (gpointer data)
{
  Fixture *f = data;

  return !candor_suggestion_controller_get_busy (f->controller)
         && !candor_suggestion_controller_get_streaming (f->controller);
}

/* Asks with Ctrl+Space until the model offers a non-empty suggestion (a sampled one can
 * end at once); returns it. */
static char *
suggest (Fixture *f)
{
  for (guint attempt = 0; attempt < 20; attempt++)
    {
      g_assert_cmpint (press (f, GDK_KEY_space, GDK_CONTROL_MASK), ==, 1);
      candor_test_wait_until (generation_done, f, 60000);
      if (candor_suggestion_controller_get_ghost_text (f->controller) != NULL)
        return g_strdup (candor_suggestion_controller_get_ghost_text (f->controller));
    }
  g_assert_not_reached ();
}

static LoomOrigin
origin_at (Fixture *f,
           guint    offset)
{
  return loom_authorship_get_origin_at (candor_document_get_authorship (f->document), offset, NULL);
}

static const char *
last_event_kind (Fixture *f)
{
  LoomEventLog *log = candor_document_get_log (f->document);
  guint n = loom_event_log_get_n_events (log);

  g_assert_cmpuint (n, >, 0);
  return json_object_get_string_member (loom_event_log_get_event (log, n - 1), "kind");
}

static guint
count_events (Fixture    *f,
              const char *kind)
{
  return candor_test_count_events (f->document, kind);
}

static void
test_no_model (void)
{
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  Fixture f;

  g_settings_set_string (settings, "text-model-path", "");
  fixture_open (&f);
  g_assert_null (candor_suggestion_controller_get_model (f.controller));
  /* Nothing to ask; typing still works. */
  type (&f, "Plain writing.");
  g_assert_cmpint (press (&f, GDK_KEY_space, GDK_CONTROL_MASK), ==, 1);
  g_assert_null (candor_suggestion_controller_get_ghost_text (f.controller));
  g_assert_cmpint (origin_at (&f, 0), ==, LOOM_ORIGIN_HUMAN_TYPED);

  /* A file that is not a model: the engine's message is shown. */
  {
    g_autofree char *bad = g_build_filename (g_get_tmp_dir (), "candor-not-a-model.gguf", NULL);
    g_assert_true (g_file_set_contents (bad, "not a gguf file", -1, NULL));
    candor_test_wait_for_device ();
    g_settings_set_string (settings, "text-model-path", bad);
    if (candor_application_get_device (candor_test_get_application ()) != NULL)
      {
        candor_test_wait_until (model_settled, NULL, 60000);
        g_assert_nonnull (candor_application_get_text_model_error (candor_test_get_application ()));
      }
    g_settings_set_string (settings, "text-model-path", "");
    g_unlink (bad);
  }
  fixture_close (&f);
}

static void
assert_renderings_differ (GdkTexture *a,
                          GdkTexture *b)
{
  int width = gdk_texture_get_width (a), height = gdk_texture_get_height (a);
  gsize stride = (gsize) width * 4;
  g_autofree guint8 *pa = g_malloc (stride * height);
  g_autofree guint8 *pb = g_malloc (stride * height);

  g_assert_cmpint (gdk_texture_get_width (b), ==, width);
  g_assert_cmpint (gdk_texture_get_height (b), ==, height);
  gdk_texture_download (a, pa, stride);
  gdk_texture_download (b, pb, stride);
  g_assert_true (memcmp (pa, pb, stride * height) != 0);
}

/* A suggestion is drawn, not inserted; Tab inserts it as the model's. */
static void
test_suggest_accept (void)
{
  Fixture f;
  const char *typed = "Once upon a time, there was a little girl named Lily.";
  g_autofree char *ghost = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GdkTexture) before = NULL;
  g_autoptr(GdkTexture) with_ghost = NULL;
  glong typed_len = g_utf8_strlen (typed, -1);

  if (!load_model ())
    return;
  fixture_open (&f);
  type (&f, typed);
  before = candor_test_render (GTK_WIDGET (f.text_view));

  ghost = suggest (&f);
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, typed);  /* not in the buffer */
  g_assert_cmpuint (loom_authorship_get_length (candor_document_get_authorship (f.document)), ==,
                    typed_len);
  g_assert_cmpstr (last_event_kind (&f), ==, "suggest");
  g_assert_nonnull (candor_suggestion_controller_get_context (f.controller));
  g_assert_true (g_str_has_suffix (candor_suggestion_controller_get_context (f.controller), typed));
  with_ghost = candor_test_render (GTK_WIDGET (f.text_view));
  assert_renderings_differ (before, with_ghost);  /* but drawn */

  g_assert_cmpint (press (&f, GDK_KEY_Tab, 0), ==, 1);
  g_clear_pointer (&text, g_free);
  text = buffer_text (&f);
  expected = g_strconcat (typed, ghost, NULL);
  g_assert_cmpstr (text, ==, expected);
  g_assert_null (candor_suggestion_controller_get_ghost_text (f.controller));
  g_assert_cmpint (origin_at (&f, typed_len - 1), ==, LOOM_ORIGIN_HUMAN_TYPED);
  g_assert_cmpint (origin_at (&f, typed_len), ==, LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpint (origin_at (&f, g_utf8_strlen (expected, -1) - 1), ==, LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpstr (last_event_kind (&f), ==, "accept");
  /* The accept names the suggestion shown, which names the model and the context. */
  {
    LoomEventLog *log = candor_document_get_log (f.document);
    guint n = loom_event_log_get_n_events (log);
    JsonObject *accept = json_object_get_object_member (loom_event_log_get_event (log, n - 1),
                                                        "fields");
    JsonObject *suggest = loom_event_log_get_event (log, n - 2);
    g_assert_cmpstr (json_object_get_string_member (suggest, "kind"), ==, "suggest");
    g_assert_cmpstr (json_object_get_string_member (accept, "suggestion"), ==,
                     json_object_get_string_member (suggest, "id"));
    g_assert_cmpint (json_object_get_int_member (accept, "length"), ==, g_utf8_strlen (ghost, -1));
  }

  /* Typing inside the accepted text: the model's characters become edited, the new one
   * is the author's. */
  {
    GtkTextIter inside;
    guint at = typed_len + 1;
    gtk_text_buffer_get_iter_at_offset (f.buffer, &inside, at);
    gtk_text_buffer_place_cursor (f.buffer, &inside);
    type (&f, "Q");
    g_assert_cmpint (origin_at (&f, at), ==, LOOM_ORIGIN_HUMAN_TYPED);
    g_assert_cmpint (origin_at (&f, at - 1), ==, LOOM_ORIGIN_AI_EDITED);
    g_assert_cmpint (origin_at (&f, at + 1), ==, LOOM_ORIGIN_AI_EDITED);
    {
      g_autoptr(LoomProvenanceSummary) summary = candor_document_dup_summary (f.document);
      g_assert_cmpuint (summary->accepted, ==, 1);
      g_assert_cmpuint (summary->accepted_then_edited, ==, 1);
    }
  }

  /* Undo takes the edit back, text and origins; redo brings both again. */
  {
    g_autofree char *after_edit = buffer_text (&f);
    g_autoptr(LoomAuthorship) runs_accepted = NULL;
    LoomAuthorship *runs = candor_document_get_authorship (f.document);
    g_autoptr(LoomAuthorship) runs_edited = loom_authorship_copy (runs);

    g_assert_cmpint (press (&f, GDK_KEY_z, GDK_CONTROL_MASK), ==, 1);
    g_clear_pointer (&text, g_free);
    text = buffer_text (&f);
    g_assert_cmpstr (text, ==, expected);
    g_assert_cmpint (origin_at (&f, typed_len + 1), ==, LOOM_ORIGIN_AI_ACCEPTED);
    runs_accepted = loom_authorship_copy (candor_document_get_authorship (f.document));

    g_assert_cmpint (press (&f, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK), ==, 1);
    g_clear_pointer (&text, g_free);
    text = buffer_text (&f);
    g_assert_cmpstr (text, ==, after_edit);
    g_assert_true (loom_authorship_equal (runs, runs_edited));
    g_assert_false (loom_authorship_equal (runs_accepted, runs_edited));
  }
  fixture_close (&f);
}

static gboolean
text_has_suffix (gpointer data)
{
  gpointer *pair = data;
  g_autofree char *text = buffer_text (pair[0]);

  return g_str_has_suffix (text, pair[1]);
}

static void
test_paste (void)
{
  Fixture f;
  GdkClipboard *clipboard;
  gpointer pair[2];
  guint start;

  fixture_open (&f);
  type (&f, "Typed. ");
  start = gtk_text_buffer_get_char_count (f.buffer);
  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (f.text_view));
  gdk_clipboard_set_text (clipboard, "From the clipboard.");
  g_signal_emit_by_name (f.text_view, "paste-clipboard");
  pair[0] = &f;
  pair[1] = (gpointer) "From the clipboard.";
  candor_test_wait_until (text_has_suffix, pair, 10000);
  g_assert_cmpint (origin_at (&f, start - 1), ==, LOOM_ORIGIN_HUMAN_TYPED);
  g_assert_cmpint (origin_at (&f, start), ==, LOOM_ORIGIN_PASTED);
  g_assert_cmpint (origin_at (&f, gtk_text_buffer_get_char_count (f.buffer) - 1), ==,
                   LOOM_ORIGIN_PASTED);
  fixture_close (&f);
}

/* Without a suggestion, Ctrl+→ is the text view's: the cursor moves a word. */
static void
test_ctrl_right_moves (void)
{
  Fixture f;
  GtkTextIter start, cursor;
  g_autofree char *text = NULL;

  fixture_open (&f);
  type (&f, "Several words here");
  gtk_text_buffer_get_start_iter (f.buffer, &start);
  gtk_text_buffer_place_cursor (f.buffer, &start);
  g_assert_cmpint (press (&f, GDK_KEY_Right, GDK_CONTROL_MASK), ==, 2);
  gtk_text_buffer_get_iter_at_mark (f.buffer, &cursor, gtk_text_buffer_get_insert (f.buffer));
  g_assert_cmpint (gtk_text_iter_get_offset (&cursor), ==, strlen ("Several"));
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, "Several words here");
  fixture_close (&f);
}

/* Esc dismisses and logs a reject; typing the suggestion's next characters consumes
 * them, typing others dismisses it. */
static void
test_dismiss_and_consume (void)
{
  Fixture f;
  g_autofree char *ghost = NULL;
  g_autofree char *first = NULL;
  g_autofree char *text = NULL;
  guint rejects;

  if (!load_model ())
    return;
  fixture_open (&f);
  type (&f, "The sun was shining and the birds were singing.");
  ghost = suggest (&f);
  g_assert_cmpint (press (&f, GDK_KEY_Escape, 0), ==, 1);
  g_assert_null (candor_suggestion_controller_get_ghost_text (f.controller));
  g_assert_cmpstr (last_event_kind (&f), ==, "reject");
  text = buffer_text (&f);
  g_assert_true (g_str_has_suffix (text, "singing."));
  /* Esc with nothing to dismiss is not taken. */
  g_assert_cmpint (press (&f, GDK_KEY_Escape, 0), ==, 0);

  /* Consume the first character (a whole suggestion that is one character long ends). */
  g_clear_pointer (&ghost, g_free);
  do
    {
      g_clear_pointer (&ghost, g_free);
      ghost = suggest (&f);
    }
  while (g_utf8_strlen (ghost, -1) < 2);
  first = g_strndup (ghost, g_utf8_next_char (ghost) - ghost);
  rejects = count_events (&f, "reject");
  type (&f, first);
  g_assert_cmpstr (candor_suggestion_controller_get_ghost_text (f.controller), ==,
                   g_utf8_next_char (ghost));
  g_assert_cmpint (origin_at (&f, gtk_text_buffer_get_char_count (f.buffer) - 1), ==,
                   LOOM_ORIGIN_HUMAN_TYPED);
  /* Something else: gone, and rejected. */
  type (&f, strcmp (g_utf8_next_char (ghost), "~") == 0 ? "^" : "~");
  g_assert_null (candor_suggestion_controller_get_ghost_text (f.controller));
  g_assert_cmpuint (count_events (&f, "reject"), ==, rejects + 1);
  fixture_close (&f);
}

static gboolean
alternative_ready (gpointer data)
{
  Fixture *f = data;

  return generation_done (f);
}

/* Alt+] generates another alternative from the same context; Alt+[ returns. */
static void
test_cycle (void)
{
  Fixture f;
  g_autofree char *first = NULL;
  g_autofree char *context = NULL;
  const char *second;

  if (!load_model ())
    return;
  fixture_open (&f);
  type (&f, "Tom had a red ball. He liked to play with it in the park.");
  first = suggest (&f);
  context = g_strdup (candor_suggestion_controller_get_context (f.controller));

  /* Sampled alternatives can coincide: cycle until one differs (at most 3 kept). */
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (press (&f, GDK_KEY_bracketright, GDK_ALT_MASK), ==, 1);
      candor_test_wait_until (alternative_ready, &f, 60000);
      g_assert_cmpuint (candor_suggestion_controller_get_alternative (f.controller), ==, i + 1);
      g_assert_cmpstr (candor_suggestion_controller_get_context (f.controller), ==, context);
      second = candor_suggestion_controller_get_ghost_text (f.controller);
      if (g_strcmp0 (second, first) != 0)
        break;
    }
  g_assert_cmpstr (candor_suggestion_controller_get_ghost_text (f.controller), !=, first);
  g_assert_cmpuint (count_events (&f, "cycle"), >=, 1);
  while (candor_suggestion_controller_get_alternative (f.controller) != 0)
    g_assert_cmpint (press (&f, GDK_KEY_bracketleft, GDK_ALT_MASK), ==, 1);
  g_assert_cmpstr (candor_suggestion_controller_get_ghost_text (f.controller), ==, first);
  fixture_close (&f);
}

/* Continue streams model text into the story; one undo removes all of it. */
static void
test_continue (void)
{
  Fixture f;
  const char *typed = "Once upon a time, there was a big dog.";
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  g_autofree char *text = NULL;
  glong typed_len = g_utf8_strlen (typed, -1);

  if (!load_model ())
    return;
  fixture_open (&f);
  type (&f, typed);
  for (guint attempt = 0; attempt < 10; attempt++)
    {
      g_assert_cmpint (press (&f, GDK_KEY_Return, GDK_CONTROL_MASK), ==, 1);
      g_assert_true (candor_suggestion_controller_get_streaming (f.controller));
      g_assert_false (gtk_text_view_get_editable (f.text_view));
      candor_test_wait_until (generation_done, &f, 120000);
      if (gtk_text_buffer_get_char_count (f.buffer) > typed_len)
        break;
    }
  g_assert_true (gtk_text_view_get_editable (f.text_view));
  g_assert_cmpint (gtk_text_buffer_get_char_count (f.buffer), >, typed_len);
  g_assert_cmpint (origin_at (&f, typed_len), ==, LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpint (origin_at (&f, gtk_text_buffer_get_char_count (f.buffer) - 1), ==,
                   LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpstr (last_event_kind (&f), ==, "accept");

  /* Colouring tints the text: the rendering changes, the text and its origins not. */
  {
    g_autoptr(GdkTexture) plain = candor_test_render (GTK_WIDGET (f.text_view));
    g_autoptr(GdkTexture) tinted = NULL;
    LoomAuthorship *now = candor_document_get_authorship (f.document);
    g_autoptr(LoomAuthorship) runs = loom_authorship_copy (now);
    g_settings_set_boolean (settings, "color-by-origin", TRUE);
    tinted = candor_test_render (GTK_WIDGET (f.text_view));
    assert_renderings_differ (plain, tinted);
    g_assert_true (loom_authorship_equal (runs, candor_document_get_authorship (f.document)));
    g_settings_set_boolean (settings, "color-by-origin", FALSE);
  }

  g_assert_cmpint (press (&f, GDK_KEY_z, GDK_CONTROL_MASK), ==, 1);
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, typed);
  fixture_close (&f);
}

static gboolean
ghost_shown (gpointer data)
{
  Fixture *f = data;

  return candor_suggestion_controller_get_ghost_text (f->controller) != NULL;
}

/* In automatic mode a pause in typing brings a suggestion by itself. */
static void
test_automatic (void)
{
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  Fixture f;

  if (!load_model ())
    return;
  fixture_open (&f);
  g_settings_set_uint (settings, "suggestion-pause", 100);
  g_settings_set_enum (settings, "suggestion-mode", 0);
  for (guint attempt = 0; attempt < 20 && !ghost_shown (&f); attempt++)
    {
      type (&f, attempt == 0 ? "Lily went to the park" : " and");
      g_assert_null (candor_suggestion_controller_get_ghost_text (f.controller));
      candor_test_wait_until (generation_done, &f, 60000);
      g_usleep (150000);
      g_main_context_iteration (NULL, FALSE);
      candor_test_wait_until (generation_done, &f, 60000);
    }
  g_assert_true (ghost_shown (&f));
  g_settings_reset (settings, "suggestion-mode");
  g_settings_reset (settings, "suggestion-pause");
  fixture_close (&f);
}

/* The context: memory first, the author's note before the last three lines, the
 * newest text when it does not all fit. */
static void
test_context (void)
{
  Fixture f;
  g_autoptr(GString) story = g_string_new (NULL);
  g_autofree char *context = NULL;
  g_autofree char *small = NULL;
  GtkTextIter end;
  gsize pinned = 0;

  if (!load_model ())
    return;
  fixture_open (&f);
  candor_document_set_memory (f.document, "A story about a cat.");
  candor_document_set_authors_note (f.document, "Keep it happy.");
  for (guint i = 0; i < 5; i++)
    g_string_append_printf (story, "Line %u of the story.\n", i);
  g_string_append (story, "Last");
  type (&f, story->str);
  gtk_text_buffer_get_end_iter (f.buffer, &end);

  context = candor_suggestion_controller_build_context (f.controller, &end, 200, &pinned);
  g_assert_cmpstr (context, ==,
                   "A story about a cat.\n\n"
                   "Line 0 of the story.\nLine 1 of the story.\nLine 2 of the story.\n"
                   "[Author's note: Keep it happy.]\n"
                   "Line 3 of the story.\nLine 4 of the story.\nLast");
  g_assert_cmpuint (pinned, ==, strlen ("A story about a cat.\n\n"));

  /* A budget for the memory, the note and the last three lines keeps those, cut at a
   * line start (the tokenizer decides the sizes: measure with it). */
  {
    LoomTextModel *model = candor_suggestion_controller_get_model (f.controller);
    guint budget = loom_text_model_count_tokens (model, "A story about a cat.\n\n")
                   + loom_text_model_count_tokens (model, "[Author's note: Keep it happy.]\n")
                   + loom_text_model_count_tokens (model, "Line 3 of the story.\n"
                                                          "Line 4 of the story.\nLast")
                   + 2;

    small = candor_suggestion_controller_build_context (f.controller, &end, budget, &pinned);
    g_assert_true (g_str_has_prefix (small, "A story about a cat.\n\n"));
    g_assert_true (g_str_has_suffix (small, "Line 4 of the story.\nLast"));
    g_assert_null (strstr (small, "Line 0"));
    g_assert_null (strstr (small, "Line 1"));
    g_assert_true (g_str_has_prefix (small + pinned, "[Author's note: Keep it happy.]\nLine 3"));
    /* Pieces tokenized apart may count a few fewer than the whole. */
    g_assert_cmpuint (loom_text_model_count_tokens (model, small), <=, budget + 8);
  }
  fixture_close (&f);
}

/* The text views of the story notes, found as the author finds them: Ctrl+M opens the
 * notes with the memory focused; the author's note is the other editor beside it. */
static void
open_notes (Fixture      *f,
            GtkTextView **memory,
            GtkTextView **authors_note)
{
  GtkWidget *view = GTK_WIDGET (f->view);
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (view);
  GtkWidget *focus, *box;
  gboolean found = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !found; i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
      if (!GTK_IS_SHORTCUT_CONTROLLER (c))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (c)) && !found; j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (c), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == GDK_KEY_m
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger))
                   == GDK_CONTROL_MASK)
            found = gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut),
                                                  GTK_SHORTCUT_ACTION_EXCLUSIVE, view,
                                                  gtk_shortcut_get_arguments (shortcut));
        }
    }
  g_assert_true (found);

  focus = gtk_root_get_focus (GTK_ROOT (f->window));
  g_assert_true (GTK_IS_TEXT_VIEW (focus));
  g_assert_true (focus != GTK_WIDGET (f->text_view));
  g_assert_true (gtk_widget_get_mapped (focus));
  *memory = GTK_TEXT_VIEW (focus);

  /* memory_view → scrolled window → box of the popover, whose last child scrolls the
   * author's note. */
  box = gtk_widget_get_ancestor (focus, GTK_TYPE_SCROLLED_WINDOW);
  box = gtk_widget_get_parent (box);
  *authors_note = GTK_TEXT_VIEW (gtk_scrolled_window_get_child (
    GTK_SCROLLED_WINDOW (gtk_widget_get_last_child (box))));
  g_assert_true (GTK_IS_TEXT_VIEW (*authors_note));
  g_assert_true (*authors_note != *memory);
}

static char *
view_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* The notes editors write to the document (which is then modified), show what it holds,
 * and follow the view to another document. */
static void
test_notes (void)
{
  Fixture f;
  GtkTextView *memory, *authors_note;
  g_autoptr(CandorDocument) other = candor_document_new ();
  g_autofree char *shown = NULL;

  fixture_open (&f);
  g_assert_false (candor_document_get_modified (f.document));
  open_notes (&f, &memory, &authors_note);

  g_signal_emit_by_name (memory, "insert-at-cursor", "A story about a cat.");
  g_assert_cmpstr (candor_document_get_memory (f.document), ==, "A story about a cat.");
  g_assert_true (candor_document_get_modified (f.document));
  g_signal_emit_by_name (authors_note, "insert-at-cursor", "Keep it happy.");
  g_assert_cmpstr (candor_document_get_authors_note (f.document), ==, "Keep it happy.");
  /* The notes are not the story: its text and origins stay as they were. */
  g_assert_cmpuint (gtk_text_buffer_get_char_count (f.buffer), ==, 0);
  g_assert_cmpuint (loom_authorship_get_length (candor_document_get_authorship (f.document)), ==,
                    0);

  candor_document_set_authors_note (f.document, "Keep it sad.");
  shown = view_text (authors_note);
  g_assert_cmpstr (shown, ==, "Keep it sad.");

  /* Another story in the view: the editors show its notes and write to it alone. */
  candor_document_set_memory (other, "A story about a dog.");
  candor_story_view_set_document (f.view, other);
  g_clear_pointer (&shown, g_free);
  shown = view_text (memory);
  g_assert_cmpstr (shown, ==, "A story about a dog.");
  g_clear_pointer (&shown, g_free);
  shown = view_text (authors_note);
  g_assert_cmpstr (shown, ==, "");
  g_signal_emit_by_name (authors_note, "insert-at-cursor", "Short sentences.");
  g_assert_cmpstr (candor_document_get_authors_note (other), ==, "Short sentences.");
  g_assert_cmpstr (candor_document_get_authors_note (f.document), ==, "Keep it sad.");
  g_assert_cmpstr (candor_document_get_memory (f.document), ==, "A story about a cat.");

  gtk_popover_popdown (GTK_POPOVER (gtk_widget_get_ancestor (GTK_WIDGET (memory),
                                                             GTK_TYPE_POPOVER)));
  fixture_close (&f);
}

/* The memory written in its editor opens the next context the model sees. */
static void
test_notes_context (void)
{
  Fixture f;
  GtkTextView *memory, *authors_note;
  g_autofree char *ghost = NULL;
  const char *context;

  if (!load_model ())
    return;
  fixture_open (&f);
  type (&f, "Once upon a time, there was a little girl named Lily.");
  open_notes (&f, &memory, &authors_note);
  g_signal_emit_by_name (memory, "insert-at-cursor", "Lily has a red kite.");
  g_signal_emit_by_name (authors_note, "insert-at-cursor", "Happy ending.");
  gtk_popover_popdown (GTK_POPOVER (gtk_widget_get_ancestor (GTK_WIDGET (memory),
                                                             GTK_TYPE_POPOVER)));
  g_assert_true (gtk_root_get_focus (GTK_ROOT (f.window)) == GTK_WIDGET (f.text_view));

  ghost = suggest (&f);
  context = candor_suggestion_controller_get_context (f.controller);
  g_assert_nonnull (context);
  g_assert_true (g_str_has_prefix (context, "Lily has a red kite.\n\n"));
  g_assert_nonnull (strstr (context, "Happy ending."));
  g_assert_true (g_str_has_suffix (context, "named Lily."));
  fixture_close (&f);
}

/* A move by drag and drop, as GtkTextView makes it: the drop inserts the dragged text at
 * the drop point (one interactive insert of the string), then the end of the drag deletes
 * the selection it came from. The view hooks the text view's drop target to call
 * begin_move at the drop and end_move when the drag ends. */
static void
drag_and_drop (Fixture  *f,
               guint     from,
               guint     to,
               guint     drop_at,
               gboolean  move)
{
  GtkTextIter start, end, drop;
  g_autofree char *dragged = NULL;

  gtk_text_buffer_get_iter_at_offset (f->buffer, &start, from);
  gtk_text_buffer_get_iter_at_offset (f->buffer, &end, to);
  gtk_text_buffer_select_range (f->buffer, &start, &end);
  dragged = gtk_text_iter_get_slice (&start, &end);

  candor_document_begin_move (f->document, &start, &end);
  gtk_text_buffer_get_iter_at_offset (f->buffer, &drop, drop_at);
  g_assert_true (gtk_text_buffer_insert_interactive (f->buffer, &drop, dragged, -1, TRUE));
  if (move)
    g_assert_true (gtk_text_buffer_delete_selection (f->buffer, TRUE, TRUE));
  candor_document_end_move (f->document);

  g_assert_cmpuint (gtk_text_buffer_get_char_count (f->buffer), ==,
                    loom_authorship_get_length (candor_document_get_authorship (f->document)));
}

static gboolean
drop_target_hooked (Fixture *f)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->text_view));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (c)
          && g_signal_handler_find (c, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, f->view) != 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_drag_and_drop (void)
{
  Fixture f;
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;
  g_autoptr(LoomAuthorship) runs_before = NULL;
  g_autoptr(LoomAuthorship) runs_moved = NULL;
  LoomAuthorship *runs;
  GtkTextIter iter;
  guint pastes;

  fixture_open (&f);
  g_assert_true (drop_target_hooked (&f));
  runs = candor_document_get_authorship (f.document);

  /* "Typed start. " typed, "Model words." the model's, " The end." typed. */
  type (&f, "Typed start. ");
  id = candor_document_log_suggest (f.document, "test-model", NULL, "Typed start. ",
                                    "Model words.", 1.0, 0.95, 7, 12);
  gtk_text_buffer_get_end_iter (f.buffer, &iter);
  candor_document_accept (f.document, &iter, "Model words.", id, CANDOR_ACCEPT_ALL);
  gtk_text_buffer_get_end_iter (f.buffer, &iter);
  gtk_text_buffer_place_cursor (f.buffer, &iter);
  type (&f, " The end.");
  runs_before = loom_authorship_copy (runs);
  pastes = count_events (&f, "paste");

  /* The model's sentence dragged to the end stays the model's, not edited. */
  drag_and_drop (&f, 13, 25, 34, TRUE);
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, "Typed start.  The end.Model words.");
  g_assert_cmpuint (loom_authorship_get_n_runs (runs), ==, 2);
  {
    guint start, length;
    LoomOrigin origin;

    loom_authorship_get_run (runs, 0, &start, &length, &origin);
    g_assert_cmpuint (start, ==, 0);
    g_assert_cmpuint (length, ==, 22);
    g_assert_cmpint (origin, ==, LOOM_ORIGIN_HUMAN_TYPED);
    loom_authorship_get_run (runs, 1, &start, &length, &origin);
    g_assert_cmpuint (start, ==, 22);
    g_assert_cmpuint (length, ==, 12);
    g_assert_cmpint (origin, ==, LOOM_ORIGIN_AI_ACCEPTED);
    g_assert_cmpstr (loom_authorship_get_run_source (runs, 1), ==, id);
  }
  {
    g_autoptr(LoomProvenanceSummary) summary = candor_document_dup_summary (f.document);
    g_assert_cmpuint (summary->accepted_then_edited, ==, 0);
  }
  g_assert_cmpuint (count_events (&f, "paste"), ==, pastes);
  runs_moved = loom_authorship_copy (runs);

  /* One undo puts text and origins back; redo moves them again. */
  g_assert_true (candor_document_can_undo (f.document));
  candor_document_undo (f.document);
  g_clear_pointer (&text, g_free);
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, "Typed start. Model words. The end.");
  g_assert_true (loom_authorship_equal (runs, runs_before));
  candor_document_redo (f.document);
  g_clear_pointer (&text, g_free);
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, "Typed start.  The end.Model words.");
  g_assert_true (loom_authorship_equal (runs, runs_moved));

  /* Typing after the drop is a step of its own, not part of the move. */
  gtk_text_buffer_get_end_iter (f.buffer, &iter);
  gtk_text_buffer_place_cursor (f.buffer, &iter);
  type (&f, "!");
  g_assert_cmpint (origin_at (&f, 34), ==, LOOM_ORIGIN_HUMAN_TYPED);
  candor_document_undo (f.document);
  g_assert_true (loom_authorship_equal (runs, runs_moved));

  /* A drop that leaves the dragged text where it was is a copy: an internal paste. */
  drag_and_drop (&f, 22, 27, 0, FALSE);
  g_clear_pointer (&text, g_free);
  text = buffer_text (&f);
  g_assert_cmpstr (text, ==, "ModelTyped start.  The end.Model words.");
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (origin_at (&f, i), ==, LOOM_ORIGIN_PASTED);
  g_assert_cmpint (origin_at (&f, 5), ==, LOOM_ORIGIN_HUMAN_TYPED);
  g_assert_cmpint (origin_at (&f, 27), ==, LOOM_ORIGIN_AI_ACCEPTED);
  g_assert_cmpuint (count_events (&f, "paste"), ==, pastes + 1);
  g_assert_cmpstr (last_event_kind (&f), ==, "paste");
  {
    LoomEventLog *log = candor_document_get_log (f.document);
    JsonObject *fields = json_object_get_object_member (
      loom_event_log_get_event (log, loom_event_log_get_n_events (log) - 1), "fields");
    g_assert_true (json_object_get_boolean_member (fields, "internal"));
    g_assert_cmpint (json_object_get_int_member (fields, "length"), ==, 5);
  }
  candor_document_undo (f.document);
  g_assert_true (loom_authorship_equal (runs, runs_moved));

  /* Dropped from another application: an external paste, as the view marks it. */
  candor_document_mark_paste (f.document, FALSE);
  gtk_text_buffer_get_start_iter (f.buffer, &iter);
  g_assert_true (gtk_text_buffer_insert_interactive (f.buffer, &iter, "Dropped. ", -1, TRUE));
  g_assert_cmpint (origin_at (&f, 0), ==, LOOM_ORIGIN_PASTED);
  g_assert_cmpint (origin_at (&f, 8), ==, LOOM_ORIGIN_PASTED);
  g_assert_cmpint (origin_at (&f, 9), ==, LOOM_ORIGIN_HUMAN_TYPED);
  g_assert_cmpstr (last_event_kind (&f), ==, "paste");
  fixture_close (&f);
}

/* The README's pictures: a story written with every origin, a suggestion on show, then
 * the same coloured by origin. */
static void
test_screenshots (void)
{
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  GdkClipboard *clipboard;
  Fixture f;
  gpointer pair[2];
  g_autofree char *ghost = NULL;

  if (!load_model ())
    return;
  g_settings_set_double (settings, "suggestion-temperature", 0.7);
  fixture_open (&f);
  g_settings_set_uint (settings, "suggestion-length", 24);
  gtk_window_set_default_size (GTK_WINDOW (f.window), 1120, 700);
  candor_document_set_memory (f.document,
                              "A gentle story for children about Lily and her dog Max.");
  candor_document_set_authors_note (f.document, "Warm and simple.");

  type (&f, "Lily lived in a little house by the sea with her dog, Max. Every morning they "
            "walked along the beach and looked for shells.\n");
  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (f.text_view));
  gdk_clipboard_set_text (clipboard, "The sky was pink and the waves were quiet.");
  g_signal_emit_by_name (f.text_view, "paste-clipboard");
  pair[0] = &f;
  pair[1] = (gpointer) "quiet.";
  candor_test_wait_until (text_has_suffix, pair, 10000);
  type (&f, " One day, Lily found a big blue shell.");
  ghost = suggest (&f);
  g_assert_cmpint (press (&f, GDK_KEY_Tab, 0), ==, 1);
  /* The author changes what the model wrote: a word after its first. */
  {
    GtkTextIter at;
    const char *p = ghost;
    while (*p == ' ')
      p++;
    while (*p != '\0' && *p != ' ')
      p++;
    gtk_text_buffer_get_end_iter (f.buffer, &at);
    gtk_text_iter_backward_chars (&at, g_utf8_strlen (p, -1));
    gtk_text_buffer_place_cursor (f.buffer, &at);
    type (&f, " little");
    gtk_text_buffer_get_end_iter (f.buffer, &at);
    gtk_text_buffer_place_cursor (f.buffer, &at);
  }
  /* A passage from Continue, left as the model wrote it. */
  type (&f, "\n");
  g_settings_set_uint (settings, "suggestion-length", 6);
  g_assert_cmpint (press (&f, GDK_KEY_Return, GDK_CONTROL_MASK), ==, 1);
  candor_test_wait_until (generation_done, &f, 120000);
  g_settings_set_uint (settings, "suggestion-length", 24);
  {
    GtkTextIter end;
    gtk_text_buffer_get_end_iter (f.buffer, &end);
    gtk_text_buffer_place_cursor (f.buffer, &end);
  }
  type (&f, "\nShe held the shell to her ear and listened.");
  g_clear_pointer (&ghost, g_free);
  ghost = suggest (&f);
  candor_test_wait_mapped (GTK_WIDGET (f.window));
  candor_test_save_rendering (GTK_WIDGET (f.window), "story-suggestion");

  g_settings_set_boolean (settings, "color-by-origin", TRUE);
  candor_test_save_rendering (GTK_WIDGET (f.window), "story-authorship");
  g_settings_set_boolean (settings, "color-by-origin", FALSE);
  fixture_close (&f);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/story/no-model", test_no_model);
  g_test_add_func ("/app/story/suggest-accept-edit-undo", test_suggest_accept);
  g_test_add_func ("/app/story/paste", test_paste);
  g_test_add_func ("/app/story/ctrl-right-moves", test_ctrl_right_moves);
  g_test_add_func ("/app/story/dismiss-consume", test_dismiss_and_consume);
  g_test_add_func ("/app/story/cycle", test_cycle);
  g_test_add_func ("/app/story/continue", test_continue);
  g_test_add_func ("/app/story/automatic", test_automatic);
  g_test_add_func ("/app/story/context", test_context);
  g_test_add_func ("/app/story/notes", test_notes);
  g_test_add_func ("/app/story/notes-context", test_notes_context);
  g_test_add_func ("/app/story/drag-and-drop", test_drag_and_drop);
  g_test_add_func ("/app/story/screenshots", test_screenshots);

  status = g_test_run ();
  if (model_dir != NULL)
    {
      g_autofree char *path = g_build_filename (model_dir, "random.gguf", NULL);
      g_unlink (path);
      g_rmdir (model_dir);
    }
  return status;
}
