/* loom-load-task.c — loading a model as a job of the device's worker. */
#include "config.h"

#include "runtime/loom-load-task.h"
#include "runtime/loom-progress.h"
#include "vk/loom-device-private.h"

typedef struct
{
  char         *path;
  LoomLoadFunc  load;
  LoomProgress *progress;
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *self = data;

  g_free (self->path);
  g_clear_pointer (&self->progress, loom_progress_unref);
  g_free (self);
}

/* Runs on the device's worker thread. */
static void
load_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  gpointer model = data->load (source_object, data->path, data->progress, cancellable, &error);

  loom_progress_finish (data->progress);
  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, g_object_unref);
}

void
loom_load_task_run (LoomDevice         *device,
                    const char         *path,
                    LoomLoadFunc        load,
                    gpointer            source_tag,
                    LoomProgressFunc    progress_func,
                    gpointer            progress_data,
                    GDestroyNotify      progress_destroy,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  task = g_task_new (device, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  data = g_new0 (LoadData, 1);
  data->path = g_strdup (path);
  data->load = load;
  data->progress = loom_progress_new (g_task_get_context (task), progress_func, progress_data,
                                      progress_destroy);
  g_task_set_task_data (task, data, load_data_free);
  loom_device_run_in_worker (device, task, load_worker);
}

gpointer
loom_load_task_finish (GAsyncResult *result,
                       gpointer      source_tag,
                       GError      **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
