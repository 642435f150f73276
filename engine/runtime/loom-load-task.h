/* loom-load-task.h — loading a model as a job of the device's worker.
 *
 * Text and image models load the same way: a constructor that reads, checks and uploads
 * synchronously runs on the worker, with progress posted to the caller's main context
 * and the cancellable checked between chunks; the caller gets the GObject back.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

/* Loads @path synchronously; returns a new GObject or NULL with @error set. */
typedef gpointer (*LoomLoadFunc) (LoomDevice   *device,
                                  const char   *path,
                                  LoomProgress *progress,
                                  GCancellable *cancellable,
                                  GError      **error);

/* Runs @load on @device's worker; @source_tag identifies the task for the finish call. */
void     loom_load_task_run    (LoomDevice          *device,
                                const char          *path,
                                LoomLoadFunc         load,
                                gpointer             source_tag,
                                LoomProgressFunc     progress_func,
                                gpointer             progress_data,
                                GDestroyNotify       progress_destroy,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
gpointer loom_load_task_finish (GAsyncResult        *result,
                                gpointer             source_tag,
                                GError             **error);

G_END_DECLS
