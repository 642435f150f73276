/* candor-window.c — CandorWindow. */
#include "config.h"

#include "candor-application.h"
#include "candor-device-status.h"
#include "candor-window.h"

struct _CandorWindow
{
  AdwApplicationWindow parent_instance;

  AdwViewStack        *stack;
  AdwHeaderBar        *header_bar;
  GtkMenuButton       *primary_menu_button;
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
  return self;
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
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/candorapp/Candor/ui/candor-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, CandorWindow, primary_menu_button);

  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
}

static void
candor_window_init (CandorWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
