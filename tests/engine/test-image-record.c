/* test-image-record.c — LoomImage and its record: AUTOMATIC1111's parameters text, JSON,
 * and PNG files. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "loom-test-util.h"
#include "formats/loom-png.h"
#include "image/loom-image.h"

/* The SHA-256 of v1-5-pruned-emaonly.safetensors, whose first 10 digits AUTOMATIC1111
 * shows as its "Model hash". */
#define SD15_SHA256 "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa"
#define INIT_SHA256 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MASK_SHA256 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const LoomImageRecord txt2img = {
  .model_name = (char *) "v1-5-pruned-emaonly",
  .model_kind = (char *) "SD 1.x",
  .model_sha256 = (char *) SD15_SHA256,
  .prompt = (char *) "a lighthouse at dusk, oil painting",
  .negative_prompt = (char *) "blurry, low quality",
  .seed = 123,
  .steps = 20,
  .sampler = (char *) "euler_a",
  .cfg_scale = 7.0f,
  .width = 512,
  .height = 512,
  .mode = (char *) "txt2img",
  .strength = 1.0f,
  .seconds = 12.5,
};

static const LoomImageRecord img2img = {
  .model_name = (char *) "v1-5-pruned-emaonly",
  .model_kind = (char *) "SD 1.x",
  .model_sha256 = (char *) SD15_SHA256,
  .prompt = (char *) "a castle on a hill",
  .negative_prompt = (char *) "",
  .seed = 4294967295u,
  .steps = 30,
  .sampler = (char *) "dpmpp_2m_karras",
  .cfg_scale = 7.5f,
  .width = 768,
  .height = 512,
  .mode = (char *) "img2img",
  .strength = 0.75f,
  .init_sha256 = (char *) INIT_SHA256,
  .seconds = 3.25,
};

static const LoomImageRecord inpaint = {
  .model_name = (char *) "sd-turbo",
  .model_kind = (char *) "SD-Turbo",
  .model_sha256 = NULL,
  .prompt = (char *) "東京の夜, neon",
  .negative_prompt = (char *) "text",
  .seed = (G_GUINT64_CONSTANT (1) << 60) + 1,
  .steps = 1,
  .sampler = (char *) "turbo",
  .cfg_scale = 0.7f,
  .width = 512,
  .height = 512,
  .mode = (char *) "inpaint",
  .strength = 0.3f,
  .init_sha256 = (char *) INIT_SHA256,
  .mask_sha256 = (char *) MASK_SHA256,
  .seconds = 0,
};

static void
test_parameters (void)
{
  LoomImageRecord no_prompt = txt2img;
  LoomImageRecord euler = txt2img;
  g_autofree char *a = loom_image_record_to_parameters (&txt2img);
  g_autofree char *b = loom_image_record_to_parameters (&img2img);
  g_autofree char *c = loom_image_record_to_parameters (&inpaint);
  g_autofree char *d = NULL;
  g_autofree char *e = NULL;

  g_assert_cmpstr (a, ==,
                   "a lighthouse at dusk, oil painting\n"
                   "Negative prompt: blurry, low quality\n"
                   "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, "
                   "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly");
  g_assert_cmpstr (b, ==,
                   "a castle on a hill\n"
                   "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 4294967295, "
                   "Size: 768x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
                   "Denoising strength: 0.75");
  /* Without a model hash, none is shown. */
  g_assert_cmpstr (c, ==,
                   "東京の夜, neon\n"
                   "Negative prompt: text\n"
                   "Steps: 1, Sampler: SD Turbo, CFG scale: 0.7, Seed: 1152921504606846977, "
                   "Size: 512x512, Model: sd-turbo, Denoising strength: 0.3");

  /* AUTOMATIC1111 strips the text: no empty first line without a prompt. */
  no_prompt.prompt = (char *) "";
  d = loom_image_record_to_parameters (&no_prompt);
  g_assert_cmpstr (d, ==,
                   "Negative prompt: blurry, low quality\n"
                   "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, "
                   "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly");
  euler.sampler = (char *) "euler";
  euler.negative_prompt = (char *) "";
  euler.cfg_scale = 12.25f;
  e = loom_image_record_to_parameters (&euler);
  g_assert_cmpstr (e, ==,
                   "a lighthouse at dusk, oil painting\n"
                   "Steps: 20, Sampler: Euler, CFG scale: 12.25, Seed: 123, Size: 512x512, "
                   "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly");
}

static void
assert_records_equal (const LoomImageRecord *a,
                      const LoomImageRecord *b)
{
  g_assert_cmpstr (a->model_name, ==, b->model_name);
  g_assert_cmpstr (a->model_kind, ==, b->model_kind);
  g_assert_cmpstr (a->model_sha256, ==, b->model_sha256);
  g_assert_cmpstr (a->prompt, ==, b->prompt);
  g_assert_cmpstr (a->negative_prompt, ==, b->negative_prompt);
  g_assert_cmpuint (a->seed, ==, b->seed);
  g_assert_cmpuint (a->steps, ==, b->steps);
  g_assert_cmpstr (a->sampler, ==, b->sampler);
  g_assert_true (a->cfg_scale == b->cfg_scale);
  g_assert_cmpuint (a->width, ==, b->width);
  g_assert_cmpuint (a->height, ==, b->height);
  g_assert_cmpstr (a->mode, ==, b->mode);
  g_assert_true (a->strength == b->strength);
  g_assert_cmpstr (a->init_sha256, ==, b->init_sha256);
  g_assert_cmpstr (a->mask_sha256, ==, b->mask_sha256);
  g_assert_true (a->seconds == b->seconds);
}

/* Through JSON text and back, as a file would take it. */
static void
test_json_round_trip (void)
{
  const LoomImageRecord *records[] = { &txt2img, &img2img, &inpaint };

  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_autoptr(JsonNode) node = loom_image_record_to_json (records[i]);
      g_autofree char *text = json_to_string (node, FALSE);
      g_autoptr(JsonNode) parsed = NULL;
      g_autoptr(GError) error = NULL;
      LoomImageRecord back;

      g_test_message ("%s", text);
      parsed = json_from_string (text, &error);
      g_assert_no_error (error);
      g_assert_true (loom_image_record_from_json (parsed, &back, &error));
      g_assert_no_error (error);
      assert_records_equal (&back, records[i]);
      loom_image_record_clear (&back);
      g_assert_null (back.prompt);
    }

  /* A seed beyond 2⁵³ is written as text; a missing hash as null. */
  {
    g_autoptr(JsonNode) node = loom_image_record_to_json (&inpaint);
    g_autofree char *text = json_to_string (node, FALSE);

    g_assert_nonnull (strstr (text, "\"seed\":\"1152921504606846977\""));
    g_assert_nonnull (strstr (text, "\"model_sha256\":null"));
  }
}

static void
expect_json_error (const char *replace,
                   const char *with,
                   const char *fragment)
{
  g_autoptr(JsonNode) node = loom_image_record_to_json (&img2img);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr(GString) edited = g_string_new (text);
  g_autoptr(JsonNode) parsed = NULL;
  g_autoptr(GError) error = NULL;
  LoomImageRecord back, zero = { 0, };

  g_assert_cmpuint (g_string_replace (edited, replace, with, 1), ==, 1);
  parsed = json_from_string (edited->str, &error);
  g_assert_no_error (error);
  memset (&back, 0xaa, sizeof back);
  g_assert_false (loom_image_record_from_json (parsed, &back, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s” is not in “%s”", fragment, error->message);
  g_assert_cmpmem (&back, sizeof back, &zero, sizeof zero);
}

static void
test_json_errors (void)
{
  g_autoptr(JsonNode) array = json_from_string ("[1]", NULL);
  g_autoptr(GError) error = NULL;
  LoomImageRecord back;

  g_assert_false (loom_image_record_from_json (array, &back, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "not a JSON object"));

  expect_json_error ("\"prompt\":\"a castle on a hill\",", "", "“prompt” is missing");
  expect_json_error ("\"prompt\":\"a castle on a hill\"", "\"prompt\":3", "“prompt” is not a string");
  expect_json_error ("\"model_name\":\"v1-5-pruned-emaonly\"", "\"model_name\":null",
                     "“model_name” is missing");
  expect_json_error ("\"steps\":30", "\"steps\":0", "“steps” is 0");
  expect_json_error ("\"steps\":30", "\"steps\":\"30\"", "“steps” is not an integer");
  expect_json_error ("\"steps\":30", "\"steps\":30.5", "“steps” is not an integer");
  expect_json_error ("\"width\":768", "\"width\":0", "“width” is 0");
  expect_json_error ("\"height\":512", "\"height\":100000", "“height” is 100000");
  expect_json_error ("\"cfg_scale\":7.5", "\"cfg_scale\":\"7.5\"", "“cfg_scale” is not a number");
  expect_json_error ("\"cfg_scale\":7.5", "\"cfg_scale\":-1", "“cfg_scale” is -1");
  expect_json_error ("\"strength\":0.75", "\"strength\":1.5", "“strength” is 1.5");
  expect_json_error ("\"seconds\":3.25", "\"seconds\":-3", "“seconds” is -3");
  expect_json_error ("\"seed\":4294967295", "\"seed\":-1", "“seed” is -1");
  expect_json_error ("\"seed\":4294967295", "\"seed\":\"12a\"", "“seed” is not a decimal");
  expect_json_error ("\"mode\":\"img2img\"", "\"mode\":\"outpaint\"", "“mode” is “outpaint”");
  expect_json_error ("\"init_sha256\":\"" INIT_SHA256 "\"", "\"init_sha256\":null",
                     "needs an init image");
  expect_json_error ("\"mode\":\"img2img\"", "\"mode\":\"txt2img\"",
                     "a txt2img record has an init image");
  expect_json_error ("\"mode\":\"img2img\"", "\"mode\":\"inpaint\"", "needs an init image and a mask");
  expect_json_error ("\"mask_sha256\":null", "\"mask_sha256\":\"" MASK_SHA256 "\"",
                     "needs an init image and no mask");
  expect_json_error ("6ce0161689", "6CE0161689", "“model_sha256” is not a SHA-256");
  expect_json_error ("\"init_sha256\":\"0123", "\"init_sha256\":\"123",
                     "“init_sha256” is not a SHA-256");
}

static void
test_save_png (void)
{
  const LoomImageRecord *records[] = { &txt2img, &inpaint };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-image-record-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "image.png", NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      const guint width = 13, height = 7;
      g_autofree guint8 *rgba = g_malloc (width * height * 4);
      g_autoptr(GBytes) pixels = NULL;
      g_autoptr(LoomPng) png = NULL;
      g_autofree char *parameters = loom_image_record_to_parameters (records[i]);
      LoomImage *image;

      for (guint p = 0; p < width * height * 4; p++)
        rgba[p] = (guint8) g_rand_int (rand);
      pixels = g_bytes_new (rgba, width * height * 4);
      image = loom_image_new (pixels, width, height, records[i]);
      g_assert_true (loom_image_get_pixels (image) == pixels);
      g_assert_cmpuint (loom_image_get_width (image), ==, width);
      g_assert_cmpuint (loom_image_get_height (image), ==, height);
      /* The record is a copy. */
      g_assert_true (loom_image_get_record (image)->prompt != records[i]->prompt);
      assert_records_equal (loom_image_get_record (image), records[i]);

      g_assert_true (loom_image_save_png (image, path, &error));
      g_assert_no_error (error);
      png = loom_png_read (path, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (png->width, ==, width);
      g_assert_cmpuint (png->height, ==, height);
      g_assert_cmpmem (g_bytes_get_data (png->pixels, NULL), g_bytes_get_size (png->pixels),
                       rgba, width * height * 4);
      g_assert_cmpstr (g_hash_table_lookup (png->text, "parameters"), ==, parameters);
      g_assert_finalize_object (image);
    }

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/image-record/parameters", test_parameters);
  g_test_add_func ("/engine/image-record/json/round-trip", test_json_round_trip);
  g_test_add_func ("/engine/image-record/json/errors", test_json_errors);
  g_test_add_func ("/engine/image-record/save-png", test_save_png);

  return loom_test_run ();
}
