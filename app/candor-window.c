/* candor-window.c — CandorWindow. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "candor-application.h"
#include "candor-document.h"
#include "candor-illustrations-view.h"
#include "candor-story-view.h"
#include "candor-window.h"

struct _CandorWindow
{
  AdwApplicationWindow parent_instance;

  AdwViewStack         *stack;
  AdwHeaderBar         *header_bar;
  AdwViewSwitcherTitle *switcher_title;
  AdwToastOverlay      *toast_overlay;
  GtkMenuButton        *primary_menu_button;
  CandorStoryView      *story_view;
  CandorIllustrationsView *illustrations_view;

  /* The story view's document, followed for the title and autosave. */
  CandorDocument       *document;
  guint                 autosave_id;      /* the pending autosave, 0: none */
  gint64                unsaved_since;    /* monotonic µs of the first change not autosaved */
  gboolean              close_confirmed;  /* the author chose to close, saved or not */
  gboolean              autosaving;       /* an autosave is being written */
  gboolean              autosave_again;   /* changes came in while it was */
};

/* An autosave follows a pause in editing, and comes at least this often while the
 * author keeps writing. */
#define AUTOSAVE_PAUSE_MS 3000
#define AUTOSAVE_MAX_MS   30000

G_DEFINE_FINAL_TYPE (CandorWindow, candor_window, ADW_TYPE_APPLICATION_WINDOW)

static void set_document (CandorWindow   *self,
                          CandorDocument *document);

/* A new window opens at the size of the last one closed. */
CandorWindow *
candor_window_new (CandorApplication *application)
{
  CandorWindow *self = g_object_new (CANDOR_TYPE_WINDOW, "application", application, NULL);
  GSettings *settings = candor_application_get_settings (application);

  gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  /* The colour toggle (menu, status bar) is the setting itself. */
  {
    g_autoptr(GAction) color = g_settings_create_action (settings, "color-by-origin");
    g_action_map_add_action (G_ACTION_MAP (self), color);
  }
  candor_story_view_set_application (self->story_view, application);
  candor_illustrations_view_set_application (self->illustrations_view, application);
  candor_illustrations_view_set_story_view (self->illustrations_view, self->story_view);
  {
    g_autoptr(CandorDocument) document = candor_document_new ();
    set_document (self, document);
  }
  return self;
}

/* Returns: (transfer none): the Story view */
CandorStoryView *
candor_window_get_story_view (CandorWindow *self)
{
  g_return_val_if_fail (CANDOR_IS_WINDOW (self), NULL);
  return self->story_view;
}

/* Returns: the name of the view shown: "story" or "illustrations" */
const char *
candor_window_get_visible_view (CandorWindow *self)
{
  g_return_val_if_fail (CANDOR_IS_WINDOW (self), NULL);
  return adw_view_stack_get_visible_child_name (self->stack);
}

void
candor_window_show_view (CandorWindow *self,
                         const char   *name)
{
  g_return_if_fail (CANDOR_IS_WINDOW (self));
  g_return_if_fail (adw_view_stack_get_child_by_name (self->stack, name) != NULL);
  adw_view_stack_set_visible_child_name (self->stack, name);
}

static void
show_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  CandorWindow *self = CANDOR_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  if (adw_view_stack_get_child_by_name (self->stack, name) != NULL)
    candor_window_show_view (self, name);
}

static void
show_toast (CandorWindow *self,
            const char   *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Errors that stop what the author asked for are a dialog: they need reading. */
static void
show_error (CandorWindow *self,
            const char   *heading,
            const char   *message)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static char *
dup_story_name (CandorDocument *document)
{
  GFile *file = candor_document_get_file (document);

  return file != NULL ? g_file_get_basename (file) : g_strdup (_("Untitled Story"));
}

/* The title is the story's name, with a dot before it while there are unsaved changes
 * (as GNOME Text Editor shows them); the subtitle is its folder. */
static void
update_title (CandorWindow *self)
{
  GFile *file = candor_document_get_file (self->document);
  g_autofree char *name = dup_story_name (self->document);
  g_autofree char *title = NULL;
  g_autofree char *window_title = NULL;
  g_autofree char *folder = NULL;

  if (candor_document_get_modified (self->document))
    title = g_strconcat ("• ", name, NULL);
  else
    title = g_strdup (name);

  if (file != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (file);
      g_autoptr(GFile) home = g_file_new_for_path (g_get_home_dir ());
      g_autofree char *relative = parent != NULL ? g_file_get_relative_path (home, parent) : NULL;

      if (parent != NULL && g_file_equal (parent, home))
        folder = g_strdup ("~");
      else if (relative != NULL)
        folder = g_build_filename ("~", relative, NULL);
      else if (parent != NULL)
        folder = g_file_get_parse_name (parent);
    }
  else
    folder = g_strdup (_("Draft"));

  adw_view_switcher_title_set_title (self->switcher_title, title);
  adw_view_switcher_title_set_subtitle (self->switcher_title, folder);
  /* Translators: the window title: the story's name, then the application's. */
  window_title = g_strdup_printf (_("%s — Candor"), title);
  gtk_window_set_title (GTK_WINDOW (self), window_title);
}

static void document_changed_cb (CandorWindow *self);

static void
autosave_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(CandorWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->autosaving = FALSE;
  /* A window gone (disposed: no document) has no one to tell. */
  if (!candor_document_autosave_finish (CANDOR_DOCUMENT (source), result, &error) &&
      self->document != NULL)
    {
      g_autofree char *title = g_strdup_printf (_("The story could not be autosaved: %s"),
                                                error->message);
      show_toast (self, title);
    }
  /* Changes made while it was written get their own autosave. */
  if (self->autosave_again && self->document == CANDOR_DOCUMENT (source))
    document_changed_cb (self);
  self->autosave_again = FALSE;
}

static gboolean
autosave_cb (gpointer user_data)
{
  CandorWindow *self = user_data;

  self->autosave_id = 0;
  if (!candor_document_get_modified (self->document))
    {
      self->unsaved_since = 0;
      return G_SOURCE_REMOVE;
    }
  /* One at a time, so an older copy never lands after a newer one; the changes waiting
   * keep their age, so the next one still comes within AUTOSAVE_MAX_MS of them. */
  if (self->autosaving)
    {
      self->autosave_again = TRUE;
      return G_SOURCE_REMOVE;
    }
  self->unsaved_since = 0;
  self->autosaving = TRUE;
  candor_document_autosave_async (self->document, NULL, autosave_done_cb, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

/* Each change puts the autosave off until a pause, but never more than
 * AUTOSAVE_MAX_MS after the first change it has not saved. */
static void
document_changed_cb (CandorWindow *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 left;

  if (self->unsaved_since == 0)
    self->unsaved_since = now;
  left = AUTOSAVE_MAX_MS - (now - self->unsaved_since) / 1000;
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  self->autosave_id = g_timeout_add ((guint) CLAMP (left, 0, AUTOSAVE_PAUSE_MS), autosave_cb, self);
}

static void
set_document (CandorWindow   *self,
              CandorDocument *document)
{
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  self->unsaved_since = 0;
  /* The view lets go of the old document while this window still holds it. */
  candor_story_view_set_document (self->story_view, document);
  candor_illustrations_view_set_document (self->illustrations_view, document);
  g_set_object (&self->document, document);

  g_signal_connect_swapped (document, "notify::modified", G_CALLBACK (update_title), self);
  g_signal_connect_swapped (document, "notify::file", G_CALLBACK (update_title), self);
  g_signal_connect_swapped (document, "changed", G_CALLBACK (document_changed_cb), self);
  update_title (self);
}

/* A new window's story, still empty and untouched, gives way to the one opened. */
static gboolean
is_empty_draft (CandorDocument *document)
{
  return candor_document_get_file (document) == NULL && !candor_document_get_modified (document)
         && gtk_text_buffer_get_char_count (candor_document_get_buffer (document)) == 0;
}

/* Shows @document here if this window holds an empty draft, else in a new window. */
static CandorWindow *
show_document (CandorWindow   *self,
               CandorDocument *document)
{
  CandorWindow *window = self;

  if (!is_empty_draft (self->document))
    {
      GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

      window = candor_window_new (CANDOR_APPLICATION (app));
    }
  set_document (window, document);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static CandorWindow *
find_window_for_file (CandorWindow *self,
                      GFile        *file)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  for (GList *l = app != NULL ? gtk_application_get_windows (app) : NULL; l != NULL; l = l->next)
    {
      GFile *shown;

      if (!CANDOR_IS_WINDOW (l->data))
        continue;
      shown = candor_document_get_file (CANDOR_WINDOW (l->data)->document);
      if (shown != NULL && g_file_equal (shown, file))
        return l->data;
    }
  return NULL;
}

/* Returns: (transfer none) (nullable): the window showing @file, or NULL when it could
 * not be read (a dialog says why; no document changes). */
CandorWindow *
candor_window_open_file (CandorWindow *self,
                         GFile        *file)
{
  g_autoptr(CandorDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  CandorWindow *window;

  g_return_val_if_fail (CANDOR_IS_WINDOW (self), NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  /* A story open already is shown, with its unsaved changes, not read again. */
  window = find_window_for_file (self, file);
  if (window != NULL)
    {
      gtk_window_present (GTK_WINDOW (window));
      return window;
    }

  document = candor_document_load (file, &error);
  if (document == NULL)
    {
      show_error (self, _("Could Not Open the Story"), error->message);
      return NULL;
    }
  return show_document (self, document);
}

/* Writes the story to @file atomically; from then on it is the story's file. */
gboolean
candor_window_save_to (CandorWindow  *self,
                       GFile         *file,
                       GError       **error)
{
  g_return_val_if_fail (CANDOR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  return candor_document_save (self->document, file, error);
}

/* Writes the text to @file and its provenance to the sidecar beside it. */
gboolean
candor_window_export_to (CandorWindow  *self,
                         GFile         *file,
                         GError       **error)
{
  g_return_val_if_fail (CANDOR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  return candor_document_export (self->document, file, error);
}

static void
add_filter (GtkFileChooser *chooser,
            const char     *name,
            const char     *const *suffixes)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  for (guint i = 0; suffixes[i] != NULL; i++)
    gtk_file_filter_add_suffix (filter, suffixes[i]);
  gtk_file_chooser_add_filter (chooser, filter);
}

static void
open_response_cb (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  CandorWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      candor_window_open_file (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

/* The file choosers are native ones: under Flatpak they go through the portal. */
static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  CandorWindow *self = CANDOR_WINDOW (widget);
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_("Open Story"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (dialog), _("Stories and Text"),
              (const char *const[]) { "candor", "txt", "md", NULL });
  add_filter (GTK_FILE_CHOOSER (dialog), _("Candor Stories"),
              (const char *const[]) { "candor", NULL });
  add_filter (GTK_FILE_CHOOSER (dialog), _("Plain Text and Markdown"),
              (const char *const[]) { "txt", "md", NULL });
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static gboolean
close_idle_cb (gpointer user_data)
{
  gtk_window_close (GTK_WINDOW (user_data));
  return G_SOURCE_REMOVE;
}

/* Closes the window once the dialog that decided it has gone: a dialog still answering
 * must not outlive the window it belongs to. */
static void
close_when_answered (CandorWindow *self)
{
  self->close_confirmed = TRUE;
  g_idle_add_full (G_PRIORITY_DEFAULT, close_idle_cb, g_object_ref (self), g_object_unref);
}

/* Saving on the way out (the close dialog's Save) closes the window once saved. */
static void
saved_then_close (CandorWindow *self,
                  GFile        *file,
                  gboolean      close_after)
{
  g_autoptr(GError) error = NULL;

  if (!candor_window_save_to (self, file, &error))
    show_error (self, _("Could Not Save the Story"), error->message);
  else if (close_after)
    close_when_answered (self);
}

static void
save_as_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  CandorWindow *self = user_data;
  gboolean close_after = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "close-after"));

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      saved_then_close (self, file, close_after);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
save_as (CandorWindow *self,
         gboolean      close_after)
{
  GtkFileChooserNative *dialog;
  GFile *file = candor_document_get_file (self->document);

  dialog = gtk_file_chooser_native_new (_("Save Story"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (dialog), _("Candor Stories"),
              (const char *const[]) { "candor", NULL });
  if (file != NULL)
    gtk_file_chooser_set_file (GTK_FILE_CHOOSER (dialog), file, NULL);
  else
    {
      g_autofree char *name = g_strconcat (_("Untitled Story"), ".candor", NULL);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_object_set_data (G_OBJECT (dialog), "close-after", GINT_TO_POINTER (close_after));
  g_signal_connect (dialog, "response", G_CALLBACK (save_as_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
save_as_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  save_as (CANDOR_WINDOW (widget), FALSE);
}

/* A story without a file of its own (new, or imported from text) asks where. */
static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  CandorWindow *self = CANDOR_WINDOW (widget);
  GFile *file = candor_document_get_file (self->document);

  if (file == NULL)
    save_as (self, FALSE);
  else
    saved_then_close (self, file, FALSE);
}

static void
export_response_cb (GtkNativeDialog *dialog,
                    int              response,
                    gpointer         user_data)
{
  CandorWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GFile) sidecar = candor_document_get_sidecar_file (file);
      g_autoptr(GError) error = NULL;

      if (!candor_window_export_to (self, file, &error))
        show_error (self, _("Could Not Export the Story"), error->message);
      else
        {
          g_autofree char *name = g_file_get_basename (file);
          g_autofree char *sidecar_name = g_file_get_basename (sidecar);
          g_autofree char *title = NULL;

          /* Translators: the names of the exported text and of its provenance record. */
          title = g_strdup_printf (_("Exported “%s” and its provenance record “%s”"), name,
                                   sidecar_name);
          show_toast (self, title);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

/* The same text goes to Markdown or plain text: the author writes the markup. */
static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  CandorWindow *self = CANDOR_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autofree char *name = dup_story_name (self->document);
  g_autofree char *export_name = NULL;
  char *dot = strrchr (name, '.');

  if (candor_document_get_file (self->document) != NULL && dot != NULL && dot != name)
    *dot = '\0';
  export_name = g_strconcat (name, ".md", NULL);

  dialog = gtk_file_chooser_native_new (_("Export Story"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
                                        _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (dialog), _("Markdown"), (const char *const[]) { "md", NULL });
  add_filter (GTK_FILE_CHOOSER (dialog), _("Plain Text"), (const char *const[]) { "txt", NULL });
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), export_name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
save_changes_response_cb (AdwMessageDialog *dialog,
                          const char       *response,
                          gpointer          user_data)
{
  CandorWindow *self = user_data;
  GFile *file = candor_document_get_file (self->document);

  if (g_strcmp0 (response, "discard") == 0)
    close_when_answered (self);
  else if (g_strcmp0 (response, "save") == 0 && file != NULL)
    saved_then_close (self, file, TRUE);
  else if (g_strcmp0 (response, "save") == 0)
    save_as (self, TRUE);
  g_object_unref (self);
}

static void
ask_save_changes (CandorWindow *self)
{
  g_autofree char *name = dup_story_name (self->document);
  GtkWidget *dialog;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Save Changes?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” has unsaved changes. Changes which are not saved "
                                    "will be permanently lost."),
                                  name);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (save_changes_response_cb),
                    g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
recovery_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      gpointer          user_data)
{
  CandorWindow *self = user_data;
  GPtrArray *files = g_object_get_data (G_OBJECT (dialog), "files");

  /* Closing the dialog decides nothing: the stories are offered again next time. */
  for (guint i = 0; i < files->len; i++)
    {
      GFile *autosave = g_ptr_array_index (files, i);

      if (g_strcmp0 (response, "recover") == 0)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(CandorDocument) document = candor_document_recover (autosave, &error);

          if (document == NULL)
            show_error (self, _("Could Not Recover the Story"), error->message);
          else
            show_document (self, document);
        }
      else if (g_strcmp0 (response, "discard") == 0)
        g_file_delete (autosave, NULL, NULL);
    }
  g_object_unref (self);
}

gboolean
candor_window_offer_recovery (CandorWindow *self)
{
  g_autoptr(GPtrArray) files = NULL;
  GtkWidget *dialog;

  g_return_val_if_fail (CANDOR_IS_WINDOW (self), FALSE);

  files = candor_document_list_recoverable ();
  if (files->len == 0)
    return FALSE;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Recover Unsaved Stories?"), NULL);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (dialog),
                               _("Candor closed before every story was saved. The unsaved "
                                 "stories can be restored as they were last autosaved."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "discard", _("_Discard"),
                                    "recover", _("_Recover"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "recover",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "recover");
  g_object_set_data_full (G_OBJECT (dialog), "files", g_steal_pointer (&files),
                          (GDestroyNotify) g_ptr_array_unref);
  g_signal_connect (dialog, "response", G_CALLBACK (recovery_response_cb), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

static GSettings *settings_for (CandorWindow *self);

static void
open_model_response_cb (GtkNativeDialog *dialog,
                        int              response,
                        gpointer         user_data)
{
  CandorWindow *self = user_data;
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  const char *setting = g_object_get_data (G_OBJECT (dialog), "setting");

  if (response == GTK_RESPONSE_ACCEPT && app != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      GSettings *settings = settings_for (self);
      g_autofree char *current = g_settings_get_string (settings, setting);

      /* A diffusers model is a folder: choosing its model_index.json chooses the folder. */
      if (path != NULL && g_str_has_suffix (path, G_DIR_SEPARATOR_S "model_index.json"))
        path[strlen (path) - strlen (G_DIR_SEPARATOR_S "model_index.json")] = '\0';

      /* The application loads the model the setting names; the same file chosen again
       * (changed on disk, or after an error) is loaded again. */
      if (path != NULL && g_strcmp0 (path, current) == 0)
        {
          if (g_str_equal (setting, "image-model-path"))
            candor_application_load_image_model (CANDOR_APPLICATION (app));
          else
            candor_application_load_text_model (CANDOR_APPLICATION (app));
        }
      else if (path != NULL)
        g_settings_set_string (settings, setting, path);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

/* Through the file chooser portal under Flatpak: the sandbox sees the chosen file.
 * Open Model… in the Illustrations view chooses the image model. */
static void
open_model_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CandorWindow *self = CANDOR_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  gboolean image = g_str_equal (action_name, "win.open-image-model") ||
                   g_str_equal (candor_window_get_visible_view (self), "illustrations");

  dialog = gtk_file_chooser_native_new (image ? _("Open Image Model") : _("Open Text Model"),
                                        GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Open"), _("_Cancel"));
  if (image)
    {
      gtk_file_filter_set_name (filter, _("Stable Diffusion Models (.safetensors, or a diffusers folder’s model_index.json)"));
      gtk_file_filter_add_suffix (filter, "safetensors");
      gtk_file_filter_add_pattern (filter, "model_index.json");
    }
  else
    {
      gtk_file_filter_set_name (filter, _("GGUF Language Models"));
      gtk_file_filter_add_suffix (filter, "gguf");
    }
  g_object_set_data (G_OBJECT (dialog), "setting",
                     (gpointer) (image ? "image-model-path" : "text-model-path"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_model_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static GSettings *
settings_for (CandorWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  return app != NULL ? candor_application_get_settings (CANDOR_APPLICATION (app)) : NULL;
}

/* The last window closed sets the size the next one opens with. */
static gboolean
candor_window_close_request (GtkWindow *window)
{
  CandorWindow *self = CANDOR_WINDOW (window);
  GSettings *settings = settings_for (self);

  if (candor_document_get_modified (self->document) && !self->close_confirmed)
    {
      ask_save_changes (self);
      return TRUE;
    }
  /* Saved or let go: no story to recover from its autosave any more. */
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  candor_document_discard_autosave (self->document);

  if (settings != NULL)
    {
      int width, height;
      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
      if (!gtk_window_is_maximized (window))
        {
          g_settings_set_int (settings, "window-width", width);
          g_settings_set_int (settings, "window-height", height);
        }
    }
  return GTK_WINDOW_CLASS (candor_window_parent_class)->close_request (window);
}

static void
candor_window_dispose (GObject *object)
{
  CandorWindow *self = CANDOR_WINDOW (object);

  /* A window destroyed without closing (the application ending) keeps the autosave. */
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (object), CANDOR_TYPE_WINDOW);

  G_OBJECT_CLASS (candor_window_parent_class)->dispose (object);
}

static void
candor_window_class_init (CandorWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = candor_window_dispose;
  window_class->close_request = candor_window_close_request;

  g_type_ensure (CANDOR_TYPE_STORY_VIEW);
  g_type_ensure (CANDOR_TYPE_ILLUSTRATIONS_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/candorapp/Candor/ui/candor-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, story_view);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, illustrations_view);

  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
  gtk_widget_class_install_action (widget_class, "win.open-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "win.open-image-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL, save_as_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
}

static void
candor_window_init (CandorWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
