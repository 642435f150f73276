/* test-preferences.c — the preferences window: style, device choice and the device
 * check, with real widgets. */
#include "config.h"

#include <string.h>

#include "candor-preferences-window.h"
#include "candor-test-app.h"

static CandorPreferencesWindow *
open_preferences (void)
{
  CandorPreferencesWindow *prefs = NULL;
  GListModel *toplevels = gtk_window_get_toplevels ();

  g_action_group_activate_action (G_ACTION_GROUP (candor_test_get_application ()), "preferences",
                                  NULL);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);
      if (CANDOR_IS_PREFERENCES_WINDOW (window))
        prefs = CANDOR_PREFERENCES_WINDOW (window);
    }
  g_assert_nonnull (prefs);
  candor_test_wait_mapped (GTK_WIDGET (prefs));
  return prefs;
}

static void
test_style (void)
{
  CandorPreferencesWindow *prefs = open_preferences ();
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  AdwComboRow *style = ADW_COMBO_ROW (candor_test_find_row (GTK_WIDGET (prefs), "Style"));

  adw_combo_row_set_selected (style, 2);
  g_assert_cmpint (g_settings_get_enum (settings, "color-scheme"), ==, 2);
  g_assert_cmpint (adw_style_manager_get_color_scheme (adw_style_manager_get_default ()), ==,
                   ADW_COLOR_SCHEME_FORCE_DARK);

  g_settings_set_enum (settings, "color-scheme", 1);
  g_assert_cmpuint (adw_combo_row_get_selected (style), ==, 1);
  g_settings_reset (settings, "color-scheme");

  gtk_window_destroy (GTK_WINDOW (prefs));
}

static gboolean
row_sensitive (gpointer data)
{
  return gtk_widget_get_sensitive (data);
}

/* Choosing a device stores its name and makes the application reopen it. */
static void
test_device_choice (void)
{
  CandorApplication *app = candor_test_get_application ();
  GSettings *settings = candor_application_get_settings (app);
  CandorPreferencesWindow *prefs;
  AdwComboRow *row;
  GListModel *names;
  g_autofree char *chosen = NULL;
  g_autofree char *automatic = NULL;
  const char *usable_name;
  guint usable = 0;

  candor_test_wait_for_device ();
  if (candor_application_get_device (app) == NULL)
    {
      g_test_skip ("No Vulkan device");
      return;
    }
  prefs = open_preferences ();
  row = ADW_COMBO_ROW (candor_test_find_row (GTK_WIDGET (prefs), "Device"));
  candor_test_wait_until (row_sensitive, row, 30000);

  names = adw_combo_row_get_model (row);
  g_assert_cmpuint (g_list_model_get_n_items (names), >=, 2);
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 0);  /* Automatic */

  /* Choose the device that is open now by name: it is usable. */
  usable_name = loom_device_get_name (candor_application_get_device (app));
  for (guint i = 1; i < g_list_model_get_n_items (names); i++)
    if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (names), i), usable_name) == 0)
      usable = i;
  g_assert_cmpuint (usable, >, 0);
  adw_combo_row_set_selected (row, usable);
  chosen = g_settings_get_string (settings, "device");
  g_assert_cmpstr (chosen, ==, usable_name);
  g_assert_true (candor_application_get_device_busy (app));
  candor_test_wait_for_device ();
  g_assert_nonnull (candor_application_get_device (app));
  g_assert_cmpstr (loom_device_get_name (candor_application_get_device (app)), ==, chosen);

  /* A device that is not present is listed as such, and chosen until replaced. */
  g_settings_set_string (settings, "device", "Imaginary GPU");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (names),
                                               adw_combo_row_get_selected (row)),
                   ==, "Imaginary GPU (not found)");
  candor_test_wait_for_device ();
  g_assert_null (candor_application_get_device (app));
  g_assert_nonnull (strstr (candor_application_get_device_error (app), "Imaginary GPU"));

  adw_combo_row_set_selected (row, 0);
  automatic = g_settings_get_string (settings, "device");
  g_assert_cmpstr (automatic, ==, "");
  candor_test_wait_for_device ();
  g_assert_nonnull (candor_application_get_device (app));

  gtk_window_destroy (GTK_WINDOW (prefs));
}

static gboolean
is_null (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static gboolean
subtitle_is_final (gpointer data)
{
  const char *subtitle = adw_action_row_get_subtitle (data);

  return subtitle != NULL && !g_str_has_prefix (subtitle, "Checking");
}

/* The device check runs on the device's worker with progress, and can be cancelled;
 * the window stays responsive (this test keeps iterating the main loop). */
static void
test_device_check (void)
{
  CandorApplication *app = candor_test_get_application ();
  CandorPreferencesWindow *prefs;
  AdwActionRow *row;

  candor_test_wait_for_device ();
  if (candor_application_get_device (app) == NULL)
    {
      g_test_skip ("No Vulkan device");
      return;
    }
  prefs = open_preferences ();
  row = ADW_ACTION_ROW (candor_test_find_row (GTK_WIDGET (prefs), "Check Device"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (prefs), "prefs.check-device", NULL));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "Checking…");
  candor_test_wait_until (subtitle_is_final, row, 120000);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==,
                   "Every operation matches the result computed on the processor.");
  {
    g_autoptr(GdkTexture) texture = candor_test_render (GTK_WIDGET (prefs));
    g_autofree char *path = NULL;
    candor_test_assert_not_blank (texture);
    path = candor_test_save_screenshot (texture, "preferences");
    g_test_message ("Rendered to %s", path);
  }

  /* Again, cancelled at once: the job stops before its first op. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (prefs), "prefs.check-device", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (prefs), "prefs.cancel-check", NULL));
  candor_test_wait_until (subtitle_is_final, row, 120000);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "The check was cancelled.");

  /* Closing the window in the middle of a check cancels it; then the window goes. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (prefs), "prefs.check-device", NULL));
  g_object_add_weak_pointer (G_OBJECT (prefs), (gpointer *) &prefs);
  gtk_window_close (GTK_WINDOW (prefs));
  candor_test_wait_until (is_null, &prefs, 60000);
}

/* The Writing page edits the suggestion settings. */
static void
test_writing (void)
{
  CandorPreferencesWindow *prefs = open_preferences ();
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  AdwComboRow *mode = ADW_COMBO_ROW (candor_test_find_row (GTK_WIDGET (prefs), "Suggest"));
  AdwActionRow *model = ADW_ACTION_ROW (candor_test_find_row (GTK_WIDGET (prefs), "Text Model"));
  GtkWidget *pause = candor_test_find_row (GTK_WIDGET (prefs), "Pause");
  GtkWidget *color = candor_test_find_row (GTK_WIDGET (prefs), "Colour Text by Origin");
  GtkSpinButton *spin;
  GtkSwitch *toggle;

  g_assert_nonnull (mode);
  g_assert_nonnull (pause);
  g_assert_nonnull (color);
  g_assert_cmpuint (adw_combo_row_get_selected (mode), ==, 0);
  adw_combo_row_set_selected (mode, 1);
  g_assert_cmpint (g_settings_get_enum (settings, "suggestion-mode"), ==, 1);
  g_settings_reset (settings, "suggestion-mode");
  g_assert_cmpuint (adw_combo_row_get_selected (mode), ==, 0);

  spin = GTK_SPIN_BUTTON (candor_test_find_widget (pause, GTK_TYPE_SPIN_BUTTON));
  g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, 600);
  gtk_spin_button_set_value (spin, 900);
  g_assert_cmpuint (g_settings_get_uint (settings, "suggestion-pause"), ==, 900);
  g_settings_reset (settings, "suggestion-pause");

  g_settings_set_string (settings, "text-model-path", "/models/story.gguf");
  g_assert_cmpstr (adw_action_row_get_subtitle (model), ==, "/models/story.gguf");
  g_settings_reset (settings, "text-model-path");

  toggle = GTK_SWITCH (candor_test_find_widget (color, GTK_TYPE_SWITCH));
  gtk_switch_set_active (toggle, TRUE);
  g_assert_true (g_settings_get_boolean (settings, "color-by-origin"));
  g_settings_reset (settings, "color-by-origin");
  g_assert_false (gtk_switch_get_active (toggle));

  gtk_window_destroy (GTK_WINDOW (prefs));
}

int
main (int   argc,
      char *argv[])
{
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/preferences/style", test_style);
  g_test_add_func ("/app/preferences/writing", test_writing);
  g_test_add_func ("/app/preferences/device-choice", test_device_choice);
  g_test_add_func ("/app/preferences/device-check", test_device_check);

  return g_test_run ();
}
