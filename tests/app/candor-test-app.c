/* candor-test-app.c — the application under test, waiting, and real rendering. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "candor-test-app.h"

static CandorApplication *test_app;

void
candor_test_init (int    *argc,
                  char ***argv)
{
  g_test_init (argc, argv, NULL);
  gtk_init ();
  adw_init ();
}

/* Returns: (transfer none): the application, registered (so started up) but not run:
 * the tests drive the main context themselves. */
CandorApplication *
candor_test_get_application (void)
{
  if (test_app == NULL)
    {
      g_autoptr(GError) error = NULL;

      test_app = candor_application_new ();
      /* No single-instance negotiation over D-Bus: tests must not find each other. */
      g_application_set_flags (G_APPLICATION (test_app), G_APPLICATION_NON_UNIQUE);
      g_assert_true (g_application_register (G_APPLICATION (test_app), NULL, &error));
      g_assert_no_error (error);
    }
  return test_app;
}

void
candor_test_wait_until (gboolean (*condition) (gpointer),
                        gpointer   data,
                        guint      timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!condition (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
device_settled (gpointer data)
{
  return !candor_application_get_device_busy (candor_test_get_application ());
}

void
candor_test_wait_for_device (void)
{
  candor_test_wait_until (device_settled, NULL, 60000);
}

/* Waits for the device; FALSE (after skipping the test) when there is none to run a
 * model on. */
gboolean
candor_test_require_device (void)
{
  candor_test_wait_for_device ();
  if (candor_application_get_device (candor_test_get_application ()) == NULL)
    {
      g_test_skip ("No Vulkan device");
      return FALSE;
    }
  return TRUE;
}

/* Runs @argv (a program and its arguments, NULL-terminated) to its end; it must
 * succeed. */
void
candor_test_run_command (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static gboolean
mapped_and_drawn (gpointer data)
{
  GtkWidget *widget = data;

  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

void
candor_test_wait_mapped (GtkWidget *widget)
{
  candor_test_wait_until (mapped_and_drawn, widget, 20000);
  /* A few more iterations for the first frame's layout and drawing. */
  for (guint i = 0; i < 50; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

/* Destroys @widget's window and runs the main context until @widget is finalized:
 * nothing the test or the widget left behind may keep it alive. */
void
candor_test_destroy_window (GtkWidget *widget)
{
  GtkWindow *window = GTK_WINDOW (gtk_widget_get_root (widget));

  g_object_add_weak_pointer (G_OBJECT (widget), (gpointer *) &widget);
  gtk_window_destroy (window);
  for (guint i = 0; i < 200 && widget != NULL; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_null (widget);
}

/* Types @text into @text_view one character at a time, as keys arrive: through the
 * text view's insert-at-cursor. */
void
candor_test_type (GtkTextView *text_view,
                  const char  *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      char c[8] = { 0 };

      memcpy (c, p, g_utf8_next_char (p) - p);
      g_signal_emit_by_name (text_view, "insert-at-cursor", c);
    }
}

/* Types @text at @document's cursor one character (one user action) at a time, as
 * GtkTextView does for keys. */
void
candor_test_type_in_document (CandorDocument *document,
                              const char     *text)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gtk_text_buffer_begin_user_action (buffer);
      gtk_text_buffer_insert_interactive_at_cursor (buffer, p, g_utf8_next_char (p) - p, TRUE);
      gtk_text_buffer_end_user_action (buffer);
    }
}

/* How many events of @kind the story's log holds. */
guint
candor_test_count_events (CandorDocument *document,
                          const char     *kind)
{
  LoomEventLog *log = candor_document_get_log (document);
  guint count = 0;

  for (guint i = 0; i < loom_event_log_get_n_events (log); i++)
    count += g_strcmp0 (json_object_get_string_member (loom_event_log_get_event (log, i), "kind"),
                        kind) == 0;
  return count;
}

typedef gboolean (*WidgetMatch) (GtkWidget     *widget,
                                 gconstpointer  data);

/* The first widget in @root's tree, @root included and depth first, that @match accepts. */
static GtkWidget *
find_first (GtkWidget     *root,
            WidgetMatch    match,
            gconstpointer  data)
{
  if (match (root, data))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_first (child, match, data);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_of_type (GtkWidget     *widget,
            gconstpointer  type)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (type));
}

/* Returns: (transfer none) (nullable): the first widget of @type in @root's tree, @root
 * included. */
GtkWidget *
candor_test_find_widget (GtkWidget *root,
                         GType      type)
{
  return find_first (root, is_of_type, GSIZE_TO_POINTER (type));
}

static gboolean
is_label (GtkWidget     *widget,
          gconstpointer  text)
{
  return GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0;
}

/* Returns: (transfer none) (nullable): the first GtkLabel in @root's tree that shows
 * @text, as the author would find it. */
GtkLabel *
candor_test_find_label (GtkWidget  *root,
                        const char *text)
{
  return GTK_LABEL (find_first (root, is_label, text));
}

static gboolean
is_row (GtkWidget     *widget,
        gconstpointer  title)
{
  return ADW_IS_PREFERENCES_ROW (widget)
         && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0;
}

/* Returns: (transfer none) (nullable): the first AdwPreferencesRow below @root whose
 * title is @title. */
GtkWidget *
candor_test_find_row (GtkWidget  *root,
                      const char *title)
{
  return find_first (root, is_row, title);
}

/* Renders @widget as it is on screen, with the renderer of its window (GL or Cairo,
 * whichever GTK chose): the same path a frame takes. */
GdkTexture *
candor_test_render (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  int width, height;

  /* Let a pending layout (after the last change) happen first, as before a frame. */
  candor_test_wait_mapped (widget);

  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);

  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);

  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* A blank or failed rendering is one flat colour; a window has a header bar, text
 * and icons: many colours, and a good share of pixels off the background. */
void
candor_test_assert_not_blank (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guint8 *pixels = g_malloc (stride * height);
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  guint32 background;
  gsize off_background = 0;

  gdk_texture_download (texture, pixels, stride);
  memcpy (&background, pixels + (height / 2) * stride + 4, 4);  /* left edge, mid-height */
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      guint32 pixel;
      memcpy (&pixel, pixels + i * 4, 4);
      g_hash_table_add (colours, GUINT_TO_POINTER (pixel));
      off_background += pixel != background;
    }

  g_test_message ("%d×%d rendering: %u colours, %.1f%% of pixels off the background", width,
                  height, g_hash_table_size (colours), 100.0 * off_background / (width * height));
  g_assert_cmpuint (g_hash_table_size (colours), >=, 32);
  g_assert_cmpuint (off_background, >=, (gsize) width * height / 50);
}

/* Saves a rendering as PNG under $CANDOR_SCREENSHOT_DIR (build-aux/screenshots sets it
 * to docs/screenshots), else the test build directory. Returns the path. */
char *
candor_test_save_screenshot (GdkTexture *texture,
                             const char *name)
{
  const char *dir = g_getenv ("CANDOR_SCREENSHOT_DIR");
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  char *path;

  if (dir == NULL)
    dir = g_getenv ("G_TEST_BUILDDIR");
  if (dir == NULL)
    dir = ".";
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, file, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  return path;
}

/* Renders @widget, keeps the rendering as @name.png (see candor_test_save_screenshot())
 * and checks that it is no blank. */
void
candor_test_save_rendering (GtkWidget  *widget,
                            const char *name)
{
  g_autoptr(GdkTexture) texture = candor_test_render (widget);
  g_autofree char *path = candor_test_save_screenshot (texture, name);

  candor_test_assert_not_blank (texture);
  g_test_message ("Rendered to %s", path);
}

/* Distance from the centre of pixel (x, y) to the segment a–b: where a stroke along it
 * must and must not have painted. */
double
candor_test_distance_to_segment (guint  x,
                                 guint  y,
                                 double ax,
                                 double ay,
                                 double bx,
                                 double by)
{
  double px = x + 0.5, py = y + 0.5;
  double dx = bx - ax, dy = by - ay;
  double t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);

  t = CLAMP (t, 0.0, 1.0);
  return hypot (px - (ax + t * dx), py - (ay + t * dy));
}

/* A new private directory for a test's files, from a g_dir_make_tmp() template. */
char *
candor_test_make_temp_dir (const char *template)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  return dir;
}

/* Removes @path and, when it is a directory, everything below it. */
void
candor_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_remove (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      candor_test_remove_tree (child);
    }
  g_rmdir (path);
}
