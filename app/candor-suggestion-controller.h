/* candor-suggestion-controller.h — suggestions for one document: when to ask the model,
 * what it sees, the alternatives it gave, and what the author did with them. */
#pragma once

#include "candor-document.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_SUGGESTION_CONTROLLER (candor_suggestion_controller_get_type ())

G_DECLARE_FINAL_TYPE (CandorSuggestionController, candor_suggestion_controller, CANDOR,
                      SUGGESTION_CONTROLLER, GObject)

CandorSuggestionController *candor_suggestion_controller_new         (CandorDocument             *document,
                                                                      GSettings                  *settings);
CandorDocument *candor_suggestion_controller_get_document     (CandorSuggestionController *self);
void            candor_suggestion_controller_set_model        (CandorSuggestionController *self,
                                                               LoomTextModel              *model);
LoomTextModel  *candor_suggestion_controller_get_model        (CandorSuggestionController *self);

/* The suggestion's text still to be accepted, shown after the cursor; NULL when none. */
const char     *candor_suggestion_controller_get_ghost_text   (CandorSuggestionController *self);
guint           candor_suggestion_controller_get_alternative  (CandorSuggestionController *self);
gboolean        candor_suggestion_controller_get_busy         (CandorSuggestionController *self);
gboolean        candor_suggestion_controller_get_streaming    (CandorSuggestionController *self);
const char     *candor_suggestion_controller_get_context      (CandorSuggestionController *self);
const char     *candor_suggestion_controller_get_error        (CandorSuggestionController *self);

/* The context for a request at @cursor, fitted to @budget tokens; @pinned receives the
 * bytes at its start that must survive trimming (the memory). */
char           *candor_suggestion_controller_build_context    (CandorSuggestionController *self,
                                                               const GtkTextIter          *cursor,
                                                               guint                       budget,
                                                               gsize                      *pinned);

/* Author actions; each returns FALSE when it did not apply (no suggestion showing…). */
gboolean        candor_suggestion_controller_request          (CandorSuggestionController *self);
gboolean        candor_suggestion_controller_accept           (CandorSuggestionController *self,
                                                               CandorAcceptHow             how);
gboolean        candor_suggestion_controller_cycle            (CandorSuggestionController *self,
                                                               int                         direction);
gboolean        candor_suggestion_controller_dismiss          (CandorSuggestionController *self);
gboolean        candor_suggestion_controller_continue         (CandorSuggestionController *self);
gboolean        candor_suggestion_controller_stop             (CandorSuggestionController *self);

G_END_DECLS
