/* loom-ops-transformer.c — the ops a transformer layer needs beyond the matrix products:
 * rotary embedding, the f16 KV cache, attention, embedding rows and biases. */
#include "config.h"

#include "formats/loom-tensor-type.h"
#include "loom-ops-private.h"
#include "loom-ops-weights.h"

#define WG_SIZE 64  /* local_size_x of every shader here */

/* Binds all of @elements elements of @view, which must fit one window. */
static gboolean
bind_whole (LoomCommand *cmd,
            const char  *op,
            LoomBinding *binding,
            guint32     *base,
            LoomView     view,
            gsize        elements,
            gsize        element_size,
            LoomAccess   access)
{
  if (elements > loom_ops_max_window_elements (cmd, element_size))
    {
      loom_command_fail (cmd, op, "a tensor of %" G_GSIZE_FORMAT " elements exceeds one binding",
                         elements);
      return FALSE;
    }
  *base = loom_ops_bind (cmd, binding, view, 0, MAX (elements, 1), element_size, access);
  return TRUE;
}

static gboolean
dispatch_flat_groups (LoomCommand            *cmd,
                      const LoomPipelineDesc *desc,
                      const LoomBinding      *bindings,
                      gconstpointer           push,
                      gsize                   invocations,
                      gsize                   group_size)
{
  guint32 gx, gy;

  if (!loom_ops_fold_groups (cmd, (invocations + group_size - 1) / group_size, &gx, &gy))
    return FALSE;
  loom_command_dispatch (cmd, desc, bindings, push, gx, gy, 1);
  return TRUE;
}

static gboolean
dispatch_flat (LoomCommand            *cmd,
               const LoomPipelineDesc *desc,
               const LoomBinding      *bindings,
               gconstpointer           push,
               gsize                   invocations)
{
  return dispatch_flat_groups (cmd, desc, bindings, push, invocations, WG_SIZE);
}

void
loom_op_rope (LoomCommand    *cmd,
              LoomView        x,
              gsize           n_tokens,
              gsize           n_heads,
              gsize           head_dim,
              guint           pos0,
              const LoomRope *rope)
{
  LoomPipelineDesc desc = {
    .shader = "rope",
    .n_bindings = 2,
    .push_size = sizeof (LoomRopePush),
    .n_spec = 2,
    .spec = { rope->neox, rope->factors != NULL },
  };
  LoomRopePush push = {
    .n_tokens = (guint32) n_tokens,
    .n_heads = (guint32) n_heads,
    .head_dim = (guint32) head_dim,
    .rope_dim = rope->rope_dim,
    .pos0 = pos0,
    .freq_base = rope->freq_base,
    .freq_scale = rope->freq_scale,
  };
  LoomBinding bindings[2];

  g_return_if_fail (rope->rope_dim % 2 == 0 && rope->rope_dim <= head_dim);
  if (n_tokens == 0 || rope->rope_dim == 0)
    return;
  if (!bind_whole (cmd, "rope", &bindings[0], &push.x_base, x, n_tokens * n_heads * head_dim,
                   sizeof (float), LOOM_ACCESS_READ_WRITE))
    return;
  /* Without factors, bind x again: the shader does not read it. */
  if (!bind_whole (cmd, "rope", &bindings[1], &push.factors_base,
                   rope->factors != NULL ? *rope->factors : x, rope->rope_dim / 2, sizeof (float),
                   LOOM_ACCESS_READ))
    return;
  dispatch_flat (cmd, &desc, bindings, &push, n_tokens * n_heads * (rope->rope_dim / 2));
}

void
loom_op_kv_store (LoomCommand *cmd,
                  LoomView     src,
                  LoomView     cache,
                  gsize        n_tokens,
                  gsize        row,
                  guint        pos0,
                  gboolean     f32)
{
  const LoomPipelineDesc desc = {
    .shader = "kv_store",
    .n_bindings = 2,
    .push_size = sizeof (LoomKvStorePush),
    .n_spec = 1,
    .spec = { f32 },
  };
  const gsize pair_bytes = f32 ? 8 : 4;
  LoomKvStorePush push = {
    .n_pairs = (guint32) (n_tokens * row / 2),
    .row_pairs = (guint32) (row / 2),
    .pos0 = pos0,
  };
  LoomBinding bindings[2];

  g_return_if_fail (row % 2 == 0 && src.offset % 8 == 0 && cache.offset % pair_bytes == 0);
  if (n_tokens == 0)
    return;
  /* src as pairs of floats, the cache as pairs (a uint of two halves, or two floats);
   * only the rows written are bound, so a store does not order against reads of other
   * rows. */
  if (!bind_whole (cmd, "kv_store", &bindings[0], &push.src_base, src, n_tokens * row / 2, 8,
                   LOOM_ACCESS_READ))
    return;
  cache.offset += (gsize) pos0 * (row / 2) * pair_bytes;
  push.pos0 = 0;
  if (!bind_whole (cmd, "kv_store", &bindings[1], &push.cache_base, cache, n_tokens * row / 2,
                   pair_bytes, LOOM_ACCESS_WRITE))
    return;
  dispatch_flat (cmd, &desc, bindings, &push, push.n_pairs);
}

void
loom_op_attention_passes (LoomCommand         *cmd,
                          LoomView             q,
                          LoomView             k_cache,
                          LoomView             v_cache,
                          LoomView             scores,
                          LoomView             out,
                          const LoomAttention *a)
{
  const LoomPipelineDesc scores_desc = {
    .shader = "attn_scores",
    .n_bindings = 3,
    .push_size = sizeof (LoomAttentionPush),
    .n_spec = 1,
    .spec = { a->kv_f32 },
  };
  const LoomPipelineDesc values_desc = {
    .shader = "attn_values",
    .n_bindings = 3,
    .push_size = sizeof (LoomAttentionPush),
    .n_spec = 1,
    .spec = { a->kv_f32 },
  };
  const gsize pair_bytes = a->kv_f32 ? 8 : 4;
  gsize n_keys = a->pos0 + a->n_q;
  gsize pairs = a->head_dim / 2;
  LoomAttentionPush push = {
    .n_q = (guint32) a->n_q,
    .n_heads = (guint32) a->n_heads,
    .n_kv_heads = (guint32) a->n_kv_heads,
    .head_dim = (guint32) a->head_dim,
    .n_keys = (guint32) n_keys,
    .pos0 = a->pos0,
    .scale = a->scale,
  };
  LoomBinding bindings[3];

  g_return_if_fail (a->head_dim % 2 == 0 && a->n_kv_heads > 0 && a->n_heads % a->n_kv_heads == 0);
  if (a->n_q == 0)
    return;

  /* 1. Scores, −∞ where masked. */
  if (!bind_whole (cmd, "attention", &bindings[0], &push.a_base, q, a->n_q * a->n_heads * pairs, 8,
                   LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[1], &push.kv_base, k_cache,
                      n_keys * a->n_kv_heads * pairs, pair_bytes, LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[2], &push.out_base, scores,
                      a->n_q * a->n_heads * n_keys, sizeof (float), LOOM_ACCESS_WRITE)
      || !dispatch_flat (cmd, &scores_desc, bindings, &push, a->n_q * a->n_heads * n_keys))
    return;

  /* 2. Probabilities, in place. */
  loom_op_softmax_rows (cmd, scores, scores, a->n_q * a->n_heads, n_keys);

  /* 3. The weighted sum of values. */
  if (!bind_whole (cmd, "attention", &bindings[0], &push.a_base, scores,
                   a->n_q * a->n_heads * n_keys, sizeof (float), LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[1], &push.kv_base, v_cache,
                      n_keys * a->n_kv_heads * pairs, pair_bytes, LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[2], &push.out_base, out,
                      a->n_q * a->n_heads * pairs, 8, LOOM_ACCESS_WRITE))
    return;
  dispatch_flat (cmd, &values_desc, bindings, &push, a->n_q * a->n_heads * pairs);
}

void
loom_op_attention_online (LoomCommand         *cmd,
                          LoomView             q,
                          LoomView             k_cache,
                          LoomView             v_cache,
                          LoomView             out,
                          const LoomAttention *a)
{
  const LoomPipelineDesc desc = {
    .shader = "attn_online",
    .n_bindings = 4,
    .push_size = sizeof (LoomAttentionOnlinePush),
    .n_spec = 2,
    .spec = { a->kv_f32, (guint32) (a->head_dim / 2) },
  };
  const gsize pair_bytes = a->kv_f32 ? 8 : 4;
  gsize n_keys = a->pos0 + a->n_q;
  gsize pairs = a->head_dim / 2;
  LoomAttentionOnlinePush push = {
    .n_q = (guint32) a->n_q,
    .n_heads = (guint32) a->n_heads,
    .n_kv_heads = (guint32) a->n_kv_heads,
    .pos0 = a->pos0,
    .scale = a->scale,
  };
  LoomBinding bindings[4];

  g_return_if_fail (a->head_dim % 2 == 0 && a->n_kv_heads > 0 && a->n_heads % a->n_kv_heads == 0);
  if (a->n_q == 0)
    return;
  /* The kernel keeps a query and an output row per invocation in registers. */
  if (a->head_dim > LOOM_ATTENTION_ONLINE_MAX_HEAD_DIM)
    {
      loom_command_fail (cmd, "attention", "heads of %" G_GSIZE_FORMAT " dimensions exceed %d",
                         a->head_dim, LOOM_ATTENTION_ONLINE_MAX_HEAD_DIM);
      return;
    }
  if (!bind_whole (cmd, "attention", &bindings[0], &push.q_base, q, a->n_q * a->n_heads * pairs, 8,
                   LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[1], &push.k_base, k_cache,
                      n_keys * a->n_kv_heads * pairs, pair_bytes, LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[2], &push.v_base, v_cache,
                      n_keys * a->n_kv_heads * pairs, pair_bytes, LOOM_ACCESS_READ)
      || !bind_whole (cmd, "attention", &bindings[3], &push.out_base, out,
                      a->n_q * a->n_heads * pairs, 8, LOOM_ACCESS_WRITE))
    return;
  dispatch_flat_groups (cmd, &desc, bindings, &push, a->n_q * a->n_heads, 8);
}

gboolean
loom_op_attention_needs_scores (LoomDevice          *device,
                                const LoomAttention *a)
{
  return loom_device_get_kernel_style (device) == LOOM_KERNELS_GPU
         || a->head_dim > LOOM_ATTENTION_ONLINE_MAX_HEAD_DIM;
}

void
loom_op_attention (LoomCommand         *cmd,
                   LoomView             q,
                   LoomView             k_cache,
                   LoomView             v_cache,
                   LoomView             scores,
                   LoomView             out,
                   const LoomAttention *a)
{
  if (loom_op_attention_needs_scores (loom_command_get_device (cmd), a))
    loom_op_attention_passes (cmd, q, k_cache, v_cache, scores, out, a);
  else
    loom_op_attention_online (cmd, q, k_cache, v_cache, out, a);
}

void
loom_op_get_row (LoomCommand *cmd,
                 LoomView     table,
                 guint32      type,
                 gsize        row_len,
                 guint32      row,
                 LoomView     out)
{
  char shader[LOOM_WEIGHTS_SHADER_MAX];
  LoomPipelineDesc desc = {
    .shader = shader,
    .n_bindings = 2,
    .push_size = sizeof (LoomGetRowsPush),
  };
  LoomGetRowsPush push = { .n = (guint32) row_len };
  LoomBinding bindings[2];
  gsize row_bytes;

  if (!loom_op_get_row_supports (type))
    {
      loom_command_fail (cmd, "get_rows", "no kernel for tensor type %u", type);
      return;
    }
  loom_weights_shader (shader, "get_rows_", type, "");
  if (!loom_weights_row_bytes (type, row_len, &row_bytes))
    {
      loom_command_fail (cmd, "get_rows", "rows of %" G_GSIZE_FORMAT " values of type %u",
                         row_len, type);
      return;
    }
  if (row_len == 0)
    return;
  if (row_len > loom_ops_max_window_elements (cmd, sizeof (float))
      || row_bytes > loom_weights_max_window (cmd))
    {
      loom_command_fail (cmd, "get_rows", "a row of %" G_GSIZE_FORMAT " values exceeds one "
                         "binding", row_len);
      return;
    }
  /* Only the row is bound, so the table may be larger than one window. f32 tables are
   * bound in floats; the others in whole words around the row (which may start
   * mid-word: rows of F16 may have odd lengths), with the base in halves. */
  if (type == LOOM_TENSOR_F32)
    push.src_base = loom_ops_bind (cmd, &bindings[0], table, (gsize) row * row_len, row_len,
                                   sizeof (float), LOOM_ACCESS_READ);
  else
    push.src_base = loom_weights_bind (cmd, &bindings[0], table, (gsize) row * row_bytes,
                                       row_bytes);
  push.out_base = loom_ops_bind (cmd, &bindings[1], out, 0, row_len, sizeof (float),
                                 LOOM_ACCESS_WRITE);
  /* f32: an invocation per value; the others: per 8 values. */
  dispatch_flat (cmd, &desc, bindings, &push, type == LOOM_TENSOR_F32 ? row_len
                                                                       : (row_len + 7) / 8);
}

gboolean
loom_op_get_row_supports (guint32 type)
{
  return type == LOOM_TENSOR_F32 || loom_weights_typed (type);
}

void
loom_op_bias (LoomCommand *cmd,
              LoomView     x,
              LoomView     b,
              gsize        rows,
              gsize        cols)
{
  static const LoomPipelineDesc desc = {
    .shader = "bias",
    .n_bindings = 2,
    .push_size = sizeof (LoomBiasPush),
  };
  gsize rows_per_dispatch;

  if (rows == 0 || cols == 0)
    return;
  /* Whole rows per dispatch, as many as one window holds. */
  if (!loom_ops_rows_per_window (cmd, "bias", cols, &rows_per_dispatch))
    return;
  for (gsize first = 0; first < rows; first += rows_per_dispatch)
    {
      gsize count = MIN (rows - first, rows_per_dispatch);
      LoomBiasPush push = { .rows = (guint32) count, .cols = (guint32) cols };
      LoomBinding bindings[2];

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first * cols, count * cols,
                                   sizeof (float), LOOM_ACCESS_READ_WRITE);
      push.b_base = loom_ops_bind (cmd, &bindings[1], b, 0, cols, sizeof (float),
                                   LOOM_ACCESS_READ);
      if (!dispatch_flat (cmd, &desc, bindings, &push, count * cols))
        return;
    }
}
