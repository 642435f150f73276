/* candor-application.c — CandorApplication. */
#include "config.h"

#include <glib/gi18n.h>

#include "candor-application.h"
#include "candor-preferences-window.h"
#include "candor-window.h"

typedef enum
{
  MODEL_TEXT,
  MODEL_IMAGE,
  N_MODELS
} ModelKind;

/* One shared model: what is loaded, or why not, and the load under way. */
typedef struct
{
  GObject       *model;
  char          *error;
  gboolean       busy;
  double         progress;
  GCancellable  *cancellable;
} ModelSlot;

struct _CandorApplication
{
  AdwApplication parent_instance;

  GSettings     *settings;
  /* The graphics device is opened asynchronously at start-up (and again when the
   * preference changes); until then device is NULL and device_busy TRUE. */
  LoomDevice    *device;
  char          *device_error;
  gboolean       device_busy;
  GCancellable  *device_cancellable;
  /* The text and image models named by the "text-model-path" and "image-model-path"
   * settings, shared by every window and loaded on the device once it is open; each is
   * reloaded when its setting or the device changes. */
  ModelSlot      models[N_MODELS];
  /* Stories autosaved before a crash are offered once, in the first window. */
  gboolean       recovery_offered;
};

G_DEFINE_FINAL_TYPE (CandorApplication, candor_application, ADW_TYPE_APPLICATION)

enum
{
  PROP_0,
  PROP_DEVICE,
  PROP_DEVICE_ERROR,
  PROP_DEVICE_BUSY,
  PROP_TEXT_MODEL,
  PROP_TEXT_MODEL_ERROR,
  PROP_TEXT_MODEL_BUSY,
  PROP_TEXT_MODEL_PROGRESS,
  PROP_IMAGE_MODEL,
  PROP_IMAGE_MODEL_ERROR,
  PROP_IMAGE_MODEL_BUSY,
  PROP_IMAGE_MODEL_PROGRESS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef void      (*ModelLoadAsync)  (LoomDevice          *device,
                                      const char          *path,
                                      LoomProgressFunc     progress_func,
                                      gpointer             progress_data,
                                      GDestroyNotify       progress_destroy,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
typedef gpointer  (*ModelLoadFinish) (GAsyncResult        *result,
                                      GError             **error);

/* How each kind of model is named, loaded and announced. */
static const struct
{
  const char     *setting;
  const char     *needs_device;   /* translatable: "The … model needs a graphics device" */
  const char     *not_loaded;     /* for the log */
  ModelLoadAsync  load_async;
  ModelLoadFinish load_finish;
  guint           prop_model;     /* then _ERROR, _BUSY, _PROGRESS */
} model_kinds[N_MODELS] = {
  [MODEL_TEXT] = {
    "text-model-path", N_("The text model needs a graphics device"), "Text model not loaded",
    loom_text_model_load_async, (ModelLoadFinish) loom_text_model_load_finish, PROP_TEXT_MODEL,
  },
  [MODEL_IMAGE] = {
    "image-model-path", N_("The image model needs a graphics device"), "Image model not loaded",
    loom_image_model_load_async, (ModelLoadFinish) loom_image_model_load_finish, PROP_IMAGE_MODEL,
  },
};

CandorApplication *
candor_application_new (void)
{
  return g_object_new (CANDOR_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/candorapp/Candor",
                       NULL);
}

/* Returns: (transfer none): the application's settings */
GSettings *
candor_application_get_settings (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return self->settings;
}

/* Returns: (transfer none) (nullable): the graphics device, once it is open */
LoomDevice *
candor_application_get_device (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return self->device;
}

/* Returns: (nullable): why the device could not be opened, in words for the user */
const char *
candor_application_get_device_error (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return self->device_error;
}

gboolean
candor_application_get_device_busy (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), FALSE);
  return self->device_busy;
}

/* Returns: (transfer none) (nullable): the text model, once loaded */
LoomTextModel *
candor_application_get_text_model (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return (LoomTextModel *) self->models[MODEL_TEXT].model;
}

/* Returns: (nullable): why the text model could not be loaded, with the engine's words */
const char *
candor_application_get_text_model_error (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return self->models[MODEL_TEXT].error;
}

gboolean
candor_application_get_text_model_busy (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), FALSE);
  return self->models[MODEL_TEXT].busy;
}

/* Returns: the share of the model loaded, 0 to 1, while busy */
double
candor_application_get_text_model_progress (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), 0.0);
  return self->models[MODEL_TEXT].progress;
}

/* Returns: (transfer none) (nullable): the image model, once loaded */
LoomImageModel *
candor_application_get_image_model (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return (LoomImageModel *) self->models[MODEL_IMAGE].model;
}

const char *
candor_application_get_image_model_error (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), NULL);
  return self->models[MODEL_IMAGE].error;
}

gboolean
candor_application_get_image_model_busy (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), FALSE);
  return self->models[MODEL_IMAGE].busy;
}

double
candor_application_get_image_model_progress (CandorApplication *self)
{
  g_return_val_if_fail (CANDOR_IS_APPLICATION (self), 0.0);
  return self->models[MODEL_IMAGE].progress;
}

static gboolean
release_done_cb (gpointer data)
{
  g_application_release (G_APPLICATION (data));
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static gpointer
release_device_worker (gpointer data)
{
  gpointer *pair = data;

  g_object_unref (pair[0]);
  g_idle_add (release_done_cb, pair[1]);
  g_free (pair);
  return NULL;
}

/* Closing a device waits for the GPU, writes the pipeline cache and destroys the
 * device: not on the UI thread. The application stays alive until it is done. */
static void
release_device (CandorApplication *self,
                LoomDevice        *device)
{
  gpointer *pair = g_new (gpointer, 2);

  pair[0] = device;
  pair[1] = g_object_ref (self);
  g_application_hold (G_APPLICATION (self));
  g_thread_unref (g_thread_new ("candor-release-device", release_device_worker, pair));
}

static void
set_device_state (CandorApplication *self,
                  LoomDevice        *device,
                  const char        *error,
                  gboolean           busy)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->device != device)
    {
      LoomDevice *old = g_steal_pointer (&self->device);
      self->device = device != NULL ? g_object_ref (device) : NULL;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE]);
      /* Jobs may still hold it; if not, this is where it closes. */
      if (old != NULL)
        release_device (self, old);
    }
  if (g_strcmp0 (self->device_error, error) != 0)
    {
      g_free (self->device_error);
      self->device_error = g_strdup (error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE_ERROR]);
    }
  if (self->device_busy != busy)
    {
      self->device_busy = busy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE_BUSY]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
device_new_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(CandorApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = loom_device_new_finish (result, &error);

  g_application_release (G_APPLICATION (self));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (device == NULL)
    g_message ("No graphics device: %s", error->message);
  set_device_state (self, device, error != NULL ? error->message : NULL, FALSE);
}

/* Opens the device named in preferences (or LOOM_DEVICE, or the best one) without
 * blocking; the application stays alive until the driver has answered. */
static void
open_device (CandorApplication *self)
{
  g_autofree char *selector = g_settings_get_string (self->settings, "device");

  g_cancellable_cancel (self->device_cancellable);
  g_clear_object (&self->device_cancellable);
  self->device_cancellable = g_cancellable_new ();

  set_device_state (self, NULL, NULL, TRUE);
  g_application_hold (G_APPLICATION (self));
  /* The environment variable, meant for debugging, takes precedence. */
  loom_device_new_async (g_getenv ("LOOM_DEVICE") != NULL || *selector == '\0' ? NULL : selector,
                         self->device_cancellable, device_new_cb, g_object_ref (self));
}

static void
set_model_state (CandorApplication *self,
                 ModelKind          kind,
                 GObject           *model,
                 const char        *error,
                 gboolean           busy)
{
  ModelSlot *slot = &self->models[kind];
  guint prop = model_kinds[kind].prop_model;

  g_object_freeze_notify (G_OBJECT (self));
  if (g_set_object (&slot->model, model))
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
  if (g_strcmp0 (slot->error, error) != 0)
    {
      g_free (slot->error);
      slot->error = g_strdup (error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[prop + 1]);
    }
  if (slot->busy != busy)
    {
      slot->busy = busy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[prop + 2]);
    }
  if (busy && slot->progress != 0.0)
    {
      slot->progress = 0.0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[prop + 3]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/* A load in flight: the application, which model, and the load's cancellable, which
 * tells it from a newer load of the same model. */
typedef struct
{
  CandorApplication *self;
  ModelKind          kind;
  GCancellable      *cancellable;
} ModelLoad;

static void
model_load_clear (gpointer data)
{
  ModelLoad *load = data;

  g_object_unref (load->self);
  g_object_unref (load->cancellable);
}

/* The progress callback and the completion each hold a reference: the engine may call
 * either last. */
static void
model_load_unref (gpointer data)
{
  g_rc_box_release_full (data, model_load_clear);
}

/* A load superseded by a newer one (or stopped) no longer speaks for the model, even
 * when it finished before it was cancelled. */
static gboolean
model_load_is_current (ModelLoad *load)
{
  return load->self->models[load->kind].cancellable == load->cancellable;
}

static void
model_progress_cb (guint    done,
                   guint    total,
                   gpointer user_data)
{
  ModelLoad *load = user_data;

  if (!model_load_is_current (load))
    return;
  load->self->models[load->kind].progress = total > 0 ? (double) done / total : 0.0;
  g_object_notify_by_pspec (G_OBJECT (load->self),
                            properties[model_kinds[load->kind].prop_model + 3]);
}

static void
model_load_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ModelLoad *load = user_data;
  CandorApplication *self = load->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) model = model_kinds[load->kind].load_finish (result, &error);

  g_application_release (G_APPLICATION (self));
  if (model_load_is_current (load) && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (model == NULL)
        g_message ("%s: %s", model_kinds[load->kind].not_loaded, error->message);
      set_model_state (self, load->kind, model, error != NULL ? error->message : NULL, FALSE);
    }
  model_load_unref (load);
}

/* Loads the model the setting names onto the open device (again), without blocking;
 * with no path set, or no device, there is no model (and with no device, an error says
 * why). */
static void
load_model (CandorApplication *self,
            ModelKind          kind)
{
  ModelSlot *slot = &self->models[kind];
  g_autofree char *path = g_settings_get_string (self->settings, model_kinds[kind].setting);
  ModelLoad *load;

  g_cancellable_cancel (slot->cancellable);
  g_clear_object (&slot->cancellable);

  if (*path == '\0')
    {
      set_model_state (self, kind, NULL, NULL, FALSE);
      return;
    }
  if (self->device == NULL)
    {
      g_autofree char *error = NULL;
      /* Loading starts when the device opens (notify::device). */
      if (!self->device_busy)
        error = g_strdup_printf ("%s: %s", _(model_kinds[kind].needs_device),
                                 self->device_error != NULL ? self->device_error : "");
      set_model_state (self, kind, NULL, error, self->device_busy);
      return;
    }

  slot->cancellable = g_cancellable_new ();
  set_model_state (self, kind, NULL, NULL, TRUE);
  g_application_hold (G_APPLICATION (self));
  load = g_rc_box_new0 (ModelLoad);
  load->self = g_object_ref (self);
  load->kind = kind;
  load->cancellable = g_object_ref (slot->cancellable);
  model_kinds[kind].load_async (self->device, path, model_progress_cb, g_rc_box_acquire (load),
                                model_load_unref,
                                slot->cancellable, model_load_cb, load);
}

void
candor_application_load_text_model (CandorApplication *self)
{
  g_return_if_fail (CANDOR_IS_APPLICATION (self));

  load_model (self, MODEL_TEXT);
}

void
candor_application_load_image_model (CandorApplication *self)
{
  g_return_if_fail (CANDOR_IS_APPLICATION (self));

  load_model (self, MODEL_IMAGE);
}

static void
load_models (CandorApplication *self)
{
  for (guint kind = 0; kind < N_MODELS; kind++)
    load_model (self, kind);
}

static void
device_setting_changed_cb (CandorApplication *self)
{
  open_device (self);
}

static void
color_scheme_changed_cb (CandorApplication *self)
{
  static const AdwColorScheme schemes[] = {
    ADW_COLOR_SCHEME_DEFAULT, ADW_COLOR_SCHEME_FORCE_LIGHT, ADW_COLOR_SCHEME_FORCE_DARK,
  };
  guint scheme = (guint) g_settings_get_enum (self->settings, "color-scheme");

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      schemes[MIN (scheme, G_N_ELEMENTS (schemes) - 1)]);
}

static void
new_window_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  CandorApplication *self = user_data;

  gtk_window_present (GTK_WINDOW (candor_window_new (self)));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  CandorApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  gtk_window_present (GTK_WINDOW (candor_preferences_window_new (self, parent)));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  CandorApplication *self = user_data;
  static const char *developers[] = { "The Candor developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  AdwAboutWindow *about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  g_autofree char *debug_info = NULL;

  if (self->device != NULL)
    {
      LoomDeviceInfo *info = loom_device_get_info (self->device);
      g_autofree char *api = loom_device_info_dup_api_version (info);
      debug_info = g_strdup_printf ("Graphics device: %s\nType: %s\nDriver: %s (%s)\nVulkan: %s\n",
                                    loom_device_info_get_name (info),
                                    loom_device_kind_to_string (loom_device_info_get_kind (info)),
                                    loom_device_info_get_driver_name (info),
                                    loom_device_info_get_driver_info (info), api);
    }
  else
    debug_info = g_strdup_printf ("Graphics device: %s\n",
                                  self->device_error != NULL ? self->device_error : "not open");

  gtk_window_set_transient_for (GTK_WINDOW (about), parent);
  g_object_set (about,
                "application-name", _("Candor"),
                "application-icon", APP_ID,
                "developer-name", _("The Candor developers"),
                "version", PACKAGE_VERSION,
                "website", PACKAGE_URL,
                "issue-url", PACKAGE_BUGREPORT,
                "comments", _("Write and illustrate stories with AI models on your own computer, "
                              "and keep an honest record of who made what."),
                "license-type", GTK_LICENSE_GPL_3_0,
                "copyright", "© 2026 The Candor developers",
                "developers", developers,
                /* Translators: Replace "translator-credits" with your name and email. */
                "translator-credits", _("translator-credits"),
                "debug-info", debug_info,
                NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  CandorApplication *self = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Each window decides in its close-request whether it may close. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
}

static void
retry_device_action (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  open_device (CANDOR_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { "new-window", new_window_action },
  { "preferences", preferences_action },
  { "about", about_action },
  { "quit", quit_action },
  { "retry-device", retry_device_action },
};

static void
candor_application_startup (GApplication *application)
{
  CandorApplication *self = CANDOR_APPLICATION (application);
  GtkApplication *gtk_app = GTK_APPLICATION (application);

  G_APPLICATION_CLASS (candor_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (gtk_app, "app.new-window",
                                         (const char *[]) { "<Control>n", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.open",
                                         (const char *[]) { "<Control>o", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.save",
                                         (const char *[]) { "<Control>s", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.save-as",
                                         (const char *[]) { "<Control><Shift>s", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.export",
                                         (const char *[]) { "<Control>e", NULL });
  gtk_application_set_accels_for_action (gtk_app, "app.preferences",
                                         (const char *[]) { "<Control>comma", NULL });
  gtk_application_set_accels_for_action (gtk_app, "app.quit",
                                         (const char *[]) { "<Control>q", NULL });
  gtk_application_set_accels_for_action (gtk_app, "window.close",
                                         (const char *[]) { "<Control>w", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.show-view::story",
                                         (const char *[]) { "<Alt>1", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.show-view::illustrations",
                                         (const char *[]) { "<Alt>2", NULL });

  self->settings = g_settings_new (APP_ID);
  g_signal_connect_object (self->settings, "changed::color-scheme",
                           G_CALLBACK (color_scheme_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::device",
                           G_CALLBACK (device_setting_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::text-model-path",
                           G_CALLBACK (candor_application_load_text_model), self,
                           G_CONNECT_SWAPPED);
  /* A model lives on one device: a new device (or none) means loading it again. Every
   * device change ends with device-busy turning FALSE. */
  g_signal_connect_object (self->settings, "changed::image-model-path",
                           G_CALLBACK (candor_application_load_image_model), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect (self, "notify::device-busy", G_CALLBACK (load_models), NULL);
  color_scheme_changed_cb (self);

  open_device (self);
}

/* Returns: (transfer none): the most recently focused document window, or a new one
 * (the first offers the stories a crash left unsaved). */
static CandorWindow *
ensure_window (CandorApplication *self)
{
  CandorWindow *window;

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (CANDOR_IS_WINDOW (l->data))
      return l->data;

  window = candor_window_new (self);
  gtk_window_present (GTK_WINDOW (window));
  if (!self->recovery_offered)
    {
      self->recovery_offered = TRUE;
      candor_window_offer_recovery (window);
    }
  return window;
}

static void
candor_application_activate (GApplication *application)
{
  gtk_window_present (GTK_WINDOW (ensure_window (CANDOR_APPLICATION (application))));
}

/* Files from the command line (or the file manager) open as Open… opens them. */
static void
candor_application_open (GApplication  *application,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  CandorWindow *window = ensure_window (CANDOR_APPLICATION (application));

  for (int i = 0; i < n_files; i++)
    candor_window_open_file (window, files[i]);
}

static void
candor_application_shutdown (GApplication *application)
{
  CandorApplication *self = CANDOR_APPLICATION (application);

  g_cancellable_cancel (self->device_cancellable);
  for (guint kind = 0; kind < N_MODELS; kind++)
    g_cancellable_cancel (self->models[kind].cancellable);
  G_APPLICATION_CLASS (candor_application_parent_class)->shutdown (application);
}

static void
candor_application_dispose (GObject *object)
{
  CandorApplication *self = CANDOR_APPLICATION (object);

  g_cancellable_cancel (self->device_cancellable);
  g_clear_object (&self->device_cancellable);
  for (guint kind = 0; kind < N_MODELS; kind++)
    {
      g_cancellable_cancel (self->models[kind].cancellable);
      g_clear_object (&self->models[kind].cancellable);
      g_clear_object (&self->models[kind].model);
    }
  g_clear_object (&self->device);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (candor_application_parent_class)->dispose (object);
}

static void
candor_application_finalize (GObject *object)
{
  CandorApplication *self = CANDOR_APPLICATION (object);

  g_free (self->device_error);
  for (guint kind = 0; kind < N_MODELS; kind++)
    g_free (self->models[kind].error);

  G_OBJECT_CLASS (candor_application_parent_class)->finalize (object);
}

static void
candor_application_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  CandorApplication *self = CANDOR_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_DEVICE:
      g_value_set_object (value, self->device);
      break;
    case PROP_DEVICE_ERROR:
      g_value_set_string (value, self->device_error);
      break;
    case PROP_DEVICE_BUSY:
      g_value_set_boolean (value, self->device_busy);
      break;
    case PROP_TEXT_MODEL:
    case PROP_IMAGE_MODEL:
      g_value_set_object (value, self->models[prop_id == PROP_TEXT_MODEL ? MODEL_TEXT : MODEL_IMAGE].model);
      break;
    case PROP_TEXT_MODEL_ERROR:
    case PROP_IMAGE_MODEL_ERROR:
      g_value_set_string (value, self->models[prop_id == PROP_TEXT_MODEL_ERROR ? MODEL_TEXT : MODEL_IMAGE].error);
      break;
    case PROP_TEXT_MODEL_BUSY:
    case PROP_IMAGE_MODEL_BUSY:
      g_value_set_boolean (value, self->models[prop_id == PROP_TEXT_MODEL_BUSY ? MODEL_TEXT : MODEL_IMAGE].busy);
      break;
    case PROP_TEXT_MODEL_PROGRESS:
    case PROP_IMAGE_MODEL_PROGRESS:
      g_value_set_double (value, self->models[prop_id == PROP_TEXT_MODEL_PROGRESS ? MODEL_TEXT : MODEL_IMAGE].progress);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_application_class_init (CandorApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = candor_application_dispose;
  object_class->finalize = candor_application_finalize;
  object_class->get_property = candor_application_get_property;
  app_class->startup = candor_application_startup;
  app_class->activate = candor_application_activate;
  app_class->open = candor_application_open;
  app_class->shutdown = candor_application_shutdown;

  properties[PROP_DEVICE] =
    g_param_spec_object ("device", NULL, NULL, LOOM_TYPE_DEVICE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICE_ERROR] =
    g_param_spec_string ("device-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICE_BUSY] =
    g_param_spec_boolean ("device-busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT_MODEL] =
    g_param_spec_object ("text-model", NULL, NULL, LOOM_TYPE_TEXT_MODEL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT_MODEL_ERROR] =
    g_param_spec_string ("text-model-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT_MODEL_BUSY] =
    g_param_spec_boolean ("text-model-busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT_MODEL_PROGRESS] =
    g_param_spec_double ("text-model-progress", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAGE_MODEL] =
    g_param_spec_object ("image-model", NULL, NULL, LOOM_TYPE_IMAGE_MODEL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAGE_MODEL_ERROR] =
    g_param_spec_string ("image-model-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAGE_MODEL_BUSY] =
    g_param_spec_boolean ("image-model-busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAGE_MODEL_PROGRESS] =
    g_param_spec_double ("image-model-progress", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
candor_application_init (CandorApplication *self)
{
}
