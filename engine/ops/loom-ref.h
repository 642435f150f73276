/* loom-ref.h — CPU references for every GPU op, in plain C.
 *
 * They are the oracle of the op tests and of the device self-test: straightforward
 * loops, accumulating in double where the GPU accumulates in float, so that the
 * difference measures the GPU's error rather than the reference's.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

void loom_ref_add          (const float *a,
                            const float *b,
                            float       *out,
                            gsize        n);
void loom_ref_mul          (const float *a,
                            const float *b,
                            float       *out,
                            gsize        n);
void loom_ref_scale        (const float *x,
                            float       *out,
                            gsize        n,
                            float        scale);
void loom_ref_silu         (const float *x,
                            float       *out,
                            gsize        n);
void loom_ref_gelu_tanh    (const float *x,
                            float       *out,
                            gsize        n);
void loom_ref_gelu_erf     (const float *x,
                            float       *out,
                            gsize        n);
void loom_ref_softmax_rows (const float *x,
                            float       *out,
                            gsize        rows,
                            gsize        cols);
void loom_ref_rms_norm     (const float *x,
                            const float *weight,
                            float       *out,
                            gsize        rows,
                            gsize        cols,
                            float        eps);
/* out (M×N) = a (M×K) · wᵀ (w is N×K). When @magnitude is not NULL it receives
 * Σ_k |a[m][k]·w[n][k]| per output, the scale of the rounding error bound. */
void loom_ref_matmul       (const float *a,
                            const float *w,
                            float       *out,
                            float       *magnitude,
                            gsize        m,
                            gsize        n,
                            gsize        k);

void loom_ref_swiglu       (const float *gate,
                            const float *up,
                            float       *out,
                            gsize        n);
void loom_ref_bias         (float       *x,
                            const float *b,
                            gsize        rows,
                            gsize        cols);
/* In place on x[token][head][head_dim]; @factors may be NULL. @max_theta receives the
 * largest angle, which the error bound needs. */
void loom_ref_rope         (float       *x,
                            gsize        n_tokens,
                            gsize        n_heads,
                            gsize        head_dim,
                            guint        rope_dim,
                            guint        pos0,
                            double       freq_base,
                            double       freq_scale,
                            gboolean     neox,
                            const float *factors,
                            double      *max_theta);
/* Attention over caches [n_keys][n_kv_heads][head_dim] holding what the GPU's caches hold
 * (f16 values decoded, or f32).
 * When not NULL, @max_score_error receives the bound on the error of any scaled score
 * (γ_{head_dim} · scale · Σ|q·k|), @max_score the largest |score|, and @magnitude per
 * output Σ_t p_t·|v_t|. */
void loom_ref_attention    (const float   *q,
                            const float   *k_cache,
                            const float   *v_cache,
                            float         *out,
                            gsize          n_q,
                            gsize          n_heads,
                            gsize          n_kv_heads,
                            gsize          head_dim,
                            guint          pos0,
                            double         scale,
                            double        *max_score_error,
                            double        *max_score,
                            float         *magnitude);

/* A 2-D convolution of x [c_in][h][w] with weights [c_out][c_in][kernel][kernel] and
 * (nullable) bias [c_out] into out [c_out][h_out][w_out], zero-padded by @pad on every
 * side and by @pad_extra_end more below and to the right. When @magnitude is not NULL
 * it receives Σ|w·x| (+ |bias|) per output, the scale of the rounding error bound. */
void loom_ref_conv2d            (const float *x,
                                 const float *weight,
                                 const float *bias,
                                 float       *out,
                                 float       *magnitude,
                                 gsize        c_in,
                                 gsize        h,
                                 gsize        w,
                                 gsize        c_out,
                                 guint        kernel,
                                 guint        stride,
                                 guint        pad,
                                 guint        pad_extra_end);
/* out [channels][2h][2w], each value of x [channels][h][w] repeated 2×2. */
void loom_ref_upsample_nearest  (const float *x,
                                 float       *out,
                                 gsize        channels,
                                 gsize        h,
                                 gsize        w);
/* x[c][i] += b[c] for i < hw, in place. */
void loom_ref_add_channel       (float       *x,
                                 const float *b,
                                 gsize        channels,
                                 gsize        hw);
/* out [cols][rows] = xᵀ. */
void loom_ref_transpose         (const float *x,
                                 float       *out,
                                 gsize        rows,
                                 gsize        cols);

/* x·σ(1.702·x), CLIP's quick GELU. */
void loom_ref_quick_gelu         (const float *x,
                                  float       *out,
                                  gsize        n);
/* Group normalisation of x [channels][hw] in @groups groups of contiguous channels, with
 * per-channel weight and bias, then SiLU when @silu (mean and variance in double). */
void loom_ref_group_norm         (const float *x,
                                  const float *weight,
                                  const float *bias,
                                  float       *out,
                                  gsize        channels,
                                  gsize        hw,
                                  gsize        groups,
                                  float        eps,
                                  gboolean     silu);
/* Layer normalisation of each row of x [rows][cols] with weight and bias [cols]. */
void loom_ref_layer_norm         (const float *x,
                                  const float *weight,
                                  const float *bias,
                                  float       *out,
                                  gsize        rows,
                                  gsize        cols,
                                  float        eps);
/* Attention without a mask: q [n_q] rows of @q_stride floats, k and v [n_kv] rows of
 * @kv_stride floats (head h at h·head_dim in each), out [n_q][n_heads·head_dim]. The
 * optional outputs are as for loom_ref_attention(): @max_score_error the bound on the
 * error of any scaled score a float kernel computes (γ_{head_dim+1}·scale·Σ|q·k|),
 * @max_score the largest |score|, @magnitude per output Σ_j p_j·|v_j|. */
void loom_ref_flash_attention    (const float *q,
                                  const float *k,
                                  const float *v,
                                  float       *out,
                                  gsize        n_q,
                                  gsize        n_kv,
                                  gsize        n_heads,
                                  gsize        head_dim,
                                  gsize        q_stride,
                                  gsize        kv_stride,
                                  double       scale,
                                  double      *max_score_error,
                                  double      *max_score,
                                  float       *magnitude);
/* out [rows][cols] = a · gelu_erf(gate), x [rows][2·cols] holding (a, gate) per row. */
void loom_ref_geglu              (const float *x,
                                  float       *out,
                                  gsize        rows,
                                  gsize        cols);
/* out[i] = cos(t·f_i), out[dim/2 + i] = sin(t·f_i), f_i = 10000^(−i/(dim/2)). */
void loom_ref_timestep_embedding (float       *out,
                                  gsize        dim,
                                  double       timestep);

G_END_DECLS
