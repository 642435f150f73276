/* loom-worker.h — the thread that owns a device's queue and runs its jobs in order.
 *
 * Jobs are GTasks: the worker calls the job's function with the task's source object,
 * task data and cancellable, and the function returns the task exactly once. The
 * function checks the cancellable before each step, the first included, so a job
 * cancelled while it waited returns G_IO_ERROR_CANCELLED at once. The worker's reference
 * to a finished task is dropped on the task's context, so whatever the task keeps alive
 * (its device above all) is finalized there, not on the worker.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

LoomWorker *loom_worker_new               (const char      *name);
void        loom_worker_push              (LoomWorker      *self,
                                           GTask           *task,
                                           GTaskThreadFunc  func);
gboolean    loom_worker_is_current_thread (LoomWorker      *self);
void        loom_worker_stop              (LoomWorker      *self);
void        loom_worker_unref             (LoomWorker      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomWorker, loom_worker_unref)

G_END_DECLS
