/* cli-generate.c — `candor-cli generate`: continue a prompt with a text model. */
#include "config.h"

#include <unistd.h>

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

typedef struct
{
  GMainLoop *loop;
  gboolean   stream;   /* print text as it comes */
  char      *text;
  LoomGenerateStats stats;
  GError    *error;
} Run;

static void
text_cb (const char *text,
         gpointer    user_data)
{
  Run *run = user_data;

  if (run->stream)
    {
      fputs (text, stdout);
      fflush (stdout);
    }
}

static void
generated_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Run *run = user_data;

  run->text = loom_text_session_generate_finish (LOOM_TEXT_SESSION (source), result,
                                                 &run->stats, &run->error);
  g_main_loop_quit (run->loop);
}

static void
print_json (const char              *model,
            const Run               *run)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *out = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, run->text);
  json_builder_set_member_name (b, "prompt_tokens");
  json_builder_add_int_value (b, run->stats.n_prompt);
  json_builder_set_member_name (b, "generated_tokens");
  json_builder_add_int_value (b, run->stats.n_generated);
  json_builder_set_member_name (b, "prompt_seconds");
  json_builder_add_double_value (b, run->stats.prompt_seconds);
  json_builder_set_member_name (b, "first_token_seconds");
  json_builder_add_double_value (b, run->stats.first_token_seconds);
  json_builder_set_member_name (b, "generate_seconds");
  json_builder_add_double_value (b, run->stats.generate_seconds);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  out = json_generator_to_data (generator, NULL);
  printf ("%s\n", out);
}

int
candor_cli_generate (int    argc,
                     char **argv)
{
  LoomGenerateOptions options;
  g_autofree char *prompt = NULL;
  g_autofree char *selector = NULL;
  g_auto(GStrv) stop = NULL;
  int n = 128, top_k, ctx = 0, repeat_last_n;
  double temp, top_p, min_p, repeat_penalty;
  gint64 seed = 0;
  gboolean llama2c = FALSE, json = FALSE;
  g_autofree char *cache = NULL;
  GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "The text to continue (default: empty)", "TEXT" },
    { "tokens", 'n', 0, G_OPTION_ARG_INT, &n, "Tokens to generate (default 128)", "N" },
    { "temp", 0, 0, G_OPTION_ARG_DOUBLE, &temp, "Temperature; 0 is greedy (default 0.8)", "T" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &top_k, "Top-k, 0 off (default 40)", "K" },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, "Top-p (default 0.95)", "P" },
    { "min-p", 0, 0, G_OPTION_ARG_DOUBLE, &min_p, "Min-p (default 0.05)", "P" },
    { "repeat-penalty", 0, 0, G_OPTION_ARG_DOUBLE, &repeat_penalty, "Repetition penalty (default 1: off)", "R" },
    { "repeat-last-n", 0, 0, G_OPTION_ARG_INT, &repeat_last_n, "Tokens the penalty looks at (default 64)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 0)", "S" },
    { "llama2c-sampler", 0, 0, G_OPTION_ARG_NONE, &llama2c, "llama2.c's sampler: its RNG and top-p rule", NULL },
    { "stop", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stop, "Stop before this text (repeatable)", "TEXT" },
    { "ctx", 'c', 0, G_OPTION_ARG_INT, &ctx, "Context in tokens (default: the model's, at most 4096)", "N" },
    { "cache-type", 0, 0, G_OPTION_ARG_STRING, &cache, "KV cache: f16 (default) or f32", "TYPE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON with the text and timings", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector, "Device index or name", "DEVICE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL — continue a prompt");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = NULL;
  g_autoptr(LoomTextModel) model = NULL;
  g_autoptr(LoomTextSession) session = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Run run = { 0 };

  loom_generate_options_init (&options);
  temp = options.temperature;
  top_k = options.top_k;
  top_p = options.top_p;
  min_p = options.min_p;
  repeat_penalty = options.repeat_penalty;
  repeat_last_n = options.repeat_last_n;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || n < 0 || ctx < 0
      || top_k < 0 || repeat_last_n < 0
      || (cache != NULL && g_strcmp0 (cache, "f16") != 0 && g_strcmp0 (cache, "f32") != 0))
    {
      fprintf (stderr, "candor-cli generate: %s\n",
               error != NULL ? error->message
                             : "give one MODEL, non-negative counts, --cache-type f16 or f32");
      return 2;
    }

  options.max_tokens = (guint) n;
  options.temperature = (float) temp;
  options.top_k = (guint) top_k;
  options.top_p = (float) top_p;
  options.min_p = (float) min_p;
  options.repeat_penalty = (float) repeat_penalty;
  options.repeat_last_n = (guint) repeat_last_n;
  options.seed = (guint64) seed;
  options.llama2c = llama2c;
  options.stop = (const char * const *) stop;

  device = loom_device_new (selector, &error);
  if (device != NULL)
    model = loom_text_model_new (device, argv[1], NULL, NULL, &error);
  if (model == NULL)
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }
  session = loom_text_session_new (model, (guint) ctx,
                                   g_strcmp0 (cache, "f32") == 0 ? LOOM_CACHE_F32 : LOOM_CACHE_F16);

  run.loop = loop;
  run.stream = !json;
  loom_text_session_generate_async (session, prompt != NULL ? prompt : "", &options, text_cb,
                                    &run, NULL, NULL, generated_cb, &run);
  g_main_loop_run (loop);

  if (run.text == NULL)
    {
      fprintf (stderr, "\ncandor-cli: %s\n", run.error->message);
      g_clear_error (&run.error);
      return 1;
    }
  if (json)
    print_json (argv[1], &run);
  else if (isatty (STDOUT_FILENO))
    printf ("\n");
  g_free (run.text);
  return 0;
}
