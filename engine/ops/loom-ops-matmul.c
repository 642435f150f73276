/* loom-ops-matmul.c — matrix products, with f32 weights or weights in their stored type.
 *
 * Two matrix-vector kernels (decoding one token) and two matrix-matrix kernels (prompt
 * batches), each for f32 weights and for every stored type (F16, BF16 and the quantized
 * types, which the typed shaders decode on the fly; see shaders/quant.glsl): the
 * GPU-shaped ones use workgroup reductions and shared-memory tiles, the CPU-shaped ones
 * (for lavapipe) neither. loom_op_matvec(), loom_op_matmul() and loom_op_linear() pick
 * by the device's kernel style; all are tested against the same reference.
 */
#include "config.h"

#include "formats/loom-tensor-type.h"
#include "loom-ops-private.h"
#include "loom-ops-weights.h"
#include "vk/loom-device-private.h"

#define REDUCE_ROWS_PER_GROUP 1   /* matvec_f32, matvec_<type>: a workgroup per row */
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

/* A typed kernel (compiled per weight type, see shaders/meson.build) and its shape. */
typedef struct
{
  const char *prefix;    /* the shader is prefix, type, suffix: "matvec_q4_k_rows" */
  const char *suffix;
  gsize       tile_m;    /* rows of A (or of x: 1) per workgroup */
  gsize       tile_n;    /* rows of W per workgroup */
  guint32     n_spec;    /* 0; 1: VEC4; 2: VEC4 and ALIGNED */
  gboolean    cpu;       /* CPU-shaped: needs loom_weights_cpu_kernels_usable() */
} TypedKernel;

static const TypedKernel typed_matvec_reduce = { "matvec_", "", 1, 1, 1, FALSE };
static const TypedKernel typed_matvec_rows = { "matvec_", "_rows", 1, 256, 2, TRUE };
static const TypedKernel typed_matmul_tiled = { "matmul_", "", 64, 64, 0, FALSE };
static const TypedKernel typed_matmul_blocked = { "matmul_", "_blocked", 16, 256, 2, TRUE };

/* Checks what every typed kernel needs; sets @row_bytes. */
static gboolean
check_typed (LoomCommand       *cmd,
             const TypedKernel *kernel,
             const char        *shader,
             guint32            w_type,
             gsize              n,
             gsize              k,
             gsize             *row_bytes)
{
  if (!loom_weights_typed (w_type))
    {
      loom_command_fail (cmd, shader, "no kernel reads weights of type %u", w_type);
      return FALSE;
    }
  if (!loom_weights_row_bytes (w_type, k, row_bytes))
    {
      loom_command_fail (cmd, shader, "rows of %" G_GSIZE_FORMAT " values are not whole blocks",
                         k);
      return FALSE;
    }
  if (*row_bytes > loom_weights_max_window (cmd)
      || MAX (n, k) > loom_ops_max_window_elements (cmd, sizeof (float)))
    {
      loom_command_fail (cmd, shader, "rows of %" G_GSIZE_FORMAT " values exceed one binding",
                         k);
      return FALSE;
    }
  if (kernel->cpu && !loom_weights_cpu_kernels_usable (loom_command_get_device (cmd)))
    {
      loom_command_fail (cmd, shader, "the device lacks subgroups of 8 with ballot");
      return FALSE;
    }
  return TRUE;
}

/* As record_matvec(), with W stored as @w_type: rows of row_bytes bytes, bound a block of
 * whole rows at a time. */
static void
record_matvec_typed (LoomCommand       *cmd,
                     const TypedKernel *kernel,
                     LoomView           w,
                     guint32            w_type,
                     LoomView           x,
                     LoomView           out,
                     gsize              n,
                     gsize              k)
{
  char shader[LOOM_WEIGHTS_SHADER_MAX];
  LoomPipelineDesc desc = {
    .shader = shader,
    .n_bindings = 3,
    .push_size = sizeof (LoomMatvecPush),
    .n_spec = kernel->n_spec,
  };
  gsize row_bytes, rows_per_dispatch;

  loom_weights_shader (shader, kernel->prefix, w_type, kernel->suffix);
  if (n == 0 || k == 0 || !check_typed (cmd, kernel, shader, w_type, n, k, &row_bytes))
    return;
  rows_per_dispatch = loom_weights_max_window (cmd) / row_bytes;

  for (gsize first = 0; first < n; first += rows_per_dispatch)
    {
      gsize count = MIN (n - first, rows_per_dispatch);
      LoomBinding bindings[3];
      LoomMatvecPush push = { .n = (guint32) count, .k = (guint32) k };
      guint32 gx, gy;

      push.w_base = loom_weights_bind (cmd, &bindings[0], w, first * row_bytes,
                                       count * row_bytes);
      push.x_base = loom_ops_bind (cmd, &bindings[1], x, 0, k, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[2], out, first, count, sizeof (float),
                                     LOOM_ACCESS_WRITE);
      desc.spec[0] = (k | push.x_base) % 4 == 0;  /* VEC4 */
      desc.spec[1] = loom_weights_groups_aligned (w_type, k, push.w_base);  /* ALIGNED */
      if (!loom_ops_fold_groups (cmd, (count + kernel->tile_n - 1) / kernel->tile_n, &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

void
loom_op_matvec_reduce (LoomCommand *cmd,
                       LoomView     w,
                       guint32      w_type,
                       LoomView     x,
                       LoomView     out,
                       gsize        n,
                       gsize        k)
{
  if (w_type == LOOM_TENSOR_F32)
    record_matvec (cmd, "matvec_f32", REDUCE_ROWS_PER_GROUP, w, x, out, n, k);
  else
    record_matvec_typed (cmd, &typed_matvec_reduce, w, w_type, x, out, n, k);
}

void
loom_op_matvec_rows (LoomCommand *cmd,
                     LoomView     w,
                     guint32      w_type,
                     LoomView     x,
                     LoomView     out,
                     gsize        n,
                     gsize        k)
{
  if (w_type == LOOM_TENSOR_F32)
    record_matvec (cmd, "matvec_f32_rows", ROWS_ROWS_PER_GROUP, w, x, out, n, k);
  else
    record_matvec_typed (cmd, &typed_matvec_rows, w, w_type, x, out, n, k);
}

/* Splits C into blocks of m_step × n_step: W by rows (columns of C), at most @w_rows per
 * window, and A by rows so that A's window and C's (a block spans m_step rows of stride
 * n) fit, with every grid within the device's workgroup counts. Whole tiles per block
 * where possible. */
static void
split_blocks (LoomCommand *cmd,
              gsize        m,
              gsize        n,
              gsize        k,
              gsize        w_rows,
              gsize        tile_m,
              gsize        tile_n,
              gsize       *m_step,
              gsize       *n_step)
{
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));

  *n_step = MIN (MIN (n, w_rows), tile_n * info->max_workgroup_count[0]);
  if (*n_step > tile_n)
    *n_step -= *n_step % tile_n;
  *m_step = MIN (MIN (m, MIN (window / k, window / n)), tile_m * info->max_workgroup_count[1]);
  if (*m_step > tile_m)
    *m_step -= *m_step % tile_m;
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

  split_blocks (cmd, m, n, k, window / k, tile, tile, &m_step, &n_step);

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

/* As record_matmul(), with W stored as @w_type, its windows counted in whole rows. */
static void
record_matmul_typed (LoomCommand       *cmd,
                     const TypedKernel *kernel,
                     LoomView           a,
                     LoomView           w,
                     guint32            w_type,
                     LoomView           out,
                     gsize              m,
                     gsize              n,
                     gsize              k)
{
  char shader[LOOM_WEIGHTS_SHADER_MAX];
  LoomPipelineDesc desc = {
    .shader = shader,
    .n_bindings = 3,
    .push_size = sizeof (LoomMatmulPush),
    .n_spec = kernel->n_spec,
  };
  gsize tile_m = kernel->tile_m, tile_n = kernel->tile_n;
  gsize row_bytes, m_step, n_step;

  loom_weights_shader (shader, kernel->prefix, w_type, kernel->suffix);
  if (m == 0 || n == 0 || k == 0 || !check_typed (cmd, kernel, shader, w_type, n, k, &row_bytes))
    return;

  split_blocks (cmd, m, n, k, loom_weights_max_window (cmd) / row_bytes, tile_m, tile_n,
                &m_step, &n_step);

  for (gsize m0 = 0; m0 < m; m0 += m_step)
    for (gsize n0 = 0; n0 < n; n0 += n_step)
      {
        gsize mc = MIN (m - m0, m_step);
        gsize nc = MIN (n - n0, n_step);
        LoomBinding bindings[3];
        LoomMatmulPush push = {
          .m = (guint32) mc,
          .n = (guint32) nc,
          .k = (guint32) k,
          .ldc = (guint32) n,
        };

        push.a_base = loom_ops_bind (cmd, &bindings[0], a, m0 * k, mc * k, sizeof (float),
                                     LOOM_ACCESS_READ);
        push.w_base = loom_weights_bind (cmd, &bindings[1], w, n0 * row_bytes, nc * row_bytes);
        push.c_base = loom_ops_bind (cmd, &bindings[2], out, m0 * n + n0, (mc - 1) * n + nc,
                                     sizeof (float), LOOM_ACCESS_WRITE);
        desc.spec[0] = (k | push.a_base) % 4 == 0;  /* VEC4, when used */
        desc.spec[1] = loom_weights_pieces_aligned (w_type, k, push.w_base);  /* ALIGNED */
        loom_command_dispatch (cmd, &desc, bindings, &push, (guint32) ((nc + tile_n - 1) / tile_n),
                               (guint32) ((mc + tile_m - 1) / tile_m), 1);
      }
}

void
loom_op_matmul_tiled (LoomCommand *cmd,
                      LoomView     a,
                      LoomView     w,
                      guint32      w_type,
                      LoomView     out,
                      gsize        m,
                      gsize        n,
                      gsize        k)
{
  if (w_type == LOOM_TENSOR_F32)
    record_matmul (cmd, "matmul_f32", TILED_TILE, FALSE, a, w, out, m, n, k);
  else
    record_matmul_typed (cmd, &typed_matmul_tiled, a, w, w_type, out, m, n, k);
}

void
loom_op_matmul_blocked (LoomCommand *cmd,
                        LoomView     a,
                        LoomView     w,
                        guint32      w_type,
                        LoomView     out,
                        gsize        m,
                        gsize        n,
                        gsize        k)
{
  if (w_type == LOOM_TENSOR_F32)
    record_matmul (cmd, "matmul_f32_blocked", BLOCKED_TILE, TRUE, a, w, out, m, n, k);
  else
    record_matmul_typed (cmd, &typed_matmul_blocked, a, w, w_type, out, m, n, k);
}

void
loom_op_matvec (LoomCommand *cmd,
                LoomView     w,
                LoomView     x,
                LoomView     out,
                gsize        n,
                gsize        k)
{
  loom_op_linear (cmd, x, w, LOOM_TENSOR_F32, out, 1, n, k);
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
  loom_op_linear (cmd, a, w, LOOM_TENSOR_F32, out, m, n, k);
}

/* The weight types the matrix kernels read in their stored form. */
gboolean
loom_op_linear_supports (guint32 w_type)
{
  return w_type == LOOM_TENSOR_F32 || loom_weights_typed (w_type);
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
  LoomDevice *device = loom_command_get_device (cmd);
  gboolean cpu = loom_device_get_kernel_style (device) == LOOM_KERNELS_CPU;

  /* The typed CPU-shaped kernels need subgroup broadcasts; without them, a CPU device
   * runs the GPU-shaped ones, which need nothing beyond what every device has. */
  if (cpu && w_type != LOOM_TENSOR_F32 && !loom_weights_cpu_kernels_usable (device))
    cpu = FALSE;

  if (!loom_op_linear_supports (w_type))
    loom_command_fail (cmd, "linear", "no kernel reads weights of type %u", w_type);
  else if (m == 1 && cpu)
    loom_op_matvec_rows (cmd, w, w_type, x, out, n, k);
  else if (m == 1)
    loom_op_matvec_reduce (cmd, w, w_type, x, out, n, k);
  else if (cpu)
    loom_op_matmul_blocked (cmd, x, w, w_type, out, m, n, k);
  else
    loom_op_matmul_tiled (cmd, x, w, w_type, out, m, n, k);
}
