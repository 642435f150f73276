/* candor-device-status.c — CandorDeviceStatus follows the application's device state. */
#include "config.h"

#include <glib/gi18n.h>

#include "candor-application.h"
#include "candor-device-status.h"

struct _CandorDeviceStatus
{
  GtkWidget          parent_instance;

  CandorApplication *application;  /* owned */

  GtkStack          *icon_stack;
  GtkSpinner        *spinner;
  GtkLabel          *title_label;
  GtkLabel          *detail_label;
  GtkButton         *retry_button;
};

G_DEFINE_FINAL_TYPE (CandorDeviceStatus, candor_device_status, GTK_TYPE_WIDGET)

static const char *
describe_kind (LoomDeviceKind kind)
{
  switch (kind)
    {
    case LOOM_DEVICE_KIND_DISCRETE:
      return _("Graphics card");
    case LOOM_DEVICE_KIND_INTEGRATED:
      return _("Integrated graphics");
    case LOOM_DEVICE_KIND_VIRTUAL:
      return _("Virtual graphics device");
    case LOOM_DEVICE_KIND_CPU:
      return _("Processor, no graphics card (slow)");
    case LOOM_DEVICE_KIND_OTHER:
    default:
      return _("Vulkan device");
    }
}

static void
update (CandorDeviceStatus *self)
{
  LoomDevice *device = candor_application_get_device (self->application);
  const char *error = candor_application_get_device_error (self->application);
  gboolean busy = candor_application_get_device_busy (self->application);

  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), !busy && device == NULL);

  if (busy)
    {
      gtk_stack_set_visible_child_name (self->icon_stack, "busy");
      gtk_label_set_label (self->title_label, _("Preparing the graphics device…"));
      gtk_label_set_label (self->detail_label, "");
    }
  else if (device != NULL)
    {
      LoomDeviceInfo *info = loom_device_get_info (device);
      g_autofree char *title = g_strdup_printf (_("Running on %s"), loom_device_get_name (device));
      g_autofree char *api = loom_device_info_dup_api_version (info);
      g_autofree char *detail = NULL;
      /* Translators: the first %s is a kind of device, e.g. "Graphics card"; the
       * second a version number. */
      detail = g_strdup_printf (_("%s · Vulkan %s"),
                                describe_kind (loom_device_info_get_kind (info)), api);
      gtk_stack_set_visible_child_name (self->icon_stack, "ready");
      gtk_label_set_label (self->title_label, title);
      gtk_label_set_label (self->detail_label, detail);
    }
  else
    {
      gtk_stack_set_visible_child_name (self->icon_stack, "error");
      gtk_label_set_label (self->title_label, _("No graphics device"));
      gtk_label_set_label (self->detail_label, error != NULL ? error : "");
    }
  gtk_widget_set_visible (GTK_WIDGET (self->detail_label),
                          *gtk_label_get_label (self->detail_label) != '\0');
}

static void
candor_device_status_dispose (GObject *object)
{
  CandorDeviceStatus *self = CANDOR_DEVICE_STATUS (object);
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), CANDOR_TYPE_DEVICE_STATUS);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (candor_device_status_parent_class)->dispose (object);
}

static void
candor_device_status_class_init (CandorDeviceStatusClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = candor_device_status_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/candorapp/Candor/ui/candor-device-status.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorDeviceStatus, icon_stack);
  gtk_widget_class_bind_template_child (widget_class, CandorDeviceStatus, spinner);
  gtk_widget_class_bind_template_child (widget_class, CandorDeviceStatus, title_label);
  gtk_widget_class_bind_template_child (widget_class, CandorDeviceStatus, detail_label);
  gtk_widget_class_bind_template_child (widget_class, CandorDeviceStatus, retry_button);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "candordevicestatus");
}

static void
candor_device_status_init (CandorDeviceStatus *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* The widget lives in windows of the one application; it follows its device. */
  self->application = g_object_ref (CANDOR_APPLICATION (g_application_get_default ()));
  g_signal_connect_object (self->application, "notify::device", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->application, "notify::device-error", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->application, "notify::device-busy", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  update (self);
}
