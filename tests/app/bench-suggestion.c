/* bench-suggestion.c — how long an author waits for a suggestion: from the end of the
 * typing pause (the moment the request starts) to the first character of ghost text,
 * measured on a real Story view with a real model (MODEL.gguf, the first argument).
 *
 * It types a story of about 1,500 characters, then ROUNDS times types a few more words
 * and lets the pause run out, in automatic mode, as an author would. The first request
 * evaluates the whole context; the later ones find most of it in the session's cache.
 * Prints one JSON document. Run by build-aux/bench-suggestion (meson's benchmark
 * `suggestion-latency`).
 */
#include "config.h"

#include <string.h>

#include "candor-document.h"
#include "candor-story-view.h"
#include "candor-test-app.h"
#include "candor-window.h"

#define ROUNDS 8

static const char story[] =
  "Once upon a time, in a small town by the sea, there lived a girl named Lily. She had a "
  "red hat and a little dog called Max. Every morning Lily and Max walked to the beach to "
  "look for shells.\n"
  "One day they found a big blue shell that shone in the sun. Lily picked it up and held it "
  "to her ear. She heard the sea, and then a small voice. \"Hello,\" said the voice. \"I am "
  "lost. Can you help me find my way home?\"\n"
  "Lily was surprised, but she was not afraid. \"Of course,\" she said. \"Where is your "
  "home?\" The voice said that it lived far away, under the rocks at the end of the beach. "
  "Max barked and wagged his tail, because he liked new friends.\n"
  "So Lily, Max and the shell set off along the sand. They passed a boat, a crab and an old "
  "man who was fishing. The man smiled at them and asked where they were going. Lily told "
  "him about the shell and the little voice inside it.\n"
  "The old man laughed. \"I have lived here for many years,\" he said, \"and I have never "
  "heard a shell talk. But I know the rocks you mean. Be careful, the tide comes in fast.\" "
  "Lily thanked him and walked on, holding the shell close.\n"
  "When they reached the rocks, the sun was low and the water was rising. Lily looked down "
  "and saw a small pool between the stones. In the pool there were many shells, all blue, "
  "all shining like the one in her hand.";

static const char *more[ROUNDS] = {
  " Lily", " knelt", " down", " and", " put", " the", " shell", " in",
};

typedef struct
{
  CandorSuggestionController *controller;
  gint64                      requested;  /* µs, monotonic; 0: none yet */
  gint64                      first;
} Probe;

static void
busy_cb (Probe *probe)
{
  if (candor_suggestion_controller_get_busy (probe->controller) && probe->requested == 0)
    probe->requested = g_get_monotonic_time ();
}

static void
ghost_cb (Probe *probe)
{
  if (probe->requested != 0 && probe->first == 0
      && candor_suggestion_controller_get_ghost_text (probe->controller) != NULL)
    probe->first = g_get_monotonic_time ();
}

static gboolean
settled (gpointer data)
{
  Probe *probe = data;

  return probe->first != 0
         || (probe->requested != 0 && !candor_suggestion_controller_get_busy (probe->controller));
}

static gboolean
model_settled (gpointer data)
{
  CandorApplication *app = data;

  return !candor_application_get_text_model_busy (app)
         && (candor_application_get_text_model (app) != NULL
             || candor_application_get_text_model_error (app) != NULL);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

int
main (int   argc,
      char *argv[])
{
  CandorApplication *app;
  GSettings *settings;
  CandorWindow *window;
  CandorStoryView *view;
  GtkTextView *text_view;
  LoomTextModel *model;
  Probe probe = { 0 };
  g_autoptr(GArray) warm = g_array_new (FALSE, FALSE, sizeof (double));
  double cold = -1.0;
  guint empty = 0;

  candor_test_init (&argc, &argv);
  if (argc != 2)
    {
      g_printerr ("Usage: bench-suggestion MODEL.gguf\n");
      return 2;
    }
  app = candor_test_get_application ();
  settings = candor_application_get_settings (app);
  candor_test_wait_for_device ();
  if (candor_application_get_device (app) == NULL)
    {
      g_printerr ("No Vulkan device: %s\n", candor_application_get_device_error (app));
      return 77;
    }
  g_settings_set_string (settings, "text-model-path", argv[1]);
  candor_test_wait_until (model_settled, app, 600000);
  model = candor_application_get_text_model (app);
  if (model == NULL)
    {
      g_printerr ("%s\n", candor_application_get_text_model_error (app));
      return 1;
    }
  g_settings_set_enum (settings, "suggestion-mode", 0);
  g_settings_set_uint (settings, "suggestion-pause", 600);
  g_settings_set_uint (settings, "suggestion-length", 16);

  window = candor_window_new (app);
  gtk_window_present (GTK_WINDOW (window));
  candor_test_wait_mapped (GTK_WIDGET (window));
  view = candor_window_get_story_view (window);
  text_view = candor_story_view_get_text_view (view);
  probe.controller = candor_story_view_get_controller (view);
  g_signal_connect_swapped (probe.controller, "notify::busy", G_CALLBACK (busy_cb), &probe);
  g_signal_connect_swapped (probe.controller, "notify::ghost-text", G_CALLBACK (ghost_cb), &probe);

  for (guint round = 0; round <= ROUNDS; round++)
    {
      if (round == 0)
        g_signal_emit_by_name (text_view, "insert-at-cursor", story);
      else
        {
          /* The author reads the suggestion and goes on with their own words (typing
           * the suggestion's own next characters would only consume it). */
          candor_suggestion_controller_dismiss (probe.controller);
          for (const char *p = more[round - 1]; *p != '\0'; p++)
            {
              char c[2] = { *p, 0 };
              g_signal_emit_by_name (text_view, "insert-at-cursor", c);
            }
        }
      probe.requested = probe.first = 0;
      candor_test_wait_until (settled, &probe, 600000);
      if (probe.first == 0)
        empty++;
      else if (round == 0)
        cold = (probe.first - probe.requested) / 1e3;
      else
        {
          double ms = (probe.first - probe.requested) / 1e3;
          g_array_append_val (warm, ms);
        }
      /* Let the rest of the suggestion come, as the author reads it. */
      while (candor_suggestion_controller_get_busy (probe.controller))
        g_main_context_iteration (NULL, TRUE);
    }

  g_array_sort (warm, compare_doubles);
  g_print ("{\"model\": \"%s\", \"parameters\": %" G_GUINT64_FORMAT ", \"context_tokens\": %u, "
           "\"pause_ms\": 600, \"first_request_ms\": %.1f, \"later_requests\": %u, "
           "\"later_median_ms\": %.1f, \"later_min_ms\": %.1f, \"later_max_ms\": %.1f, "
           "\"empty_suggestions\": %u}\n",
           loom_text_model_get_name (model), loom_text_model_get_n_parameters (model),
           loom_text_model_count_tokens (model, story), cold, warm->len,
           warm->len > 0 ? g_array_index (warm, double, warm->len / 2) : -1.0,
           warm->len > 0 ? g_array_index (warm, double, 0) : -1.0,
           warm->len > 0 ? g_array_index (warm, double, warm->len - 1) : -1.0, empty);
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
