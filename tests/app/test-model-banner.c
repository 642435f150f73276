/* test-model-banner.c — CandorModelBanner: what each state shows, and its button set up
 * from a .ui file as the views do. */
#include "config.h"

#include "candor-model-banner.h"
#include "candor-test-app.h"

static const char banner_ui[] =
  "<interface>"
  "  <object class='GtkWindow' id='window'>"
  "    <property name='child'>"
  "      <object class='CandorModelBanner' id='banner'>"
  "        <property name='button-label'>_Open Model…</property>"
  "        <property name='action-name'>win.open-model</property>"
  "      </object>"
  "    </property>"
  "  </object>"
  "</interface>";

typedef struct
{
  GtkBuilder        *builder;
  GtkWindow         *window;
  CandorModelBanner *banner;
  GtkRevealer       *revealer;
  GtkStack          *icon_stack;
  GtkSpinner        *spinner;
  GtkProgressBar    *progress_bar;
  GtkButton         *button;
} Fixture;

static void
fixture_open (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *banner;

  g_type_ensure (CANDOR_TYPE_MODEL_BANNER);
  f->builder = gtk_builder_new ();
  g_assert_true (gtk_builder_add_from_string (f->builder, banner_ui, -1, &error));
  g_assert_no_error (error);
  f->window = GTK_WINDOW (gtk_builder_get_object (f->builder, "window"));
  f->banner = CANDOR_MODEL_BANNER (gtk_builder_get_object (f->builder, "banner"));
  banner = GTK_WIDGET (f->banner);
  f->revealer = GTK_REVEALER (candor_test_find_widget (banner, GTK_TYPE_REVEALER));
  f->icon_stack = GTK_STACK (candor_test_find_widget (banner, GTK_TYPE_STACK));
  f->spinner = GTK_SPINNER (candor_test_find_widget (banner, GTK_TYPE_SPINNER));
  f->progress_bar = GTK_PROGRESS_BAR (candor_test_find_widget (banner, GTK_TYPE_PROGRESS_BAR));
  f->button = GTK_BUTTON (candor_test_find_widget (banner, GTK_TYPE_BUTTON));
  g_assert_nonnull (f->revealer);
  g_assert_nonnull (f->icon_stack);
  g_assert_nonnull (f->spinner);
  g_assert_nonnull (f->progress_bar);
  g_assert_nonnull (f->button);
}

static void
fixture_close (Fixture *f)
{
  CandorModelBanner *banner = g_object_ref (f->banner);

  gtk_window_destroy (f->window);
  g_clear_object (&f->builder);
  g_assert_finalize_object (banner);
}

/* The box that style.css paints: the parent of the icon, the banner's colour. */
static GtkWidget *
painted_box (Fixture *f)
{
  GtkWidget *box = gtk_widget_get_parent (GTK_WIDGET (f->icon_stack));

  g_assert_true (gtk_widget_has_css_class (box, "candor-banner"));
  return box;
}

static void
assert_shown (Fixture    *f,
              const char *icon,
              const char *title,
              const char *detail,
              gboolean    busy,
              gboolean    error)
{
  GtkLabel *title_label = candor_test_find_label (GTK_WIDGET (f->banner), title);
  GtkLabel *detail_label = candor_test_find_label (GTK_WIDGET (f->banner), detail);

  g_assert_true (gtk_revealer_get_reveal_child (f->revealer));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (f->icon_stack), ==, icon);
  g_assert_nonnull (title_label);
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (title_label), "heading"));
  g_assert_nonnull (detail_label);
  g_assert_true (gtk_label_get_selectable (detail_label));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->progress_bar)) == busy);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->button)) == !busy);
  g_assert_true (gtk_spinner_get_spinning (f->spinner) == busy);
  g_assert_true (gtk_widget_has_css_class (painted_box (f), "error") == error);
}

static void
test_states (void)
{
  Fixture f;

  fixture_open (&f);
  g_assert_false (gtk_revealer_get_reveal_child (f.revealer));

  candor_model_banner_show (f.banner, CANDOR_MODEL_BANNER_INFO, "No model", "Choose one.", 0.0);
  assert_shown (&f, "info", "No model", "Choose one.", FALSE, FALSE);

  candor_model_banner_show (f.banner, CANDOR_MODEL_BANNER_BUSY, "Loading", "Wait.", 0.25);
  assert_shown (&f, "busy", "Loading", "Wait.", TRUE, FALSE);
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (f.progress_bar), ==, 0.25);

  candor_model_banner_show (f.banner, CANDOR_MODEL_BANNER_ERROR, "Failed", "Bad magic.", 0.5);
  assert_shown (&f, "error", "Failed", "Bad magic.", FALSE, TRUE);
  /* Progress is read when busy only. */
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (f.progress_bar), ==, 0.25);

  /* Hiding slides the banner away as it was, but no longer an error. */
  candor_model_banner_show (f.banner, CANDOR_MODEL_BANNER_HIDDEN, NULL, NULL, 0.0);
  g_assert_false (gtk_revealer_get_reveal_child (f.revealer));
  g_assert_nonnull (candor_test_find_label (GTK_WIDGET (f.banner), "Failed"));
  g_assert_nonnull (candor_test_find_label (GTK_WIDGET (f.banner), "Bad magic."));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (f.icon_stack), ==, "error");
  g_assert_false (gtk_widget_has_css_class (painted_box (&f), "error"));

  candor_model_banner_show (f.banner, CANDOR_MODEL_BANNER_ERROR, "Failed", "Again.", 0.0);
  candor_model_banner_show (f.banner, CANDOR_MODEL_BANNER_INFO, "No model", "Choose one.", 0.0);
  assert_shown (&f, "info", "No model", "Choose one.", FALSE, FALSE);
  fixture_close (&f);
}

static void
count_cb (GSimpleAction *action,
          GVariant      *parameter,
          gpointer       user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
test_button (void)
{
  Fixture f;
  g_autoptr(GSimpleActionGroup) group = g_simple_action_group_new ();
  guint opened = 0, other = 0, notifies = 0;
  const GActionEntry entries[] = {
    { .name = "open-model", .activate = count_cb },
    { .name = "other", .activate = count_cb },
  };
  g_autofree char *label = NULL;

  fixture_open (&f);
  g_action_map_add_action_entries (G_ACTION_MAP (group), &entries[0], 1, &opened);
  g_action_map_add_action_entries (G_ACTION_MAP (group), &entries[1], 1, &other);
  gtk_widget_insert_action_group (GTK_WIDGET (f.window), "win", G_ACTION_GROUP (group));

  /* As set in the .ui, with its mnemonic. */
  g_assert_cmpstr (gtk_button_get_label (f.button), ==, "_Open Model…");
  g_assert_true (gtk_button_get_use_underline (f.button));
  g_object_get (f.banner, "button-label", &label, NULL);
  g_assert_cmpstr (label, ==, "_Open Model…");
  g_assert_cmpstr (candor_model_banner_get_action_name (f.banner), ==, "win.open-model");

  g_signal_emit_by_name (f.button, "clicked");
  g_assert_cmpuint (opened, ==, 1);
  g_assert_cmpuint (other, ==, 0);

  /* A new action notifies once; the same one again, not at all. */
  g_signal_connect (f.banner, "notify::action-name", G_CALLBACK (count_notify_cb), &notifies);
  candor_model_banner_set_action_name (f.banner, "win.open-model");
  g_assert_cmpuint (notifies, ==, 0);
  g_object_set (f.banner, "action-name", "win.other", NULL);
  g_assert_cmpuint (notifies, ==, 1);
  g_signal_emit_by_name (f.button, "clicked");
  g_assert_cmpuint (opened, ==, 1);
  g_assert_cmpuint (other, ==, 1);

  candor_model_banner_set_button_label (f.banner, "_Try Again");
  g_assert_cmpstr (gtk_button_get_label (f.button), ==, "_Try Again");
  fixture_close (&f);
}

int
main (int   argc,
      char *argv[])
{
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/model-banner/states", test_states);
  g_test_add_func ("/app/model-banner/button", test_button);

  return g_test_run ();
}
