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

G_END_DECLS
