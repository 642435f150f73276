/* loom-quant.h — CPU conversion between f32 and every supported tensor type.
 *
 * The dequantizers define what the bytes of a GGUF tensor mean (bit for bit the block
 * layouts of ggml, so real files load correctly); they are the reference the Vulkan
 * kernels are tested against. The quantizers are the reference quantizers Loom uses to
 * write test models and tools' output: correct blocks with a documented error, not
 * necessarily the same bytes as llama.cpp's quantize tool (which searches scales).
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "formats/loom-tensor-type.h"

G_BEGIN_DECLS

/* @n is a multiple of the type's block_elements; @type is supported. */
void    loom_dequantize      (LoomTensorType type,
                              gconstpointer  src,
                              float         *dst,
                              gsize          n);
void    loom_quantize        (LoomTensorType type,
                              const float   *src,
                              gpointer       dst,
                              gsize          n);

/* IEEE half and bfloat16: round to nearest even; NaN and infinities kept. */
float   loom_half_to_float   (guint16        h);
guint16 loom_float_to_half   (float          f);
float   loom_bf16_to_float   (guint16        b);
guint16 loom_float_to_bf16   (float          f);

G_END_DECLS
