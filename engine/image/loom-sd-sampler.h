/* loom-sd-sampler.h — denoising schedules and samplers (k-diffusion formulation), the
 * latent noise generator, and the latent-space operations around them.
 *
 * The model is seen through a denoiser: given x at noise level σ, it returns the
 * denoised estimate D(x, σ). loom_sd_denoiser_* turn the UNet's ε- or v-prediction into
 * D: c_in = 1/√(σ²+1) scales the UNet's input, the UNet is called at the discrete
 * timestep t(σ) (interpolated in log σ over the 1000 training levels), and
 *   ε:  D = x − σ·ε
 *   v:  D = x·1/(σ²+1) − v·σ/√(σ²+1)
 * Training schedule: "scaled_linear" betas from 0.00085 to 0.012 over 1000 steps,
 * ᾱ_t = Π(1 − β), σ_t = √((1 − ᾱ_t)/ᾱ_t) (σ_min ≈ 0.0292, σ_max ≈ 14.6146).
 *
 * Noise: Philox4x32-10 (Salmon et al., SC'11) keyed by the 64-bit seed, counter
 * (element index / 2, stream, 0, 0) → two uniform 32-bit words → one Box–Muller pair;
 * the same seed gives the same noise on every machine. Streams: 0 initial latent, 1 + i
 * the ancestral noise of step i (i counted in the full schedule, also for img2img).
 * Exactly: key = (seed & 0xffffffff, seed >> 32); element i takes the block at counter
 * (p & 0xffffffff, stream, p >> 32, 0) with p = i / 2 (the third word is 0 below 2³³
 * elements), and of its output words w0 = out[0], w1 = out[1]:
 *   u1 = (w0 + 1) / 2³² ∈ (0, 1],  u2 = w1 / 2³² ∈ [0, 1)
 *   z0 = √(−2 ln u1)·cos(2π u2),   z1 = √(−2 ln u1)·sin(2π u2)
 * computed in double and rounded to float; even i take z0, odd i take z1. (Bit-identical
 * across machines as far as their libm's log, cos and sin agree to within a float ulp.)
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define LOOM_SD_TRAIN_STEPS 1000

typedef enum
{
  LOOM_SD_SAMPLER_EULER,
  LOOM_SD_SAMPLER_EULER_ANCESTRAL,
  LOOM_SD_SAMPLER_DPMPP_2M_KARRAS,
  LOOM_SD_SAMPLER_TURBO,   /* SD-Turbo / LCM-style: trailing timesteps, D then re-noise */
} LoomSdSamplerKind;

const char *loom_sd_sampler_to_string   (LoomSdSamplerKind  kind);  /* "euler", "euler_a", "dpmpp_2m_karras", "turbo" */
gboolean    loom_sd_sampler_from_string (const char        *name,
                                         LoomSdSamplerKind *kind);
/* The A1111 name, for the parameters chunk: "Euler", "Euler a", "DPM++ 2M Karras", … */
const char *loom_sd_sampler_display_name (LoomSdSamplerKind kind);

/* Philox4x32-10: one block. */
void  loom_philox4x32_10      (const guint32 counter[4],
                               const guint32 key[2],
                               guint32       out[4]);
/* n standard normal values for (seed, stream), element i depending only on i. */
void  loom_sd_noise           (guint64  seed,
                               guint32  stream,
                               float   *out,
                               gsize    n);

/* σ of the training schedule at (fractional) timestep t ∈ [0, 999], and back. */
double loom_sd_sigma_at       (double   timestep);
double loom_sd_timestep_at    (double   sigma);

/* The n_steps + 1 noise levels of a sampler, last 0: Euler and Euler a use the
 * "leading"-free linear spacing of k-diffusion (timesteps linspace(999, 0, n)),
 * DPM++ 2M Karras uses Karras et al.'s ρ = 7 between σ_min and σ_max, Turbo uses
 * "trailing" timesteps (999, 999 − 1000/n, …). */
double *loom_sd_sigmas        (LoomSdSamplerKind kind,
                               guint             n_steps);

/* x0 = D(x, σ) into @denoised (n values). Returns FALSE with @error set to stop. */
typedef gboolean (*LoomSdDenoiseFunc) (const float *x,
                                       double       sigma,
                                       float       *denoised,
                                       gsize        n,
                                       gpointer     user_data,
                                       GError     **error);
/* After each step: step (1-based) of n_steps, and the current denoised estimate
 * (what a preview shows). For img2img both count the steps that run: step 1 is
 * first_step, n_steps is params->n_steps − first_step. Returns FALSE to cancel (the
 * sampler then fails with G_IO_ERROR_CANCELLED). */
typedef gboolean (*LoomSdStepFunc)    (guint        step,
                                       guint        n_steps,
                                       const float *denoised,
                                       gsize        n,
                                       gpointer     user_data);

typedef struct
{
  LoomSdSamplerKind kind;
  guint             n_steps;       /* steps of the full schedule */
  guint             first_step;    /* img2img: start at this step (see loom_sd_img2img_first_step) */
  guint64           seed;
  /* Inpainting by latent blending (for regular checkpoints): after every step the
   * region where mask = 0 is replaced by the original latent noised to the step's σ.
   * mask: 1 = regenerate, 0 = keep; one value per latent cell (broadcast over channels). */
  const float      *keep_latent;   /* nullable: the clean latent of the original */
  const float      *mask;          /* nullable, latent cells (h × w) */
  guint             channels;      /* of the latent, for the mask broadcast */
} LoomSdSampleParams;

/* Runs the sampler in place on @x (n values): on entry the starting latent — for
 * txt2img noise·σ_0 (loom_sd_prepare_txt2img), for img2img the init latent noised to the
 * first step's σ (loom_sd_prepare_img2img). */
gboolean loom_sd_sample       (const LoomSdSampleParams *params,
                               float                    *x,
                               gsize                     n,
                               LoomSdDenoiseFunc         denoise,
                               gpointer                  denoise_data,
                               LoomSdStepFunc            step,
                               gpointer                  step_data,
                               GError                  **error);
/* The step at which img2img starts for @strength ∈ (0, 1]: n_steps − round(strength·n_steps),
 * clamped so that at least one step runs. */
guint    loom_sd_img2img_first_step (guint    n_steps,
                                     double   strength);
void     loom_sd_prepare_txt2img    (LoomSdSamplerKind kind,
                                     guint             n_steps,
                                     guint64           seed,
                                     float            *x,
                                     gsize             n);
void     loom_sd_prepare_img2img    (LoomSdSamplerKind kind,
                                     guint             n_steps,
                                     guint             first_step,
                                     guint64           seed,
                                     const float      *init_latent,
                                     float            *x,
                                     gsize             n);

/* The UNet's view: input scale c_in and the timestep for σ, and the conversion of its
 * prediction (ε or v, @v_prediction) at x into the denoised D. */
double   loom_sd_c_in               (double       sigma);
void     loom_sd_prediction_to_denoised (gboolean     v_prediction,
                                         const float *x,
                                         const float *prediction,
                                         double       sigma,
                                         float       *denoised,
                                         gsize        n);
/* Classifier-free guidance: out = uncond + scale·(cond − uncond). */
void     loom_sd_apply_guidance     (const float *cond,
                                     const float *uncond,
                                     float        scale,
                                     float       *out,
                                     gsize        n);

/* A cheap preview: latent [4][h][w] → RGBA8 [h][w] by a fixed linear map per cell
 * (the widely used SD 1.x/2.x latent-to-RGB factors), for per-step previews. */
void     loom_sd_latent_preview     (const float *latent,
                                     guint        h,
                                     guint        w,
                                     guint8      *rgba);

G_END_DECLS
