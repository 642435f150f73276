/* candor-illustrations-view.c — CandorIllustrationsView.
 *
 * Generation is a job: one request after another for the images of a batch, each on the
 * engine's worker, with the per-step preview drawn over the canvas. The job belongs to
 * the view while it runs; Cancel (or anything that makes it moot: another document,
 * another model) lets go of it at once, and whatever the engine still reports for it is
 * dropped, so the view never waits for the engine.
 *
 * Keys: Ctrl+Enter generates (also from the prompts), Esc cancels; the canvas has its own
 * (Ctrl+Z and Ctrl+Shift+Z for strokes, zoom).
 *
 * What the author does is recorded in the document as it becomes part of a picture:
 * strokes when they are used (refine, inpaint, place, export), a choice in the history
 * as image.select. Showing a picture that was just generated is not a choice.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "candor-application.h"
#include "candor-canvas.h"
#include "candor-device-status.h"
#include "candor-document.h"
#include "candor-illustration.h"
#include "candor-illustrations-view.h"
#include "candor-model-banner.h"
#include "candor-story-view.h"

#define MAX_BATCH        8
#define TOKENS_PER_CHUNK 75
#define N_TOOLS          3   /* brush, eraser, mask */

typedef struct _Job Job;

struct _CandorIllustrationsView
{
  AdwBin              parent_instance;

  CandorApplication  *application;   /* owned */
  CandorDocument     *document;      /* owned */
  CandorStoryView    *story_view;    /* weak: a sibling in the window */
  LoomImageModel     *model;         /* owned: the application's, as last seen */
  CandorIllustration *selected;      /* owned: the illustration on the canvas */
  Job                *job;           /* owned: the generation running, NULL: none */
  char               *error;
  guint               step;
  guint               n_steps;
  guint               batch_index;
  guint64             seed;             /* the seed field's, when it holds a number */
  guint64             last_seed;
  gboolean            has_last_seed;

  /* Strokes since the canvas got its picture that are not yet in the log, per tool:
   * the pixels they covered, and the canvas's stroke count when they were last logged. */
  guint64             covered[N_TOOLS];
  guint               logged[N_TOOLS];
  char               *brush_event_id;   /* the last image.stroke of the brush on this picture */

  GArray             *sizes;            /* of SizePreset, parallel to size_list */
  GtkStringList      *size_list;
  GtkSingleSelection *history_selection;
  gboolean            syncing_selection;  /* the view itself moves the history's selection */
  guint               scroll_tick_id;     /* keeps the history at its end for a few frames */
  guint               scroll_frames;
  guint               tokens_id;          /* coalesced token counts */
  GtkFileChooserNative *export_dialog;

  CandorModelBanner  *banner;
  GtkTextView        *prompt_view;
  GtkLabel           *prompt_tokens;
  GtkTextView        *negative_view;
  GtkLabel           *negative_tokens;
  AdwEntryRow        *seed_row;
  GtkToggleButton    *seed_lock_button;
  GtkButton          *seed_copy_button;
  GtkSpinButton      *steps_spin;
  GtkSpinButton      *cfg_spin;
  AdwComboRow        *sampler_row;
  AdwComboRow        *size_row;
  GtkSpinButton      *batch_spin;
  GtkSpinButton      *strength_spin;
  GtkToggleButton    *brush_button;
  GtkToggleButton    *eraser_button;
  GtkToggleButton    *mask_button;
  GtkAdjustment      *size_adjustment;
  GtkColorButton     *color_button;
  GtkAdjustment      *hardness_adjustment;
  GtkAdjustment      *opacity_adjustment;
  CandorCanvas       *canvas;
  GtkWidget          *progress_box;
  GtkWidget          *empty_canvas;
  GtkLabel           *progress_label;
  GtkProgressBar     *progress_bar;
  GtkStack           *history_stack;
  GtkScrolledWindow  *history_scroller;
  GtkGridView        *history_view;
};

G_DEFINE_FINAL_TYPE (CandorIllustrationsView, candor_illustrations_view, ADW_TYPE_BIN)

enum
{
  PROP_0,
  PROP_BUSY,
  PROP_STEP,
  PROP_N_STEPS,
  PROP_BATCH_INDEX,
  PROP_SELECTED,
  PROP_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  guint width;
  guint height;
} SizePreset;

/* The samplers the engine has, in the order the panel lists them. */
static const struct
{
  const char *id;
  const char *label;
} samplers[] = {
  { "euler_a", N_("Euler a") },
  { "euler", N_("Euler") },
  { "dpmpp_2m_karras", N_("DPM++ 2M Karras") },
  { "turbo", N_("Turbo") },
};

/* The canvas's tools by CandorCanvasTool, as the log names them. */
static const char *const tool_names[N_TOOLS] = {
  [CANDOR_CANVAS_TOOL_BRUSH] = "brush",
  [CANDOR_CANVAS_TOOL_ERASER] = "eraser",
  [CANDOR_CANVAS_TOOL_MASK] = "mask",
};

/* A batch being generated: what every request of it shares, and how far it got. */
struct _Job
{
  CandorIllustrationsView *view;     /* NULL once the view let go of it */
  LoomImageModel          *model;
  GCancellable            *cancellable;
  CandorImageSettings      settings;
  GBytes                  *init;     /* refine and inpaint */
  GBytes                  *mask;     /* inpaint */
  guint                    width;
  guint                    height;
  CandorIllustration      *parent;   /* nullable */
  gboolean                 human_pixels;
  guint                    index;    /* the image being generated */
  guint                    count;
  guint64                  seeds[MAX_BATCH];
};

static void
job_clear (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->model);
  g_clear_object (&job->cancellable);
  candor_image_settings_clear (&job->settings);
  g_clear_pointer (&job->init, g_bytes_unref);
  g_clear_pointer (&job->mask, g_bytes_unref);
  g_clear_object (&job->parent);
}

static Job *
job_ref (Job *job)
{
  return g_rc_box_acquire (job);
}

static void
job_unref (Job *job)
{
  g_rc_box_release_full (job, job_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_unref)

/* What one image's step reports belong to: reports of an image already done (they are
 * coalesced, and may come late) are dropped. */
typedef struct
{
  Job  *job;
  guint index;
} StepData;

static void
step_data_free (gpointer data)
{
  StepData *step = data;

  job_unref (step->job);
  g_free (step);
}

void
candor_image_settings_clear (CandorImageSettings *settings)
{
  g_return_if_fail (settings != NULL);

  g_clear_pointer (&settings->prompt, g_free);
  g_clear_pointer (&settings->negative_prompt, g_free);
  g_clear_pointer (&settings->sampler, g_free);
}

/* Messages. */

static void
show_toast (CandorIllustrationsView *self,
            const char              *title)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  AdwToast *toast;

  if (overlay == NULL)
    {
      g_message ("%s", title);
      return;
    }
  toast = adw_toast_new (title);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
}

static void
set_error (CandorIllustrationsView *self,
           const char              *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
show_error (CandorIllustrationsView *self,
            const char              *message)
{
  set_error (self, message);
  show_toast (self, message);
}

/* Sensitivity. */

static gboolean
canvas_has_picture (CandorIllustrationsView *self)
{
  return candor_canvas_get_image_width (self->canvas) > 0;
}

static void
update_actions (CandorIllustrationsView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean busy = self->job != NULL;
  gboolean can_generate = self->model != NULL && self->document != NULL && !busy;
  gboolean has_selected = self->selected != NULL && self->document != NULL;
  gboolean picture = canvas_has_picture (self);

  /* An empty canvas says what to do, and on which device pictures would be made. */
  gtk_widget_set_visible (self->empty_canvas, !picture && !busy);
  gtk_widget_action_set_enabled (widget, "illustrations.generate", can_generate);
  gtk_widget_action_set_enabled (widget, "illustrations.cancel", busy);
  gtk_widget_action_set_enabled (widget, "illustrations.refine", can_generate && picture);
  gtk_widget_action_set_enabled (widget, "illustrations.inpaint", can_generate && picture);
  gtk_widget_action_set_enabled (widget, "illustrations.vary", can_generate && has_selected);
  gtk_widget_action_set_enabled (widget, "illustrations.reuse", has_selected);
  gtk_widget_action_set_enabled (widget, "illustrations.discard",
                                 has_selected && !busy
                                 && candor_illustration_get_state (self->selected)
                                      != CANDOR_ILLUSTRATION_DISCARDED);
  gtk_widget_action_set_enabled (widget, "illustrations.place", has_selected && !busy);
  gtk_widget_action_set_enabled (widget, "illustrations.export-png", has_selected && !busy);
  gtk_widget_action_set_enabled (widget, "illustrations.export-png-to", has_selected && !busy);
  gtk_widget_action_set_enabled (widget, "illustrations.use-passage", self->story_view != NULL);
  gtk_widget_action_set_enabled (widget, "illustrations.undo",
                                 !busy && candor_canvas_can_undo (self->canvas));
  gtk_widget_action_set_enabled (widget, "illustrations.redo",
                                 !busy && candor_canvas_can_redo (self->canvas));
  gtk_widget_action_set_enabled (widget, "illustrations.zoom-fit", picture);
  gtk_widget_action_set_enabled (widget, "illustrations.zoom-100", picture);
  gtk_widget_action_set_enabled (widget, "illustrations.new-sketch", !busy);
}

/* The banner says what stands between the author and pictures: no model chosen, the
 * model loading, or why it failed. */
static void
update_banner (CandorIllustrationsView *self)
{
  LoomImageModel *model = NULL;
  const char *error = NULL;
  gboolean busy = FALSE;
  double progress = 0.0;

  if (self->application != NULL)
    {
      model = candor_application_get_image_model (self->application);
      error = candor_application_get_image_model_error (self->application);
      busy = candor_application_get_image_model_busy (self->application);
      progress = candor_application_get_image_model_progress (self->application);
    }

  if (busy)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_BUSY,
                              _("Loading the image model…"),
                              _("Generating starts when it is ready."), progress);
  else if (error != NULL)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_ERROR,
                              _("The image model could not be loaded"), error, 0.0);
  else if (model == NULL)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_INFO,
                              _("Choose a Stable Diffusion model"),
                              _("Pictures are generated on this computer by a Stable Diffusion "
                                "1.x, 2.x or SD-Turbo model: a .safetensors checkpoint or a "
                                "diffusers folder. You can sketch without one."), 0.0);
  else
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_HIDDEN, NULL, NULL, 0.0);
}

/* Token counters. */

static void
format_tokens (CandorIllustrationsView *self,
               GtkTextView             *view,
               GtkLabel                *label)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  g_autofree char *text = NULL;
  g_autofree char *counter = NULL;
  GtkTextIter start, end;
  guint tokens, chunks;

  if (self->model == NULL)
    {
      gtk_label_set_label (label, "—");
      return;
    }
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  tokens = loom_image_model_count_tokens (self->model, text);
  chunks = MAX (1, (tokens + TOKENS_PER_CHUNK - 1) / TOKENS_PER_CHUNK);
  if (chunks == 1)
    /* Translators: tokens in a prompt, of the 75 the model reads at once. */
    counter = g_strdup_printf (_("%u / %u"), tokens, TOKENS_PER_CHUNK);
  else
    /* Translators: tokens in a prompt longer than one 75-token chunk, of the tokens
     * the chunks hold, then the number of chunks. */
    counter = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u / %u · %u chunk",
                                            "%u / %u · %u chunks", chunks),
                               tokens, chunks * TOKENS_PER_CHUNK, chunks);
  gtk_label_set_label (label, counter);
}

static gboolean
update_tokens_cb (gpointer user_data)
{
  CandorIllustrationsView *self = user_data;

  self->tokens_id = 0;
  format_tokens (self, self->prompt_view, self->prompt_tokens);
  format_tokens (self, self->negative_view, self->negative_tokens);
  return G_SOURCE_REMOVE;
}

static void
queue_tokens (CandorIllustrationsView *self)
{
  if (self->tokens_id == 0)
    self->tokens_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, update_tokens_cb, self, NULL);
}

/* Seed. */

static void
update_seed_row (CandorIllustrationsView *self)
{
  gboolean locked = gtk_toggle_button_get_active (self->seed_lock_button);
  g_autofree char *last = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->seed_row),
                                 locked ? _("Seed · locked") : _("Seed · random"));
  if (self->has_last_seed)
    {
      /* xgettext cannot read G_GUINT64_FORMAT inside a msgid, so the number goes in as text. */
      g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, self->last_seed);

      last = g_strdup_printf (_("Last used: %s"), seed);
    }
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->seed_row), last);

  gtk_button_set_icon_name (GTK_BUTTON (self->seed_lock_button),
                            locked ? "changes-prevent-symbolic" : "changes-allow-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->seed_lock_button),
                               locked ? _("Seed locked: the same seed each time, then the "
                                          "next ones for more images")
                                      : _("A new random seed for each image; lock it to keep "
                                          "this one"));
}

static guint64
get_seed (CandorIllustrationsView *self)
{
  return self->seed;
}

static void
set_seed (CandorIllustrationsView *self,
          guint64                  seed)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, seed);

  self->seed = seed;
  gtk_editable_set_text (GTK_EDITABLE (self->seed_row), text);
}

/* Any 64-bit number is a seed; anything else is marked, and the last number stays. */
static void
seed_changed_cb (CandorIllustrationsView *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->seed_row));
  guint64 seed;

  if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &seed, NULL))
    {
      self->seed = seed;
      gtk_widget_remove_css_class (GTK_WIDGET (self->seed_row), "error");
    }
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->seed_row), "error");
}

static void
copy_seed_cb (CandorIllustrationsView *self)
{
  guint64 seed = self->has_last_seed ? self->last_seed : get_seed (self);
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, seed);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
  show_toast (self, _("Seed copied"));
}

/* Sampler and size. */

static void
select_sampler (CandorIllustrationsView *self,
                const char              *id)
{
  for (guint i = 0; id != NULL && i < G_N_ELEMENTS (samplers); i++)
    if (g_str_equal (samplers[i].id, id))
      {
        adw_combo_row_set_selected (self->sampler_row, i);
        return;
      }
}

static guint
round_to_64 (guint value)
{
  return MAX (64, (value + 32) / 64 * 64);
}

static void
add_size (CandorIllustrationsView *self,
          guint                    width,
          guint                    height)
{
  SizePreset preset = { width, height };
  g_autofree char *label = NULL;

  for (guint i = 0; i < self->sizes->len; i++)
    {
      SizePreset *p = &g_array_index (self->sizes, SizePreset, i);
      if (p->width == width && p->height == height)
        return;
    }
  if (width == height)
    /* Translators: a picture size in pixels. */
    label = g_strdup_printf (_("%u × %u, square"), width, height);
  else if (width < height)
    label = g_strdup_printf (_("%u × %u, portrait"), width, height);
  else
    label = g_strdup_printf (_("%u × %u, landscape"), width, height);
  g_array_append_val (self->sizes, preset);
  gtk_string_list_append (self->size_list, label);
}

static gboolean
select_size (CandorIllustrationsView *self,
             guint                    width,
             guint                    height)
{
  for (guint i = 0; i < self->sizes->len; i++)
    {
      SizePreset *p = &g_array_index (self->sizes, SizePreset, i);
      if (p->width == width && p->height == height)
        {
          adw_combo_row_set_selected (self->size_row, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* The sizes the model makes well: its own square, portrait and landscape at 2:3, and the
 * other common square. Sides are multiples of 64, as the UNet needs them. */
static void
fill_sizes (CandorIllustrationsView *self,
            guint                    native)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->size_list));
  guint longer = round_to_64 (native * 3 / 2);

  native = round_to_64 (native);
  g_array_set_size (self->sizes, 0);
  gtk_string_list_splice (self->size_list, 0, n, NULL);
  add_size (self, native, native);
  add_size (self, native, longer);
  add_size (self, longer, native);
  add_size (self, 512, 512);
  add_size (self, 768, 768);
  adw_combo_row_set_selected (self->size_row, 0);
}

static void
apply_model_defaults (CandorIllustrationsView *self)
{
  gtk_spin_button_set_value (self->steps_spin, loom_image_model_get_default_steps (self->model));
  gtk_spin_button_set_value (self->cfg_spin, loom_image_model_get_default_cfg (self->model));
  select_sampler (self, loom_image_model_get_default_sampler (self->model));
  fill_sizes (self, loom_image_model_get_native_size (self->model));
}

/* Settings. */

static char *
dup_buffer_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

void
candor_illustrations_view_get_settings (CandorIllustrationsView *self,
                                        CandorImageSettings     *settings)
{
  guint sampler, size;

  g_return_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self));
  g_return_if_fail (settings != NULL);

  sampler = adw_combo_row_get_selected (self->sampler_row);
  size = adw_combo_row_get_selected (self->size_row);

  settings->prompt = dup_buffer_text (self->prompt_view);
  settings->negative_prompt = dup_buffer_text (self->negative_view);
  settings->seed = get_seed (self);
  settings->seed_locked = gtk_toggle_button_get_active (self->seed_lock_button);
  settings->steps = gtk_spin_button_get_value_as_int (self->steps_spin);
  settings->cfg_scale = gtk_spin_button_get_value (self->cfg_spin);
  settings->sampler = g_strdup (samplers[sampler < G_N_ELEMENTS (samplers) ? sampler : 0].id);
  if (size < self->sizes->len)
    {
      settings->width = g_array_index (self->sizes, SizePreset, size).width;
      settings->height = g_array_index (self->sizes, SizePreset, size).height;
    }
  else
    settings->width = settings->height = 512;
  settings->batch_count = gtk_spin_button_get_value_as_int (self->batch_spin);
  settings->strength = gtk_spin_button_get_value (self->strength_spin);
}

/* Sets every setting; a size the presets lack is added to them, a sampler the engine
 * does not have is left as it was, numbers are clamped to what the panel allows. */
void
candor_illustrations_view_set_settings (CandorIllustrationsView   *self,
                                        const CandorImageSettings *settings)
{
  g_return_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self));
  g_return_if_fail (settings != NULL);

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->prompt_view),
                            settings->prompt != NULL ? settings->prompt : "", -1);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->negative_view),
                            settings->negative_prompt != NULL ? settings->negative_prompt : "",
                            -1);
  set_seed (self, settings->seed);
  gtk_toggle_button_set_active (self->seed_lock_button, settings->seed_locked);
  gtk_spin_button_set_value (self->steps_spin, settings->steps);
  gtk_spin_button_set_value (self->cfg_spin, settings->cfg_scale);
  select_sampler (self, settings->sampler);
  if (settings->width > 0 && settings->height > 0
      && !select_size (self, settings->width, settings->height))
    {
      add_size (self, settings->width, settings->height);
      select_size (self, settings->width, settings->height);
    }
  gtk_spin_button_set_value (self->batch_spin, settings->batch_count);
  gtk_spin_button_set_value (self->strength_spin, settings->strength);
}

/* A candidate's settings in the panel, all but the seed. */
static void
settings_from_record (CandorIllustrationsView *self,
                      const LoomImageRecord   *record)
{
  CandorImageSettings settings = { 0 };

  candor_illustrations_view_get_settings (self, &settings);
  g_free (settings.prompt);
  settings.prompt = g_strdup (record->prompt);
  g_free (settings.negative_prompt);
  settings.negative_prompt = g_strdup (record->negative_prompt);
  settings.steps = record->steps;
  settings.cfg_scale = record->cfg_scale;
  g_free (settings.sampler);
  settings.sampler = g_strdup (record->sampler);
  settings.width = record->width;
  settings.height = record->height;
  /* A txt2img record's strength (1) says nothing about refining. */
  if (g_strcmp0 (record->mode, "txt2img") != 0)
    settings.strength = record->strength;
  candor_illustrations_view_set_settings (self, &settings);
  candor_image_settings_clear (&settings);
}

/* The canvas and the history. */

static void
reset_strokes (CandorIllustrationsView *self)
{
  memset (self->covered, 0, sizeof self->covered);
  memset (self->logged, 0, sizeof self->logged);
  g_clear_pointer (&self->brush_event_id, g_free);
}

static guint
find_position (GListModel *model,
               gpointer    item)
{
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) other = g_list_model_get_item (model, i);
      if (other == item)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

/* The history's selection follows the canvas; the view moving it is not the author. */
static void
sync_history_selection (CandorIllustrationsView *self)
{
  GListModel *model = gtk_single_selection_get_model (self->history_selection);
  guint position = GTK_INVALID_LIST_POSITION;

  if (model != NULL && self->selected != NULL)
    position = find_position (model, self->selected);
  self->syncing_selection = TRUE;
  gtk_single_selection_set_selected (self->history_selection, position);
  self->syncing_selection = FALSE;
  if (position != GTK_INVALID_LIST_POSITION && gtk_widget_get_mapped (GTK_WIDGET (self)))
    gtk_widget_activate_action (GTK_WIDGET (self->history_view), "list.scroll-to-item", "u",
                                position);
}

static void
set_selected (CandorIllustrationsView *self,
              CandorIllustration      *illustration)
{
  if (self->selected != illustration)
    {
      /* Discard follows its state, whoever changes it. */
      if (self->selected != NULL)
        g_signal_handlers_disconnect_by_func (self->selected, update_actions, self);
      g_set_object (&self->selected, illustration);
      if (illustration != NULL)
        g_signal_connect_swapped (illustration, "notify::state", G_CALLBACK (update_actions),
                                  self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
    }
  sync_history_selection (self);
  update_actions (self);
}

/* Puts @illustration on the canvas, without paint, and makes it the selected one (the
 * base of what the author does next); not a choice the log records. */
static void
show_illustration (CandorIllustrationsView *self,
                   CandorIllustration      *illustration)
{
  LoomImage *image = candor_illustration_get_image (illustration);

  candor_canvas_set_preview (self->canvas, NULL, 0, 0, 0, 0);
  candor_canvas_set_image (self->canvas, loom_image_get_pixels (image),
                           loom_image_get_width (image), loom_image_get_height (image));
  reset_strokes (self);
  set_selected (self, illustration);
}

/* The author chose @illustration in the history. Choosing the one shown again is only
 * news while it is not already chosen. */
static void
choose_illustration (CandorIllustrationsView *self,
                     CandorIllustration      *illustration)
{
  gboolean shown = illustration == self->selected;

  if (self->document == NULL
      || (shown && candor_illustration_get_state (illustration) == CANDOR_ILLUSTRATION_SELECTED))
    return;
  if (!shown)
    show_illustration (self, illustration);
  candor_document_select_illustration (self->document, illustration);
  update_actions (self);
}

static void
stroke_finished_cb (CandorCanvas            *canvas,
                    int                      tool,
                    guint64                  covered,
                    CandorIllustrationsView *self)
{
  if (tool >= 0 && tool < N_TOOLS)
    {
      guint count = candor_canvas_get_stroke_count (canvas, tool);

      /* Strokes undone since the last log left the count below what was logged: this
       * stroke and any after it are new all the same. */
      if (count > 0 && self->logged[tool] > count - 1)
        self->logged[tool] = count - 1;
      self->covered[tool] += covered;
    }
  update_actions (self);
}

/* Logs the strokes made since they were last logged, one image.stroke per tool, over
 * the picture on the canvas; the mask's only when it is used. */
static void
log_strokes (CandorIllustrationsView *self,
             gboolean                 with_mask)
{
  for (guint tool = 0; tool < N_TOOLS; tool++)
    {
      guint count = candor_canvas_get_stroke_count (self->canvas, tool);
      guint fresh = count > self->logged[tool] ? count - self->logged[tool] : 0;
      const char *id;

      if (tool == CANDOR_CANVAS_TOOL_MASK && !with_mask)
        continue;
      if (fresh > 0)
        {
          id = candor_document_log_strokes (self->document, self->selected, tool_names[tool],
                                            fresh, self->covered[tool]);
          if (tool == CANDOR_CANVAS_TOOL_BRUSH)
            {
              g_free (self->brush_event_id);
              self->brush_event_id = g_strdup (id);
            }
        }
      self->logged[tool] = count;
      self->covered[tool] = 0;
    }
}

/* The picture the author means by Place and Export: the selected one, or, painted on,
 * a new illustration with the paint flattened onto it (which then takes its place on
 * the canvas, so it is made once). */
static CandorIllustration *
ensure_painted (CandorIllustrationsView *self)
{
  g_autoptr(CandorIllustration) painted = NULL;  /* add_painted returns a reference */
  g_autoptr(GBytes) pixels = NULL;
  guint strokes;

  if (self->selected == NULL || !candor_canvas_has_paint (self->canvas))
    return self->selected;

  log_strokes (self, FALSE);
  /* The paint was all logged before (by a Refine since); the stroke count still names
   * it when the event's id is gone with an earlier picture. */
  if (self->brush_event_id == NULL)
    self->brush_event_id = g_strdup (candor_document_log_strokes (
      self->document, self->selected, "brush",
      candor_canvas_get_stroke_count (self->canvas, CANDOR_CANVAS_TOOL_BRUSH), 0));
  strokes = candor_canvas_get_stroke_count (self->canvas, CANDOR_CANVAS_TOOL_BRUSH)
            + candor_canvas_get_stroke_count (self->canvas, CANDOR_CANVAS_TOOL_ERASER);
  pixels = candor_canvas_dup_pixels (self->canvas);
  painted = candor_document_add_painted (self->document, self->selected, pixels,
                                         candor_canvas_get_image_width (self->canvas),
                                         candor_canvas_get_image_height (self->canvas),
                                         self->brush_event_id, strokes);
  if (painted == NULL)
    return NULL;
  show_illustration (self, painted);
  /* The document's list and self->selected keep it. */
  return self->selected;
}

/* Generation. */

static void
update_progress (CandorIllustrationsView *self)
{
  Job *job = self->job;
  g_autofree char *text = NULL;
  double fraction = 0.0;

  gtk_widget_set_visible (self->progress_box, job != NULL);
  if (job == NULL)
    return;
  if (self->n_steps > 0)
    fraction = (self->batch_index + (double) self->step / self->n_steps) / job->count;
  if (self->step == 0)
    /* Translators: a batch's progress before the first denoising step. */
    text = g_strdup_printf (_("Image %u of %u · starting"), self->batch_index + 1, job->count);
  else
    /* Translators: a batch's progress: the image, then the denoising step. */
    text = g_strdup_printf (_("Image %u of %u · step %u of %u"), self->batch_index + 1,
                            job->count, self->step, self->n_steps);
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0.0, 1.0));
  gtk_progress_bar_set_text (self->progress_bar, text);
  gtk_label_set_label (self->progress_label, text);
}

static void
set_progress (CandorIllustrationsView *self,
              guint                    batch_index,
              guint                    step,
              guint                    n_steps)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);
  if (self->batch_index != batch_index)
    {
      self->batch_index = batch_index;
      g_object_notify_by_pspec (object, properties[PROP_BATCH_INDEX]);
    }
  if (self->step != step)
    {
      self->step = step;
      g_object_notify_by_pspec (object, properties[PROP_STEP]);
    }
  if (self->n_steps != n_steps)
    {
      self->n_steps = n_steps;
      g_object_notify_by_pspec (object, properties[PROP_N_STEPS]);
    }
  update_progress (self);
  g_object_thaw_notify (object);
}

/* Lets go of the job: what the engine still reports for it is dropped. */
static void
end_job (CandorIllustrationsView *self)
{
  Job *job = self->job;

  if (job == NULL)
    return;
  job->view = NULL;
  self->job = NULL;
  job_unref (job);

  candor_canvas_set_preview (self->canvas, NULL, 0, 0, 0, 0);
  gtk_widget_set_can_target (GTK_WIDGET (self->canvas), TRUE);
  set_progress (self, 0, 0, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  update_actions (self);
}

static void
cancel_job (CandorIllustrationsView *self)
{
  if (self->job != NULL)
    g_cancellable_cancel (self->job->cancellable);
  end_job (self);
}

static void
job_step_cb (guint    step,
             guint    n_steps,
             GBytes  *preview,
             guint    preview_width,
             guint    preview_height,
             gpointer user_data)
{
  StepData *data = user_data;
  Job *job = data->job;
  CandorIllustrationsView *self = job->view;

  if (self == NULL || job->index != data->index)
    return;
  if (preview != NULL)
    candor_canvas_set_preview (self->canvas, preview, preview_width, preview_height,
                               job->width, job->height);
  set_progress (self, job->index, step, n_steps);
}

static void job_start_next (Job *job);

static void
job_generated_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(Job) job = user_data;
  CandorIllustrationsView *self = job->view;
  g_autoptr(LoomImage) image = NULL;
  g_autoptr(GError) error = NULL;
  CandorIllustration *illustration;

  image = loom_image_model_generate_finish (LOOM_IMAGE_MODEL (source), result, &error);
  if (self == NULL)
    return;
  if (image == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      end_job (self);
      return;
    }

  illustration = candor_document_add_generated (self->document, image, job->parent,
                                                job->human_pixels, job->index, job->count);
  if (illustration != NULL)
    show_illustration (self, illustration);
  job->index++;
  if (job->index < job->count)
    job_start_next (job);
  else
    end_job (self);
}

static void
job_start_next (Job *job)
{
  CandorIllustrationsView *self = job->view;
  LoomImageRequest request;
  StepData *step;

  loom_image_request_init (&request);
  request.prompt = job->settings.prompt;
  request.negative_prompt = job->settings.negative_prompt;
  request.seed = job->seeds[job->index];
  request.steps = job->settings.steps;
  request.cfg_scale = job->settings.cfg_scale;
  request.sampler = job->settings.sampler;
  request.width = job->width;
  request.height = job->height;
  request.init_image = job->init;
  request.mask_image = job->mask;
  if (job->init != NULL)
    request.strength = job->settings.strength;
  request.previews = TRUE;

  /* A random seed shows in the panel as it is used, so locking it keeps that picture. */
  self->last_seed = request.seed;
  self->has_last_seed = TRUE;
  if (!job->settings.seed_locked)
    set_seed (self, request.seed);
  update_seed_row (self);
  set_progress (self, job->index, 0, job->settings.steps);

  step = g_new0 (StepData, 1);
  step->job = job_ref (job);
  step->index = job->index;
  loom_image_model_generate_async (job->model, &request, job_step_cb, step, step_data_free,
                                   job->cancellable, job_generated_cb, job_ref (job));
}

/* Starts a batch from the panel's settings; @init and @mask for refine and inpaint, at
 * the canvas's size, else the panel's size. */
static void
start_job (CandorIllustrationsView *self,
           GBytes                  *init,
           GBytes                  *mask,
           guint                    width,
           guint                    height,
           CandorIllustration      *parent,
           gboolean                 human_pixels)
{
  Job *job;

  g_return_if_fail (self->job == NULL && self->model != NULL && self->document != NULL);

  job = g_rc_box_new0 (Job);
  job->view = self;
  job->model = g_object_ref (self->model);
  job->cancellable = g_cancellable_new ();
  candor_illustrations_view_get_settings (self, &job->settings);
  job->count = CLAMP (job->settings.batch_count, 1, MAX_BATCH);
  job->width = width > 0 ? width : job->settings.width;
  job->height = height > 0 ? height : job->settings.height;
  job->init = init != NULL ? g_bytes_ref (init) : NULL;
  job->mask = mask != NULL ? g_bytes_ref (mask) : NULL;
  job->parent = parent != NULL ? g_object_ref (parent) : NULL;
  job->human_pixels = human_pixels;
  for (guint i = 0; i < job->count; i++)
    job->seeds[i] = job->settings.seed_locked ? job->settings.seed + i : g_random_int ();

  self->job = job;
  set_error (self, NULL);
  /* The canvas shows the preview now; strokes made meanwhile would be lost. */
  gtk_widget_set_can_target (GTK_WIDGET (self->canvas), FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  update_actions (self);
  job_start_next (job);
}

/* Whether the init image holds pixels the author made: paint on it now, or paint the
 * picture it came from already had. */
static gboolean
init_has_human_pixels (CandorIllustrationsView *self)
{
  return candor_canvas_has_paint (self->canvas)
         || (self->selected != NULL && candor_illustration_get_human_pixels (self->selected));
}

/* Actions. */

static void
generate_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (self->job != NULL || self->model == NULL || self->document == NULL)
    return;
  start_job (self, NULL, NULL, 0, 0, NULL, FALSE);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  cancel_job (CANDOR_ILLUSTRATIONS_VIEW (widget));
}

static void
refine_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);
  g_autoptr(GBytes) init = NULL;
  gboolean human;

  if (self->job != NULL || self->model == NULL || self->document == NULL
      || !canvas_has_picture (self))
    return;
  human = init_has_human_pixels (self);
  init = candor_canvas_dup_pixels (self->canvas);
  log_strokes (self, FALSE);
  start_job (self, init, NULL, candor_canvas_get_image_width (self->canvas),
             candor_canvas_get_image_height (self->canvas), self->selected, human);
}

static void
inpaint_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);
  g_autoptr(GBytes) init = NULL;
  g_autoptr(GBytes) mask = NULL;
  gboolean human;

  if (self->job != NULL || self->model == NULL || self->document == NULL
      || !canvas_has_picture (self))
    return;
  if (!candor_canvas_has_mask (self->canvas))
    {
      show_toast (self, _("Paint a mask over the part to regenerate first"));
      return;
    }
  human = init_has_human_pixels (self);
  init = candor_canvas_dup_pixels (self->canvas);
  mask = candor_canvas_dup_mask (self->canvas);
  log_strokes (self, TRUE);
  start_job (self, init, mask, candor_canvas_get_image_width (self->canvas),
             candor_canvas_get_image_height (self->canvas), self->selected, human);
}

static void
reuse_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (self->selected != NULL)
    settings_from_record (self, candor_illustration_get_record (self->selected));
}

static void
vary_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (self->selected == NULL || self->job != NULL || self->model == NULL)
    return;
  /* A variation of the prompt: from noise again, even when the candidate was refined. */
  settings_from_record (self, candor_illustration_get_record (self->selected));
  gtk_toggle_button_set_active (self->seed_lock_button, FALSE);
  start_job (self, NULL, NULL, 0, 0, NULL, FALSE);
}

static void
discard_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (self->selected == NULL || self->document == NULL)
    return;
  candor_document_discard_illustration (self->document, self->selected);
  update_actions (self);
}

static void
place_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);
  CandorIllustration *illustration;
  GtkTextBuffer *buffer;
  GtkTextIter iter;

  if (self->selected == NULL || self->document == NULL || self->job != NULL)
    return;
  /* Continue writes at its own mark until it ends; a picture waits for it. */
  if (candor_document_is_streaming (self->document))
    {
      show_toast (self, _("The story is still being continued; place the picture when it ends"));
      return;
    }
  illustration = ensure_painted (self);
  if (illustration == NULL)
    return;
  buffer = candor_document_get_buffer (self->document);
  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  candor_document_place_illustration (self->document, &iter, illustration);
  gtk_widget_activate_action (GTK_WIDGET (self), "win.show-view", "s", "story");
}

static gboolean
export_png (CandorIllustrationsView *self,
            const char              *path,
            GError                 **error)
{
  CandorIllustration *illustration = ensure_painted (self);
  g_autofree char *creator = g_strconcat ("Candor ", PACKAGE_VERSION, NULL);
  LoomImageMetadata metadata;

  if (illustration == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           _("There is no picture to export"));
      return FALSE;
    }
  loom_image_metadata_init (&metadata);
  metadata.creator_tool = creator;
  metadata.source_type = candor_illustration_get_source_type (illustration);
  metadata.training_allowed = candor_document_get_training_allowed (self->document);
  metadata.include_prompts = TRUE;
  return loom_image_write_png (candor_illustration_get_image (illustration), &metadata, path,
                               error);
}

static void
export_to (CandorIllustrationsView *self,
           const char              *path)
{
  g_autoptr(GError) error = NULL;

  if (!export_png (self, path, &error))
    {
      g_autofree char *message = g_strdup_printf (_("The picture could not be exported: %s"),
                                                  error->message);
      show_error (self, message);
    }
}

static void
export_png_to_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (self->selected == NULL || self->document == NULL)
    return;
  export_to (self, g_variant_get_string (parameter, NULL));
}

static void
export_response_cb (GtkNativeDialog         *dialog,
                    int                      response,
                    CandorIllustrationsView *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_clear_object (&self->export_dialog);
  if (file == NULL || self->selected == NULL)
    return;
  path = g_file_get_path (file);
  if (path == NULL)
    {
      show_error (self, _("The picture could not be exported: only files on this computer "
                          "can be written"));
      return;
    }
  export_to (self, path);
}

/* "a lighthouse in a storm, oil painting" → "a lighthouse in a storm.png" */
static char *
suggest_file_name (CandorIllustrationsView *self)
{
  const LoomImageRecord *record = candor_illustration_get_record (self->selected);
  g_autoptr(GString) name = g_string_new (NULL);
  guint words = 0;
  gboolean in_word = FALSE;

  for (const char *p = record->prompt; p != NULL && *p != '\0' && words < 5;
       p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isalnum (c))
        {
          if (!in_word && name->len > 0)
            g_string_append_c (name, ' ');
          g_string_append_unichar (name, c);
          in_word = TRUE;
        }
      else if (in_word)
        {
          in_word = FALSE;
          words++;
          /* A comma or full stop ends the subject. */
          if (c != ' ' && c != '-' && c != '\'')
            break;
        }
    }
  if (name->len == 0)
    return g_strdup ("illustration.png");
  g_string_append (name, ".png");
  return g_string_free (g_steal_pointer (&name), FALSE);
}

static void
export_png_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);
  GtkWidget *window = gtk_widget_get_ancestor (widget, GTK_TYPE_WINDOW);
  g_autofree char *name = NULL;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (self->selected == NULL || self->export_dialog != NULL)
    return;
  self->export_dialog = gtk_file_chooser_native_new (_("Export PNG"), GTK_WINDOW (window),
                                                     GTK_FILE_CHOOSER_ACTION_SAVE,
                                                     _("_Export"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->export_dialog), TRUE);
  gtk_file_filter_set_name (filter, _("PNG images"));
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->export_dialog), filter);
  name = suggest_file_name (self);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->export_dialog), name);
  g_signal_connect (self->export_dialog, "response", G_CALLBACK (export_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->export_dialog));
}

static void
use_passage_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *passage = NULL;

  if (self->story_view == NULL)
    return;
  buffer = gtk_text_view_get_buffer (candor_story_view_get_text_view (self->story_view));
  if (!gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    {
      show_toast (self, _("Select a passage in the story first"));
      return;
    }
  /* Pictures placed in the passage are object characters, not words. */
  passage = gtk_text_iter_get_text (&start, &end);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->prompt_view), g_strstrip (passage),
                            -1);
  gtk_widget_grab_focus (GTK_WIDGET (self->prompt_view));
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (candor_canvas_can_undo (self->canvas))
    candor_canvas_undo (self->canvas);
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);

  if (candor_canvas_can_redo (self->canvas))
    candor_canvas_redo (self->canvas);
}

static void
zoom_fit_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  candor_canvas_zoom_to_fit (CANDOR_ILLUSTRATIONS_VIEW (widget)->canvas);
}

static void
zoom_100_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  candor_canvas_set_zoom (CANDOR_ILLUSTRATIONS_VIEW (widget)->canvas, 1.0);
}

static void
new_sketch_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (widget);
  CandorImageSettings settings = { 0 };

  if (self->job != NULL)
    return;
  candor_illustrations_view_get_settings (self, &settings);
  candor_canvas_set_blank (self->canvas, settings.width, settings.height);
  candor_image_settings_clear (&settings);
  reset_strokes (self);
  set_selected (self, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
}

/* The history. */

static void
thumb_state_cb (CandorIllustration *illustration,
                GParamSpec         *pspec,
                GtkWidget          *thumb)
{
  CandorIllustrationState state = candor_illustration_get_state (illustration);
  GtkWidget *chosen = g_object_get_data (G_OBJECT (thumb), "chosen");

  if (state == CANDOR_ILLUSTRATION_DISCARDED)
    gtk_widget_add_css_class (thumb, "discarded");
  else
    gtk_widget_remove_css_class (thumb, "discarded");
  gtk_widget_set_visible (chosen, state == CANDOR_ILLUSTRATION_SELECTED);
}

static void
thumb_released_cb (GtkGestureClick         *gesture,
                   int                      n_press,
                   double                   x,
                   double                   y,
                   CandorIllustrationsView *self)
{
  GtkListItem *item = g_object_get_data (G_OBJECT (gesture), "list-item");
  CandorIllustration *illustration = gtk_list_item_get_item (item);

  /* A click on the candidate already shown (just generated) chooses it too; a click on
   * another one also moves the selection, which the selection handler takes. */
  if (illustration != NULL && illustration == self->selected)
    choose_illustration (self, illustration);
}

static void
history_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  CandorIllustrationsView  *self)
{
  GtkWidget *thumb = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *chosen = gtk_image_new_from_icon_name ("object-select-symbolic");
  GtkWidget *caption = gtk_label_new (NULL);
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_widget_add_css_class (thumb, "illustration-thumb");
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_widget_set_size_request (picture, 160, 160);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);

  gtk_widget_set_halign (chosen, GTK_ALIGN_END);
  gtk_widget_set_valign (chosen, GTK_ALIGN_START);
  gtk_widget_add_css_class (chosen, "illustration-chosen");
  gtk_widget_set_tooltip_text (chosen, _("Chosen"));
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), chosen);

  gtk_label_set_wrap (GTK_LABEL (caption), TRUE);
  gtk_label_set_lines (GTK_LABEL (caption), 2);
  gtk_label_set_ellipsize (GTK_LABEL (caption), PANGO_ELLIPSIZE_END);
  gtk_label_set_justify (GTK_LABEL (caption), GTK_JUSTIFY_CENTER);
  gtk_label_set_max_width_chars (GTK_LABEL (caption), 22);
  gtk_widget_set_size_request (caption, 160, -1);
  gtk_widget_add_css_class (caption, "caption");

  gtk_box_append (GTK_BOX (thumb), overlay);
  gtk_box_append (GTK_BOX (thumb), caption);
  g_object_set_data (G_OBJECT (thumb), "picture", picture);
  g_object_set_data (G_OBJECT (thumb), "chosen", chosen);
  g_object_set_data (G_OBJECT (thumb), "caption", caption);

  g_object_set_data (G_OBJECT (click), "list-item", item);
  g_signal_connect (click, "released", G_CALLBACK (thumb_released_cb), self);
  gtk_widget_add_controller (thumb, GTK_EVENT_CONTROLLER (click));

  gtk_list_item_set_child (item, thumb);
}

static void
history_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 CandorIllustrationsView  *self)
{
  CandorIllustration *illustration = gtk_list_item_get_item (item);
  GtkWidget *thumb = gtk_list_item_get_child (item);
  GtkWidget *picture = g_object_get_data (G_OBJECT (thumb), "picture");
  GtkWidget *caption = g_object_get_data (G_OBJECT (thumb), "caption");
  g_autofree char *text = candor_illustration_dup_caption (illustration);
  const LoomImageRecord *record = candor_illustration_get_record (illustration);

  gtk_picture_set_paintable (GTK_PICTURE (picture),
                             GDK_PAINTABLE (candor_illustration_get_texture (illustration)));
  gtk_label_set_label (GTK_LABEL (caption), text);
  gtk_widget_set_tooltip_text (thumb, record != NULL ? record->prompt : NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (picture), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  record != NULL ? record->prompt : text, -1);
  g_signal_connect_object (illustration, "notify::state", G_CALLBACK (thumb_state_cb), thumb, 0);
  thumb_state_cb (illustration, NULL, thumb);
}

static void
history_unbind_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   CandorIllustrationsView  *self)
{
  CandorIllustration *illustration = gtk_list_item_get_item (item);
  GtkWidget *thumb = gtk_list_item_get_child (item);
  GtkWidget *picture = g_object_get_data (G_OBJECT (thumb), "picture");

  if (illustration != NULL)
    g_signal_handlers_disconnect_by_func (illustration, thumb_state_cb, thumb);
  gtk_picture_set_paintable (GTK_PICTURE (picture), NULL);
}

static void
history_selection_cb (CandorIllustrationsView *self)
{
  CandorIllustration *illustration;

  if (self->syncing_selection)
    return;
  illustration = gtk_single_selection_get_selected_item (self->history_selection);
  if (illustration != NULL)
    choose_illustration (self, illustration);
}

static void
history_activate_cb (CandorIllustrationsView *self,
                     guint                    position)
{
  GListModel *model = gtk_single_selection_get_model (self->history_selection);
  g_autoptr(CandorIllustration) illustration = NULL;

  if (model != NULL)
    illustration = g_list_model_get_item (model, position);
  if (illustration != NULL)
    choose_illustration (self, illustration);
}

/* The grid knows the newest item's place only once it is laid out: scroll to the end
 * on the frames that follow an append. */
static gboolean
scroll_to_end_tick_cb (GtkWidget     *widget,
                       GdkFrameClock *clock,
                       gpointer       user_data)
{
  CandorIllustrationsView *self = user_data;
  GtkAdjustment *adjustment = gtk_scrolled_window_get_hadjustment (self->history_scroller);

  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment)
                                          - gtk_adjustment_get_page_size (adjustment));
  if (++self->scroll_frames < 3)
    return G_SOURCE_CONTINUE;
  self->scroll_tick_id = 0;
  return G_SOURCE_REMOVE;
}

static void
history_changed_cb (CandorIllustrationsView *self,
                    guint                    position,
                    guint                    removed,
                    guint                    added,
                    GListModel              *model)
{
  guint n = g_list_model_get_n_items (model);

  gtk_stack_set_visible_child_name (self->history_stack, n > 0 ? "history" : "empty");
  /* The newest is the one to see. */
  if (added > 0 && position + added == n)
    {
      self->scroll_frames = 0;
      if (self->scroll_tick_id == 0)
        self->scroll_tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self->history_scroller),
                                                             scroll_to_end_tick_cb, self, NULL);
    }
  if (removed > 0 && self->selected != NULL && find_position (model, self->selected)
                                                 == GTK_INVALID_LIST_POSITION)
    set_selected (self, NULL);
}

/* The application's model. */

static void
image_model_changed_cb (CandorIllustrationsView *self)
{
  LoomImageModel *model = candor_application_get_image_model (self->application);

  if (model != self->model)
    {
      /* The job would finish on a model the panel no longer shows. */
      cancel_job (self);
      g_set_object (&self->model, model);
      if (model != NULL)
        apply_model_defaults (self);
      queue_tokens (self);
    }
  update_banner (self);
  update_actions (self);
}

/* Public API. */

/* Follows the application's image model. Call once, before set_document. */
void
candor_illustrations_view_set_application (CandorIllustrationsView *self,
                                           CandorApplication       *application)
{
  g_return_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self));
  g_return_if_fail (CANDOR_IS_APPLICATION (application));
  g_return_if_fail (self->application == NULL);

  self->application = g_object_ref (application);
  g_signal_connect_object (application, "notify::image-model",
                           G_CALLBACK (image_model_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::image-model-busy", G_CALLBACK (update_banner),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::image-model-error", G_CALLBACK (update_banner),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::image-model-progress",
                           G_CALLBACK (update_banner), self, G_CONNECT_SWAPPED);
  image_model_changed_cb (self);
}

void
candor_illustrations_view_set_document (CandorIllustrationsView *self,
                                        CandorDocument          *document)
{
  GListModel *illustrations;

  g_return_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self));
  g_return_if_fail (CANDOR_IS_DOCUMENT (document));

  if (self->document == document)
    return;
  cancel_job (self);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (candor_document_get_illustrations (self->document),
                                          self);
  g_set_object (&self->document, document);

  illustrations = candor_document_get_illustrations (document);
  self->syncing_selection = TRUE;
  gtk_single_selection_set_model (self->history_selection, illustrations);
  self->syncing_selection = FALSE;
  g_signal_connect_object (illustrations, "items-changed", G_CALLBACK (history_changed_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_stack_set_visible_child_name (self->history_stack,
                                    g_list_model_get_n_items (illustrations) > 0 ? "history"
                                                                                 : "empty");

  /* The picture on the canvas belonged to the story before: a fresh sheet instead. */
  if (canvas_has_picture (self))
    {
      CandorImageSettings settings = { 0 };

      candor_illustrations_view_get_settings (self, &settings);
      candor_canvas_set_blank (self->canvas, settings.width, settings.height);
      candor_image_settings_clear (&settings);
    }
  reset_strokes (self);
  set_selected (self, NULL);
}

CandorDocument *
candor_illustrations_view_get_document (CandorIllustrationsView *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self), NULL);
  return self->document;
}

void
candor_illustrations_view_set_story_view (CandorIllustrationsView *self,
                                          CandorStoryView         *story_view)
{
  g_return_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self));
  g_return_if_fail (story_view == NULL || CANDOR_IS_STORY_VIEW (story_view));

  g_set_weak_pointer (&self->story_view, story_view);
  update_actions (self);
}

CandorCanvas *
candor_illustrations_view_get_canvas (CandorIllustrationsView *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self), NULL);
  return self->canvas;
}

CandorIllustration *
candor_illustrations_view_get_selected (CandorIllustrationsView *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self), NULL);
  return self->selected;
}

/* The author chooses @illustration, one of the document's: shown, and logged as
 * image.select. */
void
candor_illustrations_view_select (CandorIllustrationsView *self,
                                  CandorIllustration      *illustration)
{
  g_return_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self));
  g_return_if_fail (CANDOR_IS_ILLUSTRATION (illustration));
  g_return_if_fail (self->document != NULL);
  g_return_if_fail (find_position (candor_document_get_illustrations (self->document),
                                   illustration) != GTK_INVALID_LIST_POSITION);

  choose_illustration (self, illustration);
}

gboolean
candor_illustrations_view_get_busy (CandorIllustrationsView *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self), FALSE);
  return self->job != NULL;
}

const char *
candor_illustrations_view_get_error (CandorIllustrationsView *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATIONS_VIEW (self), NULL);
  return self->error;
}

/* Canvas tools. */

static void
tool_toggled_cb (CandorIllustrationsView *self)
{
  if (gtk_toggle_button_get_active (self->eraser_button))
    candor_canvas_set_tool (self->canvas, CANDOR_CANVAS_TOOL_ERASER);
  else if (gtk_toggle_button_get_active (self->mask_button))
    candor_canvas_set_tool (self->canvas, CANDOR_CANVAS_TOOL_MASK);
  else
    candor_canvas_set_tool (self->canvas, CANDOR_CANVAS_TOOL_BRUSH);
}

static void
brush_changed_cb (CandorIllustrationsView *self)
{
  GdkRGBA color;

  candor_canvas_set_brush_size (self->canvas, gtk_adjustment_get_value (self->size_adjustment));
  candor_canvas_set_hardness (self->canvas, gtk_adjustment_get_value (self->hardness_adjustment));
  candor_canvas_set_opacity (self->canvas, gtk_adjustment_get_value (self->opacity_adjustment));
  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (self->color_button), &color);
  candor_canvas_set_color (self->canvas, &color);
}

/* GObject. */

static void
candor_illustrations_view_dispose (GObject *object)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (object);

  cancel_job (self);
  g_clear_handle_id (&self->tokens_id, g_source_remove);
  if (self->scroll_tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self->history_scroller), self->scroll_tick_id);
  self->scroll_tick_id = 0;
  if (self->export_dialog != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->export_dialog, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->export_dialog));
      g_clear_object (&self->export_dialog);
    }
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (candor_document_get_illustrations (self->document),
                                          self);
  gtk_widget_dispose_template (GTK_WIDGET (self), CANDOR_TYPE_ILLUSTRATIONS_VIEW);
  g_clear_object (&self->history_selection);
  g_clear_weak_pointer (&self->story_view);
  if (self->selected != NULL)
    g_signal_handlers_disconnect_by_func (self->selected, update_actions, self);
  g_clear_object (&self->selected);
  g_clear_object (&self->model);
  g_clear_object (&self->document);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (candor_illustrations_view_parent_class)->dispose (object);
}

static void
candor_illustrations_view_finalize (GObject *object)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (object);

  g_clear_pointer (&self->sizes, g_array_unref);
  g_clear_object (&self->size_list);
  g_free (self->brush_event_id);
  g_free (self->error);

  G_OBJECT_CLASS (candor_illustrations_view_parent_class)->finalize (object);
}

static void
candor_illustrations_view_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  CandorIllustrationsView *self = CANDOR_ILLUSTRATIONS_VIEW (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->job != NULL);
      break;
    case PROP_STEP:
      g_value_set_uint (value, self->step);
      break;
    case PROP_N_STEPS:
      g_value_set_uint (value, self->n_steps);
      break;
    case PROP_BATCH_INDEX:
      g_value_set_uint (value, self->batch_index);
      break;
    case PROP_SELECTED:
      g_value_set_object (value, self->selected);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_illustrations_view_class_init (CandorIllustrationsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = candor_illustrations_view_dispose;
  object_class->finalize = candor_illustrations_view_finalize;
  object_class->get_property = candor_illustrations_view_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STEP] =
    g_param_spec_uint ("step", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_STEPS] =
    g_param_spec_uint ("n-steps", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BATCH_INDEX] =
    g_param_spec_uint ("batch-index", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] =
    g_param_spec_object ("selected", NULL, NULL, CANDOR_TYPE_ILLUSTRATION,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CANDOR_TYPE_CANVAS);
  g_type_ensure (CANDOR_TYPE_DEVICE_STATUS);
  g_type_ensure (CANDOR_TYPE_MODEL_BANNER);
  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/candorapp/Candor/ui/candor-illustrations-view.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, banner);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, prompt_view);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, prompt_tokens);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, negative_view);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, negative_tokens);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, seed_row);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, seed_lock_button);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, seed_copy_button);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, steps_spin);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, cfg_spin);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, sampler_row);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, size_row);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, strength_spin);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, brush_button);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, eraser_button);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, mask_button);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, size_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, color_button);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, hardness_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, canvas);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, progress_box);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, empty_canvas);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, progress_label);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, history_stack);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, history_scroller);
  gtk_widget_class_bind_template_child (widget_class, CandorIllustrationsView, history_view);

  gtk_widget_class_install_action (widget_class, "illustrations.generate", NULL, generate_action);
  gtk_widget_class_install_action (widget_class, "illustrations.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "illustrations.refine", NULL, refine_action);
  gtk_widget_class_install_action (widget_class, "illustrations.inpaint", NULL, inpaint_action);
  gtk_widget_class_install_action (widget_class, "illustrations.vary", NULL, vary_action);
  gtk_widget_class_install_action (widget_class, "illustrations.reuse", NULL, reuse_action);
  gtk_widget_class_install_action (widget_class, "illustrations.discard", NULL, discard_action);
  gtk_widget_class_install_action (widget_class, "illustrations.place", NULL, place_action);
  gtk_widget_class_install_action (widget_class, "illustrations.export-png", NULL,
                                   export_png_action);
  /* Export without the dialog, to the path given (for tests and scripts). */
  gtk_widget_class_install_action (widget_class, "illustrations.export-png-to", "s",
                                   export_png_to_action);
  gtk_widget_class_install_action (widget_class, "illustrations.use-passage", NULL,
                                   use_passage_action);
  gtk_widget_class_install_action (widget_class, "illustrations.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "illustrations.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "illustrations.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_install_action (widget_class, "illustrations.zoom-100", NULL, zoom_100_action);
  gtk_widget_class_install_action (widget_class, "illustrations.new-sketch", NULL,
                                   new_sketch_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "illustrations.generate", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK,
                                       "illustrations.generate", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "illustrations.cancel", NULL);
}

/* The prompts' text views take Ctrl+Enter as a new line before the view's own bindings
 * see it: read it in the capture phase, as the Story view does. */
static void
add_generate_shortcut (CandorIllustrationsView *self)
{
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();

  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (
    GTK_SHORTCUT_CONTROLLER (shortcuts),
    gtk_shortcut_new (gtk_alternative_trigger_new (
                        gtk_keyval_trigger_new (GDK_KEY_Return, GDK_CONTROL_MASK),
                        gtk_keyval_trigger_new (GDK_KEY_KP_Enter, GDK_CONTROL_MASK)),
                      gtk_named_action_new ("illustrations.generate")));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
}

static void
candor_illustrations_view_init (CandorIllustrationsView *self)
{
  g_autoptr(GtkStringList) sampler_list = gtk_string_list_new (NULL);
  GtkListItemFactory *factory;
  GdkRGBA ink = { 0.0, 0.0, 0.0, 1.0 };

  gtk_widget_init_template (GTK_WIDGET (self));

  for (guint i = 0; i < G_N_ELEMENTS (samplers); i++)
    gtk_string_list_append (sampler_list, _(samplers[i].label));
  adw_combo_row_set_model (self->sampler_row, G_LIST_MODEL (sampler_list));

  self->sizes = g_array_new (FALSE, FALSE, sizeof (SizePreset));
  self->size_list = gtk_string_list_new (NULL);
  adw_combo_row_set_model (self->size_row, G_LIST_MODEL (self->size_list));
  fill_sizes (self, 512);

  self->history_selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->history_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->history_selection, TRUE);
  g_signal_connect_swapped (self->history_selection, "selection-changed",
                            G_CALLBACK (history_selection_cb), self);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (history_setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (history_bind_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (history_unbind_cb), self);
  gtk_grid_view_set_factory (self->history_view, factory);
  g_object_unref (factory);
  /* set_model takes its own reference (unlike gtk_grid_view_new). */
  gtk_grid_view_set_model (self->history_view, GTK_SELECTION_MODEL (self->history_selection));
  g_signal_connect_swapped (self->history_view, "activate", G_CALLBACK (history_activate_cb),
                            self);

  g_signal_connect_swapped (gtk_text_view_get_buffer (self->prompt_view), "changed",
                            G_CALLBACK (queue_tokens), self);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->negative_view), "changed",
                            G_CALLBACK (queue_tokens), self);
  g_signal_connect_swapped (self->seed_row, "changed", G_CALLBACK (seed_changed_cb), self);
  set_seed (self, 0);
  g_signal_connect_swapped (self->seed_lock_button, "toggled", G_CALLBACK (update_seed_row), self);
  g_signal_connect_swapped (self->seed_copy_button, "clicked", G_CALLBACK (copy_seed_cb), self);
  update_seed_row (self);

  g_signal_connect_swapped (self->brush_button, "toggled", G_CALLBACK (tool_toggled_cb), self);
  g_signal_connect_swapped (self->eraser_button, "toggled", G_CALLBACK (tool_toggled_cb), self);
  g_signal_connect_swapped (self->mask_button, "toggled", G_CALLBACK (tool_toggled_cb), self);
  gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (self->color_button), &ink);
  g_signal_connect_swapped (self->size_adjustment, "value-changed", G_CALLBACK (brush_changed_cb),
                            self);
  g_signal_connect_swapped (self->hardness_adjustment, "value-changed",
                            G_CALLBACK (brush_changed_cb), self);
  g_signal_connect_swapped (self->opacity_adjustment, "value-changed",
                            G_CALLBACK (brush_changed_cb), self);
  g_signal_connect_swapped (self->color_button, "color-set", G_CALLBACK (brush_changed_cb), self);
  tool_toggled_cb (self);
  brush_changed_cb (self);

  add_generate_shortcut (self);
  g_signal_connect (self->canvas, "stroke-finished", G_CALLBACK (stroke_finished_cb), self);
  g_signal_connect_swapped (self->canvas, "notify::can-undo", G_CALLBACK (update_actions), self);
  g_signal_connect_swapped (self->canvas, "notify::can-redo", G_CALLBACK (update_actions), self);

  update_banner (self);
  update_actions (self);
  queue_tokens (self);
}
