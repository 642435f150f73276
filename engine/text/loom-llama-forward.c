/* loom-llama-forward.c — buffers of a sequence, and one forward pass. */
#include "config.h"

#include <math.h>

#include "loom-llama-forward.h"
#include "ops/loom-ops.h"

struct _LoomLlamaState
{
  LoomTextModel *model;     /* owned reference */
  guint          n_ctx;
  guint          n_batch;
  gboolean       kv_f32;    /* the cache holds f32, else f16 */
  guint64        bytes;

  /* Activations of up to n_batch tokens, f32, row-major by token. */
  LoomBuffer    *x;         /* [n_batch][dim]: the residual stream */
  LoomBuffer    *xb;        /* [n_batch][dim]: normed */
  LoomBuffer    *xb2;       /* [n_batch][dim]: a layer's contribution */
  LoomBuffer    *q;         /* [n_batch][n_heads·head_dim] */
  LoomBuffer    *k;         /* [n_batch][n_kv_heads·head_dim] */
  LoomBuffer    *v;         /* [n_batch][n_kv_heads·head_dim] */
  LoomBuffer    *attn;      /* [n_batch][n_heads·head_dim]: attention output */
  LoomBuffer    *hb;        /* [n_batch][ffn]: gate, then SwiGLU */
  LoomBuffer    *hb2;       /* [n_batch][ffn]: up */
  LoomBuffer    *scores;    /* [n_batch][n_heads][n_ctx], where attention needs it */
  LoomBuffer    *logits;    /* [n_vocab] */
  LoomBuffer   **kv;        /* [n_layers]: keys [n_ctx][kv_dim] then values */
};

static LoomBuffer *
add_buffer (LoomLlamaState *self,
            gsize           floats,
            GError        **error)
{
  LoomBuffer *buffer = loom_buffer_new (loom_text_model_get_device (self->model),
                                        MAX (floats, 1) * sizeof (float), error);
  if (buffer != NULL)
    self->bytes += loom_buffer_get_size (buffer);
  return buffer;
}

LoomLlamaState *
loom_llama_state_new (LoomTextModel *model,
                      guint          n_ctx,
                      guint          n_batch,
                      gboolean       kv_f32,
                      GError       **error)
{
  const LoomLlamaConfig *c = loom_text_model_get_config (model);
  g_autoptr(LoomLlamaState) self = g_new0 (LoomLlamaState, 1);
  gsize q_dim = (gsize) c->n_heads * c->head_dim;
  gsize kv_dim = (gsize) c->n_kv_heads * c->head_dim;
  const LoomAttention shape = { .head_dim = c->head_dim };
  gboolean need_scores;

  g_return_val_if_fail (n_ctx > 0 && n_batch > 0, NULL);
  need_scores = loom_op_attention_needs_scores (loom_text_model_get_device (model), &shape);

  self->model = g_object_ref (model);
  self->n_ctx = n_ctx;
  self->n_batch = MIN (n_batch, n_ctx);
  self->kv_f32 = kv_f32;
  n_batch = self->n_batch;

  if (!(self->x = add_buffer (self, (gsize) n_batch * c->dim, error))
      || !(self->xb = add_buffer (self, (gsize) n_batch * c->dim, error))
      || !(self->xb2 = add_buffer (self, (gsize) n_batch * c->dim, error))
      || !(self->q = add_buffer (self, n_batch * q_dim, error))
      || !(self->k = add_buffer (self, n_batch * kv_dim, error))
      || !(self->v = add_buffer (self, n_batch * kv_dim, error))
      || !(self->attn = add_buffer (self, n_batch * q_dim, error))
      || !(self->hb = add_buffer (self, (gsize) n_batch * c->ffn_dim, error))
      || !(self->hb2 = add_buffer (self, (gsize) n_batch * c->ffn_dim, error))
      || (need_scores
          && !(self->scores = add_buffer (self, (gsize) n_batch * c->n_heads * n_ctx, error)))
      || !(self->logits = add_buffer (self, c->n_vocab, error)))
    return NULL;

  /* Keys and values of n_ctx positions: in f16, two halves per float. */
  self->kv = g_new0 (LoomBuffer *, c->n_layers);
  for (guint l = 0; l < c->n_layers; l++)
    if (!(self->kv[l] = add_buffer (self, (gsize) n_ctx * kv_dim * (kv_f32 ? 2 : 1), error)))
      return NULL;

  return g_steal_pointer (&self);
}

void
loom_llama_state_free (LoomLlamaState *self)
{
  LoomBuffer **buffers[] = {
    &self->x, &self->xb, &self->xb2, &self->q, &self->k, &self->v, &self->attn, &self->hb,
    &self->hb2, &self->scores, &self->logits,
  };

  if (self == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    g_clear_pointer (buffers[i], loom_buffer_free);
  for (guint l = 0; self->kv != NULL && l < loom_text_model_get_config (self->model)->n_layers; l++)
    g_clear_pointer (&self->kv[l], loom_buffer_free);
  g_free (self->kv);
  g_clear_object (&self->model);
  g_free (self);
}

guint
loom_llama_state_get_n_ctx (LoomLlamaState *self)
{
  return self->n_ctx;
}

guint
loom_llama_state_get_n_batch (LoomLlamaState *self)
{
  return self->n_batch;
}

/* Device memory the sequence takes, KV cache included. */
guint64
loom_llama_state_get_bytes (LoomLlamaState *self)
{
  return self->bytes;
}

static LoomView
at (LoomBuffer *buffer)
{
  return loom_view (buffer, 0);
}

static void
linear (LoomCommand      *cmd,
        LoomView          x,
        const LoomWeight *w,
        LoomView          out,
        gsize             n_tokens)
{
  loom_op_linear (cmd, x, at (w->buffer), w->type, out, n_tokens, w->rows, w->cols);
}

/* Records the pass; the caller submits. n_tokens ≤ n_batch, pos0 + n_tokens ≤ n_ctx. */
void
loom_llama_record_forward (LoomCommand    *cmd,
                           LoomLlamaState *self,
                           const guint32  *tokens,
                           guint           n_tokens,
                           guint           pos0)
{
  LoomTextModel *model = self->model;
  const LoomLlamaConfig *c = loom_text_model_get_config (model);
  const LoomWeight *embd = loom_text_model_get_token_embd (model);
  const LoomWeight *factors = loom_text_model_get_rope_factors (model);
  gsize q_dim = (gsize) c->n_heads * c->head_dim;
  gsize kv_dim = (gsize) c->n_kv_heads * c->head_dim;
  LoomView factors_view = factors->buffer != NULL ? at (factors->buffer) : at (self->x);
  LoomRope rope = {
    .rope_dim = c->rope_dim,
    .freq_base = c->rope_freq_base,
    .freq_scale = c->rope_freq_scale,
    .neox = c->rope_neox,
    .factors = factors->buffer != NULL ? &factors_view : NULL,
  };
  LoomAttention attention = {
    .n_q = n_tokens,
    .n_heads = c->n_heads,
    .n_kv_heads = c->n_kv_heads,
    .head_dim = c->head_dim,
    .pos0 = pos0,
    .scale = (float) (1.0 / sqrt ((double) c->head_dim)),
    .kv_f32 = self->kv_f32,
  };
  const gsize cache_bytes = (gsize) self->n_ctx * kv_dim * (self->kv_f32 ? 4 : 2);
  LoomView last;

  g_return_if_fail (n_tokens > 0 && n_tokens <= self->n_batch);
  g_return_if_fail (pos0 + n_tokens <= self->n_ctx);

  /* The residual stream starts as the tokens' embeddings. */
  for (guint i = 0; i < n_tokens; i++)
    loom_op_get_row (cmd, at (embd->buffer), embd->type, c->dim, tokens[i],
                     loom_view (self->x, (gsize) i * c->dim * sizeof (float)));

  for (guint l = 0; l < c->n_layers; l++)
    {
      const LoomLlamaLayer *layer = loom_text_model_get_layer (model, l);
      LoomView k_cache = loom_view (self->kv[l], 0);
      LoomView v_cache = loom_view (self->kv[l], cache_bytes);

      /* Attention: x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n), n = norm(x). */
      loom_op_rms_norm (cmd, at (self->x), at (layer->attn_norm.buffer), at (self->xb), n_tokens,
                        c->dim, c->norm_eps);
      linear (cmd, at (self->xb), &layer->wq, at (self->q), n_tokens);
      linear (cmd, at (self->xb), &layer->wk, at (self->k), n_tokens);
      linear (cmd, at (self->xb), &layer->wv, at (self->v), n_tokens);
      if (c->qkv_bias)
        {
          loom_op_bias (cmd, at (self->q), at (layer->bq.buffer), n_tokens, q_dim);
          loom_op_bias (cmd, at (self->k), at (layer->bk.buffer), n_tokens, kv_dim);
          loom_op_bias (cmd, at (self->v), at (layer->bv.buffer), n_tokens, kv_dim);
        }
      loom_op_rope (cmd, at (self->q), n_tokens, c->n_heads, c->head_dim, pos0, &rope);
      loom_op_rope (cmd, at (self->k), n_tokens, c->n_kv_heads, c->head_dim, pos0, &rope);
      loom_op_kv_store (cmd, at (self->k), k_cache, n_tokens, kv_dim, pos0, self->kv_f32);
      loom_op_kv_store (cmd, at (self->v), v_cache, n_tokens, kv_dim, pos0, self->kv_f32);
      loom_op_attention (cmd, at (self->q), k_cache, v_cache, at (self->scores), at (self->attn),
                         &attention);
      linear (cmd, at (self->attn), &layer->wo, at (self->xb2), n_tokens);
      loom_op_binary (cmd, LOOM_BINARY_ADD, at (self->x), at (self->xb2), at (self->x),
                      (gsize) n_tokens * c->dim);

      /* Feed-forward: x += W_down · (silu(W_gate·n) ⊙ W_up·n), n = norm(x). */
      loom_op_rms_norm (cmd, at (self->x), at (layer->ffn_norm.buffer), at (self->xb), n_tokens,
                        c->dim, c->norm_eps);
      linear (cmd, at (self->xb), &layer->w_gate, at (self->hb), n_tokens);
      linear (cmd, at (self->xb), &layer->w_up, at (self->hb2), n_tokens);
      loom_op_binary (cmd, LOOM_BINARY_SWIGLU, at (self->hb), at (self->hb2), at (self->hb),
                      (gsize) n_tokens * c->ffn_dim);
      linear (cmd, at (self->hb), &layer->w_down, at (self->xb2), n_tokens);
      loom_op_binary (cmd, LOOM_BINARY_ADD, at (self->x), at (self->xb2), at (self->x),
                      (gsize) n_tokens * c->dim);
    }

  /* Only the last token's logits are needed: the next token follows from them. */
  last = loom_view (self->x, (gsize) (n_tokens - 1) * c->dim * sizeof (float));
  loom_op_rms_norm (cmd, last, at (loom_text_model_get_output_norm (model)->buffer),
                    at (self->xb), 1, c->dim, c->norm_eps);
  linear (cmd, at (self->xb), loom_text_model_get_output (model), at (self->logits), 1);
}

/* Reads the logits of the last pass (n_vocab floats) once it was submitted. */
gboolean
loom_llama_state_read_logits (LoomLlamaState *self,
                              float          *logits,
                              GError        **error)
{
  const LoomLlamaConfig *c = loom_text_model_get_config (self->model);

  return loom_buffer_read (self->logits, 0, logits, (gsize) c->n_vocab * sizeof (float), error);
}
