/* loom-ops.h — GPU operations, recorded into a LoomCommand.
 *
 * Each op has a CPU reference in loom-ref.h with the same arguments, and a test in
 * tests/engine/test-ops.c that compares the two on the real device. Ops take views
 * (buffer + byte offset) of f32 tensors; a tensor may sit anywhere in a buffer of any
 * size: ops bind aligned windows no larger than the device's maxStorageBufferRange and
 * split the work into several dispatches when a tensor is larger than that.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "vk/loom-command.h"

G_BEGIN_DECLS

/* Where a tensor's data starts: a buffer and a byte offset (a multiple of 4 for f32). */
typedef struct
{
  LoomBuffer *buffer;
  gsize       offset;
} LoomView;

static inline LoomView
loom_view (LoomBuffer *buffer,
           gsize       offset)
{
  return (LoomView) { buffer, offset };
}

typedef enum
{
  LOOM_BINARY_ADD,
  LOOM_BINARY_MUL,
} LoomBinaryOp;

typedef enum
{
  LOOM_UNARY_SCALE,
  LOOM_UNARY_SILU,
  LOOM_UNARY_GELU_TANH,  /* 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), GPT-2 style */
  LOOM_UNARY_GELU_ERF,   /* 0.5·x·(1 + erf(x/√2)), PyTorch's default, used by SD */
} LoomUnaryOp;

/* out[i] = a[i] op b[i], i < n. out may be a or b. */
void loom_op_binary       (LoomCommand *cmd,
                           LoomBinaryOp op,
                           LoomView     a,
                           LoomView     b,
                           LoomView     out,
                           gsize        n);
/* out[i] = f(x[i]), i < n; scale is used by LOOM_UNARY_SCALE only. out may be x. */
void loom_op_unary        (LoomCommand *cmd,
                           LoomUnaryOp  op,
                           LoomView     x,
                           LoomView     out,
                           gsize        n,
                           float        scale);
/* Row-wise softmax of a rows×cols matrix. */
void loom_op_softmax_rows (LoomCommand *cmd,
                           LoomView     x,
                           LoomView     out,
                           gsize        rows,
                           gsize        cols);
/* out = x / sqrt(mean(x²) + eps) · weight, per row; weight has cols elements. */
void loom_op_rms_norm     (LoomCommand *cmd,
                           LoomView     x,
                           LoomView     weight,
                           LoomView     out,
                           gsize        rows,
                           gsize        cols,
                           float        eps);
/* out (M×N) = a (M×K) · wᵀ, w being N×K: a matrix-vector kernel when M = 1, else a
 * matrix-matrix kernel, each in the shape that suits the device (see LoomKernelStyle). */
void loom_op_matmul         (LoomCommand *cmd,
                             LoomView     a,
                             LoomView     w,
                             LoomView     out,
                             gsize        m,
                             gsize        n,
                             gsize        k);
/* out (N) = w (N×K) · x (K), in the device's style. */
void loom_op_matvec         (LoomCommand *cmd,
                             LoomView     w,
                             LoomView     x,
                             LoomView     out,
                             gsize        n,
                             gsize        k);

/* The kernels behind those two, callable directly by tests and benchmarks. */
void loom_op_matmul_tiled   (LoomCommand *cmd,   /* GPUs: shared-memory tiles */
                             LoomView     a,
                             LoomView     w,
                             LoomView     out,
                             gsize        m,
                             gsize        n,
                             gsize        k);
void loom_op_matmul_blocked (LoomCommand *cmd,   /* CPUs: register blocks, no shared memory */
                             LoomView     a,
                             LoomView     w,
                             LoomView     out,
                             gsize        m,
                             gsize        n,
                             gsize        k);
void loom_op_matvec_reduce  (LoomCommand *cmd,   /* GPUs: a workgroup reduces each row */
                             LoomView     w,
                             LoomView     x,
                             LoomView     out,
                             gsize        n,
                             gsize        k);
void loom_op_matvec_rows    (LoomCommand *cmd,   /* CPUs: an invocation per row */
                             LoomView     w,
                             LoomView     x,
                             LoomView     out,
                             gsize        n,
                             gsize        k);

G_END_DECLS
