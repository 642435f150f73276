/* test-window.c — the first window, with real widgets: views, menu, actions, the
 * device card, window state, about and shortcuts windows, and a real rendering. */
#include "config.h"

#include <string.h>

#include "candor-test-app.h"
#include "candor-window.h"

static CandorWindow *
new_window (void)
{
  CandorWindow *window = candor_window_new (candor_test_get_application ());

  gtk_window_present (GTK_WINDOW (window));
  candor_test_wait_mapped (GTK_WIDGET (window));
  return window;
}

static void
close_window (CandorWindow *window)
{
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (window);
}

static void
test_views (void)
{
  CandorWindow *window = new_window ();

  g_assert_cmpstr (candor_window_get_visible_view (window), ==, "story");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s",
                                             "illustrations"));
  g_assert_cmpstr (candor_window_get_visible_view (window), ==, "illustrations");
  candor_window_show_view (window, "story");
  g_assert_cmpstr (candor_window_get_visible_view (window), ==, "story");
  /* An unknown view is ignored. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "nowhere");
  g_assert_cmpstr (candor_window_get_visible_view (window), ==, "story");

  close_window (window);
}

/* Every action the menu and the shortcuts name exists, so no item is dead. */
static void
test_actions_exist (void)
{
  CandorApplication *app = candor_test_get_application ();
  const char *app_actions[] = { "new-window", "preferences", "about", "quit", "retry-device" };
  g_auto(GStrv) accels = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (app_actions); i++)
    g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), app_actions[i]));

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.preferences");
  g_assert_cmpstr (accels[0], ==, "<Control>comma");
}

static void
test_device_card (void)
{
  CandorApplication *app = candor_test_get_application ();

  candor_test_wait_for_device ();
  /* Either a device, or a message saying why not: never nothing. */
  if (candor_application_get_device (app) == NULL)
    g_assert_nonnull (candor_application_get_device_error (app));
  else
    g_assert_null (candor_application_get_device_error (app));
}

static GtkWindow *
find_toplevel_of_type (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type))
        return window;
    }
  return NULL;
}

static void
test_about (void)
{
  CandorWindow *window = new_window ();
  GtkWindow *about;

  g_action_group_activate_action (G_ACTION_GROUP (candor_test_get_application ()), "about", NULL);
  about = find_toplevel_of_type (ADW_TYPE_ABOUT_WINDOW);
  g_assert_nonnull (about);
  g_assert_cmpstr (adw_about_window_get_application_name (ADW_ABOUT_WINDOW (about)), ==, "Candor");
  g_assert_cmpstr (adw_about_window_get_version (ADW_ABOUT_WINDOW (about)), ==, PACKAGE_VERSION);
  g_assert_true (gtk_window_get_transient_for (about) == GTK_WINDOW (window));
  gtk_window_destroy (about);

  close_window (window);
}

static void
test_shortcuts (void)
{
  CandorWindow *window = new_window ();
  GtkWindow *shortcuts;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL));
  shortcuts = find_toplevel_of_type (GTK_TYPE_SHORTCUTS_WINDOW);
  g_assert_nonnull (shortcuts);
  gtk_window_close (shortcuts);

  close_window (window);
}

static void
test_size_remembered (void)
{
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  CandorWindow *window;
  int width, height;

  g_settings_set_int (settings, "window-width", 900);
  g_settings_set_int (settings, "window-height", 640);
  window = new_window ();
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 900);
  g_assert_cmpint (height, ==, 640);

  gtk_window_set_default_size (GTK_WINDOW (window), 820, 610);
  gtk_window_close (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 820);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 610);
}

/* Renders the window through GSK, as a frame is drawn, and checks the picture has
 * content. The PNG is kept (docs/screenshots/ when build-aux/screenshots runs this). */
static void
test_render (void)
{
  GSettings *settings = candor_application_get_settings (candor_test_get_application ());
  CandorWindow *window;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;

  g_settings_set_int (settings, "window-width", 960);
  g_settings_set_int (settings, "window-height", 640);
  candor_test_wait_for_device ();
  window = new_window ();

  texture = candor_test_render (GTK_WIDGET (window));
  candor_test_assert_not_blank (texture);
  path = candor_test_save_screenshot (texture, "window");
  g_test_message ("Rendered to %s", path);

  close_window (window);
}

int
main (int   argc,
      char *argv[])
{
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/window/views", test_views);
  g_test_add_func ("/app/window/actions-exist", test_actions_exist);
  g_test_add_func ("/app/window/device-card", test_device_card);
  g_test_add_func ("/app/window/about", test_about);
  g_test_add_func ("/app/window/shortcuts", test_shortcuts);
  g_test_add_func ("/app/window/size-remembered", test_size_remembered);
  g_test_add_func ("/app/window/render", test_render);

  return g_test_run ();
}
