/* candor-picture-paintable.h — a picture as the story shows it: the illustration's
 * texture, drawn at most CANDOR_PICTURE_MAX_WIDTH logical pixels wide (aspect kept), so a
 * 768² picture sits in the text column instead of spilling past it. The texture keeps its
 * full size for saving and export. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_PICTURE_MAX_WIDTH 480

#define CANDOR_TYPE_PICTURE_PAINTABLE (candor_picture_paintable_get_type ())

G_DECLARE_FINAL_TYPE (CandorPicturePaintable, candor_picture_paintable, CANDOR, PICTURE_PAINTABLE,
                      GObject)

GdkPaintable *candor_picture_paintable_new         (GdkTexture             *texture);
GdkTexture   *candor_picture_paintable_get_texture (CandorPicturePaintable *self);

G_END_DECLS
