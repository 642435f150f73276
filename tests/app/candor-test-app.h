/* candor-test-app.h — driving real Candor widgets in tests (under Xvfb in CI). */
#pragma once

#include "candor-application.h"
#include "candor-document.h"

G_BEGIN_DECLS

void               candor_test_init             (int        *argc,
                                                 char     ***argv);
CandorApplication *candor_test_get_application  (void);
void               candor_test_wait_for_device  (void);
gboolean           candor_test_require_device   (void);
void               candor_test_run_command      (const char * const *argv);
void               candor_test_wait_until       (gboolean  (*condition) (gpointer),
                                                 gpointer    data,
                                                 guint       timeout_ms);
void               candor_test_wait_mapped      (GtkWidget  *widget);
void               candor_test_destroy_window   (GtkWidget  *widget);
void               candor_test_type             (GtkTextView *text_view,
                                                 const char  *text);
void               candor_test_type_in_document (CandorDocument *document,
                                                 const char     *text);
guint              candor_test_count_events     (CandorDocument *document,
                                                 const char     *kind);
GtkWidget         *candor_test_find_widget      (GtkWidget  *root,
                                                 GType       type);
GtkLabel          *candor_test_find_label       (GtkWidget  *root,
                                                 const char *text);
GtkWidget         *candor_test_find_row         (GtkWidget  *root,
                                                 const char *title);
GdkTexture        *candor_test_render           (GtkWidget  *widget);
void               candor_test_assert_not_blank (GdkTexture *texture);
char              *candor_test_save_screenshot  (GdkTexture *texture,
                                                 const char *name);
void               candor_test_save_rendering   (GtkWidget  *widget,
                                                 const char *name);
double             candor_test_distance_to_segment (guint  x,
                                                    guint  y,
                                                    double ax,
                                                    double ay,
                                                    double bx,
                                                    double by);
char              *candor_test_make_temp_dir    (const char *template);
void               candor_test_remove_tree      (const char *path);

G_END_DECLS
