/* candor-picture-paintable.c — CandorPicturePaintable. */
#include "config.h"

#include "candor-picture-paintable.h"

struct _CandorPicturePaintable
{
  GObject     parent_instance;

  GdkTexture *texture;
};

static void candor_picture_paintable_iface_init (GdkPaintableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CandorPicturePaintable, candor_picture_paintable, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE,
                                                      candor_picture_paintable_iface_init))

static void
candor_picture_paintable_snapshot (GdkPaintable *paintable,
                                   GdkSnapshot  *snapshot,
                                   double        width,
                                   double        height)
{
  CandorPicturePaintable *self = CANDOR_PICTURE_PAINTABLE (paintable);

  gdk_paintable_snapshot (GDK_PAINTABLE (self->texture), snapshot, width, height);
}

static int
candor_picture_paintable_get_intrinsic_width (GdkPaintable *paintable)
{
  CandorPicturePaintable *self = CANDOR_PICTURE_PAINTABLE (paintable);

  return MIN (gdk_texture_get_width (self->texture), CANDOR_PICTURE_MAX_WIDTH);
}

static int
candor_picture_paintable_get_intrinsic_height (GdkPaintable *paintable)
{
  CandorPicturePaintable *self = CANDOR_PICTURE_PAINTABLE (paintable);
  int width = gdk_texture_get_width (self->texture);
  int height = gdk_texture_get_height (self->texture);

  if (width <= CANDOR_PICTURE_MAX_WIDTH)
    return height;

  return MAX (1, (int) ((gint64) height * CANDOR_PICTURE_MAX_WIDTH / width));
}

static double
candor_picture_paintable_get_intrinsic_aspect_ratio (GdkPaintable *paintable)
{
  return gdk_paintable_get_intrinsic_aspect_ratio (GDK_PAINTABLE (CANDOR_PICTURE_PAINTABLE (paintable)->texture));
}

static GdkPaintableFlags
candor_picture_paintable_get_flags (GdkPaintable *paintable)
{
  return GDK_PAINTABLE_STATIC_SIZE | GDK_PAINTABLE_STATIC_CONTENTS;
}

static void
candor_picture_paintable_iface_init (GdkPaintableInterface *iface)
{
  iface->snapshot = candor_picture_paintable_snapshot;
  iface->get_intrinsic_width = candor_picture_paintable_get_intrinsic_width;
  iface->get_intrinsic_height = candor_picture_paintable_get_intrinsic_height;
  iface->get_intrinsic_aspect_ratio = candor_picture_paintable_get_intrinsic_aspect_ratio;
  iface->get_flags = candor_picture_paintable_get_flags;
}

static void
candor_picture_paintable_finalize (GObject *object)
{
  CandorPicturePaintable *self = CANDOR_PICTURE_PAINTABLE (object);

  g_clear_object (&self->texture);

  G_OBJECT_CLASS (candor_picture_paintable_parent_class)->finalize (object);
}

static void
candor_picture_paintable_class_init (CandorPicturePaintableClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = candor_picture_paintable_finalize;
}

static void
candor_picture_paintable_init (CandorPicturePaintable *self)
{
}

GdkPaintable *
candor_picture_paintable_new (GdkTexture *texture)
{
  CandorPicturePaintable *self;

  g_return_val_if_fail (GDK_IS_TEXTURE (texture), NULL);

  self = g_object_new (CANDOR_TYPE_PICTURE_PAINTABLE, NULL);
  self->texture = g_object_ref (texture);

  return GDK_PAINTABLE (self);
}

GdkTexture *
candor_picture_paintable_get_texture (CandorPicturePaintable *self)
{
  g_return_val_if_fail (CANDOR_IS_PICTURE_PAINTABLE (self), NULL);

  return self->texture;
}
