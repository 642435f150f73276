/* loom-llama-config.h — the hyper-parameters of a Llama-family model, from GGUF metadata.
 *
 * Architectures: "llama" (Llama 1–3, Mistral, TinyLlama, SmolLM2: RoPE on adjacent pairs,
 * as GGUF's converter permutes Q and K for it) and "qwen2" (NeoX RoPE, biases on Q, K
 * and V). Keys absent from a file take the defaults of llama.cpp.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "formats/loom-gguf.h"

G_BEGIN_DECLS

typedef struct
{
  char     *architecture;    /* "llama" or "qwen2" */
  guint     n_vocab;
  guint     dim;             /* embedding_length */
  guint     n_layers;        /* block_count */
  guint     n_heads;
  guint     n_kv_heads;
  guint     head_dim;
  guint     ffn_dim;         /* feed_forward_length */
  guint     context_length;  /* what the model was trained for */
  float     norm_eps;
  guint     rope_dim;        /* rope.dimension_count, ≤ head_dim */
  float     rope_freq_base;
  float     rope_freq_scale; /* 1 / rope.scaling.factor for linear scaling, else 1 */
  gboolean  rope_neox;
  gboolean  qkv_bias;        /* qwen2 */
} LoomLlamaConfig;

gboolean loom_llama_config_init  (LoomLlamaConfig *self,
                                  LoomGguf        *gguf,
                                  GError         **error);
void     loom_llama_config_clear (LoomLlamaConfig *self);

G_END_DECLS
