/* test-illustrations-view.c — the Illustrations view with real widgets and a real (small,
 * random-weight) Stable Diffusion model: generating with per-step previews, cancelling,
 * painting and masking on the canvas, refine and inpaint, the history's choices, placing a
 * picture in the story and saving it, PNG export with its metadata, and the frame time
 * while a generation runs.
 *
 * The model is written by this test with `candor-cli make-image-model` ($CANDOR_CLI): the
 * small SD 2.x architecture as a diffusers folder, which brings its own tokenizer (from
 * CLIP's merges in the test data, else a stand-in of the same form), and a v-prediction
 * model, as the engine's own tests use: a random network is no denoiser, and only with v
 * prediction does a txt2img run stay where a VAE decodes into pixels that are not all
 * saturated.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "candor-canvas.h"
#include "candor-document.h"
#include "candor-illustration.h"
#include "candor-illustrations-view.h"
#include "candor-story-view.h"
#include "candor-test-app.h"
#include "candor-window.h"

#define PROMPT "a lighthouse on a cliff at dusk, watercolour"

static char *model_dir;

/* Returns: (nullable): the model folder, written on first use; NULL without candor-cli.
 * Its tokenizer is made from CLIP's merges in the test data, else from candor-cli's
 * stand-in of the same form. */
static const char *
model_path (void)
{
  static char *path;
  const char *cli = g_getenv ("CANDOR_CLI");
  const char *testdata = g_getenv ("CANDOR_TESTDATA");
  g_autofree char *real = NULL;
  g_autofree char *stand_in = NULL;
  gboolean have_real;

  if (path != NULL || cli == NULL)
    return path;

  real = g_build_filename (testdata != NULL ? testdata : "", "clip-bpe",
                           "bpe_simple_vocab_16e6.txt.gz", NULL);
  have_real = testdata != NULL && g_file_test (real, G_FILE_TEST_IS_REGULAR);
  model_dir = candor_test_make_temp_dir ("candor-illustrations-XXXXXX");
  stand_in = g_build_filename (model_dir, "merges.txt", NULL);
  path = g_build_filename (model_dir, "tiny-sd2-v", NULL);
  {
    const char *argv[] = { cli, "make-image-model", "--family", "sd2", "--layout", "diffusers",
                           "--prediction", "v", "--type", "F16", "--seed", "7",
                           have_real ? "--merges" : "--merges-stand-in",
                           have_real ? real : stand_in, path, NULL };

    candor_test_run_command (argv);
  }
  return path;
}

static gboolean
model_settled (gpointer data)
{
  CandorApplication *app = candor_test_get_application ();

  return !candor_application_get_image_model_busy (app)
         && (candor_application_get_image_model (app) != NULL
             || candor_application_get_image_model_error (app) != NULL);
}

/* Loads the test model (once: the application keeps it); FALSE (after skipping) when
 * there is no device to run it on. */
static gboolean
load_model (void)
{
  CandorApplication *app = candor_test_get_application ();
  GSettings *settings = candor_application_get_settings (app);
  const char *path;

  if (!candor_test_require_device ())
    return FALSE;
  path = model_path ();
  if (path == NULL)
    {
      g_test_skip ("No candor-cli to write a model with");
      return FALSE;
    }
  if (g_strcmp0 (g_settings_get_string (settings, "image-model-path"), path) != 0)
    g_settings_set_string (settings, "image-model-path", path);
  candor_test_wait_until (model_settled, NULL, 120000);
  g_assert_null (candor_application_get_image_model_error (app));
  g_assert_nonnull (candor_application_get_image_model (app));
  g_assert_cmpstr (loom_image_model_get_kind (candor_application_get_image_model (app)), ==,
                   "SD 2.x (v)");
  return TRUE;
}

typedef struct
{
  CandorWindow            *window;
  CandorIllustrationsView *view;
  CandorCanvas            *canvas;
  CandorDocument          *document;
} Fixture;

static void
fixture_open (Fixture *f)
{
  f->window = candor_window_new (candor_test_get_application ());
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  gtk_window_present (GTK_WINDOW (f->window));
  candor_window_show_view (f->window, "illustrations");
  candor_test_wait_mapped (GTK_WIDGET (f->window));
  g_assert_cmpstr (candor_window_get_visible_view (f->window), ==, "illustrations");
  f->view = CANDOR_ILLUSTRATIONS_VIEW (candor_test_find_widget (GTK_WIDGET (f->window),
                                                                CANDOR_TYPE_ILLUSTRATIONS_VIEW));
  g_assert_nonnull (f->view);
  candor_test_wait_mapped (GTK_WIDGET (f->view));
  f->canvas = candor_illustrations_view_get_canvas (f->view);
  f->document = candor_illustrations_view_get_document (f->view);
  g_assert_nonnull (f->canvas);
  g_assert_true (f->document == candor_story_view_get_document (
                                  candor_window_get_story_view (f->window)));
  g_assert_cmpuint (g_list_model_get_n_items (candor_document_get_illustrations (f->document)),
                    ==, 0);
}

static void
fixture_close (Fixture *f)
{
  /* A test that generated leaves nothing running behind it. */
  g_assert_false (candor_illustrations_view_get_busy (f->view));
  /* Nor a story to recover: a window destroyed without closing keeps its autosave. */
  candor_document_discard_autosave (candor_illustrations_view_get_document (f->view));
  candor_test_destroy_window (GTK_WIDGET (f->window));
}

/* Small and quick by default: CFG 1 is one UNet pass a step. */
static void
set_settings (Fixture    *f,
              const char *prompt,
              guint64     seed,
              guint       steps,
              guint       size,
              guint       batch)
{
  CandorImageSettings settings = { 0 };

  settings.prompt = (char *) prompt;
  settings.negative_prompt = (char *) "";
  settings.seed = seed;
  settings.seed_locked = TRUE;
  settings.steps = steps;
  settings.cfg_scale = 1.0;
  settings.sampler = (char *) "euler";
  settings.width = size;
  settings.height = size;
  settings.batch_count = batch;
  settings.strength = 0.6;
  candor_illustrations_view_set_settings (f->view, &settings);
}

static void
activate (Fixture    *f,
          const char *action)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->view), action, NULL));
}

static gboolean
view_idle (gpointer data)
{
  Fixture *f = data;

  return !candor_illustrations_view_get_busy (f->view);
}

/* Runs a generating action to its end; the error it left, if any, fails the test. */
static void
run_generation (Fixture    *f,
                const char *action)
{
  activate (f, action);
  g_assert_true (candor_illustrations_view_get_busy (f->view));
  candor_test_wait_until (view_idle, f, 120000);
  g_assert_cmpstr (candor_illustrations_view_get_error (f->view), ==, NULL);
}

static guint
n_illustrations (Fixture *f)
{
  return g_list_model_get_n_items (candor_document_get_illustrations (f->document));
}

/* Returns: (transfer none): the @i-th illustration of the history (the store keeps it). */
static CandorIllustration *
illustration_at (Fixture *f,
                 guint    i)
{
  g_autoptr(CandorIllustration) illustration =
    g_list_model_get_item (candor_document_get_illustrations (f->document), i);

  g_assert_nonnull (illustration);
  return illustration;
}

static CandorIllustration *
last_illustration (Fixture *f)
{
  g_assert_cmpuint (n_illustrations (f), >, 0);
  return illustration_at (f, n_illustrations (f) - 1);
}

static GBytes *
illustration_pixels (CandorIllustration *illustration)
{
  return loom_image_get_pixels (candor_illustration_get_image (illustration));
}

static guint
count_events (Fixture    *f,
              const char *kind)
{
  return candor_test_count_events (f->document, kind);
}

/* Returns: (transfer none) (nullable): the fields of the last event of @kind. */
static JsonObject *
last_event_fields (Fixture    *f,
                   const char *kind)
{
  LoomEventLog *log = candor_document_get_log (f->document);

  for (guint i = loom_event_log_get_n_events (log); i > 0; i--)
    {
      JsonObject *event = loom_event_log_get_event (log, i - 1);

      if (g_strcmp0 (json_object_get_string_member (event, "kind"), kind) == 0)
        return json_object_get_object_member (event, "fields");
    }
  return NULL;
}

/* Brush settings that make a stroke's inside exactly the colour. */
static void
set_brush (Fixture          *f,
           CandorCanvasTool  tool,
           double            size)
{
  GdkRGBA red = { 1.0, 0.0, 0.0, 1.0 };

  candor_canvas_set_tool (f->canvas, tool);
  candor_canvas_set_brush_size (f->canvas, size);
  candor_canvas_set_hardness (f->canvas, 1.0);
  candor_canvas_set_opacity (f->canvas, 1.0);
  candor_canvas_set_color (f->canvas, &red);
}

static void
stroke (Fixture *f,
        double   x0,
        double   y0,
        double   x1,
        double   y1)
{
  candor_canvas_begin_stroke (f->canvas, x0, y0);
  for (guint i = 1; i <= 8; i++)
    candor_canvas_extend_stroke (f->canvas, x0 + (x1 - x0) * i / 8, y0 + (y1 - y0) * i / 8);
  candor_canvas_end_stroke (f->canvas);
}

static char *
sha256_of (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

/* Generates one picture (seed 42) and leaves it on the canvas. */
static CandorIllustration *
generate_one (Fixture *f,
              guint    size)
{
  set_settings (f, PROMPT, 42, 2, size, 1);
  run_generation (f, "illustrations.generate");
  g_assert_true (candor_illustrations_view_get_selected (f->view) == last_illustration (f));
  return last_illustration (f);
}

/* Opens the view with one picture to paint on (generate_one()'s), and the settings to
 * refine or inpaint it with. */
static CandorIllustration *
open_with_picture (Fixture *f)
{
  CandorIllustration *base;

  fixture_open (f);
  base = generate_one (f, 32);
  set_settings (f, PROMPT, 42, 4, 32, 1);
  return base;
}

/* 1. */

typedef struct
{
  guint    step_notifies;
  guint    max_step;
  guint    max_n_steps;
  gboolean preview_shown;
} Progress;

static void
step_cb (CandorIllustrationsView *view,
         GParamSpec              *pspec,
         Progress                *progress)
{
  guint step, n_steps;

  g_object_get (view, "step", &step, "n-steps", &n_steps, NULL);
  progress->step_notifies++;
  progress->max_step = MAX (progress->max_step, step);
  progress->max_n_steps = MAX (progress->max_n_steps, n_steps);
}

static void
preview_cb (CandorCanvas *canvas,
            GParamSpec   *pspec,
            Progress     *progress)
{
  gboolean shown;

  g_object_get (canvas, "preview-shown", &shown, NULL);
  progress->preview_shown |= shown;
}

static void
test_generate (void)
{
  Fixture f;
  Progress progress = { 0 };
  g_autoptr(GBytes) shown = NULL;
  gboolean shown_after;
  gulong step_id, preview_id;

  if (!load_model ())
    return;
  fixture_open (&f);
  set_settings (&f, PROMPT, 42, 3, 32, 2);

  step_id = g_signal_connect (f.view, "notify::step", G_CALLBACK (step_cb), &progress);
  preview_id = g_signal_connect (f.canvas, "notify::preview-shown", G_CALLBACK (preview_cb),
                                 &progress);
  run_generation (&f, "illustrations.generate");
  g_signal_handler_disconnect (f.view, step_id);
  g_signal_handler_disconnect (f.canvas, preview_id);

  g_test_message ("%u step notifications, last step seen %u of %u", progress.step_notifies,
                  progress.max_step, progress.max_n_steps);
  /* At least one step of each image, and the reset when it ends. */
  g_assert_cmpuint (progress.step_notifies, >=, 3);
  g_assert_cmpuint (progress.max_step, >=, 1);
  g_assert_cmpuint (progress.max_step, <=, 3);
  g_assert_cmpuint (progress.max_n_steps, ==, 3);
  g_assert_true (progress.preview_shown);
  g_object_get (f.canvas, "preview-shown", &shown_after, NULL);
  g_assert_false (shown_after);

  g_assert_cmpuint (n_illustrations (&f), ==, 2);
  g_assert_cmpuint (count_events (&f, "image.generate"), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      CandorIllustration *illustration = illustration_at (&f, i);
      const LoomImageRecord *record = candor_illustration_get_record (illustration);
      LoomImage *image = candor_illustration_get_image (illustration);

      g_assert_cmpuint (record->seed, ==, 42 + i);
      g_assert_cmpstr (record->prompt, ==, PROMPT);
      g_assert_cmpuint (record->steps, ==, 3);
      g_assert_cmpuint (record->width, ==, 32);
      g_assert_cmpuint (record->height, ==, 32);
      g_assert_cmpstr (record->mode, ==, "txt2img");
      g_assert_cmpuint (loom_image_get_width (image), ==, 32);
      g_assert_cmpuint (g_bytes_get_size (loom_image_get_pixels (image)), ==, 32 * 32 * 4);
      g_assert_false (candor_illustration_get_human_pixels (illustration));
      g_assert_cmpstr (candor_illustration_get_source_type (illustration), ==,
                       CANDOR_SOURCE_TYPE_AI);
      g_assert_cmpint (candor_illustration_get_state (illustration), ==,
                       CANDOR_ILLUSTRATION_CANDIDATE);
    }
  /* Two seeds, two pictures. */
  g_assert_false (g_bytes_equal (illustration_pixels (illustration_at (&f, 0)),
                                 illustration_pixels (illustration_at (&f, 1))));
  {
    JsonObject *fields = last_event_fields (&f, "image.generate");

    g_assert_cmpint (json_object_get_int_member (fields, "seed"), ==, 43);
    g_assert_cmpint (json_object_get_int_member (fields, "batch_index"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (fields, "batch_count"), ==, 2);
  }

  /* The canvas shows the last one, byte for byte. */
  shown = candor_canvas_dup_pixels (f.canvas);
  g_assert_nonnull (shown);
  g_assert_true (g_bytes_equal (shown, illustration_pixels (illustration_at (&f, 1))));
  g_assert_true (candor_illustrations_view_get_selected (f.view) == illustration_at (&f, 1));
  fixture_close (&f);
}

/* 2. */

static gboolean
first_step (gpointer data)
{
  Fixture *f = data;
  guint step;

  g_object_get (f->view, "step", &step, NULL);
  return step >= 1 || !candor_illustrations_view_get_busy (f->view);
}

static void
error_cb (CandorIllustrationsView *view,
          GParamSpec              *pspec,
          guint                   *errors)
{
  if (candor_illustrations_view_get_error (view) != NULL)
    (*errors)++;
}

static void
test_cancel (void)
{
  Fixture f;
  guint errors = 0;
  gulong error_id;
  guint step;
  gboolean shown;

  if (!load_model ())
    return;
  fixture_open (&f);
  set_settings (&f, PROMPT, 42, 20, 32, 1);
  error_id = g_signal_connect (f.view, "notify::error", G_CALLBACK (error_cb), &errors);
  activate (&f, "illustrations.generate");
  g_assert_true (candor_illustrations_view_get_busy (f.view));
  candor_test_wait_until (first_step, &f, 60000);
  g_assert_true (candor_illustrations_view_get_busy (f.view));
  g_object_get (f.view, "step", &step, NULL);
  g_assert_cmpuint (step, <, 20);

  activate (&f, "illustrations.cancel");
  /* Let go of at once: no waiting for the engine. */
  g_assert_false (candor_illustrations_view_get_busy (f.view));
  g_object_get (f.canvas, "preview-shown", &shown, NULL);
  g_assert_false (shown);
  g_object_get (f.view, "step", &step, NULL);
  g_assert_cmpuint (step, ==, 0);
  for (guint i = 0; i < 200; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  g_assert_false (candor_illustrations_view_get_busy (f.view));
  g_assert_cmpuint (n_illustrations (&f), ==, 0);
  g_assert_null (candor_illustrations_view_get_error (f.view));

  /* The view can generate again. The device's worker runs one generation after another,
   * so this one ends after the cancelled one did: whatever the engine reported for that
   * one has arrived by then, and must have changed nothing. */
  set_settings (&f, PROMPT, 7, 2, 32, 1);
  run_generation (&f, "illustrations.generate");
  g_assert_cmpuint (n_illustrations (&f), ==, 1);
  g_assert_cmpuint (count_events (&f, "image.generate"), ==, 1);
  g_assert_cmpuint (candor_illustration_get_record (last_illustration (&f))->seed, ==, 7);
  g_assert_cmpuint (candor_illustration_get_record (last_illustration (&f))->steps, ==, 2);
  g_assert_null (candor_illustrations_view_get_error (f.view));
  g_assert_cmpuint (errors, ==, 0);
  g_signal_handler_disconnect (f.view, error_id);
  fixture_close (&f);
}

/* 3. */

static void
test_brush_undo (void)
{
  Fixture f;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GBytes) undone = NULL;
  g_autoptr(GBytes) redone = NULL;
  const guint8 *a, *b;
  const double size = 6, ax = 4, ay = 16, bx = 28, by = 14;
  guint inside = 0, changed = 0, outside = 0;

  if (!load_model ())
    return;
  fixture_open (&f);
  generate_one (&f, 32);
  before = candor_canvas_dup_pixels (f.canvas);
  g_assert_false (candor_canvas_has_paint (f.canvas));
  g_assert_false (candor_canvas_can_undo (f.canvas));

  set_brush (&f, CANDOR_CANVAS_TOOL_BRUSH, size);
  stroke (&f, ax, ay, bx, by);
  g_assert_true (candor_canvas_has_paint (f.canvas));
  g_assert_true (candor_canvas_can_undo (f.canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (f.canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 1);
  after = candor_canvas_dup_pixels (f.canvas);
  g_assert_cmpuint (g_bytes_get_size (after), ==, 32 * 32 * 4);

  /* Well inside the stroke: the brush's colour; well outside: the picture's own bytes. */
  a = g_bytes_get_data (before, NULL);
  b = g_bytes_get_data (after, NULL);
  for (guint y = 0; y < 32; y++)
    for (guint x = 0; x < 32; x++)
      {
        double d = candor_test_distance_to_segment (x, y, ax, ay, bx, by);
        gsize i = ((gsize) y * 32 + x) * 4;

        if (d <= size / 2 - 1.5)
          {
            inside++;
            changed += memcmp (a + i, b + i, 4) != 0;
            g_assert_cmpint (b[i + 0], >=, 254);
            g_assert_cmpint (b[i + 1], <=, 1);
            g_assert_cmpint (b[i + 2], <=, 1);
            g_assert_cmpint (b[i + 3], ==, 255);
          }
        else if (d >= size / 2 + 1.5)
          {
            outside++;
            g_assert_cmpmem (a + i, 4, b + i, 4);
          }
      }
  g_test_message ("%u pixels inside the stroke (%u changed), %u outside", inside, changed,
                  outside);
  g_assert_cmpuint (inside, >=, 40);
  g_assert_cmpuint (changed, >, inside / 2);
  g_assert_cmpuint (outside, >=, 32 * 32 / 2);

  /* Undo through the view's action, redo through the canvas: exact both ways. */
  activate (&f, "illustrations.undo");
  undone = candor_canvas_dup_pixels (f.canvas);
  g_assert_true (g_bytes_equal (undone, before));
  g_assert_false (candor_canvas_has_paint (f.canvas));
  g_assert_true (candor_canvas_can_redo (f.canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (f.canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 0);
  candor_canvas_redo (f.canvas);
  redone = candor_canvas_dup_pixels (f.canvas);
  g_assert_true (g_bytes_equal (redone, after));
  candor_canvas_undo (f.canvas);
  g_clear_pointer (&undone, g_bytes_unref);
  undone = candor_canvas_dup_pixels (f.canvas);
  g_assert_true (g_bytes_equal (undone, before));
  /* Strokes alone are not logged: only when they are used. */
  g_assert_cmpuint (count_events (&f, "image.stroke"), ==, 0);
  fixture_close (&f);
}

/* 4. */

static void
test_inpaint (void)
{
  Fixture f;
  CandorIllustration *base, *result;
  const LoomImageRecord *record;
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GBytes) mask = NULL;
  g_autofree char *mask_hash = NULL;
  g_autofree char *input_hash = NULL;
  const guint8 *in, *out, *m;
  guint masked = 0, changed = 0;
  JsonObject *fields;

  if (!load_model ())
    return;
  base = open_with_picture (&f);

  /* A wide mask stroke down the left half. */
  set_brush (&f, CANDOR_CANVAS_TOOL_MASK, 16);
  stroke (&f, 8, -4, 8, 36);
  g_assert_true (candor_canvas_has_mask (f.canvas));
  g_assert_false (candor_canvas_has_paint (f.canvas));
  input = candor_canvas_dup_pixels (f.canvas);
  /* The mask is never part of the pixels. */
  g_assert_true (g_bytes_equal (input, illustration_pixels (base)));
  mask = candor_canvas_dup_mask (f.canvas);
  g_assert_nonnull (mask);
  g_assert_cmpuint (g_bytes_get_size (mask), ==, 32 * 32 * 4);
  m = g_bytes_get_data (mask, NULL);
  for (guint i = 0; i < 32 * 32; i++)
    {
      /* Exactly white or transparent black, as the canvas promises. */
      g_assert_true (m[4 * i] == m[4 * i + 1] && m[4 * i] == m[4 * i + 2]
                     && m[4 * i] == m[4 * i + 3]);
      g_assert_true (m[4 * i] == 0 || m[4 * i] == 255);
      masked += m[4 * i] == 255;
    }
  /* Columns 0..15, give or take the brush's edge. */
  g_assert_cmpuint (masked, >=, 32 * 14);
  g_assert_cmpuint (masked, <=, 32 * 18);
  g_assert_cmpuint (m[(16 * 32 + 2) * 4], ==, 255);
  g_assert_cmpuint (m[(16 * 32 + 29) * 4], ==, 0);

  run_generation (&f, "illustrations.inpaint");
  g_assert_cmpuint (n_illustrations (&f), ==, 2);
  result = last_illustration (&f);
  record = candor_illustration_get_record (result);
  g_assert_cmpstr (record->mode, ==, "inpaint");
  g_assert_nonnull (record->mask_sha256);
  mask_hash = sha256_of (mask);
  g_assert_cmpstr (record->mask_sha256, ==, mask_hash);
  input_hash = sha256_of (input);
  g_assert_cmpstr (record->init_sha256, ==, input_hash);
  g_assert_cmpstr (candor_illustration_get_parent_id (result), ==,
                   candor_illustration_get_id (base));
  g_assert_false (candor_illustration_get_human_pixels (result));

  in = g_bytes_get_data (input, NULL);
  out = g_bytes_get_data (illustration_pixels (result), NULL);
  for (guint i = 0; i < 32 * 32; i++)
    {
      if (m[4 * i] == 0)
        g_assert_cmpmem (in + 4 * i, 4, out + 4 * i, 4);
      else
        changed += memcmp (in + 4 * i, out + 4 * i, 4) != 0;
    }
  g_test_message ("%u of %u masked pixels changed", changed, masked);
  g_assert_cmpuint (changed, >, 0);

  fields = last_event_fields (&f, "image.stroke");
  g_assert_nonnull (fields);
  g_assert_cmpstr (json_object_get_string_member (fields, "tool"), ==, "mask");
  g_assert_cmpint (json_object_get_int_member (fields, "strokes"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (fields, "covered_pixels"), >=, masked);
  g_assert_cmpstr (json_object_get_string_member (fields, "base"), ==,
                   candor_illustration_get_id (base));
  fields = last_event_fields (&f, "image.generate");
  g_assert_cmpstr (json_object_get_string_member (fields, "mode"), ==, "inpaint");
  g_assert_cmpstr (json_object_get_string_member (fields, "parent"), ==,
                   candor_illustration_get_id (base));
  fixture_close (&f);
}

/* 5. */

static void
test_refine_painted (void)
{
  Fixture f;
  CandorIllustration *base, *result;
  const LoomImageRecord *record;
  g_autoptr(GBytes) painted = NULL;
  g_autofree char *painted_hash = NULL;
  JsonObject *fields;

  if (!load_model ())
    return;
  base = open_with_picture (&f);
  set_brush (&f, CANDOR_CANVAS_TOOL_BRUSH, 5);
  stroke (&f, 4, 4, 28, 28);
  painted = candor_canvas_dup_pixels (f.canvas);
  g_assert_false (g_bytes_equal (painted, illustration_pixels (base)));

  run_generation (&f, "illustrations.refine");
  result = last_illustration (&f);
  g_assert_true (result != base);
  record = candor_illustration_get_record (result);
  g_assert_cmpstr (record->mode, ==, "img2img");
  g_assert_null (record->mask_sha256);
  painted_hash = sha256_of (painted);
  g_assert_cmpstr (record->init_sha256, ==, painted_hash);
  g_assert_cmpfloat_with_epsilon (record->strength, 0.6, 1e-6);
  g_assert_true (candor_illustration_get_human_pixels (result));
  g_assert_cmpstr (candor_illustration_get_source_type (result), ==,
                   CANDOR_SOURCE_TYPE_COMPOSITE);
  g_assert_cmpstr (candor_illustration_get_parent_id (result), ==,
                   candor_illustration_get_id (base));

  fields = last_event_fields (&f, "image.stroke");
  g_assert_nonnull (fields);
  g_assert_cmpstr (json_object_get_string_member (fields, "tool"), ==, "brush");
  g_assert_cmpint (json_object_get_int_member (fields, "strokes"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (fields, "covered_pixels"), >, 0);
  fields = last_event_fields (&f, "image.generate");
  g_assert_true (json_object_get_boolean_member (fields, "human_pixels"));
  g_assert_cmpstr (json_object_get_string_member (fields, "mode"), ==, "img2img");
  fixture_close (&f);
}

/* 6. */

static void
test_history (void)
{
  Fixture f;
  CandorIllustration *first, *second, *varied;
  CandorImageSettings settings = { 0 };
  const LoomImageRecord *record;
  JsonObject *fields;

  if (!load_model ())
    return;
  fixture_open (&f);
  set_settings (&f, PROMPT, 42, 2, 32, 2);
  run_generation (&f, "illustrations.generate");
  g_assert_cmpuint (n_illustrations (&f), ==, 2);
  first = illustration_at (&f, 0);
  second = illustration_at (&f, 1);
  /* Showing a new picture is not a choice. */
  g_assert_cmpuint (count_events (&f, "image.select"), ==, 0);

  candor_illustrations_view_select (f.view, first);
  g_assert_true (candor_illustrations_view_get_selected (f.view) == first);
  g_assert_cmpuint (count_events (&f, "image.select"), ==, 1);
  fields = last_event_fields (&f, "image.select");
  g_assert_cmpstr (json_object_get_string_member (fields, "illustration"), ==,
                   candor_illustration_get_id (first));
  g_assert_cmpint (json_object_get_int_member (fields, "candidates_seen"), ==, 2);
  g_assert_cmpint (candor_illustration_get_state (first), ==, CANDOR_ILLUSTRATION_SELECTED);
  {
    g_autoptr(GBytes) shown = candor_canvas_dup_pixels (f.canvas);
    g_assert_true (g_bytes_equal (shown, illustration_pixels (first)));
  }

  candor_illustrations_view_select (f.view, second);
  activate (&f, "illustrations.discard");
  g_assert_cmpuint (count_events (&f, "image.discard"), ==, 1);
  fields = last_event_fields (&f, "image.discard");
  g_assert_cmpstr (json_object_get_string_member (fields, "illustration"), ==,
                   candor_illustration_get_id (second));
  g_assert_cmpint (json_object_get_int_member (fields, "candidates_seen"), ==, 2);
  g_assert_cmpint (candor_illustration_get_state (second), ==, CANDOR_ILLUSTRATION_DISCARDED);
  g_assert_cmpint (candor_illustration_get_state (first), ==, CANDOR_ILLUSTRATION_SELECTED);

  /* Reuse: the record's settings in the panel, but not its seed. */
  candor_illustrations_view_select (f.view, first);
  set_settings (&f, "something else entirely", 999, 7, 64, 3);
  activate (&f, "illustrations.reuse");
  record = candor_illustration_get_record (first);
  candor_illustrations_view_get_settings (f.view, &settings);
  g_assert_cmpstr (settings.prompt, ==, record->prompt);
  g_assert_cmpstr (settings.negative_prompt, ==, record->negative_prompt);
  g_assert_cmpuint (settings.steps, ==, record->steps);
  g_assert_cmpfloat_with_epsilon (settings.cfg_scale, record->cfg_scale, 1e-6);
  g_assert_cmpstr (settings.sampler, ==, record->sampler);
  g_assert_cmpuint (settings.width, ==, record->width);
  g_assert_cmpuint (settings.height, ==, record->height);
  g_assert_cmpuint (settings.seed, ==, 999);
  candor_image_settings_clear (&settings);

  /* Vary: one more with the same prompt and steps, another seed. */
  set_settings (&f, "something else entirely", 42, 7, 64, 1);
  run_generation (&f, "illustrations.vary");
  g_assert_cmpuint (n_illustrations (&f), ==, 3);
  varied = last_illustration (&f);
  g_assert_cmpstr (candor_illustration_get_record (varied)->prompt, ==, record->prompt);
  g_assert_cmpuint (candor_illustration_get_record (varied)->steps, ==, record->steps);
  g_assert_cmpuint (candor_illustration_get_record (varied)->width, ==, record->width);
  g_assert_cmpuint (candor_illustration_get_record (varied)->seed, !=, record->seed);
  g_assert_cmpuint (count_events (&f, "image.generate"), ==, 3);
  fixture_close (&f);
}

/* 7. */

static void
type (Fixture    *f,
      const char *text)
{
  candor_test_type (candor_story_view_get_text_view (candor_window_get_story_view (f->window)),
                    text);
}

#define FIRST_PARAGRAPH "The lighthouse keeper climbed the stairs at dusk."

static CandorIllustration *
place_one (Fixture *f,
           guint    size,
           guint    batch)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (f->document);
  CandorIllustration *placed;
  GtkTextIter iter;

  candor_window_show_view (f->window, "story");
  type (f, FIRST_PARAGRAPH "\n\nBelow, the sea was quiet.");
  candor_window_show_view (f->window, "illustrations");
  set_settings (f, PROMPT, 42, 3, size, batch);
  run_generation (f, "illustrations.generate");
  placed = illustration_at (f, 0);
  candor_illustrations_view_select (f->view, placed);

  /* The cursor after the first paragraph, on the empty line. */
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, g_utf8_strlen (FIRST_PARAGRAPH "\n", -1));
  gtk_text_buffer_place_cursor (buffer, &iter);
  activate (f, "illustrations.place");
  g_assert_cmpstr (candor_window_get_visible_view (f->window), ==, "story");
  return placed;
}

static void
assert_same_record (CandorIllustration *a,
                    CandorIllustration *b)
{
  g_autoptr(JsonNode) ja = loom_image_record_to_json (candor_illustration_get_record (a));
  g_autoptr(JsonNode) jb = loom_image_record_to_json (candor_illustration_get_record (b));

  if (!json_node_equal (ja, jb))
    {
      g_autofree char *sa = json_to_string (ja, FALSE);
      g_autofree char *sb = json_to_string (jb, FALSE);
      g_assert_cmpstr (sa, ==, sb);
    }
  g_assert_true (json_node_equal (ja, jb));
}

static void
test_place_save_open (void)
{
  Fixture f;
  CandorIllustration *placed;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) loaded_list = NULL;
  g_autoptr(GArray) offsets = NULL;
  g_autoptr(GArray) loaded_offsets = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(CandorDocument) loaded = NULL;
  g_autoptr(CandorIllustration) kept = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *loaded_text = NULL;
  guint expected_offset = g_utf8_strlen (FIRST_PARAGRAPH "\n", -1);
  CandorIllustration *restored;

  if (!load_model ())
    return;
  fixture_open (&f);
  placed = place_one (&f, 32, 2);
  kept = g_object_ref (placed);

  text = candor_document_dup_text (f.document);
  g_assert_cmpstr (g_utf8_offset_to_pointer (text, expected_offset), ==,
                   "\xef\xbf\xbc\n" "Below, the sea was quiet.");
  list = candor_document_list_placed (f.document, &offsets);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_true (g_ptr_array_index (list, 0) == placed);
  g_assert_cmpuint (g_array_index (offsets, guint, 0), ==, expected_offset);
  g_assert_cmpuint (count_events (&f, "image.place"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (last_event_fields (&f, "image.place"),
                                                  "illustration"),
                   ==, candor_illustration_get_id (placed));

  dir = candor_test_make_temp_dir ("candor-place-XXXXXX");
  path = g_build_filename (dir, "lighthouse.candor", NULL);
  file = g_file_new_for_path (path);
  g_assert_true (candor_window_save_to (f.window, file, &error));
  g_assert_no_error (error);
  g_assert_false (candor_document_get_modified (f.document));

  loaded = candor_document_load (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  loaded_text = candor_document_dup_text (loaded);
  g_assert_cmpstr (loaded_text, ==, text);
  g_assert_cmpuint (g_list_model_get_n_items (candor_document_get_illustrations (loaded)), ==, 2);
  loaded_list = candor_document_list_placed (loaded, &loaded_offsets);
  g_assert_cmpuint (loaded_list->len, ==, 1);
  g_assert_cmpuint (g_array_index (loaded_offsets, guint, 0), ==, expected_offset);
  restored = g_ptr_array_index (loaded_list, 0);
  g_assert_cmpstr (candor_illustration_get_id (restored), ==, candor_illustration_get_id (placed));
  g_assert_true (g_bytes_equal (illustration_pixels (restored), illustration_pixels (placed)));
  assert_same_record (restored, placed);
  g_assert_cmpint (candor_illustration_get_state (restored), ==, CANDOR_ILLUSTRATION_SELECTED);
  g_assert_true (loom_event_log_verify (candor_document_get_log (loaded), NULL));
  fixture_close (&f);

  /* Opened in a new window, as the author would: the view has the history and shows the
   * placed picture as it was. */
  fixture_open (&f);
  g_assert_true (candor_window_open_file (f.window, file) == f.window);
  f.document = candor_illustrations_view_get_document (f.view);
  g_assert_true (f.document == candor_story_view_get_document (
                                 candor_window_get_story_view (f.window)));
  g_assert_cmpuint (n_illustrations (&f), ==, 2);
  g_clear_pointer (&loaded_list, g_ptr_array_unref);
  loaded_list = candor_document_list_placed (f.document, NULL);
  g_assert_cmpuint (loaded_list->len, ==, 1);
  restored = g_ptr_array_index (loaded_list, 0);
  g_assert_true (g_bytes_equal (illustration_pixels (restored), illustration_pixels (kept)));
  assert_same_record (restored, kept);
  candor_illustrations_view_select (f.view, restored);
  {
    g_autoptr(GBytes) shown = candor_canvas_dup_pixels (f.canvas);
    g_assert_true (g_bytes_equal (shown, illustration_pixels (kept)));
  }
  fixture_close (&f);

  g_unlink (path);
  g_rmdir (dir);
}

/* 8. */

static guint32
crc32_of (const guint8 *data,
          gsize         length)
{
  guint32 crc = 0xffffffff;

  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (guint k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
    }
  return crc ^ 0xffffffff;
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

typedef struct
{
  GPtrArray *types;   /* of char*: the chunk types in file order */
  char      *xmp;
  char      *parameters;
} PngChunks;

static void
png_chunks_clear (PngChunks *png)
{
  g_clear_pointer (&png->types, g_ptr_array_unref);
  g_clear_pointer (&png->xmp, g_free);
  g_clear_pointer (&png->parameters, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PngChunks, png_chunks_clear)

/* An uncompressed iTXt's keyword and text (compressed ones fail the test: XMP must not
 * be compressed, and we write none). */
static void
parse_itxt (const guint8 *data,
            gsize         length,
            char        **keyword,
            char        **text)
{
  const guint8 *end = data + length, *p;

  p = memchr (data, 0, length);
  g_assert_nonnull (p);
  *keyword = g_strndup ((const char *) data, p - data);
  p++;
  g_assert_cmpint (end - p, >=, 2);
  g_assert_cmpuint (p[0], ==, 0);   /* not compressed */
  p += 2;
  p = memchr (p, 0, end - p);       /* language tag */
  g_assert_nonnull (p);
  p++;
  p = memchr (p, 0, end - p);       /* translated keyword */
  g_assert_nonnull (p);
  p++;
  g_assert_true (g_utf8_validate ((const char *) p, end - p, NULL));
  *text = g_strndup ((const char *) p, end - p);
}

/* Walks the chunks: the signature, then length, type, data and CRC each, up to IEND.
 * png->types gets one label a chunk in file order: its type, "xmp" for the XMP packet's
 * iTXt, "parameters" for the parameters text (tEXt or iTXt). */
static void
read_png_chunks (const char *path,
                 PngChunks  *png)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autofree guint8 *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize size, at;

  g_assert_true (g_file_get_contents (path, (char **) &contents, &size, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, >, 8);
  g_assert_cmpmem (contents, 8, signature, 8);

  png->types = g_ptr_array_new_with_free_func (g_free);
  for (at = 8; at < size;)
    {
      guint32 length;
      const guint8 *data;
      char *label;
      g_autofree char *type = NULL;

      g_assert_cmpuint (size - at, >=, 12);
      length = read_be32 (contents + at);
      g_assert_cmpuint (length, <=, size - at - 12);
      type = g_strndup ((const char *) contents + at + 4, 4);
      data = contents + at + 8;
      /* The CRC covers the type and the data. */
      g_assert_cmphex (read_be32 (data + length), ==, crc32_of (contents + at + 4, length + 4));

      label = g_strdup (type);
      if (g_str_equal (type, "iTXt"))
        {
          g_autofree char *keyword = NULL;
          g_autofree char *text = NULL;

          parse_itxt (data, length, &keyword, &text);
          if (g_str_equal (keyword, "XML:com.adobe.xmp"))
            {
              g_assert_null (png->xmp);
              png->xmp = g_steal_pointer (&text);
              g_free (label);
              label = g_strdup ("xmp");
            }
          else if (g_str_equal (keyword, "parameters"))
            {
              g_assert_null (png->parameters);
              png->parameters = g_steal_pointer (&text);
              g_free (label);
              label = g_strdup ("parameters");
            }
        }
      else if (g_str_equal (type, "tEXt"))
        {
          const guint8 *nul = memchr (data, 0, length);

          g_assert_nonnull (nul);
          if (nul - data == strlen ("parameters") && memcmp (data, "parameters", nul - data) == 0)
            {
              g_assert_null (png->parameters);
              /* Latin-1, as tEXt is. */
              png->parameters = g_convert ((const char *) nul + 1, length - (nul + 1 - data),
                                           "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
              g_assert_nonnull (png->parameters);
              g_free (label);
              label = g_strdup ("parameters");
            }
        }
      g_ptr_array_add (png->types, label);
      at += 12 + length;
      if (g_str_equal (type, "IEND"))
        break;
    }
  g_assert_cmpuint (at, ==, size);   /* IEND, and nothing after it */
}

/* The value of an XMP property however the packet writes it: an element's text, an
 * attribute, or an rdf:resource. */
static char *
xmp_property (const char *xmp,
              const char *name)
{
  g_autofree char *element = g_strconcat ("<", name, ">", NULL);
  g_autofree char *resource = g_strconcat ("<", name, " rdf:resource=\"", NULL);
  g_autofree char *attribute = g_strconcat (" ", name, "=\"", NULL);
  const char *p, *end;

  if ((p = strstr (xmp, element)) != NULL)
    {
      p += strlen (element);
      end = strchr (p, '<');
    }
  else if ((p = strstr (xmp, resource)) != NULL)
    {
      p += strlen (resource);
      end = strchr (p, '"');
    }
  else if ((p = strstr (xmp, attribute)) != NULL)
    {
      p += strlen (attribute);
      end = strchr (p, '"');
    }
  else
    return NULL;
  g_assert_nonnull (end);
  return g_strndup (p, end - p);
}

static void
check_png (const char *path,
           const char *source_type,
           GBytes     *pixels)
{
  g_auto(PngChunks) png = { 0 };
  g_autofree char *order = NULL;
  g_autofree char *type = NULL;
  g_autofree char *tool = NULL;
  g_autofree char *mining = NULL;
  g_autofree char *exiftool = g_find_program_in_path ("exiftool");

  read_png_chunks (path, &png);
  g_ptr_array_add (png.types, NULL);
  order = g_strjoinv (" ", (char **) png.types->pdata);
  g_test_message ("%s: %s", path, order);
  /* IHDR, the XMP, the parameters, then the image data and the end. */
  g_assert_true (g_regex_match_simple ("^IHDR xmp parameters (caBX )?(IDAT )+IEND$", order, 0,
                                       0));

  g_assert_nonnull (png.xmp);
  type = xmp_property (png.xmp, "Iptc4xmpExt:DigitalSourceType");
  g_assert_cmpstr (type, ==, source_type);
  tool = xmp_property (png.xmp, "xmp:CreatorTool");
  g_assert_nonnull (tool);
  g_assert_true (g_str_has_prefix (tool, "Candor "));
  mining = xmp_property (png.xmp, "plus:DataMining");
  g_assert_cmpstr (mining, ==, "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING");

  g_assert_nonnull (png.parameters);
  g_assert_true (g_str_has_prefix (png.parameters, PROMPT "\n"));
  g_assert_nonnull (strstr (png.parameters, "Seed: 42"));
  g_assert_nonnull (strstr (png.parameters, "Steps: 2,"));
  g_assert_nonnull (strstr (png.parameters, "Size: 32x32"));

  /* The pixels, as GTK's own PNG loader reads them, are the picture's. Downloads are
   * premultiplied B, G, R, A in memory order: the same for opaque pixels. */
  {
    g_autofree char *contents = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GdkTexture) texture = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree guint8 *bgra = g_malloc (32 * 32 * 4);
    const guint8 *rgba = g_bytes_get_data (pixels, NULL);
    gsize size;

    g_assert_cmpuint (g_bytes_get_size (pixels), ==, 32 * 32 * 4);
    g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
    bytes = g_bytes_new_take (g_steal_pointer (&contents), size);
    texture = gdk_texture_new_from_bytes (bytes, &error);
    g_assert_no_error (error);
    g_assert_cmpint (gdk_texture_get_width (texture), ==, 32);
    g_assert_cmpint (gdk_texture_get_height (texture), ==, 32);
    gdk_texture_download (texture, bgra, 32 * 4);
    for (guint i = 0; i < 32 * 32; i++)
      {
        guint8 expected[4] = { rgba[4 * i + 2], rgba[4 * i + 1], rgba[4 * i], rgba[4 * i + 3] };
        g_assert_cmpmem (bgra + 4 * i, 4, expected, 4);
      }
  }

  if (exiftool == NULL)
    {
      g_test_message ("exiftool is not installed: its reading of %s skipped", path);
      return;
    }
  {
    const char *argv[] = { exiftool, "-j", path, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *tags;
    int status = 0;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                 &err, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
    g_assert_no_error (error);
    tags = json_array_get_object_element (json_node_get_array (json_parser_get_root (parser)), 0);
    g_assert_cmpstr (json_object_get_string_member (tags, "DigitalSourceType"), ==, source_type);
    g_assert_true (json_object_has_member (tags, "Parameters"));
    g_assert_true (g_str_has_prefix (json_object_get_string_member (tags, "Parameters"),
                                     PROMPT));
    g_assert_nonnull (strstr (json_object_get_string_member (tags, "Parameters"), "Seed: 42"));
    g_assert_true (g_str_has_prefix (json_object_get_string_member (tags, "CreatorTool"),
                                     "Candor "));
    g_test_message ("exiftool reads DigitalSourceType and Parameters from %s", path);
  }
}

static gboolean
both_null (gpointer data)
{
  gpointer **pointers = data;

  return *pointers[0] == NULL && *pointers[1] == NULL;
}

static void
test_export_png (void)
{
  Fixture f;
  g_autofree char *dir = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *painted = NULL;
  g_autoptr(GBytes) with_paint = NULL;
  CandorIllustration *base;

  if (!load_model ())
    return;
  fixture_open (&f);
  base = generate_one (&f, 32);
  dir = candor_test_make_temp_dir ("candor-export-XXXXXX");
  plain = g_build_filename (dir, "plain.png", NULL);
  painted = g_build_filename (dir, "painted.png", NULL);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view), "illustrations.export-png-to",
                                             "s", plain));
  g_assert_null (candor_illustrations_view_get_error (f.view));
  check_png (plain, CANDOR_SOURCE_TYPE_AI, illustration_pixels (base));
  /* A plain picture is exported as it is: no new illustration, nothing logged. */
  g_assert_cmpuint (n_illustrations (&f), ==, 1);
  g_assert_cmpuint (count_events (&f, "image.stroke"), ==, 0);

  set_brush (&f, CANDOR_CANVAS_TOOL_BRUSH, 4);
  stroke (&f, 2, 2, 30, 10);
  with_paint = candor_canvas_dup_pixels (f.canvas);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view), "illustrations.export-png-to",
                                             "s", painted));
  g_assert_null (candor_illustrations_view_get_error (f.view));
  check_png (painted, CANDOR_SOURCE_TYPE_COMPOSITE, with_paint);
  /* The painted picture became an illustration of its own, named by its strokes. */
  g_assert_cmpuint (n_illustrations (&f), ==, 2);
  g_assert_cmpuint (count_events (&f, "image.stroke"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (last_event_fields (&f, "image.stroke"), "tool"),
                   ==, "brush");
  g_assert_true (candor_illustration_get_human_pixels (last_illustration (&f)));
  g_assert_cmpstr (candor_illustration_get_parent_id (last_illustration (&f)), ==,
                   candor_illustration_get_id (base));

  /* The pictures go with the story and the window: nothing else keeps them (the history's
   * selection model, the painted one made for the export). */
  {
    gpointer weak_base = base;
    gpointer weak_painted = last_illustration (&f);

    g_object_add_weak_pointer (G_OBJECT (weak_base), &weak_base);
    g_object_add_weak_pointer (G_OBJECT (weak_painted), &weak_painted);
    g_unlink (plain);
    g_unlink (painted);
    g_rmdir (dir);
    fixture_close (&f);
    /* A picture's PNG for saving is encoded in the background; that task lets go too. */
    candor_test_wait_until (both_null, (gpointer[]) { &weak_base, &weak_painted }, 10000);
    g_assert_null (weak_base);
    g_assert_null (weak_painted);
  }
}

/* 9. */

typedef struct
{
  GArray *times;   /* of gint64: µs at each frame's end */
} Frames;

static void
after_paint_cb (GdkFrameClock *clock,
                Frames        *frames)
{
  gint64 now = g_get_monotonic_time ();

  g_array_append_val (frames->times, now);
}

static gboolean
keep_drawing (GtkWidget     *widget,
              GdkFrameClock *clock,
              gpointer       data)
{
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
test_frame_time (void)
{
  Fixture f;
  Frames frames = { 0 };
  GdkFrameClock *clock;
  g_autoptr(GArray) intervals = g_array_new (FALSE, FALSE, sizeof (double));
  gulong paint_id;
  guint tick_id;
  gint64 start, end, worst_at = 0;
  double median, p95, max, worst = 0;

  if (!load_model ())
    return;
  fixture_open (&f);
  set_settings (&f, PROMPT, 42, 8, 64, 1);
  frames.times = g_array_new (FALSE, FALSE, sizeof (gint64));
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (f.window));
  g_assert_nonnull (clock);
  tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (f.window), keep_drawing, NULL, NULL);
  paint_id = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &frames);

  start = g_get_monotonic_time ();
  activate (&f, "illustrations.generate");
  g_array_set_size (frames.times, 0);   /* frames from the moment it runs */
  candor_test_wait_until (view_idle, &f, 120000);
  end = g_get_monotonic_time ();

  g_signal_handler_disconnect (clock, paint_id);
  gtk_widget_remove_tick_callback (GTK_WIDGET (f.window), tick_id);
  g_assert_null (candor_illustrations_view_get_error (f.view));
  g_assert_cmpuint (n_illustrations (&f), ==, 1);

  for (guint i = 1; i < frames.times->len; i++)
    {
      double ms = (g_array_index (frames.times, gint64, i)
                   - g_array_index (frames.times, gint64, i - 1)) / 1000.0;
      g_array_append_val (intervals, ms);
      if (ms > worst)
        {
          worst = ms;
          worst_at = g_array_index (frames.times, gint64, i) - start;
        }
    }
  g_assert_cmpuint (frames.times->len, >, 0);   /* the window kept drawing */
  g_array_sort (intervals, compare_doubles);
  median = intervals->len > 0 ? g_array_index (intervals, double, intervals->len / 2) : 0;
  p95 = intervals->len > 0 ? g_array_index (intervals, double, (intervals->len * 95) / 100) : 0;
  max = intervals->len > 0 ? g_array_index (intervals, double, intervals->len - 1) : 0;
  g_test_message ("frame-time: %u frames during a 64×64, 8-step generation of %.2f s: "
                  "median %.1f ms, 95th percentile %.1f ms, max %.1f ms (ending %.2f s in)",
                  frames.times->len, (end - start) / 1e6, median, p95, max, worst_at / 1e6);
  /* One line for scripts too; a comment, as everything on a TAP stream must be. */
  printf ("# frame-time: frames=%u median_ms=%.1f p95_ms=%.1f max_ms=%.1f max_at_s=%.2f "
          "generation_s=%.2f\n", frames.times->len, median, p95, max, worst_at / 1e6,
          (end - start) / 1e6);
  g_array_unref (frames.times);
  fixture_close (&f);
}

/* 10. */

static gboolean
preview_on_screen (gpointer data)
{
  Fixture *f = data;
  gboolean shown;
  guint step;

  g_object_get (f->canvas, "preview-shown", &shown, NULL);
  g_object_get (f->view, "step", &step, NULL);
  return (shown && step >= 2) || !candor_illustrations_view_get_busy (f->view);
}

/* The README's pictures: a generation under way, the history after it, and the Story
 * view with a picture placed. */
static void
test_screenshots (void)
{
  Fixture f;
  gboolean busy;
  /* Rendering for the documentation (build-aux/screenshots), the pictures are bigger
   * than a test needs. */
  guint size = g_getenv ("CANDOR_SCREENSHOT_DIR") != NULL ? 128 : 64;

  if (!load_model ())
    return;
  fixture_open (&f);
  candor_window_show_view (f.window, "story");
  type (&f, FIRST_PARAGRAPH "\n\nBelow, the sea was quiet, and the light swept over it "
            "once every twelve seconds, as it had for a hundred years.");
  candor_window_show_view (f.window, "illustrations");

  set_settings (&f, PROMPT, 42, 6, size, 3);
  activate (&f, "illustrations.generate");
  candor_test_wait_until (preview_on_screen, &f, 60000);
  g_assert_true (candor_illustrations_view_get_busy (f.view));
  candor_test_save_rendering (GTK_WIDGET (f.window), "illustrations-generating");
  busy = candor_illustrations_view_get_busy (f.view);
  if (!busy)
    g_test_message ("The generation ended while the screenshot was rendered");
  candor_test_wait_until (view_idle, &f, 120000);
  g_assert_null (candor_illustrations_view_get_error (f.view));
  g_assert_cmpuint (n_illustrations (&f), ==, 3);
  candor_illustrations_view_select (f.view, illustration_at (&f, 1));
  candor_test_save_rendering (GTK_WIDGET (f.window), "illustrations-history");

  {
    GtkTextBuffer *buffer = candor_document_get_buffer (f.document);
    GtkTextIter iter;

    gtk_text_buffer_get_iter_at_offset (buffer, &iter, g_utf8_strlen (FIRST_PARAGRAPH "\n", -1));
    gtk_text_buffer_place_cursor (buffer, &iter);
  }
  activate (&f, "illustrations.place");
  g_assert_cmpstr (candor_window_get_visible_view (f.window), ==, "story");
  candor_test_save_rendering (GTK_WIDGET (f.window), "story-illustration");
  fixture_close (&f);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/illustrations/generate", test_generate);
  g_test_add_func ("/app/illustrations/cancel", test_cancel);
  g_test_add_func ("/app/illustrations/brush-undo", test_brush_undo);
  g_test_add_func ("/app/illustrations/inpaint", test_inpaint);
  g_test_add_func ("/app/illustrations/refine-painted", test_refine_painted);
  g_test_add_func ("/app/illustrations/history", test_history);
  g_test_add_func ("/app/illustrations/place-save-open", test_place_save_open);
  g_test_add_func ("/app/illustrations/export-png", test_export_png);
  g_test_add_func ("/app/illustrations/frame-time", test_frame_time);
  g_test_add_func ("/app/illustrations/screenshots", test_screenshots);

  status = g_test_run ();
  if (model_dir != NULL)
    candor_test_remove_tree (model_dir);
  return status;
}
