/* candor-illustration.h — one picture in a document's history: a generated candidate
 * (or a picture the author painted on), with its generation record and what became of
 * it. The document owns the list (candor_document_get_illustrations) and records every
 * change in its event log; an illustration's own setters are for the document.
 */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_ILLUSTRATION (candor_illustration_get_type ())

G_DECLARE_FINAL_TYPE (CandorIllustration, candor_illustration, CANDOR, ILLUSTRATION, GObject)

typedef enum
{
  CANDOR_ILLUSTRATION_CANDIDATE,   /* generated, not yet chosen */
  CANDOR_ILLUSTRATION_SELECTED,    /* chosen by the author (image.select) */
  CANDOR_ILLUSTRATION_DISCARDED,   /* set aside (image.discard); kept in the file */
} CandorIllustrationState;

/* The IPTC digital source types (PROVENANCE.md §3). */
#define CANDOR_SOURCE_TYPE_AI \
  "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#define CANDOR_SOURCE_TYPE_COMPOSITE \
  "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"

/* @id: the id of the event that made it (image.generate, or image.stroke for a picture
 * painted on); @parent_id: the illustration it was refined, inpainted or painted from
 * (nullable); @human_pixels: pixels the author made are part of it (painted on, or
 * generated from a sketch or a painted image). */
CandorIllustration *candor_illustration_new          (const char          *id,
                                                      LoomImage           *image,
                                                      const char          *parent_id,
                                                      gboolean             human_pixels);
const char         *candor_illustration_get_id       (CandorIllustration  *self);
LoomImage          *candor_illustration_get_image    (CandorIllustration  *self);
const LoomImageRecord *candor_illustration_get_record (CandorIllustration *self);
const char         *candor_illustration_get_parent_id (CandorIllustration *self);  /* nullable */
gboolean            candor_illustration_get_human_pixels (CandorIllustration *self);
/* CANDOR_SOURCE_TYPE_AI, or _COMPOSITE when human pixels are part of it. */
const char         *candor_illustration_get_source_type (CandorIllustration *self);
/* The pixels as a texture (made once), full size. */
GdkTexture         *candor_illustration_get_texture  (CandorIllustration  *self);
/* The picture as the story shows it (made once; see CandorPicturePaintable): what a
 * document places in its text. It knows its illustration, see below. */
GdkPaintable       *candor_illustration_get_paintable (CandorIllustration *self);
/* The illustration a paintable from get_paintable() belongs to (while it lives), else NULL. */
CandorIllustration *candor_illustration_from_paintable (GdkPaintable      *paintable);

/* Property "state" (notified). */
CandorIllustrationState candor_illustration_get_state (CandorIllustration *self);
void                candor_illustration_set_state    (CandorIllustration     *self,
                                                      CandorIllustrationState state);
/* Brush and mask strokes the author made on the image this one came from (0 for a
 * plain generation). */
guint               candor_illustration_get_strokes  (CandorIllustration  *self);
void                candor_illustration_set_strokes  (CandorIllustration  *self,
                                                      guint                strokes);
/* One line for the gallery: "Seed 42 · 20 steps · Euler a · CFG 7". */
char               *candor_illustration_dup_caption  (CandorIllustration  *self);

/* The document file's form: {id, parent, human_pixels, state, strokes, record, png}
 * with the pixels as a base64 PNG (with its metadata). from_json treats the data as
 * untrusted: every member is checked, the PNG decoded and its size matched to the record. */
JsonNode           *candor_illustration_to_json      (CandorIllustration  *self,
                                                      GError             **error);
/* Encodes the file's PNG on a worker thread, so the next (auto)save need not: about
 * 0.1 s for 512² on the reference machine, which the UI thread would otherwise spend. */
void                candor_illustration_prepare_async (CandorIllustration *self);
CandorIllustration *candor_illustration_new_from_json (JsonNode           *node,
                                                      GError             **error);

G_END_DECLS
