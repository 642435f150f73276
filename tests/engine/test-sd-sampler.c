/* test-sd-sampler.c — diffusion schedules, samplers and the latent noise, against
 * published values (Random123's Philox vectors, SD's σ range) and analytic denoisers
 * whose exact results are known.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "loom-test-util.h"

#include "image/loom-sd-sampler.h"

static const LoomSdSamplerKind all_kinds[] = {
  LOOM_SD_SAMPLER_EULER,
  LOOM_SD_SAMPLER_EULER_ANCESTRAL,
  LOOM_SD_SAMPLER_DPMPP_2M_KARRAS,
  LOOM_SD_SAMPLER_TURBO,
};

static void
test_names (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_kinds); i++)
    {
      LoomSdSamplerKind kind = -1;

      g_assert_true (loom_sd_sampler_from_string (loom_sd_sampler_to_string (all_kinds[i]),
                                                  &kind));
      g_assert_cmpint (kind, ==, all_kinds[i]);
      kind = -1;
      g_assert_true (loom_sd_sampler_from_string (loom_sd_sampler_display_name (all_kinds[i]),
                                                  &kind));
      g_assert_cmpint (kind, ==, all_kinds[i]);
    }
  g_assert_cmpstr (loom_sd_sampler_to_string (LOOM_SD_SAMPLER_EULER_ANCESTRAL), ==, "euler_a");
  g_assert_cmpstr (loom_sd_sampler_display_name (LOOM_SD_SAMPLER_EULER_ANCESTRAL), ==, "Euler a");
  g_assert_cmpstr (loom_sd_sampler_display_name (LOOM_SD_SAMPLER_DPMPP_2M_KARRAS), ==,
                   "DPM++ 2M Karras");
  g_assert_false (loom_sd_sampler_from_string ("heun", NULL));
}

/* Random123's kat_vectors for philox4x32 10. */
static void
test_philox_known_answers (void)
{
  static const struct
  {
    guint32 counter[4];
    guint32 key[2];
    guint32 expected[4];
  } kats[] = {
    { { 0, 0, 0, 0 }, { 0, 0 },
      { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
    { { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
      { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
    { { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
      { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kats); i++)
    {
      guint32 out[4];

      loom_philox4x32_10 (kats[i].counter, kats[i].key, out);
      for (guint k = 0; k < 4; k++)
        g_assert_cmphex (out[k], ==, kats[i].expected[k]);
    }
}

/* The first elements follow the mapping the header documents, computed here from the
 * Philox block directly. */
static void
test_noise_mapping (void)
{
  const guint64 seed = G_GUINT64_CONSTANT (0x0123456789abcdef);
  const guint32 key[2] = { 0x89abcdef, 0x01234567 };
  float noise[6];

  loom_sd_noise (seed, 7, noise, G_N_ELEMENTS (noise));
  for (guint pair = 0; pair < 3; pair++)
    {
      const guint32 counter[4] = { pair, 7, 0, 0 };
      guint32 w[4];
      double u1, u2;

      loom_philox4x32_10 (counter, key, w);
      u1 = (w[0] + 1.0) / 4294967296.0;
      u2 = w[1] / 4294967296.0;
      g_assert_cmpfloat_with_epsilon (noise[2 * pair],
                                      sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2), 1e-6);
      g_assert_cmpfloat_with_epsilon (noise[2 * pair + 1],
                                      sqrt (-2.0 * log (u1)) * sin (2.0 * G_PI * u2), 1e-6);
    }
}

static void
test_noise_statistics (void)
{
  const gsize n = 1000000;
  g_autofree float *noise = g_new (float, n);
  double sum = 0.0, sum2 = 0.0, sum4 = 0.0, mean, variance, kurtosis, lag = 0.0;
  gsize beyond_3 = 0;

  loom_sd_noise (12345, 0, noise, n);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (noise[i]));
      sum += noise[i];
      sum2 += (double) noise[i] * noise[i];
      sum4 += (double) noise[i] * noise[i] * noise[i] * noise[i];
      if (fabsf (noise[i]) > 3.0f)
        beyond_3++;
      if (i > 0)
        lag += (double) noise[i] * noise[i - 1];
    }
  mean = sum / n;
  variance = sum2 / n - mean * mean;
  kurtosis = sum4 / n / (variance * variance);
  g_test_message ("mean %.5f variance %.5f kurtosis %.4f P(|z|>3) %.5f lag-1 %.5f",
                  mean, variance, kurtosis, (double) beyond_3 / n, lag / n);
  g_assert_cmpfloat (fabs (mean), <, 0.005);
  g_assert_cmpfloat (fabs (variance - 1.0), <, 0.01);
  /* Normal, not just unit variance: kurtosis 3, P(|z| > 3) = 0.0027; the two halves of
   * a Box–Muller pair are uncorrelated. */
  g_assert_cmpfloat (fabs (kurtosis - 3.0), <, 0.03);
  g_assert_cmpfloat (fabs ((double) beyond_3 / n - 0.0027), <, 0.0003);
  g_assert_cmpfloat (fabs (lag / n), <, 0.005);
}

static void
test_noise_determinism (void)
{
  const gsize n = 1001;
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  float prefix[7];

  loom_sd_noise (42, 3, a, n);
  loom_sd_noise (42, 3, b, n);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));

  /* Element i does not depend on how many are drawn, also with an odd count. */
  loom_sd_noise (42, 3, prefix, G_N_ELEMENTS (prefix));
  g_assert_cmpmem (prefix, sizeof prefix, a, sizeof prefix);

  /* Another stream, another seed, and the seed's high word each change every value. */
  loom_sd_noise (42, 4, b, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (a[i], !=, b[i]);
  loom_sd_noise (43, 3, b, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (a[i], !=, b[i]);
  loom_sd_noise (42 + (G_GUINT64_CONSTANT (1) << 32), 3, b, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (a[i], !=, b[i]);
}

/* k-diffusion / diffusers' published σ range of SD's schedule: 0.029167533 and
 * 14.614640 there, from ᾱ stored in float32; in double σ_min is 0.029167158. */
static void
test_schedule (void)
{
  double previous = 0.0;

  g_assert_cmpfloat_with_epsilon (loom_sd_sigma_at (0), 0.0291675, 1e-6);
  g_assert_cmpfloat_with_epsilon (loom_sd_sigma_at (999), 14.61464, 1e-5);
  for (guint t = 0; t < LOOM_SD_TRAIN_STEPS; t++)
    {
      double sigma = loom_sd_sigma_at (t);

      g_assert_cmpfloat (sigma, >, previous);
      previous = sigma;
    }

  /* Interpolation is in log σ: halfway is the geometric mean. */
  g_assert_cmpfloat_with_epsilon (loom_sd_sigma_at (500.5),
                                  sqrt (loom_sd_sigma_at (500) * loom_sd_sigma_at (501)),
                                  1e-12);

  for (double t = 0.0; t <= 999.0; t += 0.37)
    g_assert_cmpfloat_with_epsilon (loom_sd_timestep_at (loom_sd_sigma_at (t)), t, 1e-9);
  for (double sigma = 0.03; sigma < 14.6; sigma *= 1.01)
    g_assert_cmpfloat_with_epsilon (loom_sd_sigma_at (loom_sd_timestep_at (sigma)) / sigma,
                                    1.0, 1e-12);
  g_assert_cmpfloat (loom_sd_timestep_at (0.0), ==, 0.0);
  g_assert_cmpfloat (loom_sd_timestep_at (100.0), ==, 999.0);
}

static void
test_karras_sigmas (void)
{
  g_autofree double *sigmas = loom_sd_sigmas (LOOM_SD_SAMPLER_DPMPP_2M_KARRAS, 10);
  g_autofree double *one = loom_sd_sigmas (LOOM_SD_SAMPLER_DPMPP_2M_KARRAS, 1);
  double sigma_min = loom_sd_sigma_at (0), sigma_max = loom_sd_sigma_at (999);

  /* Karras et al. 2022, eq. 5 with ρ = 7. */
  for (guint i = 0; i < 10; i++)
    {
      double expected = pow (pow (sigma_max, 1.0 / 7.0)
                             + i / 9.0 * (pow (sigma_min, 1.0 / 7.0)
                                          - pow (sigma_max, 1.0 / 7.0)), 7.0);

      g_assert_cmpfloat_with_epsilon (sigmas[i] / expected, 1.0, 1e-12);
    }
  g_assert_cmpfloat_with_epsilon (sigmas[9], sigma_min, 1e-12);
  g_assert_cmpfloat (sigmas[10], ==, 0.0);
  g_assert_cmpfloat_with_epsilon (one[0], sigma_max, 1e-12);
  g_assert_cmpfloat (one[1], ==, 0.0);
}

static void
assert_timesteps (LoomSdSamplerKind kind,
                  guint             n_steps,
                  const double     *expected)
{
  g_autofree double *sigmas = loom_sd_sigmas (kind, n_steps);

  for (guint i = 0; i < n_steps; i++)
    g_assert_cmpfloat_with_epsilon (loom_sd_timestep_at (sigmas[i]), expected[i], 1e-6);
  g_assert_cmpfloat (sigmas[n_steps], ==, 0.0);
}

static void
test_timesteps (void)
{
  /* k-diffusion: linspace(999, 0, n). */
  assert_timesteps (LOOM_SD_SAMPLER_EULER, 1, (double[]) { 999 });
  assert_timesteps (LOOM_SD_SAMPLER_EULER, 4, (double[]) { 999, 666, 333, 0 });
  assert_timesteps (LOOM_SD_SAMPLER_EULER_ANCESTRAL, 10,
                    (double[]) { 999, 888, 777, 666, 555, 444, 333, 222, 111, 0 });
  /* diffusers' "trailing" spacing, numpy's rounding of halves to even included. */
  assert_timesteps (LOOM_SD_SAMPLER_TURBO, 1, (double[]) { 999 });
  assert_timesteps (LOOM_SD_SAMPLER_TURBO, 3, (double[]) { 999, 666, 332 });
  assert_timesteps (LOOM_SD_SAMPLER_TURBO, 4, (double[]) { 999, 749, 499, 249 });
  assert_timesteps (LOOM_SD_SAMPLER_TURBO, 16,
                    (double[]) { 999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311,
                                 249, 187, 124, 61 });
}

/* Analytic denoisers ------------------------------------------------------------------ */

typedef struct
{
  const float *c;        /* point mass: D = c */
  double       mu, s2;   /* Gaussian N(μ, s²): D = (s²·x + σ²·μ)/(s² + σ²) */
  guint        calls;
  double       sigmas[64];
  guint        cancel_at;
  guint        steps_seen;
  guint        total_seen;
  /* inpainting: the kept region must be the original noised to σ on every call */
  const float *keep, *mask, *keep_noise;
  gsize        cells;
  guint        first_step;
} Denoiser;

static gboolean
point_mass_cb (const float *x,
               double       sigma,
               float       *denoised,
               gsize        n,
               gpointer     user_data,
               GError     **error)
{
  Denoiser *d = user_data;

  if (d->calls < G_N_ELEMENTS (d->sigmas))
    d->sigmas[d->calls] = sigma;
  d->calls++;
  if (d->keep != NULL && d->calls > 1)
    for (gsize j = 0; j < n; j++)
      if (d->mask[j % d->cells] == 0.0f)
        g_assert_cmpfloat_with_epsilon (x[j], d->keep[j] + d->keep_noise[j] * (float) sigma,
                                        1e-5 * (1.0 + sigma));
  memcpy (denoised, d->c, n * sizeof (float));
  return TRUE;
}

static gboolean
gaussian_cb (const float *x,
             double       sigma,
             float       *denoised,
             gsize        n,
             gpointer     user_data,
             GError     **error)
{
  Denoiser *d = user_data;
  double v = sigma * sigma;

  for (gsize j = 0; j < n; j++)
    denoised[j] = (float) ((d->s2 * x[j] + v * d->mu) / (d->s2 + v));
  return TRUE;
}

static gboolean
step_cb (guint        step,
         guint        n_steps,
         const float *denoised,
         gsize        n,
         gpointer     user_data)
{
  Denoiser *d = user_data;

  g_assert_cmpuint (step, ==, d->steps_seen + 1);
  d->steps_seen = step;
  d->total_seen = n_steps;
  return d->cancel_at == 0 || step < d->cancel_at;
}

/* For a single data point c the ideal denoiser is constant, and every sampler's last
 * step (to σ = 0) lands on c exactly, from any start. */
static void
test_point_mass (void)
{
  const gsize n = 1024;
  g_autofree float *c = g_new (float, n);
  g_autofree float *x = g_new (float, n);

  for (gsize j = 0; j < n; j++)
    c[j] = sinf (j * 0.37f) * 1.7f;
  for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++)
    for (guint steps = 1; steps <= 25; steps += 6)
      {
        LoomSdSampleParams params = { .kind = all_kinds[k], .n_steps = steps, .seed = 7 };
        Denoiser d = { .c = c };
        g_autoptr(GError) error = NULL;
        g_autofree double *sigmas = loom_sd_sigmas (all_kinds[k], steps);

        loom_sd_prepare_txt2img (all_kinds[k], steps, 99, x, n);
        x[0] = 1000.0f;  /* any start */
        g_assert_true (loom_sd_sample (&params, x, n, point_mass_cb, &d, step_cb, &d, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (d.calls, ==, steps);
        g_assert_cmpuint (d.steps_seen, ==, steps);
        g_assert_cmpuint (d.total_seen, ==, steps);
        for (guint i = 0; i < steps; i++)
          g_assert_cmpfloat (d.sigmas[i], ==, sigmas[i]);
        for (gsize j = 0; j < n; j++)
          g_assert_cmpfloat (x[j], ==, c[j]);
      }
}

/* Gaussian data N(μ, s²) per element: the ideal denoiser D = (s²·x + σ²·μ)/(s² + σ²) is
 * linear, so each sampler's arithmetic has a closed form to compare with, and the true
 * distribution is what the samplers should converge to. */

typedef struct
{
  double mean, variance;
  double max_gain_error;  /* deterministic samplers: largest |x − (μ + gain·(x_0 − μ))| */
} Outcome;

static Outcome
run_gaussian (LoomSdSamplerKind kind,
              guint             steps,
              gsize             n,
              double            mu,
              double            s,
              double            gain)
{
  g_autofree float *x = g_new (float, n);
  g_autofree float *z = g_new (float, n);
  g_autofree double *sigmas = loom_sd_sigmas (kind, steps);
  LoomSdSampleParams params = { .kind = kind, .n_steps = steps, .seed = 2024 };
  Denoiser d = { .mu = mu, .s2 = s * s };
  g_autoptr(GError) error = NULL;
  double sd0 = sqrt (s * s + sigmas[0] * sigmas[0]), sum = 0.0, sum2 = 0.0;
  Outcome outcome = { 0 };

  /* Start from the true marginal at σ_0: N(μ, s² + σ_0²). */
  loom_sd_noise (5, 0, z, n);
  for (gsize j = 0; j < n; j++)
    x[j] = (float) (mu + sd0 * z[j]);
  g_assert_true (loom_sd_sample (&params, x, n, gaussian_cb, &d, NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize j = 0; j < n; j++)
    {
      double start = (float) (mu + sd0 * z[j]);

      sum += x[j];
      sum2 += (double) x[j] * x[j];
      outcome.max_gain_error = MAX (outcome.max_gain_error,
                                    fabs (x[j] - (mu + gain * (start - mu)))
                                    / (1.0 + fabs (start - mu)));
    }
  outcome.mean = sum / n;
  outcome.variance = sum2 / n - outcome.mean * outcome.mean;
  return outcome;
}

/* The gain on x − μ of Euler (k-diffusion's sample_euler: x += (x − D)/σ·(σ_next − σ))
 * and of DPM++ 2M (sample_dpmpp_2m, in t = −log σ), carried through the steps. */
static double
deterministic_gain (LoomSdSamplerKind kind,
                    const double     *sigmas,
                    guint             steps,
                    double            s2)
{
  double gain = 1.0, old_denoised = 0.0;

  for (guint i = 0; i < steps; i++)
    {
      double sigma = sigmas[i], next = sigmas[i + 1];
      double denoised = s2 / (s2 + sigma * sigma) * gain;  /* D − μ per unit x_0 − μ */

      if (kind == LOOM_SD_SAMPLER_EULER)
        gain += (gain - denoised) / sigma * (next - sigma);
      else
        {
          double t = -log (sigma), t_next = -log (next), h = t_next - t;
          double d = denoised;

          if (i > 0 && next > 0.0)
            {
              double r = (t - -log (sigmas[i - 1])) / h;

              d = (1.0 + 1.0 / (2.0 * r)) * denoised - 1.0 / (2.0 * r) * old_denoised;
            }
          gain = next / sigma * gain - expm1 (-h) * d;
        }
      old_denoised = denoised;
    }
  return gain;
}

/* Euler ancestral's variance: the step to σ_down scales x − μ by
 * (s² + σ_down·σ)/(s² + σ²), then noise of variance σ_up² is added. */
static double
ancestral_variance (const double *sigmas,
                    guint         steps,
                    double        s2)
{
  double v = s2 + sigmas[0] * sigmas[0];

  for (guint i = 0; i < steps; i++)
    {
      double sigma = sigmas[i], next = sigmas[i + 1];
      double up = MIN (next, sqrt (next * next * (sigma * sigma - next * next) / (sigma * sigma)));
      double down = sqrt (next * next - up * up);
      double scale = (s2 + down * sigma) / (s2 + sigma * sigma);

      v = v * scale * scale + up * up;
    }
  return v;
}

static void
test_gaussian (void)
{
  static const struct
  {
    double mu, s;
  } cases[] = { { 0.5, 1.0 }, { -0.3, 0.7 } };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      double mu = cases[c].mu, s = cases[c].s, s2 = s * s;

      /* Each sampler does exactly its arithmetic at 30 steps. */
      for (guint k = 0; k < 3; k++)
        {
          LoomSdSamplerKind kind = all_kinds[k];
          g_autofree double *sigmas = loom_sd_sigmas (kind, 30);
          double gain = deterministic_gain (kind, sigmas, 30, s2);
          double variance = kind == LOOM_SD_SAMPLER_EULER_ANCESTRAL
                              ? ancestral_variance (sigmas, 30, s2)
                              : gain * gain * (s2 + sigmas[0] * sigmas[0]);
          Outcome outcome = run_gaussian (kind, 30, 200000, mu, s, gain);

          g_test_message ("mean %.1f sd %.1f, %s 30 steps: mean %.4f variance %.4f, "
                          "expected %.4f", mu, s, loom_sd_sampler_to_string (kind),
                          outcome.mean, outcome.variance, variance);
          g_assert_cmpfloat (fabs (outcome.mean - mu), <, 0.01 * s);
          g_assert_cmpfloat (fabs (outcome.variance / variance - 1.0), <, 0.015);
          if (kind != LOOM_SD_SAMPLER_EULER_ANCESTRAL)
            {
              g_test_message ("  per sample: relative error %.2g", outcome.max_gain_error);
              g_assert_cmpfloat (outcome.max_gain_error, <, 1e-5);
            }
        }

      /* And they converge to N(μ, s²): DPM++ 2M (second order, on Karras' σ) already at
       * 30 steps; the first-order Euler samplers on k-diffusion's linear timesteps, whose
       * last step jumps from σ ≈ 0.18 to 0.03, fall short by 9–25 % there and need more. */
      {
        Outcome dpmpp = run_gaussian (LOOM_SD_SAMPLER_DPMPP_2M_KARRAS, 30, 50000, mu, s, 0.0);
        Outcome euler = run_gaussian (LOOM_SD_SAMPLER_EULER, 300, 50000, mu, s, 0.0);
        Outcome euler_a = run_gaussian (LOOM_SD_SAMPLER_EULER_ANCESTRAL, 300, 50000, mu, s, 0.0);

        g_test_message ("mean %.1f variance %.2f: dpm++ 2m 30 steps %.4f/%.4f, euler 300 "
                        "steps %.4f/%.4f, euler a 300 steps %.4f/%.4f", mu, s2, dpmpp.mean,
                        dpmpp.variance, euler.mean, euler.variance, euler_a.mean,
                        euler_a.variance);
        g_assert_cmpfloat (fabs (dpmpp.mean - mu), <, 0.02 * s);
        g_assert_cmpfloat (fabs (euler.mean - mu), <, 0.02 * s);
        g_assert_cmpfloat (fabs (euler_a.mean - mu), <, 0.02 * s);
        g_assert_cmpfloat (fabs (dpmpp.variance / s2 - 1.0), <, 0.03);
        g_assert_cmpfloat (fabs (euler.variance / s2 - 1.0), <, 0.03);
        g_assert_cmpfloat (fabs (euler_a.variance / s2 - 1.0), <, 0.05);
      }
    }
}

/* Turbo re-noises the denoised estimate to the next σ: for Gaussian data its variance
 * follows v' = (s²/(s² + σ²))²·v + σ_next² from v_0 = s² + σ_0², the mean stays μ. */
static void
test_turbo_gaussian (void)
{
  const double mu = 0.25, s = 0.8;

  for (guint steps = 1; steps <= 4; steps++)
    {
      g_autofree double *sigmas = loom_sd_sigmas (LOOM_SD_SAMPLER_TURBO, steps);
      double v = s * s + sigmas[0] * sigmas[0];
      Outcome turbo = run_gaussian (LOOM_SD_SAMPLER_TURBO, steps, 200000, mu, s, 0.0);

      for (guint i = 0; i < steps; i++)
        {
          double gain = s * s / (s * s + sigmas[i] * sigmas[i]);

          v = gain * gain * v + sigmas[i + 1] * sigmas[i + 1];
        }
      g_test_message ("turbo %u steps: mean %.4f variance %.4f, expected %.4f",
                      steps, turbo.mean, turbo.variance, v);
      g_assert_cmpfloat (fabs (turbo.mean - mu), <, 0.01);
      g_assert_cmpfloat (fabs (turbo.variance / v - 1.0), <, 0.015);
    }
}

static void
test_img2img (void)
{
  const gsize n = 256;
  const guint steps = 20;
  g_autofree float *init = g_new (float, n);
  g_autofree float *x = g_new (float, n);
  g_autofree float *noise = g_new (float, n);
  g_autofree double *sigmas = loom_sd_sigmas (LOOM_SD_SAMPLER_EULER, steps);
  guint first = loom_sd_img2img_first_step (steps, 0.75);
  LoomSdSampleParams params = {
    .kind = LOOM_SD_SAMPLER_EULER, .n_steps = steps, .first_step = first, .seed = 3,
  };
  Denoiser d = { .c = init };
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (first, ==, 5);
  g_assert_cmpuint (loom_sd_img2img_first_step (steps, 1.0), ==, 0);
  g_assert_cmpuint (loom_sd_img2img_first_step (steps, 0.01), ==, 19);
  g_assert_cmpuint (loom_sd_img2img_first_step (steps, 0.5), ==, 10);
  g_assert_cmpuint (loom_sd_img2img_first_step (25, 0.5), ==, 12);

  for (gsize j = 0; j < n; j++)
    init[j] = cosf (j * 0.1f);
  loom_sd_prepare_img2img (LOOM_SD_SAMPLER_EULER, steps, first, 3, init, x, n);
  loom_sd_noise (3, 0, noise, n);
  for (gsize j = 0; j < n; j++)
    g_assert_cmpfloat_with_epsilon (x[j], init[j] + noise[j] * sigmas[first], 1e-5);

  g_assert_true (loom_sd_sample (&params, x, n, point_mass_cb, &d, step_cb, &d, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d.calls, ==, steps - first);
  g_assert_cmpfloat (d.sigmas[0], ==, sigmas[first]);
  g_assert_cmpuint (d.steps_seen, ==, steps - first);
  g_assert_cmpuint (d.total_seen, ==, steps - first);
}

/* Latent blending keeps the mask-0 cells, on every channel, at the original noised to
 * the current σ, and at the original exactly at the end; the others are generated. */
static void
test_inpaint (void)
{
  const guint channels = 4, h = 8, w = 8;
  const gsize cells = h * w, n = channels * cells;
  g_autofree float *keep = g_new (float, n);
  g_autofree float *target = g_new (float, n);
  g_autofree float *mask = g_new (float, cells);
  g_autofree float *keep_noise = g_new (float, n);
  g_autofree float *x = g_new (float, n);

  for (gsize j = 0; j < n; j++)
    {
      keep[j] = sinf (j * 0.21f);
      target[j] = keep[j] + 2.0f;
    }
  for (gsize p = 0; p < cells; p++)
    mask[p] = p % w < w / 2 ? 0.0f : 1.0f;
  loom_sd_noise (11, 0, keep_noise, n);

  for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++)
    {
      LoomSdSampleParams params = {
        .kind = all_kinds[k], .n_steps = 12, .first_step = 4, .seed = 11,
        .keep_latent = keep, .mask = mask, .channels = channels,
      };
      Denoiser d = {
        .c = target, .keep = keep, .mask = mask, .keep_noise = keep_noise, .cells = cells,
      };
      g_autoptr(GError) error = NULL;

      loom_sd_prepare_img2img (all_kinds[k], 12, 4, 11, keep, x, n);
      g_assert_true (loom_sd_sample (&params, x, n, point_mass_cb, &d, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (d.calls, ==, 8);
      for (gsize j = 0; j < n; j++)
        if (mask[j % cells] == 0.0f)
          g_assert_cmpfloat (x[j], ==, keep[j]);
        else
          g_assert_cmpfloat (x[j], ==, target[j]);
    }
}

static void
test_prediction_to_denoised (void)
{
  const float x[2] = { 1.0f, -2.0f }, prediction[2] = { 0.5f, 0.25f };
  float denoised[2];
  const gsize n = 512;
  g_autofree float *x0 = g_new (float, n);
  g_autofree float *eps = g_new (float, n);
  g_autofree float *xt = g_new (float, n);
  g_autofree float *v = g_new (float, n);
  g_autofree float *out = g_new (float, n);

  /* ε: D = x − σ·ε. */
  loom_sd_prediction_to_denoised (FALSE, x, prediction, 2.0, denoised, 2);
  g_assert_cmpfloat_with_epsilon (denoised[0], 0.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (denoised[1], -2.5, 1e-7);
  /* v at σ = 1: D = x/2 − v/√2. */
  loom_sd_prediction_to_denoised (TRUE, x, prediction, 1.0, denoised, 2);
  g_assert_cmpfloat_with_epsilon (denoised[0], 0.5 - 0.5 / G_SQRT2, 1e-6);
  g_assert_cmpfloat_with_epsilon (denoised[1], -1.0 - 0.25 / G_SQRT2, 1e-6);

  /* Both recover x0 from a noised x = x0 + σ·ε when given the true ε, or the true
   * v = α·ε − σ_vp·x0 with α = 1/√(1 + σ²), σ_vp = σ/√(1 + σ²) (diffusers' definition). */
  loom_sd_noise (1, 0, x0, n);
  loom_sd_noise (1, 1, eps, n);
  for (double sigma = 0.03; sigma < 15.0; sigma *= 2.0)
    {
      double root = sqrt (1.0 + sigma * sigma);

      for (gsize j = 0; j < n; j++)
        {
          xt[j] = (float) (x0[j] + sigma * eps[j]);
          v[j] = (float) ((eps[j] - sigma * x0[j]) / root);
        }
      loom_sd_prediction_to_denoised (FALSE, xt, eps, sigma, out, n);
      for (gsize j = 0; j < n; j++)
        g_assert_cmpfloat_with_epsilon (out[j], x0[j], 1e-5 * (1.0 + sigma));
      loom_sd_prediction_to_denoised (TRUE, xt, v, sigma, out, n);
      for (gsize j = 0; j < n; j++)
        g_assert_cmpfloat_with_epsilon (out[j], x0[j], 1e-5 * (1.0 + sigma));
    }

  g_assert_cmpfloat (loom_sd_c_in (0.0), ==, 1.0);
  g_assert_cmpfloat_with_epsilon (loom_sd_c_in (sqrt (3.0)), 0.5, 1e-15);
  g_assert_cmpfloat_with_epsilon (loom_sd_c_in (14.6146), 1.0 / sqrt (1.0 + 14.6146 * 14.6146),
                                  1e-15);
}

static void
test_guidance (void)
{
  const float cond[3] = { 1.0f, 2.0f, -1.0f }, uncond[3] = { 0.5f, 4.0f, -1.0f };
  float out[3];

  loom_sd_apply_guidance (cond, uncond, 7.5f, out, 3);
  g_assert_cmpfloat (out[0], ==, 4.25f);
  g_assert_cmpfloat (out[1], ==, -11.0f);
  g_assert_cmpfloat (out[2], ==, -1.0f);
  loom_sd_apply_guidance (cond, uncond, 1.0f, out, 3);
  g_assert_cmpmem (out, sizeof out, cond, sizeof cond);
}

static void
test_latent_preview (void)
{
  /* Three cells, latent [4][1][3]: zero, channel 0 = 1, and far out of range. */
  const float latent[12] = {
    0.0f, 1.0f, 10.0f,
    0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 10.0f,
  };
  guint8 rgba[12];

  loom_sd_latent_preview (latent, 1, 3, rgba);
  /* 0 → mid grey (127.5 rounds to even). */
  g_assert_cmpuint (rgba[0], ==, 128);
  g_assert_cmpuint (rgba[1], ==, 128);
  g_assert_cmpuint (rgba[2], ==, 128);
  g_assert_cmpuint (rgba[3], ==, 255);
  /* l0 = 1: (1 + 0.298)·127.5 = 165.5, (1 + 0.207)·127.5 = 153.9, (1 + 0.208)·127.5 = 154.0. */
  g_assert_cmpuint (rgba[4], ==, 165);
  g_assert_cmpuint (rgba[5], ==, 154);
  g_assert_cmpuint (rgba[6], ==, 154);
  g_assert_cmpuint (rgba[7], ==, 255);
  /* l0 = l3 = 10: r = 1.14, g = −0.64, b = −2.65 → clamped 255, 46, 0. */
  g_assert_cmpuint (rgba[8], ==, 255);
  g_assert_cmpuint (rgba[9], ==, 46);
  g_assert_cmpuint (rgba[10], ==, 0);
  g_assert_cmpuint (rgba[11], ==, 255);
}

static gboolean
failing_cb (const float *x,
            double       sigma,
            float       *denoised,
            gsize        n,
            gpointer     user_data,
            GError     **error)
{
  g_set_error_literal (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST, "lost");
  return FALSE;
}

static void
test_cancel (void)
{
  const gsize n = 64;
  float c[64], x[64];

  memset (c, 0, sizeof c);
  for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++)
    {
      LoomSdSampleParams params = { .kind = all_kinds[k], .n_steps = 10, .seed = 1 };
      Denoiser d = { .c = c, .cancel_at = 3 };
      g_autoptr(GError) error = NULL;

      loom_sd_prepare_txt2img (all_kinds[k], 10, 1, x, n);
      g_assert_false (loom_sd_sample (&params, x, n, point_mass_cb, &d, step_cb, &d, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpuint (d.calls, ==, 3);
      g_assert_cmpuint (d.steps_seen, ==, 3);

      /* A failing model stops the sampler with its error. */
      g_clear_error (&error);
      g_assert_false (loom_sd_sample (&params, x, n, failing_cb, NULL, step_cb, &d, &error));
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST);
    }
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/sd-sampler/names", test_names);
  g_test_add_func ("/engine/sd-sampler/philox-known-answers", test_philox_known_answers);
  g_test_add_func ("/engine/sd-sampler/noise-mapping", test_noise_mapping);
  g_test_add_func ("/engine/sd-sampler/noise-statistics", test_noise_statistics);
  g_test_add_func ("/engine/sd-sampler/noise-determinism", test_noise_determinism);
  g_test_add_func ("/engine/sd-sampler/schedule", test_schedule);
  g_test_add_func ("/engine/sd-sampler/karras-sigmas", test_karras_sigmas);
  g_test_add_func ("/engine/sd-sampler/timesteps", test_timesteps);
  g_test_add_func ("/engine/sd-sampler/point-mass", test_point_mass);
  g_test_add_func ("/engine/sd-sampler/gaussian", test_gaussian);
  g_test_add_func ("/engine/sd-sampler/turbo-gaussian", test_turbo_gaussian);
  g_test_add_func ("/engine/sd-sampler/img2img", test_img2img);
  g_test_add_func ("/engine/sd-sampler/inpaint", test_inpaint);
  g_test_add_func ("/engine/sd-sampler/prediction-to-denoised", test_prediction_to_denoised);
  g_test_add_func ("/engine/sd-sampler/guidance", test_guidance);
  g_test_add_func ("/engine/sd-sampler/latent-preview", test_latent_preview);
  g_test_add_func ("/engine/sd-sampler/cancel", test_cancel);

  return loom_test_run ();
}
