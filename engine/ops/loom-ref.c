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
