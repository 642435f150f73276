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
  LOOM_BINARY_SWIGLU,  /* silu(a)·b: a the gate projection, b the up projection */
} LoomBinaryOp;

/* Rotary position embedding, as a model's metadata describes it. */
typedef struct
{
  guint     rope_dim;     /* rotated dimensions of each head (even, ≤ head_dim) */
  float     freq_base;    /* rope.freq_base, 10000 for Llama 2 */
  float     freq_scale;   /* 1 / rope.scaling.factor for linear scaling, else 1 */
  gboolean  neox;         /* pairs (i, i + rope_dim/2) instead of (2i, 2i+1) */
  LoomView *factors;      /* (nullable) rope_dim/2 divisors of θ (Llama 3 rope_freqs) */
} LoomRope;

/* One step of attention over a layer's cache. */
typedef struct
{
  gsize n_q;         /* queries, at positions pos0 .. pos0 + n_q − 1 */
  gsize n_heads;
  gsize n_kv_heads;  /* divides n_heads */
  gsize head_dim;    /* even */
  guint    pos0;
  float    scale;    /* 1/√head_dim for Llama */
  gboolean kv_f32;   /* the caches hold f32, not f16 */
} LoomAttention;

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

/* out (M×N) = x (M×K) · wᵀ with the weights w stored as @w_type (N rows of K values in
 * that type's layout): the layers' projections. The kernels read the stored type:
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K. Weights of other
 * types than F32 may start at any even offset; K must be whole blocks of the type. */
void     loom_op_linear          (LoomCommand *cmd,
                                  LoomView     x,
                                  LoomView     w,
                                  guint32      w_type,
                                  LoomView     out,
                                  gsize        m,
                                  gsize        n,
                                  gsize        k);
gboolean loom_op_linear_supports (guint32      w_type);
gboolean loom_op_get_row_supports (guint32     type);

/* The kernels behind those, for weights of type @w_type, callable directly by tests and
 * benchmarks. */
void loom_op_matmul_tiled   (LoomCommand *cmd,   /* GPUs: shared-memory tiles */
                             LoomView     a,
                             LoomView     w,
                             guint32      w_type,
                             LoomView     out,
                             gsize        m,
                             gsize        n,
                             gsize        k);
void loom_op_matmul_blocked (LoomCommand *cmd,   /* CPUs: register blocks, no shared memory */
                             LoomView     a,
                             LoomView     w,
                             guint32      w_type,
                             LoomView     out,
                             gsize        m,
                             gsize        n,
                             gsize        k);
void loom_op_matvec_reduce  (LoomCommand *cmd,   /* GPUs: a workgroup reduces each row */
                             LoomView     w,
                             guint32      w_type,
                             LoomView     x,
                             LoomView     out,
                             gsize        n,
                             gsize        k);
void loom_op_matvec_rows    (LoomCommand *cmd,   /* CPUs: an invocation per row (or few) */
                             LoomView     w,
                             guint32      w_type,
                             LoomView     x,
                             LoomView     out,
                             gsize        n,
                             gsize        k);

/* The ops of a transformer layer. Their tensors must each fit one binding window
 * (sessions size their batches so); they fail the command otherwise. */

/* x[token][head][dim] rotated in place; tokens at positions pos0, pos0 + 1, … */
void loom_op_rope           (LoomCommand         *cmd,
                             LoomView             x,
                             gsize                n_tokens,
                             gsize                n_heads,
                             gsize                head_dim,
                             guint                pos0,
                             const LoomRope      *rope);
/* Writes n_tokens rows of @row f32 values from @src into @cache (f16, or f32 when
 * @f32) at rows pos0.. */
void loom_op_kv_store       (LoomCommand         *cmd,
                             LoomView             src,
                             LoomView             cache,
                             gsize                n_tokens,
                             gsize                row,
                             guint                pos0,
                             gboolean             f32);
/* out[i][h][·] = softmax(scale · q[i][h] · Kᵀ, causal) · V over the caches, which
 * hold positions 0 .. pos0 + n_q − 1. @scores is scratch of n_q·n_heads·(pos0+n_q)
 * floats, needed only where loom_op_attention_needs_scores() says so (GPUs, whose
 * kernels spread each row of scores over many invocations); CPU-shaped devices take one
 * pass with an online softmax. */
void     loom_op_attention              (LoomCommand         *cmd,
                                         LoomView             q,
                                         LoomView             k_cache,
                                         LoomView             v_cache,
                                         LoomView             scores,
                                         LoomView             out,
                                         const LoomAttention *attention);
gboolean loom_op_attention_needs_scores (LoomDevice          *device,
                                         const LoomAttention *attention);

/* The longest head loom_op_attention_online() takes. */
#define LOOM_ATTENTION_ONLINE_MAX_HEAD_DIM 256

/* The kernels behind loom_op_attention(), callable directly by tests and benchmarks. */
void loom_op_attention_passes (LoomCommand         *cmd,  /* scores, softmax, values */
                               LoomView             q,
                               LoomView             k_cache,
                               LoomView             v_cache,
                               LoomView             scores,
                               LoomView             out,
                               const LoomAttention *attention);
void loom_op_attention_online (LoomCommand         *cmd,  /* one pass, online softmax */
                               LoomView             q,
                               LoomView             k_cache,
                               LoomView             v_cache,
                               LoomView             out,
                               const LoomAttention *attention);
/* out[·] = row @row of @table (rows of @row_len values of @type), as f32. */
void loom_op_get_row        (LoomCommand         *cmd,
                             LoomView             table,
                             guint32              type,
                             gsize                row_len,
                             guint32              row,
                             LoomView             out);
/* x[r][c] += b[c], in place. */
void loom_op_bias           (LoomCommand         *cmd,
                             LoomView             x,
                             LoomView             b,
                             gsize                rows,
                             gsize                cols);

G_END_DECLS
