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

/* Files. open_file shows @file in this window when its story is an empty draft, else in
 * a new window (or the one that has it open already), and returns that window; a file
 * that cannot be read is reported in a dialog, returns NULL and changes nothing. save_to
 * writes the story to @file (which it then belongs to); export writes Markdown or plain
 * text and the provenance sidecar beside it. The file actions call these. */
CandorWindow    *candor_window_open_file      (CandorWindow     *self,
                                               GFile            *file);
gboolean         candor_window_save_to        (CandorWindow     *self,
                                               GFile            *file,
                                               GError          **error);
gboolean         candor_window_export_to      (CandorWindow     *self,
                                               GFile            *file,
                                               GError          **error);
/* Offers to restore the stories autosaved before a crash; TRUE when there were some. */
gboolean         candor_window_offer_recovery (CandorWindow     *self);

G_END_DECLS
