/* test-canvas.c — CandorCanvas in a real window: pixels in and out, strokes against
 * shapes computed here, opacity, undo and redo, eraser and mask, zoom and rendering. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "candor-canvas.h"
#include "candor-test-app.h"

typedef struct
{
  guint   count;
  int     tool;
  guint64 covered;
} Finished;

static void
stroke_finished_cb (CandorCanvas *canvas,
                    int           tool,
                    guint64       covered,
                    Finished     *finished)
{
  finished->count++;
  finished->tool = tool;
  finished->covered = covered;
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static CandorCanvas *
new_canvas_window (int width,
                   int height)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *canvas = candor_canvas_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_child (GTK_WINDOW (window), canvas);
  gtk_window_present (GTK_WINDOW (window));
  candor_test_wait_mapped (canvas);
  return CANDOR_CANVAS (canvas);
}

static void
close_canvas_window (CandorCanvas *canvas)
{
  candor_test_destroy_window (GTK_WIDGET (canvas));
}

/* A 64 × 64 image where every pixel differs from its neighbours and from the brush
 * colours used below (red never reaches 255). */
static GBytes *
make_pattern (guint width,
              guint height)
{
  guint8 *pixels = g_malloc ((gsize) width * height * 4);

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      {
        guint8 *p = pixels + ((gsize) y * width + x) * 4;
        p[0] = (x * 4) & 0xff;
        p[1] = (y * 4) & 0xff;
        p[2] = (x * 7 + y * 13) & 0xff;
        p[3] = 255;
      }
  return g_bytes_new_take (pixels, (gsize) width * height * 4);
}

static GBytes *
make_solid (guint  width,
            guint  height,
            guint8 r,
            guint8 g,
            guint8 b)
{
  guint8 *pixels = g_malloc ((gsize) width * height * 4);

  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      pixels[i * 4 + 0] = r;
      pixels[i * 4 + 1] = g;
      pixels[i * 4 + 2] = b;
      pixels[i * 4 + 3] = 255;
    }
  return g_bytes_new_take (pixels, (gsize) width * height * 4);
}

static const guint8 *
pixel (GBytes *bytes,
       guint   width,
       guint   x,
       guint   y)
{
  return (const guint8 *) g_bytes_get_data (bytes, NULL) + ((gsize) y * width + x) * 4;
}

/* The capsule a stroke of radius @r along a segment of length @length covers, give or
 * take a pixel around its perimeter. */
static void
assert_capsule_area (guint64 area,
                     double  r,
                     double  length)
{
  double expected = G_PI * r * r + 2 * r * length;
  double perimeter = 2 * G_PI * r + 2 * length;

  g_test_message ("area %" G_GUINT64_FORMAT ", capsule %.1f ± %.1f", area, expected, perimeter);
  g_assert_cmpfloat (fabs ((double) area - expected), <=, perimeter);
}

static void
horizontal_stroke (CandorCanvas *canvas)
{
  /* Close points (dropped as closer than the spacing) and a last point closer than the
   * spacing to the one before, which the end of the stroke must still reach. */
  candor_canvas_begin_stroke (canvas, 10, 32);
  candor_canvas_extend_stroke (canvas, 10.5, 32);
  for (double x = 20; x <= 50; x += 10)
    candor_canvas_extend_stroke (canvas, x, 32);
  candor_canvas_extend_stroke (canvas, 53, 32);
  candor_canvas_extend_stroke (canvas, 54, 32);
  candor_canvas_end_stroke (canvas);
}

static void
test_defaults (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GdkRGBA) color = NULL;
  CandorCanvasTool tool;
  double size, hardness, opacity;

  g_object_get (canvas, "tool", &tool, "brush-size", &size, "hardness", &hardness,
                "color", &color, "opacity", &opacity, NULL);
  g_assert_cmpint (tool, ==, CANDOR_CANVAS_TOOL_BRUSH);
  g_assert_cmpfloat (size, ==, 24);
  g_assert_cmpfloat (hardness, ==, 0.8);
  g_assert_cmpfloat (opacity, ==, 1);
  g_assert_true (gdk_rgba_equal (color, &(GdkRGBA) { 0, 0, 0, 1 }));

  g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (canvas)));
  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (canvas)), ==,
                   GTK_ACCESSIBLE_ROLE_IMG);

  /* Empty: nothing to give, nothing to paint on. */
  g_assert_cmpuint (candor_canvas_get_image_width (canvas), ==, 0);
  g_assert_null (candor_canvas_dup_pixels (canvas));
  g_assert_null (candor_canvas_dup_mask (canvas));
  candor_canvas_begin_stroke (canvas, 1, 1);
  candor_canvas_end_stroke (canvas);
  g_assert_false (candor_canvas_can_undo (canvas));

  /* Out of range settings are clamped. */
  candor_canvas_set_brush_size (canvas, 5000);
  g_object_get (canvas, "brush-size", &size, NULL);
  g_assert_cmpfloat (size, ==, 512);

  close_canvas_window (canvas);
}

static void
test_pixels_round_trip (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GBytes) pattern = make_pattern (64, 64);
  g_autoptr(GBytes) pixels = NULL;
  g_autoptr(GBytes) blank = NULL;
  guint8 translucent[2 * 4] = { 10, 20, 30, 0, 0, 0, 0, 128 };
  g_autoptr(GBytes) translucent_bytes = g_bytes_new_static (translucent, sizeof translucent);
  g_autoptr(GBytes) flattened = NULL;

  candor_canvas_set_image (canvas, pattern, 64, 64);
  g_assert_cmpuint (candor_canvas_get_image_width (canvas), ==, 64);
  g_assert_cmpuint (candor_canvas_get_image_height (canvas), ==, 64);
  pixels = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (pixels, pattern));
  g_assert_null (candor_canvas_dup_mask (canvas));
  g_assert_false (candor_canvas_has_paint (canvas));
  g_assert_false (candor_canvas_has_mask (canvas));

  candor_canvas_set_blank (canvas, 3, 5);
  blank = candor_canvas_dup_pixels (canvas);
  g_assert_cmpuint (g_bytes_get_size (blank), ==, 3 * 5 * 4);
  for (gsize i = 0; i < 3 * 5 * 4; i++)
    g_assert_cmpuint (((const guint8 *) g_bytes_get_data (blank, NULL))[i], ==, 255);

  /* Translucent pixels come out opaque, as on white paper. */
  candor_canvas_set_image (canvas, translucent_bytes, 2, 1);
  flattened = candor_canvas_dup_pixels (canvas);
  g_assert_cmpmem (pixel (flattened, 2, 0, 0), 4, ((guint8[]) { 255, 255, 255, 255 }), 4);
  g_assert_cmpmem (pixel (flattened, 2, 1, 0), 4, ((guint8[]) { 127, 127, 127, 255 }), 4);

  close_canvas_window (canvas);
}

static void
test_hard_stroke (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GBytes) pattern = make_pattern (64, 64);
  g_autoptr(GBytes) pixels = NULL;
  const guint8 magenta[4] = { 255, 0, 255, 255 };
  Finished finished = { 0 };
  guint64 changed = 0;
  double r = 8;

  g_signal_connect (canvas, "stroke-finished", G_CALLBACK (stroke_finished_cb), &finished);
  candor_canvas_set_image (canvas, pattern, 64, 64);
  candor_canvas_set_brush_size (canvas, 2 * r);
  candor_canvas_set_hardness (canvas, 1);
  candor_canvas_set_color (canvas, &(GdkRGBA) { 1, 0, 1, 1 });
  horizontal_stroke (canvas);

  g_assert_cmpuint (finished.count, ==, 1);
  g_assert_cmpint (finished.tool, ==, CANDOR_CANVAS_TOOL_BRUSH);
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 1);
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_MASK), ==, 0);
  g_assert_true (candor_canvas_has_paint (canvas));
  g_assert_null (candor_canvas_dup_mask (canvas));

  pixels = candor_canvas_dup_pixels (canvas);
  /* The line's two middle rows, and past the last points a little short of the radius. */
  for (guint x = 10; x <= 60; x++)
    {
      g_assert_cmpmem (pixel (pixels, 64, x, 31), 4, magenta, 4);
      g_assert_cmpmem (pixel (pixels, 64, x, 32), 4, magenta, 4);
    }
  for (guint y = 0; y < 64; y++)
    for (guint x = 0; x < 64; x++)
      {
        double d = candor_test_distance_to_segment (x, y, 10, 32, 54, 32);
        gboolean same = memcmp (pixel (pixels, 64, x, y), pixel (pattern, 64, x, y), 4) == 0;

        if (d > r + 1)
          g_assert_true (same);
        changed += !same;
      }
  assert_capsule_area (finished.covered, r, 44);
  assert_capsule_area (changed, r, 44);
  /* A pixel covered a little may round back to its own colour, never the other way. */
  g_assert_cmpuint (changed, <=, finished.covered);

  close_canvas_window (canvas);
}

/* Half opacity over white is half grey, however often the stroke crosses itself. */
static void
test_opacity (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GBytes) pixels = NULL;
  g_autoptr(GBytes) soft = NULL;
  const guint points[][2] = {
    { 20, 32 }, { 32, 32 }, { 45, 32 }, { 32, 20 }, { 32, 50 }, { 43, 21 },
  };

  candor_canvas_set_blank (canvas, 64, 64);
  candor_canvas_set_brush_size (canvas, 16);
  candor_canvas_set_hardness (canvas, 1);
  candor_canvas_set_opacity (canvas, 0.5);
  /* Points 1 px apart (spacing 2 px: segments overlap all along), then back across. */
  candor_canvas_begin_stroke (canvas, 10, 32);
  for (guint i = 11; i <= 54; i++)
    candor_canvas_extend_stroke (canvas, i, 32);
  for (guint i = 1; i <= 22; i++)
    candor_canvas_extend_stroke (canvas, 54 - i, 32 - i);
  for (guint i = 11; i <= 54; i++)
    candor_canvas_extend_stroke (canvas, 32, i);
  candor_canvas_end_stroke (canvas);

  pixels = candor_canvas_dup_pixels (canvas);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      const guint8 *p = pixel (pixels, 64, points[i][0], points[i][1]);
      for (guint c = 0; c < 3; c++)
        {
          g_assert_cmpint (p[c], >=, 125);
          g_assert_cmpint (p[c], <=, 129);
        }
      g_assert_cmpint (p[3], ==, 255);
    }

  /* A soft brush: dark along its middle, lighter off it, nothing past its edge. */
  candor_canvas_set_blank (canvas, 64, 64);
  candor_canvas_set_hardness (canvas, 0);
  candor_canvas_set_opacity (canvas, 1);
  candor_canvas_begin_stroke (canvas, 10, 32);
  candor_canvas_extend_stroke (canvas, 54, 32);
  candor_canvas_end_stroke (canvas);
  soft = candor_canvas_dup_pixels (canvas);
  g_assert_cmpint (pixel (soft, 64, 32, 32)[0], <, 20);
  g_assert_cmpint (pixel (soft, 64, 32, 36)[0], >, 40);
  g_assert_cmpint (pixel (soft, 64, 32, 36)[0], <, 215);
  g_assert_cmpint (pixel (soft, 64, 32, 36)[0], >, pixel (soft, 64, 32, 34)[0]);
  g_assert_cmpint (pixel (soft, 64, 32, 42)[0], ==, 255);

  close_canvas_window (canvas);
}

static guint64
count_masked (GBytes *mask)
{
  const guint8 *data = g_bytes_get_data (mask, NULL);
  guint64 masked = 0;

  for (gsize i = 0; i < g_bytes_get_size (mask); i += 4)
    {
      static const guint8 on[4] = { 255, 255, 255, 255 }, off[4] = { 0, 0, 0, 0 };

      if (memcmp (data + i, on, 4) == 0)
        masked++;
      else
        g_assert_cmpmem (data + i, 4, off, 4);
    }
  return masked;
}

static void
test_undo_redo (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GBytes) pattern = make_pattern (64, 64);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) stroked = NULL;
  g_autoptr(GBytes) after_undo = NULL;
  g_autoptr(GBytes) after_redo = NULL;
  g_autoptr(GBytes) erased = NULL;
  g_autoptr(GBytes) masked_pixels = NULL;
  g_autoptr(GBytes) mask = NULL;
  g_autoptr(GBytes) mask_again = NULL;
  guint undo_notifies = 0, redo_notifies = 0;
  Finished finished = { 0 };
  guint64 painted, masked;

  g_signal_connect (canvas, "stroke-finished", G_CALLBACK (stroke_finished_cb), &finished);
  g_signal_connect (canvas, "notify::can-undo", G_CALLBACK (count_notify_cb), &undo_notifies);
  g_signal_connect (canvas, "notify::can-redo", G_CALLBACK (count_notify_cb), &redo_notifies);
  candor_canvas_set_image (canvas, pattern, 64, 64);
  g_assert_false (candor_canvas_can_undo (canvas));
  g_assert_false (candor_canvas_can_redo (canvas));
  before = candor_canvas_dup_pixels (canvas);

  candor_canvas_set_brush_size (canvas, 8);
  candor_canvas_set_hardness (canvas, 0.5);
  candor_canvas_set_opacity (canvas, 0.8);
  candor_canvas_set_color (canvas, &(GdkRGBA) { 0.2, 0.7, 0.1, 1 });
  horizontal_stroke (canvas);
  painted = finished.covered;
  stroked = candor_canvas_dup_pixels (canvas);
  g_assert_false (g_bytes_equal (stroked, before));
  g_assert_true (candor_canvas_can_undo (canvas));
  g_assert_false (candor_canvas_can_redo (canvas));
  g_assert_cmpuint (undo_notifies, ==, 1);
  g_assert_cmpuint (redo_notifies, ==, 0);

  candor_canvas_undo (canvas);
  after_undo = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (after_undo, before));
  g_assert_false (candor_canvas_has_paint (canvas));
  g_assert_false (candor_canvas_can_undo (canvas));
  g_assert_true (candor_canvas_can_redo (canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 0);
  g_assert_cmpuint (undo_notifies, ==, 2);
  g_assert_cmpuint (redo_notifies, ==, 1);

  /* Replayed from the vectors, the stroke gives the bytes it gave when drawn live. */
  candor_canvas_redo (canvas);
  after_redo = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (after_redo, stroked));
  g_assert_true (candor_canvas_has_paint (canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 1);
  g_assert_cmpuint (undo_notifies, ==, 3);
  g_assert_cmpuint (redo_notifies, ==, 2);

  /* An eraser wider than the paint takes it all away: the base comes back exactly, and
   * it changed the pixels the brush had changed. */
  candor_canvas_set_tool (canvas, CANDOR_CANVAS_TOOL_ERASER);
  candor_canvas_set_brush_size (canvas, 24);
  candor_canvas_set_hardness (canvas, 1);
  candor_canvas_set_opacity (canvas, 1);
  horizontal_stroke (canvas);
  g_assert_cmpint (finished.tool, ==, CANDOR_CANVAS_TOOL_ERASER);
  g_assert_cmpuint (finished.covered, ==, painted);
  erased = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (erased, before));
  g_assert_false (candor_canvas_has_paint (canvas));

  /* The mask changes no pixel; it is a capsule of its own. */
  candor_canvas_set_tool (canvas, CANDOR_CANVAS_TOOL_MASK);
  candor_canvas_set_brush_size (canvas, 16);
  horizontal_stroke (canvas);
  g_assert_cmpint (finished.tool, ==, CANDOR_CANVAS_TOOL_MASK);
  masked_pixels = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (masked_pixels, before));
  g_assert_true (candor_canvas_has_mask (canvas));
  mask = candor_canvas_dup_mask (canvas);
  g_assert_nonnull (mask);
  g_assert_cmpuint (g_bytes_get_size (mask), ==, 64 * 64 * 4);
  masked = count_masked (mask);
  assert_capsule_area (masked, 8, 44);
  assert_capsule_area (finished.covered, 8, 44);
  g_assert_cmpuint (masked, <=, finished.covered);
  g_assert_cmpmem (pixel (mask, 64, 32, 32), 4, ((guint8[]) { 255, 255, 255, 255 }), 4);
  g_assert_cmpmem (pixel (mask, 64, 32, 5), 4, ((guint8[]) { 0, 0, 0, 0 }), 4);

  /* Clearing the mask is a step of its own. */
  candor_canvas_clear_mask (canvas);
  g_assert_null (candor_canvas_dup_mask (canvas));
  g_assert_false (candor_canvas_has_mask (canvas));
  candor_canvas_undo (canvas);
  mask_again = candor_canvas_dup_mask (canvas);
  g_assert_nonnull (mask_again);
  g_assert_true (g_bytes_equal (mask_again, mask));
  candor_canvas_redo (canvas);
  g_assert_null (candor_canvas_dup_mask (canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 1);
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_ERASER), ==, 1);
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_MASK), ==, 1);

  /* Undo past the eraser brings the paint back; a new stroke then ends the redo. */
  candor_canvas_undo (canvas);
  candor_canvas_undo (canvas);
  candor_canvas_undo (canvas);
  g_clear_pointer (&after_undo, g_bytes_unref);
  after_undo = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (after_undo, stroked));
  g_assert_true (candor_canvas_can_redo (canvas));
  candor_canvas_set_tool (canvas, CANDOR_CANVAS_TOOL_BRUSH);
  candor_canvas_begin_stroke (canvas, 5, 5);
  candor_canvas_end_stroke (canvas);
  g_assert_false (candor_canvas_can_redo (canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 2);
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_ERASER), ==, 0);

  /* A new image starts a new history. */
  candor_canvas_set_image (canvas, pattern, 64, 64);
  g_assert_false (candor_canvas_can_undo (canvas));
  g_assert_false (candor_canvas_can_redo (canvas));
  g_assert_false (candor_canvas_has_paint (canvas));
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH), ==, 0);

  close_canvas_window (canvas);
}

/* A long history, undone and redone step by step (past the points undo restarts from),
 * gives back the very bytes each step had. */
static void
test_long_history (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GBytes) pattern = make_pattern (64, 64);
  g_autoptr(GPtrArray) pixels = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) masks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint n_steps;

  candor_canvas_set_image (canvas, pattern, 64, 64);
  g_ptr_array_add (pixels, candor_canvas_dup_pixels (canvas));
  g_ptr_array_add (masks, candor_canvas_dup_mask (canvas));
  for (guint i = 0; i < 45; i++)
    {
      if (i % 11 == 10)
        {
          /* A mask for sure, then its clearing: two steps. */
          candor_canvas_set_tool (canvas, CANDOR_CANVAS_TOOL_MASK);
          candor_canvas_set_brush_size (canvas, 10);
          candor_canvas_begin_stroke (canvas, 32, 32);
          candor_canvas_end_stroke (canvas);
          g_ptr_array_add (pixels, candor_canvas_dup_pixels (canvas));
          g_ptr_array_add (masks, candor_canvas_dup_mask (canvas));
          candor_canvas_clear_mask (canvas);
        }
      else
        {
          candor_canvas_set_tool (canvas, g_rand_int_range (rand, 0, 3));
          candor_canvas_set_brush_size (canvas, g_rand_double_range (rand, 2, 20));
          candor_canvas_set_hardness (canvas, g_rand_double (rand));
          candor_canvas_set_opacity (canvas, g_rand_double_range (rand, 0.3, 1));
          candor_canvas_set_color (canvas, &(GdkRGBA) { g_rand_double (rand), g_rand_double (rand),
                                                        g_rand_double (rand), 1 });
          candor_canvas_begin_stroke (canvas, g_rand_double_range (rand, -5, 69),
                                      g_rand_double_range (rand, -5, 69));
          for (guint j = 0; j < 6; j++)
            candor_canvas_extend_stroke (canvas, g_rand_double_range (rand, -5, 69),
                                         g_rand_double_range (rand, -5, 69));
          candor_canvas_end_stroke (canvas);
        }
      g_ptr_array_add (pixels, candor_canvas_dup_pixels (canvas));
      g_ptr_array_add (masks, candor_canvas_dup_mask (canvas));
    }
  n_steps = pixels->len - 1;
  g_assert_cmpuint (candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_BRUSH)
                    + candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_ERASER)
                    + candor_canvas_get_stroke_count (canvas, CANDOR_CANVAS_TOOL_MASK), ==,
                    n_steps - 4);

  for (guint i = n_steps; i > 0; i--)
    {
      g_autoptr(GBytes) now = NULL;
      g_autoptr(GBytes) mask = NULL;

      candor_canvas_undo (canvas);
      now = candor_canvas_dup_pixels (canvas);
      mask = candor_canvas_dup_mask (canvas);
      g_assert_true (g_bytes_equal (now, g_ptr_array_index (pixels, i - 1)));
      if (g_ptr_array_index (masks, i - 1) == NULL)
        g_assert_null (mask);
      else
        g_assert_true (g_bytes_equal (mask, g_ptr_array_index (masks, i - 1)));
    }
  g_assert_false (candor_canvas_can_undo (canvas));
  for (guint i = 1; i <= n_steps; i++)
    {
      g_autoptr(GBytes) now = NULL;

      candor_canvas_redo (canvas);
      now = candor_canvas_dup_pixels (canvas);
      g_assert_true (g_bytes_equal (now, g_ptr_array_index (pixels, i)));
    }
  g_assert_false (candor_canvas_can_redo (canvas));

  /* Undo a few, then back to the middle, and redo: the same bytes again. */
  for (guint i = 0; i < 30; i++)
    candor_canvas_undo (canvas);
  for (guint i = 0; i < 12; i++)
    candor_canvas_redo (canvas);
  {
    g_autoptr(GBytes) now = candor_canvas_dup_pixels (canvas);
    g_assert_true (g_bytes_equal (now, g_ptr_array_index (pixels, n_steps - 30 + 12)));
  }

  close_canvas_window (canvas);
}

/* The canvas's own actions, as its key bindings run them. */
static void
test_actions (void)
{
  CandorCanvas *canvas = new_canvas_window (200, 160);
  g_autoptr(GBytes) pattern = make_pattern (64, 64);
  g_autoptr(GBytes) undone = NULL;
  double fit;

  candor_canvas_set_image (canvas, pattern, 64, 64);
  fit = candor_canvas_get_zoom (canvas);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.zoom-in", NULL));
  g_assert_cmpfloat_with_epsilon (candor_canvas_get_zoom (canvas), fit * 1.25, 1e-9);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.zoom-original", NULL));
  g_assert_cmpfloat (candor_canvas_get_zoom (canvas), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.zoom-out", NULL));
  g_assert_cmpfloat_with_epsilon (candor_canvas_get_zoom (canvas), 0.8, 1e-9);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.zoom-fit", NULL));
  g_assert_cmpfloat_with_epsilon (candor_canvas_get_zoom (canvas), fit, 1e-9);

  candor_canvas_begin_stroke (canvas, 30, 30);
  candor_canvas_end_stroke (canvas);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.undo", NULL));
  undone = candor_canvas_dup_pixels (canvas);
  g_assert_true (g_bytes_equal (undone, pattern));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.redo", NULL));
  g_assert_true (candor_canvas_has_paint (canvas));

  close_canvas_window (canvas);
}

/* The pixel of a rendering at (x, y), as 0xAARRGGBB. */
static guint32
texel (GdkTexture *texture,
       int         x,
       int         y)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_malloc ((gsize) width * height * 4);
  guint32 value;

  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, width);
  g_assert_cmpint (y, <, height);
  gdk_texture_download (texture, data, (gsize) width * 4);
  memcpy (&value, data + ((gsize) y * width + x) * 4, 4);
  return value;
}

static gboolean
texel_is (GdkTexture *texture,
          int         x,
          int         y,
          guint32     rgb)
{
  guint32 value = texel (texture, x, y);

  for (guint shift = 0; shift < 24; shift += 8)
    if (abs ((int) ((value >> shift) & 0xff) - (int) ((rgb >> shift) & 0xff)) > 2)
      {
        g_test_message ("pixel (%d, %d) is %08x, not %06x", x, y, value, rgb);
        return FALSE;
      }
  return TRUE;
}

#define RED    0xff0000u
#define GREEN  0x00ff00u
#define BLUE   0x0000ffu
#define YELLOW 0xffff00u

/* 64 × 48 in four quadrants: red, green / blue, yellow. */
static GBytes *
make_quadrants (void)
{
  guint8 *pixels = g_malloc (64 * 48 * 4);

  for (guint y = 0; y < 48; y++)
    for (guint x = 0; x < 64; x++)
      {
        guint32 rgb = y < 24 ? (x < 32 ? RED : GREEN) : (x < 32 ? BLUE : YELLOW);
        guint8 *p = pixels + (y * 64 + x) * 4;

        p[0] = rgb >> 16;
        p[1] = (rgb >> 8) & 0xff;
        p[2] = rgb & 0xff;
        p[3] = 255;
      }
  return g_bytes_new_take (pixels, 64 * 48 * 4);
}

static void
test_zoom (void)
{
  CandorCanvas *canvas = new_canvas_window (400, 300);
  g_autoptr(GBytes) quadrants = make_quadrants ();
  g_autoptr(GdkTexture) at_1 = NULL;
  g_autoptr(GdkTexture) at_2 = NULL;
  guint zoom_notifies = 0;
  double width, height, fit;
  int cx, cy;

  g_signal_connect (canvas, "notify::zoom", G_CALLBACK (count_notify_cb), &zoom_notifies);
  candor_canvas_set_image (canvas, quadrants, 64, 48);
  width = gtk_widget_get_width (GTK_WIDGET (canvas));
  height = gtk_widget_get_height (GTK_WIDGET (canvas));
  fit = MIN (MIN (width / 64, height / 48), 32);
  g_assert_cmpfloat_with_epsilon (candor_canvas_get_zoom (canvas), fit, 1e-9);

  candor_canvas_set_zoom (canvas, 1000);
  g_assert_cmpfloat (candor_canvas_get_zoom (canvas), ==, 32);
  candor_canvas_set_zoom (canvas, 0.001);
  g_assert_cmpfloat (candor_canvas_get_zoom (canvas), ==, 0.05);
  g_object_set (canvas, "zoom", 3.0, NULL);
  g_assert_cmpfloat (candor_canvas_get_zoom (canvas), ==, 3);
  candor_canvas_zoom_to_fit (canvas);
  g_assert_cmpfloat_with_epsilon (candor_canvas_get_zoom (canvas), fit, 1e-9);
  g_assert_cmpuint (zoom_notifies, >=, 4);

  /* Zooming keeps the middle of the image in the middle of the widget. */
  cx = (int) (width / 2);
  cy = (int) (height / 2);
  candor_canvas_set_zoom (canvas, 1);
  at_1 = candor_test_render (GTK_WIDGET (canvas));
  g_assert_true (texel_is (at_1, cx - 16, cy - 12, RED));
  g_assert_true (texel_is (at_1, cx + 16, cy - 12, GREEN));
  g_assert_true (texel_is (at_1, cx - 16, cy + 12, BLUE));
  g_assert_true (texel_is (at_1, cx + 16, cy + 12, YELLOW));
  g_assert_false (texel_is (at_1, cx - 48, cy - 12, RED));

  candor_canvas_set_zoom (canvas, 2);
  at_2 = candor_test_render (GTK_WIDGET (canvas));
  g_assert_true (texel_is (at_2, cx - 48, cy - 12, RED));
  g_assert_true (texel_is (at_2, cx + 48, cy + 36, YELLOW));
  g_assert_false (texel_is (at_2, cx - 80, cy - 12, RED));
  g_assert_false (texel_is (at_2, cx + 48, cy + 60, YELLOW));

  close_canvas_window (canvas);
}

static void
test_preview (void)
{
  CandorCanvas *canvas = new_canvas_window (300, 240);
  g_autoptr(GBytes) blue = make_solid (64, 48, 0, 0, 255);
  g_autoptr(GBytes) green = make_solid (8, 6, 0, 255, 0);
  g_autoptr(GBytes) red = make_solid (8, 8, 255, 0, 0);
  g_autoptr(GdkTexture) with_preview = NULL;
  g_autoptr(GdkTexture) without = NULL;
  g_autoptr(GdkTexture) alone = NULL;
  guint notifies = 0;
  gboolean shown;
  int cx, cy;

  g_signal_connect (canvas, "notify::preview-shown", G_CALLBACK (count_notify_cb), &notifies);
  candor_canvas_set_image (canvas, blue, 64, 48);
  cx = gtk_widget_get_width (GTK_WIDGET (canvas)) / 2;
  cy = gtk_widget_get_height (GTK_WIDGET (canvas)) / 2;

  candor_canvas_set_preview (canvas, green, 8, 6, 64, 48);
  g_object_get (canvas, "preview-shown", &shown, NULL);
  g_assert_true (shown);
  g_assert_cmpuint (notifies, ==, 1);
  with_preview = candor_test_render (GTK_WIDGET (canvas));
  g_assert_true (texel_is (with_preview, cx, cy, GREEN));
  g_assert_true (texel_is (with_preview, cx - 20, cy + 15, GREEN));

  candor_canvas_set_preview (canvas, NULL, 0, 0, 0, 0);
  g_object_get (canvas, "preview-shown", &shown, NULL);
  g_assert_false (shown);
  g_assert_cmpuint (notifies, ==, 2);
  without = candor_test_render (GTK_WIDGET (canvas));
  g_assert_true (texel_is (without, cx, cy, BLUE));
  close_canvas_window (canvas);

  /* On an empty canvas the preview has the requested size, fitted. */
  canvas = new_canvas_window (300, 240);
  candor_canvas_set_preview (canvas, red, 8, 8, 64, 64);
  g_assert_cmpfloat_with_epsilon (candor_canvas_get_zoom (canvas),
                                  MIN (gtk_widget_get_width (GTK_WIDGET (canvas)) / 64.0,
                                       gtk_widget_get_height (GTK_WIDGET (canvas)) / 64.0),
                                  1e-9);
  alone = candor_test_render (GTK_WIDGET (canvas));
  g_assert_true (texel_is (alone, cx, cy, RED));
  g_assert_cmpuint (candor_canvas_get_image_width (canvas), ==, 0);
  close_canvas_window (canvas);
}

/* A sketch with strokes and a mask, rendered as on screen, kept as a PNG to look at. */
static void
test_render (void)
{
  CandorCanvas *canvas = new_canvas_window (640, 480);
  guint8 *sky = g_malloc (256 * 256 * 4);
  g_autoptr(GBytes) image = NULL;

  for (guint y = 0; y < 256; y++)
    for (guint x = 0; x < 256; x++)
      {
        guint8 *p = sky + (y * 256 + x) * 4;
        gboolean ground = y > 180 + 10 * sin (x / 20.0);

        p[0] = ground ? 60 + y / 8 : 120 + y / 4;
        p[1] = ground ? 140 - y / 8 : 170 + y / 6;
        p[2] = ground ? 50 : 230;
        p[3] = 255;
      }
  image = g_bytes_new_take (sky, 256 * 256 * 4);
  candor_canvas_set_image (canvas, image, 256, 256);

  candor_canvas_set_color (canvas, &(GdkRGBA) { 0.9, 0.6, 0.1, 1 });
  candor_canvas_set_brush_size (canvas, 40);
  candor_canvas_set_hardness (canvas, 0.3);
  candor_canvas_begin_stroke (canvas, 190, 60);
  candor_canvas_end_stroke (canvas);

  candor_canvas_set_color (canvas, &(GdkRGBA) { 0.2, 0.1, 0.3, 1 });
  candor_canvas_set_brush_size (canvas, 6);
  candor_canvas_set_hardness (canvas, 0.9);
  candor_canvas_begin_stroke (canvas, 30, 200);
  for (guint i = 0; i <= 60; i++)
    candor_canvas_extend_stroke (canvas, 30 + i * 3, 150 + 40 * cos (i / 8.0));
  candor_canvas_end_stroke (canvas);

  candor_canvas_set_tool (canvas, CANDOR_CANVAS_TOOL_MASK);
  candor_canvas_set_brush_size (canvas, 30);
  candor_canvas_begin_stroke (canvas, 40, 60);
  candor_canvas_extend_stroke (canvas, 90, 90);
  candor_canvas_extend_stroke (canvas, 120, 50);
  candor_canvas_end_stroke (canvas);

  candor_test_save_rendering (GTK_WIDGET (canvas), "canvas");

  close_canvas_window (canvas);
}

int
main (int   argc,
      char *argv[])
{
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/canvas/defaults", test_defaults);
  g_test_add_func ("/app/canvas/pixels-round-trip", test_pixels_round_trip);
  g_test_add_func ("/app/canvas/hard-stroke", test_hard_stroke);
  g_test_add_func ("/app/canvas/opacity", test_opacity);
  g_test_add_func ("/app/canvas/undo-redo", test_undo_redo);
  g_test_add_func ("/app/canvas/long-history", test_long_history);
  g_test_add_func ("/app/canvas/actions", test_actions);
  g_test_add_func ("/app/canvas/zoom", test_zoom);
  g_test_add_func ("/app/canvas/preview", test_preview);
  g_test_add_func ("/app/canvas/render", test_render);

  return g_test_run ();
}
