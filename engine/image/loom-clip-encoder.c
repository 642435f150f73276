/* loom-clip-encoder.c — the CLIP text transformer of Stable Diffusion (OpenAI's ViT-L/14
 * text tower for SD 1.x, OpenCLIP ViT-H/14's for SD 2.x) recorded with the ops of
 * loom-ops.h.
 *
 * The chunks of a prompt (77 tokens each) are encoded independently but in one batch:
 * the per-token layers (norms, projections, MLP) take every chunk's rows at once, the
 * causal self-attention runs per chunk over that chunk's keys and values, which lie
 * [77][dim] in f32 exactly as the text ops' f32 KV cache.
 */
#include "config.h"

#include <math.h>

#include "formats/loom-tensor-type.h"
#include "loom-error.h"
#include "loom-sd-networks-private.h"
#include "vk/loom-buffer.h"

#define TEXT "text_encoder.text_model"

typedef struct
{
  LoomBuffer *x;       /* [rows][dim]: the residual stream */
  LoomBuffer *normed;  /* [rows][dim] */
  LoomBuffer *q;       /* [rows][dim] */
  LoomBuffer *k;       /* [rows][dim] */
  LoomBuffer *v;       /* [rows][dim] */
  LoomBuffer *attn;    /* [rows][dim] */
  LoomBuffer *hidden;  /* [rows][ffn] */
  LoomBuffer *scores;  /* [77][heads][77], where the device's attention needs it */
} Activations;

static void
activations_clear (Activations *a)
{
  LoomBuffer **buffers[] = {
    &a->x, &a->normed, &a->q, &a->k, &a->v, &a->attn, &a->hidden, &a->scores,
  };

  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    g_clear_pointer (buffers[i], loom_buffer_free);
}

static LoomView
at (LoomBuffer *buffer)
{
  return loom_view (buffer, 0);
}

/**
 * loom_sd_encode_text:
 *
 * Embeds the tokens, runs config->text_layers layers with causal self-attention and
 * applies the final layer norm. One submission; blocks until the device is done.
 */
gboolean
loom_sd_encode_text (LoomSdWeights  *weights,
                     const guint32  *tokens,
                     guint           n_chunks,
                     float          *out,
                     GError        **error)
{
  const LoomSdConfig *c;
  LoomDevice *device;
  const LoomSdWeight *token_embedding, *position_embedding;
  g_autoptr(LoomCommand) cmd = NULL;
  Activations a = { 0 };
  LoomSdIo result = { 0 };
  LoomAttention attention;
  gsize n, dim, rows, row_bytes;
  gboolean ok;

  g_return_val_if_fail (weights != NULL && tokens != NULL && out != NULL, FALSE);
  g_return_val_if_fail (n_chunks > 0, FALSE);
  if (!loom_sd_weights_has_text_and_vae (weights, error))
    return FALSE;

  c = loom_sd_weights_get_config (weights);
  device = loom_sd_weights_get_device (weights);
  n = c->text_positions;
  dim = c->text_dim;
  rows = n * n_chunks;
  row_bytes = dim * sizeof (float);
  for (gsize i = 0; i < rows; i++)
    if (tokens[i] >= c->text_vocab)
      {
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                     "The token %u is outside the text encoder's vocabulary of %u", tokens[i],
                     c->text_vocab);
        return FALSE;
      }

  token_embedding = loom_sd_weights_lookup (weights, TEXT ".embeddings.token_embedding.weight");
  position_embedding = loom_sd_weights_lookup (weights,
                                               TEXT ".embeddings.position_embedding.weight");
  if (token_embedding == NULL || position_embedding == NULL
      || token_embedding->n_elements != (gsize) c->text_vocab * dim
      || position_embedding->n_elements != n * dim
      || position_embedding->type != LOOM_TENSOR_F32)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The text encoder's embeddings are missing or misshapen");
      return FALSE;
    }

  attention = (LoomAttention) {
    .n_q = n,
    .n_heads = c->text_heads,
    .n_kv_heads = c->text_heads,
    .head_dim = dim / c->text_heads,
    .pos0 = 0,
    .scale = (float) (1.0 / sqrt ((double) (dim / c->text_heads))),
    .kv_f32 = TRUE,
  };

  cmd = loom_command_new (device, error);
  if (cmd == NULL
      || !(a.x = loom_buffer_new (device, rows * row_bytes, error))
      || !(a.normed = loom_buffer_new (device, rows * row_bytes, error))
      || !(a.q = loom_buffer_new (device, rows * row_bytes, error))
      || !(a.k = loom_buffer_new (device, rows * row_bytes, error))
      || !(a.v = loom_buffer_new (device, rows * row_bytes, error))
      || !(a.attn = loom_buffer_new (device, rows * row_bytes, error))
      || !(a.hidden = loom_buffer_new (device, rows * c->text_ffn * sizeof (float), error))
      || !(a.scores = loom_buffer_new (device, n * c->text_heads * n * sizeof (float), error))
      || !loom_sd_io_init (&result, device, rows * row_bytes, FALSE, error))
    {
      activations_clear (&a);
      loom_sd_io_clear (&result);
      g_prefix_error (error, "Encoding the prompt: ");
      return FALSE;
    }

  /* x = token_embedding[token] + position_embedding[position], per chunk. */
  for (gsize i = 0; i < rows; i++)
    loom_op_get_row (cmd, loom_sd_weight_view (token_embedding), token_embedding->type, dim,
                     tokens[i], loom_view (a.x, i * row_bytes));
  for (guint chunk = 0; chunk < n_chunks; chunk++)
    {
      LoomView x = loom_view (a.x, chunk * n * row_bytes);
      loom_op_binary (cmd, LOOM_BINARY_ADD, x, loom_sd_weight_view (position_embedding), x,
                      n * dim);
    }

  for (guint l = 0; l < c->text_layers; l++)
    {
      g_autofree char *layer = g_strdup_printf (TEXT ".encoder.layers.%u", l);
      g_autofree char *norm1 = g_strconcat (layer, ".layer_norm1", NULL);
      g_autofree char *q_proj = g_strconcat (layer, ".self_attn.q_proj", NULL);
      g_autofree char *k_proj = g_strconcat (layer, ".self_attn.k_proj", NULL);
      g_autofree char *v_proj = g_strconcat (layer, ".self_attn.v_proj", NULL);
      g_autofree char *out_proj = g_strconcat (layer, ".self_attn.out_proj", NULL);
      g_autofree char *norm2 = g_strconcat (layer, ".layer_norm2", NULL);
      g_autofree char *fc1 = g_strconcat (layer, ".mlp.fc1", NULL);
      g_autofree char *fc2 = g_strconcat (layer, ".mlp.fc2", NULL);

      /* x += out_proj(causal attention(q, k, v of layer_norm1(x))) */
      loom_sd_record_layer_norm (cmd, weights, norm1, at (a.x), at (a.normed), rows, dim,
                                 c->text_eps);
      loom_sd_record_linear (cmd, weights, q_proj, at (a.normed), at (a.q), rows, dim, dim);
      loom_sd_record_linear (cmd, weights, k_proj, at (a.normed), at (a.k), rows, dim, dim);
      loom_sd_record_linear (cmd, weights, v_proj, at (a.normed), at (a.v), rows, dim, dim);
      for (guint chunk = 0; chunk < n_chunks; chunk++)
        {
          gsize offset = chunk * n * row_bytes;
          loom_op_attention (cmd, loom_view (a.q, offset), loom_view (a.k, offset),
                             loom_view (a.v, offset), at (a.scores), loom_view (a.attn, offset),
                             &attention);
        }
      loom_sd_record_linear (cmd, weights, out_proj, at (a.attn), at (a.normed), rows, dim, dim);
      loom_op_binary (cmd, LOOM_BINARY_ADD, at (a.x), at (a.normed), at (a.x), rows * dim);

      /* x += fc2(act(fc1(layer_norm2(x)))) */
      loom_sd_record_layer_norm (cmd, weights, norm2, at (a.x), at (a.normed), rows, dim,
                                 c->text_eps);
      loom_sd_record_linear (cmd, weights, fc1, at (a.normed), at (a.hidden), rows, c->text_ffn,
                             dim);
      loom_op_unary (cmd, c->text_quick_gelu ? LOOM_UNARY_QUICK_GELU : LOOM_UNARY_GELU_ERF,
                     at (a.hidden), at (a.hidden), rows * c->text_ffn, 1.0f);
      loom_sd_record_linear (cmd, weights, fc2, at (a.hidden), at (a.normed), rows, dim,
                             c->text_ffn);
      loom_op_binary (cmd, LOOM_BINARY_ADD, at (a.x), at (a.normed), at (a.x), rows * dim);
    }

  loom_sd_record_layer_norm (cmd, weights, TEXT ".final_layer_norm", at (a.x),
                             at (result.buffer), rows, dim, c->text_eps);
  loom_sd_io_record_read (&result, cmd, 0, rows * row_bytes);

  ok = loom_command_submit (cmd, error);
  if (ok)
    loom_sd_io_read (&result, 0, out, rows * row_bytes);
  else
    g_prefix_error (error, "Encoding the prompt: ");
  activations_clear (&a);
  loom_sd_io_clear (&result);
  return ok;
}
