/* test-sd-networks.c — the Stable Diffusion networks on the device (text encoder, UNet,
 * VAE decoder and encoder) against the CPU reference of loom-sd-ref.c, on small random
 * models of the SD 1.x (f32 weights) and SD 2.x (f16 weights) architectures; repeated
 * runs bit-identical; the upload's progress and cancellation. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "formats/loom-tensor-type.h"
#include "image/loom-sd-checkpoint.h"
#include "image/loom-sd-networks.h"
#include "image/loom-sd-random-model.h"
#include "image/loom-sd-ref.h"
#include "loom-test-util.h"

/* max |device − reference| ≤ bound · max |reference|. Both read the same weight values
 * (f16 ones widened exactly), so the bounds cover only the rounding of f32 sums, which
 * the kernels order differently from the reference's double loops (lavapipe measures
 * about 5e-6 for either model); the f16 model's bound leaves room for kernels that keep
 * tiles of activations in f16 on devices that have it. */
#define BOUND_F32 1e-4
#define BOUND_F16 1e-3

#define LATENT 16  /* latent cells per side in the UNet and VAE tests */

typedef struct
{
  const char       *name;
  void            (*config_init) (LoomSdConfig *config);
  guint32           weight_type;
  double            bound;
  char             *dir;
  LoomSdCheckpoint *checkpoint;
} Model;

static Model models[] = {
  { "sd1", loom_sd_random_config_small_sd1, LOOM_TENSOR_F32, BOUND_F32 },
  { "sd2", loom_sd_random_config_small_sd2, LOOM_TENSOR_F16, BOUND_F16 },
};

/* Writes and opens the model once per program. (Its uploads are each test's own: the
 * device must be released by the end of the program.) */
static Model *
get_model (Model *model)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  LoomSdRandomOptions options = {
    .weight_type = model->weight_type,
    .seed = 20240611,
  };

  if (model->checkpoint != NULL)
    return model;

  model->config_init (&options.config);
  model->dir = g_dir_make_tmp ("test-sd-networks-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (model->dir, "model.safetensors", NULL);
  g_assert_true (loom_sd_random_model_write (&options, LOOM_SD_LAYOUT_SINGLE_FILE, path, NULL,
                                             &error));
  g_assert_no_error (error);

  model->checkpoint = loom_sd_checkpoint_open (path, &error);
  g_assert_no_error (error);
  return model;
}

/* Uploads the model's weights, checking that F16 ones stay F16 on the device: only
 * vectors (norms, biases) and the position embedding are widened. */
static LoomSdWeights *
upload (Model *model)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tensors = loom_sd_checkpoint_list (model->checkpoint);
  LoomSdWeights *weights = loom_sd_weights_upload (loom_test_get_device (), model->checkpoint,
                                                   FALSE, NULL, NULL, NULL, &error);
  guint64 values = 0;

  g_assert_no_error (error);
  g_assert_nonnull (weights);
  for (guint i = 0; i < tensors->len; i++)
    values += ((const LoomSdTensor *) g_ptr_array_index (tensors, i))->n_elements;
  g_test_message ("%s weights: %" G_GUINT64_FORMAT " KiB on the device for %" G_GUINT64_FORMAT
                  " values in the file", model->name, loom_sd_weights_get_bytes (weights) >> 10,
                  values);
  if (model->weight_type == LOOM_TENSOR_F16)
    g_assert_cmpuint (loom_sd_weights_get_bytes (weights), <, values * 2 * 11 / 10);
  else
    g_assert_cmpuint (loom_sd_weights_get_bytes (weights), >, values * 4 * 9 / 10);
  return weights;
}

static void
model_clear (Model *model)
{
  g_autofree char *path = NULL;

  g_clear_pointer (&model->checkpoint, loom_sd_checkpoint_free);
  if (model->dir == NULL)
    return;
  path = g_build_filename (model->dir, "model.safetensors", NULL);
  g_unlink (path);
  g_rmdir (model->dir);
  g_clear_pointer (&model->dir, g_free);
}

/* Values in [-scale, scale) from a fixed sequence. */
static float *
random_floats (gsize   n,
               guint32 seed,
               float   scale)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  float *values = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rand, -scale, scale);
  return values;
}

/* Checks @got against @expected within the model's bound; returns the relative error. */
static double
assert_close (const char  *what,
              const Model *model,
              const float *got,
              const float *expected,
              gsize        n)
{
  double max_ref = 0, max_diff = 0, relative;

  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (got[i]));
      max_ref = MAX (max_ref, fabs (expected[i]));
      max_diff = MAX (max_diff, fabs ((double) got[i] - expected[i]));
    }
  g_assert_cmpfloat (max_ref, >, 0);
  relative = max_diff / max_ref;
  g_test_message ("%s %s: max |device − reference| = %.3g (%.3g of max |reference| %.3g)",
                  model->name, what, max_diff, relative, max_ref);
  g_assert_cmpfloat (relative, <=, model->bound);
  return relative;
}

static void
test_text (gconstpointer data)
{
  Model *model;
  const LoomSdConfig *c;
  g_autoptr(LoomSdWeights) weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree guint32 *tokens = NULL;
  g_autofree float *got = NULL, *again = NULL, *expected = NULL;
  const guint n_chunks = 2;
  gsize n;

  if (loom_test_skip_without_device ())
    return;
  model = get_model ((Model *) data);
  weights = upload (model);
  c = loom_sd_checkpoint_get_config (model->checkpoint);

  /* Two chunks as the tokenizer makes them: start, words, end, padding by end. */
  n = (gsize) n_chunks * c->text_positions;
  tokens = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    tokens[i] = g_rand_int_range (rand, 0, (gint32) c->text_vocab);
  got = g_new0 (float, n * c->text_dim);
  again = g_new0 (float, n * c->text_dim);
  expected = g_new0 (float, n * c->text_dim);

  g_assert_true (loom_sd_encode_text (weights, tokens, n_chunks, got, &error));
  g_assert_no_error (error);
  g_assert_true (loom_sd_ref_text_encoder (model->checkpoint, tokens, n_chunks, expected, &error));
  g_assert_no_error (error);
  assert_close ("text encoder", model, got, expected, n * c->text_dim);

  g_assert_true (loom_sd_encode_text (weights, tokens, n_chunks, again, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, n * c->text_dim * sizeof (float), again, n * c->text_dim * sizeof (float));

  /* A token outside the vocabulary is refused. */
  tokens[3] = c->text_vocab;
  g_assert_false (loom_sd_encode_text (weights, tokens, 1, got, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
}

/* The UNet with @n_context context tokens: two contexts in one run against the
 * reference, a repeated run bit-identical, and a one-context run equal to its part of
 * the two-context run. */
static void
check_unet (Model *model,
            guint  n_context)
{
  const LoomSdConfig *c = loom_sd_checkpoint_get_config (model->checkpoint);
  g_autoptr(LoomSdWeights) weights = upload (model);
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomUnetState) state = NULL;
  gsize out_n = (gsize) c->unet_out_channels * LATENT * LATENT;
  gsize context_n = (gsize) n_context * c->unet_context_dim;
  g_autofree float *latent = random_floats ((gsize) c->unet_in_channels * LATENT * LATENT, 1, 1.5f);
  g_autofree float *cond = random_floats (context_n, 2, 1.0f);
  g_autofree float *uncond = random_floats (context_n, 3, 1.0f);
  g_autofree float *out0 = g_new0 (float, out_n);
  g_autofree float *out1 = g_new0 (float, out_n);
  g_autofree float *again0 = g_new0 (float, out_n);
  g_autofree float *again1 = g_new0 (float, out_n);
  g_autofree float *single = g_new0 (float, out_n);
  g_autofree float *expected = g_new0 (float, out_n);
  const float *contexts[] = { cond, uncond };
  float *outs[] = { out0, out1 };
  float *agains[] = { again0, again1 };
  const float timestep = 601.0f;
  g_autofree char *what0 = g_strdup_printf ("UNet, %u-token context (cond)", n_context);
  g_autofree char *what1 = g_strdup_printf ("UNet, %u-token context (uncond)", n_context);

  state = loom_unet_state_new (weights, LATENT, LATENT, n_context, &error);
  g_assert_no_error (error);
  g_test_message ("%s UNet state at %u×%u, %u tokens: %" G_GUINT64_FORMAT " KiB", model->name,
                  LATENT, LATENT, n_context, loom_unet_state_get_bytes (state) >> 10);

  g_assert_true (loom_unet_run (state, latent, timestep, contexts, 2, outs, &error));
  g_assert_no_error (error);

  g_assert_true (loom_sd_ref_unet (model->checkpoint, latent, LATENT, LATENT, timestep, cond,
                                   n_context, expected, &error));
  g_assert_no_error (error);
  assert_close (what0, model, out0, expected, out_n);
  g_assert_true (loom_sd_ref_unet (model->checkpoint, latent, LATENT, LATENT, timestep, uncond,
                                   n_context, expected, &error));
  g_assert_no_error (error);
  assert_close (what1, model, out1, expected, out_n);

  g_assert_true (loom_unet_run (state, latent, timestep, contexts, 2, agains, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out0, out_n * sizeof (float), again0, out_n * sizeof (float));
  g_assert_cmpmem (out1, out_n * sizeof (float), again1, out_n * sizeof (float));

  g_assert_true (loom_unet_run (state, latent, timestep, &contexts[1], 1, (float *[]) { single },
                                &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out1, out_n * sizeof (float), single, out_n * sizeof (float));
}

static void
test_unet (gconstpointer data)
{
  if (loom_test_skip_without_device ())
    return;
  check_unet (get_model ((Model *) data), 77);
}

static void
test_unet_long_context (gconstpointer data)
{
  if (loom_test_skip_without_device ())
    return;
  check_unet (get_model ((Model *) data), 154);
}

static void
test_vae_decode (gconstpointer data)
{
  Model *model;
  const LoomSdConfig *c;
  g_autoptr(LoomSdWeights) weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *latent = NULL, *got = NULL, *again = NULL, *expected = NULL;
  gsize n;
  guint f;

  if (loom_test_skip_without_device ())
    return;
  model = get_model ((Model *) data);
  weights = upload (model);
  c = loom_sd_checkpoint_get_config (model->checkpoint);
  f = loom_sd_config_latent_factor (c);
  n = 3 * (gsize) (LATENT * f) * (LATENT * f);
  latent = random_floats ((gsize) c->vae_latent_channels * LATENT * LATENT, 4, 2.0f);
  got = g_new0 (float, n);
  again = g_new0 (float, n);
  expected = g_new0 (float, n);

  g_assert_true (loom_vae_decode (weights, latent, LATENT, LATENT, got, &error));
  g_assert_no_error (error);
  g_assert_true (loom_sd_ref_vae_decode (model->checkpoint, latent, LATENT, LATENT, expected,
                                         &error));
  g_assert_no_error (error);
  assert_close ("VAE decode", model, got, expected, n);

  g_assert_true (loom_vae_decode (weights, latent, LATENT, LATENT, again, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, n * sizeof (float), again, n * sizeof (float));
}

static void
test_vae_encode (gconstpointer data)
{
  Model *model;
  const LoomSdConfig *c;
  g_autoptr(LoomSdWeights) weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *image = NULL, *got = NULL, *again = NULL, *expected = NULL;
  gsize n;
  guint f, size;

  if (loom_test_skip_without_device ())
    return;
  model = get_model ((Model *) data);
  weights = upload (model);
  c = loom_sd_checkpoint_get_config (model->checkpoint);
  f = loom_sd_config_latent_factor (c);
  size = LATENT * f;
  n = (gsize) c->vae_latent_channels * LATENT * LATENT;
  image = random_floats (3 * (gsize) size * size, 5, 1.0f);
  got = g_new0 (float, n);
  again = g_new0 (float, n);
  expected = g_new0 (float, n);

  g_assert_true (loom_vae_encode (weights, image, size, size, got, &error));
  g_assert_no_error (error);
  g_assert_true (loom_sd_ref_vae_encode (model->checkpoint, image, size, size, expected, &error));
  g_assert_no_error (error);
  assert_close ("VAE encode", model, got, expected, n);

  g_assert_true (loom_vae_encode (weights, image, size, size, again, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, n * sizeof (float), again, n * sizeof (float));

  /* Sizes the encoder cannot halve are refused. */
  g_assert_false (loom_vae_encode (weights, image, size - 1, size, got, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
}

typedef struct
{
  guint64  last_done;
  guint64  total;
  guint    calls;
  gboolean monotonic;
} Progress;

static void
progress_cb (guint64  done,
             guint64  total,
             gpointer user_data)
{
  Progress *p = user_data;

  p->monotonic = p->monotonic && done >= p->last_done && done <= total
                 && (p->calls == 0 || total == p->total);
  p->last_done = done;
  p->total = total;
  p->calls++;
}

static void
cancel_cb (guint64  done,
           guint64  total,
           gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

/* Progress climbs to its total; only the UNet is uploaded when asked, and the networks
 * that need the rest say so; a cancelled upload stops with G_IO_ERROR_CANCELLED. */
static void
test_upload (void)
{
  Model *model;
  g_autoptr(LoomSdWeights) weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomSdWeights) unet_only = NULL;
  g_autoptr(LoomSdWeights) cancelled = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Progress progress = { .monotonic = TRUE };
  float out[4];
  guint32 tokens[77] = { 0 };

  if (loom_test_skip_without_device ())
    return;
  model = get_model (&models[0]);
  weights = upload (model);

  unet_only = loom_sd_weights_upload (loom_test_get_device (), model->checkpoint, TRUE,
                                      progress_cb, &progress, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (progress.monotonic);
  g_assert_cmpuint (progress.calls, >, 10);
  g_assert_cmpuint (progress.last_done, ==, progress.total);
  g_assert_cmpuint (loom_sd_weights_get_bytes (unet_only), <,
                    loom_sd_weights_get_bytes (weights));
  g_assert_false (loom_sd_encode_text (unet_only, tokens, 1, out, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
  g_clear_error (&error);

  cancelled = loom_sd_weights_upload (loom_test_get_device (), model->checkpoint, FALSE,
                                      cancel_cb, cancellable, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (cancelled);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  loom_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      const struct
      {
        const char   *name;
        GTestDataFunc func;
      } cases[] = {
        { "text", test_text },
        { "unet", test_unet },
        { "unet-154-tokens", test_unet_long_context },
        { "vae-decode", test_vae_decode },
        { "vae-encode", test_vae_encode },
      };
      for (guint j = 0; j < G_N_ELEMENTS (cases); j++)
        {
          g_autofree char *path = g_strdup_printf ("/engine/sd-networks/%s/%s", models[i].name,
                                                   cases[j].name);
          g_test_add_data_func (path, &models[i], cases[j].func);
        }
    }
  g_test_add_func ("/engine/sd-networks/upload", test_upload);

  status = loom_test_run ();
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    model_clear (&models[i]);
  return status;
}
