/* loom-ops-matmul.c — f32 matrix products: matrix-vector for one row, tiled for batches. */
#include "config.h"

#include "loom-ops-private.h"
#include "vk/loom-device-private.h"

#define MATMUL_TILE 64  /* BM = BN of matmul_f32.comp */

void
loom_op_matvec (LoomCommand *cmd,
                LoomView     w,
                LoomView     x,
                LoomView     out,
                gsize        n,
                gsize        k)
{
  LoomPipelineDesc desc = {
    .shader = "matvec_f32",
    .n_bindings = 3,
    .push_size = sizeof (LoomMatvecPush),
    .n_spec = 1,
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize rows_per_dispatch;

  if (n == 0 || k == 0)
    return;
  if (k > window)
    {
      loom_ops_fail (cmd, "matvec", "rows of %" G_GSIZE_FORMAT " floats exceed one binding", k);
      return;
    }
  rows_per_dispatch = window / k;

  for (gsize first = 0; first < n; first += rows_per_dispatch)
    {
      gsize count = MIN (n - first, rows_per_dispatch);
      LoomBinding bindings[3];
      LoomMatvecPush push = { .n = (guint32) count, .k = (guint32) k };
      guint32 gx, gy;

      push.w_base = loom_ops_bind (cmd, &bindings[0], w, first * k, count * k, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.x_base = loom_ops_bind (cmd, &bindings[1], x, 0, k, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[2], out, first, count, sizeof (float),
                                     LOOM_ACCESS_WRITE);
      desc.spec[0] = (k | push.w_base | push.x_base) % 4 == 0;
      if (!loom_ops_fold_groups (cmd, count, &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

void
loom_op_matmul_tiled (LoomCommand *cmd,
                      LoomView     a,
                      LoomView     w,
                      LoomView     out,
                      gsize        m,
                      gsize        n,
                      gsize        k)
{
  static const LoomPipelineDesc desc = {
    .shader = "matmul_f32",
    .n_bindings = 3,
    .push_size = sizeof (LoomMatmulPush),
  };
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize m_step, n_step;

  if (m == 0 || n == 0 || k == 0)
    return;
  if (k > window || n > window)
    {
      loom_ops_fail (cmd, "matmul", "rows of %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                     " floats exceed one binding", n, k);
      return;
    }

  /* Split W by rows (columns of C) and A by rows so that every window fits; C's window
   * for a block spans m_step rows of stride n. Whole tiles per block where possible. */
  n_step = MIN (n, window / k);
  if (n_step > MATMUL_TILE)
    n_step -= n_step % MATMUL_TILE;
  m_step = MIN (m, MIN (window / k, window / n));
  if (m_step > MATMUL_TILE)
    m_step -= m_step % MATMUL_TILE;

  for (gsize m0 = 0; m0 < m; m0 += m_step)
    for (gsize n0 = 0; n0 < n; n0 += n_step)
      {
        gsize mc = MIN (m - m0, m_step);
        gsize nc = MIN (n - n0, n_step);
        gsize gx = (nc + MATMUL_TILE - 1) / MATMUL_TILE;
        gsize gy = (mc + MATMUL_TILE - 1) / MATMUL_TILE;
        LoomBinding bindings[3];
        LoomMatmulPush push = {
          .m = (guint32) mc,
          .n = (guint32) nc,
          .k = (guint32) k,
          .ldc = (guint32) n,
        };

        if (gx > info->max_workgroup_count[0] || gy > info->max_workgroup_count[1])
          {
            loom_ops_fail (cmd, "matmul", "%" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                           " is too large for the device's grid", m, n);
            return;
          }
        push.a_base = loom_ops_bind (cmd, &bindings[0], a, m0 * k, mc * k, sizeof (float),
                                     LOOM_ACCESS_READ);
        push.w_base = loom_ops_bind (cmd, &bindings[1], w, n0 * k, nc * k, sizeof (float),
                                     LOOM_ACCESS_READ);
        push.c_base = loom_ops_bind (cmd, &bindings[2], out, m0 * n + n0, (mc - 1) * n + nc,
                                     sizeof (float), LOOM_ACCESS_WRITE);
        loom_command_dispatch (cmd, &desc, bindings, &push, (guint32) gx, (guint32) gy, 1);
      }
}

void
loom_op_matmul (LoomCommand *cmd,
                LoomView     a,
                LoomView     w,
                LoomView     out,
                gsize        m,
                gsize        n,
                gsize        k)
{
  if (m == 1)
    loom_op_matvec (cmd, w, a, out, n, k);
  else
    loom_op_matmul_tiled (cmd, a, w, out, m, n, k);
}
