/* candor-window.h — a Candor window: the Story and Illustrations views of a document. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_WINDOW (candor_window_get_type ())

G_DECLARE_FINAL_TYPE (CandorWindow, candor_window, CANDOR, WINDOW, AdwApplicationWindow)

CandorWindow *candor_window_new              (CandorApplication *application);
const char   *candor_window_get_visible_view (CandorWindow      *self);
void          candor_window_show_view        (CandorWindow      *self,
                                              const char        *name);
CandorStoryView *candor_window_get_story_view (CandorWindow     *self);

G_END_DECLS
