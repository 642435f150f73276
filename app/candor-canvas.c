/* candor-canvas.c — CandorCanvas: the Illustrations view's canvas.
 *
 * Pixels: the base is RGBA8 (made opaque when set), the paint layer a Cairo ARGB32
 * surface (premultiplied), the mask an A8 surface, and `flat` an RGB24 surface holding
 * the base with the paint composited onto it: what is drawn, and what dup_pixels returns.
 * The compositing is done here in integer arithmetic rather than by Cairo, so that a
 * stroke drawn live, piece by piece, and the same stroke replayed after an undo give the
 * same bytes, and a pixel without paint keeps the base's bytes exactly.
 *
 * A stroke's coverage (0..255 a pixel) is the maximum of the round-capped profiles of its
 * segments, rendered into a scratch buffer; the layer is then the layer as it was before
 * the stroke, composited once with coverage × opacity. The continuous profile is the
 * limit of round dabs placed ever closer, and taking the maximum rather than stacking
 * means the stroke's own overlaps never build up beyond its opacity.
 *
 * Keys while the canvas has the focus: + and − zoom, 0 fits, 1 shows pixels 1:1, arrows
 * pan, Space held turns a drag into a pan, Ctrl+Z and Ctrl+Shift+Z undo and redo.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "candor-canvas.h"

#define MIN_ZOOM     0.05
#define MAX_ZOOM     32.0
#define MAX_SIDE     16384    /* pixels: the largest image side accepted */
#define PAN_MARGIN   64.0     /* logical pixels of the image kept in view when panning */
#define SCROLL_STEP  48.0     /* logical pixels panned by one wheel click or arrow key */
#define CHECKPOINT_INTERVAL 16  /* steps between copies of the layers that undo starts from */

typedef struct
{
  int x0, y0, x1, y1;  /* pixels; x1 and y1 excluded; empty when x0 >= x1 or y0 >= y1 */
} Rect;

typedef struct
{
  double x, y;  /* image pixels */
} Point;

typedef enum
{
  STEP_STROKE,
  STEP_CLEAR_MASK,
} StepKind;

/* One undo step: a stroke as a vector, or the clearing of the mask. */
typedef struct
{
  StepKind          kind;
  CandorCanvasTool  tool;
  double            size;       /* diameter, image pixels */
  double            hardness;   /* 0..1 */
  guint8            rgb[3];     /* brush colour */
  guint8            strength;   /* opacity (× the colour's alpha) as 0..255 */
  GArray           *points;     /* Point */
  Rect              bounds;     /* the pixels the stroke touched */
} Step;

struct _CandorCanvas
{
  GtkWidget         parent_instance;

  /* Layers, all width × height. */
  guint             width;
  guint             height;
  guint8           *base;       /* RGBA8, opaque, width × 4 a row */
  cairo_surface_t  *paint;      /* ARGB32, premultiplied */
  cairo_surface_t  *mask;       /* A8 */
  cairo_surface_t  *flat;       /* RGB24: base with paint, kept up to date */
  guint8           *coverage;   /* width × height; zero outside a stroke being rendered */
  int               has_paint;  /* cached: 1, 0, or -1 when unknown */
  int               has_mask;   /* likewise */

  /* History: steps[0 .. n_applied) are applied, the rest can be redone. */
  GPtrArray        *steps;      /* Step, owned */
  guint             n_applied;
  /* The paint and mask layers after steps[0 .. checkpoint_n), whole surfaces' bytes, so
   * that an undo replays a few steps rather than all of them; NULL with checkpoint_n 0
   * (empty layers). checkpoint_n ≤ n_applied always. */
  guint8           *checkpoint_paint;
  guint8           *checkpoint_mask;
  guint             checkpoint_n;
  gboolean          could_undo; /* last notified */
  gboolean          could_redo;

  /* The stroke being drawn. */
  Step             *stroke;          /* owned, NULL when none */
  guint8           *stroke_before;   /* its layer as it was before it, same stride */
  gboolean          stroke_pending;  /* a point too close to the last one to draw yet */
  Point             pending;

  /* Tool settings, copied into each stroke when it begins. */
  CandorCanvasTool  tool;
  double            brush_size;
  double            hardness;
  GdkRGBA           color;
  double            opacity;

  /* Preview of a generation, drawn over the image area. */
  GdkTexture       *preview;
  guint             preview_area_width;   /* the area when there is no image */
  guint             preview_area_height;

  /* View: widget point = origin + image point × zoom. */
  double            zoom;
  double            origin_x;
  double            origin_y;
  gboolean          fit;          /* refit on resize, until the user zooms or pans */
  int               alloc_width;  /* last allocation, to keep the centre on resize */
  int               alloc_height;

  /* Input. */
  gboolean          panning;
  double            pan_start_x;  /* origin when the pan began */
  double            pan_start_y;
  double            pinch_zoom;   /* zoom when the pinch began */
  Point             pinch_anchor; /* image point under the pinch's centre */
  gboolean          pinching;
  gboolean          space_held;
  gboolean          pointer_inside;
  double            pointer_x;
  double            pointer_y;
};

G_DEFINE_FINAL_TYPE (CandorCanvas, candor_canvas, GTK_TYPE_WIDGET)

/* Not in the header, which only has the enum; properties need a type. */
GType candor_canvas_tool_get_type (void);
G_DEFINE_ENUM_TYPE (CandorCanvasTool, candor_canvas_tool,
                    G_DEFINE_ENUM_VALUE (CANDOR_CANVAS_TOOL_BRUSH, "brush"),
                    G_DEFINE_ENUM_VALUE (CANDOR_CANVAS_TOOL_ERASER, "eraser"),
                    G_DEFINE_ENUM_VALUE (CANDOR_CANVAS_TOOL_MASK, "mask"))

enum
{
  PROP_0,
  PROP_TOOL,
  PROP_BRUSH_SIZE,
  PROP_HARDNESS,
  PROP_COLOR,
  PROP_OPACITY,
  PROP_ZOOM,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  PROP_PREVIEW_SHOWN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  STROKE_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* x / 255, rounded, for 0 ≤ x ≤ 255 × 255. */
static inline guint
div255 (guint x)
{
  x += 128;
  return (x + (x >> 8)) >> 8;
}

static void
step_free (Step *step)
{
  g_clear_pointer (&step->points, g_array_unref);
  g_free (step);
}

static gboolean
rect_is_empty (const Rect *rect)
{
  return rect->x0 >= rect->x1 || rect->y0 >= rect->y1;
}

static void
rect_union (Rect       *rect,
            const Rect *other)
{
  if (rect_is_empty (other))
    return;
  if (rect_is_empty (rect))
    {
      *rect = *other;
      return;
    }
  rect->x0 = MIN (rect->x0, other->x0);
  rect->y0 = MIN (rect->y0, other->y0);
  rect->x1 = MAX (rect->x1, other->x1);
  rect->y1 = MAX (rect->y1, other->y1);
}

static Rect
whole_image (CandorCanvas *self)
{
  return (Rect) { 0, 0, self->width, self->height };
}

static gboolean
is_empty (CandorCanvas *self)
{
  return self->base == NULL;
}

/* The area drawn: the image, else the preview's requested size. */
static void
get_content_size (CandorCanvas *self,
                  double       *width,
                  double       *height)
{
  if (!is_empty (self))
    {
      *width = self->width;
      *height = self->height;
    }
  else if (self->preview != NULL)
    {
      *width = self->preview_area_width;
      *height = self->preview_area_height;
    }
  else
    {
      *width = *height = 0;
    }
}

/* Layers. */

static cairo_surface_t *
stroke_layer (CandorCanvas     *self,
              CandorCanvasTool  tool)
{
  return tool == CANDOR_CANVAS_TOOL_MASK ? self->mask : self->paint;
}

static void
invalidate_caches (CandorCanvas *self)
{
  self->has_paint = -1;
  self->has_mask = -1;
}

/* Recomputes flat = base OVER paint in @rect. Where the paint is transparent the base's
 * bytes come through unchanged. */
static void
flatten (CandorCanvas *self,
         const Rect   *rect)
{
  const guint8 *paint_data;
  guint8 *flat_data;
  int paint_stride, flat_stride;

  if (rect_is_empty (rect))
    return;

  cairo_surface_flush (self->paint);
  cairo_surface_flush (self->flat);
  paint_data = cairo_image_surface_get_data (self->paint);
  paint_stride = cairo_image_surface_get_stride (self->paint);
  flat_data = cairo_image_surface_get_data (self->flat);
  flat_stride = cairo_image_surface_get_stride (self->flat);

  for (int y = rect->y0; y < rect->y1; y++)
    {
      const guint32 *paint_row =
        (const guint32 *) (gconstpointer) (paint_data + (gsize) y * paint_stride);
      guint32 *flat_row = (guint32 *) (gpointer) (flat_data + (gsize) y * flat_stride);
      const guint8 *base_row = self->base + (gsize) y * self->width * 4;

      for (int x = rect->x0; x < rect->x1; x++)
        {
          guint32 p = paint_row[x];
          guint inverse = 255 - (p >> 24);
          const guint8 *b = base_row + x * 4;
          guint r = ((p >> 16) & 0xff) + div255 (b[0] * inverse);
          guint g = ((p >> 8) & 0xff) + div255 (b[1] * inverse);
          guint bl = (p & 0xff) + div255 (b[2] * inverse);

          flat_row[x] = 0xff000000u | (r << 16) | (g << 8) | bl;
        }
    }
  cairo_surface_mark_dirty_rectangle (self->flat, rect->x0, rect->y0,
                                      rect->x1 - rect->x0, rect->y1 - rect->y0);
}

/* The profile of a round brush at distance @d from its centre line: full inside the
 * hard @core, then a smooth falloff to nothing at @edge, half a pixel past the radius
 * (so at least a pixel wide, which antialiases a hard edge). */
static inline guint8
profile (double d,
         double core,
         double edge)
{
  double t;

  if (d <= core)
    return 255;
  if (d >= edge)
    return 0;
  t = (d - core) / (edge - core);
  return (guint8) (255.0 * (1.0 - t * t * (3.0 - 2.0 * t)) + 0.5);
}

/* Renders the segment a–b of a stroke into the coverage buffer (the maximum of what is
 * there and the segment's profile, at pixel centres). Returns the pixels it may have
 * touched, clipped to the image. */
static Rect
rasterize_segment (CandorCanvas *self,
                   const Step   *step,
                   Point         a,
                   Point         b)
{
  double radius = step->size / 2.0;
  double edge = radius + 0.5;
  double core = MAX (0.0, MIN (step->hardness * radius, radius - 0.5));
  double dx = b.x - a.x, dy = b.y - a.y;
  double length2 = dx * dx + dy * dy;
  double core2 = core * core, edge2 = edge * edge;
  Rect rect;

  rect.x0 = (int) CLAMP (floor (MIN (a.x, b.x) - edge), 0, self->width);
  rect.y0 = (int) CLAMP (floor (MIN (a.y, b.y) - edge), 0, self->height);
  rect.x1 = (int) CLAMP (ceil (MAX (a.x, b.x) + edge), 0, self->width);
  rect.y1 = (int) CLAMP (ceil (MAX (a.y, b.y) + edge), 0, self->height);

  for (int y = rect.y0; y < rect.y1; y++)
    {
      guint8 *row = self->coverage + (gsize) y * self->width;
      double py = y + 0.5;

      for (int x = rect.x0; x < rect.x1; x++)
        {
          double px = x + 0.5;
          double t = 0, ex, ey, d2;
          guint8 value;

          /* Segments of a stroke overlap a lot: most pixels are full already. */
          if (row[x] == 255)
            continue;
          if (length2 > 0)
            t = CLAMP (((px - a.x) * dx + (py - a.y) * dy) / length2, 0.0, 1.0);
          ex = px - (a.x + t * dx);
          ey = py - (a.y + t * dy);
          d2 = ex * ex + ey * ey;
          if (d2 >= edge2)
            continue;
          value = d2 <= core2 ? 255 : profile (sqrt (d2), core, edge);
          if (value > row[x])
            row[x] = value;
        }
    }
  return rect;
}

/* Writes into @dst, in @rect, the layer @src (the layer before the stroke; may be @dst
 * itself) with the stroke's coverage composited onto it: OVER in the brush colour for
 * the brush, DEST_OUT for the eraser, OVER for the mask. */
static void
composite_stroke (CandorCanvas *self,
                  const Step   *step,
                  const guint8 *src,
                  guint8       *dst,
                  int           stride,
                  const Rect   *rect)
{
  for (int y = rect->y0; y < rect->y1; y++)
    {
      const guint8 *coverage = self->coverage + (gsize) y * self->width;
      gsize offset = (gsize) y * stride;

      for (int x = rect->x0; x < rect->x1; x++)
        {
          guint a = div255 (coverage[x] * step->strength);
          guint inverse = 255 - a;

          if (step->tool == CANDOR_CANVAS_TOOL_MASK)
            {
              dst[offset + x] = a + div255 (src[offset + x] * inverse);
            }
          else
            {
              guint32 d = ((const guint32 *) (gconstpointer) (src + offset))[x];
              guint32 out;

              if (step->tool == CANDOR_CANVAS_TOOL_ERASER)
                out = (div255 ((d >> 24) * inverse) << 24)
                      | (div255 (((d >> 16) & 0xff) * inverse) << 16)
                      | (div255 (((d >> 8) & 0xff) * inverse) << 8)
                      | div255 ((d & 0xff) * inverse);
              else
                out = ((a + div255 ((d >> 24) * inverse)) << 24)
                      | ((div255 (step->rgb[0] * a) + div255 (((d >> 16) & 0xff) * inverse)) << 16)
                      | ((div255 (step->rgb[1] * a) + div255 (((d >> 8) & 0xff) * inverse)) << 8)
                      | (div255 (step->rgb[2] * a) + div255 ((d & 0xff) * inverse));
              ((guint32 *) (gpointer) (dst + offset))[x] = out;
            }
        }
    }
}

static void
clear_coverage (CandorCanvas *self,
                const Rect   *rect)
{
  for (int y = rect->y0; y < rect->y1; y++)
    memset (self->coverage + (gsize) y * self->width + rect->x0, 0, rect->x1 - rect->x0);
}

static gsize
surface_size (cairo_surface_t *surface)
{
  return (gsize) cairo_image_surface_get_stride (surface)
         * cairo_image_surface_get_height (surface);
}

static void
clear_surface (cairo_surface_t *surface)
{
  cairo_surface_flush (surface);
  memset (cairo_image_surface_get_data (surface), 0, surface_size (surface));
  cairo_surface_mark_dirty (surface);
}

/* Applies a step on top of the layers as they are. Returns the pixels it changed. */
static Rect
apply_step (CandorCanvas *self,
            Step         *step)
{
  cairo_surface_t *layer;
  guint8 *data;
  Rect bounds = { 0, 0, 0, 0 };
  const Point *points;

  if (step->kind == STEP_CLEAR_MASK)
    {
      clear_surface (self->mask);
      return whole_image (self);
    }

  points = (const Point *) (gpointer) step->points->data;
  for (guint i = 0; i < step->points->len; i++)
    {
      Rect rect = rasterize_segment (self, step, points[i > 0 ? i - 1 : 0], points[i]);
      rect_union (&bounds, &rect);
    }

  layer = stroke_layer (self, step->tool);
  cairo_surface_flush (layer);
  data = cairo_image_surface_get_data (layer);
  composite_stroke (self, step, data, data, cairo_image_surface_get_stride (layer), &bounds);
  if (!rect_is_empty (&bounds))
    cairo_surface_mark_dirty_rectangle (layer, bounds.x0, bounds.y0,
                                        bounds.x1 - bounds.x0, bounds.y1 - bounds.y0);
  clear_coverage (self, &bounds);
  step->bounds = bounds;
  return bounds;
}

static void
drop_checkpoint (CandorCanvas *self)
{
  g_clear_pointer (&self->checkpoint_paint, g_free);
  g_clear_pointer (&self->checkpoint_mask, g_free);
  self->checkpoint_n = 0;
}

/* Copies the layers, which are the result of steps[0 .. @n), when @n is a multiple of
 * the interval past the checkpoint: at fixed points, so that successive undos all start
 * from the same one. */
static void
maybe_checkpoint (CandorCanvas *self,
                  guint         n)
{
  if (n % CHECKPOINT_INTERVAL != 0 || n <= self->checkpoint_n)
    return;
  drop_checkpoint (self);
  cairo_surface_flush (self->paint);
  cairo_surface_flush (self->mask);
  self->checkpoint_paint = g_memdup2 (cairo_image_surface_get_data (self->paint),
                                      surface_size (self->paint));
  self->checkpoint_mask = g_memdup2 (cairo_image_surface_get_data (self->mask),
                                     surface_size (self->mask));
  self->checkpoint_n = n;
}

/* Rebuilds the layers from the applied steps, from the checkpoint when it is not past
 * them: exact, since rendering is deterministic. */
static void
replay (CandorCanvas *self)
{
  Rect all = whole_image (self);

  if (self->checkpoint_n > self->n_applied)
    drop_checkpoint (self);
  if (self->checkpoint_n > 0)
    {
      cairo_surface_flush (self->paint);
      cairo_surface_flush (self->mask);
      memcpy (cairo_image_surface_get_data (self->paint), self->checkpoint_paint,
              surface_size (self->paint));
      memcpy (cairo_image_surface_get_data (self->mask), self->checkpoint_mask,
              surface_size (self->mask));
      cairo_surface_mark_dirty (self->paint);
      cairo_surface_mark_dirty (self->mask);
    }
  else
    {
      clear_surface (self->paint);
      clear_surface (self->mask);
    }
  for (guint i = self->checkpoint_n; i < self->n_applied; i++)
    {
      apply_step (self, g_ptr_array_index (self->steps, i));
      maybe_checkpoint (self, i + 1);
    }
  flatten (self, &all);
  invalidate_caches (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* History. */

static guint
count_steps (CandorCanvas *self,
             StepKind      kind,
             int           tool)
{
  guint count = 0;

  for (guint i = 0; i < self->n_applied; i++)
    {
      Step *step = g_ptr_array_index (self->steps, i);
      if (step->kind == kind && (tool < 0 || (int) step->tool == tool))
        count++;
    }
  return count;
}

static void
update_history_state (CandorCanvas *self)
{
  gboolean can_undo = candor_canvas_can_undo (self);
  gboolean can_redo = candor_canvas_can_redo (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "canvas.undo", can_undo);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "canvas.redo", can_redo);
  if (can_undo != self->could_undo)
    {
      self->could_undo = can_undo;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
    }
  if (can_redo != self->could_redo)
    {
      self->could_redo = can_redo;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
    }
}

/* Makes @step (owned) the newest applied step; what could be redone is gone. */
static void
push_step (CandorCanvas *self,
           Step         *step)
{
  g_ptr_array_set_size (self->steps, self->n_applied);
  g_ptr_array_add (self->steps, step);
  self->n_applied++;
}

/* After a step was pushed and applied, or redone. */
static void
step_done (CandorCanvas *self)
{
  maybe_checkpoint (self, self->n_applied);
  invalidate_caches (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  update_history_state (self);
}

/* Strokes. */

static void
draw_stroke_segment (CandorCanvas *self,
                     Point         a,
                     Point         b)
{
  Step *step = self->stroke;
  cairo_surface_t *layer = stroke_layer (self, step->tool);
  Rect rect = rasterize_segment (self, step, a, b);

  if (rect_is_empty (&rect))
    return;
  rect_union (&step->bounds, &rect);

  cairo_surface_flush (layer);
  composite_stroke (self, step, self->stroke_before, cairo_image_surface_get_data (layer),
                    cairo_image_surface_get_stride (layer), &rect);
  cairo_surface_mark_dirty_rectangle (layer, rect.x0, rect.y0,
                                      rect.x1 - rect.x0, rect.y1 - rect.y0);
  if (layer == self->paint)
    flatten (self, &rect);
  invalidate_caches (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
add_stroke_point (CandorCanvas *self,
                  Point         point)
{
  GArray *points = self->stroke->points;
  Point last = g_array_index (points, Point, points->len - 1);

  g_array_append_val (points, point);
  draw_stroke_segment (self, last, point);
}

/* The pixels of the stroke's layer that it changed, against the layer before it. */
static guint64
count_changed (CandorCanvas *self)
{
  Step *step = self->stroke;
  cairo_surface_t *layer = stroke_layer (self, step->tool);
  const guint8 *data = cairo_image_surface_get_data (layer);
  int stride = cairo_image_surface_get_stride (layer);
  int bpp = step->tool == CANDOR_CANVAS_TOOL_MASK ? 1 : 4;
  const Rect *rect = &step->bounds;
  guint64 changed = 0;

  cairo_surface_flush (layer);
  for (int y = rect->y0; y < rect->y1; y++)
    {
      gsize offset = (gsize) y * stride;
      for (int x = rect->x0; x < rect->x1; x++)
        changed += memcmp (data + offset + x * bpp, self->stroke_before + offset + x * bpp,
                           bpp) != 0;
    }
  return changed;
}

/* Undoes the stroke being drawn without a trace (a pinch took over from the drag). */
static void
cancel_stroke (CandorCanvas *self)
{
  Step *step = self->stroke;
  cairo_surface_t *layer;
  guint8 *data;
  int stride;
  Rect *rect;

  if (step == NULL)
    return;
  layer = stroke_layer (self, step->tool);
  rect = &step->bounds;
  cairo_surface_flush (layer);
  data = cairo_image_surface_get_data (layer);
  stride = cairo_image_surface_get_stride (layer);
  for (int y = rect->y0; y < rect->y1; y++)
    {
      gsize offset = (gsize) y * stride + (gsize) rect->x0 * (layer == self->mask ? 1 : 4);
      memcpy (data + offset, self->stroke_before + offset,
              (rect->x1 - rect->x0) * (layer == self->mask ? 1 : 4));
    }
  cairo_surface_mark_dirty (layer);
  if (layer == self->paint)
    flatten (self, rect);
  clear_coverage (self, rect);
  g_clear_pointer (&self->stroke, step_free);
  g_clear_pointer (&self->stroke_before, g_free);
  self->stroke_pending = FALSE;
  invalidate_caches (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Drops the history and the layers' contents. */
static void
reset_layers (CandorCanvas *self)
{
  g_clear_pointer (&self->stroke, step_free);
  g_clear_pointer (&self->stroke_before, g_free);
  self->stroke_pending = FALSE;
  g_ptr_array_set_size (self->steps, 0);
  self->n_applied = 0;
  drop_checkpoint (self);
  g_clear_pointer (&self->base, g_free);
  g_clear_pointer (&self->coverage, g_free);
  g_clear_pointer (&self->paint, cairo_surface_destroy);
  g_clear_pointer (&self->mask, cairo_surface_destroy);
  g_clear_pointer (&self->flat, cairo_surface_destroy);
  self->width = self->height = 0;
  invalidate_caches (self);
}

/* View. */

/* The origin as drawn: whole logical pixels, so that at zoom 1 image pixels land on
 * screen pixels. */
static void
get_origin (CandorCanvas *self,
            double       *x,
            double       *y)
{
  *x = round (self->origin_x);
  *y = round (self->origin_y);
}

static void
widget_to_image (CandorCanvas *self,
                 double        widget_x,
                 double        widget_y,
                 Point        *point)
{
  double origin_x, origin_y;

  get_origin (self, &origin_x, &origin_y);
  point->x = (widget_x - origin_x) / self->zoom;
  point->y = (widget_y - origin_y) / self->zoom;
}

/* Keeps part of the content in view whatever the pan. */
static void
clamp_origin (CandorCanvas *self)
{
  double width = self->alloc_width, height = self->alloc_height;
  double content_width, content_height, shown_width, shown_height, margin_x, margin_y;

  get_content_size (self, &content_width, &content_height);
  if (width <= 0 || height <= 0 || content_width <= 0)
    return;
  shown_width = content_width * self->zoom;
  shown_height = content_height * self->zoom;
  margin_x = MIN (PAN_MARGIN, MIN (shown_width, width) / 2);
  margin_y = MIN (PAN_MARGIN, MIN (shown_height, height) / 2);
  self->origin_x = CLAMP (self->origin_x, margin_x - shown_width, width - margin_x);
  self->origin_y = CLAMP (self->origin_y, margin_y - shown_height, height - margin_y);
}

static void
set_view (CandorCanvas *self,
          double        zoom,
          double        origin_x,
          double        origin_y)
{
  double old_zoom = self->zoom;

  self->zoom = CLAMP (zoom, MIN_ZOOM, MAX_ZOOM);
  self->origin_x = origin_x;
  self->origin_y = origin_y;
  clamp_origin (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->zoom != old_zoom)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

/* Zooms keeping the image point under (@widget_x, @widget_y) where it is. */
static void
zoom_about (CandorCanvas *self,
            double        zoom,
            double        widget_x,
            double        widget_y)
{
  double image_x = (widget_x - self->origin_x) / self->zoom;
  double image_y = (widget_y - self->origin_y) / self->zoom;

  zoom = CLAMP (zoom, MIN_ZOOM, MAX_ZOOM);
  self->fit = FALSE;
  set_view (self, zoom, widget_x - image_x * zoom, widget_y - image_y * zoom);
}

static void
zoom_about_centre (CandorCanvas *self,
                   double        zoom)
{
  zoom_about (self, zoom, self->alloc_width / 2.0, self->alloc_height / 2.0);
}

static void
pan_by (CandorCanvas *self,
        double        dx,
        double        dy)
{
  self->fit = FALSE;
  set_view (self, self->zoom, self->origin_x + dx, self->origin_y + dy);
}

static void
apply_fit (CandorCanvas *self)
{
  double width = self->alloc_width, height = self->alloc_height;
  double content_width, content_height, zoom;

  get_content_size (self, &content_width, &content_height);
  if (width <= 0 || height <= 0 || content_width <= 0 || content_height <= 0)
    return;
  zoom = CLAMP (MIN (width / content_width, height / content_height), MIN_ZOOM, MAX_ZOOM);
  set_view (self, zoom, (width - content_width * zoom) / 2, (height - content_height * zoom) / 2);
}

static gboolean
can_paint (CandorCanvas *self)
{
  return !is_empty (self) && self->preview == NULL;
}

static void
update_cursor (CandorCanvas *self)
{
  const char *name = NULL;

  if (self->panning)
    name = "grabbing";
  else if (self->space_held && !is_empty (self))
    name = "grab";
  else if (can_paint (self))
    name = "crosshair";
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), name);
}

/* Input. */

static void
begin_pan (CandorCanvas *self)
{
  self->panning = TRUE;
  self->pan_start_x = self->origin_x;
  self->pan_start_y = self->origin_y;
  update_cursor (self);
}

static void
paint_drag_begin_cb (GtkGestureDrag *gesture,
                     double          x,
                     double          y,
                     CandorCanvas   *self)
{
  Point point;

  double content_width, content_height;

  gtk_widget_grab_focus (GTK_WIDGET (self));
  get_content_size (self, &content_width, &content_height);
  if (can_paint (self) && !self->space_held)
    {
      widget_to_image (self, x, y, &point);
      candor_canvas_begin_stroke (self, point.x, point.y);
    }
  else if (content_width > 0)
    {
      /* Space held, or a preview that cannot be painted on: the drag pans. */
      begin_pan (self);
    }
  else
    {
      /* Nothing to do; not denied either, as that would deny the grouped pinch too. */
      return;
    }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
paint_drag_update_cb (GtkGestureDrag *gesture,
                      double          offset_x,
                      double          offset_y,
                      CandorCanvas   *self)
{
  double start_x, start_y;
  Point point;

  if (self->pinching)
    return;
  gtk_gesture_drag_get_start_point (gesture, &start_x, &start_y);
  self->pointer_x = start_x + offset_x;
  self->pointer_y = start_y + offset_y;
  if (self->panning)
    {
      self->fit = FALSE;
      set_view (self, self->zoom, self->pan_start_x + offset_x, self->pan_start_y + offset_y);
    }
  else if (self->stroke != NULL)
    {
      widget_to_image (self, self->pointer_x, self->pointer_y, &point);
      candor_canvas_extend_stroke (self, point.x, point.y);
    }
}

static void
paint_drag_end_cb (GtkGestureDrag *gesture,
                   double          offset_x,
                   double          offset_y,
                   CandorCanvas   *self)
{
  paint_drag_update_cb (gesture, offset_x, offset_y, self);
  if (self->stroke != NULL)
    candor_canvas_end_stroke (self);
  self->panning = FALSE;
  update_cursor (self);
}

static void
pan_drag_begin_cb (GtkGestureDrag *gesture,
                   double          x,
                   double          y,
                   CandorCanvas   *self)
{
  double content_width, content_height;

  get_content_size (self, &content_width, &content_height);
  if (content_width <= 0 || self->stroke != NULL)
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  begin_pan (self);
}

static void
pan_drag_update_cb (GtkGestureDrag *gesture,
                    double          offset_x,
                    double          offset_y,
                    CandorCanvas   *self)
{
  if (!self->panning)
    return;
  self->fit = FALSE;
  set_view (self, self->zoom, self->pan_start_x + offset_x, self->pan_start_y + offset_y);
}

static void
pan_drag_end_cb (GtkGestureDrag *gesture,
                 double          offset_x,
                 double          offset_y,
                 CandorCanvas   *self)
{
  pan_drag_update_cb (gesture, offset_x, offset_y, self);
  self->panning = FALSE;
  update_cursor (self);
}

static void
pinch_begin_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                CandorCanvas     *self)
{
  double x, y;

  /* Two fingers: the first one's stroke was the start of a pinch, not a stroke; the drag
   * sits the rest of the gesture out. */
  cancel_stroke (self);
  self->panning = FALSE;
  self->pinching = TRUE;

  if (!gtk_gesture_get_bounding_box_center (gesture, &x, &y))
    {
      x = self->alloc_width / 2.0;
      y = self->alloc_height / 2.0;
    }
  self->pinch_zoom = self->zoom;
  self->pinch_anchor.x = (x - self->origin_x) / self->zoom;
  self->pinch_anchor.y = (y - self->origin_y) / self->zoom;
}

static void
pinch_scale_changed_cb (GtkGestureZoom *gesture,
                        double          scale,
                        CandorCanvas   *self)
{
  double x, y, zoom;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  /* The anchor follows the fingers: a pinch also pans. */
  zoom = CLAMP (self->pinch_zoom * scale, MIN_ZOOM, MAX_ZOOM);
  self->fit = FALSE;
  set_view (self, zoom, x - self->pinch_anchor.x * zoom, y - self->pinch_anchor.y * zoom);
}

static void
pinch_end_cb (GtkGesture       *gesture,
              GdkEventSequence *sequence,
              CandorCanvas     *self)
{
  self->pinching = FALSE;
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           CandorCanvas             *self)
{
  GdkModifierType state;
  gboolean wheel;
  double content_width, content_height;

  get_content_size (self, &content_width, &content_height);
  if (content_width <= 0)
    return FALSE;

  state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;
  if (state & GDK_CONTROL_MASK)
    {
      double factor = wheel ? pow (1.25, -dy) : exp (-dy / 100.0);
      double x = self->alloc_width / 2.0, y = self->alloc_height / 2.0;

      if (self->pointer_inside)
        {
          x = self->pointer_x;
          y = self->pointer_y;
        }
      zoom_about (self, self->zoom * factor, x, y);
      return TRUE;
    }

  if ((state & GDK_SHIFT_MASK) && dx == 0)
    {
      dx = dy;
      dy = 0;
    }
  if (wheel)
    {
      dx *= SCROLL_STEP;
      dy *= SCROLL_STEP;
    }
  pan_by (self, -dx, -dy);
  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           CandorCanvas             *self)
{
  self->pointer_inside = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  if (can_paint (self))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (GtkEventControllerMotion *controller,
          CandorCanvas             *self)
{
  self->pointer_inside = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                CandorCanvas          *self)
{
  if (state & (GDK_CONTROL_MASK | GDK_ALT_MASK))
    return FALSE;

  switch (keyval)
    {
    case GDK_KEY_space:
      self->space_held = TRUE;
      update_cursor (self);
      return TRUE;
    case GDK_KEY_Left:
      pan_by (self, SCROLL_STEP, 0);
      return TRUE;
    case GDK_KEY_Right:
      pan_by (self, -SCROLL_STEP, 0);
      return TRUE;
    case GDK_KEY_Up:
      pan_by (self, 0, SCROLL_STEP);
      return TRUE;
    case GDK_KEY_Down:
      pan_by (self, 0, -SCROLL_STEP);
      return TRUE;
    default:
      return FALSE;
    }
}

static void
key_released_cb (GtkEventControllerKey *controller,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 CandorCanvas          *self)
{
  if (keyval == GDK_KEY_space)
    {
      self->space_held = FALSE;
      update_cursor (self);
    }
}

static void
focus_leave_cb (GtkEventControllerFocus *controller,
                CandorCanvas            *self)
{
  self->space_held = FALSE;
  update_cursor (self);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  CandorCanvas *self = CANDOR_CANVAS (widget);

  if (g_str_equal (action_name, "canvas.zoom-in"))
    zoom_about_centre (self, self->zoom * 1.25);
  else if (g_str_equal (action_name, "canvas.zoom-out"))
    zoom_about_centre (self, self->zoom / 1.25);
  else if (g_str_equal (action_name, "canvas.zoom-original"))
    zoom_about_centre (self, 1.0);
  else
    candor_canvas_zoom_to_fit (self);
}

static void
history_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  if (g_str_equal (action_name, "canvas.undo"))
    candor_canvas_undo (CANDOR_CANVAS (widget));
  else
    candor_canvas_redo (CANDOR_CANVAS (widget));
}

/* Drawing. */

static void
draw_image (CandorCanvas *self,
            cairo_t      *cr,
            double        origin_x,
            double        origin_y)
{
  cairo_filter_t filter;
  cairo_pattern_t *pattern;

  /* Shrunk: average (GOOD); enlarged a lot: show the pixels as squares. */
  if (self->zoom < 1.0)
    filter = CAIRO_FILTER_GOOD;
  else if (self->zoom >= 2.0)
    filter = CAIRO_FILTER_NEAREST;
  else
    filter = CAIRO_FILTER_BILINEAR;

  cairo_translate (cr, origin_x, origin_y);
  cairo_scale (cr, self->zoom, self->zoom);
  cairo_rectangle (cr, 0, 0, self->width, self->height);
  cairo_clip (cr);

  cairo_set_source_surface (cr, self->flat, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), filter);
  cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
  cairo_paint (cr);

  /* The mask as a translucent red, as a quick mask is shown in image editors. */
  cairo_set_source_rgba (cr, 0.878, 0.106, 0.141, 0.4);
  pattern = cairo_pattern_create_for_surface (self->mask);
  cairo_pattern_set_filter (pattern, filter);
  cairo_mask (cr, pattern);
  cairo_pattern_destroy (pattern);
}

static void
append_circle (GtkSnapshot   *snapshot,
               double         x,
               double         y,
               double         radius,
               const GdkRGBA *color)
{
  GskRoundedRect circle;
  const float widths[4] = { 1, 1, 1, 1 };
  const GdkRGBA colors[4] = { *color, *color, *color, *color };

  gsk_rounded_rect_init_from_rect (&circle,
                                   &GRAPHENE_RECT_INIT (x - radius, y - radius, 2 * radius,
                                                        2 * radius),
                                   radius);
  gtk_snapshot_append_border (snapshot, &circle, widths, colors);
}

static void
candor_canvas_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  CandorCanvas *self = CANDOR_CANVAS (widget);
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  double content_width, content_height, origin_x, origin_y;
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);
  graphene_rect_t area, visible;
  GdkRGBA foreground, backdrop;

  /* A neutral backdrop from the text colour: a little darker than the view in light
   * mode, a little lighter in dark mode. */
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &foreground);
  backdrop = foreground;
  backdrop.alpha = 0.08;
  gtk_snapshot_append_color (snapshot, &backdrop, &bounds);

  get_content_size (self, &content_width, &content_height);
  if (content_width <= 0 || content_height <= 0)
    return;

  get_origin (self, &origin_x, &origin_y);
  area = GRAPHENE_RECT_INIT (origin_x, origin_y, content_width * self->zoom,
                             content_height * self->zoom);
  if (!graphene_rect_intersection (&area, &bounds, &visible))
    return;

  /* A shadow lifts the sheet off the backdrop; only while all of it is in view, as a
   * shadow of a sheet zoomed far beyond the widget would be costly and unseen. */
  if (area.origin.x >= 0 && area.origin.y >= 0 && area.origin.x + area.size.width <= width
      && area.origin.y + area.size.height <= height)
    {
      GskRoundedRect sheet;
      const GdkRGBA shadow = { 0, 0, 0, 0.25 };

      gsk_rounded_rect_init_from_rect (&sheet, &area, 0);
      gtk_snapshot_append_outset_shadow (snapshot, &sheet, &shadow, 0, 1, 0, 4);
    }

  if (self->preview != NULL)
    {
      gtk_snapshot_push_clip (snapshot, &visible);
      gtk_snapshot_append_texture (snapshot, self->preview, &area);
      gtk_snapshot_pop (snapshot);
    }
  else
    {
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &visible);

      draw_image (self, cr, origin_x, origin_y);
      cairo_destroy (cr);
    }

  /* The brush's outline under the pointer, in black and white to show on any image. */
  if (can_paint (self) && self->pointer_inside && !self->panning && !self->space_held)
    {
      double size = self->stroke != NULL ? self->stroke->size : self->brush_size;
      double radius = MAX (2.0, size * self->zoom / 2.0);
      const GdkRGBA black = { 0, 0, 0, 0.7 }, white = { 1, 1, 1, 0.7 };

      append_circle (snapshot, self->pointer_x, self->pointer_y, radius + 1, &white);
      append_circle (snapshot, self->pointer_x, self->pointer_y, radius, &black);
    }
}

static void
candor_canvas_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  *minimum = 64;
  *natural = 360;
}

static void
candor_canvas_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  CandorCanvas *self = CANDOR_CANVAS (widget);
  int old_width = self->alloc_width, old_height = self->alloc_height;
  double content_width, content_height;

  self->alloc_width = width;
  self->alloc_height = height;
  if (self->fit)
    {
      apply_fit (self);
    }
  else if (old_width > 0)
    {
      /* Keep what was in the middle in the middle. */
      self->origin_x += (width - old_width) / 2.0;
      self->origin_y += (height - old_height) / 2.0;
      clamp_origin (self);
    }
  else
    {
      /* Zoomed before it was first shown: centred at that zoom. */
      get_content_size (self, &content_width, &content_height);
      self->origin_x = (width - content_width * self->zoom) / 2.0;
      self->origin_y = (height - content_height * self->zoom) / 2.0;
    }
}

/* GObject. */

static void
candor_canvas_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CandorCanvas *self = CANDOR_CANVAS (object);

  switch (prop_id)
    {
    case PROP_TOOL:
      g_value_set_enum (value, self->tool);
      break;
    case PROP_BRUSH_SIZE:
      g_value_set_double (value, self->brush_size);
      break;
    case PROP_HARDNESS:
      g_value_set_double (value, self->hardness);
      break;
    case PROP_COLOR:
      g_value_set_boxed (value, &self->color);
      break;
    case PROP_OPACITY:
      g_value_set_double (value, self->opacity);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_CAN_UNDO:
      g_value_set_boolean (value, candor_canvas_can_undo (self));
      break;
    case PROP_CAN_REDO:
      g_value_set_boolean (value, candor_canvas_can_redo (self));
      break;
    case PROP_PREVIEW_SHOWN:
      g_value_set_boolean (value, self->preview != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_canvas_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  CandorCanvas *self = CANDOR_CANVAS (object);

  switch (prop_id)
    {
    case PROP_TOOL:
      candor_canvas_set_tool (self, g_value_get_enum (value));
      break;
    case PROP_BRUSH_SIZE:
      candor_canvas_set_brush_size (self, g_value_get_double (value));
      break;
    case PROP_HARDNESS:
      candor_canvas_set_hardness (self, g_value_get_double (value));
      break;
    case PROP_COLOR:
      candor_canvas_set_color (self, g_value_get_boxed (value));
      break;
    case PROP_OPACITY:
      candor_canvas_set_opacity (self, g_value_get_double (value));
      break;
    case PROP_ZOOM:
      candor_canvas_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_canvas_finalize (GObject *object)
{
  CandorCanvas *self = CANDOR_CANVAS (object);

  reset_layers (self);
  g_ptr_array_unref (self->steps);
  g_clear_object (&self->preview);

  G_OBJECT_CLASS (candor_canvas_parent_class)->finalize (object);
}

static void
candor_canvas_class_init (CandorCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = candor_canvas_get_property;
  object_class->set_property = candor_canvas_set_property;
  object_class->finalize = candor_canvas_finalize;

  widget_class->snapshot = candor_canvas_snapshot;
  widget_class->measure = candor_canvas_measure;
  widget_class->size_allocate = candor_canvas_size_allocate;

  properties[PROP_TOOL] =
    g_param_spec_enum ("tool", NULL, NULL, candor_canvas_tool_get_type (),
                       CANDOR_CANVAS_TOOL_BRUSH, rw);
  properties[PROP_BRUSH_SIZE] =
    g_param_spec_double ("brush-size", NULL, NULL, 1, 512, 24, rw);
  properties[PROP_HARDNESS] =
    g_param_spec_double ("hardness", NULL, NULL, 0, 1, 0.8, rw);
  properties[PROP_COLOR] =
    g_param_spec_boxed ("color", NULL, NULL, GDK_TYPE_RGBA, rw);
  properties[PROP_OPACITY] =
    g_param_spec_double ("opacity", NULL, NULL, 0, 1, 1, rw);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, MIN_ZOOM, MAX_ZOOM, 1, rw);
  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE, ro);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE, ro);
  properties[PROP_PREVIEW_SHOWN] =
    g_param_spec_boolean ("preview-shown", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The tool as an int, and the pixels of its layer that the stroke changed. */
  signals[STROKE_FINISHED] =
    g_signal_new ("stroke-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_UINT64);

  gtk_widget_class_install_action (widget_class, "canvas.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-original", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "canvas.undo", NULL, history_action);
  gtk_widget_class_install_action (widget_class, "canvas.redo", NULL, history_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "canvas.zoom-out",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "canvas.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "canvas.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, 0, "canvas.zoom-original", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_1, 0, "canvas.zoom-original",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "canvas.undo",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "canvas.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "canvas.redo", NULL);

  gtk_widget_class_set_css_name (widget_class, "canvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
candor_canvas_init (CandorCanvas *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture, *paint_drag;

  self->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  self->tool = CANDOR_CANVAS_TOOL_BRUSH;
  self->brush_size = 24;
  self->hardness = 0.8;
  self->color = (GdkRGBA) { 0, 0, 0, 1 };
  self->opacity = 1;
  self->zoom = 1;
  self->fit = TRUE;
  invalidate_caches (self);

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_hexpand (widget, TRUE);
  gtk_widget_set_vexpand (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Canvas"), -1);
  gtk_widget_action_set_enabled (widget, "canvas.undo", FALSE);
  gtk_widget_action_set_enabled (widget, "canvas.redo", FALSE);

  /* Primary button: paint, or pan while Space is held. */
  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (paint_drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (paint_drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (paint_drag_end_cb), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
  paint_drag = gesture;

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_MIDDLE);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (pan_drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (pan_drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (pan_drag_end_cb), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (pinch_begin_cb), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (pinch_scale_changed_cb), self);
  g_signal_connect (gesture, "end", G_CALLBACK (pinch_end_cb), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
  /* Grouped with the paint drag, so that on a touchscreen the first finger's drag does
   * not keep the touch from the pinch. */
  gtk_gesture_group (gesture, paint_drag);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  g_signal_connect (controller, "key-released", G_CALLBACK (key_released_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect (controller, "leave", G_CALLBACK (focus_leave_cb), self);
  gtk_widget_add_controller (widget, controller);
}

/* Public API. */

GtkWidget *
candor_canvas_new (void)
{
  return g_object_new (CANDOR_TYPE_CANVAS, NULL);
}

/* Makes a new base of @width × @height from @rgba (NULL: white), with empty paint and
 * mask, and fits the view. The base's alpha is flattened onto white: the canvas holds
 * opaque pictures, and an opaque image keeps its bytes. */
static void
set_base (CandorCanvas *self,
          const guint8 *rgba,
          guint         width,
          guint         height)
{
  gsize n_pixels = (gsize) width * height;
  Rect all;

  reset_layers (self);
  self->width = width;
  self->height = height;
  self->base = g_malloc (n_pixels * 4);
  if (rgba == NULL)
    {
      memset (self->base, 0xff, n_pixels * 4);
    }
  else
    {
      for (gsize i = 0; i < n_pixels; i++)
        {
          const guint8 *in = rgba + i * 4;
          guint8 *out = self->base + i * 4;
          guint alpha = in[3];

          for (guint c = 0; c < 3; c++)
            out[c] = div255 (in[c] * alpha + 255 * (255 - alpha));
          out[3] = 255;
        }
    }
  self->coverage = g_malloc0 (n_pixels);
  self->paint = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  self->mask = cairo_image_surface_create (CAIRO_FORMAT_A8, width, height);
  self->flat = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  clear_surface (self->paint);
  clear_surface (self->mask);
  all = whole_image (self);
  flatten (self, &all);

  update_history_state (self);
  update_cursor (self);
  candor_canvas_zoom_to_fit (self);
}

void
candor_canvas_set_image (CandorCanvas *self,
                         GBytes       *rgba,
                         guint         width,
                         guint         height)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));
  g_return_if_fail (rgba != NULL);
  g_return_if_fail (width > 0 && width <= MAX_SIDE && height > 0 && height <= MAX_SIDE);
  g_return_if_fail (g_bytes_get_size (rgba) == (gsize) width * height * 4);

  set_base (self, g_bytes_get_data (rgba, NULL), width, height);
}

void
candor_canvas_set_blank (CandorCanvas *self,
                         guint         width,
                         guint         height)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));
  g_return_if_fail (width > 0 && width <= MAX_SIDE && height > 0 && height <= MAX_SIDE);

  set_base (self, NULL, width, height);
}

guint
candor_canvas_get_image_width (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), 0);

  return self->width;
}

guint
candor_canvas_get_image_height (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), 0);

  return self->height;
}

void
candor_canvas_set_preview (CandorCanvas *self,
                           GBytes       *rgba,
                           guint         preview_width,
                           guint         preview_height,
                           guint         width,
                           guint         height)
{
  gboolean was_shown;

  g_return_if_fail (CANDOR_IS_CANVAS (self));
  g_return_if_fail (rgba == NULL || (preview_width > 0 && preview_width <= MAX_SIDE
                                     && preview_height > 0 && preview_height <= MAX_SIDE));
  g_return_if_fail (rgba == NULL
                    || g_bytes_get_size (rgba) == (gsize) preview_width * preview_height * 4);

  was_shown = self->preview != NULL;
  g_clear_object (&self->preview);
  if (rgba != NULL)
    {
      self->preview = gdk_memory_texture_new (preview_width, preview_height,
                                              GDK_MEMORY_R8G8B8A8, rgba,
                                              (gsize) preview_width * 4);
      self->preview_area_width = MIN (width, MAX_SIDE);
      self->preview_area_height = MIN (height, MAX_SIDE);
    }

  /* On an empty canvas the preview sets the area, which the fit follows. */
  if (is_empty (self) && self->fit)
    apply_fit (self);
  update_cursor (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (was_shown != (self->preview != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PREVIEW_SHOWN]);
}

/* Returns: (transfer full) (nullable): the base with the paint on it, as RGBA8 width ×
 * height × 4, opaque; NULL when the canvas is empty. */
GBytes *
candor_canvas_dup_pixels (CandorCanvas *self)
{
  const guint8 *data;
  guint8 *pixels;
  int stride;

  g_return_val_if_fail (CANDOR_IS_CANVAS (self), NULL);

  if (is_empty (self))
    return NULL;
  cairo_surface_flush (self->flat);
  data = cairo_image_surface_get_data (self->flat);
  stride = cairo_image_surface_get_stride (self->flat);
  pixels = g_malloc ((gsize) self->width * self->height * 4);
  for (guint y = 0; y < self->height; y++)
    {
      const guint32 *row = (const guint32 *) (gconstpointer) (data + (gsize) y * stride);
      guint8 *out = pixels + (gsize) y * self->width * 4;

      for (guint x = 0; x < self->width; x++)
        {
          out[x * 4 + 0] = (row[x] >> 16) & 0xff;
          out[x * 4 + 1] = (row[x] >> 8) & 0xff;
          out[x * 4 + 2] = row[x] & 0xff;
          out[x * 4 + 3] = 255;
        }
    }
  return g_bytes_new_take (pixels, (gsize) self->width * self->height * 4);
}

/* Whether any mask value is at least @threshold. */
static gboolean
mask_reaches (CandorCanvas *self,
              guint8        threshold)
{
  const guint8 *data;
  int stride;

  cairo_surface_flush (self->mask);
  data = cairo_image_surface_get_data (self->mask);
  stride = cairo_image_surface_get_stride (self->mask);
  for (guint y = 0; y < self->height; y++)
    for (guint x = 0; x < self->width; x++)
      if (data[(gsize) y * stride + x] >= threshold)
        return TRUE;
  return FALSE;
}

/* Returns: (transfer full) (nullable): the mask, thresholded at half coverage. */
GBytes *
candor_canvas_dup_mask (CandorCanvas *self)
{
  const guint8 *data;
  guint8 *pixels;
  int stride;

  g_return_val_if_fail (CANDOR_IS_CANVAS (self), NULL);

  if (!candor_canvas_has_mask (self))
    return NULL;
  data = cairo_image_surface_get_data (self->mask);
  stride = cairo_image_surface_get_stride (self->mask);
  pixels = g_malloc ((gsize) self->width * self->height * 4);
  for (guint y = 0; y < self->height; y++)
    for (guint x = 0; x < self->width; x++)
      memset (pixels + ((gsize) y * self->width + x) * 4,
              data[(gsize) y * stride + x] >= 128 ? 0xff : 0, 4);
  return g_bytes_new_take (pixels, (gsize) self->width * self->height * 4);
}

gboolean
candor_canvas_has_paint (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), FALSE);

  if (is_empty (self))
    return FALSE;
  if (self->has_paint < 0)
    {
      const guint8 *data;
      int stride;

      cairo_surface_flush (self->paint);
      data = cairo_image_surface_get_data (self->paint);
      stride = cairo_image_surface_get_stride (self->paint);
      self->has_paint = 0;
      for (guint y = 0; y < self->height && !self->has_paint; y++)
        {
          const guint32 *row = (const guint32 *) (gconstpointer) (data + (gsize) y * stride);
          for (guint x = 0; x < self->width; x++)
            if (row[x] >> 24 != 0)
              {
                self->has_paint = 1;
                break;
              }
        }
    }
  return self->has_paint;
}

gboolean
candor_canvas_has_mask (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), FALSE);

  if (is_empty (self))
    return FALSE;
  if (self->has_mask < 0)
    self->has_mask = mask_reaches (self, 128);
  return self->has_mask;
}

void
candor_canvas_clear_mask (CandorCanvas *self)
{
  Step *step;

  g_return_if_fail (CANDOR_IS_CANVAS (self));

  if (self->stroke != NULL)
    candor_canvas_end_stroke (self);
  /* Nothing to clear is no step to undo. */
  if (is_empty (self) || !mask_reaches (self, 1))
    return;

  step = g_new0 (Step, 1);
  step->kind = STEP_CLEAR_MASK;
  push_step (self, step);
  apply_step (self, step);
  step_done (self);
}

void
candor_canvas_set_tool (CandorCanvas     *self,
                        CandorCanvasTool  tool)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));
  g_return_if_fail (tool <= CANDOR_CANVAS_TOOL_MASK);

  if (self->tool == tool)
    return;
  self->tool = tool;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOL]);
}

CandorCanvasTool
candor_canvas_get_tool (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), CANDOR_CANVAS_TOOL_BRUSH);

  return self->tool;
}

void
candor_canvas_set_brush_size (CandorCanvas *self,
                              double        size)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));

  size = CLAMP (size, 1, 512);
  if (self->brush_size == size)
    return;
  self->brush_size = size;
  if (self->pointer_inside)
    gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BRUSH_SIZE]);
}

void
candor_canvas_set_hardness (CandorCanvas *self,
                            double        hardness)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));

  hardness = CLAMP (hardness, 0, 1);
  if (self->hardness == hardness)
    return;
  self->hardness = hardness;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HARDNESS]);
}

void
candor_canvas_set_color (CandorCanvas  *self,
                         const GdkRGBA *color)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));
  g_return_if_fail (color != NULL);

  if (gdk_rgba_equal (&self->color, color))
    return;
  self->color = *color;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLOR]);
}

void
candor_canvas_set_opacity (CandorCanvas *self,
                           double        opacity)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));

  opacity = CLAMP (opacity, 0, 1);
  if (self->opacity == opacity)
    return;
  self->opacity = opacity;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPACITY]);
}

static guint8
to_byte (double value)
{
  return (guint8) (CLAMP (value, 0.0, 1.0) * 255.0 + 0.5);
}

void
candor_canvas_begin_stroke (CandorCanvas *self,
                            double        x,
                            double        y)
{
  Step *step;
  cairo_surface_t *layer;
  Point point = { x, y };

  g_return_if_fail (CANDOR_IS_CANVAS (self));

  if (self->stroke != NULL)
    candor_canvas_end_stroke (self);
  if (is_empty (self))
    return;

  step = g_new0 (Step, 1);
  step->kind = STEP_STROKE;
  step->tool = self->tool;
  step->size = self->brush_size;
  step->points = g_array_new (FALSE, FALSE, sizeof (Point));
  g_array_append_val (step->points, point);
  switch (self->tool)
    {
    case CANDOR_CANVAS_TOOL_BRUSH:
      step->hardness = self->hardness;
      step->rgb[0] = to_byte (self->color.red);
      step->rgb[1] = to_byte (self->color.green);
      step->rgb[2] = to_byte (self->color.blue);
      step->strength = to_byte (self->opacity * self->color.alpha);
      break;
    case CANDOR_CANVAS_TOOL_ERASER:
      step->hardness = self->hardness;
      step->strength = to_byte (self->opacity);
      break;
    case CANDOR_CANVAS_TOOL_MASK:
    default:
      /* The mask is a yes or no for inpainting: hard and whole, whatever the brush. */
      step->hardness = 1;
      step->strength = 255;
      break;
    }

  layer = stroke_layer (self, step->tool);
  cairo_surface_flush (layer);
  self->stroke = step;
  self->stroke_before = g_memdup2 (cairo_image_surface_get_data (layer),
                                   (gsize) cairo_image_surface_get_stride (layer) * self->height);
  self->stroke_pending = FALSE;
  draw_stroke_segment (self, point, point);
}

void
candor_canvas_extend_stroke (CandorCanvas *self,
                             double        x,
                             double        y)
{
  GArray *points;
  Point last, point = { x, y };
  double spacing;

  g_return_if_fail (CANDOR_IS_CANVAS (self));

  if (self->stroke == NULL)
    return;

  /* Points closer than an eighth of the brush add nothing to see but cost a segment
   * each; the latest is kept for the end of the stroke. */
  points = self->stroke->points;
  last = g_array_index (points, Point, points->len - 1);
  spacing = MAX (1.0, self->stroke->size / 8.0);
  if (hypot (x - last.x, y - last.y) < spacing)
    {
      self->stroke_pending = TRUE;
      self->pending = point;
      return;
    }
  self->stroke_pending = FALSE;
  add_stroke_point (self, point);
}

void
candor_canvas_end_stroke (CandorCanvas *self)
{
  Step *step;
  guint64 changed;

  g_return_if_fail (CANDOR_IS_CANVAS (self));

  if (self->stroke == NULL)
    return;

  if (self->stroke_pending)
    {
      Point last = g_array_index (self->stroke->points, Point, self->stroke->points->len - 1);
      if (last.x != self->pending.x || last.y != self->pending.y)
        add_stroke_point (self, self->pending);
      self->stroke_pending = FALSE;
    }

  step = self->stroke;
  changed = count_changed (self);
  self->stroke = NULL;
  clear_coverage (self, &step->bounds);
  g_clear_pointer (&self->stroke_before, g_free);

  push_step (self, step);
  step_done (self);
  g_signal_emit (self, signals[STROKE_FINISHED], 0, (int) step->tool, changed);
}

guint
candor_canvas_get_stroke_count (CandorCanvas     *self,
                                CandorCanvasTool  tool)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), 0);

  return count_steps (self, STEP_STROKE, tool);
}

gboolean
candor_canvas_can_undo (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), FALSE);

  return self->n_applied > 0;
}

gboolean
candor_canvas_can_redo (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), FALSE);

  return self->n_applied < self->steps->len;
}

void
candor_canvas_undo (CandorCanvas *self)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));

  if (self->stroke != NULL)
    candor_canvas_end_stroke (self);
  if (!candor_canvas_can_undo (self))
    return;
  self->n_applied--;
  replay (self);
  update_history_state (self);
}

void
candor_canvas_redo (CandorCanvas *self)
{
  Step *step;
  Rect changed;

  g_return_if_fail (CANDOR_IS_CANVAS (self));

  if (self->stroke != NULL)
    candor_canvas_end_stroke (self);
  if (!candor_canvas_can_redo (self))
    return;
  step = g_ptr_array_index (self->steps, self->n_applied);
  self->n_applied++;
  changed = apply_step (self, step);
  if (step->kind == STEP_STROKE && step->tool != CANDOR_CANVAS_TOOL_MASK)
    flatten (self, &changed);
  step_done (self);
}

double
candor_canvas_get_zoom (CandorCanvas *self)
{
  g_return_val_if_fail (CANDOR_IS_CANVAS (self), 1);

  return self->zoom;
}

/* Zooms about the middle of the widget. */
void
candor_canvas_set_zoom (CandorCanvas *self,
                        double        zoom)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));

  zoom_about_centre (self, zoom);
}

void
candor_canvas_zoom_to_fit (CandorCanvas *self)
{
  g_return_if_fail (CANDOR_IS_CANVAS (self));

  self->fit = TRUE;
  apply_fit (self);
}
