/* cli-image.c — `candor-cli image`, `bench-image` and `make-image-model`: Stable
 * Diffusion from the command line. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

static LoomImageModel *
load_model (const char *selector,
            const char *path,
            LoomDevice **device_out,
            GError     **error)
{
  g_autoptr(LoomDevice) device = loom_device_new (selector, error);
  LoomImageModel *model;

  if (device == NULL)
    return NULL;
  model = loom_image_model_new (device, path, NULL, NULL, error);
  if (model != NULL)
    *device_out = g_steal_pointer (&device);
  return model;
}

/* Reads a PNG as RGBA8 of the expected size (0 × 0: any, which it then sets). */
static GBytes *
read_png (const char *path,
          guint      *width,
          guint      *height,
          GError    **error)
{
  g_autoptr(LoomPng) png = loom_png_read (path, error);

  if (png == NULL)
    return NULL;
  if (*width == 0 && *height == 0)
    {
      *width = png->width;
      *height = png->height;
    }
  if (png->width != *width || png->height != *height)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is %u×%u, the image is to be %u×%u", path, png->width, png->height,
                   *width, *height);
      return NULL;
    }
  return g_bytes_ref (png->pixels);
}

typedef struct
{
  GMainLoop *loop;
  LoomImage *image;
  GError    *error;
  gboolean   show;
} Run;

static void
step_cb (guint    step,
         guint    n_steps,
         GBytes  *preview,
         guint    preview_width,
         guint    preview_height,
         gpointer user_data)
{
  Run *run = user_data;

  if (run->show)
    fprintf (stderr, "\rstep %u/%u", step, n_steps);
}

static void
generated_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Run *run = user_data;

  run->image = loom_image_model_generate_finish (LOOM_IMAGE_MODEL (source), result, &run->error);
  g_main_loop_quit (run->loop);
}

int
candor_cli_image (int    argc,
                  char **argv)
{
  g_autofree char *prompt = NULL;
  g_autofree char *negative = NULL;
  g_autofree char *sampler = NULL;
  g_autofree char *init = NULL;
  g_autofree char *mask = NULL;
  g_autofree char *out = NULL;
  g_autofree char *selector = NULL;
  int steps = 0, width = 0, height = 0;
  double cfg = -1.0, strength = 0.75;
  gint64 seed = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "What to draw; (word:1.2) weights a word", "TEXT" },
    { "negative", 0, 0, G_OPTION_ARG_STRING, &negative, "What to avoid", "TEXT" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Denoising steps (default: 20, SD-Turbo 1)", "N" },
    { "cfg", 0, 0, G_OPTION_ARG_DOUBLE, &cfg, "Guidance scale; 1 turns guidance off (default 7, SD-Turbo 1)", "S" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed (default 0)", "S" },
    { "sampler", 0, 0, G_OPTION_ARG_STRING, &sampler, "euler, euler_a (default), dpmpp_2m_karras or turbo", "NAME" },
    { "width", 'W', 0, G_OPTION_ARG_INT, &width, "Width in pixels (default: the model's size, or the init image's)", "N" },
    { "height", 'H', 0, G_OPTION_ARG_INT, &height, "Height in pixels", "N" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "img2img: start from this PNG", "IMG" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask, "Inpaint: regenerate where this PNG is white", "IMG" },
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &strength, "img2img strength in (0, 1] (default 0.75)", "S" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The PNG to write (required)", "OUT.png" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the generation record as JSON", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector, "Device index or name", "DEVICE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL — generate an image");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = NULL;
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(GBytes) init_pixels = NULL;
  g_autoptr(GBytes) mask_pixels = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  LoomImageRequest request;
  LoomImageMetadata metadata;
  guint w, h;
  Run run = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || out == NULL
      || steps < 0 || width < 0 || height < 0 || (mask != NULL && init == NULL))
    {
      fprintf (stderr, "candor-cli image: %s\n",
               error != NULL ? error->message
                             : "give one MODEL, --out, non-negative sizes, and --init with --mask");
      return 2;
    }

  model = load_model (selector, argv[1], &device, &error);
  if (model == NULL)
    goto fail;

  w = (guint) width;
  h = (guint) height;
  if (init != NULL && (init_pixels = read_png (init, &w, &h, &error)) == NULL)
    goto fail;
  if (mask != NULL && (mask_pixels = read_png (mask, &w, &h, &error)) == NULL)
    goto fail;

  loom_image_request_init (&request);
  request.prompt = prompt != NULL ? prompt : "";
  request.negative_prompt = negative;
  request.seed = (guint64) seed;
  request.steps = (guint) steps;
  request.cfg_scale = (float) cfg;
  request.sampler = sampler;
  request.width = w;
  request.height = h;
  request.init_image = init_pixels;
  request.mask_image = mask_pixels;
  request.strength = (float) strength;

  run.loop = loop;
  run.show = isatty (STDERR_FILENO);
  loom_image_model_generate_async (model, &request, step_cb, &run, NULL, NULL, generated_cb, &run);
  g_main_loop_run (loop);
  if (run.show)
    fprintf (stderr, "\n");
  if (run.image == NULL)
    {
      g_propagate_error (&error, run.error);
      goto fail;
    }
  /* The file says how it was made (XMP); training stays not allowed, the default. */
  loom_image_metadata_init (&metadata);
  metadata.creator_tool = "candor-cli " PACKAGE_VERSION;
  if (!loom_image_write_png (run.image, &metadata, out, &error))
    {
      g_clear_object (&run.image);
      goto fail;
    }
  if (json)
    {
      g_autoptr(JsonNode) node = loom_image_record_to_json (loom_image_get_record (run.image));
      g_autofree char *text = json_to_string (node, TRUE);

      printf ("%s\n", text);
    }
  g_clear_object (&run.image);
  return 0;

fail:
  fprintf (stderr, "candor-cli: %s\n", error->message);
  return 1;
}

/* ---- bench-image ---- */

typedef struct
{
  double cold;    /* the first run: compiles the pipelines */
  double median;  /* of the warm runs */
} Timing;

typedef gboolean (*BenchFunc) (gpointer data, GError **error);

static gboolean
time_runs (BenchFunc  func,
           gpointer   data,
           int        repeat,
           Timing    *timing,
           GError   **error)
{
  g_autofree double *runs = g_new (double, MAX (repeat, 1));
  gint64 t0 = g_get_monotonic_time ();

  if (!func (data, error))
    return FALSE;
  timing->cold = (g_get_monotonic_time () - t0) / 1e6;
  /* No warm run: the first one is all there is (slow devices, big sizes). */
  runs[0] = timing->cold;
  for (int i = 0; i < repeat; i++)
    {
      t0 = g_get_monotonic_time ();
      if (!func (data, error))
        return FALSE;
      runs[i] = (g_get_monotonic_time () - t0) / 1e6;
    }
  timing->median = candor_cli_median (runs, MAX (repeat, 1));
  return TRUE;
}

typedef struct
{
  LoomSdWeights *weights;
  LoomUnetState *unet;
  guint32        tokens[LOOM_CLIP_CONTEXT];
  float         *context;
  float         *latent;
  float         *outs[2];
  guint          n_contexts;
  guint          lh, lw;
  float         *pixels;
} Bench;

static gboolean
bench_text (gpointer data,
            GError **error)
{
  Bench *b = data;

  return loom_sd_encode_text (b->weights, b->tokens, 1, b->context, error);
}

static gboolean
bench_unet (gpointer data,
            GError **error)
{
  Bench *b = data;
  const float *contexts[2] = { b->context, b->context };

  return loom_unet_run (b->unet, b->latent, 500.0f, contexts, b->n_contexts, b->outs, error);
}

static gboolean
bench_vae (gpointer data,
           GError **error)
{
  Bench *b = data;

  return loom_vae_decode (b->weights, b->latent, b->lh, b->lw, b->pixels, error);
}

static void
add_timing (JsonBuilder  *builder,
            const char   *name,
            const Timing *timing)
{
  g_autofree char *cold = g_strconcat (name, "_first_seconds", NULL);
  g_autofree char *warm = g_strconcat (name, "_seconds", NULL);

  json_builder_set_member_name (builder, warm);
  json_builder_add_double_value (builder, timing->median);
  json_builder_set_member_name (builder, cold);
  json_builder_add_double_value (builder, timing->cold);
}

int
candor_cli_bench_image (int    argc,
                        char **argv)
{
  g_autofree char *selector = NULL;
  int width = 0, height = 0, repeat = 1;
  double cfg = 7.0;
  gboolean no_vae = FALSE;
  GOptionEntry entries[] = {
    { "width", 'W', 0, G_OPTION_ARG_INT, &width, "Width in pixels (default: the model's size)", "N" },
    { "height", 'H', 0, G_OPTION_ARG_INT, &height, "Height in pixels", "N" },
    { "cfg", 0, 0, G_OPTION_ARG_DOUBLE, &cfg, "Guidance scale: above 1 a step runs the UNet twice (default 7)", "S" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Warm runs after the first, of which the median counts (default 1; 0: the first run only)", "N" },
    { "no-vae", 0, 0, G_OPTION_ARG_NONE, &no_vae, "Skip the VAE decoder", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector, "Device index or name", "DEVICE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL — measure an image model's speed (JSON)");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = NULL;
  g_autoptr(LoomImageModel) model = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree float *latent = NULL, *context_values = NULL, *out0 = NULL, *out1 = NULL;
  g_autofree float *pixels = NULL;
  const LoomSdConfig *config;
  Timing t_text, t_unet, t_vae = { 0 };
  Bench bench = { 0 };
  gint64 t0;
  double load_seconds;
  guint factor;
  gsize n;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || width < 0
      || height < 0 || repeat < 0)
    {
      fprintf (stderr, "candor-cli bench-image: %s\n",
               error != NULL ? error->message : "give one MODEL, sizes and a --repeat of 0 or more");
      return 2;
    }

  t0 = g_get_monotonic_time ();
  model = load_model (selector, argv[1], &device, &error);
  if (model == NULL)
    goto fail;
  load_seconds = (g_get_monotonic_time () - t0) / 1e6;
  config = loom_image_model_get_config (model);
  factor = loom_sd_config_latent_factor (config);
  if (width == 0)
    width = (int) config->native_size;
  if (height == 0)
    height = (int) config->native_size;

  bench.weights = loom_image_model_get_weights (model);
  bench.lw = (guint) width / factor;
  bench.lh = (guint) height / factor;
  bench.n_contexts = cfg > 1.0 ? 2 : 1;
  n = (gsize) config->unet_in_channels * bench.lw * bench.lh;
  bench.latent = latent = g_new (float, n);
  loom_sd_noise (1, 0, latent, n);
  bench.outs[0] = out0 = g_new (float, n);
  bench.outs[1] = out1 = g_new (float, n);
  bench.context = context_values = g_new (float, (gsize) LOOM_CLIP_CONTEXT * config->text_dim);
  bench.pixels = pixels = g_new (float, (gsize) 3 * width * height);
  /* A start token, a short "prompt" of ordinary tokens, then the end token as padding. */
  for (guint i = 0; i < LOOM_CLIP_CONTEXT; i++)
    bench.tokens[i] = i == 0 ? 49406 : i < 8 ? 320 + i : 49407;

  bench.unet = loom_unet_state_new (bench.weights, bench.lh, bench.lw, LOOM_CLIP_CONTEXT, &error);
  if (bench.unet == NULL)
    goto fail;
  loom_device_reset_profile (device);
  if (!time_runs (bench_text, &bench, repeat, &t_text, &error)
      || !time_runs (bench_unet, &bench, repeat, &t_unet, &error)
      || (!no_vae && !time_runs (bench_vae, &bench, repeat, &t_vae, &error)))
    goto fail;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, argv[1]);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, loom_image_model_get_kind (model));
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, loom_device_get_name (device));
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, height);
  json_builder_set_member_name (b, "unet_passes_per_step");
  json_builder_add_int_value (b, bench.n_contexts);
  json_builder_set_member_name (b, "load_seconds");
  json_builder_add_double_value (b, load_seconds);
  add_timing (b, "text_encoder", &t_text);
  add_timing (b, "unet_step", &t_unet);
  if (!no_vae)
    add_timing (b, "vae_decode", &t_vae);
  json_builder_set_member_name (b, "weight_mib");
  json_builder_add_double_value (b, loom_image_model_get_weight_bytes (model) / 1048576.0);
  json_builder_set_member_name (b, "unet_activation_mib");
  json_builder_add_double_value (b, loom_unet_state_get_bytes (bench.unet) / 1048576.0);
  json_builder_set_member_name (b, "peak_host_mib");
  json_builder_add_double_value (b, candor_cli_peak_host_memory () / 1048576.0);
  json_builder_set_member_name (b, "peak_device_mib");
  json_builder_add_double_value (b, loom_device_get_memory_peak (device) / 1048576.0);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, TRUE);
  printf ("%s\n", text);
  loom_unet_state_free (bench.unet);
  return 0;

fail:
  g_clear_pointer (&bench.unet, loom_unet_state_free);
  fprintf (stderr, "candor-cli: %s\n", error->message);
  return 1;
}

/* ---- make-image-model ---- */

int
candor_cli_make_image_model (int    argc,
                             char **argv)
{
  g_autofree char *family = NULL;
  g_autofree char *size = NULL;
  g_autofree char *layout = NULL;
  g_autofree char *type = NULL;
  g_autofree char *merges = NULL;
  g_autofree char *stand_in = NULL;
  g_autofree char *prediction = NULL;
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "family", 0, 0, G_OPTION_ARG_STRING, &family, "sd1 (default) or sd2", "NAME" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "small (default: a test model) or full (SD 1.5's architecture, sd1 only)", "SIZE" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout, "single-file (default) or diffusers", "LAYOUT" },
    { "type", 't', 0, G_OPTION_ARG_STRING, &type, "F16 (default) or F32", "TYPE" },
    { "merges", 0, 0, G_OPTION_ARG_FILENAME, &merges, "CLIP merges for a diffusers tokenizer/", "FILE" },
    { "merges-stand-in", 0, 0, G_OPTION_ARG_FILENAME, &stand_in, "Write a stand-in for CLIP's merges to FILE and use it as --merges (no download)", "FILE" },
    { "prediction", 0, 0, G_OPTION_ARG_STRING, &prediction, "eps (default) or v: what the UNet predicts", "KIND" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("OUT — write a random-weight Stable Diffusion model");
  g_autoptr(GError) error = NULL;
  LoomSdRandomOptions options = { 0 };
  gboolean sd2, full, diffusers, v;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      fprintf (stderr, "candor-cli make-image-model: %s\n",
               error != NULL ? error->message : "give one output path");
      return 2;
    }
  sd2 = g_strcmp0 (family, "sd2") == 0;
  full = g_strcmp0 (size, "full") == 0;
  diffusers = g_strcmp0 (layout, "diffusers") == 0;
  v = g_strcmp0 (prediction, "v") == 0;
  if ((family != NULL && !sd2 && g_strcmp0 (family, "sd1") != 0)
      || (size != NULL && !full && g_strcmp0 (size, "small") != 0) || (full && sd2)
      || (layout != NULL && !diffusers && g_strcmp0 (layout, "single-file") != 0)
      || (type != NULL && g_ascii_strcasecmp (type, "f16") != 0
          && g_ascii_strcasecmp (type, "f32") != 0)
      || (prediction != NULL && !v && g_strcmp0 (prediction, "eps") != 0))
    {
      fprintf (stderr, "candor-cli make-image-model: unknown family, size, layout, type or "
                       "prediction\n");
      return 2;
    }
  /* A single file says v prediction only through the SD 2.x heuristic the loader
   * applies (loom-sd-checkpoint.c); an SD 1.x file is always read as ε. */
  if (v && !sd2 && !diffusers)
    {
      fprintf (stderr, "candor-cli make-image-model: a single SD 1.x file cannot say v "
                       "prediction; use --layout diffusers\n");
      return 2;
    }
  if (merges != NULL && stand_in != NULL)
    {
      fprintf (stderr, "candor-cli make-image-model: give --merges or --merges-stand-in, "
                       "not both\n");
      return 2;
    }
  if (stand_in != NULL)
    {
      if (!loom_sd_random_merges_write (stand_in, &error))
        {
          fprintf (stderr, "candor-cli: %s\n", error->message);
          return 1;
        }
      merges = g_steal_pointer (&stand_in);
    }

  if (full)
    loom_sd_random_config_sd15 (&options.config);
  else if (sd2)
    loom_sd_random_config_small_sd2 (&options.config);
  else
    loom_sd_random_config_small_sd1 (&options.config);
  options.config.prediction = v ? LOOM_SD_PREDICTION_V : LOOM_SD_PREDICTION_EPSILON;
  options.weight_type = type != NULL && g_ascii_strcasecmp (type, "f32") == 0
                          ? LOOM_TENSOR_F32 : LOOM_TENSOR_F16;
  options.seed = (guint64) seed;
  if (!loom_sd_random_model_write (&options,
                                   diffusers ? LOOM_SD_LAYOUT_DIFFUSERS
                                             : LOOM_SD_LAYOUT_SINGLE_FILE,
                                   argv[1], merges, &error))
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }
  return 0;
}
