/* loom-text-session.c — requests, prefix reuse, overflow, the generation loop. */
#include "config.h"

#include <string.h>

#include "loom-error.h"
#include "loom-llama-forward.h"
#include "loom-sampler.h"
#include "loom-text-session-private.h"
#include "runtime/loom-stream.h"
#include "vk/loom-device-private.h"

/* Tokens evaluated per command buffer while reading a prompt. */
#define PROMPT_BATCH 128

struct _LoomTextSession
{
  GObject          parent_instance;

  LoomTextModel   *model;
  guint            n_ctx;
  LoomCacheType    cache_type;

  /* Used by jobs only, which run one at a time on the device's worker. */
  LoomLlamaState  *state;   /* created by the first job */
  LoomCommand     *command;
  GArray          *cached;  /* guint32: the tokens the KV cache holds, positions 0.. */
  float           *logits;  /* [n_vocab]: after the last token of cached */
};

G_DEFINE_FINAL_TYPE (LoomTextSession, loom_text_session, G_TYPE_OBJECT)

void
loom_generate_options_init (LoomGenerateOptions *options)
{
  g_return_if_fail (options != NULL);

  *options = (LoomGenerateOptions) {
    .max_tokens = 128,
    .temperature = 0.8f,
    .top_k = 40,
    .top_p = 0.95f,
    .min_p = 0.05f,
    .repeat_penalty = 1.0f,
    .repeat_last_n = 64,
  };
}

static void
loom_text_session_finalize (GObject *object)
{
  LoomTextSession *self = LOOM_TEXT_SESSION (object);

  g_clear_pointer (&self->command, loom_command_free);
  g_clear_pointer (&self->state, loom_llama_state_free);
  g_clear_pointer (&self->cached, g_array_unref);
  g_free (self->logits);
  g_clear_object (&self->model);

  G_OBJECT_CLASS (loom_text_session_parent_class)->finalize (object);
}

static void
loom_text_session_class_init (LoomTextSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = loom_text_session_finalize;
}

static void
loom_text_session_init (LoomTextSession *self)
{
  self->cached = g_array_new (FALSE, FALSE, sizeof (guint32));
}

/**
 * loom_text_session_new:
 * @n_ctx: the context in tokens; 0 for the model's own (at most 4096)
 *
 * Device memory for the KV cache is allocated by the first request, on the worker.
 */
LoomTextSession *
loom_text_session_new (LoomTextModel *model,
                       guint          n_ctx,
                       LoomCacheType  cache_type)
{
  LoomTextSession *self;

  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (model), NULL);

  self = g_object_new (LOOM_TYPE_TEXT_SESSION, NULL);
  self->model = g_object_ref (model);
  self->n_ctx = n_ctx > 0 ? n_ctx : MIN (loom_text_model_get_context_length (model), 4096);
  self->cache_type = cache_type;
  return self;
}

LoomTextModel *
loom_text_session_get_model (LoomTextSession *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_SESSION (self), NULL);
  return self->model;
}

guint
loom_text_session_get_n_ctx (LoomTextSession *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_SESSION (self), 0);
  return self->n_ctx;
}

/* The tokens the KV cache holds; worker thread. */
guint
loom_text_session_get_n_cached (LoomTextSession *self)
{
  return self->cached->len;
}

/* Returns: (element-type guint32): a copy of the tokens the KV cache holds; for tests. */
GArray *
loom_text_session_dup_cached (LoomTextSession *self)
{
  GArray *copy = g_array_sized_new (FALSE, FALSE, sizeof (guint32), self->cached->len);

  g_array_append_vals (copy, self->cached->data, self->cached->len);
  return copy;
}

static gboolean
ensure_state (LoomTextSession *self,
              GError         **error)
{
  if (self->state != NULL)
    return TRUE;
  self->state = loom_llama_state_new (self->model, self->n_ctx, PROMPT_BATCH,
                                      self->cache_type == LOOM_CACHE_F32, error);
  if (self->state == NULL)
    return FALSE;
  self->command = loom_command_new (loom_text_model_get_device (self->model), error);
  if (self->command == NULL)
    return FALSE;
  self->logits = g_new (float, loom_text_model_get_n_vocab (self->model));
  return TRUE;
}

/* Makes the cache hold exactly @tokens and the logits follow the last of them,
 * evaluating only what the cache does not already hold. Returns the tokens reused. */
static gboolean
evaluate (LoomTextSession *self,
          const guint32   *tokens,
          guint            n,
          GCancellable    *cancellable,
          guint           *n_reused,
          GError         **error)
{
  const guint32 *cached = (const guint32 *) self->cached->data;
  guint p = 0;

  g_return_val_if_fail (n > 0 && n <= self->n_ctx, FALSE);

  while (p < n && p < self->cached->len && cached[p] == tokens[p])
    p++;
  /* The logits of the last token are needed: evaluate it again if it was cached. */
  if (p == n)
    p = n - 1;
  *n_reused = p;
  g_array_set_size (self->cached, p);

  while (p < n)
    {
      guint chunk = MIN (n - p, loom_llama_state_get_n_batch (self->state));
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      loom_llama_record_forward (self->command, self->state, tokens + p, chunk, p);
      if (!loom_command_submit (self->command, error))
        return FALSE;
      g_array_append_vals (self->cached, tokens + p, chunk);
      p += chunk;
    }
  return loom_llama_state_read_logits (self->state, self->logits, error);
}

/* Appends @token to the sequence: one forward pass, then its logits. */
static gboolean
step (LoomTextSession *self,
      guint32          token,
      GError         **error)
{
  loom_llama_record_forward (self->command, self->state, &token, 1, self->cached->len);
  if (!loom_command_submit (self->command, error))
    return FALSE;
  g_array_append_val (self->cached, token);
  return loom_llama_state_read_logits (self->state, self->logits, error);
}

/* Trims @tokens to @budget: the first @n_keep stay, then the newest. */
static void
fit (GArray *tokens,
     guint   budget,
     guint   n_keep)
{
  guint drop;

  if (tokens->len <= budget)
    return;
  n_keep = MIN (n_keep, budget / 2);
  drop = tokens->len - budget;
  g_array_remove_range (tokens, n_keep, drop);
}

/* The length of the longest end of @text that starts one of @stop: text that may yet
 * become a stop string and is held back until it is known. */
static gsize
stop_prefix_at_end (const GString      *text,
                    const char * const *stop)
{
  gsize longest = 0;

  for (guint s = 0; stop != NULL && stop[s] != NULL; s++)
    {
      gsize len = strlen (stop[s]);
      for (gsize k = MIN (len - 1, text->len); k > longest; k--)
        if (memcmp (text->str + text->len - k, stop[s], k) == 0)
          {
            longest = k;
            break;
          }
    }
  return longest;
}

/* Returns the offset of the first stop string in @text at or after @from, or -1. */
static gssize
find_stop (const GString      *text,
           gsize               from,
           const char * const *stop)
{
  gssize first = -1;

  for (guint s = 0; stop != NULL && stop[s] != NULL; s++)
    {
      const char *hit;
      if (*stop[s] == '\0')
        continue;
      hit = g_strstr_len (text->str + from, text->len - from, stop[s]);
      if (hit != NULL && (first < 0 || hit - text->str < first))
        first = hit - text->str;
    }
  return first;
}

/**
 * loom_text_session_generate:
 * @stream: (nullable): receives the text as it is generated
 *
 * Generates synchronously on the calling thread: call it from the device's worker (as
 * generate_async does) or from a tool or test that owns the session.
 */
char *
loom_text_session_generate (LoomTextSession           *self,
                            const char                *prompt,
                            const LoomGenerateOptions *options,
                            LoomStream                *stream,
                            GCancellable              *cancellable,
                            LoomGenerateStats         *stats,
                            GError                   **error)
{
  LoomTokenizer *tokenizer = loom_text_model_get_tokenizer (self->model);
  guint n_vocab = loom_text_model_get_n_vocab (self->model);
  gint32 bos = loom_tokenizer_get_bos (tokenizer);
  LoomTokenizeFlags flags = loom_tokenizer_get_add_bos (tokenizer) ? LOOM_TOKENIZE_ADD_BOS
                                                                    : LOOM_TOKENIZE_NONE;
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(LoomSampler) sampler = NULL;
  g_autoptr(LoomDetokenizer) detokenizer = NULL;
  g_autoptr(GString) scratch = g_string_new (NULL);
  GString *out = g_string_new (NULL);
  gsize emitted = 0;
  gint64 start = g_get_monotonic_time (), first_token = 0;
  guint room, n_reused = 0;
  gboolean stopped = FALSE;
  gsize longest_stop = 0;

  memset (stats, 0, sizeof *stats);
  for (guint s = 0; options->stop != NULL && options->stop[s] != NULL; s++)
    longest_stop = MAX (longest_stop, strlen (options->stop[s]));
  if (!ensure_state (self, error))
    goto fail;

  tokens = loom_tokenizer_encode (tokenizer, prompt, -1, flags);
  if (tokens->len == 0)
    {
      if (bos < 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "An empty prompt needs a model with a BOS token");
          goto fail;
        }
      g_array_append_val (tokens, bos);
    }

  /* Leave room to generate: at most half the context goes to that. */
  room = MIN (options->max_tokens, self->n_ctx / 2);
  if (tokens->len > self->n_ctx - room)
    {
      g_autofree char *pinned = g_strndup (prompt, MIN (options->pinned, strlen (prompt)));
      g_autoptr(GArray) head = loom_tokenizer_encode (tokenizer, pinned, -1, flags);
      fit (tokens, self->n_ctx - room, head->len);
    }

  if (!evaluate (self, (const guint32 *) tokens->data, tokens->len, cancellable, &n_reused, error))
    goto fail;
  stats->n_prompt = tokens->len;
  stats->n_reused = n_reused;
  stats->prompt_seconds = (g_get_monotonic_time () - start) / 1e6;

  sampler = loom_sampler_new (options);
  detokenizer = loom_detokenizer_new (tokenizer);
  /* The prompt's last token decides how the first piece starts (after BOS, no space). */
  loom_detokenizer_push (detokenizer, g_array_index (tokens, guint32, tokens->len - 1), scratch);

  for (guint i = 0; i < options->max_tokens; i++)
    {
      guint32 next;
      gssize stop_at;
      gsize searched = out->len, hold;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto fail;

      next = loom_sampler_sample (sampler, self->logits, n_vocab,
                                  (const guint32 *) self->cached->data, self->cached->len);
      if (first_token == 0)
        first_token = g_get_monotonic_time ();
      /* A model that starts a new document (BOS) has ended this one. */
      if (loom_tokenizer_is_eog (tokenizer, next) || (gint32) next == bos)
        break;
      stats->n_generated++;

      loom_detokenizer_push (detokenizer, next, out);
      /* A stop string may have begun in text held back before. */
      stop_at = find_stop (out, searched > longest_stop ? searched - longest_stop : 0,
                           options->stop);
      if (stop_at >= 0)
        {
          g_string_truncate (out, stop_at);
          stopped = TRUE;
          break;
        }
      hold = stop_prefix_at_end (out, options->stop);
      if (stream != NULL && out->len - hold > emitted)
        loom_stream_append (stream, out->str + emitted, out->len - hold - emitted);
      emitted = MAX (emitted, out->len - hold);

      if (i + 1 == options->max_tokens || self->cached->len >= self->n_ctx)
        break;
      if (!step (self, next, error))
        goto fail;
    }

  if (!stopped)
    loom_detokenizer_flush (detokenizer, out);
  if (stream != NULL && out->len > emitted)
    loom_stream_append (stream, out->str + emitted, out->len - emitted);

  stats->first_token_seconds = first_token > 0 ? (first_token - start) / 1e6 : 0.0;
  stats->generate_seconds = first_token > 0 ? (g_get_monotonic_time () - first_token) / 1e6 : 0.0;
  return g_string_free (out, FALSE);

fail:
  g_string_free (out, TRUE);
  return NULL;
}

typedef struct
{
  char                *prompt;
  LoomGenerateOptions  options;  /* stop points into stop_strings */
  char               **stop_strings;
  LoomStream          *stream;
  LoomGenerateStats    stats;
} GenerateData;

static void
generate_data_free (gpointer data)
{
  GenerateData *self = data;

  g_free (self->prompt);
  g_strfreev (self->stop_strings);
  g_clear_pointer (&self->stream, loom_stream_unref);
  g_free (self);
}

/* Runs on the device's worker thread. */
static void
generate_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GenerateData *data = task_data;
  GError *error = NULL;
  char *text = loom_text_session_generate (source_object, data->prompt, &data->options,
                                           data->stream, cancellable, &data->stats, &error);

  loom_stream_finish (data->stream);
  if (text == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, text, g_free);
}

/**
 * loom_text_session_generate_async:
 * @options: (nullable): %NULL for the defaults of loom_generate_options_init()
 * @text_func: (nullable): receives the text as it is generated, on the caller's main
 *   context, before the result
 *
 * Continues @prompt. The request runs as a job on the device's worker, after any queued
 * before it; cancelling stops it before the next token (the text so far has reached
 * @text_func; the result is %G_IO_ERROR_CANCELLED).
 */
void
loom_text_session_generate_async (LoomTextSession           *self,
                                  const char                *prompt,
                                  const LoomGenerateOptions *options,
                                  LoomTextFunc               text_func,
                                  gpointer                   text_data,
                                  GDestroyNotify             text_destroy,
                                  GCancellable              *cancellable,
                                  GAsyncReadyCallback        callback,
                                  gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  GenerateData *data;

  g_return_if_fail (LOOM_IS_TEXT_SESSION (self));
  g_return_if_fail (prompt != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, loom_text_session_generate_async);

  data = g_new0 (GenerateData, 1);
  data->prompt = g_strdup (prompt);
  if (options != NULL)
    data->options = *options;
  else
    loom_generate_options_init (&data->options);
  data->stop_strings = g_strdupv ((char **) data->options.stop);
  data->options.stop = (const char * const *) data->stop_strings;
  data->stream = loom_stream_new (g_task_get_context (task), text_func, text_data, text_destroy);
  g_task_set_task_data (task, data, generate_data_free);

  loom_device_run_in_worker (loom_text_model_get_device (self->model), task, generate_worker);
}

/**
 * loom_text_session_generate_finish:
 * @stats: (out) (optional): counts and timings of the request
 *
 * Returns: (transfer full): the generated text, without the prompt
 */
char *
loom_text_session_generate_finish (LoomTextSession   *self,
                                   GAsyncResult      *result,
                                   LoomGenerateStats *stats,
                                   GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == loom_text_session_generate_async,
                        NULL);

  if (stats != NULL)
    *stats = ((GenerateData *) g_task_get_task_data (G_TASK (result)))->stats;
  return g_task_propagate_pointer (G_TASK (result), error);
}
