/* loom-llama-forward.h — the Llama forward pass, recorded into one command buffer.
 *
 * A LoomLlamaState is what one sequence needs on the device: the KV cache of every
 * layer and the activations of a batch of tokens. Recording a pass for tokens at
 * positions pos0 .. pos0+n−1 embeds them, runs every layer (prompt batches through the
 * matrix-matrix kernels, single tokens through the matrix-vector ones) and leaves the
 * logits of the last token in the state, the only thing read back.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "text/loom-text-model-private.h"
#include "vk/loom-command.h"

G_BEGIN_DECLS

typedef struct _LoomLlamaState LoomLlamaState;

LoomLlamaState *loom_llama_state_new          (LoomTextModel  *model,
                                               guint           n_ctx,
                                               guint           n_batch,
                                               gboolean        kv_f32,
                                               GError        **error);
void            loom_llama_state_free         (LoomLlamaState *self);
guint           loom_llama_state_get_n_ctx    (LoomLlamaState *self);
guint           loom_llama_state_get_n_batch  (LoomLlamaState *self);
guint64         loom_llama_state_get_bytes    (LoomLlamaState *self);
void            loom_llama_record_forward     (LoomCommand    *cmd,
                                               LoomLlamaState *self,
                                               const guint32  *tokens,
                                               guint           n_tokens,
                                               guint           pos0);
gboolean        loom_llama_state_read_logits  (LoomLlamaState *self,
                                               float          *logits,
                                               GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomLlamaState, loom_llama_state_free)

G_END_DECLS
