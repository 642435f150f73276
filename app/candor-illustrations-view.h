/* candor-illustrations-view.h — the Illustrations view: the prompt panel, the canvas
 * with its tools, live generation with a per-step preview, and the history of every
 * candidate in the document.
 *
 * Its actions (group "illustrations", also bound to the buttons): generate (Ctrl+Enter),
 * cancel (Esc), refine (img2img from the canvas), inpaint (the masked region), vary (the
 * selected candidate's settings, new seed), reuse (its settings but the seed), discard,
 * place (in the story at the cursor), export-png, use-passage (the story's selection as
 * the prompt), undo/redo (strokes), zoom-fit, zoom-100.
 */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_ILLUSTRATIONS_VIEW (candor_illustrations_view_get_type ())

G_DECLARE_FINAL_TYPE (CandorIllustrationsView, candor_illustrations_view, CANDOR,
                      ILLUSTRATIONS_VIEW, AdwBin)

/* The prompt panel's settings. Strings are owned by the struct (clear frees them). */
typedef struct
{
  char    *prompt;
  char    *negative_prompt;
  guint64  seed;
  gboolean seed_locked;   /* FALSE: a new random seed for each generation */
  guint    steps;
  double   cfg_scale;
  char    *sampler;       /* "euler", "euler_a", "dpmpp_2m_karras", "turbo" */
  guint    width;
  guint    height;
  guint    batch_count;   /* 1..8 candidates per Generate, seeds seed, seed+1, … */
  double   strength;      /* refine (img2img) and inpaint, 0.05..1 */
} CandorImageSettings;

void  candor_image_settings_clear (CandorImageSettings *settings);

void            candor_illustrations_view_set_application (CandorIllustrationsView *self,
                                                           CandorApplication       *application);
void            candor_illustrations_view_set_document    (CandorIllustrationsView *self,
                                                           CandorDocument          *document);
CandorDocument *candor_illustrations_view_get_document    (CandorIllustrationsView *self);
/* Where Use passage takes the selection and Place in story puts the picture. */
void            candor_illustrations_view_set_story_view  (CandorIllustrationsView *self,
                                                           CandorStoryView         *story_view);
CandorCanvas   *candor_illustrations_view_get_canvas      (CandorIllustrationsView *self);

void            candor_illustrations_view_get_settings    (CandorIllustrationsView *self,
                                                           CandorImageSettings     *settings);
void            candor_illustrations_view_set_settings    (CandorIllustrationsView *self,
                                                           const CandorImageSettings *settings);

/* The candidate shown on the canvas (nullable); property "selected". Selecting one in the
 * history shows it and logs image.select. */
CandorIllustration *candor_illustrations_view_get_selected (CandorIllustrationsView *self);
void            candor_illustrations_view_select          (CandorIllustrationsView *self,
                                                           CandorIllustration      *illustration);

/* Properties "busy" (a generation runs), "step" and "n-steps" (of the image being
 * generated), "batch-index" (0-based), and the last error shown ("error", nullable). */
gboolean        candor_illustrations_view_get_busy        (CandorIllustrationsView *self);
const char     *candor_illustrations_view_get_error       (CandorIllustrationsView *self);

G_END_DECLS
