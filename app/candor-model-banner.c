/* candor-model-banner.c — CandorModelBanner, the model banner of the Story and
 * Illustrations views. The views decide what it says; it only shows it. */
#include "config.h"

#include "candor-model-banner.h"

struct _CandorModelBanner
{
  GtkWidget       parent_instance;

  GtkRevealer    *revealer;
  GtkWidget      *box;
  GtkStack       *icon_stack;
  GtkSpinner     *spinner;
  GtkLabel       *title_label;
  GtkLabel       *detail_label;
  GtkProgressBar *progress_bar;
  GtkButton      *button;
};

G_DEFINE_FINAL_TYPE (CandorModelBanner, candor_model_banner, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_BUTTON_LABEL,
  PROP_ACTION_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Pages of the icon stack, by state. */
static const char * const icon_names[] = {
  [CANDOR_MODEL_BANNER_INFO] = "info",
  [CANDOR_MODEL_BANNER_BUSY] = "busy",
  [CANDOR_MODEL_BANNER_ERROR] = "error",
};

/* Shows the banner in @state, or slides it away for CANDOR_MODEL_BANNER_HIDDEN, when @title
 * and @detail are ignored. A busy banner has a spinner and a progress bar, @progress from
 * 0 to 1, in place of the button. */
void
candor_model_banner_show (CandorModelBanner      *self,
                          CandorModelBannerState  state,
                          const char             *title,
                          const char             *detail,
                          double                  progress)
{
  gboolean busy = state == CANDOR_MODEL_BANNER_BUSY;

  g_return_if_fail (CANDOR_IS_MODEL_BANNER (self));
  g_return_if_fail (state <= CANDOR_MODEL_BANNER_ERROR);
  g_return_if_fail (state == CANDOR_MODEL_BANNER_HIDDEN || (title != NULL && detail != NULL));

  if (state == CANDOR_MODEL_BANNER_ERROR)
    gtk_widget_add_css_class (self->box, "error");
  else
    gtk_widget_remove_css_class (self->box, "error");
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), busy);
  gtk_widget_set_visible (GTK_WIDGET (self->button), !busy);
  gtk_spinner_set_spinning (self->spinner, busy);

  /* Hiding keeps the icon and the text, which stay on show while the banner slides away. */
  if (state != CANDOR_MODEL_BANNER_HIDDEN)
    {
      gtk_stack_set_visible_child_name (self->icon_stack, icon_names[state]);
      gtk_label_set_label (self->title_label, title);
      gtk_label_set_label (self->detail_label, detail);
    }
  if (busy)
    gtk_progress_bar_set_fraction (self->progress_bar, progress);
  gtk_revealer_set_reveal_child (self->revealer, state != CANDOR_MODEL_BANNER_HIDDEN);
}

const char *
candor_model_banner_get_button_label (CandorModelBanner *self)
{
  g_return_val_if_fail (CANDOR_IS_MODEL_BANNER (self), NULL);
  return gtk_button_get_label (self->button);
}

/* The label may have a mnemonic: "_Open Model…". */
void
candor_model_banner_set_button_label (CandorModelBanner *self,
                                      const char        *label)
{
  g_return_if_fail (CANDOR_IS_MODEL_BANNER (self));

  if (g_strcmp0 (label, gtk_button_get_label (self->button)) == 0)
    return;
  gtk_button_set_label (self->button, label);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUTTON_LABEL]);
}

const char *
candor_model_banner_get_action_name (CandorModelBanner *self)
{
  g_return_val_if_fail (CANDOR_IS_MODEL_BANNER (self), NULL);
  return gtk_actionable_get_action_name (GTK_ACTIONABLE (self->button));
}

/* The action the button activates, such as "win.open-model". */
void
candor_model_banner_set_action_name (CandorModelBanner *self,
                                     const char        *action_name)
{
  g_return_if_fail (CANDOR_IS_MODEL_BANNER (self));

  if (g_strcmp0 (action_name, gtk_actionable_get_action_name (GTK_ACTIONABLE (self->button))) == 0)
    return;
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->button), action_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTION_NAME]);
}

static void
candor_model_banner_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  CandorModelBanner *self = CANDOR_MODEL_BANNER (object);

  switch (prop_id)
    {
    case PROP_BUTTON_LABEL:
      g_value_set_string (value, candor_model_banner_get_button_label (self));
      break;
    case PROP_ACTION_NAME:
      g_value_set_string (value, candor_model_banner_get_action_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_model_banner_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  CandorModelBanner *self = CANDOR_MODEL_BANNER (object);

  switch (prop_id)
    {
    case PROP_BUTTON_LABEL:
      candor_model_banner_set_button_label (self, g_value_get_string (value));
      break;
    case PROP_ACTION_NAME:
      candor_model_banner_set_action_name (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_model_banner_dispose (GObject *object)
{
  CandorModelBanner *self = CANDOR_MODEL_BANNER (object);
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), CANDOR_TYPE_MODEL_BANNER);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (candor_model_banner_parent_class)->dispose (object);
}

static void
candor_model_banner_class_init (CandorModelBannerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = candor_model_banner_get_property;
  object_class->set_property = candor_model_banner_set_property;
  object_class->dispose = candor_model_banner_dispose;

  properties[PROP_BUTTON_LABEL] =
    g_param_spec_string ("button-label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACTION_NAME] =
    g_param_spec_string ("action-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/candorapp/Candor/ui/candor-model-banner.ui");
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, revealer);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, box);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, icon_stack);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, spinner);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, title_label);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, detail_label);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, CandorModelBanner, button);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "candormodelbanner");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
candor_model_banner_init (CandorModelBanner *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
