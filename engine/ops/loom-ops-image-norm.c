/* loom-ops-image-norm.c — the image networks' normalisations (group norm, layer norm),
 * their attention (flash-style, without a mask), GEGLU and the timestep embedding. */
#include "config.h"

#include "loom-ops-private.h"
#include "vk/loom-device-private.h"

#define WG_SIZE 64              /* geglu.comp and timestep_embedding.comp */
#define FLASH_WG_SIZE 128       /* flash_attn.comp */
#define FLASH_ROWS_WG_SIZE 16   /* flash_attn_rows.comp */
#define FLASH_SHARED_MAX 32768  /* bytes of shared memory flash_attn.comp may use */

static gboolean
dispatch_groups (LoomCommand            *cmd,
                 const LoomPipelineDesc *desc,
                 const LoomBinding      *bindings,
                 gconstpointer           push,
                 gsize                   n_groups)
{
  guint32 gx, gy;

  if (!loom_ops_fold_groups (cmd, n_groups, &gx, &gy))
    return FALSE;
  loom_command_dispatch (cmd, desc, bindings, push, gx, gy, 1);
  return TRUE;
}

/* One workgroup per group, which computes the statistics and writes the group: the op
 * has no scratch memory to pass partial sums between dispatches, so a group's
 * statistics are not split (SD's largest groups, 2M floats in the VAE at 512 × 512,
 * make 32 workgroups). A dispatch covers as many whole groups as fit one window; a group
 * larger than one window (32M floats at 128 MiB) fails the command, and lavapipe's loop
 * limit caps groups at 21M floats (group_norm.comp). */
void
loom_op_group_norm (LoomCommand *cmd,
                    LoomView     x,
                    LoomView     weight,
                    LoomView     bias,
                    LoomView     out,
                    gsize        channels,
                    gsize        hw,
                    gsize        n_groups,
                    float        eps,
                    gboolean     silu)
{
  LoomPipelineDesc desc = {
    .shader = "group_norm",
    .n_bindings = 4,
    .push_size = sizeof (LoomGroupNormPush),
    .n_spec = 2,
    .spec = { silu != FALSE, FALSE },
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize per_group, group_size, groups_per_dispatch;

  g_return_if_fail (n_groups > 0 && channels % n_groups == 0);
  if (channels == 0 || hw == 0)
    return;
  per_group = channels / n_groups;
  group_size = per_group * hw;
  if (group_size > window)
    {
      loom_command_fail (cmd, "group_norm", "a group of %" G_GSIZE_FORMAT " floats exceeds one "
                         "binding", group_size);
      return;
    }
  groups_per_dispatch = window / group_size;

  for (gsize first = 0; first < n_groups; first += groups_per_dispatch)
    {
      gsize count = MIN (n_groups - first, groups_per_dispatch);
      LoomBinding bindings[4];
      LoomGroupNormPush push = {
        .groups = (guint32) count,
        .group_size = (guint32) group_size,
        .hw = (guint32) hw,
        .eps = eps,
      };

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first * group_size, count * group_size,
                                   sizeof (float), LOOM_ACCESS_READ);
      push.w_base = loom_ops_bind (cmd, &bindings[1], weight, first * per_group,
                                   count * per_group, sizeof (float), LOOM_ACCESS_READ);
      push.b_base = loom_ops_bind (cmd, &bindings[2], bias, first * per_group,
                                   count * per_group, sizeof (float), LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[3], out, first * group_size,
                                     count * group_size, sizeof (float), LOOM_ACCESS_WRITE);
      /* Planes of a multiple of 4 floats keep every group and channel vec4-aligned. */
      desc.spec[1] = hw % 4 == 0 && (push.x_base | push.out_base) % 4 == 0;
      if (!dispatch_groups (cmd, &desc, bindings, &push, count))
        return;
    }
}

/* One workgroup per row; a dispatch covers as many whole rows as fit one window. */
void
loom_op_layer_norm (LoomCommand *cmd,
                    LoomView     x,
                    LoomView     weight,
                    LoomView     bias,
                    LoomView     out,
                    gsize        rows,
                    gsize        cols,
                    float        eps)
{
  static const LoomPipelineDesc desc = {
    .shader = "layer_norm",
    .n_bindings = 4,
    .push_size = sizeof (LoomLayerNormPush),
  };
  gsize rows_per_dispatch;

  if (rows == 0 || cols == 0)
    return;
  /* Whole rows per dispatch, as many as one window holds. */
  if (!loom_ops_rows_per_window (cmd, "layer_norm", cols, &rows_per_dispatch))
    return;

  for (gsize first = 0; first < rows; first += rows_per_dispatch)
    {
      gsize count = MIN (rows - first, rows_per_dispatch);
      LoomBinding bindings[4];
      LoomLayerNormPush push = {
        .rows = (guint32) count,
        .cols = (guint32) cols,
        .eps = eps,
      };

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first * cols, count * cols,
                                   sizeof (float), LOOM_ACCESS_READ);
      push.w_base = loom_ops_bind (cmd, &bindings[1], weight, 0, cols, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.b_base = loom_ops_bind (cmd, &bindings[2], bias, 0, cols, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[3], out, first * cols, count * cols,
                                     sizeof (float), LOOM_ACCESS_WRITE);
      if (!dispatch_groups (cmd, &desc, bindings, &push, count))
        return;
    }
}

/* Tiles of flash_attn.comp for heads of @head_dim: BR queries by BC keys, the largest
 * tile whose shared arrays (BR + BC rows of head_dim + 1 floats, two BR × BC score
 * arrays and 128 partial sums) fit the device's shared memory, at most 32 KiB; of two
 * as large, the one with more keys, which has fewer tiles to loop over. */
static void
flash_tiles (LoomCommand *cmd,
             gsize        head_dim,
             guint       *br,
             guint       *bc)
{
  static const guint sizes[] = { 32, 16, 8, 4 };
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gsize budget = MIN (loom_device_info_get_max_shared_memory (info), FLASH_SHARED_MAX)
                 / sizeof (float) - FLASH_WG_SIZE;
  gsize best = 0;

  /* The smallest tile, 4 × 4, fits any device (16 KiB of shared memory) for heads of
   * up to 512 dimensions. */
  *br = *bc = 4;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (guint j = 0; j < G_N_ELEMENTS (sizes); j++)
      {
        gsize need = (sizes[i] + sizes[j]) * (head_dim + 1) + 2 * sizes[i] * sizes[j];

        if (need <= budget
            && (sizes[i] * sizes[j] > best || (sizes[i] * sizes[j] == best && sizes[j] > *bc)))
          {
            best = sizes[i] * sizes[j];
            *br = sizes[i];
            *bc = sizes[j];
          }
      }
}

/* Checks the attention's shape and binds k and v whole, which must each fit a window. */
static gboolean
flash_prepare (LoomCommand              *cmd,
               const LoomFlashAttention *a,
               LoomView                  k,
               LoomView                  v,
               LoomBinding              *bindings,
               LoomFlashAttentionPush   *push)
{
  gsize row = a->n_heads * a->head_dim;
  gsize q_stride = a->q_stride != 0 ? a->q_stride : row;
  gsize kv_stride = a->kv_stride != 0 ? a->kv_stride : row;
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize kv_span;

  g_return_val_if_fail (a->n_heads > 0 && a->head_dim > 0, FALSE);
  g_return_val_if_fail (q_stride >= row && kv_stride >= row, FALSE);
  if (a->head_dim > LOOM_FLASH_ATTENTION_MAX_HEAD_DIM)
    {
      loom_command_fail (cmd, "flash_attention", "heads of %" G_GSIZE_FORMAT " dimensions "
                         "exceed %d", a->head_dim, LOOM_FLASH_ATTENTION_MAX_HEAD_DIM);
      return FALSE;
    }
  if (a->n_kv == 0)
    {
      loom_command_fail (cmd, "flash_attention", "attention over no keys");
      return FALSE;
    }
  /* Every query visits every key: k and v are bound whole. */
  kv_span = (a->n_kv - 1) * kv_stride + row;
  if (kv_span > window || q_stride > window || row > window)
    {
      loom_command_fail (cmd, "flash_attention", "keys or values of %" G_GSIZE_FORMAT " floats "
                         "exceed one binding", kv_span);
      return FALSE;
    }

  *push = (LoomFlashAttentionPush) {
    .n_kv = (guint32) a->n_kv,
    .n_heads = (guint32) a->n_heads,
    .q_stride = (guint32) q_stride,
    .kv_stride = (guint32) kv_stride,
    .out_stride = (guint32) row,
    .scale = a->scale,
  };
  push->k_base = loom_ops_bind (cmd, &bindings[1], k, 0, kv_span, sizeof (float),
                                LOOM_ACCESS_READ);
  push->v_base = loom_ops_bind (cmd, &bindings[2], v, 0, kv_span, sizeof (float),
                                LOOM_ACCESS_READ);
  return TRUE;
}

/* Dispatches @desc over the queries, as many per dispatch as q's and out's windows hold
 * (a multiple of @block, the queries of one workgroup), with workgroups of @block
 * queries of one head. */
static void
flash_dispatch (LoomCommand              *cmd,
                const LoomPipelineDesc   *desc,
                const LoomFlashAttention *a,
                LoomView                  q,
                LoomView                  out,
                LoomBinding              *bindings,
                LoomFlashAttentionPush   *push,
                gsize                     block)
{
  gsize row = a->n_heads * a->head_dim;
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize per_dispatch = MIN ((window - row) / push->q_stride, (window - row) / row) + 1;

  if (per_dispatch > block)
    per_dispatch -= per_dispatch % block;

  for (gsize first = 0; first < a->n_q; first += per_dispatch)
    {
      gsize count = MIN (a->n_q - first, per_dispatch);

      push->n_q = (guint32) count;
      push->q_base = loom_ops_bind (cmd, &bindings[0], q, first * push->q_stride,
                                    (count - 1) * push->q_stride + row, sizeof (float),
                                    LOOM_ACCESS_READ);
      push->out_base = loom_ops_bind (cmd, &bindings[3], out, first * row, count * row,
                                      sizeof (float), LOOM_ACCESS_WRITE);
      if (!dispatch_groups (cmd, desc, bindings, push,
                            (count + block - 1) / block * a->n_heads))
        return;
    }
}

void
loom_op_flash_attention_tiled (LoomCommand              *cmd,
                               LoomView                  q,
                               LoomView                  k,
                               LoomView                  v,
                               LoomView                  out,
                               const LoomFlashAttention *a)
{
  LoomPipelineDesc desc = {
    .shader = "flash_attn",
    .n_bindings = 4,
    .push_size = sizeof (LoomFlashAttentionPush),
    .n_spec = 3,
  };
  LoomFlashAttentionPush push;
  LoomBinding bindings[4];
  guint br, bc;

  if (a->n_q == 0 || !flash_prepare (cmd, a, k, v, bindings, &push))
    return;
  flash_tiles (cmd, a->head_dim, &br, &bc);
  desc.spec[0] = (guint32) a->head_dim;
  desc.spec[1] = br;
  desc.spec[2] = bc;
  flash_dispatch (cmd, &desc, a, q, out, bindings, &push, br);
}

void
loom_op_flash_attention_rows (LoomCommand              *cmd,
                              LoomView                  q,
                              LoomView                  k,
                              LoomView                  v,
                              LoomView                  out,
                              const LoomFlashAttention *a)
{
  LoomPipelineDesc desc = {
    .shader = "flash_attn_rows",
    .n_bindings = 4,
    .push_size = sizeof (LoomFlashAttentionPush),
    .n_spec = 3,
    .spec = { (guint32) a->head_dim, FALSE, 1 },
  };
  LoomFlashAttentionPush push;
  LoomBinding bindings[4];
  /* Queries per invocation: each row of k and v read serves that many queries, as
   * long as they stay in registers (8 of up to 64 dimensions, 1 of 512). */
  guint32 per_invocation = CLAMP (512 / MAX (a->head_dim, 1), 1, 8);

  if (a->n_q == 0 || !flash_prepare (cmd, a, k, v, bindings, &push))
    return;
  /* Rows of k and v as vec4s when every one starts at a multiple of 4 floats. */
  desc.spec[1] = a->head_dim % 4 == 0 && push.kv_stride % 4 == 0
                 && (push.k_base | push.v_base) % 4 == 0;
  desc.spec[2] = per_invocation;
  flash_dispatch (cmd, &desc, a, q, out, bindings, &push, FLASH_ROWS_WG_SIZE * per_invocation);
}

/* GPUs take the tiled kernel, CPU-shaped devices the rows kernel: on lavapipe, where
 * shared memory is ordinary memory read lane by lane and barriers switch fibres, it is
 * 10× faster at SD's level-0 attention (bench-ops) and 16× at the VAE's head of 512. */
void
loom_op_flash_attention (LoomCommand              *cmd,
                         LoomView                  q,
                         LoomView                  k,
                         LoomView                  v,
                         LoomView                  out,
                         const LoomFlashAttention *a)
{
  if (loom_device_get_kernel_style (loom_command_get_device (cmd)) == LOOM_KERNELS_GPU)
    loom_op_flash_attention_tiled (cmd, q, k, v, out, a);
  else
    loom_op_flash_attention_rows (cmd, q, k, v, out, a);
}

/* An invocation per output value; a dispatch covers as many whole rows as fit one
 * window (of x, twice as long as out's). */
void
loom_op_geglu (LoomCommand *cmd,
               LoomView     x,
               LoomView     out,
               gsize        rows,
               gsize        cols)
{
  static const LoomPipelineDesc desc = {
    .shader = "geglu",
    .n_bindings = 2,
    .push_size = sizeof (LoomGegluPush),
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize rows_per_dispatch;

  if (rows == 0 || cols == 0)
    return;
  if (2 * cols > window)
    {
      loom_command_fail (cmd, "geglu", "a row of %" G_GSIZE_FORMAT " floats exceeds one binding",
                         2 * cols);
      return;
    }
  rows_per_dispatch = window / (2 * cols);

  for (gsize first = 0; first < rows; first += rows_per_dispatch)
    {
      gsize count = MIN (rows - first, rows_per_dispatch);
      LoomBinding bindings[2];
      LoomGegluPush push = { .rows = (guint32) count, .cols = (guint32) cols };

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first * 2 * cols, count * 2 * cols,
                                   sizeof (float), LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[1], out, first * cols, count * cols,
                                     sizeof (float), LOOM_ACCESS_WRITE);
      if (!dispatch_groups (cmd, &desc, bindings, &push, (count * cols + WG_SIZE - 1) / WG_SIZE))
        return;
    }
}

void
loom_op_timestep_embedding (LoomCommand *cmd,
                            LoomView     out,
                            gsize        dim,
                            float        timestep)
{
  static const LoomPipelineDesc desc = {
    .shader = "timestep_embedding",
    .n_bindings = 1,
    .push_size = sizeof (LoomTimestepPush),
  };
  LoomTimestepPush push = { .half_dim = (guint32) (dim / 2), .timestep = timestep };
  LoomBinding binding;

  g_return_if_fail (dim % 2 == 0);
  if (dim == 0)
    return;
  if (dim > loom_ops_max_window_elements (cmd, sizeof (float)))
    {
      loom_command_fail (cmd, "timestep_embedding", "%" G_GSIZE_FORMAT " floats exceed one "
                         "binding", dim);
      return;
    }
  push.out_base = loom_ops_bind (cmd, &binding, out, 0, dim, sizeof (float), LOOM_ACCESS_WRITE);
  dispatch_groups (cmd, &desc, &binding, &push, (dim / 2 + WG_SIZE - 1) / WG_SIZE);
}
