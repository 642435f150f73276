/* candor-preferences-window.h — appearance, graphics-device and writing preferences, and the
 * device check. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_PREFERENCES_WINDOW (candor_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (CandorPreferencesWindow, candor_preferences_window, CANDOR,
                      PREFERENCES_WINDOW, AdwPreferencesWindow)

CandorPreferencesWindow *candor_preferences_window_new (CandorApplication *application,
                                                        GtkWindow         *parent);

G_END_DECLS
