/* loom-text-model-private.h — the weights of a text model, for the forward pass. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "formats/loom-gguf.h"
#include "text/loom-llama-config.h"
#include "text/loom-text-model.h"
#include "text/loom-tokenizer.h"
#include "vk/loom-buffer.h"

G_BEGIN_DECLS

/* One tensor on the device, in its file's type. A matrix has `rows` rows of `cols`
 * values (GGUF's ne[1] and ne[0]); a vector has one row. */
typedef struct
{
  LoomBuffer *buffer;  /* owned; NULL for an absent optional tensor */
  guint32     type;    /* a LoomTensorType */
  guint64     cols;
  guint64     rows;
} LoomWeight;

typedef struct
{
  LoomWeight attn_norm;  /* [dim] */
  LoomWeight wq;         /* [n_heads·head_dim][dim] */
  LoomWeight wk;         /* [n_kv_heads·head_dim][dim] */
  LoomWeight wv;         /* [n_kv_heads·head_dim][dim] */
  LoomWeight wo;         /* [dim][n_heads·head_dim] */
  LoomWeight bq, bk, bv; /* qwen2 only */
  LoomWeight ffn_norm;   /* [dim] */
  LoomWeight w_gate;     /* [ffn][dim] */
  LoomWeight w_up;       /* [ffn][dim] */
  LoomWeight w_down;     /* [dim][ffn] */
} LoomLlamaLayer;

/* Loads synchronously (on the calling thread), as load_async does on a worker. */
LoomTextModel         *loom_text_model_new               (LoomDevice       *device,
                                                          const char       *path,
                                                          LoomProgress     *progress,
                                                          GCancellable     *cancellable,
                                                          GError          **error);
const LoomLlamaConfig *loom_text_model_get_config        (LoomTextModel    *self);
LoomTokenizer         *loom_text_model_get_tokenizer     (LoomTextModel    *self);
const LoomWeight      *loom_text_model_get_token_embd    (LoomTextModel    *self);
const LoomWeight      *loom_text_model_get_output_norm   (LoomTextModel    *self);
const LoomWeight      *loom_text_model_get_output        (LoomTextModel    *self);
const LoomWeight      *loom_text_model_get_rope_factors  (LoomTextModel    *self);
const LoomLlamaLayer  *loom_text_model_get_layer         (LoomTextModel    *self,
                                                          guint             layer);

G_END_DECLS
