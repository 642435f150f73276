/* loom-sd-ref-private.h — the operations of the Stable Diffusion CPU reference, exposed
 * for their own tests. Sums in double precision; all arrays f32.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* y [n][out] = x [n][in] · Wᵀ + b, W [out][in]; @b may be NULL. */
void loom_sd_ref_linear     (const float *x,
                             const float *w,
                             const float *b,
                             gsize        n,
                             gsize        in,
                             gsize        out,
                             float       *y);
/* out [c_out][h_out][w_out] = x [c_in][h][w] convolved with kernel [c_out][c_in][k][k]
 * (+ bias [c_out], nullable) at @stride, with @pad_before zero rows and columns above
 * and left of x and @pad_after below and right: h_out = (h + pad_before + pad_after −
 * k) / stride + 1. */
void loom_sd_ref_conv2d     (const float *x,
                             gsize        c_in,
                             gsize        h,
                             gsize        w,
                             const float *kernel,
                             const float *bias,
                             gsize        c_out,
                             guint        k,
                             guint        stride,
                             guint        pad_before,
                             guint        pad_after,
                             float       *out);
/* GroupNorm of x [channels][hw] in @groups groups of consecutive channels, with
 * per-channel gamma and beta, then SiLU when @with_silu. */
void loom_sd_ref_group_norm (const float *x,
                             const float *gamma,
                             const float *beta,
                             gsize        channels,
                             gsize        hw,
                             gsize        groups,
                             float        eps,
                             gboolean     with_silu,
                             float       *out);
/* LayerNorm of each row of x [rows][cols]. */
void loom_sd_ref_layer_norm (const float *x,
                             const float *gamma,
                             const float *beta,
                             gsize        rows,
                             gsize        cols,
                             float        eps,
                             float       *out);
/* out [n_q][heads·d] = softmax(scale · q·kᵀ) · v per head (head h in columns h·d…);
 * q [n_q][heads·d], k and v [n_kv][heads·d]. With @causal, query i sees keys ≤ i. */
void loom_sd_ref_attention  (const float *q,
                             const float *k,
                             const float *v,
                             gsize        n_q,
                             gsize        n_kv,
                             gsize        heads,
                             gsize        d,
                             double       scale,
                             gboolean     causal,
                             float       *out);

G_END_DECLS
