/* candor-preferences-window.c — CandorPreferencesWindow. */
#include "config.h"

#include <glib/gi18n.h>

#include "candor-application.h"
#include "candor-preferences-window.h"

struct _CandorPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  CandorApplication   *application;    /* owned */
  GPtrArray           *devices;        /* of LoomDeviceInfo, once enumerated */
  gboolean             syncing_device; /* updating device_row from the setting */
  GCancellable        *cancellable;    /* enumeration and device check; cancelled on dispose */
  GCancellable        *check_cancellable;

  AdwComboRow         *style_row;
  AdwComboRow         *device_row;
  GtkStringList       *device_names;
  AdwActionRow        *check_row;
  GtkProgressBar      *check_progress;
  GtkStack            *check_buttons;
  AdwActionRow        *model_row;
  AdwActionRow        *image_model_row;
  AdwComboRow         *mode_row;
  GtkAdjustment       *pause_adjustment;
  GtkAdjustment       *length_adjustment;
  GtkAdjustment       *alternatives_adjustment;
  GtkAdjustment       *temperature_adjustment;
  GtkAdjustment       *top_p_adjustment;
  GtkSwitch           *color_switch;
};

G_DEFINE_FINAL_TYPE (CandorPreferencesWindow, candor_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

/* Style: settings "color-scheme" (an enum nick) ↔ the combo row's position. */
static const char *color_schemes[] = { "default", "light", "dark" };

static gboolean
style_get_mapping (GValue   *value,
                   GVariant *variant,
                   gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (color_schemes); i++)
    if (g_strcmp0 (nick, color_schemes[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
style_set_mapping (const GValue       *value,
                   const GVariantType *expected_type,
                   gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return g_variant_new_string (color_schemes[MIN (i, G_N_ELEMENTS (color_schemes) - 1)]);
}

/* Suggestion mode: the setting's enum nick ↔ the combo row's position. */
static const char *suggestion_modes[] = { "automatic", "on-demand" };

static gboolean
mode_get_mapping (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (suggestion_modes); i++)
    if (g_strcmp0 (nick, suggestion_modes[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
mode_set_mapping (const GValue       *value,
                  const GVariantType *expected_type,
                  gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return g_variant_new_string (suggestion_modes[MIN (i, G_N_ELEMENTS (suggestion_modes) - 1)]);
}

static void
sync_model_rows (CandorPreferencesWindow *self)
{
  GSettings *settings = candor_application_get_settings (self->application);
  g_autofree char *path = g_settings_get_string (settings, "text-model-path");
  g_autofree char *image_path = g_settings_get_string (settings, "image-model-path");

  adw_action_row_set_subtitle (self->model_row,
                               *path != '\0' ? path : _("None: choose one with Open Model… in the main menu"));
  adw_action_row_set_subtitle (self->image_model_row,
                               *image_path != '\0' ? image_path
                                                   : _("None: choose one with Open Model… in the Illustrations view"));
}

/* Device: position 0 is “Automatic” (setting ""), then one row per enumerated device,
 * stored by name so the choice survives devices being added or reordered. */
static void
sync_device_row (CandorPreferencesWindow *self)
{
  GSettings *settings = candor_application_get_settings (self->application);
  g_autofree char *chosen = g_settings_get_string (settings, "device");
  guint position = 0;

  self->syncing_device = TRUE;
  while (g_list_model_get_n_items (G_LIST_MODEL (self->device_names)) > 0)
    gtk_string_list_remove (self->device_names, 0);

  gtk_string_list_append (self->device_names, _("Automatic"));
  for (guint i = 0; self->devices != NULL && i < self->devices->len; i++)
    {
      LoomDeviceInfo *info = g_ptr_array_index (self->devices, i);
      gtk_string_list_append (self->device_names, loom_device_info_get_name (info));
      if (g_strcmp0 (chosen, loom_device_info_get_name (info)) == 0)
        position = i + 1;
    }
  if (*chosen != '\0' && position == 0)
    {
      /* Translators: %s is the name of a graphics device that is not present now. */
      g_autofree char *missing = g_strdup_printf (_("%s (not found)"), chosen);
      gtk_string_list_append (self->device_names, missing);
      position = g_list_model_get_n_items (G_LIST_MODEL (self->device_names)) - 1;
    }
  adw_combo_row_set_selected (self->device_row, position);
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_row), self->devices != NULL);
  self->syncing_device = FALSE;
}

static void
device_row_selected_cb (CandorPreferencesWindow *self)
{
  GSettings *settings = candor_application_get_settings (self->application);
  guint position = adw_combo_row_get_selected (self->device_row);
  const char *name = "";

  if (self->syncing_device || self->devices == NULL)
    return;
  if (position >= 1 && position <= self->devices->len)
    name = loom_device_info_get_name (g_ptr_array_index (self->devices, position - 1));
  else if (position != 0)
    return;  /* the missing device stays chosen until another is */
  g_settings_set_string (settings, "device", name);
}

static void
enumerate_worker (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *devices = loom_device_enumerate (&error);

  if (devices == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, devices, (GDestroyNotify) g_ptr_array_unref);
}

static void
enumerate_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(CandorPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *devices = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (devices == NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->device_row), error->message);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  self->devices = devices;
  sync_device_row (self);
}

/* Listing devices loads the Vulkan driver, which can take a while: off the UI thread. */
static void
enumerate_devices (CandorPreferencesWindow *self)
{
  g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, enumerate_cb, g_object_ref (self));

  g_task_set_source_tag (task, enumerate_devices);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, enumerate_worker);
}

static void
update_check_action (CandorPreferencesWindow *self)
{
  gboolean running = self->check_cancellable != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.check-device",
                                 !running && candor_application_get_device (self->application) != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.cancel-check", running);
  gtk_stack_set_visible_child_name (self->check_buttons, running ? "cancel" : "check");
  gtk_widget_set_visible (GTK_WIDGET (self->check_progress), running);
}

static void
check_progress_cb (guint    done,
                   guint    total,
                   gpointer user_data)
{
  CandorPreferencesWindow *self = user_data;

  gtk_progress_bar_set_fraction (self->check_progress, total > 0 ? (double) done / total : 0.0);
}

static void
check_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(CandorPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  g_application_release (G_APPLICATION (self->application));
  g_clear_object (&self->check_cancellable);
  if (loom_device_self_test_finish (LOOM_DEVICE (source), result, &error))
    adw_action_row_set_subtitle (self->check_row,
                                 _("Every operation matches the result computed on the processor."));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    adw_action_row_set_subtitle (self->check_row, _("The check was cancelled."));
  else
    adw_action_row_set_subtitle (self->check_row, error->message);
  update_check_action (self);
}

static void
check_device_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  CandorPreferencesWindow *self = CANDOR_PREFERENCES_WINDOW (widget);
  LoomDevice *device = candor_application_get_device (self->application);

  if (device == NULL || self->check_cancellable != NULL)
    return;

  self->check_cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (self->check_progress, 0.0);
  adw_action_row_set_subtitle (self->check_row, _("Checking…"));
  update_check_action (self);
  /* Quitting waits for the job: it cancels at the next op. */
  g_application_hold (G_APPLICATION (self->application));
  loom_device_self_test_async (device, check_progress_cb, g_object_ref (self), g_object_unref,
                               self->check_cancellable, check_done_cb, g_object_ref (self));
}

static void
cancel_check_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  CandorPreferencesWindow *self = CANDOR_PREFERENCES_WINDOW (widget);

  g_cancellable_cancel (self->check_cancellable);
}

/* The running jobs hold references to the window, so dispose would come only after
 * they end: cancel them when the window closes. */
static gboolean
candor_preferences_window_close_request (GtkWindow *window)
{
  CandorPreferencesWindow *self = CANDOR_PREFERENCES_WINDOW (window);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->check_cancellable);
  return GTK_WINDOW_CLASS (candor_preferences_window_parent_class)->close_request (window);
}

static void
candor_preferences_window_dispose (GObject *object)
{
  CandorPreferencesWindow *self = CANDOR_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->check_cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CANDOR_TYPE_PREFERENCES_WINDOW);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->check_cancellable);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (candor_preferences_window_parent_class)->dispose (object);
}

static void
candor_preferences_window_class_init (CandorPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = candor_preferences_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = candor_preferences_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/candorapp/Candor/ui/candor-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, style_row);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, device_names);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, check_row);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, check_progress);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, check_buttons);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, model_row);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, image_model_row);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, mode_row);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, pause_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, length_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow,
                                        alternatives_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow,
                                        temperature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, top_p_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorPreferencesWindow, color_switch);

  gtk_widget_class_install_action (widget_class, "prefs.check-device", NULL, check_device_action);
  gtk_widget_class_install_action (widget_class, "prefs.cancel-check", NULL, cancel_check_action);
}

static void
candor_preferences_window_init (CandorPreferencesWindow *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

CandorPreferencesWindow *
candor_preferences_window_new (CandorApplication *application,
                               GtkWindow         *parent)
{
  CandorPreferencesWindow *self = g_object_new (CANDOR_TYPE_PREFERENCES_WINDOW,
                                                "application", application,
                                                "transient-for", parent,
                                                NULL);
  GSettings *settings = candor_application_get_settings (application);

  self->application = g_object_ref (application);
  g_settings_bind_with_mapping (settings, "color-scheme", self->style_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, style_get_mapping, style_set_mapping,
                                NULL, NULL);
  g_signal_connect_object (settings, "changed::device", G_CALLBACK (sync_device_row), self,
                           G_CONNECT_SWAPPED);
  g_settings_bind_with_mapping (settings, "suggestion-mode", self->mode_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, mode_get_mapping, mode_set_mapping,
                                NULL, NULL);
  g_settings_bind (settings, "suggestion-pause", self->pause_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "suggestion-length", self->length_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "suggestion-alternatives", self->alternatives_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "suggestion-temperature", self->temperature_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "suggestion-top-p", self->top_p_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "color-by-origin", self->color_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (settings, "changed::text-model-path", G_CALLBACK (sync_model_rows),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::image-model-path", G_CALLBACK (sync_model_rows),
                           self, G_CONNECT_SWAPPED);
  sync_model_rows (self);
  g_signal_connect_object (self->device_row, "notify::selected",
                           G_CALLBACK (device_row_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::device", G_CALLBACK (update_check_action), self,
                           G_CONNECT_SWAPPED);

  sync_device_row (self);
  update_check_action (self);
  enumerate_devices (self);
  return self;
}
