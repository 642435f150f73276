/* candor-suggestion-controller.c — CandorSuggestionController.
 *
 * One request is on show at a time: the context it was made from, and up to
 * "suggestion-alternatives" continuations of it, each generated when first shown (they
 * share the context, so the session reuses the whole prompt from its KV cache and only
 * samples anew). The ghost text is the shown alternative minus what the author has
 * already typed or accepted of it. Anything else that changes the text or moves the
 * cursor ends the request and cancels its generation.
 *
 * Events (through the document): an alternative is logged as `suggest` once it has been
 * shown and is finished — generated to its end, or cut short because the author acted on
 * it (accepting, cycling, dismissing), so the logged output is exactly what was on screen.
 * A suggestion nothing of which was accepted is `reject`ed when it leaves the screen
 * (Esc, typing something else, moving the cursor); Alt+]/Alt+[ log `cycle` for the one
 * left; Ctrl+Space on a suggestion logs `regenerate` and asks again.
 *
 * The context sent to the model is laid out as
 *
 *   <memory>\n\n                               kept whole (pinned) when trimming
 *   <story text before the cursor, its newest part that fits the token budget,
 *    with "[Author's note: <note>]\n" before its last three lines>
 *
 * The story text is cut at the start of a line (a paragraph) when it can be, so the cut
 * stays put while the author types and the session keeps reusing its cached prefix.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "candor-suggestion-controller.h"

/* Tokens kept free beyond the generated length: tokenizing the pieces of the context
 * apart may count a few fewer than tokenizing it whole. */
#define BUDGET_MARGIN 8
/* A token is rarely longer than this many bytes: text older than budget × this is never
 * looked at when fitting the budget. */
#define MAX_TOKEN_BYTES 16
/* Continue writes this many times the suggestion length. */
#define CONTINUE_FACTOR 8
/* Lines of story text after the author's note. */
#define AUTHORS_NOTE_DEPTH 3

typedef struct
{
  GString      *text;         /* generated so far */
  char         *id;           /* (nullable): the `suggest` event, once logged */
  guint64       seed;
  gboolean      done;         /* generated to its end, or cut short: text is final */
  GCancellable *cancellable;
} Alternative;

typedef struct
{
  guint        serial;
  char        *context;
  gsize        pinned;
  GPtrArray   *alternatives;  /* of Alternative, in the order generated */
  guint        current;
  gsize        consumed;      /* bytes of the current alternative typed or accepted */
  gboolean     accepted;      /* some of it was accepted */
  guint64      seed;
  guint        max_tokens;
  double       temperature;
  double       top_p;
  guint        n_alternatives;
} Request;

struct _CandorSuggestionController
{
  GObject          parent_instance;

  CandorDocument  *document;      /* owned */
  GtkTextBuffer   *buffer;        /* the document's */
  GSettings       *settings;      /* owned */
  LoomTextModel   *model;         /* (nullable) */
  LoomTextSession *session;       /* (nullable): on model */
  char            *model_sha256;  /* (nullable): computed in a thread after set_model */
  GCancellable    *hash_cancellable;

  GtkTextMark     *anchor;        /* where the ghost text starts; right gravity, so text
                                   * typed there leaves it after that text */
  guint            pause_id;      /* the automatic request's timeout */
  Request         *request;       /* (nullable) */
  guint            serial;
  guint            n_running;     /* generations in flight */
  char            *context;       /* the last context sent */
  char            *error;

  /* Continue */
  gboolean         streaming;
  gboolean         stream_begun;
  GCancellable    *stream_cancellable;
  GString         *stream_text;
  char            *stream_context;
  guint64          stream_seed;
  guint            stream_max_tokens;
  double           stream_temperature;
  double           stream_top_p;
};

G_DEFINE_FINAL_TYPE (CandorSuggestionController, candor_suggestion_controller, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_DOCUMENT,
  PROP_GHOST_TEXT,
  PROP_ALTERNATIVE,
  PROP_BUSY,
  PROP_STREAMING,
  PROP_CONTEXT,
  PROP_ERROR,
  PROP_MODEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
alternative_free (gpointer data)
{
  Alternative *alt = data;

  g_cancellable_cancel (alt->cancellable);
  g_clear_object (&alt->cancellable);
  g_string_free (alt->text, TRUE);
  g_free (alt->id);
  g_free (alt);
}

static void
request_free (Request *request)
{
  g_ptr_array_unref (request->alternatives);
  g_free (request->context);
  g_free (request);
}

static Alternative *
current_alternative (CandorSuggestionController *self)
{
  if (self->request == NULL || self->request->current >= self->request->alternatives->len)
    return NULL;
  return g_ptr_array_index (self->request->alternatives, self->request->current);
}

const char *
candor_suggestion_controller_get_ghost_text (CandorSuggestionController *self)
{
  Alternative *alt;

  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), NULL);
  alt = current_alternative (self);
  if (alt == NULL || alt->text->len <= self->request->consumed)
    return NULL;
  return alt->text->str + self->request->consumed;
}

guint
candor_suggestion_controller_get_alternative (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), 0);
  return self->request != NULL ? self->request->current : 0;
}

gboolean
candor_suggestion_controller_get_busy (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);
  return self->n_running > 0;
}

gboolean
candor_suggestion_controller_get_streaming (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);
  return self->streaming;
}

/* Returns: (nullable): the exact text last sent to the model */
const char *
candor_suggestion_controller_get_context (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), NULL);
  return self->context;
}

/* Returns: (nullable): why the last request failed, in the engine's words */
const char *
candor_suggestion_controller_get_error (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), NULL);
  return self->error;
}

CandorDocument *
candor_suggestion_controller_get_document (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), NULL);
  return self->document;
}

LoomTextModel *
candor_suggestion_controller_get_model (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), NULL);
  return self->model;
}

static void
set_error (CandorSuggestionController *self,
           const char                 *error)
{
  if (g_strcmp0 (self->error, error) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
set_running (CandorSuggestionController *self,
             int                         delta)
{
  gboolean was_busy = self->n_running > 0;

  self->n_running += delta;
  if (was_busy != (self->n_running > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_context (CandorSuggestionController *self,
             const char                 *context)
{
  g_free (self->context);
  self->context = g_strdup (context);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTEXT]);
}

static void
notify_ghost (CandorSuggestionController *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GHOST_TEXT]);
}

/* Logs @alt as shown, cutting its generation short first so the output logged is what
 * the author saw. Returns its id, or NULL when it showed nothing. */
static const char *
ensure_logged (CandorSuggestionController *self,
               Alternative                *alt)
{
  Request *request = self->request;

  if (alt->id != NULL)
    return alt->id;
  if (!alt->done)
    {
      g_cancellable_cancel (alt->cancellable);
      alt->done = TRUE;
    }
  if (alt->text->len == 0)
    return NULL;
  alt->id = candor_document_log_suggest (self->document, loom_text_model_get_name (self->model),
                                         self->model_sha256, request->context, alt->text->str,
                                         request->temperature, request->top_p, alt->seed,
                                         request->max_tokens);
  return alt->id;
}

/* Ends the request on show. @reject: log `reject` when nothing of it was accepted. */
static void
end_request (CandorSuggestionController *self,
             gboolean                    reject)
{
  Request *request = self->request;
  Alternative *alt;

  if (request == NULL)
    return;
  alt = current_alternative (self);
  if (reject && !request->accepted && alt != NULL && alt->text->len > request->consumed)
    {
      const char *id = ensure_logged (self, alt);
      if (id != NULL)
        candor_document_log_reject (self->document, id);
    }
  self->request = NULL;
  /* Cancels every generation still running for it. */
  request_free (request);
  notify_ghost (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALTERNATIVE]);
}

typedef struct
{
  CandorSuggestionController *self;  /* owned */
  guint                       serial;
  guint                       index;
} Call;

static void
call_free (gpointer data)
{
  Call *call = data;

  g_object_unref (call->self);
  g_free (call);
}

/* The alternative a call generates, if its request is still on show. */
static Alternative *
call_alternative (Call *call)
{
  Request *request = call->self->request;

  if (request == NULL || request->serial != call->serial
      || call->index >= request->alternatives->len)
    return NULL;
  return g_ptr_array_index (request->alternatives, call->index);
}

static void
alternative_text_cb (const char *text,
                     gpointer    user_data)
{
  Call *call = user_data;
  Alternative *alt = call_alternative (call);

  /* Text after the alternative was cut short was never shown: it is dropped. */
  if (alt == NULL || alt->done)
    return;
  g_string_append (alt->text, text);
  if (call->index == call->self->request->current)
    notify_ghost (call->self);
}

static void
alternative_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Call *call = user_data;
  CandorSuggestionController *self = g_object_ref (call->self);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  Alternative *alt;

  text = loom_text_session_generate_finish (LOOM_TEXT_SESSION (source), result, NULL, &error);
  alt = call_alternative (call);
  set_running (self, -1);
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_error (self, error->message);
  else if (error == NULL)
    set_error (self, NULL);

  if (alt != NULL && !alt->done)
    {
      alt->done = TRUE;
      /* A finished alternative that was on screen is a suggestion shown. */
      if (call->index == self->request->current && alt->text->len > self->request->consumed)
        ensure_logged (self, alt);
    }
  call_free (call);
  g_object_unref (self);
}

static void
generate_alternative (CandorSuggestionController *self)
{
  Request *request = self->request;
  Alternative *alt = g_new0 (Alternative, 1);
  LoomGenerateOptions options;
  static const char *stop[] = { "\n", NULL };
  Call *call;

  alt->text = g_string_new (NULL);
  alt->seed = request->seed + request->alternatives->len;
  alt->cancellable = g_cancellable_new ();
  g_ptr_array_add (request->alternatives, alt);

  loom_generate_options_init (&options);
  options.max_tokens = request->max_tokens;
  options.temperature = request->temperature;
  options.top_p = request->top_p;
  options.seed = alt->seed;
  options.pinned = request->pinned;
  /* The ghost text is one line long: it must not cover the lines below. */
  options.stop = stop;

  call = g_new0 (Call, 1);
  call->self = g_object_ref (self);
  call->serial = request->serial;
  call->index = request->alternatives->len - 1;
  set_running (self, +1);
  set_context (self, request->context);
  loom_text_session_generate_async (self->session, request->context, &options,
                                    alternative_text_cb, call, NULL, alt->cancellable,
                                    alternative_done_cb, call);
}

/* The largest share of @text's end (from a char boundary) within @budget tokens, cut at
 * the start of a line if one fits, else of a word. Returns the offset where it starts. */
static gsize
fit_suffix (LoomTextModel *model,
            const char    *text,
            gsize          len,
            guint          budget)
{
  g_autoptr(GArray) cuts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize floor = 0, lo, hi;
  const char *p;

  if (loom_text_model_count_tokens (model, text) <= budget)
    return 0;
  if (budget == 0)
    return len;
  if (len > (gsize) budget * MAX_TOKEN_BYTES)
    floor = g_utf8_find_next_char (text + len - (gsize) budget * MAX_TOKEN_BYTES - 1, NULL) - text;

  /* Line starts, oldest first: the fewer tokens the later the start. */
  for (p = text + floor; p < text + len; p++)
    if (*p == '\n' && p + 1 < text + len)
      {
        gsize at = p + 1 - text;
        g_array_append_val (cuts, at);
      }
  lo = 0;
  hi = cuts->len;
  while (lo < hi)
    {
      gsize mid = (lo + hi) / 2;
      if (loom_text_model_count_tokens (model, text + g_array_index (cuts, gsize, mid)) <= budget)
        hi = mid;
      else
        lo = mid + 1;
    }
  if (lo < cuts->len)
    return g_array_index (cuts, gsize, lo);

  /* One line longer than the budget: the first word start in it that fits. */
  g_array_set_size (cuts, 0);
  for (p = text + floor; p < text + len; p = g_utf8_next_char (p))
    if (p > text && g_ascii_isspace (p[-1]) && !g_ascii_isspace (*p))
      {
        gsize at = p - text;
        g_array_append_val (cuts, at);
      }
  lo = 0;
  hi = cuts->len;
  while (lo < hi)
    {
      gsize mid = (lo + hi) / 2;
      if (loom_text_model_count_tokens (model, text + g_array_index (cuts, gsize, mid)) <= budget)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo < cuts->len ? g_array_index (cuts, gsize, lo) : len;
}

/* The longest start of @text within @budget tokens, in bytes. */
static gsize
fit_prefix (LoomTextModel *model,
            const char    *text,
            guint          budget)
{
  glong lo = 0, hi = g_utf8_strlen (text, -1);

  if (loom_text_model_count_tokens (model, text) <= budget)
    return strlen (text);
  /* Invariant: @lo characters fit, @hi do not. */
  while (hi - lo > 1)
    {
      glong mid = (lo + hi) / 2;
      gsize bytes = g_utf8_offset_to_pointer (text, mid) - text;
      g_autofree char *head = g_strndup (text, bytes);
      if (loom_text_model_count_tokens (model, head) <= budget)
        lo = mid;
      else
        hi = mid;
    }
  return g_utf8_offset_to_pointer (text, lo) - text;
}

char *
candor_suggestion_controller_build_context (CandorSuggestionController *self,
                                            const GtkTextIter          *cursor,
                                            guint                       budget,
                                            gsize                      *pinned)
{
  const char *memory, *note;
  g_autofree char *story = NULL;
  g_autofree char *head = NULL;
  g_autofree char *note_line = NULL;
  GtkTextIter start;
  GString *out;
  guint head_tokens = 0, note_tokens = 0;
  gsize story_len, cut, note_at;
  guint lines = 0;

  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), NULL);
  g_return_val_if_fail (self->model != NULL, NULL);

  memory = candor_document_get_memory (self->document);
  note = candor_document_get_authors_note (self->document);
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  story = gtk_text_buffer_get_text (self->buffer, &start, cursor, FALSE);
  story_len = strlen (story);

  /* The memory may take at most half the budget; the newest text needs the rest. */
  if (memory != NULL && *memory != '\0')
    {
      gsize keep = fit_prefix (self->model, memory, budget / 2);
      head = g_strdup_printf ("%.*s\n\n", (int) keep, memory);
      head_tokens = loom_text_model_count_tokens (self->model, head);
    }
  if (note != NULL && *note != '\0')
    {
      /* Model input, not interface text: not translated. */
      note_line = g_strdup_printf ("[Author's note: %s]\n", note);
      note_tokens = loom_text_model_count_tokens (self->model, note_line);
      /* A note too long to leave room for the story is left out. */
      if (head_tokens + note_tokens > budget / 2 + budget / 4)
        {
          g_clear_pointer (&note_line, g_free);
          note_tokens = 0;
        }
    }

  cut = fit_suffix (self->model, story, story_len,
                    budget > head_tokens + note_tokens ? budget - head_tokens - note_tokens : 0);

  /* The author's note goes before the last few lines: near enough to the cursor to
   * steer what comes next, not so near that the model continues the note. */
  note_at = story_len;
  while (note_at > cut && lines < AUTHORS_NOTE_DEPTH)
    {
      note_at--;
      if (story[note_at] == '\n')
        lines++;
    }
  if (lines < AUTHORS_NOTE_DEPTH)
    note_at = cut;
  else
    note_at++;

  out = g_string_new (head);
  if (pinned != NULL)
    *pinned = out->len;
  g_string_append_len (out, story + cut, note_at - cut);
  if (note_line != NULL)
    g_string_append (out, note_line);
  g_string_append (out, story + note_at);
  return g_string_free (out, FALSE);
}

static gboolean
cursor_can_suggest (CandorSuggestionController *self,
                    GtkTextIter                *cursor)
{
  GtkTextIter iter;
  const char *memory;

  gtk_text_buffer_get_iter_at_mark (self->buffer, cursor,
                                    gtk_text_buffer_get_insert (self->buffer));
  if (gtk_text_buffer_get_has_selection (self->buffer))
    return FALSE;
  /* Ghost text after the cursor would cover text that follows it on the line. */
  if (!gtk_text_iter_ends_line (cursor))
    return FALSE;
  memory = candor_document_get_memory (self->document);
  if (memory != NULL && *memory != '\0')
    return TRUE;
  /* Nothing to continue in an empty story. */
  iter = *cursor;
  while (gtk_text_iter_backward_char (&iter))
    if (!g_unichar_isspace (gtk_text_iter_get_char (&iter)))
      return TRUE;
  return FALSE;
}

static void
start_request (CandorSuggestionController *self,
               GtkTextIter                *cursor)
{
  Request *request = g_new0 (Request, 1);
  guint n_ctx = loom_text_session_get_n_ctx (self->session);

  request->serial = ++self->serial;
  request->max_tokens = g_settings_get_uint (self->settings, "suggestion-length");
  request->max_tokens = MIN (request->max_tokens, n_ctx / 4);
  request->temperature = g_settings_get_double (self->settings, "suggestion-temperature");
  request->top_p = g_settings_get_double (self->settings, "suggestion-top-p");
  request->n_alternatives = g_settings_get_uint (self->settings, "suggestion-alternatives");
  request->seed = g_random_int ();
  request->context = candor_suggestion_controller_build_context (
    self, cursor, n_ctx - request->max_tokens - BUDGET_MARGIN, &request->pinned);
  request->alternatives = g_ptr_array_new_with_free_func (alternative_free);

  gtk_text_buffer_move_mark (self->buffer, self->anchor, cursor);
  self->request = request;
  generate_alternative (self);
  notify_ghost (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALTERNATIVE]);
}

/* Asks for a suggestion at the cursor now (Ctrl+Space). On a suggestion already
 * showing it throws it away and asks again (`regenerate`). */
gboolean
candor_suggestion_controller_request (CandorSuggestionController *self)
{
  GtkTextIter cursor;

  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);

  g_clear_handle_id (&self->pause_id, g_source_remove);
  if (self->session == NULL || self->streaming || !cursor_can_suggest (self, &cursor))
    return FALSE;
  if (self->request != NULL)
    {
      Alternative *alt = current_alternative (self);
      const char *id = alt != NULL ? ensure_logged (self, alt) : NULL;
      if (id != NULL)
        candor_document_log_regenerate (self->document, id);
      end_request (self, FALSE);
    }
  start_request (self, &cursor);
  return TRUE;
}

static gboolean
pause_done_cb (gpointer user_data)
{
  CandorSuggestionController *self = user_data;

  self->pause_id = 0;
  if (self->request == NULL)
    candor_suggestion_controller_request (self);
  return G_SOURCE_REMOVE;
}

/* In automatic mode a pause in typing asks for a suggestion. */
static void
schedule (CandorSuggestionController *self)
{
  g_clear_handle_id (&self->pause_id, g_source_remove);
  if (self->session == NULL || self->streaming
      || g_settings_get_enum (self->settings, "suggestion-mode") != 0)
    return;
  self->pause_id = g_timeout_add (g_settings_get_uint (self->settings, "suggestion-pause"),
                                  pause_done_cb, self);
}

/* The piece of @ghost that accepting @how takes: everything; up to the end of the next
 * word (with the spaces before it); or up to the end of the sentence (with its closing
 * punctuation and quotes). */
static gsize
accept_length (const char      *ghost,
               CandorAcceptHow  how)
{
  const char *p = ghost;

  if (how == CANDOR_ACCEPT_ALL)
    return strlen (ghost);
  while (*p != '\0' && g_unichar_isspace (g_utf8_get_char (p)))
    p = g_utf8_next_char (p);
  if (how == CANDOR_ACCEPT_WORD)
    {
      while (*p != '\0' && !g_unichar_isspace (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      return p - ghost;
    }
  for (; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c == '.' || c == '!' || c == '?' || c == 0x2026 || c == 0x3002 || c == 0xFF01
          || c == 0xFF1F)
        {
          p = g_utf8_next_char (p);
          while (*p != '\0' && strchr (".!?\"')", *p) != NULL)
            p++;
          while (*p != '\0' && (g_utf8_get_char (p) == 0x201D || g_utf8_get_char (p) == 0x2019))
            p = g_utf8_next_char (p);
          return p - ghost;
        }
    }
  return p - ghost;
}

/* Accepts the suggestion showing, all of it or its next word or sentence. */
gboolean
candor_suggestion_controller_accept (CandorSuggestionController *self,
                                     CandorAcceptHow             how)
{
  Alternative *alt;
  const char *ghost;
  g_autofree char *id = NULL;
  g_autofree char *piece = NULL;
  GtkTextIter iter;
  gsize len;

  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);
  g_return_val_if_fail (how != CANDOR_ACCEPT_CONTINUE, FALSE);

  ghost = candor_suggestion_controller_get_ghost_text (self);
  if (ghost == NULL)
    return FALSE;
  alt = current_alternative (self);
  /* Accepting ends the generation: the suggestion is what the author saw. */
  /* A copy: taking the whole suggestion ends the request, and frees it, during the
   * insertion, before the document logs the accept. */
  id = g_strdup (ensure_logged (self, alt));
  ghost = candor_suggestion_controller_get_ghost_text (self);
  len = accept_length (ghost, how);
  if (len == 0)
    return FALSE;
  piece = g_strndup (ghost, len);
  self->request->accepted = TRUE;

  /* The insertion at the anchor consumes the ghost text like typing does (insert_cb). */
  gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, self->anchor);
  candor_document_accept (self->document, &iter, piece, id, how);
  gtk_text_buffer_place_cursor (self->buffer, &iter);
  return TRUE;
}

/* Shows the next (@direction > 0) or previous alternative, generating it when new. */
gboolean
candor_suggestion_controller_cycle (CandorSuggestionController *self,
                                    int                         direction)
{
  Request *request;
  Alternative *alt;
  const char *id;
  guint n;

  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);

  request = self->request;
  if (request == NULL || self->streaming)
    return FALSE;
  /* Alternatives continue the context as it was; once the author has typed or taken
   * part of one, the others no longer fit: ask anew. */
  if (request->consumed > 0)
    return candor_suggestion_controller_request (self);

  alt = current_alternative (self);
  id = ensure_logged (self, alt);
  if (id != NULL)
    candor_document_log_cycle (self->document, id);

  n = request->alternatives->len;
  if (direction < 0)
    request->current = (request->current + n - 1) % n;
  else if (request->current + 1 < n)
    request->current++;
  else if (n < request->n_alternatives)
    {
      request->current = n;
      generate_alternative (self);
    }
  else
    request->current = 0;
  notify_ghost (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALTERNATIVE]);
  return TRUE;
}

/* Esc: stops Continue, or dismisses the suggestion (a `reject` unless some was taken). */
gboolean
candor_suggestion_controller_dismiss (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);

  g_clear_handle_id (&self->pause_id, g_source_remove);
  if (self->streaming)
    return candor_suggestion_controller_stop (self);
  if (self->request == NULL)
    return FALSE;
  end_request (self, TRUE);
  return TRUE;
}

static void
stream_text_cb (const char *text,
                gpointer    user_data)
{
  CandorSuggestionController *self = user_data;

  if (!self->streaming || g_cancellable_is_cancelled (self->stream_cancellable))
    return;
  if (!self->stream_begun)
    {
      GtkTextIter iter;
      gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, self->anchor);
      candor_document_begin_stream (self->document, &iter, NULL);
      self->stream_begun = TRUE;
    }
  g_string_append (self->stream_text, text);
  candor_document_stream_append (self->document, text);
}

static void
finish_stream (CandorSuggestionController *self)
{
  if (self->stream_begun)
    {
      g_autofree char *id = NULL;

      id = candor_document_log_suggest (self->document, loom_text_model_get_name (self->model),
                                        self->model_sha256, self->stream_context,
                                        self->stream_text->str, self->stream_temperature,
                                        self->stream_top_p, self->stream_seed,
                                        self->stream_max_tokens);
      candor_document_set_stream_suggestion (self->document, id);
      candor_document_end_stream (self->document);
    }
  self->streaming = FALSE;
  self->stream_begun = FALSE;
  g_clear_object (&self->stream_cancellable);
  g_string_truncate (self->stream_text, 0);
  g_clear_pointer (&self->stream_context, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
}

static void
stream_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CandorSuggestionController) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  text = loom_text_session_generate_finish (LOOM_TEXT_SESSION (source), result, NULL, &error);
  set_running (self, -1);
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_error (self, error->message);
  if (self->streaming)
    finish_stream (self);
}

/* Continue (Ctrl+Enter): streams a longer passage into the text at the cursor, as
 * accepted model text that one undo removes. */
gboolean
candor_suggestion_controller_continue (CandorSuggestionController *self)
{
  LoomGenerateOptions options;
  GtkTextIter cursor;
  guint n_ctx;
  gsize pinned = 0;

  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);

  g_clear_handle_id (&self->pause_id, g_source_remove);
  if (self->session == NULL || self->streaming)
    return FALSE;
  end_request (self, TRUE);
  gtk_text_buffer_get_iter_at_mark (self->buffer, &cursor,
                                    gtk_text_buffer_get_insert (self->buffer));
  if (gtk_text_buffer_get_has_selection (self->buffer))
    return FALSE;

  n_ctx = loom_text_session_get_n_ctx (self->session);
  loom_generate_options_init (&options);
  options.max_tokens = CONTINUE_FACTOR * g_settings_get_uint (self->settings, "suggestion-length");
  options.max_tokens = MIN (options.max_tokens, n_ctx / 2);
  options.temperature = g_settings_get_double (self->settings, "suggestion-temperature");
  options.top_p = g_settings_get_double (self->settings, "suggestion-top-p");
  options.seed = g_random_int ();

  self->stream_context = candor_suggestion_controller_build_context (
    self, &cursor, n_ctx - options.max_tokens - BUDGET_MARGIN, &pinned);
  options.pinned = pinned;
  self->stream_seed = options.seed;
  self->stream_max_tokens = options.max_tokens;
  self->stream_temperature = options.temperature;
  self->stream_top_p = options.top_p;
  self->stream_cancellable = g_cancellable_new ();
  self->streaming = TRUE;
  gtk_text_buffer_move_mark (self->buffer, self->anchor, &cursor);
  set_context (self, self->stream_context);
  set_running (self, +1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
  loom_text_session_generate_async (self->session, self->stream_context, &options,
                                    stream_text_cb, self, NULL, self->stream_cancellable,
                                    stream_done_cb, g_object_ref (self));
  return TRUE;
}

/* Stops Continue where it is: what was written so far stays, as one undo step. */
gboolean
candor_suggestion_controller_stop (CandorSuggestionController *self)
{
  g_return_val_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self), FALSE);

  if (!self->streaming)
    return FALSE;
  g_cancellable_cancel (self->stream_cancellable);
  finish_stream (self);
  return TRUE;
}

/* Text inserted: the suggestion's own next characters typed (or accepted) at the anchor
 * consume it; anything else ends it. Runs after the insertion. */
static void
insert_text_cb (CandorSuggestionController *self,
                GtkTextIter                *location,
                const char                 *text,
                int                         len)
{
  const char *ghost;
  GtkTextIter anchor;

  if (self->streaming)
    return;
  ghost = candor_suggestion_controller_get_ghost_text (self);
  gtk_text_buffer_get_iter_at_mark (self->buffer, &anchor, self->anchor);
  if (ghost != NULL && gtk_text_iter_equal (&anchor, location) && len > 0
      && strncmp (ghost, text, len) == 0)
    {
      self->request->consumed += len;
      if (candor_suggestion_controller_get_ghost_text (self) == NULL
          && current_alternative (self)->done)
        {
          end_request (self, FALSE);
          schedule (self);
        }
      else
        notify_ghost (self);
      return;
    }
  end_request (self, TRUE);
  schedule (self);
}

static void
delete_range_cb (CandorSuggestionController *self)
{
  if (self->streaming)
    return;
  end_request (self, TRUE);
  schedule (self);
}

/* The cursor moved away from the suggestion, or a selection began: it goes. */
static void
mark_set_cb (CandorSuggestionController *self,
             GtkTextIter                *location,
             GtkTextMark                *mark)
{
  GtkTextIter cursor, anchor;

  if (self->request == NULL || self->streaming)
    return;
  if (mark != gtk_text_buffer_get_insert (self->buffer)
      && mark != gtk_text_buffer_get_selection_bound (self->buffer))
    return;
  gtk_text_buffer_get_iter_at_mark (self->buffer, &cursor,
                                    gtk_text_buffer_get_insert (self->buffer));
  gtk_text_buffer_get_iter_at_mark (self->buffer, &anchor, self->anchor);
  if (!gtk_text_iter_equal (&cursor, &anchor) || gtk_text_buffer_get_has_selection (self->buffer))
    end_request (self, TRUE);
}

/* The log's agents list describes the model once per document (the file hash tells one
 * model from another), so a reader of the record can tell which model suggested what. */
static void
record_model_agent (CandorSuggestionController *self)
{
  LoomEventLog *log;
  const char *path;
  g_autofree char *file_name = NULL;
  LoomModelAgent agent = { 0 };
  GStatBuf st;

  if (self->document == NULL || self->model == NULL)
    return;
  log = candor_document_get_log (self->document);
  for (guint i = 0; i < loom_event_log_get_n_models (log); i++)
    {
      LoomModelAgent known;

      loom_event_log_get_model (log, i, &known);
      if (g_strcmp0 (known.sha256, self->model_sha256) == 0)
        return;
    }

  path = loom_text_model_get_path (self->model);
  file_name = g_path_get_basename (path);
  /* The same name as the `suggest` events give it. */
  agent.name = loom_text_model_get_name (self->model);
  if (agent.name == NULL)
    agent.name = file_name;
  agent.file_name = file_name;
  agent.sha256 = self->model_sha256;
  agent.size = g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
  agent.licence = loom_text_model_get_license (self->model);
  loom_event_log_add_model (log, &agent);
}

static void
hash_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(CandorSuggestionController) self = user_data;
  g_autofree char *sha256 = g_task_propagate_pointer (G_TASK (result), NULL);

  if (sha256 != NULL && !g_task_had_error (G_TASK (result)))
    {
      g_free (self->model_sha256);
      self->model_sha256 = g_steal_pointer (&sha256);
      record_model_agent (self);
    }
}

/* Runs in a GIO pool thread: the SHA-256 of the model file, named in every `suggest`. */
static void
hash_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  g_autoptr(GFile) file = g_file_new_for_path (task_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileInputStream) in = g_file_read (file, cancellable, &error);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *chunk = g_malloc (1 << 20);
  gssize n;

  if (in == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), chunk, 1 << 20, cancellable, &error)) > 0)
    g_checksum_update (checksum, chunk, n);
  if (n < 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_strdup (g_checksum_get_string (checksum)), g_free);
}

/* Sets the model that suggests (NULL: none); any request on show ends. */
void
candor_suggestion_controller_set_model (CandorSuggestionController *self,
                                        LoomTextModel              *model)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CANDOR_IS_SUGGESTION_CONTROLLER (self));
  g_return_if_fail (model == NULL || LOOM_IS_TEXT_MODEL (model));

  if (self->model == model)
    return;
  candor_suggestion_controller_stop (self);
  /* The suggestion goes because the model went, not because the author refused it. */
  end_request (self, FALSE);
  g_clear_handle_id (&self->pause_id, g_source_remove);
  g_cancellable_cancel (self->hash_cancellable);
  g_clear_object (&self->hash_cancellable);
  g_clear_pointer (&self->model_sha256, g_free);
  g_clear_object (&self->session);
  g_set_object (&self->model, model);
  set_error (self, NULL);
  if (model != NULL)
    {
      self->session = loom_text_session_new (model, 0, LOOM_CACHE_F16);
      self->hash_cancellable = g_cancellable_new ();
      task = g_task_new (NULL, self->hash_cancellable, hash_done_cb, g_object_ref (self));
      g_task_set_source_tag (task, candor_suggestion_controller_set_model);
      g_task_set_task_data (task, g_strdup (loom_text_model_get_path (model)), g_free);
      g_task_run_in_thread (task, hash_worker);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

CandorSuggestionController *
candor_suggestion_controller_new (CandorDocument *document,
                                  GSettings      *settings)
{
  CandorSuggestionController *self;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (document), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (CANDOR_TYPE_SUGGESTION_CONTROLLER, "document", document, NULL);
  self->settings = g_object_ref (settings);
  return self;
}

static void
candor_suggestion_controller_constructed (GObject *object)
{
  CandorSuggestionController *self = CANDOR_SUGGESTION_CONTROLLER (object);
  GtkTextIter start;

  G_OBJECT_CLASS (candor_suggestion_controller_parent_class)->constructed (object);

  self->buffer = candor_document_get_buffer (self->document);
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  self->anchor = gtk_text_buffer_create_mark (self->buffer, NULL, &start, FALSE);
  g_object_ref (self->anchor);
  g_signal_connect_object (self->buffer, "insert-text", G_CALLBACK (insert_text_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "delete-range", G_CALLBACK (delete_range_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->buffer, "mark-set", G_CALLBACK (mark_set_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
candor_suggestion_controller_dispose (GObject *object)
{
  CandorSuggestionController *self = CANDOR_SUGGESTION_CONTROLLER (object);

  g_clear_handle_id (&self->pause_id, g_source_remove);
  g_cancellable_cancel (self->stream_cancellable);
  g_cancellable_cancel (self->hash_cancellable);
  if (self->request != NULL)
    g_clear_pointer (&self->request, request_free);
  if (self->anchor != NULL && !gtk_text_mark_get_deleted (self->anchor))
    gtk_text_buffer_delete_mark (self->buffer, self->anchor);
  g_clear_object (&self->anchor);
  g_clear_object (&self->stream_cancellable);
  g_clear_object (&self->hash_cancellable);
  g_clear_object (&self->session);
  g_clear_object (&self->model);
  g_clear_object (&self->settings);
  g_clear_object (&self->document);

  G_OBJECT_CLASS (candor_suggestion_controller_parent_class)->dispose (object);
}

static void
candor_suggestion_controller_finalize (GObject *object)
{
  CandorSuggestionController *self = CANDOR_SUGGESTION_CONTROLLER (object);

  g_free (self->model_sha256);
  g_free (self->context);
  g_free (self->error);
  g_free (self->stream_context);
  g_string_free (self->stream_text, TRUE);

  G_OBJECT_CLASS (candor_suggestion_controller_parent_class)->finalize (object);
}

static void
candor_suggestion_controller_get_property (GObject    *object,
                                           guint       prop_id,
                                           GValue     *value,
                                           GParamSpec *pspec)
{
  CandorSuggestionController *self = CANDOR_SUGGESTION_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      g_value_set_object (value, self->document);
      break;
    case PROP_GHOST_TEXT:
      g_value_set_string (value, candor_suggestion_controller_get_ghost_text (self));
      break;
    case PROP_ALTERNATIVE:
      g_value_set_uint (value, candor_suggestion_controller_get_alternative (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->n_running > 0);
      break;
    case PROP_STREAMING:
      g_value_set_boolean (value, self->streaming);
      break;
    case PROP_CONTEXT:
      g_value_set_string (value, self->context);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_suggestion_controller_set_property (GObject      *object,
                                           guint         prop_id,
                                           const GValue *value,
                                           GParamSpec   *pspec)
{
  CandorSuggestionController *self = CANDOR_SUGGESTION_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      self->document = g_value_dup_object (value);
      break;
    case PROP_MODEL:
      candor_suggestion_controller_set_model (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_suggestion_controller_class_init (CandorSuggestionControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = candor_suggestion_controller_constructed;
  object_class->dispose = candor_suggestion_controller_dispose;
  object_class->finalize = candor_suggestion_controller_finalize;
  object_class->get_property = candor_suggestion_controller_get_property;
  object_class->set_property = candor_suggestion_controller_set_property;

  properties[PROP_DOCUMENT] =
    g_param_spec_object ("document", NULL, NULL, CANDOR_TYPE_DOCUMENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_GHOST_TEXT] =
    g_param_spec_string ("ghost-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ALTERNATIVE] =
    g_param_spec_uint ("alternative", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STREAMING] =
    g_param_spec_boolean ("streaming", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTEXT] =
    g_param_spec_string ("context", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, LOOM_TYPE_TEXT_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
candor_suggestion_controller_init (CandorSuggestionController *self)
{
  self->stream_text = g_string_new (NULL);
}
