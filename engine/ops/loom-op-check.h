/* loom-op-check.h — error bounds of the GPU ops, and the check against a reference.
 *
 * Each bound is derived from the precision Vulkan guarantees for SPIR-V float
 * instructions (add, subtract, multiply: correctly rounded; exp: 3 + 2·|x| ULP;
 * inversesqrt: 2 ULP; division: 2.5 ULP) and from the shape of the op's kernel (how
 * many additions any one term passes through). They hold for any input, so a failure
 * is a bug, not bad luck; they are still tight enough that an indexing mistake, which
 * makes errors of the order of the values themselves, always fails.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gsize    n_checked;
  gsize    worst;        /* the element closest to (or furthest past) its bound */
  double   worst_ratio;  /* |got − want| / bound there; > 1 fails */
  float    worst_got;
  float    worst_want;
  double   max_error;    /* the largest |got − want| anywhere */
  gboolean wrote_outside;/* the op changed memory beyond its output */
  gboolean passed;
} LoomCheck;

gsize    loom_reduction_depth   (gsize        length);

void     loom_bounds_exact      (double      *bound,
                                 gsize        n);
void     loom_bounds_silu       (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        n);
void     loom_bounds_gelu_tanh  (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        n);
void     loom_bounds_gelu_erf   (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        n);
void     loom_bounds_swiglu     (const float *gate,
                                 const float *want,
                                 double      *bound,
                                 gsize        n);
void     loom_bounds_rope       (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        n_rows,
                                 gsize        head_dim,
                                 guint        rope_dim,
                                 gboolean     neox,
                                 double       max_theta);
void     loom_bounds_attention  (const float *magnitude,
                                 double      *bound,
                                 gsize        n,
                                 gsize        n_keys,
                                 double       max_score_error,
                                 double       max_score);
void     loom_bounds_softmax    (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        rows,
                                 gsize        cols);
void     loom_bounds_rms_norm   (const float *want,
                                 double      *bound,
                                 gsize        rows,
                                 gsize        cols);
void     loom_bounds_matmul     (const float *magnitude,
                                 const float *want,
                                 double      *bound,
                                 gsize        n,
                                 gsize        k);

void     loom_bounds_quick_gelu (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        n);
void     loom_bounds_group_norm (const float *x,
                                 const float *weight,
                                 const float *bias,
                                 double      *bound,
                                 gsize        channels,
                                 gsize        hw,
                                 gsize        groups,
                                 float        eps,
                                 gboolean     silu);
void     loom_bounds_layer_norm (const float *x,
                                 const float *weight,
                                 const float *bias,
                                 double      *bound,
                                 gsize        rows,
                                 gsize        cols,
                                 float        eps);
void     loom_bounds_flash_attention (const float *magnitude,
                                      double      *bound,
                                      gsize        n,
                                      gsize        n_kv,
                                      double       max_score_error,
                                      double       max_score);
void     loom_bounds_geglu      (const float *x,
                                 const float *want,
                                 double      *bound,
                                 gsize        rows,
                                 gsize        cols);
void     loom_bounds_timestep_embedding (double *bound,
                                         gsize   dim,
                                         double  timestep);

gboolean loom_check_close       (const float  *got,
                                 const float  *want,
                                 const double *bound,
                                 gsize         n,
                                 LoomCheck    *check);
char    *loom_check_describe    (const LoomCheck *check);

G_END_DECLS
