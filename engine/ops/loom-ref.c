/* loom-ref.c — the CPU references. */
#include "config.h"

#include <math.h>

#include "loom-ref.h"

void
loom_ref_add (const float *a,
              const float *b,
              float       *out,
              gsize        n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = a[i] + b[i];
}

void
loom_ref_mul (const float *a,
              const float *b,
              float       *out,
              gsize        n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = a[i] * b[i];
}

void
loom_ref_scale (const float *x,
                float       *out,
                gsize        n,
                float        scale)
{
  for (gsize i = 0; i < n; i++)
    out[i] = x[i] * scale;
}

void
loom_ref_silu (const float *x,
               float       *out,
               gsize        n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = (float) (x[i] / (1.0 + exp (-(double) x[i])));
}

void
loom_ref_gelu_tanh (const float *x,
                    float       *out,
                    gsize        n)
{
  const double k = sqrt (2.0 / G_PI);

  for (gsize i = 0; i < n; i++)
    {
      double v = x[i];
      out[i] = (float) (0.5 * v * (1.0 + tanh (k * (v + 0.044715 * v * v * v))));
    }
}

void
loom_ref_gelu_erf (const float *x,
                   float       *out,
                   gsize        n)
{
  for (gsize i = 0; i < n; i++)
    {
      double v = x[i];
      out[i] = (float) (0.5 * v * (1.0 + erf (v / G_SQRT2)));
    }
}

void
loom_ref_softmax_rows (const float *x,
                       float       *out,
                       gsize        rows,
                       gsize        cols)
{
  for (gsize r = 0; r < rows; r++)
    {
      const float *row = x + r * cols;
      double max = -INFINITY, sum = 0.0;

      for (gsize c = 0; c < cols; c++)
        max = MAX (max, row[c]);
      for (gsize c = 0; c < cols; c++)
        sum += exp (row[c] - max);
      for (gsize c = 0; c < cols; c++)
        out[r * cols + c] = (float) (exp (row[c] - max) / sum);
    }
}

void
loom_ref_rms_norm (const float *x,
                   const float *weight,
                   float       *out,
                   gsize        rows,
                   gsize        cols,
                   float        eps)
{
  for (gsize r = 0; r < rows; r++)
    {
      const float *row = x + r * cols;
      double sum = 0.0, scale;

      for (gsize c = 0; c < cols; c++)
        sum += (double) row[c] * row[c];
      scale = 1.0 / sqrt (sum / cols + eps);
      for (gsize c = 0; c < cols; c++)
        out[r * cols + c] = (float) (row[c] * scale * weight[c]);
    }
}

void
loom_ref_matmul (const float *a,
                 const float *w,
                 float       *out,
                 float       *magnitude,
                 gsize        m,
                 gsize        n,
                 gsize        k)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        const float *ar = a + i * k, *wr = w + j * k;
        double acc = 0.0, mag = 0.0;

        for (gsize l = 0; l < k; l++)
          {
            double p = (double) ar[l] * wr[l];
            acc += p;
            mag += fabs (p);
          }
        out[i * n + j] = (float) acc;
        if (magnitude != NULL)
          magnitude[i * n + j] = (float) mag;
      }
}

void
loom_ref_swiglu (const float *gate,
                 const float *up,
                 float       *out,
                 gsize        n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = (float) (gate[i] / (1.0 + exp (-(double) gate[i])) * up[i]);
}

void
loom_ref_bias (float       *x,
               const float *b,
               gsize        rows,
               gsize        cols)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      x[r * cols + c] += b[c];
}

void
loom_ref_rope (float       *x,
               gsize        n_tokens,
               gsize        n_heads,
               gsize        head_dim,
               guint        rope_dim,
               guint        pos0,
               double       freq_base,
               double       freq_scale,
               gboolean     neox,
               const float *factors,
               double      *max_theta)
{
  guint half_dim = rope_dim / 2;

  if (max_theta != NULL)
    *max_theta = 0.0;
  for (gsize t = 0; t < n_tokens; t++)
    for (gsize h = 0; h < n_heads; h++)
      for (guint i = 0; i < half_dim; i++)
        {
          float *head = x + (t * n_heads + h) * head_dim;
          double theta = (pos0 + t) * freq_scale * pow (freq_base, -2.0 * i / rope_dim);
          gsize i0 = neox ? i : 2 * i, i1 = neox ? i + half_dim : 2 * i + 1;
          double a = head[i0], b = head[i1];

          if (factors != NULL)
            theta /= factors[i];
          if (max_theta != NULL)
            *max_theta = MAX (*max_theta, fabs (theta));
          head[i0] = (float) (a * cos (theta) - b * sin (theta));
          head[i1] = (float) (a * sin (theta) + b * cos (theta));
        }
}

/* One query of one head against n_keys keys and values (rows @stride floats apart):
 * out = softmax(scale · q·kᵀ) · v in double. Raises *max_score_error (γ · scale · Σ|q·k|)
 * and *max_score when given, and writes Σ p·|v| into @magnitude when given. */
static void
attend_row (const float *qh,
            const float *k,
            const float *v,
            gsize        stride,
            gsize        n_keys,
            gsize        head_dim,
            double       scale,
            double       gamma,
            double      *scores,
            float       *out,
            float       *magnitude,
            double      *max_score_error,
            double      *max_score)
{
  double max = -INFINITY, sum = 0.0;

  for (gsize t = 0; t < n_keys; t++)
    {
      const float *kt = k + t * stride;
      double dot = 0.0, mag = 0.0;

      for (gsize d = 0; d < head_dim; d++)
        {
          double p = (double) qh[d] * kt[d];
          dot += p;
          mag += fabs (p);
        }
      scores[t] = dot * scale;
      max = MAX (max, scores[t]);
      if (max_score != NULL)
        *max_score = MAX (*max_score, fabs (scores[t]));
      if (max_score_error != NULL)
        *max_score_error = MAX (*max_score_error, gamma * mag * scale);
    }
  for (gsize t = 0; t < n_keys; t++)
    {
      scores[t] = exp (scores[t] - max);
      sum += scores[t];
    }
  for (gsize d = 0; d < head_dim; d++)
    {
      double acc = 0.0, mag = 0.0;

      for (gsize t = 0; t < n_keys; t++)
        {
          double vt = v[t * stride + d];
          acc += scores[t] / sum * vt;
          mag += scores[t] / sum * fabs (vt);
        }
      out[d] = (float) acc;
      if (magnitude != NULL)
        magnitude[d] = (float) mag;
    }
}

void
loom_ref_attention (const float   *q,
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
                    float         *magnitude)
{
  gsize n_keys = pos0 + n_q;
  g_autofree double *scores = g_new (double, n_keys);
  double u = 1.0 / 16777216.0;
  double gamma = head_dim * u / (1.0 - head_dim * u);

  if (max_score_error != NULL)
    *max_score_error = 0.0;
  if (max_score != NULL)
    *max_score = 0.0;
  for (gsize i = 0; i < n_q; i++)
    for (gsize h = 0; h < n_heads; h++)
      {
        gsize kv = h / (n_heads / n_kv_heads);
        gsize row = (i * n_heads + h) * head_dim;

        /* Causal: query i sees the cached positions up to its own. */
        attend_row (q + row, k_cache + kv * head_dim, v_cache + kv * head_dim,
                    n_kv_heads * head_dim, pos0 + i + 1, head_dim, scale, gamma, scores,
                    out + row, magnitude != NULL ? magnitude + row : NULL, max_score_error,
                    max_score);
      }
}

void
loom_ref_conv2d (const float *x,
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
                 guint        pad_extra_end)
{
  gsize h_out = (h + 2 * pad + pad_extra_end - kernel) / stride + 1;
  gsize w_out = (w + 2 * pad + pad_extra_end - kernel) / stride + 1;

  for (gsize co = 0; co < c_out; co++)
    for (gsize oy = 0; oy < h_out; oy++)
      for (gsize ox = 0; ox < w_out; ox++)
        {
          double acc = bias != NULL ? bias[co] : 0.0;
          double mag = fabs (acc);

          for (gsize ci = 0; ci < c_in; ci++)
            for (guint ky = 0; ky < kernel; ky++)
              for (guint kx = 0; kx < kernel; kx++)
                {
                  /* Padded coordinates; the zeros contribute nothing. */
                  gssize iy = (gssize) (oy * stride + ky) - (gssize) pad;
                  gssize ix = (gssize) (ox * stride + kx) - (gssize) pad;
                  double p;

                  if (iy < 0 || ix < 0 || iy >= (gssize) h || ix >= (gssize) w)
                    continue;
                  p = (double) weight[((co * c_in + ci) * kernel + ky) * kernel + kx]
                      * x[(ci * h + iy) * w + ix];
                  acc += p;
                  mag += fabs (p);
                }
          out[(co * h_out + oy) * w_out + ox] = (float) acc;
          if (magnitude != NULL)
            magnitude[(co * h_out + oy) * w_out + ox] = (float) mag;
        }
}

void
loom_ref_upsample_nearest (const float *x,
                           float       *out,
                           gsize        channels,
                           gsize        h,
                           gsize        w)
{
  for (gsize c = 0; c < channels; c++)
    for (gsize y = 0; y < 2 * h; y++)
      for (gsize i = 0; i < 2 * w; i++)
        out[(c * 2 * h + y) * 2 * w + i] = x[(c * h + y / 2) * w + i / 2];
}

void
loom_ref_add_channel (float       *x,
                      const float *b,
                      gsize        channels,
                      gsize        hw)
{
  for (gsize c = 0; c < channels; c++)
    for (gsize i = 0; i < hw; i++)
      x[c * hw + i] += b[c];
}

void
loom_ref_transpose (const float *x,
                    float       *out,
                    gsize        rows,
                    gsize        cols)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      out[c * rows + r] = x[r * cols + c];
}

void
loom_ref_quick_gelu (const float *x,
                     float       *out,
                     gsize        n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = (float) (x[i] / (1.0 + exp (-1.702 * x[i])));
}

/* Normalises n values (a group, or a row) to out: y = (x − μ)/√(σ² + eps)·γ + β, then
 * SiLU when @silu; value i takes γ and β of channel i / @per_channel. */
static void
normalize (const float *x,
           const float *weight,
           const float *bias,
           float       *out,
           gsize        n,
           gsize        per_channel,
           float        eps,
           gboolean     silu)
{
  double mean = 0.0, var = 0.0, rstd;

  for (gsize i = 0; i < n; i++)
    mean += x[i];
  mean /= n;
  for (gsize i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  rstd = 1.0 / sqrt (var / n + eps);
  for (gsize i = 0; i < n; i++)
    {
      gsize c = i / per_channel;
      double y = (x[i] - mean) * rstd * weight[c] + bias[c];

      out[i] = (float) (silu ? y / (1.0 + exp (-y)) : y);
    }
}

void
loom_ref_group_norm (const float *x,
                     const float *weight,
                     const float *bias,
                     float       *out,
                     gsize        channels,
                     gsize        hw,
                     gsize        groups,
                     float        eps,
                     gboolean     silu)
{
  gsize per_group = channels / groups;

  for (gsize g = 0; g < groups; g++)
    normalize (x + g * per_group * hw, weight + g * per_group, bias + g * per_group,
               out + g * per_group * hw, per_group * hw, hw, eps, silu);
}

void
loom_ref_layer_norm (const float *x,
                     const float *weight,
                     const float *bias,
                     float       *out,
                     gsize        rows,
                     gsize        cols,
                     float        eps)
{
  for (gsize r = 0; r < rows; r++)
    normalize (x + r * cols, weight, bias, out + r * cols, cols, 1, eps, FALSE);
}

void
loom_ref_flash_attention (const float *q,
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
                          float       *magnitude)
{
  g_autofree double *scores = g_new (double, MAX (n_kv, 1));
  double u = 1.0 / 16777216.0;
  double gamma = (head_dim + 1) * u / (1.0 - (head_dim + 1) * u);

  if (max_score_error != NULL)
    *max_score_error = 0.0;
  if (max_score != NULL)
    *max_score = 0.0;
  for (gsize i = 0; i < n_q; i++)
    for (gsize h = 0; h < n_heads; h++)
      {
        gsize row = (i * n_heads + h) * head_dim;

        attend_row (q + i * q_stride + h * head_dim, k + h * head_dim, v + h * head_dim,
                    kv_stride, n_kv, head_dim, scale, gamma, scores, out + row,
                    magnitude != NULL ? magnitude + row : NULL, max_score_error, max_score);
      }
}

void
loom_ref_geglu (const float *x,
                float       *out,
                gsize        rows,
                gsize        cols)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      {
        double a = x[r * 2 * cols + c], gate = x[r * 2 * cols + cols + c];
        out[r * cols + c] = (float) (a * 0.5 * gate * (1.0 + erf (gate / G_SQRT2)));
      }
}

void
loom_ref_timestep_embedding (float  *out,
                             gsize   dim,
                             double  timestep)
{
  gsize half = dim / 2;

  for (gsize i = 0; i < half; i++)
    {
      double theta = timestep * exp (-log (10000.0) * i / half);
      out[i] = (float) cos (theta);
      out[half + i] = (float) sin (theta);
    }
}
