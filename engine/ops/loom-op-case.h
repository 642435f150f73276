/* loom-op-case.h — run one op on the device against its CPU reference.
 *
 * The op harness: the op tests run many shapes through it, the device self-test a few,
 * and bench-ops times the same recordings. Inputs are random (seeded) and stored in the
 * type the case asks for (f32, f16, or a quantized weight type, whose dequantized values
 * are what the reference computes with); tensors start at an offset inside their buffers
 * so that binding windows are exercised, and outputs are fenced by guard words that must
 * survive, so an out-of-bounds write fails as surely as a wrong value.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "ops/loom-op-check.h"
#include "ops/loom-ops.h"
#include "vk/loom-device.h"

G_BEGIN_DECLS

typedef enum
{
  LOOM_OP_ADD,
  LOOM_OP_MUL,
  LOOM_OP_SCALE,
  LOOM_OP_SILU,
  LOOM_OP_GELU_TANH,
  LOOM_OP_GELU_ERF,
  LOOM_OP_SWIGLU,
  LOOM_OP_SOFTMAX,
  LOOM_OP_RMS_NORM,
  LOOM_OP_MATVEC,          /* the GPU-shaped kernel, whatever the device */
  LOOM_OP_MATVEC_ROWS,     /* the CPU-shaped kernel */
  LOOM_OP_MATMUL_TILED,
  LOOM_OP_MATMUL_BLOCKED,
  LOOM_OP_ROPE,            /* adjacent pairs, all of each head */
  LOOM_OP_ROPE_NEOX,       /* NeoX pairs over half of each head, with frequency factors */
  LOOM_OP_KV_STORE,
  LOOM_OP_ATTENTION,         /* scores, softmax, values */
  LOOM_OP_ATTENTION_ONLINE,  /* one pass */
  LOOM_OP_GET_ROW,
  LOOM_OP_BIAS,
  LOOM_OP_CONV2D,          /* the GPU-shaped kernel (shared-memory tiles), whatever the device */
  LOOM_OP_CONV2D_BLOCKED,  /* the CPU-shaped kernel */
  LOOM_OP_UPSAMPLE,
  LOOM_OP_ADD_CHANNEL,
  LOOM_OP_TRANSPOSE,
  LOOM_OP_QUICK_GELU,
  LOOM_OP_GROUP_NORM,
  LOOM_OP_GROUP_NORM_SILU,
  LOOM_OP_LAYER_NORM,
  LOOM_OP_FLASH_ATTENTION,       /* the GPU-shaped kernel (tiles), whatever the device */
  LOOM_OP_FLASH_ATTENTION_ROWS,  /* the CPU-shaped kernel */
  LOOM_OP_GEGLU,
  LOOM_OP_TIMESTEP_EMBEDDING,
  LOOM_N_OPS,
} LoomOpKind;

/* What the fields mean per kind:
 *   element-wise (add … swiglu):   cols = elements
 *   softmax, rms-norm, bias:        rows × cols
 *   matvec*, matmul*:               M = rows, N = cols, K = inner; weights of @type
 *   rope*:                          rows tokens × cols heads × inner head_dim, at position 7
 *   kv-store:                       rows tokens × cols values, stored at row 5
 *   attention*:                     rows queries × cols heads × inner head_dim, after 5
 *                                   cached positions, with cols/2 KV heads when cols is even
 *   get-row:                        a rows × cols table of @type, row rows/2 read
 *   conv2d*:                        rows c_out, cols c_in, an inner × width map; weights of
 *                                   @type (F32 or F16), kernel, stride, pad, pad_extra_end
 *                                   and bias as the fields below say
 *   upsample:                       rows channels of inner × cols
 *   add-channel:                    rows channels × cols values
 *   transpose:                      rows × cols
 *   quick-gelu:                     cols = elements
 *   group-norm*:                    rows channels × cols (h·w) values, in inner groups
 *   layer-norm:                     rows × cols
 *   flash-attention*:               rows queries × cols heads × inner head_dim over n_kv
 *                                   keys; rows of q are heads·head_dim + row_pad floats
 *                                   apart, rows of k and v heads·head_dim + 2·row_pad
 *   geglu:                          rows × cols outputs (x is rows × 2·cols)
 *   timestep-embedding:             cols = dim, at timestep inner */
typedef struct
{
  LoomOpKind kind;
  gsize      rows;
  gsize      cols;
  gsize      inner;
  gsize      offset;  /* in front of each tensor: elements of f32 tensors, 2-byte units of others */
  guint32    type;    /* weights or table: a LoomTensorType (LOOM_TENSOR_F32 = 0) */
  /* conv2d only: */
  gsize      width;          /* of the input map */
  guint      kernel;         /* 0 means 3 */
  guint      stride;         /* 0 means 1 */
  guint      pad;
  gboolean   pad_extra_end;
  gboolean   bias;
  /* flash-attention only: */
  gsize      n_kv;           /* 0 means rows */
  gsize      row_pad;
} LoomOpCase;

typedef struct _LoomOpCaseData LoomOpCaseData;

const char     *loom_op_kind_to_string      (LoomOpKind        kind);
char           *loom_op_case_describe       (const LoomOpCase *op_case);
LoomOpCaseData *loom_op_case_prepare        (LoomDevice       *device,
                                             const LoomOpCase *op_case,
                                             guint32           seed,
                                             GError          **error);
void            loom_op_case_data_free      (LoomOpCaseData   *data);
void            loom_op_case_record         (LoomCommand      *cmd,
                                             LoomOpCaseData   *data);
double          loom_op_case_min_traffic    (LoomOpCaseData   *data);
gboolean        loom_op_case_check          (LoomOpCaseData   *data,
                                             LoomCheck        *check,
                                             GError          **error);
gboolean        loom_op_case_run            (LoomDevice       *device,
                                             const LoomOpCase *op_case,
                                             guint32           seed,
                                             LoomCheck        *check,
                                             GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomOpCaseData, loom_op_case_data_free)

G_END_DECLS
