/* loom-ops-matmul.c — f32 matrix products.
 *
 * Two matrix-vector kernels (decoding one token) and two matrix-matrix kernels (prompt
 * batches): the GPU-shaped ones use workgroup reductions and shared-memory tiles, the
 * CPU-shaped ones (for lavapipe) neither. loom_op_matvec() and loom_op_matmul() pick by
 * the device's kernel style; all four are tested against the same reference.
 */
#include "config.h"

#include "formats/loom-tensor-type.h"
#include "loom-ops-private.h"
#include "vk/loom-device-private.h"

#define REDUCE_ROWS_PER_GROUP 1   /* matvec_f32: a workgroup per row */
#define ROWS_ROWS_PER_GROUP   64  /* matvec_f32_rows: an invocation per row */
#define TILED_TILE            64  /* matmul_f32: BM = BN */
#define BLOCKED_TILE          32  /* matmul_f32_blocked: 8×8 invocations of 4×4 */

static void
record_matvec (LoomCommand *cmd,
               const char  *shader,
               gsize        rows_per_group,
               LoomView     w,
               LoomView     x,
               LoomView     out,
               gsize        n,
               gsize        k)
{
  LoomPipelineDesc desc = {
    .shader = shader,
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
      loom_command_fail (cmd, shader, "rows of %" G_GSIZE_FORMAT " floats exceed one binding", k);
      return;
    }
  /* W is bound a block of whole rows at a time. */
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
      desc.spec[0] = (k | push.w_base | push.x_base) % 4 == 0;  /* VEC4 */
      if (!loom_ops_fold_groups (cmd, (count + rows_per_group - 1) / rows_per_group, &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

void
loom_op_matvec_reduce (LoomCommand *cmd,
                       LoomView     w,
                       LoomView     x,
                       LoomView     out,
                       gsize        n,
                       gsize        k)
{
  record_matvec (cmd, "matvec_f32", REDUCE_ROWS_PER_GROUP, w, x, out, n, k);
}

void
loom_op_matvec_rows (LoomCommand *cmd,
                     LoomView     w,
                     LoomView     x,
                     LoomView     out,
                     gsize        n,
                     gsize        k)
{
  record_matvec (cmd, "matvec_f32_rows", ROWS_ROWS_PER_GROUP, w, x, out, n, k);
}

static void
record_matmul (LoomCommand *cmd,
               const char  *shader,
               gsize        tile,
               gboolean     has_vec4,
               LoomView     a,
               LoomView     w,
               LoomView     out,
               gsize        m,
               gsize        n,
               gsize        k)
{
  LoomPipelineDesc desc = {
    .shader = shader,
    .n_bindings = 3,
    .push_size = sizeof (LoomMatmulPush),
    .n_spec = has_vec4 ? 1 : 0,
  };
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize m_step, n_step;

  if (m == 0 || n == 0 || k == 0)
    return;
  if (k > window || n > window)
    {
      loom_command_fail (cmd, shader, "rows of %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                     " floats exceed one binding", n, k);
      return;
    }

  /* Split W by rows (columns of C) and A by rows so that every window fits, C's window
   * for a block spanning m_step rows of stride n, and every grid fits the device's
   * workgroup counts. Whole tiles per block where possible. */
  n_step = MIN (MIN (n, window / k), tile * info->max_workgroup_count[0]);
  if (n_step > tile)
    n_step -= n_step % tile;
  m_step = MIN (MIN (m, MIN (window / k, window / n)), tile * info->max_workgroup_count[1]);
  if (m_step > tile)
    m_step -= m_step % tile;

  for (gsize m0 = 0; m0 < m; m0 += m_step)
    for (gsize n0 = 0; n0 < n; n0 += n_step)
      {
        gsize mc = MIN (m - m0, m_step);
        gsize nc = MIN (n - n0, n_step);
        gsize gx = (nc + tile - 1) / tile;
        gsize gy = (mc + tile - 1) / tile;
        LoomBinding bindings[3];
        LoomMatmulPush push = {
          .m = (guint32) mc,
          .n = (guint32) nc,
          .k = (guint32) k,
          .ldc = (guint32) n,
        };

        push.a_base = loom_ops_bind (cmd, &bindings[0], a, m0 * k, mc * k, sizeof (float),
                                     LOOM_ACCESS_READ);
        push.w_base = loom_ops_bind (cmd, &bindings[1], w, n0 * k, nc * k, sizeof (float),
                                     LOOM_ACCESS_READ);
        push.c_base = loom_ops_bind (cmd, &bindings[2], out, m0 * n + n0, (mc - 1) * n + nc,
                                     sizeof (float), LOOM_ACCESS_WRITE);
        desc.spec[0] = (k | push.a_base | push.w_base) % 4 == 0;  /* VEC4, when used */
        loom_command_dispatch (cmd, &desc, bindings, &push, (guint32) gx, (guint32) gy, 1);
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
  record_matmul (cmd, "matmul_f32", TILED_TILE, FALSE, a, w, out, m, n, k);
}

void
loom_op_matmul_blocked (LoomCommand *cmd,
                        LoomView     a,
                        LoomView     w,
                        LoomView     out,
                        gsize        m,
                        gsize        n,
                        gsize        k)
{
  record_matmul (cmd, "matmul_f32_blocked", BLOCKED_TILE, TRUE, a, w, out, m, n, k);
}

void
loom_op_matvec (LoomCommand *cmd,
                LoomView     w,
                LoomView     x,
                LoomView     out,
                gsize        n,
                gsize        k)
{
  if (loom_device_get_kernel_style (loom_command_get_device (cmd)) == LOOM_KERNELS_CPU)
    loom_op_matvec_rows (cmd, w, x, out, n, k);
  else
    loom_op_matvec_reduce (cmd, w, x, out, n, k);
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
  else if (loom_device_get_kernel_style (loom_command_get_device (cmd)) == LOOM_KERNELS_CPU)
    loom_op_matmul_blocked (cmd, a, w, out, m, n, k);
  else
    loom_op_matmul_tiled (cmd, a, w, out, m, n, k);
}

/* The weight types the matrix kernels read in their stored form. */
gboolean
loom_op_linear_supports (guint32 w_type)
{
  return w_type == LOOM_TENSOR_F32;
}

void
loom_op_linear (LoomCommand *cmd,
                LoomView     x,
                LoomView     w,
                guint32      w_type,
                LoomView     out,
                gsize        m,
                gsize        n,
                gsize        k)
{
  if (w_type == LOOM_TENSOR_F32)
    loom_op_matmul (cmd, x, w, out, m, n, k);
  else
    loom_command_fail (cmd, "linear", "no kernel reads weights of type %u", w_type);
}
