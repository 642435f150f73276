/* loom-op-case.h — run one op on the device against its CPU reference.
 *
 * The op harness: the op tests run many shapes through it, the device self-test a few.
 * Inputs are random (seeded), tensors start at an offset inside their buffers so that
 * binding windows are exercised, and the output is fenced by guard words that must
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
  LOOM_OP_SOFTMAX,
  LOOM_OP_RMS_NORM,
  LOOM_OP_MATVEC,          /* the GPU-shaped kernel, whatever the device */
  LOOM_OP_MATVEC_ROWS,     /* the CPU-shaped kernel */
  LOOM_OP_MATMUL_TILED,
  LOOM_OP_MATMUL_BLOCKED,
  LOOM_N_OPS,
} LoomOpKind;

typedef struct
{
  LoomOpKind kind;
  gsize      rows;     /* M of a matmul (1 for matvec), rows of a row op; 1 otherwise */
  gsize      cols;     /* N of a matmul, columns of a row op, elements otherwise */
  gsize      inner;    /* K of a matmul; unused otherwise */
  gsize      offset;   /* floats in front of each tensor in its buffer */
} LoomOpCase;

const char *loom_op_kind_to_string (LoomOpKind        kind);
char       *loom_op_case_describe  (const LoomOpCase *op_case);
void        loom_op_case_sizes     (const LoomOpCase *op_case,
                                    gsize            *a_len,
                                    gsize            *b_len,
                                    gsize            *out_len);
void        loom_op_case_record    (LoomCommand      *cmd,
                                    const LoomOpCase *op_case,
                                    LoomView          a,
                                    LoomView          b,
                                    LoomView          out);
gboolean    loom_op_case_run       (LoomDevice       *device,
                                    const LoomOpCase *op_case,
                                    guint32           seed,
                                    LoomCheck        *check,
                                    GError          **error);

G_END_DECLS
