/* loom-tensor-type.c — the block shape of every ggml tensor type.
 *
 * The sizes are those of ggml's block structs (ggml/src/ggml-common.h) and the block
 * lengths those of its type_traits table (ggml/src/ggml.c). K-quants and i-quants use
 * super-blocks of 256 values (QK_K); the older quants, IQ4_NL and MXFP4 blocks of 32.
 */
#include "config.h"

#include "loom-tensor-type.h"

/* Indexed by type id; the ids ggml retired (4, 5, 31–33, 36–38) have no name. */
static const LoomTensorTypeInfo type_infos[] = {
  [LOOM_TENSOR_F32]     = { "F32",       1,   4, TRUE },
  [LOOM_TENSOR_F16]     = { "F16",       1,   2, TRUE },
  [LOOM_TENSOR_Q4_0]    = { "Q4_0",     32,  18, TRUE },  /* fp16 d, 16 bytes of nibbles */
  [LOOM_TENSOR_Q4_1]    = { "Q4_1",     32,  20, TRUE },  /* fp16 d and m, 16 bytes of nibbles */
  [LOOM_TENSOR_Q5_0]    = { "Q5_0",     32,  22, TRUE },  /* fp16 d, 4 B of fifth bits, nibbles */
  [LOOM_TENSOR_Q5_1]    = { "Q5_1",     32,  24, TRUE },  /* fp16 d and m, fifth bits, nibbles */
  [LOOM_TENSOR_Q8_0]    = { "Q8_0",     32,  34, TRUE },  /* fp16 d, 32 int8 */
  [LOOM_TENSOR_Q8_1]    = { "Q8_1",     32,  36, FALSE }, /* fp16 d and s, 32 int8 */
  [LOOM_TENSOR_Q2_K]    = { "Q2_K",    256,  84, FALSE },
  [LOOM_TENSOR_Q3_K]    = { "Q3_K",    256, 110, FALSE },
  [LOOM_TENSOR_Q4_K]    = { "Q4_K",    256, 144, TRUE },  /* d, dmin, 12 B scales, 128 B nibbles */
  [LOOM_TENSOR_Q5_K]    = { "Q5_K",    256, 176, TRUE },  /* as Q4_K, and 32 B of fifth bits */
  [LOOM_TENSOR_Q6_K]    = { "Q6_K",    256, 210, TRUE },  /* 128 B ql, 64 B qh, 16 B scales, d */
  [LOOM_TENSOR_Q8_K]    = { "Q8_K",    256, 292, FALSE }, /* f32 d, 256 int8, 16 int16 sums */
  [LOOM_TENSOR_IQ2_XXS] = { "IQ2_XXS", 256,  66, FALSE },
  [LOOM_TENSOR_IQ2_XS]  = { "IQ2_XS",  256,  74, FALSE },
  [LOOM_TENSOR_IQ3_XXS] = { "IQ3_XXS", 256,  98, FALSE },
  [LOOM_TENSOR_IQ1_S]   = { "IQ1_S",   256,  50, FALSE },
  [LOOM_TENSOR_IQ4_NL]  = { "IQ4_NL",   32,  18, FALSE },
  [LOOM_TENSOR_IQ3_S]   = { "IQ3_S",   256, 110, FALSE },
  [LOOM_TENSOR_IQ2_S]   = { "IQ2_S",   256,  82, FALSE },
  [LOOM_TENSOR_IQ4_XS]  = { "IQ4_XS",  256, 136, FALSE },
  [LOOM_TENSOR_I8]      = { "I8",        1,   1, FALSE },
  [LOOM_TENSOR_I16]     = { "I16",       1,   2, FALSE },
  [LOOM_TENSOR_I32]     = { "I32",       1,   4, FALSE },
  [LOOM_TENSOR_I64]     = { "I64",       1,   8, FALSE },
  [LOOM_TENSOR_F64]     = { "F64",       1,   8, FALSE },
  [LOOM_TENSOR_IQ1_M]   = { "IQ1_M",   256,  56, FALSE },
  [LOOM_TENSOR_BF16]    = { "BF16",      1,   2, TRUE },
  [LOOM_TENSOR_TQ1_0]   = { "TQ1_0",   256,  54, FALSE },
  [LOOM_TENSOR_TQ2_0]   = { "TQ2_0",   256,  66, FALSE },
  [LOOM_TENSOR_MXFP4]   = { "MXFP4",    32,  17, FALSE }, /* E8M0 exponent, 16 bytes of FP4 */
};

const LoomTensorTypeInfo *
loom_tensor_type_get_info (guint32 type)
{
  if (type >= G_N_ELEMENTS (type_infos) || type_infos[type].name == NULL)
    return NULL;
  return &type_infos[type];
}

gboolean
loom_tensor_type_row_bytes (guint32  type,
                            guint64  n_elements,
                            guint64 *bytes)
{
  const LoomTensorTypeInfo *info = loom_tensor_type_get_info (type);
  guint64 n_blocks;

  g_return_val_if_fail (bytes != NULL, FALSE);

  *bytes = 0;
  if (info == NULL || n_elements % info->block_elements != 0)
    return FALSE;
  n_blocks = n_elements / info->block_elements;
  if (n_blocks > G_MAXUINT64 / info->block_bytes)
    return FALSE;
  *bytes = n_blocks * info->block_bytes;
  return TRUE;
}
