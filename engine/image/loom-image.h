/* loom-image.h — a generated image: RGBA8 pixels and the record of how it was made.
 *
 * The record is what provenance needs: the model's identity (name, kind, SHA-256), the
 * prompt, negative prompt, seed, steps, sampler, guidance scale, size, img2img strength
 * and the SHA-256 of the init image and mask when there were any, and timings.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LOOM_TYPE_IMAGE (loom_image_get_type ())

G_DECLARE_FINAL_TYPE (LoomImage, loom_image, LOOM, IMAGE, GObject)

typedef struct
{
  char    *model_name;
  char    *model_kind;
  char    *model_sha256;
  char    *prompt;
  char    *negative_prompt;   /* "" when none */
  guint64  seed;
  guint    steps;
  char    *sampler;           /* "euler_a", … */
  float    cfg_scale;
  guint    width;
  guint    height;
  char    *mode;              /* "txt2img", "img2img" or "inpaint" */
  float    strength;          /* img2img and inpaint; 1 for txt2img */
  char    *init_sha256;       /* of the init image's RGBA8 pixels, NULL for txt2img */
  char    *mask_sha256;       /* of the mask's RGBA8 pixels, NULL unless inpainting */
  double   seconds;           /* wall time of the generation */
} LoomImageRecord;

LoomImage             *loom_image_new               (GBytes                *pixels,
                                                     guint                  width,
                                                     guint                  height,
                                                     const LoomImageRecord *record);
GBytes                *loom_image_get_pixels        (LoomImage             *self);  /* RGBA8 */
guint                  loom_image_get_width         (LoomImage             *self);
guint                  loom_image_get_height        (LoomImage             *self);
const LoomImageRecord *loom_image_get_record        (LoomImage             *self);
/* AUTOMATIC1111's "parameters" text: prompt, "Negative prompt: …", then
 * "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: …,
 * Model: …, Denoising strength: …". */
char                  *loom_image_record_to_parameters (const LoomImageRecord *record);
JsonNode              *loom_image_record_to_json       (const LoomImageRecord *record);
gboolean               loom_image_record_from_json     (JsonNode              *node,
                                                        LoomImageRecord       *record,
                                                        GError               **error);
void                   loom_image_record_clear         (LoomImageRecord       *record);
/* PNG with the "parameters" chunk. */
gboolean               loom_image_save_png             (LoomImage             *self,
                                                        const char            *path,
                                                        GError               **error);

G_END_DECLS
