/* loom-sd-sampler.c — noise schedules, samplers and latent noise for Stable Diffusion.
 *
 * Everything here runs on the host in double (schedules) or float (latents); the model
 * itself is behind the LoomSdDenoiseFunc.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "loom-sd-sampler.h"

static const struct
{
  const char *name;
  const char *display_name;
} sampler_names[] = {
  [LOOM_SD_SAMPLER_EULER] = { "euler", "Euler" },
  [LOOM_SD_SAMPLER_EULER_ANCESTRAL] = { "euler_a", "Euler a" },
  [LOOM_SD_SAMPLER_DPMPP_2M_KARRAS] = { "dpmpp_2m_karras", "DPM++ 2M Karras" },
  /* k-diffusion (and so A1111) calls this scheme LCM: D, then re-noise to the next σ. */
  [LOOM_SD_SAMPLER_TURBO] = { "turbo", "LCM" },
};

const char *
loom_sd_sampler_to_string (LoomSdSamplerKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (sampler_names), NULL);
  return sampler_names[kind].name;
}

const char *
loom_sd_sampler_display_name (LoomSdSamplerKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (sampler_names), NULL);
  return sampler_names[kind].display_name;
}

/* Accepts Loom's names and the A1111 display names, in any case. */
gboolean
loom_sd_sampler_from_string (const char        *name,
                             LoomSdSamplerKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (sampler_names); i++)
    if (g_ascii_strcasecmp (name, sampler_names[i].name) == 0
        || g_ascii_strcasecmp (name, sampler_names[i].display_name) == 0)
      {
        if (kind != NULL)
          *kind = (LoomSdSamplerKind) i;
        return TRUE;
      }
  return FALSE;
}

/* Philox4x32-10 ---------------------------------------------------------------------- */

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u  /* golden ratio */
#define PHILOX_W1 0xBB67AE85u  /* √3 − 1 */

void
loom_philox4x32_10 (const guint32 counter[4],
                    const guint32 key[2],
                    guint32       out[4])
{
  guint32 c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  guint32 k0 = key[0], k1 = key[1];

  for (guint round = 0; round < 10; round++)
    {
      guint64 p0 = (guint64) PHILOX_M0 * c0;
      guint64 p1 = (guint64) PHILOX_M1 * c2;

      /* The key is bumped between rounds, not before the first. */
      if (round > 0)
        {
          k0 += PHILOX_W0;
          k1 += PHILOX_W1;
        }
      c0 = (guint32) (p1 >> 32) ^ c1 ^ k0;
      c1 = (guint32) p1;
      c2 = (guint32) (p0 >> 32) ^ c3 ^ k1;
      c3 = (guint32) p0;
    }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* The exact mapping is documented in the header; it must never change, or every saved
 * seed would give a different image. */
void
loom_sd_noise (guint64  seed,
               guint32  stream,
               float   *out,
               gsize    n)
{
  const guint32 key[2] = { (guint32) seed, (guint32) (seed >> 32) };

  g_return_if_fail (out != NULL || n == 0);

  for (gsize i = 0; i < n; i += 2)
    {
      guint64 pair = i / 2;
      guint32 counter[4] = { (guint32) pair, stream, (guint32) (pair >> 32), 0 };
      guint32 words[4];
      double u1, u2, radius, angle;

      loom_philox4x32_10 (counter, key, words);
      u1 = ((double) words[0] + 1.0) / 4294967296.0;  /* (0, 1]: ln never sees 0 */
      u2 = (double) words[1] / 4294967296.0;          /* [0, 1) */
      radius = sqrt (-2.0 * log (u1));
      angle = 2.0 * G_PI * u2;
      out[i] = (float) (radius * cos (angle));
      if (i + 1 < n)
        out[i + 1] = (float) (radius * sin (angle));
    }
}

/* Training schedule ------------------------------------------------------------------ */

typedef struct
{
  double sigma[LOOM_SD_TRAIN_STEPS];      /* σ_t, increasing in t */
  double log_sigma[LOOM_SD_TRAIN_STEPS];
} Schedule;

/* SD's "scaled_linear" betas: linear in √β from √0.00085 to √0.012. */
static const Schedule *
get_schedule (void)
{
  static Schedule *schedule;

  if (g_once_init_enter (&schedule))
    {
      Schedule *s = g_new (Schedule, 1);
      double start = sqrt (0.00085), end = sqrt (0.012);
      double alpha_bar = 1.0;

      for (guint t = 0; t < LOOM_SD_TRAIN_STEPS; t++)
        {
          double root_beta = start + (end - start) * t / (LOOM_SD_TRAIN_STEPS - 1);

          alpha_bar *= 1.0 - root_beta * root_beta;
          s->sigma[t] = sqrt ((1.0 - alpha_bar) / alpha_bar);
          s->log_sigma[t] = log (s->sigma[t]);
        }
      g_once_init_leave (&schedule, s);
    }
  return schedule;
}

/* Interpolated in log σ between the neighbouring training levels, as k-diffusion's
 * DiscreteSchedule.t_to_sigma. */
double
loom_sd_sigma_at (double timestep)
{
  const Schedule *s = get_schedule ();
  double t = CLAMP (timestep, 0.0, LOOM_SD_TRAIN_STEPS - 1.0);
  guint low = (guint) floor (t);
  double w = t - low;

  if (w == 0.0)
    return s->sigma[low];
  return exp ((1.0 - w) * s->log_sigma[low] + w * s->log_sigma[low + 1]);
}

/* The inverse of loom_sd_sigma_at, clamped to [0, 999] outside [σ_min, σ_max]. */
double
loom_sd_timestep_at (double sigma)
{
  const Schedule *s = get_schedule ();
  guint low = 0, high = LOOM_SD_TRAIN_STEPS - 1;
  double log_sigma, w;

  if (!(sigma > s->sigma[0]))
    return 0.0;
  if (sigma >= s->sigma[LOOM_SD_TRAIN_STEPS - 1])
    return LOOM_SD_TRAIN_STEPS - 1.0;

  /* The last level at or below σ, by bisection: log_sigma[low] ≤ log σ < log_sigma[high]. */
  log_sigma = log (sigma);
  while (high - low > 1)
    {
      guint mid = (low + high) / 2;

      if (s->log_sigma[mid] <= log_sigma)
        low = mid;
      else
        high = mid;
    }
  w = (log_sigma - s->log_sigma[low]) / (s->log_sigma[high] - s->log_sigma[low]);
  return low + CLAMP (w, 0.0, 1.0);
}

double *
loom_sd_sigmas (LoomSdSamplerKind kind,
                guint             n_steps)
{
  const Schedule *s = get_schedule ();
  double *sigmas;

  g_return_val_if_fail (n_steps > 0, NULL);

  sigmas = g_new (double, n_steps + 1);
  switch (kind)
    {
    case LOOM_SD_SAMPLER_DPMPP_2M_KARRAS:
      {
        /* Karras et al. 2022, eq. 5, ρ = 7: evenly spaced in σ^(1/ρ). */
        const double rho = 7.0;
        double max_inv = pow (s->sigma[LOOM_SD_TRAIN_STEPS - 1], 1.0 / rho);
        double min_inv = pow (s->sigma[0], 1.0 / rho);

        for (guint i = 0; i < n_steps; i++)
          {
            double ramp = n_steps > 1 ? (double) i / (n_steps - 1) : 0.0;

            sigmas[i] = pow (max_inv + ramp * (min_inv - max_inv), rho);
          }
      }
      break;

    case LOOM_SD_SAMPLER_TURBO:
      /* diffusers' "trailing" spacing: round(1000 − i·1000/n) − 1, rounding halves to
       * even as numpy does, so that every n gives diffusers' timesteps. */
      for (guint i = 0; i < n_steps; i++)
        sigmas[i] = loom_sd_sigma_at (rint (LOOM_SD_TRAIN_STEPS
                                            - i * ((double) LOOM_SD_TRAIN_STEPS / n_steps))
                                      - 1.0);
      break;

    case LOOM_SD_SAMPLER_EULER:
    case LOOM_SD_SAMPLER_EULER_ANCESTRAL:
    default:
      /* k-diffusion's get_sigmas: timesteps linspace(999, 0, n). */
      for (guint i = 0; i < n_steps; i++)
        {
          double t = n_steps > 1
                       ? (LOOM_SD_TRAIN_STEPS - 1.0) * (1.0 - (double) i / (n_steps - 1))
                       : LOOM_SD_TRAIN_STEPS - 1.0;

          sigmas[i] = loom_sd_sigma_at (t);
        }
      break;
    }
  sigmas[n_steps] = 0.0;
  return sigmas;
}

/* Samplers --------------------------------------------------------------------------- */

/* x ← D + ratio·(x − D): an Euler step from σ to ratio·σ written so that ratio = 0 gives
 * D exactly (x + (x − D)/σ·(σ_next − σ) would leave a rounding residue). */
static void
step_towards (float       *x,
              const float *denoised,
              double       ratio,
              gsize        n)
{
  float r = (float) ratio;

  for (gsize j = 0; j < n; j++)
    x[j] = denoised[j] + r * (x[j] - denoised[j]);
}

static void
add_scaled (float       *x,
            const float *noise,
            double       scale,
            gsize        n)
{
  float s = (float) scale;

  for (gsize j = 0; j < n; j++)
    x[j] += s * noise[j];
}

/* The kept region (mask 0) becomes the original latent noised to σ with the fixed
 * initial noise, so that it stays consistent with where sampling started; at σ = 0 it is
 * the original exactly. */
static void
blend_inpaint (const LoomSdSampleParams *params,
               float                    *x,
               const float              *keep_noise,
               double                    sigma,
               gsize                     n)
{
  gsize cells = n / params->channels;
  float s = (float) sigma;

  for (gsize j = 0; j < n; j++)
    {
      float m = params->mask[j % cells];

      x[j] = m * x[j] + (1.0f - m) * (params->keep_latent[j] + keep_noise[j] * s);
    }
}

gboolean
loom_sd_sample (const LoomSdSampleParams *params,
                float                    *x,
                gsize                     n,
                LoomSdDenoiseFunc         denoise,
                gpointer                  denoise_data,
                LoomSdStepFunc            step,
                gpointer                  step_data,
                GError                  **error)
{
  g_autofree double *sigmas = NULL;
  g_autofree float *denoised = NULL;
  g_autofree float *old_denoised = NULL;  /* DPM++ 2M: the previous step's D */
  g_autofree float *noise = NULL;         /* ancestral and Turbo: the step's fresh noise */
  g_autofree float *keep_noise = NULL;    /* inpainting: stream 0 */
  gboolean inpaint;
  gboolean have_old = FALSE;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (params->n_steps > 0, FALSE);
  g_return_val_if_fail (params->first_step < params->n_steps, FALSE);
  g_return_val_if_fail (x != NULL && n > 0, FALSE);
  g_return_val_if_fail (denoise != NULL, FALSE);
  g_return_val_if_fail (params->mask == NULL
                        || (params->keep_latent != NULL && params->channels > 0
                            && n % params->channels == 0), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  inpaint = params->mask != NULL;
  sigmas = loom_sd_sigmas (params->kind, params->n_steps);
  denoised = g_new (float, n);
  if (params->kind == LOOM_SD_SAMPLER_DPMPP_2M_KARRAS)
    old_denoised = g_new (float, n);
  if (params->kind == LOOM_SD_SAMPLER_EULER_ANCESTRAL || params->kind == LOOM_SD_SAMPLER_TURBO)
    noise = g_new (float, n);
  if (inpaint)
    {
      keep_noise = g_new (float, n);
      loom_sd_noise (params->seed, 0, keep_noise, n);
    }

  for (guint i = params->first_step; i < params->n_steps; i++)
    {
      double sigma = sigmas[i];
      double sigma_next = sigmas[i + 1];

      if (!denoise (x, sigma, denoised, n, denoise_data, error))
        return FALSE;

      switch (params->kind)
        {
        case LOOM_SD_SAMPLER_EULER_ANCESTRAL:
          {
            /* k-diffusion's get_ancestral_step with η = 1: step deterministically down
             * to σ_down, then add fresh noise of σ_up, σ_down² + σ_up² = σ_next². */
            double up = MIN (sigma_next,
                             sqrt (sigma_next * sigma_next
                                   * (sigma * sigma - sigma_next * sigma_next)
                                   / (sigma * sigma)));
            double down = sqrt (MAX (sigma_next * sigma_next - up * up, 0.0));

            step_towards (x, denoised, down / sigma, n);
            if (sigma_next > 0.0)
              {
                loom_sd_noise (params->seed, 1 + i, noise, n);
                add_scaled (x, noise, up, n);
              }
          }
          break;

        case LOOM_SD_SAMPLER_DPMPP_2M_KARRAS:
          {
            /* k-diffusion's sample_dpmpp_2m in t = −log σ, h = t_next − t: the step is
             * x ← (σ_next/σ)·x − expm1(−h)·D' = ratio·x + (1 − ratio)·D'. The first step
             * and the step to σ = 0 are first order (D' = D); the others extrapolate D
             * linearly in t from the previous step's: D' = (1 + 1/2r)·D − 1/2r·D_old with
             * r = h_last/h. */
            double ratio = sigma_next / sigma;

            if (have_old && sigma_next > 0.0)
              {
                double h = log (sigma / sigma_next);
                double h_last = log (sigmas[i - 1] / sigma);
                float b = (float) (h / (2.0 * h_last));  /* 1/(2r) */
                float a = 1.0f + b;
                float keep = (float) ratio;
                float blend = (float) -expm1 (-h);

                for (gsize j = 0; j < n; j++)
                  x[j] = keep * x[j] + blend * (a * denoised[j] - b * old_denoised[j]);
              }
            else
              step_towards (x, denoised, ratio, n);
          }
          break;

        case LOOM_SD_SAMPLER_TURBO:
          memcpy (x, denoised, n * sizeof (float));
          if (sigma_next > 0.0)
            {
              loom_sd_noise (params->seed, 1 + i, noise, n);
              add_scaled (x, noise, sigma_next, n);
            }
          break;

        case LOOM_SD_SAMPLER_EULER:
        default:
          step_towards (x, denoised, sigma_next / sigma, n);
          break;
        }

      if (inpaint)
        blend_inpaint (params, x, keep_noise, sigma_next, n);

      if (step != NULL
          && !step (i - params->first_step + 1, params->n_steps - params->first_step,
                    denoised, n, step_data))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Image generation was cancelled");
          return FALSE;
        }

      if (old_denoised != NULL)
        {
          float *tmp = old_denoised;

          old_denoised = denoised;
          denoised = tmp;
          have_old = TRUE;
        }
    }
  return TRUE;
}

guint
loom_sd_img2img_first_step (guint  n_steps,
                            double strength)
{
  double run;

  g_return_val_if_fail (n_steps > 0, 0);

  run = round (CLAMP (strength, 0.0, 1.0) * n_steps);
  return n_steps - (guint) CLAMP (run, 1.0, (double) n_steps);
}

void
loom_sd_prepare_txt2img (LoomSdSamplerKind kind,
                         guint             n_steps,
                         guint64           seed,
                         float            *x,
                         gsize             n)
{
  g_autofree double *sigmas = NULL;
  float sigma;

  g_return_if_fail (n_steps > 0);

  sigmas = loom_sd_sigmas (kind, n_steps);
  sigma = (float) sigmas[0];
  loom_sd_noise (seed, 0, x, n);
  for (gsize j = 0; j < n; j++)
    x[j] *= sigma;
}

void
loom_sd_prepare_img2img (LoomSdSamplerKind kind,
                         guint             n_steps,
                         guint             first_step,
                         guint64           seed,
                         const float      *init_latent,
                         float            *x,
                         gsize             n)
{
  g_autofree double *sigmas = NULL;
  float sigma;

  g_return_if_fail (n_steps > 0 && first_step < n_steps);
  g_return_if_fail (init_latent != x);

  sigmas = loom_sd_sigmas (kind, n_steps);
  sigma = (float) sigmas[first_step];
  loom_sd_noise (seed, 0, x, n);
  for (gsize j = 0; j < n; j++)
    x[j] = init_latent[j] + x[j] * sigma;
}

/* The UNet's view --------------------------------------------------------------------- */

double
loom_sd_c_in (double sigma)
{
  return 1.0 / sqrt (sigma * sigma + 1.0);
}

void
loom_sd_prediction_to_denoised (gboolean     v_prediction,
                                const float *x,
                                const float *prediction,
                                double       sigma,
                                float       *denoised,
                                gsize        n)
{
  if (v_prediction)
    {
      /* D = c_skip·x + c_out·v with c_skip = 1/(σ² + 1), c_out = −σ/√(σ² + 1). */
      float skip = (float) (1.0 / (sigma * sigma + 1.0));
      float out = (float) (-sigma / sqrt (sigma * sigma + 1.0));

      for (gsize j = 0; j < n; j++)
        denoised[j] = skip * x[j] + out * prediction[j];
    }
  else
    {
      float s = (float) sigma;

      for (gsize j = 0; j < n; j++)
        denoised[j] = x[j] - s * prediction[j];
    }
}

void
loom_sd_apply_guidance (const float *cond,
                        const float *uncond,
                        float        scale,
                        float       *out,
                        gsize        n)
{
  for (gsize j = 0; j < n; j++)
    out[j] = uncond[j] + scale * (cond[j] - uncond[j]);
}

/* Latent preview ---------------------------------------------------------------------- */

/* A published least-squares approximation of the SD 1.x VAE decoder by one linear map
 * per cell (the factors ComfyUI and A1111 use for their cheap previews), giving RGB
 * roughly in [−1, 1]. Rows: latent channel 0..3; columns: r, g, b. */
static const float latent_rgb[4][3] = {
  {  0.298f,  0.207f,  0.208f },
  {  0.187f,  0.286f,  0.173f },
  { -0.158f,  0.189f,  0.264f },
  { -0.184f, -0.271f, -0.473f },
};

static guint8
to_byte (float v)
{
  float b = (v + 1.0f) * 127.5f;

  return (guint8) lrintf (CLAMP (b, 0.0f, 255.0f));
}

void
loom_sd_latent_preview (const float *latent,
                        guint        h,
                        guint        w,
                        guint8      *rgba)
{
  gsize plane = (gsize) h * w;

  for (gsize p = 0; p < plane; p++)
    {
      float rgb[3] = { 0.0f, 0.0f, 0.0f };

      for (guint c = 0; c < 4; c++)
        for (guint k = 0; k < 3; k++)
          rgb[k] += latent_rgb[c][k] * latent[c * plane + p];
      for (guint k = 0; k < 3; k++)
        rgba[p * 4 + k] = to_byte (rgb[k]);
      rgba[p * 4 + 3] = 255;
    }
}
