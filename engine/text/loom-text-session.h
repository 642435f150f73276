/* loom-text-session.h — generation with a model, keeping the KV cache between requests.
 *
 * A session remembers which tokens its KV cache holds; a request whose prompt starts
 * with them only evaluates the rest, so a suggestion after a keystroke costs the new
 * tokens, and several alternatives for one context cost one token each before sampling.
 * When a prompt does not fit the context, its first `pinned` bytes (story notes, say) are
 * kept and the oldest text after them is dropped. Generation runs on the device's worker.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

#define LOOM_TYPE_TEXT_SESSION (loom_text_session_get_type ())

G_DECLARE_FINAL_TYPE (LoomTextSession, loom_text_session, LOOM, TEXT_SESSION, GObject)

/* How the KV cache stores keys and values: f16 halves its size; f32 agrees exactly
 * with f32 implementations (e.g. to reproduce their sampled outputs). */
typedef enum
{
  LOOM_CACHE_F16,
  LOOM_CACHE_F32,
} LoomCacheType;

typedef struct
{
  guint               max_tokens;      /* to generate; default 128 */
  float               temperature;     /* 0: greedy; default 0.8 */
  guint               top_k;           /* 0: off; default 40 */
  float               top_p;           /* 1: off; default 0.95 */
  float               min_p;           /* 0: off; default 0.05 */
  float               repeat_penalty;  /* 1: off; default 1 */
  guint               repeat_last_n;   /* default 64 */
  guint64             seed;            /* the same seed and logits give the same tokens */
  gboolean            llama2c;         /* llama2.c's sampler: temperature and top-p only */
  const char * const *stop;            /* (nullable): NULL-terminated; generation ends
                                        * before the first of them, which is not returned */
  gsize               pinned;          /* bytes of the prompt kept when it overflows */
} LoomGenerateOptions;

typedef struct
{
  guint  n_prompt;         /* tokens of the prompt, after any overflow trimming */
  guint  n_reused;         /* of them, found in the KV cache */
  guint  n_generated;
  double prompt_seconds;   /* evaluating the prompt's new tokens */
  double first_token_seconds;  /* from the start of the request to the first token */
  double generate_seconds; /* the rest */
} LoomGenerateStats;

void             loom_generate_options_init         (LoomGenerateOptions       *options);

LoomTextSession *loom_text_session_new              (LoomTextModel             *model,
                                                     guint                      n_ctx,
                                                     LoomCacheType              cache_type);
LoomTextModel   *loom_text_session_get_model        (LoomTextSession           *self);
guint            loom_text_session_get_n_ctx        (LoomTextSession           *self);
void             loom_text_session_generate_async   (LoomTextSession           *self,
                                                     const char                *prompt,
                                                     const LoomGenerateOptions *options,
                                                     LoomTextFunc               text_func,
                                                     gpointer                   text_data,
                                                     GDestroyNotify             text_destroy,
                                                     GCancellable              *cancellable,
                                                     GAsyncReadyCallback        callback,
                                                     gpointer                   user_data);
char            *loom_text_session_generate_finish  (LoomTextSession           *self,
                                                     GAsyncResult              *result,
                                                     LoomGenerateStats         *stats,
                                                     GError                   **error);

G_END_DECLS
