/* candor-story-view.h — the Story view: the document's text with suggestions as ghost
 * text, the state of the text model, and who wrote what. */
#pragma once

#include "candor-document.h"
#include "candor-suggestion-controller.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_STORY_VIEW (candor_story_view_get_type ())

G_DECLARE_FINAL_TYPE (CandorStoryView, candor_story_view, CANDOR, STORY_VIEW, AdwBin)

void                        candor_story_view_set_application (CandorStoryView   *self,
                                                               CandorApplication *application);
void                        candor_story_view_set_document    (CandorStoryView   *self,
                                                               CandorDocument    *document);
CandorDocument             *candor_story_view_get_document    (CandorStoryView   *self);
CandorSuggestionController *candor_story_view_get_controller  (CandorStoryView   *self);
GtkTextView                *candor_story_view_get_text_view   (CandorStoryView   *self);

G_END_DECLS
