/* test-sd-ref.c — the CPU reference of the Stable Diffusion networks against hand-made
 * cases: its operations on numbers worked out by hand, and whole networks whose weights
 * are set so that their output has a closed form (identities, zeroed branches, uniform
 * attention). The Vulkan networks are then tested against this reference
 * (test-sd-networks).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "loom-test-util.h"
#include "sd-test-util.h"
#include "formats/loom-safetensors.h"
#include "image/loom-sd-checkpoint.h"
#include "image/loom-sd-random-model.h"
#include "image/loom-sd-ref-private.h"
#include "image/loom-sd-ref.h"

#define TOKENS 77

static void
assert_close (const float *got,
              const double *expected,
              gsize         n,
              double        tolerance)
{
  for (gsize i = 0; i < n; i++)
    if (!(fabs (got[i] - expected[i]) <= tolerance * (1 + fabs (expected[i]))))
      g_error ("value %" G_GSIZE_FORMAT ": %.9g, expected %.9g", i, got[i], expected[i]);
}

/* The operations. */

static void
test_group_norm (void)
{
  /* 4 channels of 2 values in 2 groups: {1, 3, 5, 7} (mean 4, variance 5) and
   * {0, 0, 2, −2} (mean 0, variance 2). */
  const float x[8] = { 1, 3, 5, 7, 0, 0, 2, -2 };
  const float gamma[4] = { 1, 2, 1, 1 };
  const float beta[4] = { 0, 0, 1, 0 };
  const float eps = 1e-5f;
  double s0 = sqrt (5 + (double) eps), s1 = sqrt (2 + (double) eps);
  double expected[8] = { -3 / s0, -1 / s0, 2 * 1 / s0, 2 * 3 / s0, 1, 1, 2 / s1, -2 / s1 };
  float out[8];

  loom_sd_ref_group_norm (x, gamma, beta, 4, 2, 2, eps, FALSE, out);
  assert_close (out, expected, 8, 1e-6);

  /* Then SiLU: x·σ(x); silu(1) = 1/(1 + 1/e) = 0.7310585786. */
  for (guint i = 0; i < 8; i++)
    expected[i] = expected[i] / (1 + exp (-expected[i]));
  g_assert_cmpfloat_with_epsilon (expected[4], 0.7310585786, 1e-9);
  loom_sd_ref_group_norm (x, gamma, beta, 4, 2, 2, eps, TRUE, out);
  assert_close (out, expected, 8, 1e-6);
}

static void
test_layer_norm (void)
{
  /* Rows {1, 2, 3, 4} (mean 2.5, variance 1.25) and {−1, −1, 1, 1} (mean 0, variance 1). */
  const float x[8] = { 1, 2, 3, 4, -1, -1, 1, 1 };
  const float gamma[4] = { 1, 1, 2, 1 };
  const float beta[4] = { 0, 0.5f, 0, 0 };
  double s = sqrt (1.25 + 1e-5), t = sqrt (1 + 1e-5);
  double expected[8] = { -1.5 / s, -0.5 / s + 0.5, 2 * 0.5 / s, 1.5 / s, -1 / t, -1 / t + 0.5, 2 / t, 1 / t };
  float out[8];

  loom_sd_ref_layer_norm (x, gamma, beta, 2, 4, 1e-5f, out);
  assert_close (out, expected, 8, 1e-6);
}

static void
test_linear (void)
{
  const float x[4] = { 1, 2, -1, 0.5f };          /* [2][2] */
  const float w[6] = { 1, 0, 1, 1, 0, -1 };       /* [3][2] */
  const float b[3] = { 0.5f, 0, -1 };
  const double expected[6] = { 1.5, 3, -3, -0.5, -0.5, -1.5 };
  float out[6];

  loom_sd_ref_linear (x, w, b, 2, 2, 3, out);
  assert_close (out, expected, 6, 1e-7);
}

static void
test_attention (void)
{
  /* Two heads of 2. Head 0: q = (√2·ln 3, 0) and keys (0, 0), (1, 0) at scale 1/√2 give
   * scores 0 and ln 3, weights 1/4 and 3/4 of v (4, 0) and (0, 8): (1, 6). Head 1: q = 0,
   * equal weights of (2, 2) and (4, −6): (3, −2). Causally, query 0 sees key 0 only. */
  double a = sqrt (2) * log (3);
  const float q[8] = { (float) a, 0, 0, 0, (float) a, 0, 0, 0 };
  const float k[8] = { 0, 0, 5, 5, 1, 0, -7, 3 };
  const float v[8] = { 4, 0, 2, 2, 0, 8, 4, -6 };
  const double full[8] = { 1, 6, 3, -2, 1, 6, 3, -2 };
  const double causal[8] = { 4, 0, 2, 2, 1, 6, 3, -2 };
  float out[8];

  loom_sd_ref_attention (q, k, v, 2, 2, 2, 2, 1 / sqrt (2), FALSE, out);
  assert_close (out, full, 8, 1e-6);
  loom_sd_ref_attention (q, k, v, 2, 2, 2, 2, 1 / sqrt (2), TRUE, out);
  assert_close (out, causal, 8, 1e-6);
}

static void
test_conv2d (void)
{
  /* x = 0 … 15 on a 4×4 grid; kernel 0 sums a 3×3 window (+ 0.5), kernel 1 is twice
   * the centre tap. */
  float x[16], kernel[18] = { 0 }, out[32];
  const float bias[2] = { 0.5f, 0 };
  /* Stride 1, padding 1: corners sum 2×2, (1, 1) sums rows and columns 0..2 (45). */
  const double same[4] = { 10.5, 45.5, 2 * 0, 2 * 5 };
  /* Stride 2, padded only below and right (the VAE's downsampler): windows start at
   * 0 and 2; (1, 1) sums x[2..3][2..3] = 50; the centre tap reads x[2y + 1][2x + 1]. */
  const double vae[8] = { 45.5, 39.5, 66.5, 50.5, 10, 14, 26, 30 };
  /* Stride 2, padded 1 on every side (the UNet's): windows start at −1 and 1. */
  const double unet[8] = { 10.5, 24.5, 51.5, 90.5, 0, 4, 16, 20 };
  float got[4];

  for (guint i = 0; i < 16; i++)
    x[i] = (float) i;
  for (guint i = 0; i < 9; i++)
    kernel[i] = 1;
  kernel[9 + 4] = 2;

  loom_sd_ref_conv2d (x, 1, 4, 4, kernel, bias, 2, 3, 1, 1, 1, out);
  got[0] = out[0];
  got[1] = out[5];
  got[2] = out[16 + 0];
  got[3] = out[16 + 5];
  assert_close (got, same, 4, 1e-7);

  loom_sd_ref_conv2d (x, 1, 4, 4, kernel, bias, 2, 3, 2, 0, 1, out);
  assert_close (out, vae, 8, 1e-7);
  loom_sd_ref_conv2d (x, 1, 4, 4, kernel, bias, 2, 3, 2, 1, 1, out);
  assert_close (out, unet, 8, 1e-7);
}

/* Whole networks with chosen weights. */

typedef enum
{
  KEEP,
  ZERO,
  ONE,
  IDENTITY,   /* w[o][i] (centre tap) = 1 where i = o */
  CYCLIC,     /* w[o][i] (centre tap) = 1 where i = o mod inputs */
} Action;

typedef struct
{
  const char *pattern;  /* g_pattern_match_simple() on the name in the file */
  Action      action;
} Rule;

static void
apply (Action        action,
       float        *v,
       const gint64 *shape,
       guint         n_dims,
       gsize         n)
{
  switch (action)
    {
    case KEEP:
      break;
    case ZERO:
      memset (v, 0, n * sizeof *v);
      break;
    case ONE:
      for (gsize i = 0; i < n; i++)
        v[i] = 1;
      break;
    case IDENTITY:
    case CYCLIC:
      {
        gsize out = shape[0], in = shape[1], k = n_dims == 4 ? shape[2] : 1;

        g_assert_true (n_dims == 2 || n_dims == 4);
        memset (v, 0, n * sizeof *v);
        for (gsize o = 0; o < out; o++)
          {
            gsize i = action == CYCLIC ? o % in : o;

            if (i < in)
              v[((o * in + i) * k + k / 2) * k + k / 2] = 1;
          }
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Rewrites the F32 safetensors file @path with the first matching rule applied to each
 * tensor. */
static void
edit_file (const char *path,
           const Rule *rules,
           guint       n_rules)
{
  g_autoptr(LoomSafetensorsWriter) writer = loom_safetensors_writer_new ();
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(LoomSafetensors) file = loom_safetensors_open (path, &error);

    g_assert_no_error (error);
    for (guint t = 0; t < loom_safetensors_get_n_tensors (file); t++)
      {
        const LoomSafetensor *tensor = loom_safetensors_get_tensor (file, t);
        g_autofree float *v = g_new (float, MAX (tensor->n_elements, 1));

        g_assert_cmpuint (tensor->type, ==, LOOM_TENSOR_F32);
        memcpy (v, tensor->data, tensor->bytes);
        for (guint r = 0; r < n_rules; r++)
          if (g_pattern_match_simple (rules[r].pattern, tensor->name))
            {
              apply (rules[r].action, v, tensor->shape, tensor->n_dims, tensor->n_elements);
              break;
            }
        loom_safetensors_writer_add (writer, tensor->name, LOOM_TENSOR_F32, tensor->n_dims,
                                     tensor->shape, v);
      }
  }
  g_assert_true (loom_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
}

/* A small model as a diffusers folder of F32 weights, whose component files are then
 * edited by @rules (names within the component file, e.g. "text_model.…"). */
static LoomSdCheckpoint *
model_new (gboolean    sd2,
           const char *name,
           const char *component,
           const Rule *rules,
           guint       n_rules)
{
  LoomSdRandomOptions options = { 0 };
  g_autofree char *path = sd_test_tmp_path (name);
  g_autoptr(GError) error = NULL;
  LoomSdCheckpoint *checkpoint;

  if (sd2)
    loom_sd_random_config_small_sd2 (&options.config);
  else
    loom_sd_random_config_small_sd1 (&options.config);
  options.weight_type = LOOM_TENSOR_F32;
  options.seed = 77;
  sd_test_remove_tree (path);
  g_assert_true (loom_sd_random_model_write (&options, LOOM_SD_LAYOUT_DIFFUSERS, path, NULL, &error));
  g_assert_no_error (error);
  if (component != NULL)
    {
      g_autofree char *file = g_build_filename (path, component, strcmp (component, "text_encoder") == 0
                                                ? "model.safetensors" : "diffusion_pytorch_model.safetensors",
                                                NULL);

      edit_file (file, rules, n_rules);
    }
  checkpoint = loom_sd_checkpoint_open (path, &error);
  g_assert_no_error (error);
  return checkpoint;
}

static float *
values (LoomSdCheckpoint *checkpoint,
        const char       *name)
{
  const LoomSdTensor *t = loom_sd_checkpoint_lookup (checkpoint, name);

  g_assert_nonnull (t);
  return loom_sd_tensor_to_f32 (t);
}

/* Independent of the reference: LayerNorm of one row with weight and bias. */
static void
layer_norm_row (const double *x,
                const float  *gamma,
                const float  *beta,
                gsize         n,
                double       *out)
{
  double mean = 0, var = 0;

  for (gsize i = 0; i < n; i++)
    mean += x[i];
  mean /= n;
  for (gsize i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  for (gsize i = 0; i < n; i++)
    out[i] = (x[i] - mean) / sqrt (var + 1e-5) * (gamma ? gamma[i] : 1) + (beta ? beta[i] : 0);
}

static void
fill_tokens (guint32 *tokens)
{
  static const guint32 prompt[] = { 49406, 320, 1125, 539, 320, 2368, 49407 };

  for (guint t = 0; t < TOKENS; t++)
    tokens[t] = t < G_N_ELEMENTS (prompt) ? prompt[t] : 49407;
}

/* x0[t] = token embedding + position embedding. */
static double *
embeddings (LoomSdCheckpoint *checkpoint,
            const guint32    *tokens)
{
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
  g_autofree float *tok = values (checkpoint, "text_encoder.text_model.embeddings.token_embedding.weight");
  g_autofree float *pos = values (checkpoint, "text_encoder.text_model.embeddings.position_embedding.weight");
  double *x = g_new (double, TOKENS * c->text_dim);

  for (gsize t = 0; t < TOKENS; t++)
    for (gsize e = 0; e < c->text_dim; e++)
      x[t * c->text_dim + e] = (double) tok[tokens[t] * c->text_dim + e] + pos[t * c->text_dim + e];
  return x;
}

static void
check_final (LoomSdCheckpoint *checkpoint,
             const double     *x,
             const float      *got)
{
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
  g_autofree float *g = values (checkpoint, "text_encoder.text_model.final_layer_norm.weight");
  g_autofree float *b = values (checkpoint, "text_encoder.text_model.final_layer_norm.bias");
  g_autofree double *expected = g_new (double, TOKENS * c->text_dim);

  for (gsize t = 0; t < TOKENS; t++)
    layer_norm_row (x + t * c->text_dim, g, b, c->text_dim, expected + t * c->text_dim);
  assert_close (got, expected, TOKENS * c->text_dim, 1e-5);
}

/* With every weight matrix of the layers zero, a layer adds its out_proj and fc2 biases
 * (attention of equal value rows returns that row): out = LN(x0 + Σ b_out + b_fc2). */
static void
test_text_residual (void)
{
  static const Rule rules[] = {
    { "text_model.encoder.layers.*.weight", ZERO },
  };

  for (guint sd2 = 0; sd2 < 2; sd2++)
    {
      g_autoptr(LoomSdCheckpoint) checkpoint = model_new (sd2, "text-residual", "text_encoder", rules,
                                                          G_N_ELEMENTS (rules));
      const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
      guint32 tokens[TOKENS];
      g_autofree double *x = NULL;
      g_autofree float *out = g_new (float, TOKENS * c->text_dim);
      g_autoptr(GError) error = NULL;

      fill_tokens (tokens);
      x = embeddings (checkpoint, tokens);
      for (guint layer = 0; layer < c->text_layers; layer++)
        {
          g_autofree char *bo = g_strdup_printf ("text_encoder.text_model.encoder.layers.%u.self_attn.out_proj.bias", layer);
          g_autofree char *b2 = g_strdup_printf ("text_encoder.text_model.encoder.layers.%u.mlp.fc2.bias", layer);
          g_autofree float *vo = values (checkpoint, bo);
          g_autofree float *v2 = values (checkpoint, b2);

          for (gsize t = 0; t < TOKENS; t++)
            for (gsize e = 0; e < c->text_dim; e++)
              x[t * c->text_dim + e] += (double) vo[e] + v2[e];
        }
      g_assert_true (loom_sd_ref_text_encoder (checkpoint, tokens, 1, out, &error));
      g_assert_no_error (error);
      check_final (checkpoint, x, out);
    }
}

/* Layer 0 alone, its attention with q = k = 0 (equal weights over the keys a query may
 * see), v and out_proj identities: x1[i] = x0[i] + mean over j ≤ i of LN(x0[j]). */
static void
test_text_causal (void)
{
  static const Rule rules[] = {
    { "text_model.encoder.layers.0.layer_norm1.weight", ONE },
    { "text_model.encoder.layers.0.self_attn.v_proj.weight", IDENTITY },
    { "text_model.encoder.layers.0.self_attn.out_proj.weight", IDENTITY },
    { "text_model.encoder.layers.*", ZERO },
  };
  g_autoptr(LoomSdCheckpoint) checkpoint = model_new (FALSE, "text-causal", "text_encoder", rules,
                                                      G_N_ELEMENTS (rules));
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
  gsize d = c->text_dim;
  guint32 tokens[TOKENS];
  g_autofree double *x = NULL;
  g_autofree double *n = g_new (double, TOKENS * d);
  g_autofree double *sum = g_new0 (double, d);
  g_autofree float *out = g_new (float, 2 * TOKENS * d);
  g_autoptr(GError) error = NULL;

  fill_tokens (tokens);
  x = embeddings (checkpoint, tokens);
  for (gsize t = 0; t < TOKENS; t++)
    layer_norm_row (x + t * d, NULL, NULL, d, n + t * d);
  for (gsize t = 0; t < TOKENS; t++)
    for (gsize e = 0; e < d; e++)
      {
        sum[e] += n[t * d + e];
        x[t * d + e] += sum[e] / (double) (t + 1);
      }
  {
    /* Two chunks: each is encoded on its own. */
    guint32 two[2 * TOKENS];

    memcpy (two, tokens, sizeof tokens);
    memcpy (two + TOKENS, tokens, sizeof tokens);
    g_assert_true (loom_sd_ref_text_encoder (checkpoint, two, 2, out, &error));
    g_assert_no_error (error);
  }
  check_final (checkpoint, x, out);
  check_final (checkpoint, x, out + TOKENS * d);
}

/* Layer 0 alone, its MLP with fc1 and fc2 identities: x1 = x0 + act(LN(x0)), quick
 * GELU for SD 1.x, erf GELU for SD 2.x. */
static void
test_text_mlp (void)
{
  static const Rule rules[] = {
    { "text_model.encoder.layers.0.layer_norm2.weight", ONE },
    { "text_model.encoder.layers.0.mlp.fc1.weight", IDENTITY },
    { "text_model.encoder.layers.0.mlp.fc2.weight", IDENTITY },
    { "text_model.encoder.layers.*", ZERO },
  };

  for (guint sd2 = 0; sd2 < 2; sd2++)
    {
      g_autoptr(LoomSdCheckpoint) checkpoint = model_new (sd2, "text-mlp", "text_encoder", rules,
                                                          G_N_ELEMENTS (rules));
      const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
      gsize d = c->text_dim;
      guint32 tokens[TOKENS];
      g_autofree double *x = NULL;
      g_autofree double *n = g_new (double, d);
      g_autofree float *out = g_new (float, TOKENS * d);
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (c->text_quick_gelu, ==, !sd2);
      fill_tokens (tokens);
      x = embeddings (checkpoint, tokens);
      for (gsize t = 0; t < TOKENS; t++)
        {
          layer_norm_row (x + t * d, NULL, NULL, d, n);
          for (gsize e = 0; e < d; e++)
            x[t * d + e] += sd2 ? 0.5 * n[e] * (1 + erf (n[e] / sqrt (2)))
                                : n[e] / (1 + exp (-1.702 * n[e]));
        }
      g_assert_true (loom_sd_ref_text_encoder (checkpoint, tokens, 1, out, &error));
      g_assert_no_error (error);
      check_final (checkpoint, x, out);
    }
}

static float *
random_values (gsize   n,
               guint32 seed,
               double  scale)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  float *v = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    v[i] = (float) (scale * g_rand_double_range (rand, -1, 1));
  return v;
}

static float *
run_unet (LoomSdCheckpoint *checkpoint,
          const float      *latent,
          guint             size,
          float             timestep,
          const float      *context,
          double           *seconds)
{
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
  float *out = g_new (float, c->unet_out_channels * size * size);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_true (loom_sd_ref_unet (checkpoint, latent, size, size, timestep, context, TOKENS, out, &error));
  g_assert_no_error (error);
  if (seconds != NULL)
    *seconds = (g_get_monotonic_time () - start) / 1e6;
  return out;
}

static double
max_difference (const float *a,
                const float *b,
                gsize        n)
{
  double m = 0;

  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i] - b[i]));
  return m;
}

/* With proj_out zero, every transformer is the identity: the context no longer matters.
 * With time_emb_proj zero, the timestep no longer does. Unedited, both do, and the
 * output of the random model stays of order one. */
static void
test_unet_branches (void)
{
  static const Rule no_transformers[] = {
    { "*.proj_out.*", ZERO },
  };
  static const Rule no_time[] = {
    { "*.time_emb_proj.*", ZERO },
  };
  const guint size = 16;

  for (guint sd2 = 0; sd2 < 2; sd2++)
    {
      g_autoptr(LoomSdCheckpoint) plain = model_new (sd2, "unet-plain", NULL, NULL, 0);
      g_autoptr(LoomSdCheckpoint) static_context = model_new (sd2, "unet-no-transformers", "unet",
                                                              no_transformers, 1);
      g_autoptr(LoomSdCheckpoint) static_time = model_new (sd2, "unet-no-time", "unet", no_time, 1);
      const LoomSdConfig *c = loom_sd_checkpoint_get_config (plain);
      gsize n = c->unet_out_channels * size * size;
      g_autofree float *latent = random_values (c->unet_in_channels * size * size, 1, 1.0);
      g_autofree float *ctx1 = random_values (TOKENS * c->unet_context_dim, 2, 1.0);
      g_autofree float *ctx2 = random_values (TOKENS * c->unet_context_dim, 3, 1.0);
      g_autofree float *a = NULL, *b = NULL, *t1 = NULL, *t2 = NULL;
      double seconds, mean = 0, var = 0;

      a = run_unet (plain, latent, size, 500, ctx1, &seconds);
      b = run_unet (plain, latent, size, 500, ctx2, NULL);
      g_assert_cmpfloat (max_difference (a, b, n), >, 1e-3);
      t1 = run_unet (plain, latent, size, 10, ctx1, NULL);
      g_assert_cmpfloat (max_difference (a, t1, n), >, 1e-3);
      for (gsize i = 0; i < n; i++)
        {
          g_assert_true (isfinite (a[i]));
          mean += a[i];
        }
      mean /= n;
      for (gsize i = 0; i < n; i++)
        var += (a[i] - mean) * (a[i] - mean);
      var /= n;
      g_test_message ("small SD%u UNet at %ux%u: %.3f s on the CPU reference; output std %.3f",
                      sd2 ? 2 : 1, size, size, seconds, sqrt (var));
      g_assert_cmpfloat (sqrt (var), >, 0.05);
      g_assert_cmpfloat (sqrt (var), <, 20);

      g_clear_pointer (&a, g_free);
      g_clear_pointer (&b, g_free);
      a = run_unet (static_context, latent, size, 500, ctx1, NULL);
      b = run_unet (static_context, latent, size, 500, ctx2, NULL);
      g_assert_cmpfloat (max_difference (a, b, n), ==, 0);

      g_clear_pointer (&t1, g_free);
      t1 = run_unet (static_time, latent, size, 999, ctx1, NULL);
      t2 = run_unet (static_time, latent, size, 3, ctx1, NULL);
      g_assert_cmpfloat (max_difference (t1, t2, n), ==, 0);
    }
}

/* The decoder reduced to its skeleton: 1×1 and centre-tap identities, resnets and the
 * attention with their last layer zero (identities), so that
 * image[c] = SiLU(GroupNorm_c(upsampled latent[c])) for c < 3, each channel its own
 * group (32 channels in 32 groups) — the upsampled map has the latent's statistics. */
static void
test_vae_decoder_skeleton (void)
{
  static const Rule rules[] = {
    { "post_quant_conv.weight", IDENTITY },
    { "decoder.conv_in.weight", CYCLIC },
    { "decoder.*.conv_shortcut.weight", IDENTITY },
    { "decoder.*.upsamplers.0.conv.weight", IDENTITY },
    { "decoder.conv_out.weight", IDENTITY },
    { "decoder.conv_norm_out.weight", ONE },
    { "decoder.*.conv2.*", ZERO },
    { "decoder.*.to_out.0.*", ZERO },
    { "post_quant_conv.bias", ZERO },
    { "decoder.conv_in.bias", ZERO },
    { "decoder.*.conv_shortcut.bias", ZERO },
    { "decoder.*.upsamplers.0.conv.bias", ZERO },
    { "decoder.conv_out.bias", ZERO },
    { "decoder.conv_norm_out.bias", ZERO },
  };
  g_autoptr(LoomSdCheckpoint) checkpoint = model_new (FALSE, "vae-decoder", "vae", rules, G_N_ELEMENTS (rules));
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
  const guint h = 8, w = 6, f = loom_sd_config_latent_factor (c);
  gsize H = h * f, W = w * f;
  g_autofree float *latent = random_values (c->vae_latent_channels * h * w, 5, 2.0);
  g_autofree float *image = g_new (float, 3 * H * W);
  g_autofree double *expected = g_new (double, 3 * H * W);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (c->vae_level_channels[0], ==, c->vae_groups);
  for (gsize ch = 0; ch < 3; ch++)
    {
      const float *z = latent + ch * h * w;
      double mean = 0, var = 0;

      for (gsize i = 0; i < h * w; i++)
        mean += z[i];
      mean /= h * w;
      for (gsize i = 0; i < h * w; i++)
        var += (z[i] - mean) * (z[i] - mean);
      var /= h * w;
      for (gsize y = 0; y < H; y++)
        for (gsize x = 0; x < W; x++)
          {
            double v = (z[(y / f) * w + x / f] - mean) / sqrt (var + 1e-6);

            expected[(ch * H + y) * W + x] = v / (1 + exp (-v));
          }
    }
  g_assert_true (loom_sd_ref_vae_decode (checkpoint, latent, h, w, image, &error));
  g_assert_no_error (error);
  assert_close (image, expected, 3 * H * W, 1e-5);
}

/* The encoder's skeleton: the downsampler's centre tap reads x[2y + 1][2x + 1] (padding
 * below and right only), the level-1 shortcut maps channel o to o mod 32, and the last
 * GroupNorm (64 channels in 32 groups) normalises pairs of channels together:
 * latent[c] = SiLU(GroupNorm over channels {2⌊c/2⌋, 2⌊c/2⌋ + 1}) of image[c mod 3]
 * subsampled. */
static void
test_vae_encoder_skeleton (void)
{
  static const Rule rules[] = {
    { "encoder.conv_in.weight", CYCLIC },
    { "encoder.*.downsamplers.0.conv.weight", IDENTITY },
    { "encoder.*.conv_shortcut.weight", CYCLIC },
    { "encoder.conv_out.weight", IDENTITY },
    { "quant_conv.weight", IDENTITY },
    { "encoder.conv_norm_out.weight", ONE },
    { "encoder.*.conv2.*", ZERO },
    { "encoder.*.to_out.0.*", ZERO },
    { "encoder.conv_in.bias", ZERO },
    { "encoder.*.downsamplers.0.conv.bias", ZERO },
    { "encoder.*.conv_shortcut.bias", ZERO },
    { "encoder.conv_out.bias", ZERO },
    { "quant_conv.bias", ZERO },
    { "encoder.conv_norm_out.bias", ZERO },
  };
  g_autoptr(LoomSdCheckpoint) checkpoint = model_new (FALSE, "vae-encoder", "vae", rules, G_N_ELEMENTS (rules));
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
  const gsize H = 12, W = 16, f = loom_sd_config_latent_factor (c);
  gsize h = H / f, w = W / f, lc = c->vae_latent_channels;
  g_autofree float *image = random_values (3 * H * W, 6, 1.0);
  g_autofree float *latent = g_new (float, lc * h * w);
  g_autofree double *sub = g_new (double, lc * h * w);
  g_autofree double *expected = g_new (double, lc * h * w);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (c->vae_levels, ==, 2);
  g_assert_cmpuint (c->vae_level_channels[1], ==, 2 * c->vae_groups);
  for (gsize ch = 0; ch < lc; ch++)
    for (gsize y = 0; y < h; y++)
      for (gsize x = 0; x < w; x++)
        sub[(ch * h + y) * w + x] = image[((ch % 3) * H + 2 * y + 1) * W + 2 * x + 1];
  for (gsize g = 0; g < lc / 2; g++)
    {
      const double *v = sub + 2 * g * h * w;
      gsize n = 2 * h * w;
      double mean = 0, var = 0;

      for (gsize i = 0; i < n; i++)
        mean += v[i];
      mean /= n;
      for (gsize i = 0; i < n; i++)
        var += (v[i] - mean) * (v[i] - mean);
      var /= n;
      for (gsize i = 0; i < n; i++)
        {
          double u = (v[i] - mean) / sqrt (var + 1e-6);

          expected[2 * g * h * w + i] = u / (1 + exp (-u));
        }
    }
  g_assert_true (loom_sd_ref_vae_encode (checkpoint, image, H, W, latent, &error));
  g_assert_no_error (error);
  assert_close (latent, expected, lc * h * w, 1e-5);
}

/* The random models through every network: finite, of order one, and the reference
 * fails cleanly without the tensors it needs. */
static void
test_random_models (void)
{
  for (guint sd2 = 0; sd2 < 2; sd2++)
    {
      g_autoptr(LoomSdCheckpoint) checkpoint = model_new (sd2, "random", NULL, NULL, 0);
      const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);
      guint32 tokens[TOKENS];
      g_autofree float *text = g_new (float, TOKENS * c->text_dim);
      g_autofree float *latent = random_values (4 * 8 * 8, 8, 1.0);
      g_autofree float *image = g_new (float, 3 * 16 * 16);
      g_autofree float *back = g_new (float, 4 * 8 * 8);
      g_autoptr(GError) error = NULL;
      gint64 start;

      fill_tokens (tokens);
      tokens[3] = c->text_vocab;
      g_assert_false (loom_sd_ref_text_encoder (checkpoint, tokens, 1, text, &error));
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
      g_clear_error (&error);
      fill_tokens (tokens);

      start = g_get_monotonic_time ();
      g_assert_true (loom_sd_ref_text_encoder (checkpoint, tokens, 1, text, &error));
      g_assert_true (loom_sd_ref_vae_decode (checkpoint, latent, 8, 8, image, &error));
      g_assert_true (loom_sd_ref_vae_encode (checkpoint, image, 16, 16, back, &error));
      g_assert_no_error (error);
      g_test_message ("small SD%u text encoder, VAE decode and encode (8x8 latent): %.3f s",
                      sd2 ? 2 : 1, (g_get_monotonic_time () - start) / 1e6);
      for (gsize i = 0; i < TOKENS * c->text_dim; i++)
        g_assert_true (isfinite (text[i]) && fabs (text[i]) < 100);
      for (gsize i = 0; i < 3 * 16 * 16; i++)
        g_assert_true (isfinite (image[i]) && fabs (image[i]) < 100);
      for (gsize i = 0; i < 4 * 8 * 8; i++)
        g_assert_true (isfinite (back[i]) && fabs (back[i]) < 100);
    }
}

int
main (int    argc,
      char **argv)
{
  int status;

  loom_test_init (&argc, &argv);
  sd_test_tmp_init ("test-sd-ref");

  g_test_add_func ("/engine/sd-ref/ops/group-norm", test_group_norm);
  g_test_add_func ("/engine/sd-ref/ops/layer-norm", test_layer_norm);
  g_test_add_func ("/engine/sd-ref/ops/linear", test_linear);
  g_test_add_func ("/engine/sd-ref/ops/attention", test_attention);
  g_test_add_func ("/engine/sd-ref/ops/conv2d", test_conv2d);
  g_test_add_func ("/engine/sd-ref/text/residual", test_text_residual);
  g_test_add_func ("/engine/sd-ref/text/causal", test_text_causal);
  g_test_add_func ("/engine/sd-ref/text/mlp", test_text_mlp);
  g_test_add_func ("/engine/sd-ref/unet/branches", test_unet_branches);
  g_test_add_func ("/engine/sd-ref/vae/decoder-skeleton", test_vae_decoder_skeleton);
  g_test_add_func ("/engine/sd-ref/vae/encoder-skeleton", test_vae_encoder_skeleton);
  g_test_add_func ("/engine/sd-ref/random-models", test_random_models);

  status = loom_test_run ();
  sd_test_tmp_clear ();
  return status;
}
