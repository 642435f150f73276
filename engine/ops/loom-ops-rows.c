/* loom-ops-rows.c — ops that reduce along rows: softmax and RMSNorm. */
#include "config.h"

#include "loom-ops-private.h"

/* One workgroup per row; a dispatch covers as many whole rows as fit one window. */
static void
record_rows (LoomCommand *cmd,
             const char  *shader,
             LoomView     x,
             LoomView    *weight,
             LoomView     out,
             gsize        rows,
             gsize        cols,
             float        eps)
{
  const LoomPipelineDesc desc = {
    .shader = shader,
    .n_bindings = weight != NULL ? 3 : 2,
    .push_size = sizeof (LoomRowsPush),
  };
  gsize rows_per_dispatch;

  if (rows == 0 || cols == 0)
    return;
  /* Whole rows per dispatch, as many as one window holds. */
  if (!loom_ops_rows_per_window (cmd, shader, cols, &rows_per_dispatch))
    return;

  for (gsize first = 0; first < rows; first += rows_per_dispatch)
    {
      gsize count = MIN (rows - first, rows_per_dispatch);
      LoomBinding bindings[3];
      LoomRowsPush push = {
        .rows = (guint32) count,
        .cols = (guint32) cols,
        .eps = eps,
      };
      guint b = 0;
      guint32 gx, gy;

      push.x_base = loom_ops_bind (cmd, &bindings[b++], x, first * cols, count * cols,
                                   sizeof (float), LOOM_ACCESS_READ);
      if (weight != NULL)
        push.w_base = loom_ops_bind (cmd, &bindings[b++], *weight, 0, cols, sizeof (float),
                                     LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[b++], out, first * cols, count * cols,
                                     sizeof (float), LOOM_ACCESS_WRITE);
      if (!loom_ops_fold_groups (cmd, count, &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

void
loom_op_softmax_rows (LoomCommand *cmd,
                      LoomView     x,
                      LoomView     out,
                      gsize        rows,
                      gsize        cols)
{
  record_rows (cmd, "softmax", x, NULL, out, rows, cols, 0.0f);
}

void
loom_op_rms_norm (LoomCommand *cmd,
                  LoomView     x,
                  LoomView     weight,
                  LoomView     out,
                  gsize        rows,
                  gsize        cols,
                  float        eps)
{
  record_rows (cmd, "rms_norm", x, &weight, out, rows, cols, eps);
}
