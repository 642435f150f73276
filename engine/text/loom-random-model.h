/* loom-random-model.h — write Llama-family GGUF models with random weights.
 *
 * For tests (a CPU reference checks the Vulkan logits on them) and benchmarks (a model of
 * a realistic shape in any tensor type). The weights are drawn so that activations keep
 * a sane scale through the layers; the vocabulary is a made-up SentencePiece one (the
 * special tokens, the 256 byte tokens, then letter pieces), so prompts tokenize.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *architecture;    /* "llama" or "qwen2" */
  guint       n_vocab;         /* at least 259 */
  guint       dim;
  guint       n_layers;
  guint       n_heads;
  guint       n_kv_heads;
  guint       head_dim;        /* 0: dim / n_heads */
  guint       ffn_dim;
  guint       context_length;
  guint32     weight_type;     /* of the matrices, a LoomTensorType; one Loom cannot encode
                                * gets random bytes */
  guint32     embedding_type;  /* of token_embd */
  gboolean    tied_output;     /* no output.weight: the embedding serves */
  gboolean    rope_factors;    /* a Llama 3 style rope_freqs.weight */
  float       rope_freq_base;
  guint64     seed;
} LoomRandomModel;

void     loom_random_model_init  (LoomRandomModel       *spec);
gboolean loom_random_model_write (const LoomRandomModel *spec,
                                  const char            *path,
                                  GError               **error);

G_END_DECLS
