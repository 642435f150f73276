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

G_END_DECLS
