/* loom-op-check.c — per-op error bounds and the comparison. */
#include "config.h"

#include <float.h>
#include <math.h>

#include "loom-op-check.h"

/* One unit in the last place at 1.0 for f32 (2⁻²³); relative rounding is half that. */
#define ULP (1.0 / 8388608.0)

/* Vulkan may flush denormals to zero, so any result may be off by the smallest normal. */
#define FLUSH FLT_MIN

/* The most additions any one term passes through in a workgroup reduction of @length
 * values by reduce.glsl with 128 invocations: a strided serial sum per invocation, then
 * for subgroups of s lanes a tree of log2(s) levels and a serial sum over the 128/s
 * subgroups, whatever s the device has. A sum of that depth is off by at most
 * depth · 2⁻²⁴ · Σ|terms|. */
gsize
loom_reduction_depth (gsize length)
{
  gsize worst = 0;

  for (gsize lanes = 1, levels = 0; lanes <= 128; lanes *= 2, levels++)
    worst = MAX (worst, levels + 128 / lanes);
  return (length + 127) / 128 + worst;
}

void
loom_bounds_exact (double *bound,
                   gsize   n)
{
  for (gsize i = 0; i < n; i++)
    bound[i] = FLUSH;
}

/* x·σ(x) with σ(x) = 1/(1 + exp(−x)): exp is off by (3 + 2|x|) ULP, the add, the
 * division (2.5 ULP) and the product by about 4 more. */
void
loom_bounds_silu (const float *x,
                  const float *want,
                  double      *bound,
                  gsize        n)
{
  for (gsize i = 0; i < n; i++)
    bound[i] = (8.0 + 2.0 * fabs (x[i])) * ULP * fabs (want[i]) + FLUSH;
}

/* 0.5·x·(1 + tanh(u)): tanh inherits the error of (eᵘ − e⁻ᵘ)/(eᵘ + e⁻ᵘ), an absolute
 * (9 + 4|u|) ULP; computing u costs 5 roundings relative to u, which moves tanh by at
 * most as much; the outer products add 2 ULP of the result. */
void
loom_bounds_gelu_tanh (const float *x,
                       const float *want,
                       double      *bound,
                       gsize        n)
{
  for (gsize i = 0; i < n; i++)
    {
      double v = x[i];
      double u = fmin (fabs (0.7978845608 * (v + 0.044715 * v * v * v)), 10.0);
      bound[i] = 0.5 * fabs (v) * (9.0 + 9.0 * u) * ULP + 2.0 * ULP * fabs (want[i]) + FLUSH;
    }
}

/* 0.5·x·(1 + erf(x/√2)) with erf by Abramowitz–Stegun 7.1.26: 1.5·10⁻⁷ of method
 * error, plus the float evaluation (about 16 ULP, and exp(−a²) is off by 3 + 2a² ULP). */
void
loom_bounds_gelu_erf (const float *x,
                      const float *want,
                      double      *bound,
                      gsize        n)
{
  for (gsize i = 0; i < n; i++)
    {
      double a = fabs (x[i]) / G_SQRT2;
      bound[i] = 0.5 * fabs (x[i]) * (1.5e-7 + (16.0 + 2.0 * a * a) * ULP)
                 + 2.0 * ULP * fabs (want[i]) + FLUSH;
    }
}

/* silu(g)·u: SiLU's error, then one more rounding. */
void
loom_bounds_swiglu (const float *gate,
                    const float *want,
                    double      *bound,
                    gsize        n)
{
  for (gsize i = 0; i < n; i++)
    bound[i] = (9.0 + 2.0 * fabs (gate[i])) * ULP * fabs (want[i]) + FLUSH;
}

/* (a, b) → (a·cos θ − b·sin θ, a·sin θ + b·cos θ). Vulkan only promises sin and cos to an
 * absolute 2⁻¹¹ (on [−π, π]); θ itself comes from pow(), whose relative error (inherited
 * from exp2 and log2) stays below 32 ULP for these exponents, so it is off by θ·32 ULP.
 * Both move each output by at most (|a| + |b|) times that; two roundings follow. Values
 * outside the rotated dimensions must come out unchanged. */
void
loom_bounds_rope (const float *x,
                  const float *want,
                  double      *bound,
                  gsize        n_rows,
                  gsize        head_dim,
                  guint        rope_dim,
                  gboolean     neox,
                  double       max_theta)
{
  guint half_dim = rope_dim / 2;
  double angle_error = ldexp (1.0, -11) + max_theta * 32.0 * ULP;

  for (gsize row = 0; row < n_rows; row++)
    for (gsize d = 0; d < head_dim; d++)
      {
        gsize i = row * head_dim + d;
        gsize partner;

        if (d >= rope_dim)
          {
            bound[i] = 0.0;
            continue;
          }
        if (neox)
          partner = d < half_dim ? d + half_dim : d - half_dim;
        else
          partner = d ^ 1;
        bound[i] = (fabs (x[i]) + fabs (x[row * head_dim + partner])) * angle_error
                   + 2.0 * ULP * fabs (want[i]) + FLUSH;
      }
}

/* softmax(s)·V with the scores off by at most δ each (their dot products), then the
 * softmax's own error (as loom_bounds_softmax, over a spread of at most 2·max|s|) and
 * the weighted sum over n_keys values: relative to Σ p·|v|, the output moves by at most
 * 2δ + those ULPs + γ_{n_keys+1}. */
void
loom_bounds_attention (const float *magnitude,
                       double      *bound,
                       gsize        n,
                       gsize        n_keys,
                       double       max_score_error,
                       double       max_score)
{
  double u = ULP / 2.0;
  double ulps = 12.0 + 12.0 * max_score + loom_reduction_depth (n_keys) / 2.0;
  double relative = 2.0 * (max_score_error + max_score * ULP) + ulps * ULP
                    + (n_keys + 1) * u / (1.0 - (n_keys + 1) * u);

  for (gsize i = 0; i < n; i++)
    bound[i] = relative * magnitude[i] + FLUSH * (n_keys + 1);
}

/* exp(xᵢ − max)/Σ: the numerator is off by (3 + 3|xᵢ − max|) ULP (exp, and the rounded
 * difference), the sum by the same for its largest exponent plus its reduction depth,
 * the reciprocal and product by 3 ULP. All relative to the result. */
void
loom_bounds_softmax (const float *x,
                     const float *want,
                     double      *bound,
                     gsize        rows,
                     gsize        cols)
{
  double depth = loom_reduction_depth (cols);

  for (gsize r = 0; r < rows; r++)
    {
      const float *row = x + r * cols;
      double max = -INFINITY, min = INFINITY;

      for (gsize c = 0; c < cols; c++)
        {
          max = MAX (max, row[c]);
          min = MIN (min, row[c]);
        }
      for (gsize c = 0; c < cols; c++)
        {
          double spread = max - row[c];
          double ulps = 3.0 + 3.0 * spread + 3.0 + 3.0 * (max - min) + depth / 2.0 + 3.0;
          bound[r * cols + c] = ulps * ULP * fabs (want[r * cols + c]) + FLUSH;
        }
    }
}

/* x · w / sqrt(Σx²/n + eps): the sum is off by depth/2 ULP, the division and the add
 * by 3 more, inversesqrt halves that and adds 2; the two products add 1. */
void
loom_bounds_rms_norm (const float *want,
                      double      *bound,
                      gsize        rows,
                      gsize        cols)
{
  double ulps = (loom_reduction_depth (cols) / 2.0 + 3.0) / 2.0 + 2.0 + 1.0 + 1.0;

  for (gsize i = 0; i < rows * cols; i++)
    bound[i] = ulps * ULP * fabs (want[i]) + FLUSH;
}

/* A dot product of length k accumulated in any order: |error| ≤ γ_{k+1}·Σ|aₗ·wₗ| with
 * γ_j = j·u/(1 − j·u), u = 2⁻²⁴ (Higham, Accuracy and Stability, §3.1). */
void
loom_bounds_matmul (const float *magnitude,
                    const float *want,
                    double      *bound,
                    gsize        n,
                    gsize        k)
{
  double u = ULP / 2.0;
  double gamma = (k + 1) * u / (1.0 - (k + 1) * u);

  for (gsize i = 0; i < n; i++)
    bound[i] = gamma * magnitude[i] + ULP * fabs (want[i]) + FLUSH * (k + 1);
}

/* x·σ(1.702·x): as SiLU, with an argument that carries two more roundings (the
 * constant and the product), which move σ by at most 2·1.702|x| u relative. */
void
loom_bounds_quick_gelu (const float *x,
                        const float *want,
                        double      *bound,
                        gsize        n)
{
  for (gsize i = 0; i < n; i++)
    bound[i] = (8.0 + 4.5 * fabs (x[i])) * ULP * fabs (want[i]) + FLUSH;
}

/* One normalisation of n values (a group or a row), y = (x − μ)·r·γ + β with
 * r = 1/√(σ² + eps), then SiLU, as group_norm.comp and layer_norm.comp compute it, with
 * sums of at most @depth additions per term (u = 2⁻²⁴):
 *   the mean is off by δμ ≤ depth·u·Σ|x|/n + 6u·|μ| (the sum, then a 2.5-ULP division);
 *   the squared deviations from the computed mean sum to V + n·δμ² (V = Σ(x − μ)²), each
 *   term off by 3u and the sum by depth·u; the division, + eps and inversesqrt add
 *   6u relative and 2 ULP, and the square root halves the variance's relative error;
 *   y then carries r's error, δμ, and the roundings of x − μ, r·γ, the product and + β.
 * SiLU's slope is below 1.1, and adds its own error (as loom_bounds_silu). Value i takes
 * γ and β of channel i / @per_channel. */
static void
normalize_bounds (const float *x,
                  const float *weight,
                  const float *bias,
                  double      *bound,
                  gsize        n,
                  gsize        per_channel,
                  double       depth,
                  float        eps,
                  gboolean     silu)
{
  double u = ULP / 2.0;
  double mean = 0.0, abs_sum = 0.0, var = 0.0, r, d_mean, d_var, rho;

  for (gsize i = 0; i < n; i++)
    {
      mean += x[i];
      abs_sum += fabs (x[i]);
    }
  mean /= n;
  for (gsize i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  r = 1.0 / sqrt (var / n + eps);
  d_mean = depth * u * abs_sum / n + 6.0 * u * fabs (mean) + FLUSH;
  d_var = n * d_mean * d_mean + 1.01 * (depth + 3.0) * u * (var + n * d_mean * d_mean);
  rho = 0.5 * 1.01 * ((d_var / n) / (var / n + eps) + 6.0 * u) + 4.0 * u;

  for (gsize i = 0; i < n; i++)
    {
      gsize c = i / per_channel;
      double dev = fabs (x[i] - mean);
      double y = (x[i] - mean) * r * weight[c] + bias[c];
      double error = fabs (weight[c]) * r * (dev * (rho + 3.0 * u) + d_mean * (1.0 + rho))
                     + 2.0 * u * (fabs (y) + fabs (bias[c])) + FLUSH;

      if (silu)
        {
          double s = y / (1.0 + exp (-y));
          error = 1.1 * error + (8.0 + 2.0 * fabs (y)) * ULP * fabs (s) + FLUSH;
        }
      bound[i] = error;
    }
}

/* group_norm.comp: 256 invocations, each summing vec4s serially (four lanes, then their
 * two-level sum), then a workgroup reduction whose depth is below its size whatever
 * the subgroups. */
void
loom_bounds_group_norm (const float *x,
                        const float *weight,
                        const float *bias,
                        double      *bound,
                        gsize        channels,
                        gsize        hw,
                        gsize        groups,
                        float        eps,
                        gboolean     silu)
{
  gsize per_group = channels / groups, n = per_group * hw;
  double depth = (n + 1023) / 1024 + 2 + 256;

  for (gsize g = 0; g < groups; g++)
    normalize_bounds (x + g * n, weight + g * per_group, bias + g * per_group, bound + g * n,
                      n, hw, depth, eps, silu);
}

/* layer_norm.comp: sums as rms_norm.comp's (loom_reduction_depth). */
void
loom_bounds_layer_norm (const float *x,
                        const float *weight,
                        const float *bias,
                        double      *bound,
                        gsize        rows,
                        gsize        cols,
                        float        eps)
{
  for (gsize r = 0; r < rows; r++)
    normalize_bounds (x + r * cols, weight, bias, bound + r * cols, cols, 1,
                      loom_reduction_depth (cols), eps, FALSE);
}

/* Flash attention, relative to Σ p·|v| (@magnitude): the scores' error δ moves the
 * output by 2δ (as loom_bounds_attention); each probability exp(s − m) by
 * (3 + 5·max|s|) ULP (exp over a spread of at most 2·max|s|, and the rounded
 * difference); the rescalings exp(m − m′), one per tile (at most n_kv/4 tiles), compound
 * to 4 ULP per tile plus 2 ULP per unit the maximum grows in all (at most 2·max|s|); the
 * output and the sum of probabilities are sums of at most n_kv + n_kv/4 + 128 terms
 * (serial within and across tiles, and partial sums of up to 128 invocations); the
 * final division adds 2.5 ULP. */
void
loom_bounds_flash_attention (const float *magnitude,
                             double      *bound,
                             gsize        n,
                             gsize        n_kv,
                             double       max_score_error,
                             double       max_score)
{
  double u = ULP / 2.0;
  gsize tiles = (n_kv + 3) / 4;
  gsize depth = n_kv + tiles + 128;
  double ulps = 3.0 + 5.0 * max_score + 4.0 * tiles + 4.0 * max_score + 3.5;
  double relative = 2.0 * max_score_error + ulps * ULP
                    + 2.0 * depth * u / (1.0 - depth * u);

  for (gsize i = 0; i < n; i++)
    bound[i] = relative * magnitude[i] + FLUSH * (n_kv + 1);
}

/* a·gelu_erf(gate): |a| times GELU's error (as loom_bounds_gelu_erf), then one more
 * rounding. */
void
loom_bounds_geglu (const float *x,
                   const float *want,
                   double      *bound,
                   gsize        rows,
                   gsize        cols)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      {
        double a = x[r * 2 * cols + c], gate = x[r * 2 * cols + cols + c];
        double gelu = 0.5 * gate * (1.0 + erf (gate / G_SQRT2));
        double e = fabs (gate) / G_SQRT2;
        double gelu_error = 0.5 * fabs (gate) * (1.5e-7 + (16.0 + 2.0 * e * e) * ULP)
                            + 2.0 * ULP * fabs (gelu) + FLUSH;

        bound[r * cols + c] = fabs (a) * gelu_error + ULP * fabs (want[r * cols + c]) + FLUSH;
      }
}

/* cos and sin of θ = t·f_i, f_i = exp(x), x = −ln(10000)·i/half: x carries three
 * roundings and a 2.5-ULP division (7u relative), exp (3 + 2|x|) ULP and the product
 * with t one more rounding, so θ is off by θ·(7 + 11|x|)·u; the reduction by 2π adds
 * about 16u; Vulkan bounds sin and cos on [−π, π] to an absolute 2⁻¹¹. */
void
loom_bounds_timestep_embedding (double *bound,
                                gsize   dim,
                                double  timestep)
{
  double u = ULP / 2.0;
  gsize half = dim / 2;

  for (gsize i = 0; i < half; i++)
    {
      double x = log (10000.0) * i / half;
      double theta = fabs (timestep) * exp (-x);

      bound[i] = bound[half + i] = theta * (7.0 + 11.0 * x) * u + 16.0 * u + ldexp (1.0, -11)
                                   + FLUSH;
    }
}

gboolean
loom_check_close (const float  *got,
                  const float  *want,
                  const double *bound,
                  gsize         n,
                  LoomCheck    *check)
{
  *check = (LoomCheck) { .n_checked = n, .passed = TRUE, .worst_ratio = -1.0 };

  for (gsize i = 0; i < n; i++)
    {
      double error = fabs ((double) got[i] - (double) want[i]);
      double ratio;

      if (isnan (got[i]) != isnan (want[i]))
        error = INFINITY;
      else if (isnan (got[i]) || got[i] == want[i])
        error = 0.0;  /* also equal infinities, whose difference is NaN */
      ratio = bound[i] > 0.0 ? error / bound[i] : (error > 0.0 ? INFINITY : 0.0);

      if (error > check->max_error)
        check->max_error = error;
      if (ratio > check->worst_ratio)
        {
          check->worst_ratio = ratio;
          check->worst = i;
          check->worst_got = got[i];
          check->worst_want = want[i];
        }
      if (!(error <= bound[i]))
        check->passed = FALSE;
    }
  return check->passed;
}

char *
loom_check_describe (const LoomCheck *check)
{
  return g_strdup_printf ("%s: %" G_GSIZE_FORMAT " values, max error %.3g, worst at [%"
                          G_GSIZE_FORMAT "] got %.9g want %.9g (%.3g of its bound)%s",
                          check->passed ? "ok" : "FAILED", check->n_checked, check->max_error,
                          check->worst, check->worst_got, check->worst_want,
                          check->worst_ratio,
                          check->wrote_outside ? "; it wrote outside its output" : "");
}
