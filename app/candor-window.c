/* candor-window.c — CandorWindow. */
#include "config.h"

#include <glib/gi18n.h>

#include "candor-application.h"
#include "candor-device-status.h"
#include "candor-document.h"
#include "candor-story-view.h"
#include "candor-window.h"

struct _CandorWindow
{
  AdwApplicationWindow parent_instance;

  AdwViewStack        *stack;
  AdwHeaderBar        *header_bar;
  GtkMenuButton       *primary_menu_button;
  CandorStoryView     *story_view;
};

G_DEFINE_FINAL_TYPE (CandorWindow, candor_window, ADW_TYPE_APPLICATION_WINDOW)

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
  {
    g_autoptr(CandorDocument) document = candor_document_new ();
    candor_story_view_set_document (self->story_view, document);
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

static GSettings *settings_for (CandorWindow *self);

static void
open_model_response_cb (GtkNativeDialog *dialog,
                        int              response,
                        gpointer         user_data)
{
  CandorWindow *self = user_data;
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (response == GTK_RESPONSE_ACCEPT && app != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      GSettings *settings = settings_for (self);
      g_autofree char *current = g_settings_get_string (settings, "text-model-path");

      /* The application loads the model the setting names; the same file chosen again
       * (changed on disk, or after an error) is loaded again. */
      if (path != NULL && g_strcmp0 (path, current) == 0)
        candor_application_load_text_model (CANDOR_APPLICATION (app));
      else if (path != NULL)
        g_settings_set_string (settings, "text-model-path", path);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

/* Through the file chooser portal under Flatpak: the sandbox sees the chosen file. */
static void
open_model_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CandorWindow *self = CANDOR_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Open Text Model"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("GGUF Language Models"));
  gtk_file_filter_add_suffix (filter, "gguf");
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
  GSettings *settings = settings_for (CANDOR_WINDOW (window));

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

  g_type_ensure (CANDOR_TYPE_DEVICE_STATUS);
  g_type_ensure (CANDOR_TYPE_STORY_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/candorapp/Candor/ui/candor-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, story_view);

  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
  gtk_widget_class_install_action (widget_class, "win.open-model", NULL, open_model_action);
}

static void
candor_window_init (CandorWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
