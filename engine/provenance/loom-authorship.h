/* loom-authorship.h — authorship runs: the origin of every character of a text.
 *
 * Runs count Unicode code points and cover the text exactly, without gaps or overlaps.
 * Each run has an origin and, for text that came from one place, a source: the id of the
 * suggestion (`ai_accepted`, `ai_edited`) or of the event (`pasted`, `imported`) that
 * brought it in. Adjacent runs with the same origin and source are always merged, so two
 * authorships describing the same characters are equal run for run.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "loom-types.h"
#include "provenance/loom-origin.h"

G_BEGIN_DECLS

#define LOOM_TYPE_AUTHORSHIP (loom_authorship_get_type ())

G_DECLARE_FINAL_TYPE (LoomAuthorship, loom_authorship, LOOM, AUTHORSHIP, GObject)

LoomAuthorship *loom_authorship_new               (void);
LoomAuthorship *loom_authorship_copy              (LoomAuthorship  *self);
gboolean        loom_authorship_equal             (LoomAuthorship  *a,
                                                   LoomAuthorship  *b);

guint           loom_authorship_get_length        (LoomAuthorship  *self);
guint           loom_authorship_get_n_runs        (LoomAuthorship  *self);
void            loom_authorship_get_run           (LoomAuthorship  *self,
                                                   guint            i,
                                                   guint           *start,
                                                   guint           *length,
                                                   LoomOrigin      *origin);
const char     *loom_authorship_get_run_source    (LoomAuthorship  *self,
                                                   guint            i);
/* The run holding the character at @offset (< length). */
guint           loom_authorship_find_run          (LoomAuthorship  *self,
                                                   guint            offset);
LoomOrigin      loom_authorship_get_origin_at     (LoomAuthorship  *self,
                                                   guint            offset,
                                                   const char     **source);

/* Editing; offsets and lengths in code points. @source is nullable and interned. */
void            loom_authorship_insert            (LoomAuthorship  *self,
                                                   guint            offset,
                                                   guint            length,
                                                   LoomOrigin       origin,
                                                   const char      *source);
void            loom_authorship_delete            (LoomAuthorship  *self,
                                                   guint            offset,
                                                   guint            length);
void            loom_authorship_set_origin        (LoomAuthorship  *self,
                                                   guint            offset,
                                                   guint            length,
                                                   LoomOrigin       origin,
                                                   const char      *source);
/* Every `ai_accepted` character from @source becomes `ai_edited`. */
void            loom_authorship_mark_edited       (LoomAuthorship  *self,
                                                   const char      *source);

/* The runs of a range, as an authorship of its own (for undo), and putting them back. */
LoomAuthorship *loom_authorship_copy_range        (LoomAuthorship  *self,
                                                   guint            offset,
                                                   guint            length);
void            loom_authorship_insert_authorship (LoomAuthorship  *self,
                                                   guint            offset,
                                                   LoomAuthorship  *piece);

/* Checks that the runs cover exactly @length code points. */
gboolean        loom_authorship_validate          (LoomAuthorship  *self,
                                                   guint            length,
                                                   GError         **error);

/* An array of {"start", "length", "origin"[, "source"]} objects, in text order. */
JsonNode       *loom_authorship_to_json           (LoomAuthorship  *self);
LoomAuthorship *loom_authorship_new_from_json     (JsonNode        *node,
                                                   GError         **error);

G_END_DECLS
