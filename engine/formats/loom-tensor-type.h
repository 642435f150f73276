/* loom-tensor-type.h — the tensor element types of GGUF files, as ggml numbers them.
 *
 * Every type ggml defines is known here by its block shape, so that any GGUF file can be
 * opened and described (`candor-cli info`) and its tensor extents checked; only the
 * types with `supported` set can be computed with. A quantized type stores blocks of
 * `block_elements` values in `block_bytes` bytes; rows are whole numbers of blocks.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* The ggml type ids, as stored in GGUF tensor infos. Gaps are ids ggml retired. */
typedef enum
{
  LOOM_TENSOR_F32 = 0,
  LOOM_TENSOR_F16 = 1,
  LOOM_TENSOR_Q4_0 = 2,
  LOOM_TENSOR_Q4_1 = 3,
  LOOM_TENSOR_Q5_0 = 6,
  LOOM_TENSOR_Q5_1 = 7,
  LOOM_TENSOR_Q8_0 = 8,
  LOOM_TENSOR_Q8_1 = 9,
  LOOM_TENSOR_Q2_K = 10,
  LOOM_TENSOR_Q3_K = 11,
  LOOM_TENSOR_Q4_K = 12,
  LOOM_TENSOR_Q5_K = 13,
  LOOM_TENSOR_Q6_K = 14,
  LOOM_TENSOR_Q8_K = 15,
  LOOM_TENSOR_IQ2_XXS = 16,
  LOOM_TENSOR_IQ2_XS = 17,
  LOOM_TENSOR_IQ3_XXS = 18,
  LOOM_TENSOR_IQ1_S = 19,
  LOOM_TENSOR_IQ4_NL = 20,
  LOOM_TENSOR_IQ3_S = 21,
  LOOM_TENSOR_IQ2_S = 22,
  LOOM_TENSOR_IQ4_XS = 23,
  LOOM_TENSOR_I8 = 24,
  LOOM_TENSOR_I16 = 25,
  LOOM_TENSOR_I32 = 26,
  LOOM_TENSOR_I64 = 27,
  LOOM_TENSOR_F64 = 28,
  LOOM_TENSOR_IQ1_M = 29,
  LOOM_TENSOR_BF16 = 30,
  LOOM_TENSOR_TQ1_0 = 34,
  LOOM_TENSOR_TQ2_0 = 35,
  LOOM_TENSOR_MXFP4 = 39,
} LoomTensorType;

typedef struct
{
  const char *name;            /* as ggml and llama.cpp print it, e.g. "Q4_K" */
  guint32     block_elements;  /* values per block; 1 for plain types */
  guint32     block_bytes;     /* bytes per block */
  gboolean    supported;       /* Loom dequantizes it and has kernels for it */
} LoomTensorTypeInfo;

/* Returns: (nullable): the description of ggml type @type, %NULL for an id ggml does
 * not define (a corrupt or too new file). */
const LoomTensorTypeInfo *loom_tensor_type_get_info  (guint32  type);
/* Bytes of @n_elements values of @type: FALSE when @n_elements is not a whole number
 * of blocks, the type is unknown, or the size would overflow 64 bits. */
gboolean                  loom_tensor_type_row_bytes (guint32  type,
                                                      guint64  n_elements,
                                                      guint64 *bytes);

G_END_DECLS
