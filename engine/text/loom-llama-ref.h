/* loom-llama-ref.h — the Llama forward pass in plain C, the oracle of the Vulkan one.
 *
 * It reads the weights straight from a GGUF file, dequantized to f32 by the same CPU
 * reference that defines the tensor types, and computes each step with the op
 * references (accumulating in double). Keys and values are rounded to f16 as they enter
 * the cache, as on the device: the f16 cache is a design choice, not an error to measure.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "formats/loom-gguf.h"

G_BEGIN_DECLS

typedef struct _LoomLlamaRef LoomLlamaRef;

LoomLlamaRef *loom_llama_ref_new     (LoomGguf      *gguf,
                                      guint          n_ctx,
                                      gboolean       kv_f32,
                                      GError       **error);
void          loom_llama_ref_free    (LoomLlamaRef  *self);
/* Evaluates @n_tokens tokens at positions pos0.. and writes the last one's logits. */
void          loom_llama_ref_forward (LoomLlamaRef  *self,
                                      const guint32 *tokens,
                                      guint          n_tokens,
                                      guint          pos0,
                                      float         *logits);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomLlamaRef, loom_llama_ref_free)

G_END_DECLS
