/* candor-document.h — one story: its text buffer, the authorship runs kept in sync with
 * it, the hash-chained event log, story notes and the training preference. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_DOCUMENT (candor_document_get_type ())

G_DECLARE_FINAL_TYPE (CandorDocument, candor_document, CANDOR, DOCUMENT, GObject)

typedef enum
{
  CANDOR_ACCEPT_ALL,
  CANDOR_ACCEPT_WORD,
  CANDOR_ACCEPT_SENTENCE,
  CANDOR_ACCEPT_CONTINUE,   /* a streamed Continue passage */
} CandorAcceptHow;

CandorDocument *candor_document_new               (void);
GtkTextBuffer  *candor_document_get_buffer        (CandorDocument *self);  /* the view shows this */
LoomAuthorship *candor_document_get_authorship    (CandorDocument *self);  /* engine/provenance */
LoomEventLog   *candor_document_get_log           (CandorDocument *self);  /* engine/provenance */
char           *candor_document_dup_text          (CandorDocument *self);  /* whole text, UTF-8 */

/* Story notes that feed the model's context; properties "memory" and "authors-note". */
const char     *candor_document_get_memory        (CandorDocument *self);
void            candor_document_set_memory        (CandorDocument *self,
                                                   const char     *text);
const char     *candor_document_get_authors_note  (CandorDocument *self);
void            candor_document_set_authors_note  (CandorDocument *self,
                                                   const char     *text);

/* Suggestions. A suggestion shown to the author is logged as a `suggest` event; the
 * returned id (the event's id string) refers to it in later events. */
char           *candor_document_log_suggest       (CandorDocument *self,
                                                   const char     *model_name,    /* agent: model name */
                                                   const char     *model_sha256,  /* nullable */
                                                   const char     *context,       /* exact text sent (hashed) */
                                                   const char     *output,        /* the suggestion text (hashed) */
                                                   double          temperature,
                                                   double          top_p,
                                                   guint64         seed,
                                                   guint           max_tokens);
void            candor_document_log_reject        (CandorDocument *self,
                                                   const char     *suggestion_id);
void            candor_document_log_cycle         (CandorDocument *self,
                                                   const char     *suggestion_id);
void            candor_document_log_regenerate    (CandorDocument *self,
                                                   const char     *suggestion_id);

/* Inserts @text (model text) at @iter as `ai_accepted` in ONE undo step and logs an
 * `accept` event (accepted length in code points, how). @iter is revalidated to the end
 * of the inserted text. Typing the suggestion's own next characters is ordinary typing
 * (`human_typed`): the view only consumes the ghost text then. */
void            candor_document_accept            (CandorDocument *self,
                                                   GtkTextIter    *iter,
                                                   const char     *text,
                                                   const char     *suggestion_id,
                                                   CandorAcceptHow how);

/* Continue streams a passage: begin, then append chunks at the end of what was streamed
 * (ai_accepted), then end. The whole passage is ONE undo step; end logs the accept. */
void            candor_document_begin_stream      (CandorDocument *self,
                                                   GtkTextIter    *iter,
                                                   const char     *suggestion_id);
void            candor_document_stream_append     (CandorDocument *self,
                                                   const char     *chunk);
void            candor_document_end_stream        (CandorDocument *self);
/* Whether a Continue passage is streaming (between begin_stream and end_stream): other
 * inserts wait for it. */
gboolean        candor_document_is_streaming      (CandorDocument *self);
/* Continue knows its passage, so the `suggest` event that records it, only when the
 * generation ends: it begins the stream with a NULL id and names the suggestion here,
 * right before end_stream (the runs' source and the `accept` event then refer to it). */
void            candor_document_set_stream_suggestion (CandorDocument *self,
                                                       const char     *suggestion_id);

/* Paste origin: the view calls this right before letting GtkTextView paste (its
 * "paste-clipboard" signal) and for drops; inserts until the buffer's "paste-done" (or
 * the drop's end) are `pasted` (internal when the clipboard content came from Candor). */
void            candor_document_mark_paste        (CandorDocument *self,
                                                   gboolean        internal);

/* Drag and drop inside the view: GtkTextView inserts the dragged text at the drop point
 * and, when the drag ends as a move, deletes the dragged range. The view calls begin_move
 * with that range when the drop arrives and end_move when the drag ends; the insert takes
 * the dragged characters' origins, insert and delete are one undo step, and a drop that
 * ends without the delete (a copy) is an internal paste. */
void            candor_document_begin_move        (CandorDocument    *self,
                                                   const GtkTextIter *start,
                                                   const GtkTextIter *end);
void            candor_document_end_move          (CandorDocument    *self);

/* Undo/redo that restore text AND origins (the view's Ctrl+Z / Ctrl+Shift+Z call these). */
gboolean        candor_document_can_undo          (CandorDocument *self);
gboolean        candor_document_can_redo          (CandorDocument *self);
void            candor_document_undo              (CandorDocument *self);
void            candor_document_redo              (CandorDocument *self);

/* Live summary (per-origin characters/words/shares, suggestion counts). The signal
 * "changed" (no args) says text, runs or log changed; the view refreshes colours and the
 * summary (the view coalesces). */
LoomProvenanceSummary *candor_document_dup_summary (CandorDocument *self);

/* Illustrations (PROVENANCE.md §1): the document keeps every picture generated for it,
 * oldest first, as a GListModel of CandorIllustration (the Illustrations view's history),
 * and logs what the author does with them. */
GListModel     *candor_document_get_illustrations  (CandorDocument     *self);
CandorIllustration *candor_document_find_illustration (CandorDocument  *self,
                                                    const char         *id);  /* nullable */
/* A generation's result: logs `image.generate` (the model agent and the whole record:
 * prompt, negative prompt, seed, steps, CFG, sampler, size, mode, strength, init and mask
 * hashes, plus the batch position and the parent illustration) and appends the
 * candidate. @parent: the illustration refined or inpainted (nullable); @human_pixels:
 * the init image held the author's paint or sketch. */
CandorIllustration *candor_document_add_generated  (CandorDocument     *self,
                                                    LoomImage          *image,
                                                    CandorIllustration *parent,
                                                    gboolean            human_pixels,
                                                    guint               batch_index,
                                                    guint               batch_count);
/* The author's strokes with one tool on the canvas over @base (nullable: a blank sheet):
 * logs an `image.stroke` event {tool, strokes, covered_pixels, base} and returns its id
 * (owned by the log). Called when the strokes are used (refine, inpaint, place, export),
 * not per stroke, so one event covers a set of strokes. */
const char     *candor_document_log_strokes        (CandorDocument     *self,
                                                    CandorIllustration *base,
                                                    const char         *tool,   /* "brush", "eraser", "mask" */
                                                    guint               strokes,
                                                    guint64             covered_pixels);
/* A generated picture the author painted on (the paint flattened onto @base): a new
 * illustration with human pixels, identified by the `image.stroke` event that recorded
 * the paint (@stroke_event_id, from log_strokes), keeping @base's generation record and
 * naming @base as its parent. (A sketch on a blank sheet becomes an illustration only
 * through Refine, which generates from it.) */
CandorIllustration *candor_document_add_painted    (CandorDocument     *self,
                                                    CandorIllustration *base,
                                                    GBytes             *rgba,
                                                    guint               width,
                                                    guint               height,
                                                    const char         *stroke_event_id,
                                                    guint               strokes);
/* `image.select` / `image.discard` with which candidate and how many the author had seen
 * (candidates in the history when it happened); each sets the illustration's state. */
void            candor_document_select_illustration  (CandorDocument     *self,
                                                      CandorIllustration *illustration);
void            candor_document_discard_illustration (CandorDocument     *self,
                                                      CandorIllustration *illustration);
/* Places @illustration at @iter as an embedded picture (one object character U+FFFC in
 * the text, shown as the picture), ONE undo step, logged as `image.place` with the
 * offset and the passage it is linked to (the paragraph's offset, length and SHA-256).
 * @iter is revalidated to after the picture. */
void            candor_document_place_illustration   (CandorDocument     *self,
                                                      GtkTextIter        *iter,
                                                      CandorIllustration *illustration);
/* The illustrations placed in the text, in text order, and where (code point offsets);
 * @offsets: (out) (optional) (transfer full): a GArray of guint. */
GPtrArray      *candor_document_list_placed          (CandorDocument     *self,
                                                      GArray            **offsets);

/* Files (the issue, §6). */
gboolean        candor_document_save              (CandorDocument *self,
                                                   GFile          *file,
                                                   GError        **error);
CandorDocument *candor_document_load              (GFile          *file,
                                                   GError        **error);  /* .candor, .txt, .md */
gboolean        candor_document_export            (CandorDocument *self,
                                                   GFile          *file,
                                                   GError        **error);  /* .md/.txt + sidecar */
GFile          *candor_document_get_file          (CandorDocument *self);   /* nullable */
gboolean        candor_document_get_modified      (CandorDocument *self);

/* The training and data-mining preference (default: not allowed); a change is logged
 * as a `preference` event. */
gboolean        candor_document_get_training_allowed (CandorDocument *self);
void            candor_document_set_training_allowed (CandorDocument *self,
                                                      gboolean        allowed);

/* Where the export of @file puts its provenance: `<name>.provenance.json` beside it. */
GFile          *candor_document_get_sidecar_file  (GFile          *file);

/* Autosave: a copy of the story under $XDG_STATE_HOME/candor/autosave/, removed when the
 * story is saved or closed (discard). After a crash, list_recoverable() finds the copies
 * on the next start and recover() opens one (modified, belonging to the file it was
 * autosaved from, keeping its autosave until saved or closed). */
gboolean        candor_document_autosave          (CandorDocument *self,
                                                   GError        **error);
/* The same, with the file's text (megabytes with pictures) made on a worker thread; the
 * window autosaves this way. A discard (or a save) before it ends cancels the write. */
void            candor_document_autosave_async    (CandorDocument      *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gboolean        candor_document_autosave_finish   (CandorDocument      *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GFile          *candor_document_get_autosave_file (CandorDocument *self);
void            candor_document_discard_autosave  (CandorDocument *self);
GPtrArray      *candor_document_list_recoverable  (void);  /* of GFile */
CandorDocument *candor_document_recover           (GFile          *autosave,
                                                   GError        **error);

G_END_DECLS
