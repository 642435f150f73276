/* candor-model-banner.h — a banner across the top of a view saying what stands between the
 * author and a model: none chosen, the model loading, or why it failed. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

typedef enum
{
  CANDOR_MODEL_BANNER_HIDDEN,
  CANDOR_MODEL_BANNER_INFO,   /* nothing is wrong yet, something is missing */
  CANDOR_MODEL_BANNER_BUSY,   /* a spinner and a progress bar, no button */
  CANDOR_MODEL_BANNER_ERROR,
} CandorModelBannerState;

#define CANDOR_TYPE_MODEL_BANNER (candor_model_banner_get_type ())

G_DECLARE_FINAL_TYPE (CandorModelBanner, candor_model_banner, CANDOR, MODEL_BANNER, GtkWidget)

void        candor_model_banner_show             (CandorModelBanner      *self,
                                                  CandorModelBannerState  state,
                                                  const char             *title,
                                                  const char             *detail,
                                                  double                  progress);
const char *candor_model_banner_get_button_label (CandorModelBanner      *self);
void        candor_model_banner_set_button_label (CandorModelBanner      *self,
                                                  const char             *label);
const char *candor_model_banner_get_action_name  (CandorModelBanner      *self);
void        candor_model_banner_set_action_name  (CandorModelBanner      *self,
                                                  const char             *action_name);

G_END_DECLS
