/* loom-llama-ref.c — the CPU reference forward pass. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "formats/loom-quant.h"
#include "loom-error.h"
#include "loom-llama-config.h"
#include "loom-llama-ref.h"
#include "ops/loom-ref.h"

typedef struct
{
  float *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *ffn_norm, *w_gate, *w_up, *w_down;
  float *k_cache;  /* [n_ctx][kv_dim], f16-rounded unless kv_f32 */
  float *v_cache;
} RefLayer;

struct _LoomLlamaRef
{
  LoomLlamaConfig config;
  guint           n_ctx;
  gboolean        kv_f32;
  float          *token_embd;   /* [n_vocab][dim] */
  float          *output_norm;
  float          *output;       /* [n_vocab][dim]; token_embd when tied */
  gboolean        tied;
  float          *rope_factors; /* nullable */
  RefLayer       *layers;
};

/* The whole tensor as f32, or NULL when it is absent. */
static float *
dequantize (LoomGguf   *gguf,
            const char *name)
{
  const LoomGgufTensor *t = loom_gguf_find_tensor (gguf, name);
  float *values;

  if (t == NULL || t->data == NULL)
    return NULL;
  values = g_new (float, t->n_elements);
  loom_dequantize (t->type, t->data, values, t->n_elements);
  return values;
}

static float *
layer_tensor (LoomGguf   *gguf,
              guint       l,
              const char *suffix)
{
  g_autofree char *name = g_strdup_printf ("blk.%u.%s", l, suffix);
  return dequantize (gguf, name);
}

LoomLlamaRef *
loom_llama_ref_new (LoomGguf *gguf,
                    guint     n_ctx,
                    gboolean  kv_f32,
                    GError  **error)
{
  g_autoptr(LoomLlamaRef) self = g_new0 (LoomLlamaRef, 1);
  guint kv_dim;

  if (!loom_llama_config_init (&self->config, gguf, error))
    return NULL;
  self->n_ctx = n_ctx;
  self->kv_f32 = kv_f32;
  kv_dim = self->config.n_kv_heads * self->config.head_dim;

  self->token_embd = dequantize (gguf, "token_embd.weight");
  self->output_norm = dequantize (gguf, "output_norm.weight");
  self->output = dequantize (gguf, "output.weight");
  self->rope_factors = dequantize (gguf, "rope_freqs.weight");
  if (self->output == NULL)
    {
      self->output = self->token_embd;
      self->tied = TRUE;
    }
  self->layers = g_new0 (RefLayer, self->config.n_layers);
  for (guint l = 0; l < self->config.n_layers; l++)
    {
      RefLayer *r = &self->layers[l];
      r->attn_norm = layer_tensor (gguf, l, "attn_norm.weight");
      r->wq = layer_tensor (gguf, l, "attn_q.weight");
      r->wk = layer_tensor (gguf, l, "attn_k.weight");
      r->wv = layer_tensor (gguf, l, "attn_v.weight");
      r->wo = layer_tensor (gguf, l, "attn_output.weight");
      r->bq = layer_tensor (gguf, l, "attn_q.bias");
      r->bk = layer_tensor (gguf, l, "attn_k.bias");
      r->bv = layer_tensor (gguf, l, "attn_v.bias");
      r->ffn_norm = layer_tensor (gguf, l, "ffn_norm.weight");
      r->w_gate = layer_tensor (gguf, l, "ffn_gate.weight");
      r->w_up = layer_tensor (gguf, l, "ffn_up.weight");
      r->w_down = layer_tensor (gguf, l, "ffn_down.weight");
      r->k_cache = g_new0 (float, (gsize) n_ctx * kv_dim);
      r->v_cache = g_new0 (float, (gsize) n_ctx * kv_dim);
      if (r->attn_norm == NULL || r->wq == NULL || r->wk == NULL || r->wv == NULL
          || r->wo == NULL || r->ffn_norm == NULL || r->w_gate == NULL || r->w_up == NULL
          || r->w_down == NULL)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                       "Layer %u lacks a tensor", l);
          return NULL;
        }
    }
  if (self->token_embd == NULL || self->output_norm == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL, "The model lacks its embedding");
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
loom_llama_ref_free (LoomLlamaRef *self)
{
  if (self == NULL)
    return;
  for (guint l = 0; self->layers != NULL && l < self->config.n_layers; l++)
    {
      RefLayer *r = &self->layers[l];
      float *tensors[] = { r->attn_norm, r->wq, r->wk, r->wv, r->wo, r->bq, r->bk, r->bv,
                           r->ffn_norm, r->w_gate, r->w_up, r->w_down };
      for (guint i = 0; i < G_N_ELEMENTS (tensors); i++)
        g_free (tensors[i]);
      g_free (r->k_cache);
      g_free (r->v_cache);
    }
  g_free (self->layers);
  if (!self->tied)
    g_free (self->output);
  g_free (self->token_embd);
  g_free (self->output_norm);
  g_free (self->rope_factors);
  loom_llama_config_clear (&self->config);
  g_free (self);
}

/* out = W · x for W with @rows rows of @cols. */
static void
matvec (const float *w,
        const float *x,
        float       *out,
        guint        rows,
        guint        cols)
{
  loom_ref_matmul (x, w, out, NULL, 1, rows, cols);
}

static void
add_to (float       *x,
        const float *y,
        guint        n)
{
  for (guint i = 0; i < n; i++)
    x[i] += y[i];
}

/* One token at position @pos through every layer; x is its residual stream. */
static void
forward_token (LoomLlamaRef *self,
               float        *x,
               guint         pos)
{
  const LoomLlamaConfig *c = &self->config;
  guint q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
  g_autofree float *xb = g_new (float, c->dim);
  g_autofree float *xb2 = g_new (float, c->dim);
  g_autofree float *q = g_new (float, q_dim);
  g_autofree float *k = g_new (float, kv_dim);
  g_autofree float *v = g_new (float, kv_dim);
  g_autofree float *att = g_new (float, q_dim);
  g_autofree float *hb = g_new (float, c->ffn_dim);
  g_autofree float *hb2 = g_new (float, c->ffn_dim);

  for (guint l = 0; l < c->n_layers; l++)
    {
      RefLayer *r = &self->layers[l];

      loom_ref_rms_norm (x, r->attn_norm, xb, 1, c->dim, c->norm_eps);
      matvec (r->wq, xb, q, q_dim, c->dim);
      matvec (r->wk, xb, k, kv_dim, c->dim);
      matvec (r->wv, xb, v, kv_dim, c->dim);
      if (r->bq != NULL)
        {
          loom_ref_bias (q, r->bq, 1, q_dim);
          loom_ref_bias (k, r->bk, 1, kv_dim);
          loom_ref_bias (v, r->bv, 1, kv_dim);
        }
      loom_ref_rope (q, 1, c->n_heads, c->head_dim, c->rope_dim, pos, c->rope_freq_base,
                     c->rope_freq_scale, c->rope_neox, self->rope_factors, NULL);
      loom_ref_rope (k, 1, c->n_kv_heads, c->head_dim, c->rope_dim, pos, c->rope_freq_base,
                     c->rope_freq_scale, c->rope_neox, self->rope_factors, NULL);
      for (guint i = 0; i < kv_dim; i++)
        {
          gsize at = (gsize) pos * kv_dim + i;
          r->k_cache[at] = self->kv_f32 ? k[i] : loom_half_to_float (loom_float_to_half (k[i]));
          r->v_cache[at] = self->kv_f32 ? v[i] : loom_half_to_float (loom_float_to_half (v[i]));
        }
      loom_ref_attention (q, r->k_cache, r->v_cache, att, 1, c->n_heads, c->n_kv_heads,
                          c->head_dim, pos, 1.0 / sqrt ((double) c->head_dim), NULL, NULL, NULL);
      matvec (r->wo, att, xb2, c->dim, q_dim);
      add_to (x, xb2, c->dim);

      loom_ref_rms_norm (x, r->ffn_norm, xb, 1, c->dim, c->norm_eps);
      matvec (r->w_gate, xb, hb, c->ffn_dim, c->dim);
      matvec (r->w_up, xb, hb2, c->ffn_dim, c->dim);
      loom_ref_swiglu (hb, hb2, hb, c->ffn_dim);
      matvec (r->w_down, hb, xb2, c->dim, c->ffn_dim);
      add_to (x, xb2, c->dim);
    }
}

void
loom_llama_ref_forward (LoomLlamaRef  *self,
                        const guint32 *tokens,
                        guint          n_tokens,
                        guint          pos0,
                        float         *logits)
{
  const LoomLlamaConfig *c = &self->config;
  g_autofree float *x = g_new (float, c->dim);
  g_autofree float *xb = g_new (float, c->dim);

  g_return_if_fail (pos0 + n_tokens <= self->n_ctx);

  for (guint i = 0; i < n_tokens; i++)
    {
      g_return_if_fail (tokens[i] < c->n_vocab);
      memcpy (x, self->token_embd + (gsize) tokens[i] * c->dim, c->dim * sizeof (float));
      forward_token (self, x, pos0 + i);
    }
  loom_ref_rms_norm (x, self->output_norm, xb, 1, c->dim, c->norm_eps);
  matvec (self->output, xb, logits, c->n_vocab, c->dim);
}
