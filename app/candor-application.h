/* candor-application.h — the application: windows, actions, preferences, and the
 * graphics device and the text model every window shares. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_APPLICATION (candor_application_get_type ())

G_DECLARE_FINAL_TYPE (CandorApplication, candor_application, CANDOR, APPLICATION, AdwApplication)

CandorApplication *candor_application_new              (void);
GSettings         *candor_application_get_settings     (CandorApplication *self);
LoomDevice        *candor_application_get_device       (CandorApplication *self);
const char        *candor_application_get_device_error (CandorApplication *self);
gboolean           candor_application_get_device_busy  (CandorApplication *self);
LoomTextModel     *candor_application_get_text_model          (CandorApplication *self);
const char        *candor_application_get_text_model_error    (CandorApplication *self);
gboolean           candor_application_get_text_model_busy     (CandorApplication *self);
double             candor_application_get_text_model_progress (CandorApplication *self);
void               candor_application_load_text_model         (CandorApplication *self);
/* The Stable Diffusion model every window's Illustrations view shares, named by the
 * "image-model-path" setting; properties "image-model", "image-model-error",
 * "image-model-busy" and "image-model-progress", as for the text model. */
LoomImageModel    *candor_application_get_image_model          (CandorApplication *self);
const char        *candor_application_get_image_model_error    (CandorApplication *self);
gboolean           candor_application_get_image_model_busy     (CandorApplication *self);
double             candor_application_get_image_model_progress (CandorApplication *self);
void               candor_application_load_image_model         (CandorApplication *self);

G_END_DECLS
