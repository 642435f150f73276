/* cli-bench.c — `candor-cli bench`: prompt processing and generation speed of a model.
 *
 * Measures the engine itself: a prompt of deterministic tokens goes through the forward
 * pass in batches (prompt processing), then tokens are generated one at a time by argmax
 * (the sampler's cost is negligible next to a forward pass, and no end-of-text token can
 * stop the count). Pipelines are compiled by a warm-up pass first, and the whole run is
 * repeated (--repeat, default 3) with the median reported: lavapipe on a shared machine
 * varies by ±20 % between runs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

static gboolean
forward (LoomCommand    *cmd,
         LoomLlamaState *state,
         const guint32  *tokens,
         guint           n,
         guint           pos0,
         float          *logits,
         GError        **error)
{
  guint batch = loom_llama_state_get_n_batch (state);

  for (guint done = 0; done < n; done += batch)
    {
      loom_llama_record_forward (cmd, state, tokens + done, MIN (batch, n - done), pos0 + done);
      if (!loom_command_submit (cmd, error))
        return FALSE;
    }
  return loom_llama_state_read_logits (state, logits, error);
}

int
candor_cli_bench (int    argc,
                  char **argv)
{
  g_autofree char *selector = NULL;
  int n_prompt = 128, n_gen = 32, n_batch = 128, repeat = 3;
  GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_INT, &n_prompt, "Prompt tokens (default 128)", "N" },
    { "generate", 'n', 0, G_OPTION_ARG_INT, &n_gen, "Generated tokens (default 32)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &n_batch, "Prompt tokens per pass (default 128)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Runs, of which the median counts (default 3)", "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector, "Device index or name", "DEVICE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL — measure a model's speed (JSON)");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = NULL;
  g_autoptr(LoomTextModel) model = NULL;
  g_autoptr(LoomLlamaState) state = NULL;
  g_autoptr(LoomCommand) cmd = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree float *logits = NULL;
  g_autofree guint32 *tokens = NULL;
  g_autofree char *out = NULL;
  g_autofree double *prompt_s = NULL;
  g_autofree double *gen_s = NULL;
  gint64 t0, t_load;
  guint n_vocab, n_ctx;
  guint32 next;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || n_prompt < 1
      || n_gen < 1 || n_batch < 1 || repeat < 1)
    {
      fprintf (stderr, "candor-cli bench: %s\n",
               error != NULL ? error->message : "give one MODEL and positive counts");
      return 2;
    }

  device = loom_device_new (selector, &error);
  if (device == NULL)
    goto fail;
  t0 = g_get_monotonic_time ();
  model = loom_text_model_new (device, argv[1], NULL, NULL, &error);
  if (model == NULL)
    goto fail;
  t_load = g_get_monotonic_time ();

  n_vocab = loom_text_model_get_n_vocab (model);
  n_ctx = (guint) (n_prompt + n_gen + 1);
  state = loom_llama_state_new (model, n_ctx, (guint) n_batch, FALSE, &error);
  cmd = state != NULL ? loom_command_new (device, &error) : NULL;
  if (cmd == NULL)
    goto fail;
  logits = g_new (float, n_vocab);

  /* Deterministic ordinary tokens (past the specials and bytes of a SentencePiece
   * vocabulary, where there is room). */
  tokens = g_new (guint32, n_prompt);
  for (int i = 0; i < n_prompt; i++)
    tokens[i] = n_vocab > 1000 ? 300 + (guint32) ((i * 7919u) % (n_vocab - 300))
                               : (guint32) (i % n_vocab);

  /* Warm-up: compiles every pipeline of both paths. */
  if (!forward (cmd, state, tokens, MIN ((guint) n_prompt, 2), 0, logits, &error)
      || !forward (cmd, state, tokens, 1, 2, logits, &error))
    goto fail;
  loom_device_reset_profile (device);

  prompt_s = g_new (double, repeat);
  gen_s = g_new (double, repeat);
  for (int run = 0; run < repeat; run++)
    {
      gint64 t_prompt, t_first, t_end;

      t_prompt = g_get_monotonic_time ();
      if (!forward (cmd, state, tokens, (guint) n_prompt, 0, logits, &error))
        goto fail;
      next = loom_sampler_argmax (logits, n_vocab);
      t_first = g_get_monotonic_time ();
      for (int i = 0; i < n_gen; i++)
        {
          if (!forward (cmd, state, &next, 1, (guint) (n_prompt + i), logits, &error))
            goto fail;
          next = loom_sampler_argmax (logits, n_vocab);
        }
      t_end = g_get_monotonic_time ();
      prompt_s[run] = (t_first - t_prompt) / 1e6;
      gen_s[run] = (t_end - t_first) / 1e6;
    }

  {
    double prompt_median = candor_cli_median (prompt_s, repeat), gen_median = candor_cli_median (gen_s, repeat);
    double weights = (double) loom_text_model_get_weight_bytes (model);
    const LoomWeight *embd = loom_text_model_get_token_embd (model);
    const LoomWeight *output = loom_text_model_get_output (model);
    double per_token = weights;

    /* A token reads every weight once, except the embedding table: one row of it, unless
     * the output projection is tied to it. */
    if (output->buffer != embd->buffer)
      per_token -= (double) loom_buffer_get_size (embd->buffer)
                   * (1.0 - 1.0 / (double) MAX (embd->rows, 1));

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, argv[1]);
    json_builder_set_member_name (b, "device");
    json_builder_add_string_value (b, loom_device_get_name (device));
    json_builder_set_member_name (b, "parameters");
    json_builder_add_int_value (b, (gint64) loom_text_model_get_n_parameters (model));
    json_builder_set_member_name (b, "weight_bytes");
    json_builder_add_int_value (b, (gint64) weights);
    json_builder_set_member_name (b, "load_seconds");
    json_builder_add_double_value (b, (t_load - t0) / 1e6);
    json_builder_set_member_name (b, "prompt_tokens");
    json_builder_add_int_value (b, n_prompt);
    json_builder_set_member_name (b, "prompt_tokens_per_second");
    json_builder_add_double_value (b, n_prompt / prompt_median);
    json_builder_set_member_name (b, "time_to_first_token_ms");
    json_builder_add_double_value (b, prompt_median * 1e3);
    json_builder_set_member_name (b, "generated_tokens");
    json_builder_add_int_value (b, n_gen);
    json_builder_set_member_name (b, "generation_tokens_per_second");
    json_builder_add_double_value (b, n_gen / gen_median);
    json_builder_set_member_name (b, "weight_bytes_per_token");
    json_builder_add_int_value (b, (gint64) per_token);
    json_builder_set_member_name (b, "decode_weight_gb_per_second");
    json_builder_add_double_value (b, per_token * n_gen / gen_median / 1e9);
    json_builder_set_member_name (b, "runs");
    json_builder_add_int_value (b, repeat);
    json_builder_set_member_name (b, "peak_host_mib");
    json_builder_add_double_value (b, candor_cli_peak_host_memory () / 1048576.0);
    json_builder_set_member_name (b, "peak_device_mib");
    json_builder_add_double_value (b, loom_device_get_memory_peak (device) / 1048576.0);
    json_builder_end_object (b);
  }
  root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  out = json_generator_to_data (generator, NULL);
  printf ("%s\n", out);
  return 0;

fail:
  fprintf (stderr, "candor-cli: %s\n", error->message);
  return 1;
}
