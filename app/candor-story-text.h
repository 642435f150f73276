/* candor-story-text.h — the story's text view: a GtkTextView that shows the suggestion
 * on offer as dim ghost text after the cursor, outside the buffer. */
#pragma once

#include "candor-suggestion-controller.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_STORY_TEXT (candor_story_text_get_type ())

G_DECLARE_FINAL_TYPE (CandorStoryText, candor_story_text, CANDOR, STORY_TEXT, GtkTextView)

void                        candor_story_text_set_controller (CandorStoryText            *self,
                                                              CandorSuggestionController *controller);
CandorSuggestionController *candor_story_text_get_controller (CandorStoryText            *self);

G_END_DECLS
