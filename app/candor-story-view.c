/* candor-story-view.c — CandorStoryView.
 *
 * Keys (also in the shortcuts window): Tab accepts the suggestion, Ctrl+→ its next word
 * and Ctrl+Shift+→ its next sentence — those two only while a suggestion shows, else
 * they move and select as usual; Alt+] and Alt+[ cycle the alternatives; Esc dismisses
 * (or stops Continue); Ctrl+Space asks for a suggestion now; Ctrl+Enter continues the
 * story; Ctrl+Z and Ctrl+Shift+Z undo and redo through the document, which restores the
 * origins with the text. They are read in the capture phase, before the text view's own
 * bindings, so a key that does not apply falls through to them. Ctrl+M opens the story
 * notes (memory and author's note), edited in place: they are the document's.
 *
 * Drag and drop stays GtkTextView's own (drop position, scrolling, move or copy); the view
 * only tells the document where dropped text comes from, so a move keeps its origins.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "candor-application.h"
#include "candor-model-banner.h"
#include "candor-story-text.h"
#include "candor-story-view.h"

struct _CandorStoryView
{
  AdwBin                      parent_instance;

  CandorApplication          *application;  /* owned */
  CandorDocument             *document;     /* owned */
  CandorSuggestionController *controller;   /* owned */
  GtkTextTag                 *origin_tags[LOOM_N_ORIGINS];  /* in the buffer's tag table */
  gboolean                    color_by_origin;
  gboolean                    tags_applied;
  guint                       refresh_id;   /* coalesced colours and summary */

  CandorModelBanner          *banner;
  GtkScrolledWindow          *scroller;
  CandorStoryText            *text_view;
  GtkLabel                   *summary_label;
  GtkBox                     *legend;
  GtkSpinner                 *busy_spinner;
  GtkMenuButton              *context_button;
  GtkLabel                   *context_label;
  GtkToggleButton            *color_button;
  GtkMenuButton              *notes_button;
  GtkPopover                 *notes_popover;
  GtkTextView                *memory_view;
  GtkTextView                *authors_note_view;

  /* The document's "memory" and "authors-note" ↔ the notes editors; a group follows the
   * document without holding it, whichever of the two goes first. */
  GBindingGroup              *notes_bindings;
};

G_DEFINE_FINAL_TYPE (CandorStoryView, candor_story_view, ADW_TYPE_BIN)

/* Tints of the origins; the legend's swatches use the same in style.css. Text the author
 * typed stays as it is. */
static const struct
{
  const char *color;
  const char *label;
} origin_styles[LOOM_N_ORIGINS] = {
  [LOOM_ORIGIN_HUMAN_TYPED] = { NULL, N_("Typed") },
  [LOOM_ORIGIN_AI_ACCEPTED] = { "rgba(53,132,228,0.22)", N_("Model") },
  [LOOM_ORIGIN_AI_EDITED] = { "rgba(145,65,172,0.22)", N_("Model, edited") },
  [LOOM_ORIGIN_PASTED] = { "rgba(229,165,10,0.28)", N_("Pasted") },
  [LOOM_ORIGIN_IMPORTED] = { "rgba(119,118,123,0.22)", N_("Imported") },
};

CandorDocument *
candor_story_view_get_document (CandorStoryView *self)
{
  g_return_val_if_fail (CANDOR_IS_STORY_VIEW (self), NULL);
  return self->document;
}

CandorSuggestionController *
candor_story_view_get_controller (CandorStoryView *self)
{
  g_return_val_if_fail (CANDOR_IS_STORY_VIEW (self), NULL);
  return self->controller;
}

GtkTextView *
candor_story_view_get_text_view (CandorStoryView *self)
{
  g_return_val_if_fail (CANDOR_IS_STORY_VIEW (self), NULL);
  return GTK_TEXT_VIEW (self->text_view);
}

/* The banner says what stands between the author and suggestions: no model chosen, the
 * model loading, or why it failed. */
static void
update_banner (CandorStoryView *self)
{
  LoomTextModel *model = NULL;
  const char *error = NULL, *failure = NULL;
  gboolean busy = FALSE;
  double progress = 0.0;

  if (self->application != NULL)
    {
      progress = candor_application_get_text_model_progress (self->application);
      model = candor_application_get_text_model (self->application);
      error = candor_application_get_text_model_error (self->application);
      busy = candor_application_get_text_model_busy (self->application);
    }
  if (self->controller != NULL)
    failure = candor_suggestion_controller_get_error (self->controller);

  if (busy)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_BUSY,
                              _("Loading the text model…"),
                              _("Suggestions start when it is ready."), progress);
  else if (error != NULL)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_ERROR,
                              _("The text model could not be loaded"), error, 0.0);
  else if (model == NULL)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_INFO, _("No text model"),
                              _("Suggestions need a language model in GGUF format, such as a "
                                "Llama, Mistral or SmolLM file. Choose one with Open Model…; "
                                "you can write without one."), 0.0);
  else if (failure != NULL)
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_ERROR,
                              _("The model could not write a suggestion"), failure, 0.0);
  else
    candor_model_banner_show (self->banner, CANDOR_MODEL_BANNER_HIDDEN, NULL, NULL, 0.0);
}

static void
text_model_changed_cb (CandorStoryView *self)
{
  if (self->controller != NULL)
    candor_suggestion_controller_set_model (self->controller,
                                            candor_application_get_text_model (self->application));
  update_banner (self);
}

/* Colours and summary follow the document, at most once per main-loop turn. */
static gboolean
refresh_cb (gpointer user_data)
{
  CandorStoryView *self = user_data;
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autoptr(LoomProvenanceSummary) summary = NULL;
  g_autofree char *shares = NULL;
  g_autofree char *counts = NULL;
  g_autofree char *label = NULL;

  self->refresh_id = 0;
  if (self->document == NULL)
    return G_SOURCE_REMOVE;

  buffer = candor_document_get_buffer (self->document);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  if (self->tags_applied)
    for (guint o = 0; o < LOOM_N_ORIGINS; o++)
      if (self->origin_tags[o] != NULL)
        gtk_text_buffer_remove_tag (buffer, self->origin_tags[o], &start, &end);
  self->tags_applied = self->color_by_origin;
  if (self->color_by_origin)
    {
      LoomAuthorship *authorship = candor_document_get_authorship (self->document);
      guint n = loom_authorship_get_n_runs (authorship);

      for (guint i = 0; i < n; i++)
        {
          guint offset, length;
          LoomOrigin origin;
          GtkTextIter from, to;

          loom_authorship_get_run (authorship, i, &offset, &length, &origin);
          if (origin >= LOOM_N_ORIGINS || self->origin_tags[origin] == NULL)
            continue;
          gtk_text_buffer_get_iter_at_offset (buffer, &from, offset);
          gtk_text_buffer_get_iter_at_offset (buffer, &to, offset + length);
          gtk_text_buffer_apply_tag (buffer, self->origin_tags[origin], &from, &to);
        }
    }

  summary = candor_document_dup_summary (self->document);
  if (summary->total_chars == 0)
    shares = g_strdup (_("No text yet"));
  else
    {
      /* The origins the story has, in a fixed order; the model's, edited or not, as one. */
      double model = summary->char_share[LOOM_ORIGIN_AI_ACCEPTED]
                     + summary->char_share[LOOM_ORIGIN_AI_EDITED];
      GString *parts = g_string_new (NULL);

      g_string_append_printf (parts, _("Typed %.0f%%"),
                              100.0 * summary->char_share[LOOM_ORIGIN_HUMAN_TYPED]);
      if (model > 0.0)
        {
          g_string_append (parts, " · ");
          g_string_append_printf (parts, _("Model %.0f%%"), 100.0 * model);
        }
      if (summary->char_share[LOOM_ORIGIN_PASTED] > 0.0)
        {
          g_string_append (parts, " · ");
          g_string_append_printf (parts, _("Pasted %.0f%%"),
                                  100.0 * summary->char_share[LOOM_ORIGIN_PASTED]);
        }
      if (summary->char_share[LOOM_ORIGIN_IMPORTED] > 0.0)
        {
          g_string_append (parts, " · ");
          g_string_append_printf (parts, _("Imported %.0f%%"),
                                  100.0 * summary->char_share[LOOM_ORIGIN_IMPORTED]);
        }
      shares = g_string_free (parts, FALSE);
    }
  /* Translators: what the author did with the model's suggestions. */
  counts = g_strdup_printf (_("%u accepted, %u edited, %u rejected"), summary->accepted,
                            summary->accepted_then_edited, summary->rejected);
  label = g_strconcat (shares, "  —  ", counts, NULL);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->summary_label),
                               _("Share of the story’s characters by origin, and what became of "
                                 "the model’s suggestions (edited: accepted, then changed)"));
  gtk_label_set_label (self->summary_label, label);
  return G_SOURCE_REMOVE;
}

static void
queue_refresh (CandorStoryView *self)
{
  if (self->refresh_id == 0)
    self->refresh_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, refresh_cb, self, NULL);
}

static void
color_setting_changed_cb (CandorStoryView *self)
{
  GSettings *settings = candor_application_get_settings (self->application);

  self->color_by_origin = g_settings_get_boolean (settings, "color-by-origin");
  gtk_widget_set_visible (GTK_WIDGET (self->legend), self->color_by_origin);
  queue_refresh (self);
}

static void
controller_state_cb (CandorStoryView *self)
{
  const char *context = candor_suggestion_controller_get_context (self->controller);
  gboolean streaming = candor_suggestion_controller_get_streaming (self->controller);

  gtk_spinner_set_spinning (self->busy_spinner,
                            candor_suggestion_controller_get_busy (self->controller));
  gtk_label_set_label (self->context_label,
                       context != NULL ? context : _("Nothing has been sent to the model yet."));
  /* Continue writes at the end of its own text: the author waits, or presses Esc. */
  gtk_text_view_set_editable (GTK_TEXT_VIEW (self->text_view), !streaming);
  update_banner (self);
}

/* The notes editors show the document's notes and write to them as the author types. */
static void
bind_notes (CandorStoryView *self)
{
  if (self->notes_bindings == NULL)
    {
      self->notes_bindings = g_binding_group_new ();
      g_binding_group_bind (self->notes_bindings, "memory",
                            gtk_text_view_get_buffer (self->memory_view), "text",
                            G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
      g_binding_group_bind (self->notes_bindings, "authors-note",
                            gtk_text_view_get_buffer (self->authors_note_view), "text",
                            G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
    }
  g_binding_group_set_source (self->notes_bindings, self->document);
}

static void
edit_notes_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CandorStoryView *self = CANDOR_STORY_VIEW (widget);

  gtk_menu_button_popup (self->notes_button);
  gtk_widget_grab_focus (GTK_WIDGET (self->memory_view));
}

static void
notes_closed_cb (CandorStoryView *self)
{
  /* Back to the story, where the author was writing. */
  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

static void
drag_ended_cb (CandorStoryView *self)
{
  if (self->document != NULL)
    candor_document_end_move (self->document);
}

/* Whether @drag carries the selection of @buffer. The text view drags its selection as
 * gtk_text_buffer_get_selection_content(), a copy of the buffer made when the drag began,
 * with the buffer's tag table (each document has its own) and the same selection. */
static gboolean
drag_is_from_buffer (GdkDrag       *drag,
                     GtkTextBuffer *buffer)
{
  g_auto(GValue) value = G_VALUE_INIT;
  g_autofree char *dragged = NULL;
  g_autofree char *selected = NULL;
  GtkTextBuffer *copy;
  GtkTextIter start, end;

  g_value_init (&value, GTK_TYPE_TEXT_BUFFER);
  if (!gdk_content_provider_get_value (gdk_drag_get_content (drag), &value, NULL))
    return FALSE;
  copy = g_value_get_object (&value);
  if (copy == NULL
      || gtk_text_buffer_get_tag_table (copy) != gtk_text_buffer_get_tag_table (buffer)
      || !gtk_text_buffer_get_selection_bounds (copy, &start, &end))
    return FALSE;
  dragged = gtk_text_iter_get_slice (&start, &end);
  if (!gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    return FALSE;
  selected = gtk_text_iter_get_slice (&start, &end);

  return g_str_equal (dragged, selected);
}

/* The text view's drop target has read the dropped text and is about to insert it at
 * the drop point. Dragged from this story's own selection, it is a move (or a copy)
 * whose origins the document keeps; from elsewhere in Candor, an internal paste; from
 * another application, an external one. */
static void
drop_value_cb (CandorStoryView *self,
               GParamSpec      *pspec,
               GtkDropTarget   *target)
{
  GdkDrop *drop = gtk_drop_target_get_current_drop (target);
  GdkDrag *drag = drop != NULL ? gdk_drop_get_drag (drop) : NULL;
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  /* The value is cleared again when the drop ends. */
  if (gtk_drop_target_get_value (target) == NULL || self->document == NULL)
    return;

  buffer = candor_document_get_buffer (self->document);
  if (drag != NULL && drag_is_from_buffer (drag, buffer)
      && gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    {
      candor_document_begin_move (self->document, &start, &end);
      /* After GtkTextView's own handler, which deletes the dragged text on a move. */
      g_signal_connect_object (drag, "dnd-finished", G_CALLBACK (drag_ended_cb), self,
                               G_CONNECT_SWAPPED | G_CONNECT_AFTER);
      g_signal_connect_object (drag, "cancel", G_CALLBACK (drag_ended_cb), self,
                               G_CONNECT_SWAPPED | G_CONNECT_AFTER);
    }
  else
    candor_document_mark_paste (self->document, drag != NULL);
}

/* GtkTextView takes drops with a GtkDropTarget of its own, whose "value" is set right
 * before the "drop" that inserts it. */
static void
watch_drops (CandorStoryView *self)
{
  g_autoptr(GListModel) controllers = NULL;

  controllers = gtk_widget_observe_controllers (GTK_WIDGET (self->text_view));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (c))
        g_signal_connect_swapped (c, "notify::value", G_CALLBACK (drop_value_cb), self);
    }
}

static void
paste_clipboard_cb (CandorStoryView *self)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (self->text_view));

  /* Text copied from Candor itself is an internal paste. */
  candor_document_mark_paste (self->document, gdk_clipboard_is_local (clipboard));
}

void
candor_story_view_set_document (CandorStoryView *self,
                                CandorDocument  *document)
{
  GtkTextBuffer *buffer;
  GtkTextTagTable *table;

  g_return_if_fail (CANDOR_IS_STORY_VIEW (self));
  g_return_if_fail (CANDOR_IS_DOCUMENT (document));
  g_return_if_fail (self->application != NULL);

  if (self->document == document)
    return;
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  if (self->controller != NULL)
    g_signal_handlers_disconnect_by_data (self->controller, self);
  g_clear_object (&self->controller);
  g_set_object (&self->document, document);

  buffer = candor_document_get_buffer (document);
  table = gtk_text_buffer_get_tag_table (buffer);
  for (guint o = 0; o < LOOM_N_ORIGINS; o++)
    {
      g_autofree char *name = g_strconcat ("candor-origin-", loom_origin_to_string (o), NULL);
      self->origin_tags[o] = gtk_text_tag_table_lookup (table, name);
      if (self->origin_tags[o] == NULL && origin_styles[o].color != NULL)
        self->origin_tags[o] = gtk_text_buffer_create_tag (buffer, name, "background",
                                                           origin_styles[o].color, NULL);
    }

  self->controller = candor_suggestion_controller_new (
    document, candor_application_get_settings (self->application));
  candor_suggestion_controller_set_model (self->controller,
                                          candor_application_get_text_model (self->application));
  candor_story_text_set_controller (self->text_view, self->controller);
  g_signal_connect_swapped (self->controller, "notify::busy", G_CALLBACK (controller_state_cb),
                            self);
  g_signal_connect_swapped (self->controller, "notify::streaming", G_CALLBACK (controller_state_cb),
                            self);
  g_signal_connect_swapped (self->controller, "notify::context", G_CALLBACK (controller_state_cb),
                            self);
  g_signal_connect_swapped (self->controller, "notify::error", G_CALLBACK (controller_state_cb),
                            self);
  g_signal_connect_swapped (document, "changed", G_CALLBACK (queue_refresh), self);
  bind_notes (self);

  controller_state_cb (self);
  queue_refresh (self);
}

/* Follows the application's text model and settings. Call once, before set_document. */
void
candor_story_view_set_application (CandorStoryView   *self,
                                   CandorApplication *application)
{
  GSettings *settings;

  g_return_if_fail (CANDOR_IS_STORY_VIEW (self));
  g_return_if_fail (CANDOR_IS_APPLICATION (application));
  g_return_if_fail (self->application == NULL);

  self->application = g_object_ref (application);
  settings = candor_application_get_settings (application);
  g_signal_connect_object (application, "notify::text-model", G_CALLBACK (text_model_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::text-model-busy", G_CALLBACK (update_banner),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::text-model-error", G_CALLBACK (update_banner),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::text-model-progress",
                           G_CALLBACK (update_banner), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::color-by-origin",
                           G_CALLBACK (color_setting_changed_cb), self, G_CONNECT_SWAPPED);
  color_setting_changed_cb (self);
  update_banner (self);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *key,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                CandorStoryView       *self)
{
  CandorSuggestionController *c = self->controller;
  gboolean showing;

  if (c == NULL)
    return FALSE;
  showing = candor_suggestion_controller_get_ghost_text (c) != NULL;
  state &= gtk_accelerator_get_default_mod_mask ();

  switch (keyval)
    {
    case GDK_KEY_Tab:
    case GDK_KEY_KP_Tab:
      return state == 0 && showing && candor_suggestion_controller_accept (c, CANDOR_ACCEPT_ALL);
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      if (!showing)
        return FALSE;
      if (state == GDK_CONTROL_MASK)
        return candor_suggestion_controller_accept (c, CANDOR_ACCEPT_WORD);
      if (state == (GDK_CONTROL_MASK | GDK_SHIFT_MASK))
        return candor_suggestion_controller_accept (c, CANDOR_ACCEPT_SENTENCE);
      return FALSE;
    case GDK_KEY_bracketright:
      return state == GDK_ALT_MASK && candor_suggestion_controller_cycle (c, +1);
    case GDK_KEY_bracketleft:
      return state == GDK_ALT_MASK && candor_suggestion_controller_cycle (c, -1);
    case GDK_KEY_Escape:
      return state == 0 && candor_suggestion_controller_dismiss (c);
    case GDK_KEY_space:
      if (state != GDK_CONTROL_MASK)
        return FALSE;
      candor_suggestion_controller_request (c);
      return TRUE;
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
      if (state != GDK_CONTROL_MASK)
        return FALSE;
      candor_suggestion_controller_continue (c);
      return TRUE;
    case GDK_KEY_z:
    case GDK_KEY_Z:
      if (state == GDK_CONTROL_MASK)
        {
          if (candor_document_can_undo (self->document))
            candor_document_undo (self->document);
          return TRUE;
        }
      if (state == (GDK_CONTROL_MASK | GDK_SHIFT_MASK))
        {
          if (candor_document_can_redo (self->document))
            candor_document_redo (self->document);
          return TRUE;
        }
      return FALSE;
    default:
      return FALSE;
    }
}

static void
candor_story_view_dispose (GObject *object)
{
  CandorStoryView *self = CANDOR_STORY_VIEW (object);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (self->notes_bindings != NULL)
    g_binding_group_set_source (self->notes_bindings, NULL);
  g_clear_object (&self->notes_bindings);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  if (self->controller != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->controller, self);
      /* Stops generation now, not when the last job lets go of it. */
      candor_suggestion_controller_set_model (self->controller, NULL);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), CANDOR_TYPE_STORY_VIEW);
  g_clear_object (&self->controller);
  g_clear_object (&self->document);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (candor_story_view_parent_class)->dispose (object);
}

static void
candor_story_view_class_init (CandorStoryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = candor_story_view_dispose;

  g_type_ensure (CANDOR_TYPE_MODEL_BANNER);
  g_type_ensure (CANDOR_TYPE_STORY_TEXT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/candorapp/Candor/ui/candor-story-view.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, banner);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, scroller);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, text_view);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, summary_label);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, legend);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, context_button);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, context_label);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, color_button);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, notes_button);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, notes_popover);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, memory_view);
  gtk_widget_class_bind_template_child (widget_class, CandorStoryView, authors_note_view);

  gtk_widget_class_install_action (widget_class, "story.edit-notes", NULL, edit_notes_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, GDK_CONTROL_MASK,
                                       "story.edit-notes", NULL);
}

static void
candor_story_view_init (CandorStoryView *self)
{
  GtkEventController *key;

  gtk_widget_init_template (GTK_WIDGET (self));

  key = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->text_view), key);
  g_signal_connect_swapped (self->text_view, "paste-clipboard", G_CALLBACK (paste_clipboard_cb),
                            self);
  g_signal_connect_swapped (self->notes_popover, "closed", G_CALLBACK (notes_closed_cb), self);

  watch_drops (self);

  for (guint o = 0; o < LOOM_N_ORIGINS; o++)
    {
      GtkWidget *item = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *swatch = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
      GtkWidget *label = gtk_label_new (_(origin_styles[o].label));

      gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (swatch, "origin-swatch");
      gtk_widget_add_css_class (swatch, loom_origin_to_string (o));
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (GTK_BOX (item), swatch);
      gtk_box_append (GTK_BOX (item), label);
      gtk_box_append (self->legend, item);
    }
}
