/* test-image-model.c — image generation end to end on small random-weight SD models the
 * test writes itself: both checkpoint layouts give the same image, the same seed gives
 * the same bits, txt2img / img2img / inpainting run, steps and previews arrive on this
 * context, cancelling stops between steps, and bad requests and files are errors. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "loom-test-util.h"

#define SIZE 32   /* pixels: a 16×16 latent with the small models' factor of 2 */

static char *tmp_dir;
static char *sd1_single;
static char *sd1_diffusers;
static char *sd2_single;
static char *sd2_diffusers;

/* CLIP's merges, for the single-file models (which bring no tokenizer) and the diffusers
 * ones' tokenizer/: the real ones from the test data when present, else the engine's
 * stand-in of the same form and size (loom_sd_random_merges_write). */
static char *
find_or_write_merges (void)
{
  const char *testdata = g_getenv ("CANDOR_TESTDATA");
  g_autofree char *real = g_build_filename (testdata != NULL ? testdata : "", "clip-bpe",
                                            "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_autoptr(GError) error = NULL;
  char *own;

  if (testdata != NULL && g_file_test (real, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&real);
  own = g_build_filename (tmp_dir, "merges.txt", NULL);
  g_assert_true (loom_sd_random_merges_write (own, &error));
  g_assert_no_error (error);
  return own;
}

/* The SD 2.x models are v-prediction ones: a random network is no denoiser, and with ε
 * prediction a txt2img run drifts far from the latents a VAE decodes into visible pixels
 * (D = x − σ·ε keeps σ_max·ε of noise), while with v prediction D stays bounded. The SD
 * 1.x (ε) models therefore run img2img from a moderate strength where pixels matter. */
static void
write_model (LoomSdFamily family,
             LoomSdLayout layout,
             const char  *path,
             const char  *merges)
{
  LoomSdRandomOptions options = { 0 };
  g_autoptr(GError) error = NULL;

  if (family == LOOM_SD_FAMILY_SD2)
    {
      loom_sd_random_config_small_sd2 (&options.config);
      options.config.prediction = LOOM_SD_PREDICTION_V;
    }
  else
    {
      loom_sd_random_config_small_sd1 (&options.config);
    }
  options.weight_type = LOOM_TENSOR_F16;
  options.seed = 7;
  g_assert_true (loom_sd_random_model_write (&options, layout, path, merges, &error));
  g_assert_no_error (error);
}

typedef struct
{
  GMainLoop      *loop;
  LoomImageModel *model;
  LoomImage      *image;
  GError         *error;
  guint           last_step, n_steps, n_calls;
  guint           previews;
  guint           preview_w;
  guint           progress_calls;
  GCancellable   *cancel_after_first;
} Async;

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Async *a = user_data;

  a->model = loom_image_model_load_finish (result, &a->error);
  g_main_loop_quit (a->loop);
}

static void
load_progress_cb (guint    done,
                  guint    total,
                  gpointer user_data)
{
  Async *a = user_data;

  g_assert_cmpuint (done, <=, total);
  a->progress_calls++;
}

static LoomImageModel *
load (const char *path)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Async a = { .loop = loop };

  loom_image_model_load_async (loom_test_get_device (), path, load_progress_cb, &a, NULL, NULL,
                               loaded_cb, &a);
  g_main_loop_run (loop);
  g_assert_no_error (a.error);
  g_assert_nonnull (a.model);
  return a.model;
}

static void
step_cb (guint    step,
         guint    n_steps,
         GBytes  *preview,
         guint    preview_width,
         guint    preview_height,
         gpointer user_data)
{
  Async *a = user_data;

  /* Coalesced: steps may be skipped, never repeated or reordered. */
  g_assert_cmpuint (step, >, a->last_step);
  g_assert_cmpuint (step, <=, n_steps);
  a->last_step = step;
  a->n_steps = n_steps;
  a->n_calls++;
  if (preview != NULL)
    {
      g_assert_cmpuint (g_bytes_get_size (preview), ==, (gsize) preview_width * preview_height * 4);
      a->previews++;
      a->preview_w = preview_width;
    }
  if (a->cancel_after_first != NULL)
    g_cancellable_cancel (a->cancel_after_first);
}

static void
generated_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Async *a = user_data;

  a->image = loom_image_model_generate_finish (LOOM_IMAGE_MODEL (source), result, &a->error);
  g_main_loop_quit (a->loop);
}

static LoomImage *
generate_full (LoomImageModel         *model,
               const LoomImageRequest *request,
               GCancellable           *cancel_after_first,
               Async                  *out,
               GError                **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Async a = { .loop = loop, .cancel_after_first = cancel_after_first };

  loom_image_model_generate_async (model, request, step_cb, &a, NULL, cancel_after_first,
                                   generated_cb, &a);
  g_main_loop_run (loop);
  if (out != NULL)
    *out = a;
  if (a.error != NULL)
    g_propagate_error (error, a.error);
  return a.image;
}

static LoomImage *
generate (LoomImageModel         *model,
          const LoomImageRequest *request)
{
  g_autoptr(GError) error = NULL;
  LoomImage *image = generate_full (model, request, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (image);
  return image;
}

static void
basic_request (LoomImageRequest *request)
{
  loom_image_request_init (request);
  request->prompt = "a red cat on the hill";
  request->negative_prompt = "sun";
  request->seed = 42;
  request->steps = 3;
  request->cfg_scale = 4.0f;
  request->sampler = "euler_a";
  request->width = SIZE;
  request->height = SIZE;
  request->previews = TRUE;
}

/* A smooth colour gradient to start img2img from. */
static GBytes *
gradient_image (void)
{
  guint8 *px = g_malloc (SIZE * SIZE * 4);

  for (guint y = 0; y < SIZE; y++)
    for (guint x = 0; x < SIZE; x++)
      {
        guint8 *p = px + 4 * (y * SIZE + x);

        p[0] = (guint8) (x * 255 / (SIZE - 1));
        p[1] = (guint8) (y * 255 / (SIZE - 1));
        p[2] = (guint8) (128 + (x - y) * 2);
        p[3] = 255;
      }
  return g_bytes_new_take (px, SIZE * SIZE * 4);
}

static gboolean
same_pixels (LoomImage *a,
             LoomImage *b)
{
  return g_bytes_equal (loom_image_get_pixels (a), loom_image_get_pixels (b));
}

static void assert_not_flat (LoomImage *image);

/* Both layouts of the same weights give the same image, bit for bit, and so does a
 * second run; another seed gives another image. */
static void
check_layouts (const char             *single_path,
               const char             *diffusers_path,
               const char             *kind,
               const LoomImageRequest *request_in)
{
  g_autoptr(LoomImageModel) single = load (single_path);
  g_autoptr(LoomImageModel) diffusers = load (diffusers_path);
  g_autoptr(LoomImage) a = NULL, b = NULL, c = NULL, d = NULL;
  LoomImageRequest request = *request_in;

  g_assert_cmpstr (loom_image_model_get_kind (single), ==, kind);
  g_assert_cmpstr (loom_image_model_get_kind (diffusers), ==, kind);
  g_assert_cmpuint (strlen (loom_image_model_get_sha256 (single)), ==, 64);
  g_assert_cmpstr (loom_image_model_get_sha256 (single), !=,
                   loom_image_model_get_sha256 (diffusers));

  a = generate (single, &request);
  b = generate (diffusers, &request);
  c = generate (single, &request);
  g_assert_cmpuint (loom_image_get_width (a), ==, SIZE);
  g_assert_cmpuint (loom_image_get_height (a), ==, SIZE);
  assert_not_flat (a);
  g_assert_true (same_pixels (a, b));
  g_assert_true (same_pixels (a, c));

  request.seed++;
  d = generate (single, &request);
  g_assert_false (same_pixels (a, d));
  g_assert_cmpstr (loom_image_get_record (a)->model_sha256, ==,
                   loom_image_model_get_sha256 (single));
}

static void
test_layouts_and_determinism (void)
{
  g_autoptr(GBytes) init = gradient_image ();
  LoomImageRequest request;
  const LoomImageRecord *record;
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(LoomImage) image = NULL;

  if (loom_test_skip_without_device ())
    return;

  basic_request (&request);
  check_layouts (sd2_single, sd2_diffusers, "SD 2.x (v)", &request);
  request.init_image = init;
  request.strength = 0.5f;
  request.steps = 4;
  check_layouts (sd1_single, sd1_diffusers, "SD 1.x", &request);

  model = load (sd2_single);
  basic_request (&request);
  image = generate (model, &request);
  record = loom_image_get_record (image);
  g_assert_cmpstr (record->prompt, ==, "a red cat on the hill");
  g_assert_cmpstr (record->negative_prompt, ==, "sun");
  g_assert_cmpuint (record->seed, ==, 42);
  g_assert_cmpuint (record->steps, ==, 3);
  g_assert_cmpstr (record->sampler, ==, "euler_a");
  g_assert_cmpfloat (record->cfg_scale, ==, 4.0f);
  g_assert_cmpstr (record->mode, ==, "txt2img");
  g_assert_null (record->init_sha256);
}

/* The image is not flat: the networks produced structure (random weights, so noise). */
static void
assert_not_flat (LoomImage *image)
{
  gsize size;
  const guint8 *px = g_bytes_get_data (loom_image_get_pixels (image), &size);
  guint lo = 255, hi = 0;

  for (gsize i = 0; i < size; i += 4)
    {
      lo = MIN (lo, px[i]);
      hi = MAX (hi, px[i]);
    }
  g_assert_cmpuint (hi - lo, >, 8);
}

/* Steps arrive here in order with previews of the latent's size. */
static void
test_steps_and_previews (void)
{
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(LoomImage) image = NULL;
  g_autoptr(GError) error = NULL;
  LoomImageRequest request;
  Async a;

  if (loom_test_skip_without_device ())
    return;

  model = load (sd2_single);
  basic_request (&request);
  request.steps = 4;
  request.sampler = "dpmpp_2m_karras";
  image = generate_full (model, &request, NULL, &a, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a.last_step, ==, 4);
  g_assert_cmpuint (a.n_steps, ==, 4);
  g_assert_cmpuint (a.previews, >=, 1);
  g_assert_cmpuint (a.preview_w, ==, SIZE / 2);
  assert_not_flat (image);
}

/* img2img from an image, and inpainting: outside the mask the pixels are the init
 * image's own; inside, new ones. */
static void
test_img2img_and_inpaint (void)
{
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(LoomImage) init = NULL, refined = NULL, painted = NULL;
  g_autoptr(GBytes) mask = NULL;
  LoomImageRequest request;
  const guint8 *init_px, *out_px;
  guint8 *mask_px;
  guint changed_inside = 0;

  if (loom_test_skip_without_device ())
    return;

  model = load (sd1_single);
  basic_request (&request);
  request.init_image = gradient_image ();
  request.strength = 0.5f;
  request.steps = 4;
  init = generate (model, &request);
  g_bytes_unref ((GBytes *) request.init_image);
  assert_not_flat (init);

  request.init_image = loom_image_get_pixels (init);
  request.strength = 0.5f;
  request.steps = 4;
  request.seed = 5;
  refined = generate (model, &request);
  g_assert_cmpstr (loom_image_get_record (refined)->mode, ==, "img2img");
  g_assert_cmpfloat (loom_image_get_record (refined)->strength, ==, 0.5f);
  g_assert_nonnull (loom_image_get_record (refined)->init_sha256);
  g_assert_false (same_pixels (init, refined));

  /* Regenerate the left half. */
  mask_px = g_malloc0 (SIZE * SIZE * 4);
  for (guint y = 0; y < SIZE; y++)
    for (guint x = 0; x < SIZE / 2; x++)
      memset (mask_px + 4 * (y * SIZE + x), 255, 4);
  mask = g_bytes_new_take (mask_px, SIZE * SIZE * 4);
  request.mask_image = mask;
  request.strength = 1.0f;
  painted = generate (model, &request);
  g_assert_cmpstr (loom_image_get_record (painted)->mode, ==, "inpaint");
  g_assert_nonnull (loom_image_get_record (painted)->mask_sha256);

  init_px = g_bytes_get_data (loom_image_get_pixels (init), NULL);
  out_px = g_bytes_get_data (loom_image_get_pixels (painted), NULL);
  for (guint y = 0; y < SIZE; y++)
    for (guint x = 0; x < SIZE; x++)
      {
        gsize i = 4 * ((gsize) y * SIZE + x);

        if (x >= SIZE / 2)
          g_assert_cmpmem (out_px + i, 4, init_px + i, 4);
        else if (memcmp (out_px + i, init_px + i, 3) != 0)
          changed_inside++;
      }
  g_assert_cmpuint (changed_inside, >, SIZE * SIZE / 4);
}

/* SD 2.x: OpenCLIP's text tower, linear projections; with the Turbo sampler and no
 * guidance (one UNet pass per step). */
static void
test_sd2_turbo_sampler (void)
{
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(LoomImage) image = NULL, again = NULL;
  LoomImageRequest request;

  if (loom_test_skip_without_device ())
    return;

  model = load (sd2_single);
  g_assert_cmpstr (loom_image_model_get_kind (model), ==, "SD 2.x (v)");
  basic_request (&request);
  request.sampler = "turbo";
  request.steps = 2;
  request.cfg_scale = 1.0f;
  image = generate (model, &request);
  again = generate (model, &request);
  g_assert_true (same_pixels (image, again));
  g_assert_cmpfloat (loom_image_get_record (image)->cfg_scale, ==, 1.0f);
  assert_not_flat (image);

  request.sampler = "euler";
  request.cfg_scale = 3.0f;
  g_clear_object (&again);
  again = generate (model, &request);
  g_assert_false (same_pixels (image, again));
}

static void
test_cancel (void)
{
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  LoomImageRequest request;
  LoomImage *image;
  Async a;

  if (loom_test_skip_without_device ())
    return;

  model = load (sd1_single);
  basic_request (&request);
  request.steps = 12;
  image = generate_full (model, &request, cancellable, &a, &error);
  g_assert_null (image);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (a.last_step, <, 12);
}

static void
test_bad_requests_and_files (void)
{
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *junk = g_build_filename (tmp_dir, "junk.safetensors", NULL);
  g_autofree char *unet_only = g_build_filename (tmp_dir, "unet-only.safetensors", NULL);
  g_autoptr(GBytes) small = g_bytes_new_static ("abcd", 4);
  LoomImageRequest request;
  const char *paths[] = { junk, "/nonexistent/model.safetensors" };

  if (loom_test_skip_without_device ())
    return;

  model = load (sd1_single);
  {
    g_autoptr(GError) error = NULL;
    basic_request (&request);
    request.width = SIZE + 1;
    g_assert_null (generate_full (model, &request, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) error = NULL;
    basic_request (&request);
    request.init_image = small;
    g_assert_null (generate_full (model, &request, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) error = NULL;
    basic_request (&request);
    request.sampler = "heun";
    g_assert_null (generate_full (model, &request, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }

  g_assert_true (g_file_set_contents (junk, "\x10\0\0\0\0\0\0\0{\"a\":1}       ", 24, NULL));
  {
    LoomSdRandomOptions options = { 0 };
    Async a = { .loop = loop };

    /* A UNet alone opens as a checkpoint (benchmarks use one) but cannot make images. */
    loom_sd_random_config_small_sd1 (&options.config);
    options.weight_type = LOOM_TENSOR_F16;
    options.unet_only = TRUE;
    g_assert_true (loom_sd_random_model_write (&options, LOOM_SD_LAYOUT_SINGLE_FILE, unet_only,
                                               NULL, NULL));
    loom_image_model_load_async (loom_test_get_device (), unet_only, NULL, NULL, NULL, NULL,
                                 loaded_cb, &a);
    g_main_loop_run (loop);
    g_assert_null (a.model);
    g_assert_error (a.error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL);
    g_clear_error (&a.error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      Async a = { .loop = loop };

      loom_image_model_load_async (loom_test_get_device (), paths[i], NULL, NULL, NULL, NULL,
                                   loaded_cb, &a);
      g_main_loop_run (loop);
      g_assert_null (a.model);
      g_assert_nonnull (a.error);
      g_test_message ("%s: %s", paths[i], a.error->message);
      g_clear_error (&a.error);
    }
}

/* The PNG a user saves carries the A1111 parameters of its generation. */
static void
test_png_parameters (void)
{
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(LoomImage) image = NULL;
  g_autoptr(LoomPng) png = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "out.png", NULL);
  LoomImageRequest request;
  const char *parameters;

  if (loom_test_skip_without_device ())
    return;

  model = load (sd1_single);
  basic_request (&request);
  image = generate (model, &request);
  g_assert_true (loom_image_save_png (image, path, &error));
  g_assert_no_error (error);
  png = loom_png_read (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (png->pixels, loom_image_get_pixels (image)));
  parameters = g_hash_table_lookup (png->text, "parameters");
  g_assert_nonnull (parameters);
  g_assert_true (g_str_has_prefix (parameters, "a red cat on the hill\nNegative prompt: sun\n"));
  g_assert_nonnull (strstr (parameters, "Steps: 3, Sampler: Euler a, CFG scale: 4, Seed: 42, "
                                        "Size: 32x32"));
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        remove_tree (child);
      }
  g_remove (path);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *merges = NULL;
  int status;

  loom_test_init (&argc, &argv);

  tmp_dir = g_dir_make_tmp ("loom-image-model-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  merges = find_or_write_merges ();
  /* The single-file models find CLIP's merges through the environment. */
  g_setenv ("LOOM_CLIP_MERGES", merges, TRUE);
  sd1_single = g_build_filename (tmp_dir, "sd1.safetensors", NULL);
  sd1_diffusers = g_build_filename (tmp_dir, "sd1-diffusers", NULL);
  sd2_single = g_build_filename (tmp_dir, "sd2.safetensors", NULL);
  sd2_diffusers = g_build_filename (tmp_dir, "sd2-diffusers", NULL);
  write_model (LOOM_SD_FAMILY_SD1, LOOM_SD_LAYOUT_SINGLE_FILE, sd1_single, NULL);
  write_model (LOOM_SD_FAMILY_SD1, LOOM_SD_LAYOUT_DIFFUSERS, sd1_diffusers, merges);
  write_model (LOOM_SD_FAMILY_SD2, LOOM_SD_LAYOUT_SINGLE_FILE, sd2_single, NULL);
  write_model (LOOM_SD_FAMILY_SD2, LOOM_SD_LAYOUT_DIFFUSERS, sd2_diffusers, merges);

  g_test_add_func ("/engine/image-model/layouts-and-determinism", test_layouts_and_determinism);
  g_test_add_func ("/engine/image-model/steps-and-previews", test_steps_and_previews);
  g_test_add_func ("/engine/image-model/img2img-and-inpaint", test_img2img_and_inpaint);
  g_test_add_func ("/engine/image-model/sd2-turbo-sampler", test_sd2_turbo_sampler);
  g_test_add_func ("/engine/image-model/cancel", test_cancel);
  g_test_add_func ("/engine/image-model/bad-requests-and-files", test_bad_requests_and_files);
  g_test_add_func ("/engine/image-model/png-parameters", test_png_parameters);

  status = loom_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (sd1_single);
  g_free (sd1_diffusers);
  g_free (sd2_single);
  g_free (sd2_diffusers);
  return status;
}
