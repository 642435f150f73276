/* loom-provenance-summary.h — figures about a story's making, computed from its
 * authorship runs and event log (PROVENANCE.md §2, "Summary"). They describe the
 * editing history inside Candor, not legal authorship.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "loom-types.h"
#include "provenance/loom-origin.h"

G_BEGIN_DECLS

typedef struct
{
  guint64 total_chars;              /* code points */
  guint64 total_words;
  guint64 chars[LOOM_N_ORIGINS];
  guint64 words[LOOM_N_ORIGINS];    /* a word counts for the origin of most of its chars */
  double  char_share[LOOM_N_ORIGINS];  /* 0..1; all 0 for an empty text */
  double  word_share[LOOM_N_ORIGINS];

  guint   suggestions_shown;        /* `suggest` events */
  guint   accepted;                 /* suggestions accepted at least in part */
  guint   accepted_then_edited;     /* of them, with `ai_edited` characters in the text */
  guint   rejected;                 /* `reject` events */
  guint   cycled;                   /* `cycle` events */
  guint   regenerated;              /* `regenerate` events */
  guint64 accepted_chars;           /* code points inserted by `accept` events */
  guint64 retained_chars;           /* model characters (accepted or edited) still there */
  double  retention;                /* retained / accepted; 0 when nothing was accepted */

  guint   pictures;                 /* pictures placed in the text (U+FFFC, not counted
                                     * as characters or words) */
  guint   image_rounds;             /* `image.generate` events: candidates generated */
  guint   images_selected;          /* `image.select` */
  guint   images_discarded;         /* `image.discard` */
  guint   images_placed;            /* `image.place` */
  guint64 image_strokes;            /* strokes recorded by `image.stroke` events */
} LoomProvenanceSummary;

/* U+FFFC OBJECT REPLACEMENT CHARACTER: where a picture stands in a story's text. */
#define LOOM_OBJECT_CHAR 0xFFFC

LoomProvenanceSummary *loom_provenance_summary_compute (LoomAuthorship              *authorship,
                                                        LoomEventLog                *log,
                                                        const char                  *text);
void                   loom_provenance_summary_free    (LoomProvenanceSummary       *summary);
JsonNode              *loom_provenance_summary_to_json (const LoomProvenanceSummary *summary);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomProvenanceSummary, loom_provenance_summary_free)

G_END_DECLS
