/* loom-device-self-test.c — check that a device computes every op correctly.
 *
 * Drivers have bugs, and a GPU that silently computes wrong numbers would produce
 * plausible garbage. The self-test runs each op once on small random inputs against its
 * CPU reference, as a job on the device's worker, reporting progress and stopping between
 * ops when cancelled.
 */
#include "config.h"

#include "formats/loom-tensor-type.h"
#include "loom-error.h"
#include "loom-op-case.h"
#include "runtime/loom-progress.h"
#include "vk/loom-device-private.h"

/* Odd sizes on purpose: none is a multiple of a workgroup. */
static const LoomOpCase self_test_cases[] = {
  { LOOM_OP_ADD, 1, 1000, 0, 3 },
  { LOOM_OP_MUL, 1, 1000, 0, 3 },
  { LOOM_OP_SCALE, 1, 1000, 0, 3 },
  { LOOM_OP_SILU, 1, 1000, 0, 3 },
  { LOOM_OP_GELU_TANH, 1, 1000, 0, 3 },
  { LOOM_OP_GELU_ERF, 1, 1000, 0, 3 },
  { LOOM_OP_SOFTMAX, 7, 301, 0, 3 },
  { LOOM_OP_RMS_NORM, 7, 301, 0, 3 },
  { LOOM_OP_MATVEC, 1, 131, 257, 3 },
  { LOOM_OP_MATVEC_ROWS, 1, 131, 257, 3 },
  { LOOM_OP_MATMUL_TILED, 67, 131, 257, 3 },
  { LOOM_OP_MATMUL_BLOCKED, 67, 131, 257, 3 },
  { .kind = LOOM_OP_CONV2D, .rows = 67, .cols = 19, .inner = 13, .width = 11, .offset = 3,
    .type = LOOM_TENSOR_F16, .kernel = 3, .stride = 1, .pad = 1, .bias = TRUE },
};

typedef struct
{
  LoomProgress *progress;  /* owned */
} SelfTestData;

static void
self_test_data_free (gpointer data)
{
  SelfTestData *self = data;

  g_clear_pointer (&self->progress, loom_progress_unref);
  g_free (self);
}

/* Runs on the device's worker thread. */
static void
self_test_worker (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  LoomDevice *device = source_object;
  SelfTestData *data = task_data;
  const guint total = G_N_ELEMENTS (self_test_cases);

  for (guint i = 0; i < total; i++)
    {
      g_autoptr(GError) error = NULL;
      LoomCheck check;

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        {
          loom_progress_finish (data->progress);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      if (!loom_op_case_run (device, &self_test_cases[i], 1000 + i, &check, &error))
        {
          loom_progress_finish (data->progress);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (!check.passed)
        {
          g_autofree char *what = loom_op_case_describe (&self_test_cases[i]);
          g_autofree char *how = loom_check_describe (&check);
          loom_progress_finish (data->progress);
          g_task_return_new_error (task, LOOM_ERROR, LOOM_ERROR_FAILED,
                                   "“%s” computes wrong results for %s (%s). Update its "
                                   "driver, or choose another device with LOOM_DEVICE.",
                                   loom_device_get_name (device), what, how);
          return;
        }
      loom_progress_update (data->progress, i + 1, total);
    }

  loom_progress_finish (data->progress);
  g_task_return_boolean (task, TRUE);
}

/**
 * loom_device_self_test_async:
 * @progress_func: (nullable): called on the caller's main context, coalesced
 * @progress_data: data for @progress_func
 * @progress_destroy: (nullable): frees @progress_data, on the caller's main context
 *
 * Runs every op once on the device and compares it with its CPU reference. The job
 * runs on the device's worker after any queued before it; cancelling stops it before
 * the next op.
 */
void
loom_device_self_test_async (LoomDevice         *self,
                             LoomProgressFunc    progress_func,
                             gpointer            progress_data,
                             GDestroyNotify      progress_destroy,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr(GTask) task = NULL;
  SelfTestData *data;

  g_return_if_fail (LOOM_IS_DEVICE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, loom_device_self_test_async);

  data = g_new0 (SelfTestData, 1);
  data->progress = loom_progress_new (g_task_get_context (task), progress_func, progress_data,
                                      progress_destroy);
  g_task_set_task_data (task, data, self_test_data_free);

  loom_device_run_in_worker (self, task, self_test_worker);
}

gboolean
loom_device_self_test_finish (LoomDevice   *self,
                              GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (LOOM_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == loom_device_self_test_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
