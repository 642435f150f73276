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

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LoomImageRecord, loom_image_record_clear)
/* What a PNG says about how its picture was made (PROVENANCE.md §3, items 1–3): an XMP
 * packet (iTXt "XML:com.adobe.xmp", right after IHDR) with xmpMM:DocumentID/InstanceID,
 * xmp:CreatorTool, xmp:CreateDate, Iptc4xmpExt:DigitalSourceType, the IPTC AI fields
 * (AISystemUsed, AISystemVersionUsed, AIPromptInformation when prompts are included) and
 * plus:DataMining; then the "parameters" chunk. */
typedef struct
{
  const char *document_id;      /* e.g. "xmp.did:…"; NULL: a new random one */
  const char *instance_id;      /* e.g. "xmp.iid:…"; NULL: a new random one */
  const char *creator_tool;     /* "Candor 0.1.0"; NULL: "Loom" */
  const char *source_type;      /* IPTC digital source type URI; NULL: trainedAlgorithmicMedia */
  gboolean    training_allowed; /* plus:DataMining: allowed, or DMI-PROHIBITED-AIMLTRAINING */
  gboolean    include_prompts;  /* prompts in the XMP and the "parameters" chunk */
  GDateTime  *create_date;      /* NULL: now */
} LoomImageMetadata;

/* Defaults: random IDs, "Loom", pure model output, training not allowed, prompts included. */
void                   loom_image_metadata_init        (LoomImageMetadata       *metadata);
/* The XMP packet (UTF-8, with the xpacket wrapper); values are XML-escaped. */
char                  *loom_image_metadata_to_xmp      (const LoomImageMetadata *metadata,
                                                        const LoomImageRecord   *record);
/* The PNG in memory, chunks in the order IHDR, iTXt XMP (when @metadata is not NULL),
 * tEXt/iTXt "parameters", IDAT…, IEND. */
GBytes                *loom_image_encode_png           (LoomImage               *self,
                                                        const LoomImageMetadata *metadata,
                                                        GError                 **error);
gboolean               loom_image_write_png            (LoomImage               *self,
                                                        const LoomImageMetadata *metadata,
                                                        const char              *path,
                                                        GError                 **error);
/* Reads a PNG (untrusted input) as RGBA8; @text: (out) (optional) key → value of its
 * text chunks. */
GBytes                *loom_image_decode_png           (GBytes                  *png,
                                                        guint                   *width,
                                                        guint                   *height,
                                                        GHashTable             **text,
                                                        GError                 **error);
/* PNG with the "parameters" chunk. */
gboolean               loom_image_save_png             (LoomImage             *self,
                                                        const char            *path,
                                                        GError               **error);

G_END_DECLS
