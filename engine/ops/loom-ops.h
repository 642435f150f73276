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
  LOOM_UNARY_QUICK_GELU, /* x·sigmoid(1.702·x), OpenAI CLIP's (SD 1.x text encoder) */
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

/* ---- The ops of the image networks (CLIP, UNet, VAE) ----
 *
 * Feature maps are stored channel-major, [C][H][W] f32 (one image per tensor), so that a
 * concatenation along channels is two contiguous copies (loom_command_copy) and a
 * channel's plane is contiguous. Token sequences are [tokens][features] f32, as for the
 * text ops. Feature maps may exceed one binding window (a 128-channel 512×512 map is
 * 128 MiB): these ops split their work over windows (by channels) and never assume a
 * tensor fits one binding. */

/* A 2-D convolution with PyTorch's weight layout [c_out][c_in][k][k] (F32 or F16),
 * square kernel, stride 1 or 2, zero padding, optional bias [c_out] (F32).
 * out is [c_out][h_out][w_out], h_out = (h + 2·pad + pad_extra_end − k) / stride + 1. */
typedef struct
{
  gsize    c_in, h, w;
  gsize    c_out;
  guint    kernel;         /* 1 or 3 (any size works) */
  guint    stride;         /* 1 or 2 (any works) */
  guint    pad;            /* 0 or 1: zero rows and columns on every side */
  guint32  w_type;         /* LOOM_TENSOR_F32 or LOOM_TENSOR_F16 */
  gboolean pad_extra_end;  /* one more zero row below and column to the right: the VAE
                            * encoder's downsampling pads (0, 1, 0, 1), with pad 0 */
} LoomConv2d;

static inline gsize
loom_conv2d_out_h (const LoomConv2d *c)
{
  return (c->h + 2 * c->pad + (c->pad_extra_end ? 1 : 0) - c->kernel) / c->stride + 1;
}
static inline gsize
loom_conv2d_out_w (const LoomConv2d *c)
{
  return (c->w + 2 * c->pad + (c->pad_extra_end ? 1 : 0) - c->kernel) / c->stride + 1;
}

/* An implicit-GEMM kernel: out (c_out × h_out·w_out) = W (c_out × c_in·k²) · im2col(x),
 * the im2col matrix never materialised. @bias may be NULL. out must not overlap x. */
void loom_op_conv2d           (LoomCommand      *cmd,
                               LoomView          x,
                               LoomView          weight,
                               LoomView         *bias,
                               LoomView          out,
                               const LoomConv2d *conv);
/* The kernels behind it, callable directly by tests and benchmarks. */
void loom_op_conv2d_tiled     (LoomCommand      *cmd,   /* GPUs: shared-memory tiles */
                               LoomView          x,
                               LoomView          weight,
                               LoomView         *bias,
                               LoomView          out,
                               const LoomConv2d *conv);
void loom_op_conv2d_blocked   (LoomCommand      *cmd,   /* CPUs: register blocks */
                               LoomView          x,
                               LoomView          weight,
                               LoomView         *bias,
                               LoomView          out,
                               const LoomConv2d *conv);
/* Group normalisation of x [channels][hw] in n_groups groups of channels/n_groups
 * channels, with per-channel weight and bias (F32): out = (x − μ_g)/√(σ²_g + eps)·γ + β,
 * followed by SiLU when @silu. out may be x. */
void loom_op_group_norm       (LoomCommand *cmd,
                               LoomView     x,
                               LoomView     weight,
                               LoomView     bias,
                               LoomView     out,
                               gsize        channels,
                               gsize        hw,
                               gsize        n_groups,
                               float        eps,
                               gboolean     silu);
/* Layer normalisation of each row of x [rows][cols] with weight and bias [cols] (F32).
 * out may be x. */
void loom_op_layer_norm       (LoomCommand *cmd,
                               LoomView     x,
                               LoomView     weight,
                               LoomView     bias,
                               LoomView     out,
                               gsize        rows,
                               gsize        cols,
                               float        eps);
/* Multi-head attention without a mask: q [n_q][n_heads·head_dim], k and v
 * [n_kv][n_heads·head_dim] (rows of each may be @q_stride / @kv_stride floats apart, so
 * heads can be read out of a fused projection), out [n_q][n_heads·head_dim]:
 * out = softmax(scale · q·kᵀ) · v per head. Flash-style: keys are visited in tiles with
 * an online softmax, memory is linear in n_q + n_kv (no score matrix). head_dim ≤ 512
 * (the VAE's mid-block attention has one head of 512). */
typedef struct
{
  gsize n_q;
  gsize n_kv;
  gsize n_heads;
  gsize head_dim;
  gsize q_stride;   /* floats between rows of q; 0 means n_heads·head_dim */
  gsize kv_stride;  /* floats between rows of k and of v; 0 means n_heads·head_dim */
  float scale;
} LoomFlashAttention;

void loom_op_flash_attention  (LoomCommand              *cmd,
                               LoomView                  q,
                               LoomView                  k,
                               LoomView                  v,
                               LoomView                  out,
                               const LoomFlashAttention *attention);
/* The longest head loom_op_flash_attention() takes. q and out are split over windows by
 * rows; k and v must each fit one binding window (the command fails otherwise). */
#define LOOM_FLASH_ATTENTION_MAX_HEAD_DIM 512
/* The kernels behind loom_op_flash_attention(), callable directly by tests and benchmarks. */
void loom_op_flash_attention_tiled (LoomCommand              *cmd,  /* GPUs: shared-memory tiles */
                                    LoomView                  q,
                                    LoomView                  k,
                                    LoomView                  v,
                                    LoomView                  out,
                                    const LoomFlashAttention *attention);
void loom_op_flash_attention_rows  (LoomCommand              *cmd,  /* CPUs: one query each */
                                    LoomView                  q,
                                    LoomView                  k,
                                    LoomView                  v,
                                    LoomView                  out,
                                    const LoomFlashAttention *attention);
/* GEGLU: x [rows][2·cols] holds (a, gate) halves per row; out [rows][cols] =
 * a · gelu_erf(gate). */
void loom_op_geglu            (LoomCommand *cmd,
                               LoomView     x,
                               LoomView     out,
                               gsize        rows,
                               gsize        cols);
/* Nearest-neighbour ×2 upsampling: x [channels][h][w] → out [channels][2h][2w]. */
void loom_op_upsample_nearest (LoomCommand *cmd,
                               LoomView     x,
                               LoomView     out,
                               gsize        channels,
                               gsize        h,
                               gsize        w);
/* x[c][i] += b[c] for i < hw: a per-channel value added to a feature map (the UNet's
 * time embedding). In place. */
void loom_op_add_channel      (LoomCommand *cmd,
                               LoomView     x,
                               LoomView     b,
                               gsize        channels,
                               gsize        hw);
/* out [cols][rows] = xᵀ for x [rows][cols]: feature maps to token sequences and back.
 * out must not overlap x. */
void loom_op_transpose        (LoomCommand *cmd,
                               LoomView     x,
                               LoomView     out,
                               gsize        rows,
                               gsize        cols);
/* The sinusoidal timestep embedding of the SD UNet (flip_sin_to_cos, shift 0):
 * out[i] = cos(t·f_i), out[dim/2 + i] = sin(t·f_i), f_i = exp(−ln(10000)·i/(dim/2)),
 * i < dim/2; dim even. */
void loom_op_timestep_embedding (LoomCommand *cmd,
                                 LoomView     out,
                                 gsize        dim,
                                 float        timestep);

G_END_DECLS
