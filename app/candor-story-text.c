/* candor-story-text.c — CandorStoryText.
 *
 * The ghost text is drawn, not inserted: it is a PangoLayout in the text's font laid
 * over the view after the text (the ABOVE_TEXT layer), starting at the cursor and
 * wrapping at the view's width like the text would, so the buffer, its undo history and
 * the authorship record never see it. Suggestions are only offered at the end of a line,
 * so it covers nothing; when it runs past the end of the story the bottom margin grows
 * to make room for it.
 */
#include "config.h"

#include "candor-story-text.h"

struct _CandorStoryText
{
  GtkTextView                 parent_instance;

  CandorSuggestionController *controller;  /* owned */
  int                         base_bottom_margin;
};

G_DEFINE_FINAL_TYPE (CandorStoryText, candor_story_text, GTK_TYPE_TEXT_VIEW)

enum
{
  PROP_0,
  PROP_CONTROLLER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The ghost text laid out from the cursor: @x, @y receive where the layout goes, in
 * buffer coordinates. Returns NULL when there is none. */
static PangoLayout *
ghost_layout (CandorStoryText *self,
              int             *x,
              int             *y,
              int             *line_height)
{
  GtkTextView *view = GTK_TEXT_VIEW (self);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  const char *ghost;
  GtkTextIter cursor, line_start;
  GdkRectangle at_cursor, at_start, visible;
  PangoLayout *layout;
  int width;

  if (self->controller == NULL)
    return NULL;
  ghost = candor_suggestion_controller_get_ghost_text (self->controller);
  if (ghost == NULL || *ghost == '\0')
    return NULL;

  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  line_start = cursor;
  gtk_text_view_backward_display_line_start (view, &line_start);
  gtk_text_view_get_iter_location (view, &cursor, &at_cursor);
  gtk_text_view_get_iter_location (view, &line_start, &at_start);
  gtk_text_view_get_visible_rect (view, &visible);
  width = visible.width - at_start.x - gtk_text_view_get_right_margin (view);
  if (width <= 0)
    return NULL;

  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), ghost);
  pango_layout_set_width (layout, width * PANGO_SCALE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  /* The first line starts at the cursor, the others at the text's left edge. */
  pango_layout_set_indent (layout, (at_cursor.x - at_start.x) * PANGO_SCALE);
  *x = at_start.x;
  *y = at_cursor.y;
  *line_height = at_cursor.height;
  return layout;
}

/* Makes room below the story for ghost text that runs past its end. */
static void
update_margin (CandorStoryText *self)
{
  GtkTextView *view = GTK_TEXT_VIEW (self);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  g_autoptr(PangoLayout) layout = NULL;
  int x, y, line_height, extra = 0;
  GtkTextIter cursor;

  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  layout = ghost_layout (self, &x, &y, &line_height);
  if (layout != NULL
      && gtk_text_iter_get_line (&cursor) == gtk_text_buffer_get_line_count (buffer) - 1)
    {
      int height;
      pango_layout_get_pixel_size (layout, NULL, &height);
      extra = MAX (0, height - line_height);
    }
  if (gtk_text_view_get_bottom_margin (view) != self->base_bottom_margin + extra)
    gtk_text_view_set_bottom_margin (view, self->base_bottom_margin + extra);
}

static void
ghost_changed_cb (CandorStoryText *self)
{
  update_margin (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
candor_story_text_snapshot_layer (GtkTextView      *view,
                                  GtkTextViewLayer  layer,
                                  GtkSnapshot      *snapshot)
{
  CandorStoryText *self = CANDOR_STORY_TEXT (view);
  g_autoptr(PangoLayout) layout = NULL;
  GdkRGBA color;
  int x, y, line_height;

  if (layer != GTK_TEXT_VIEW_LAYER_ABOVE_TEXT)
    return;
  layout = ghost_layout (self, &x, &y, &line_height);
  if (layout == NULL)
    return;

  /* The text's own colour, dimmed: readable, yet plainly not written. */
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &color);
  color.alpha *= 0.45f;
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, &color);
  gtk_snapshot_restore (snapshot);
}

CandorSuggestionController *
candor_story_text_get_controller (CandorStoryText *self)
{
  g_return_val_if_fail (CANDOR_IS_STORY_TEXT (self), NULL);
  return self->controller;
}

void
candor_story_text_set_controller (CandorStoryText            *self,
                                  CandorSuggestionController *controller)
{
  g_return_if_fail (CANDOR_IS_STORY_TEXT (self));
  g_return_if_fail (controller == NULL || CANDOR_IS_SUGGESTION_CONTROLLER (controller));

  if (self->controller == controller)
    return;
  if (self->controller != NULL)
    g_signal_handlers_disconnect_by_data (self->controller, self);
  g_set_object (&self->controller, controller);
  if (controller != NULL)
    {
      CandorDocument *document = candor_suggestion_controller_get_document (controller);
      gtk_text_view_set_buffer (GTK_TEXT_VIEW (self), candor_document_get_buffer (document));
      g_signal_connect_swapped (controller, "notify::ghost-text", G_CALLBACK (ghost_changed_cb),
                                self);
    }
  ghost_changed_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTROLLER]);
}

static void
candor_story_text_dispose (GObject *object)
{
  CandorStoryText *self = CANDOR_STORY_TEXT (object);

  if (self->controller != NULL)
    g_signal_handlers_disconnect_by_data (self->controller, self);
  g_clear_object (&self->controller);

  G_OBJECT_CLASS (candor_story_text_parent_class)->dispose (object);
}

static void
candor_story_text_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  CandorStoryText *self = CANDOR_STORY_TEXT (object);

  switch (prop_id)
    {
    case PROP_CONTROLLER:
      g_value_set_object (value, self->controller);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_story_text_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  CandorStoryText *self = CANDOR_STORY_TEXT (object);

  switch (prop_id)
    {
    case PROP_CONTROLLER:
      candor_story_text_set_controller (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_story_text_class_init (CandorStoryTextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkTextViewClass *text_view_class = GTK_TEXT_VIEW_CLASS (klass);

  object_class->dispose = candor_story_text_dispose;
  object_class->get_property = candor_story_text_get_property;
  object_class->set_property = candor_story_text_set_property;
  text_view_class->snapshot_layer = candor_story_text_snapshot_layer;

  properties[PROP_CONTROLLER] =
    g_param_spec_object ("controller", NULL, NULL, CANDOR_TYPE_SUGGESTION_CONTROLLER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "textview");
}

static void
candor_story_text_init (CandorStoryText *self)
{
  self->base_bottom_margin = 48;
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (self), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (self), self->base_bottom_margin);
  gtk_widget_add_css_class (GTK_WIDGET (self), "story-text");
}
