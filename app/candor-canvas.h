/* candor-canvas.h — the Illustrations view's canvas: shows an image (or a per-step
 * preview while one generates), zooms and pans, and lets the author paint on it with a
 * brush, an eraser and a mask tool. Every stroke is undoable.
 *
 * Layers, bottom to top: the base image (a generated illustration, or white paper for a
 * sketch), the paint layer (brush strokes; the eraser removes paint back to the base),
 * and the mask (shown as a translucent tint, never part of the pixels). Strokes are kept
 * as vectors and the layers re-rendered from them, so undo/redo are exact.
 *
 * Coordinates given to the stroke functions are image pixels (0..width, 0..height).
 */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_CANVAS (candor_canvas_get_type ())

G_DECLARE_FINAL_TYPE (CandorCanvas, candor_canvas, CANDOR, CANVAS, GtkWidget)

typedef enum
{
  CANDOR_CANVAS_TOOL_BRUSH,
  CANDOR_CANVAS_TOOL_ERASER,
  CANDOR_CANVAS_TOOL_MASK,
} CandorCanvasTool;

GtkWidget *candor_canvas_new              (void);

/* A new base image (RGBA8, width × height × 4 bytes): clears paint, mask and the stroke
 * history, and fits the view. set_blank starts a white sheet of that size to sketch on. */
void       candor_canvas_set_image        (CandorCanvas *self,
                                           GBytes       *rgba,
                                           guint         width,
                                           guint         height);
void       candor_canvas_set_blank        (CandorCanvas *self,
                                           guint         width,
                                           guint         height);
guint      candor_canvas_get_image_width  (CandorCanvas *self);   /* 0 when empty */
guint      candor_canvas_get_image_height (CandorCanvas *self);

/* A generation's per-step preview (RGBA8, any size: drawn scaled over the whole image
 * area, or alone when the canvas is empty at @width × @height of the request); NULL
 * removes it. Property "preview-shown". */
void       candor_canvas_set_preview      (CandorCanvas *self,
                                           GBytes       *rgba,
                                           guint         preview_width,
                                           guint         preview_height,
                                           guint         width,
                                           guint         height);

/* The base with the paint flattened onto it (RGBA8, opaque), without the mask. */
GBytes    *candor_canvas_dup_pixels       (CandorCanvas *self);
/* The mask as RGBA8: (255,255,255,255) where masked, (0,0,0,0) elsewhere; NULL when
 * nothing is masked. */
GBytes    *candor_canvas_dup_mask         (CandorCanvas *self);
/* Whether paint strokes (not erased away entirely) cover any pixel: human pixels. */
gboolean   candor_canvas_has_paint        (CandorCanvas *self);
gboolean   candor_canvas_has_mask         (CandorCanvas *self);
void       candor_canvas_clear_mask       (CandorCanvas *self);   /* undoable */

/* The tool and its settings; properties "tool", "brush-size" (image pixels, 1..512),
 * "hardness" (0..1: soft edge .. hard edge), "color" (GdkRGBA, for the brush) and
 * "opacity" (0..1). */
void       candor_canvas_set_tool         (CandorCanvas     *self,
                                           CandorCanvasTool  tool);
CandorCanvasTool candor_canvas_get_tool   (CandorCanvas     *self);
void       candor_canvas_set_brush_size   (CandorCanvas     *self,
                                           double            size);
void       candor_canvas_set_hardness     (CandorCanvas     *self,
                                           double            hardness);
void       candor_canvas_set_color        (CandorCanvas     *self,
                                           const GdkRGBA    *color);
void       candor_canvas_set_opacity      (CandorCanvas     *self,
                                           double            opacity);

/* Strokes, as the pointer gestures make them (also for tests): begin at a point,
 * extend through points, end. A stroke ended emits "stroke-finished" (tool as int,
 * pixels it covered as guint64) and becomes one undo step. */
void       candor_canvas_begin_stroke     (CandorCanvas *self,
                                           double        x,
                                           double        y);
void       candor_canvas_extend_stroke    (CandorCanvas *self,
                                           double        x,
                                           double        y);
void       candor_canvas_end_stroke       (CandorCanvas *self);
/* Strokes made with @tool since the last set_image/set_blank (undone ones excluded). */
guint      candor_canvas_get_stroke_count (CandorCanvas     *self,
                                           CandorCanvasTool  tool);

/* Properties "can-undo" and "can-redo". */
gboolean   candor_canvas_can_undo         (CandorCanvas *self);
gboolean   candor_canvas_can_redo         (CandorCanvas *self);
void       candor_canvas_undo             (CandorCanvas *self);
void       candor_canvas_redo             (CandorCanvas *self);

/* Zoom: property "zoom" (1 = one image pixel per logical pixel, 0.05..32); fit shows the
 * whole image centred (and keeps fitting as the widget resizes until the user zooms or
 * pans). Ctrl+scroll and pinch zoom about the pointer; middle-drag, or drag with Space
 * held, pans; scroll pans. */
double     candor_canvas_get_zoom         (CandorCanvas *self);
void       candor_canvas_set_zoom         (CandorCanvas *self,
                                           double        zoom);
void       candor_canvas_zoom_to_fit      (CandorCanvas *self);

G_END_DECLS
