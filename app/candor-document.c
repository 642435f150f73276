/* candor-document.c — CandorDocument keeps the authorship runs in step with its
 * GtkTextBuffer by watching every insert and delete, and keeps an undo history of its
 * own, because GtkTextBuffer's history restores text but knows nothing of origins.
 *
 * Each undo step holds the edits it made (text and character offsets) and the runs
 * before and after it, so undo and redo restore the runs exactly, including the
 * `ai_accepted` → `ai_edited` changes an edit made to characters it did not touch. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>

#include "candor-document.h"
#include "candor-illustration.h"

#define FORMAT_NAME "candor"
/* 2: illustrations and the pictures placed in the text. Version 1 files still open. */
#define FORMAT_VERSION 2
#define SIDECAR_FORMAT_NAME "candor-provenance"

/* Typing pauses longer than this start a new undo step, as in text editors. */
#define UNDO_PAUSE_US (1 * G_USEC_PER_SEC)
/* A paste whose clipboard read fails never emits "paste-done"; typing after that must
 * not count as pasted, so a paste mark not used within this time lapses. */
#define PASTE_WINDOW_US (5 * G_USEC_PER_SEC)
/* Undo steps kept; each holds two copies of the runs. */
#define UNDO_LIMIT 1000
/* The history's pictures are held decoded (RGBA8): a document opens with at most this
 * many pixels in all (2 GiB), some 2000 candidates at 512². */
#define MAX_DOCUMENT_PIXELS (G_GUINT64_CONSTANT (512) * 1024 * 1024)
/* U+FFFC OBJECT REPLACEMENT CHARACTER: GtkTextBuffer's character for a picture. */
#define OBJECT_CHAR "\xEF\xBF\xBC"
#define OBJECT_UNICHAR LOOM_OBJECT_CHAR

typedef enum
{
  EDIT_INSERT,
  EDIT_DELETE,
} EditKind;

typedef struct
{
  EditKind kind;
  guint    offset;    /* code points */
  char    *text;
  char   **pictures;  /* (nullable): one entry per U+FFFC in @text, in order: the id of
                       * the illustration shown there, or "" for a plain U+FFFC */
} Edit;

typedef struct
{
  GArray         *edits;   /* of Edit, in the order made */
  LoomAuthorship *before;  /* runs before the first edit */
  LoomAuthorship *after;   /* (nullable): runs after the last edit, set when closed */
  gboolean        typing;  /* single human inserts or deletes that typing may extend */
  gint64          last_time;
} Action;

typedef enum
{
  INSERT_TYPED,
  INSERT_PASTE,
  INSERT_MODEL,
  INSERT_IMPORT,
  INSERT_PLACE,    /* a picture placed by the author */
} InsertMode;

struct _CandorDocument
{
  GObject         parent_instance;

  GtkTextBuffer  *buffer;
  LoomAuthorship *authorship;
  LoomEventLog   *log;
  char           *memory;
  char           *authors_note;
  gboolean        training_allowed;
  GFile          *file;
  char           *autosave_id;   /* file name stem under the autosave folder */
  guint           autosave_serial; /* moved on by discard: an autosave begun before
                                    * writes nothing */
  gboolean        modified;

  /* Where the next insert comes from. */
  InsertMode      mode;
  const char     *mode_source;   /* interned: suggestion or event id for the runs */
  gboolean        paste_pending;
  gboolean        paste_internal;
  gint64          paste_time;
  gboolean        paste_used;
  guint           replaying;     /* undo/redo/load edit the buffer; runs are set after */
  guint           user_action_depth;
  gboolean        user_action_edited;

  /* The typing not yet logged, as one `type` event. */
  gboolean        typing_pending;
  guint           typing_offset;
  guint           typing_length;

  /* A delete seen in "delete-range" before the buffer makes it. */
  guint           delete_offset;
  char           *delete_text;
  char          **delete_pictures;

  /* Every picture generated for the story (CandorIllustration), oldest first. */
  GListStore     *illustrations;

  GPtrArray      *undo_stack;    /* of Action, oldest first */
  GPtrArray      *redo_stack;    /* of Action, the next to redo last */
  Action         *open_action;   /* (nullable): the step edits are added to */
  gboolean        keep_open;     /* accept or stream: all edits go to open_action */

  /* A drag and drop inside the view, between begin_move and end_move. */
  LoomAuthorship *move_runs;     /* (nullable): origins of the dragged characters */
  guint           move_inserted; /* code points of them inserted at the drop point so far */
  guint           move_offset;   /* where the drop inserted them */
  gboolean        move_deleted;  /* the dragged range was deleted: a move, not a copy */

  GtkTextMark    *stream_mark;   /* (nullable): end of the streamed passage */
  char           *stream_suggestion;
  guint           stream_offset;
  guint           stream_length;
};

G_DEFINE_FINAL_TYPE (CandorDocument, candor_document, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MEMORY,
  PROP_AUTHORS_NOTE,
  PROP_MODIFIED,
  PROP_FILE,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
action_free (gpointer data)
{
  Action *action = data;

  for (guint i = 0; i < action->edits->len; i++)
    {
      g_free (g_array_index (action->edits, Edit, i).text);
      g_strfreev (g_array_index (action->edits, Edit, i).pictures);
    }
  g_array_unref (action->edits);
  g_clear_object (&action->before);
  g_clear_object (&action->after);
  g_free (action);
}

static void
set_modified (CandorDocument *self,
              gboolean        modified)
{
  if (self->modified == modified)
    return;
  self->modified = modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

static void
emit_changed (CandorDocument *self)
{
  set_modified (self, TRUE);
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Logs the typing collected so far as one `type` event: before any other event, so the
 * log keeps the order things happened in, and before saving. */
static void
flush_typing (CandorDocument *self)
{
  JsonObject *fields;

  if (!self->typing_pending)
    return;

  fields = json_object_new ();
  json_object_set_int_member (fields, "offset", self->typing_offset);
  json_object_set_int_member (fields, "length", self->typing_length);
  self->typing_pending = FALSE;
  loom_event_log_append (self->log, "type", fields);
}

static const char *
log_event (CandorDocument *self,
           const char     *kind,
           JsonObject     *fields)
{
  flush_typing (self);

  return loom_event_log_append (self->log, kind, fields);
}

static void
close_action (CandorDocument *self)
{
  Action *action = g_steal_pointer (&self->open_action);

  if (action == NULL)
    return;

  action->after = loom_authorship_copy (self->authorship);
  g_ptr_array_add (self->undo_stack, action);
  if (self->undo_stack->len > UNDO_LIMIT)
    g_ptr_array_remove_index (self->undo_stack, 0);
}

/* Whether a typing edit continues the open step: contiguous with its last edit, of the
 * same kind, soon after it, and not the first letter of a new word. */
static gboolean
continues_typing (CandorDocument *self,
                  EditKind        kind,
                  guint           offset,
                  const char     *text,
                  gint64          now)
{
  Action *action = self->open_action;
  const Edit *last;

  if (action == NULL || !action->typing || self->mode != INSERT_TYPED)
    return FALSE;
  if (now - action->last_time > UNDO_PAUSE_US)
    return FALSE;

  last = &g_array_index (action->edits, Edit, action->edits->len - 1);
  if (last->kind != kind)
    return FALSE;

  if (kind == EDIT_INSERT)
    {
      const char *last_char = g_utf8_find_prev_char (last->text, last->text + strlen (last->text));
      gboolean after_space = last_char != NULL && g_unichar_isspace (g_utf8_get_char (last_char));

      return offset == last->offset + g_utf8_strlen (last->text, -1) &&
             !(after_space && !g_unichar_isspace (g_utf8_get_char (text)));
    }

  /* Backspace (ends where the last delete began) or Delete (same place). */
  return offset + g_utf8_strlen (text, -1) == last->offset || offset == last->offset;
}

static void
record_edit (CandorDocument     *self,
             EditKind            kind,
             guint               offset,
             const char         *text,
             const char * const *pictures)
{
  gint64 now = g_get_monotonic_time ();
  Edit edit = { kind, offset, g_strdup (text), g_strdupv ((char **) pictures) };
  gboolean in_same_user_action = self->user_action_depth > 0 && self->user_action_edited;

  g_ptr_array_set_size (self->redo_stack, 0);

  if (self->open_action != NULL && !self->keep_open && !in_same_user_action &&
      !continues_typing (self, kind, offset, text, now))
    close_action (self);

  if (self->open_action == NULL)
    {
      self->open_action = g_new0 (Action, 1);
      self->open_action->edits = g_array_new (FALSE, FALSE, sizeof (Edit));
      self->open_action->before = loom_authorship_copy (self->authorship);
      self->open_action->typing = self->mode == INSERT_TYPED && !self->keep_open;
    }
  else if (in_same_user_action)
    {
      /* Replacing a selection is a delete and an insert in one user action: one step,
       * which typing does not extend. */
      self->open_action->typing = FALSE;
    }

  g_array_append_val (self->open_action->edits, edit);
  self->open_action->last_time = now;
  if (self->user_action_depth > 0)
    self->user_action_edited = TRUE;
}

/* Model characters of every suggestion that @offset falls strictly inside become
 * `ai_edited`: an insert there changes that suggestion. */
static void
mark_edited_at (CandorDocument *self,
                guint           offset)
{
  const char *before_source, *after_source;
  LoomOrigin before, after;

  if (offset == 0 || offset >= loom_authorship_get_length (self->authorship))
    return;

  before = loom_authorship_get_origin_at (self->authorship, offset - 1, &before_source);
  after = loom_authorship_get_origin_at (self->authorship, offset, &after_source);
  if (before_source != NULL && before_source == after_source &&
      loom_origin_is_model (before) && loom_origin_is_model (after))
    loom_authorship_mark_edited (self->authorship, before_source);
}

/* An insert the buffer has made at @offset: text, or one picture (@text is U+FFFC and
 * @pictures names its illustration). */
static void
record_insert (CandorDocument     *self,
               guint               offset,
               const char         *inserted,
               guint               n_chars,
               const char * const *pictures)
{
  LoomOrigin origin = LOOM_ORIGIN_HUMAN_TYPED;
  const char *source = NULL;

  /* The dragged text arriving at the drop point, possibly in pieces (one per run of
   * tags): each piece takes the origins of the characters it copies. */
  if (self->mode == INSERT_TYPED && self->move_runs != NULL &&
      self->move_inserted + n_chars <= loom_authorship_get_length (self->move_runs))
    {
      g_autoptr(LoomAuthorship) piece = loom_authorship_copy_range (self->move_runs,
                                                                    self->move_inserted, n_chars);

      record_edit (self, EDIT_INSERT, offset, inserted, pictures);
      if (self->move_inserted == 0)
        {
          self->move_offset = offset;
          mark_edited_at (self, offset);
        }
      loom_authorship_insert_authorship (self->authorship, offset, piece);
      self->move_inserted += n_chars;
      emit_changed (self);
      return;
    }

  if (self->mode == INSERT_TYPED && self->paste_pending)
    {
      if (g_get_monotonic_time () - self->paste_time <= PASTE_WINDOW_US)
        self->mode = INSERT_PASTE;
      else
        self->paste_pending = FALSE;
    }

  record_edit (self, EDIT_INSERT, offset, inserted, pictures);

  switch (self->mode)
    {
    case INSERT_TYPED:
      origin = LOOM_ORIGIN_HUMAN_TYPED;
      if (self->typing_pending && offset == self->typing_offset + self->typing_length)
        self->typing_length += n_chars;
      else
        {
          flush_typing (self);
          self->typing_pending = TRUE;
          self->typing_offset = offset;
          self->typing_length = n_chars;
        }
      break;

    case INSERT_PASTE:
      {
        JsonObject *fields = json_object_new ();

        json_object_set_int_member (fields, "offset", offset);
        json_object_set_int_member (fields, "length", n_chars);
        json_object_set_boolean_member (fields, "internal", self->paste_internal);
        origin = LOOM_ORIGIN_PASTED;
        source = log_event (self, "paste", fields);
        self->paste_used = TRUE;
        self->mode = INSERT_TYPED;
      }
      break;

    case INSERT_MODEL:
      origin = LOOM_ORIGIN_AI_ACCEPTED;
      source = self->mode_source;
      break;

    case INSERT_IMPORT:
      origin = LOOM_ORIGIN_IMPORTED;
      source = self->mode_source;
      break;

    case INSERT_PLACE:
      /* The object character stands for the picture, which has its own record; the
       * placing was the author's (the `image.place` event is its source). */
      origin = LOOM_ORIGIN_HUMAN_TYPED;
      source = self->mode_source;
      break;

    default:
      g_assert_not_reached ();
    }

  if (origin != LOOM_ORIGIN_AI_ACCEPTED)
    mark_edited_at (self, offset);
  loom_authorship_insert (self->authorship, offset, n_chars, origin, source);

  emit_changed (self);
}

static void
insert_text_after_cb (GtkTextBuffer  *buffer,
                      GtkTextIter    *location,
                      const char     *text,
                      int             len,
                      CandorDocument *self)
{
  g_autofree char *inserted = g_strndup (text, len);
  guint n_chars = g_utf8_strlen (inserted, -1);

  if (self->replaying > 0 || n_chars == 0)
    return;

  record_insert (self, gtk_text_iter_get_offset (location) - n_chars, inserted, n_chars, NULL);
}

/* The illustration of this story that @paintable shows, else NULL: a picture pasted
 * from another story's window is not in this one's list, and a placement naming it
 * would make the saved file refuse to open. */
static CandorIllustration *
own_illustration (CandorDocument *self,
                  GdkPaintable   *paintable)
{
  CandorIllustration *illustration;

  if (paintable == NULL || (illustration = candor_illustration_from_paintable (paintable)) == NULL)
    return NULL;
  if (candor_document_find_illustration (self, candor_illustration_get_id (illustration))
      != illustration)
    return NULL;

  return illustration;
}

/* The object character of a picture: placed by the author, or copied with text inside
 * the view. A paintable that is no illustration of this story is kept as a bare object
 * character (it cannot be saved as a picture). */
static void
insert_paintable_after_cb (GtkTextBuffer  *buffer,
                           GtkTextIter    *location,
                           GdkPaintable   *paintable,
                           CandorDocument *self)
{
  CandorIllustration *illustration = own_illustration (self, paintable);
  const char *pictures[2] = { NULL, NULL };

  if (self->replaying > 0)
    return;

  pictures[0] = illustration != NULL ? candor_illustration_get_id (illustration) : "";
  record_insert (self, gtk_text_iter_get_offset (location) - 1, OBJECT_CHAR, 1, pictures);
}

/* Moves @iter to the next object character (a picture's, or a plain U+FFFC) before
 * @limit. GtkTextIter's search finds them line by line, not character by character:
 * saving a long story looks for its pictures this way. */
static gboolean
next_object_char (GtkTextIter       *iter,
                  const GtkTextIter *limit)
{
  GtkTextIter match_end;

  return gtk_text_iter_forward_search (iter, OBJECT_CHAR, 0, iter, &match_end, limit);
}

/* The pictures between @start and @end, as Edit.pictures lists them. */
static char **
collect_pictures (CandorDocument    *self,
                  const GtkTextIter *start,
                  const GtkTextIter *end)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GtkTextIter iter = *start, stop = *end;

  gtk_text_iter_order (&iter, &stop);
  while (next_object_char (&iter, &stop))
    {
      CandorIllustration *illustration = own_illustration (self,
                                                           gtk_text_iter_get_paintable (&iter));

      g_strv_builder_add (builder, illustration != NULL
                                   ? candor_illustration_get_id (illustration) : "");
      gtk_text_iter_forward_char (&iter);
    }

  return g_strv_builder_end (builder);
}

/* Inserts @text at @iter with the pictures @pictures names in place of its object
 * characters (undo, redo and loading put pictures back this way); @iter ends after it. */
static void
insert_with_pictures (CandorDocument     *self,
                      GtkTextIter        *iter,
                      const char         *text,
                      const char * const *pictures)
{
  const char *rest = text;
  guint n = 0;

  for (const char *object; pictures != NULL && (object = strstr (rest, OBJECT_CHAR)) != NULL;
       rest = object + strlen (OBJECT_CHAR))
    {
      const char *id = pictures[n] != NULL ? pictures[n++] : "";
      CandorIllustration *illustration = candor_document_find_illustration (self, id);

      gtk_text_buffer_insert (self->buffer, iter, rest, object - rest);
      if (illustration != NULL)
        gtk_text_buffer_insert_paintable (self->buffer, iter,
                                          candor_illustration_get_paintable (illustration));
      else
        gtk_text_buffer_insert (self->buffer, iter, OBJECT_CHAR, -1);
    }
  gtk_text_buffer_insert (self->buffer, iter, rest, -1);
}

static void
delete_range_cb (GtkTextBuffer  *buffer,
                 GtkTextIter    *start,
                 GtkTextIter    *end,
                 CandorDocument *self)
{
  if (self->replaying > 0)
    return;

  g_free (self->delete_text);
  self->delete_text = gtk_text_iter_get_slice (start, end);
  self->delete_offset = MIN (gtk_text_iter_get_offset (start), gtk_text_iter_get_offset (end));
  g_strfreev (self->delete_pictures);
  self->delete_pictures = strstr (self->delete_text, OBJECT_CHAR) != NULL
                          ? collect_pictures (self, start, end) : NULL;
}

static void
delete_range_after_cb (GtkTextBuffer  *buffer,
                       GtkTextIter    *start,
                       GtkTextIter    *end,
                       CandorDocument *self)
{
  g_autofree char *deleted = g_steal_pointer (&self->delete_text);
  g_auto(GStrv) pictures = g_steal_pointer (&self->delete_pictures);
  g_autoptr(LoomAuthorship) removed = NULL;
  guint n_chars;

  if (self->replaying > 0 || deleted == NULL)
    return;

  n_chars = g_utf8_strlen (deleted, -1);
  if (n_chars == 0)
    return;

  flush_typing (self);
  record_edit (self, EDIT_DELETE, self->delete_offset, deleted, (const char * const *) pictures);

  removed = loom_authorship_copy_range (self->authorship, self->delete_offset, n_chars);
  loom_authorship_delete (self->authorship, self->delete_offset, n_chars);

  /* Moving text by drag and drop rewrites none of it: the characters live on at the
   * drop point with their origins. */
  if (self->move_runs != NULL)
    {
      self->move_deleted = TRUE;
      emit_changed (self);
      return;
    }

  /* What is left of a suggestion the author deleted from has been edited. */
  for (guint i = 0; i < loom_authorship_get_n_runs (removed); i++)
    {
      LoomOrigin origin;

      loom_authorship_get_run (removed, i, NULL, NULL, &origin);
      if (loom_origin_is_model (origin) && loom_authorship_get_run_source (removed, i) != NULL)
        loom_authorship_mark_edited (self->authorship, loom_authorship_get_run_source (removed, i));
    }

  emit_changed (self);
}

static void
begin_user_action_cb (GtkTextBuffer  *buffer,
                      CandorDocument *self)
{
  if (self->user_action_depth++ == 0)
    self->user_action_edited = FALSE;
}

static void
end_user_action_cb (GtkTextBuffer  *buffer,
                    CandorDocument *self)
{
  if (self->user_action_depth == 0 || --self->user_action_depth > 0)
    return;

  /* A drop ends with its user action; it emits no "paste-done". */
  if (self->paste_used)
    {
      self->paste_pending = FALSE;
      self->paste_used = FALSE;
    }
  self->user_action_edited = FALSE;
}

static void
paste_done_cb (GtkTextBuffer  *buffer,
               GdkClipboard   *clipboard,
               CandorDocument *self)
{
  self->paste_pending = FALSE;
  self->paste_used = FALSE;
  self->mode = INSERT_TYPED;
}

static void
candor_document_dispose (GObject *object)
{
  CandorDocument *self = CANDOR_DOCUMENT (object);

  if (self->buffer != NULL)
    g_signal_handlers_disconnect_by_data (self->buffer, self);
  g_clear_object (&self->buffer);

  G_OBJECT_CLASS (candor_document_parent_class)->dispose (object);
}

static void
candor_document_finalize (GObject *object)
{
  CandorDocument *self = CANDOR_DOCUMENT (object);

  g_clear_object (&self->authorship);
  g_clear_object (&self->log);
  g_free (self->memory);
  g_free (self->authors_note);
  g_clear_object (&self->file);
  g_free (self->autosave_id);
  g_free (self->delete_text);
  g_strfreev (self->delete_pictures);
  g_clear_object (&self->illustrations);
  g_ptr_array_unref (self->undo_stack);
  g_ptr_array_unref (self->redo_stack);
  g_clear_pointer (&self->open_action, action_free);
  g_clear_object (&self->move_runs);
  g_free (self->stream_suggestion);

  G_OBJECT_CLASS (candor_document_parent_class)->finalize (object);
}

static void
candor_document_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  CandorDocument *self = CANDOR_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_MEMORY:
      g_value_set_string (value, self->memory);
      break;
    case PROP_AUTHORS_NOTE:
      g_value_set_string (value, self->authors_note);
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, self->modified);
      break;
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_document_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  CandorDocument *self = CANDOR_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_MEMORY:
      candor_document_set_memory (self, g_value_get_string (value));
      break;
    case PROP_AUTHORS_NOTE:
      candor_document_set_authors_note (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_document_class_init (CandorDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = candor_document_dispose;
  object_class->finalize = candor_document_finalize;
  object_class->get_property = candor_document_get_property;
  object_class->set_property = candor_document_set_property;

  properties[PROP_MEMORY] =
    g_param_spec_string ("memory", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_AUTHORS_NOTE] =
    g_param_spec_string ("authors-note", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
candor_document_init (CandorDocument *self)
{
  self->buffer = gtk_text_buffer_new (NULL);
  /* The document's own history restores origins with the text. */
  gtk_text_buffer_set_enable_undo (self->buffer, FALSE);
  self->authorship = loom_authorship_new ();
  self->log = loom_event_log_new ();
  loom_event_log_set_app (self->log, PACKAGE_NAME, PACKAGE_VERSION);
  self->memory = g_strdup ("");
  self->authors_note = g_strdup ("");
  self->autosave_id = g_uuid_string_random ();
  self->undo_stack = g_ptr_array_new_with_free_func (action_free);
  self->redo_stack = g_ptr_array_new_with_free_func (action_free);
  self->illustrations = g_list_store_new (CANDOR_TYPE_ILLUSTRATION);

  g_signal_connect_after (self->buffer, "insert-text", G_CALLBACK (insert_text_after_cb), self);
  g_signal_connect_after (self->buffer, "insert-paintable",
                          G_CALLBACK (insert_paintable_after_cb), self);
  g_signal_connect (self->buffer, "delete-range", G_CALLBACK (delete_range_cb), self);
  g_signal_connect_after (self->buffer, "delete-range", G_CALLBACK (delete_range_after_cb), self);
  g_signal_connect (self->buffer, "begin-user-action", G_CALLBACK (begin_user_action_cb), self);
  g_signal_connect (self->buffer, "end-user-action", G_CALLBACK (end_user_action_cb), self);
  g_signal_connect (self->buffer, "paste-done", G_CALLBACK (paste_done_cb), self);
}

CandorDocument *
candor_document_new (void)
{
  return g_object_new (CANDOR_TYPE_DOCUMENT, NULL);
}

GtkTextBuffer *
candor_document_get_buffer (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return self->buffer;
}

LoomAuthorship *
candor_document_get_authorship (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return self->authorship;
}

LoomEventLog *
candor_document_get_log (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return self->log;
}

char *
candor_document_dup_text (CandorDocument *self)
{
  GtkTextIter start, end;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);

  return gtk_text_buffer_get_slice (self->buffer, &start, &end, TRUE);
}

/* Story notes (memory, author's note): stored as given (NULL as ""), a change marks the
 * document modified and is notified. */
static void
set_note (CandorDocument *self,
          char          **field,
          const char     *text,
          GParamSpec     *pspec)
{
  if (text == NULL)
    text = "";
  if (g_str_equal (text, *field))
    return;
  g_free (*field);
  *field = g_strdup (text);
  set_modified (self, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

const char *
candor_document_get_memory (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return self->memory;
}

void
candor_document_set_memory (CandorDocument *self,
                            const char     *text)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  set_note (self, &self->memory, text, properties[PROP_MEMORY]);
}

const char *
candor_document_get_authors_note (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return self->authors_note;
}

void
candor_document_set_authors_note (CandorDocument *self,
                                  const char     *text)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  set_note (self, &self->authors_note, text, properties[PROP_AUTHORS_NOTE]);
}

gboolean
candor_document_get_training_allowed (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);

  return self->training_allowed;
}

void
candor_document_set_training_allowed (CandorDocument *self,
                                      gboolean        allowed)
{
  JsonObject *fields;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  allowed = !!allowed;
  if (allowed == self->training_allowed)
    return;

  self->training_allowed = allowed;
  fields = json_object_new ();
  json_object_set_string_member (fields, "training", allowed ? "allowed" : "notAllowed");
  log_event (self, "preference", fields);
  emit_changed (self);
}

static char *
hash_text (const char *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

char *
candor_document_log_suggest (CandorDocument *self,
                             const char     *model_name,
                             const char     *model_sha256,
                             const char     *context,
                             const char     *output,
                             double          temperature,
                             double          top_p,
                             guint64         seed,
                             guint           max_tokens)
{
  JsonObject *fields;
  g_autofree char *context_hash = NULL;
  g_autofree char *output_hash = NULL;
  g_autofree char *seed_text = NULL;
  char *id;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (model_name != NULL && context != NULL && output != NULL, NULL);

  context_hash = hash_text (context);
  output_hash = hash_text (output);
  /* As a string: JSON readers lose precision on integers above 2^53. */
  seed_text = g_strdup_printf ("%" G_GUINT64_FORMAT, seed);

  fields = json_object_new ();
  json_object_set_string_member (fields, "model", model_name);
  if (model_sha256 != NULL)
    json_object_set_string_member (fields, "model_sha256", model_sha256);
  else
    json_object_set_null_member (fields, "model_sha256");
  json_object_set_string_member (fields, "context_sha256", context_hash);
  json_object_set_int_member (fields, "context_length", g_utf8_strlen (context, -1));
  json_object_set_string_member (fields, "output_sha256", output_hash);
  json_object_set_int_member (fields, "length", g_utf8_strlen (output, -1));
  json_object_set_double_member (fields, "temperature", temperature);
  json_object_set_double_member (fields, "top_p", top_p);
  json_object_set_string_member (fields, "seed", seed_text);
  json_object_set_int_member (fields, "max_tokens", max_tokens);

  id = g_strdup (log_event (self, "suggest", fields));
  emit_changed (self);

  return id;
}

static void
log_suggestion_event (CandorDocument *self,
                      const char     *kind,
                      const char     *suggestion_id)
{
  JsonObject *fields = json_object_new ();

  json_object_set_string_member (fields, "suggestion", suggestion_id);
  log_event (self, kind, fields);
  emit_changed (self);
}

void
candor_document_log_reject (CandorDocument *self,
                            const char     *suggestion_id)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (suggestion_id != NULL);

  log_suggestion_event (self, "reject", suggestion_id);
}

void
candor_document_log_cycle (CandorDocument *self,
                           const char     *suggestion_id)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (suggestion_id != NULL);

  log_suggestion_event (self, "cycle", suggestion_id);
}

void
candor_document_log_regenerate (CandorDocument *self,
                                const char     *suggestion_id)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (suggestion_id != NULL);

  log_suggestion_event (self, "regenerate", suggestion_id);
}

static const char *
accept_how_to_string (CandorAcceptHow how)
{
  switch (how)
    {
    case CANDOR_ACCEPT_WORD:
      return "word";
    case CANDOR_ACCEPT_SENTENCE:
      return "sentence";
    case CANDOR_ACCEPT_CONTINUE:
      return "continue";
    case CANDOR_ACCEPT_ALL:
    default:
      return "all";
    }
}

static void
log_accept (CandorDocument  *self,
            const char      *suggestion_id,
            guint            offset,
            guint            length,
            CandorAcceptHow  how)
{
  JsonObject *fields = json_object_new ();

  json_object_set_string_member (fields, "suggestion", suggestion_id);
  json_object_set_int_member (fields, "offset", offset);
  json_object_set_int_member (fields, "length", length);
  json_object_set_string_member (fields, "how", accept_how_to_string (how));
  log_event (self, "accept", fields);
}

void
candor_document_accept (CandorDocument  *self,
                        GtkTextIter     *iter,
                        const char      *text,
                        const char      *suggestion_id,
                        CandorAcceptHow  how)
{
  guint offset;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (iter != NULL && text != NULL && suggestion_id != NULL);
  g_return_if_fail (self->stream_mark == NULL);

  if (*text == '\0')
    return;

  offset = gtk_text_iter_get_offset (iter);
  flush_typing (self);
  close_action (self);

  self->keep_open = TRUE;
  self->mode = INSERT_MODEL;
  self->mode_source = g_intern_string (suggestion_id);
  gtk_text_buffer_begin_user_action (self->buffer);
  gtk_text_buffer_insert (self->buffer, iter, text, -1);
  gtk_text_buffer_end_user_action (self->buffer);
  self->mode = INSERT_TYPED;
  self->mode_source = NULL;
  self->keep_open = FALSE;
  close_action (self);

  log_accept (self, suggestion_id, offset, g_utf8_strlen (text, -1), how);
  emit_changed (self);
}

void
candor_document_begin_stream (CandorDocument *self,
                              GtkTextIter    *iter,
                              const char     *suggestion_id)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  /* suggestion_id may be NULL until set_stream_suggestion() names it. */
  g_return_if_fail (iter != NULL);
  g_return_if_fail (self->stream_mark == NULL);

  flush_typing (self);
  close_action (self);

  /* Right gravity: the mark stays after each chunk inserted at it. */
  self->stream_mark = gtk_text_buffer_create_mark (self->buffer, NULL, iter, FALSE);
  self->stream_suggestion = g_strdup (suggestion_id);
  self->stream_offset = gtk_text_iter_get_offset (iter);
  self->stream_length = 0;
}

void
candor_document_stream_append (CandorDocument *self,
                               const char     *chunk)
{
  GtkTextIter iter;
  gboolean keep_open;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (self->stream_mark != NULL);
  g_return_if_fail (chunk != NULL);

  if (*chunk == '\0')
    return;

  /* Typing elsewhere while the passage streams is its own step; the passage's chunks
   * go on extending the stream's step. */
  keep_open = self->open_action != NULL && self->stream_length > 0;
  if (!keep_open)
    close_action (self);

  gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, self->stream_mark);
  self->keep_open = TRUE;
  self->mode = INSERT_MODEL;
  self->mode_source = g_intern_string (self->stream_suggestion);
  gtk_text_buffer_insert (self->buffer, &iter, chunk, -1);
  self->mode = INSERT_TYPED;
  self->mode_source = NULL;
  self->keep_open = FALSE;
  self->stream_length += g_utf8_strlen (chunk, -1);
}

/* Continue logs its `suggest` event (which hashes the whole passage) only once the
 * passage is complete: this names it, before end_stream, as the source of the streamed
 * characters and of the `accept` that end_stream logs. */
void
candor_document_set_stream_suggestion (CandorDocument *self,
                                       const char     *suggestion_id)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (self->stream_mark != NULL);
  g_return_if_fail (suggestion_id != NULL);

  g_free (self->stream_suggestion);
  self->stream_suggestion = g_strdup (suggestion_id);
  if (self->stream_length > 0)
    loom_authorship_set_origin (self->authorship, self->stream_offset, self->stream_length,
                                LOOM_ORIGIN_AI_ACCEPTED, g_intern_string (suggestion_id));
}

void
candor_document_end_stream (CandorDocument *self)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (self->stream_mark != NULL);

  close_action (self);
  gtk_text_buffer_delete_mark (self->buffer, self->stream_mark);
  self->stream_mark = NULL;
  if (self->stream_length > 0)
    log_accept (self, self->stream_suggestion, self->stream_offset, self->stream_length,
                CANDOR_ACCEPT_CONTINUE);
  g_clear_pointer (&self->stream_suggestion, g_free);
  emit_changed (self);
}

gboolean
candor_document_is_streaming (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);

  return self->stream_mark != NULL;
}

void
candor_document_mark_paste (CandorDocument *self,
                            gboolean        internal)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  self->paste_pending = TRUE;
  self->paste_internal = !!internal;
  self->paste_time = g_get_monotonic_time ();
  self->paste_used = FALSE;
}

void
candor_document_begin_move (CandorDocument    *self,
                            const GtkTextIter *start,
                            const GtkTextIter *end)
{
  guint from, to;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (start != NULL && end != NULL);
  g_return_if_fail (self->stream_mark == NULL);

  candor_document_end_move (self);
  from = MIN (gtk_text_iter_get_offset (start), gtk_text_iter_get_offset (end));
  to = MAX (gtk_text_iter_get_offset (start), gtk_text_iter_get_offset (end));
  if (from == to)
    return;

  flush_typing (self);
  close_action (self);
  self->move_runs = loom_authorship_copy_range (self->authorship, from, to - from);
  self->move_inserted = 0;
  self->move_deleted = FALSE;
  /* The insert at the drop point and the delete of the dragged range come in separate
   * user actions, the delete only when the drag ends: one undo step holds both. */
  self->keep_open = TRUE;
}

void
candor_document_end_move (CandorDocument *self)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  if (self->move_runs == NULL)
    return;

  /* Dropped but not taken away: a copy, which is an internal paste as with the clipboard. */
  if (!self->move_deleted && self->move_inserted > 0)
    {
      JsonObject *fields = json_object_new ();
      const char *source;

      json_object_set_int_member (fields, "offset", self->move_offset);
      json_object_set_int_member (fields, "length", self->move_inserted);
      json_object_set_boolean_member (fields, "internal", TRUE);
      source = log_event (self, "paste", fields);
      loom_authorship_set_origin (self->authorship, self->move_offset, self->move_inserted,
                                  LOOM_ORIGIN_PASTED, source);
    }

  g_clear_object (&self->move_runs);
  self->keep_open = FALSE;
  close_action (self);
  emit_changed (self);
}

gboolean
candor_document_can_undo (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);

  return self->open_action != NULL || self->undo_stack->len > 0;
}

gboolean
candor_document_can_redo (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);

  return self->open_action == NULL && self->redo_stack->len > 0;
}

static void
replay_edit (CandorDocument *self,
             EditKind        kind,
             const Edit     *edit)
{
  GtkTextIter start, end;
  guint offset = edit->offset;
  const char *text = edit->text;

  gtk_text_buffer_get_iter_at_offset (self->buffer, &start, offset);
  if (kind == EDIT_INSERT)
    {
      insert_with_pictures (self, &start, text, (const char * const *) edit->pictures);
      gtk_text_buffer_get_iter_at_offset (self->buffer, &start, offset);
    }
  else
    {
      gtk_text_buffer_get_iter_at_offset (self->buffer, &end, offset + g_utf8_strlen (text, -1));
      gtk_text_buffer_delete (self->buffer, &start, &end);
    }
  gtk_text_buffer_place_cursor (self->buffer, &start);
}

/* Makes the runs equal to @runs in place: the view holds on to self->authorship. */
static void
restore_runs (CandorDocument *self,
              LoomAuthorship *runs)
{
  loom_authorship_delete (self->authorship, 0, loom_authorship_get_length (self->authorship));
  loom_authorship_insert_authorship (self->authorship, 0, runs);
}

void
candor_document_undo (CandorDocument *self)
{
  Action *action;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (self->stream_mark == NULL);

  flush_typing (self);
  close_action (self);
  if (self->undo_stack->len == 0)
    return;

  action = g_ptr_array_steal_index (self->undo_stack, self->undo_stack->len - 1);
  self->replaying++;
  for (guint i = action->edits->len; i-- > 0;)
    {
      const Edit *edit = &g_array_index (action->edits, Edit, i);

      replay_edit (self, edit->kind == EDIT_INSERT ? EDIT_DELETE : EDIT_INSERT, edit);
    }
  self->replaying--;
  restore_runs (self, action->before);
  g_ptr_array_add (self->redo_stack, action);

  emit_changed (self);
}

void
candor_document_redo (CandorDocument *self)
{
  Action *action;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (self->stream_mark == NULL);

  flush_typing (self);
  close_action (self);
  if (self->redo_stack->len == 0)
    return;

  action = g_ptr_array_steal_index (self->redo_stack, self->redo_stack->len - 1);
  self->replaying++;
  for (guint i = 0; i < action->edits->len; i++)
    {
      const Edit *edit = &g_array_index (action->edits, Edit, i);

      replay_edit (self, edit->kind, edit);
      if (edit->kind == EDIT_INSERT)
        {
          GtkTextIter iter;

          gtk_text_buffer_get_iter_at_offset (self->buffer, &iter,
                                              edit->offset + g_utf8_strlen (edit->text, -1));
          gtk_text_buffer_place_cursor (self->buffer, &iter);
        }
    }
  self->replaying--;
  restore_runs (self, action->after);
  g_ptr_array_add (self->undo_stack, action);

  emit_changed (self);
}

LoomProvenanceSummary *
candor_document_dup_summary (CandorDocument *self)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  text = candor_document_dup_text (self);

  return loom_provenance_summary_compute (self->authorship, self->log, text);
}

GFile *
candor_document_get_file (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return self->file;
}

gboolean
candor_document_get_modified (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);

  return self->modified;
}

/* Illustrations */

GListModel *
candor_document_get_illustrations (CandorDocument *self)
{
  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  return G_LIST_MODEL (self->illustrations);
}

CandorIllustration *
candor_document_find_illustration (CandorDocument *self,
                                   const char     *id)
{
  GListModel *model;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  if (id == NULL || *id == '\0')
    return NULL;
  model = G_LIST_MODEL (self->illustrations);
  for (guint i = 0, n = g_list_model_get_n_items (model); i < n; i++)
    {
      g_autoptr(CandorIllustration) illustration = g_list_model_get_item (model, i);

      if (g_str_equal (candor_illustration_get_id (illustration), id))
        return illustration;  /* the store keeps it alive */
    }

  return NULL;
}

static void
set_optional_string (JsonObject *object,
                     const char *name,
                     const char *value)
{
  if (value != NULL)
    json_object_set_string_member (object, name, value);
  else
    json_object_set_null_member (object, name);
}

static void
add_illustration (CandorDocument     *self,
                  CandorIllustration *illustration)
{
  candor_illustration_prepare_async (illustration);
  g_list_store_append (self->illustrations, illustration);
  emit_changed (self);
}

CandorIllustration *
candor_document_add_generated (CandorDocument     *self,
                               LoomImage          *image,
                               CandorIllustration *parent,
                               gboolean            human_pixels,
                               guint               batch_index,
                               guint               batch_count)
{
  g_autoptr(JsonNode) record_node = NULL;
  g_autoptr(CandorIllustration) illustration = NULL;
  JsonObject *fields;
  const char *id;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (LOOM_IS_IMAGE (image), NULL);
  g_return_val_if_fail (parent == NULL || CANDOR_IS_ILLUSTRATION (parent), NULL);

  /* The whole generation record (model agent, prompt, negative prompt, seed, steps, CFG,
   * sampler, size, mode, strength, init and mask hashes) is the event. */
  record_node = loom_image_record_to_json (loom_image_get_record (image));
  fields = json_object_ref (json_node_get_object (record_node));
  set_optional_string (fields, "parent", parent != NULL ? candor_illustration_get_id (parent) : NULL);
  json_object_set_boolean_member (fields, "human_pixels", human_pixels);
  json_object_set_int_member (fields, "batch_index", batch_index);
  json_object_set_int_member (fields, "batch_count", batch_count);
  id = log_event (self, "image.generate", fields);

  illustration = candor_illustration_new (id, image,
                                          parent != NULL ? candor_illustration_get_id (parent) : NULL,
                                          human_pixels);
  add_illustration (self, illustration);

  return illustration;
}

const char *
candor_document_log_strokes (CandorDocument     *self,
                             CandorIllustration *base,
                             const char         *tool,
                             guint               strokes,
                             guint64             covered_pixels)
{
  JsonObject *fields;
  const char *id;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (base == NULL || CANDOR_IS_ILLUSTRATION (base), NULL);
  g_return_val_if_fail (g_strcmp0 (tool, "brush") == 0 || g_strcmp0 (tool, "eraser") == 0 ||
                        g_strcmp0 (tool, "mask") == 0, NULL);

  fields = json_object_new ();
  json_object_set_string_member (fields, "tool", tool);
  json_object_set_int_member (fields, "strokes", strokes);
  json_object_set_int_member (fields, "covered_pixels", (gint64) MIN (covered_pixels, G_MAXINT64));
  set_optional_string (fields, "base", base != NULL ? candor_illustration_get_id (base) : NULL);
  id = log_event (self, "image.stroke", fields);
  emit_changed (self);

  return id;
}

CandorIllustration *
candor_document_add_painted (CandorDocument     *self,
                             CandorIllustration *base,
                             GBytes             *rgba,
                             guint               width,
                             guint               height,
                             const char         *stroke_event_id,
                             guint               strokes)
{
  g_autoptr(LoomImage) image = NULL;
  g_autoptr(CandorIllustration) illustration = NULL;
  CandorIllustration *existing;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (base), NULL);
  g_return_val_if_fail (rgba != NULL && g_bytes_get_size (rgba) == (gsize) width * height * 4, NULL);
  g_return_val_if_fail (stroke_event_id != NULL, NULL);

  existing = candor_document_find_illustration (self, stroke_event_id);
  if (existing != NULL)
    return g_object_ref (existing);

  image = loom_image_new (rgba, width, height, candor_illustration_get_record (base));
  illustration = candor_illustration_new (stroke_event_id, image,
                                          candor_illustration_get_id (base), TRUE);
  candor_illustration_set_strokes (illustration, strokes);
  add_illustration (self, illustration);

  return g_steal_pointer (&illustration);
}

/* Logs `image.select` or `image.discard`: which candidate, among how many seen. */
static void
log_choice (CandorDocument     *self,
            const char         *kind,
            CandorIllustration *illustration)
{
  GListModel *model = G_LIST_MODEL (self->illustrations);
  guint n = g_list_model_get_n_items (model), index = 0;
  JsonObject *fields;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CandorIllustration) item = g_list_model_get_item (model, i);

      if (item == illustration)
        index = i;
    }

  fields = json_object_new ();
  json_object_set_string_member (fields, "illustration", candor_illustration_get_id (illustration));
  json_object_set_int_member (fields, "index", index);
  json_object_set_int_member (fields, "candidates_seen", n);
  log_event (self, kind, fields);
}

void
candor_document_select_illustration (CandorDocument     *self,
                                     CandorIllustration *illustration)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (CANDOR_IS_ILLUSTRATION (illustration));

  log_choice (self, "image.select", illustration);
  candor_illustration_set_state (illustration, CANDOR_ILLUSTRATION_SELECTED);
  emit_changed (self);
}

void
candor_document_discard_illustration (CandorDocument     *self,
                                      CandorIllustration *illustration)
{
  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (CANDOR_IS_ILLUSTRATION (illustration));

  log_choice (self, "image.discard", illustration);
  candor_illustration_set_state (illustration, CANDOR_ILLUSTRATION_DISCARDED);
  emit_changed (self);
}

/* The paragraph a picture placed at @iter illustrates: the one it goes into, or the last
 * one before it with text when that one is empty. */
static void
passage_at (CandorDocument    *self,
            const GtkTextIter *iter,
            GtkTextIter       *start,
            GtkTextIter       *end)
{
  *start = *iter;
  gtk_text_iter_set_line_offset (start, 0);
  *end = *start;
  if (!gtk_text_iter_ends_line (end))
    gtk_text_iter_forward_to_line_end (end);

  while (gtk_text_iter_equal (start, end) && gtk_text_iter_backward_line (start))
    {
      *end = *start;
      if (!gtk_text_iter_ends_line (end))
        gtk_text_iter_forward_to_line_end (end);
    }
}

void
candor_document_place_illustration (CandorDocument     *self,
                                    GtkTextIter        *iter,
                                    CandorIllustration *illustration)
{
  g_autofree char *passage = NULL;
  g_autofree char *passage_hash = NULL;
  GtkTextIter start, end;
  JsonObject *fields;
  const char *id;
  guint offset;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));
  g_return_if_fail (iter != NULL);
  g_return_if_fail (CANDOR_IS_ILLUSTRATION (illustration));
  g_return_if_fail (candor_document_find_illustration (self, candor_illustration_get_id (illustration)) == illustration);
  g_return_if_fail (self->stream_mark == NULL);

  offset = gtk_text_iter_get_offset (iter);
  passage_at (self, iter, &start, &end);
  passage = gtk_text_iter_get_slice (&start, &end);
  passage_hash = hash_text (passage);

  fields = json_object_new ();
  json_object_set_string_member (fields, "illustration", candor_illustration_get_id (illustration));
  json_object_set_int_member (fields, "offset", offset);
  json_object_set_int_member (fields, "passage_offset", gtk_text_iter_get_offset (&start));
  json_object_set_int_member (fields, "passage_length", g_utf8_strlen (passage, -1));
  json_object_set_string_member (fields, "passage_sha256", passage_hash);
  json_object_set_string_member (fields, "source_type", candor_illustration_get_source_type (illustration));
  id = log_event (self, "image.place", fields);

  close_action (self);
  self->keep_open = TRUE;
  self->mode = INSERT_PLACE;
  self->mode_source = g_intern_string (id);
  gtk_text_buffer_begin_user_action (self->buffer);
  gtk_text_buffer_insert_paintable (self->buffer, iter,
                                    candor_illustration_get_paintable (illustration));
  gtk_text_buffer_end_user_action (self->buffer);
  self->mode = INSERT_TYPED;
  self->mode_source = NULL;
  self->keep_open = FALSE;
  close_action (self);
  emit_changed (self);
}

GPtrArray *
candor_document_list_placed (CandorDocument  *self,
                             GArray         **offsets)
{
  GPtrArray *placed;
  GtkTextIter iter, end;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  placed = g_ptr_array_new_with_free_func (g_object_unref);
  if (offsets != NULL)
    *offsets = g_array_new (FALSE, FALSE, sizeof (guint));

  gtk_text_buffer_get_bounds (self->buffer, &iter, &end);
  for (; next_object_char (&iter, &end); gtk_text_iter_forward_char (&iter))
    {
      CandorIllustration *illustration = own_illustration (self, gtk_text_iter_get_paintable (&iter));
      guint offset;

      if (illustration == NULL)
        continue;
      g_ptr_array_add (placed, g_object_ref (illustration));
      offset = gtk_text_iter_get_offset (&iter);
      if (offsets != NULL)
        g_array_append_val (*offsets, offset);
    }

  return placed;
}

/* Files */

static char *
hash_text_nfc (const char *text)
{
  g_autofree char *nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);

  return hash_text (nfc);
}

static const char *
training_to_string (gboolean allowed)
{
  return allowed ? "allowed" : "notAllowed";
}

/* "illustrations": every picture of the story; "placements": where pictures stand in
 * the text ({offset, illustration}, in text order). */
static gboolean
add_illustrations_json (CandorDocument  *self,
                        JsonBuilder     *builder,
                        GError         **error)
{
  GListModel *model = G_LIST_MODEL (self->illustrations);
  g_autoptr(GPtrArray) placed = NULL;
  g_autoptr(GArray) offsets = NULL;

  json_builder_set_member_name (builder, "illustrations");
  json_builder_begin_array (builder);
  for (guint i = 0, n = g_list_model_get_n_items (model); i < n; i++)
    {
      g_autoptr(CandorIllustration) illustration = g_list_model_get_item (model, i);
      JsonNode *node = candor_illustration_to_json (illustration, error);

      if (node == NULL)
        return FALSE;
      json_builder_add_value (builder, node);
    }
  json_builder_end_array (builder);

  placed = candor_document_list_placed (self, &offsets);
  json_builder_set_member_name (builder, "placements");
  json_builder_begin_array (builder);
  for (guint i = 0; i < placed->len; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "offset");
      json_builder_add_int_value (builder, g_array_index (offsets, guint, i));
      json_builder_set_member_name (builder, "illustration");
      json_builder_add_string_value (builder, candor_illustration_get_id (placed->pdata[i]));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  return TRUE;
}

static JsonNode *
build_document_json (CandorDocument  *self,
                     const char      *autosave_of,
                     GError         **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *text = candor_document_dup_text (self);
  g_autofree char *text_hash = hash_text_nfc (text);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, FORMAT_NAME);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, FORMAT_VERSION);
  json_builder_set_member_name (builder, "text");
  json_builder_add_string_value (builder, text);
  json_builder_set_member_name (builder, "text_sha256");
  json_builder_add_string_value (builder, text_hash);
  json_builder_set_member_name (builder, "runs");
  json_builder_add_value (builder, loom_authorship_to_json (self->authorship));
  json_builder_set_member_name (builder, "log");
  json_builder_add_value (builder, loom_event_log_to_json (self->log));
  json_builder_set_member_name (builder, "notes");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "memory");
  json_builder_add_string_value (builder, self->memory);
  json_builder_set_member_name (builder, "authors_note");
  json_builder_add_string_value (builder, self->authors_note);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "training_preference");
  json_builder_add_string_value (builder, training_to_string (self->training_allowed));
  if (!add_illustrations_json (self, builder, error))
    return NULL;
  if (autosave_of != NULL)
    {
      json_builder_set_member_name (builder, "autosave_of");
      json_builder_add_string_value (builder, autosave_of);
    }
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static char *
to_json_data (JsonNode *root,
              gsize    *length)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, length);
}

/* Writes through a temporary file renamed over @file: a crash leaves the old file or
 * the new one, never half of one. */
static gboolean
write_atomically (GFile       *file,
                  const char  *data,
                  gsize        length,
                  GError     **error)
{
  return g_file_replace_contents (file, data, length, NULL, FALSE, G_FILE_CREATE_NONE,
                                  NULL, NULL, error);
}

/* The runs must describe the buffer before anything is written. */
static gboolean
check_consistent (CandorDocument  *self,
                  GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!loom_authorship_validate (self->authorship, gtk_text_buffer_get_char_count (self->buffer),
                                 &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("The authorship record does not match the text: %s"), local_error->message);
      return FALSE;
    }

  return TRUE;
}

static GFile *
autosave_dir (void)
{
  return g_file_new_build_filename (g_get_user_state_dir (), "candor", "autosave", NULL);
}

GFile *
candor_document_get_autosave_file (CandorDocument *self)
{
  g_autoptr(GFile) dir = autosave_dir ();
  g_autofree char *name = NULL;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), NULL);

  name = g_strconcat (self->autosave_id, ".candor", NULL);

  return g_file_get_child (dir, name);
}

void
candor_document_discard_autosave (CandorDocument *self)
{
  g_autoptr(GFile) file = NULL;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  file = candor_document_get_autosave_file (self);
  /* An autosave under way must not bring the copy back. */
  self->autosave_serial++;
  g_file_delete (file, NULL, NULL);
}

gboolean
candor_document_save (CandorDocument  *self,
                      GFile           *file,
                      GError         **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  flush_typing (self);
  if (!check_consistent (self, error))
    return FALSE;

  root = build_document_json (self, NULL, error);
  if (root == NULL)
    return FALSE;
  data = to_json_data (root, &length);
  if (!write_atomically (file, data, length, error))
    return FALSE;

  if (self->file == NULL || !g_file_equal (self->file, file))
    {
      g_set_object (&self->file, file);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
    }
  candor_document_discard_autosave (self);
  set_modified (self, FALSE);

  return TRUE;
}

/* What an autosave writes, built on the UI thread (the buffer lives there): checks the
 * runs, makes the folder, and returns the document as JSON. */
static JsonNode *
begin_autosave (CandorDocument  *self,
                GError         **error)
{
  g_autoptr(GFile) dir = autosave_dir ();
  g_autofree char *uri = NULL;

  flush_typing (self);
  if (!check_consistent (self, error))
    return NULL;

  if (g_mkdir_with_parents (g_file_peek_path (dir), 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the autosave folder: %s"), g_strerror (saved_errno));
      return NULL;
    }

  uri = self->file != NULL ? g_file_get_uri (self->file) : NULL;

  return build_document_json (self, uri, error);
}

gboolean
candor_document_autosave (CandorDocument  *self,
                          GError         **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);

  root = begin_autosave (self, error);
  if (root == NULL)
    return FALSE;
  data = to_json_data (root, &length);
  file = candor_document_get_autosave_file (self);

  return write_atomically (file, data, length, error);
}

/* An autosave under way: the document's JSON, which only the worker reads while it
 * runs and the UI thread frees (json-glib's objects are shared with the event log and
 * their reference counts are not atomic), and the serial it was begun under. */
typedef struct
{
  JsonNode *root;
  guint     serial;
} Autosave;

static void
autosave_free (gpointer data)
{
  Autosave *autosave = data;

  json_node_unref (autosave->root);
  g_free (autosave);
}

/* The JSON text of a story with pictures runs to megabytes (base64 PNGs): it is made on
 * a worker thread, which only reads the nodes. */
static void
autosave_generate_thread (GTask        *task,
                          gpointer      source,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  gsize length;
  char *data = to_json_data (task_data, &length);

  g_task_return_pointer (task, g_bytes_new_take (data, length), (GDestroyNotify) g_bytes_unref);
}

/* Back on the UI thread: written here, not on the worker, so a save or a discard that
 * came in between (which moves autosave_serial on) cannot be undone by a late write. */
static void
autosave_generated_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CandorDocument *self = CANDOR_DOCUMENT (g_task_get_source_object (task));
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GFile) file = NULL;
  GError *error = NULL;

  data = g_task_propagate_pointer (G_TASK (result), &error);
  if (data == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (((Autosave *) g_task_get_task_data (task))->serial != self->autosave_serial)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  file = candor_document_get_autosave_file (self);
  if (!write_atomically (file, g_bytes_get_data (data, NULL), g_bytes_get_size (data), &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
candor_document_autosave_async (CandorDocument      *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) generate = NULL;
  GError *error = NULL;
  Autosave *autosave;
  JsonNode *root;

  g_return_if_fail (CANDOR_IS_DOCUMENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, candor_document_autosave_async);

  root = begin_autosave (self, &error);
  if (root == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  autosave = g_new0 (Autosave, 1);
  autosave->root = root;
  autosave->serial = self->autosave_serial;
  g_task_set_task_data (task, autosave, autosave_free);

  /* No source object: the worker may drop the inner task's last reference, and the
   * document must only ever be finalized on the UI thread (the outer task holds it). */
  generate = g_task_new (NULL, cancellable, autosave_generated_cb, g_steal_pointer (&task));
  g_task_set_task_data (generate, root, NULL);
  g_task_run_in_thread (generate, autosave_generate_thread);
}

gboolean
candor_document_autosave_finish (CandorDocument  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

GPtrArray *
candor_document_list_recoverable (void)
{
  g_autoptr(GFile) dir = autosave_dir ();
  g_autoptr(GFileEnumerator) enumerator = NULL;
  GPtrArray *files = g_ptr_array_new_with_free_func (g_object_unref);
  GFileInfo *info;

  enumerator = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                          G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (enumerator == NULL)
    return files;

  while ((info = g_file_enumerator_next_file (enumerator, NULL, NULL)) != NULL)
    {
      const char *name = g_file_info_get_name (info);

      if (g_str_has_suffix (name, ".candor"))
        g_ptr_array_add (files, g_file_get_child (dir, name));
      g_object_unref (info);
    }

  return files;
}

static gboolean
fail_invalid (GError     **error,
              const char  *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);

  return FALSE;
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* Puts @text into a new document's buffer without recording edits: the runs and log
 * come from the file. @pictures: as Edit.pictures, the pictures in the text. */
static void
load_text (CandorDocument     *self,
           const char         *text,
           const char * const *pictures)
{
  GtkTextIter start;

  self->replaying++;
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  insert_with_pictures (self, &start, text, pictures);
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  gtk_text_buffer_place_cursor (self->buffer, &start);
  self->replaying--;
}

/* Reads "illustrations" into @self and "placements" into the list of pictures in @text
 * that load_text() takes; both are checked (ids unique and known, parents known,
 * placements in order on object characters). Version 1 documents have neither. */
static gboolean
parse_illustrations (CandorDocument  *self,
                     JsonObject      *object,
                     const char      *text,
                     char          ***pictures,
                     GError         **error)
{
  JsonNode *node = json_object_get_member (object, "illustrations");
  g_autoptr(GHashTable) placed_at = g_hash_table_new (NULL, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;
  LoomImage *image;
  guint64 total_pixels = 0;
  gint64 last_offset = -1;
  guint offset = 0;

  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return fail_invalid (error, _("The document’s illustrations are not a list"));
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autoptr(CandorIllustration) illustration = NULL;

          illustration = candor_illustration_new_from_json (json_array_get_element (array, i), error);
          if (illustration == NULL)
            return FALSE;
          /* Every picture is held decoded: a file may not claim more than the budget. */
          image = candor_illustration_get_image (illustration);
          total_pixels += (guint64) loom_image_get_width (image) * loom_image_get_height (image);
          if (total_pixels > MAX_DOCUMENT_PIXELS)
            return fail_invalid (error, _("The document’s illustrations are larger than Candor opens"));
          if (candor_document_find_illustration (self, candor_illustration_get_id (illustration)) != NULL)
            return fail_invalid (error, _("Two illustrations in the document have the same id"));
          g_list_store_append (self->illustrations, illustration);
        }
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->illustrations)); i++)
        {
          g_autoptr(CandorIllustration) illustration =
            g_list_model_get_item (G_LIST_MODEL (self->illustrations), i);
          const char *parent = candor_illustration_get_parent_id (illustration);

          if (parent != NULL && candor_document_find_illustration (self, parent) == NULL)
            return fail_invalid (error, _("An illustration in the document names a parent it does not have"));
        }
    }

  node = json_object_get_member (object, "placements");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return fail_invalid (error, _("The document’s placed pictures are not a list"));
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          JsonNode *offset_node;
          const char *id;
          gint64 at;

          if (!JSON_NODE_HOLDS_OBJECT (element) ||
              (offset_node = json_object_get_member (json_node_get_object (element), "offset")) == NULL ||
              json_node_get_value_type (offset_node) != G_TYPE_INT64 ||
              (at = json_node_get_int (offset_node)) <= last_offset || at > G_MAXUINT ||
              (id = string_member (json_node_get_object (element), "illustration")) == NULL ||
              candor_document_find_illustration (self, id) == NULL)
            return fail_invalid (error, _("A picture placed in the document is invalid"));
          g_hash_table_insert (placed_at, GUINT_TO_POINTER ((guint) at), (gpointer) id);
          last_offset = at;
        }
    }

  /* Every placement must stand on an object character of the text. */
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p), offset++)
    if (g_utf8_get_char (p) == OBJECT_UNICHAR)
      {
        const char *id = g_hash_table_lookup (placed_at, GUINT_TO_POINTER (offset));

        g_strv_builder_add (builder, id != NULL ? id : "");
        g_hash_table_remove (placed_at, GUINT_TO_POINTER (offset));
      }
  if (g_hash_table_size (placed_at) > 0)
    return fail_invalid (error, _("A picture placed in the document is not where its text says"));

  *pictures = g_strv_builder_end (builder);

  return TRUE;
}

static CandorDocument *
parse_candor (const char  *data,
              gsize        length,
              char       **autosave_of,
              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(CandorDocument) self = NULL;
  g_autoptr(LoomAuthorship) runs = NULL;
  g_autoptr(LoomEventLog) log = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text_hash = NULL;
  g_auto(GStrv) pictures = NULL;
  JsonNode *root, *version_node, *runs_node, *log_node, *notes_node;
  JsonObject *object;
  const char *text, *stored_hash, *training;
  gint64 version;

  if (!json_parser_load_from_data (parser, data, length, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The file is damaged or not a Candor document (%s)"), local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      g_strcmp0 (string_member (json_node_get_object (root), "format"), FORMAT_NAME) != 0)
    {
      fail_invalid (error, _("The file is not a Candor document"));
      return NULL;
    }
  object = json_node_get_object (root);

  version_node = json_object_get_member (object, "version");
  if (version_node == NULL || json_node_get_value_type (version_node) != G_TYPE_INT64 ||
      json_node_get_int (version_node) < 1)
    {
      fail_invalid (error, _("The Candor document has no valid format version"));
      return NULL;
    }
  version = json_node_get_int (version_node);
  if (version > FORMAT_VERSION)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("The document was made by a newer Candor (format version %d); this "
                     "version opens up to version %d"),
                   (int) MIN (version, G_MAXINT), FORMAT_VERSION);
      return NULL;
    }

  text = string_member (object, "text");
  stored_hash = string_member (object, "text_sha256");
  if (text == NULL || stored_hash == NULL)
    {
      fail_invalid (error, _("The Candor document has no text or no text hash"));
      return NULL;
    }
  text_hash = hash_text_nfc (text);
  if (!g_str_equal (text_hash, stored_hash))
    {
      fail_invalid (error, _("The document’s text does not match its recorded hash: it was "
                             "changed outside Candor or damaged"));
      return NULL;
    }

  runs_node = json_object_get_member (object, "runs");
  if (runs_node == NULL ||
      (runs = loom_authorship_new_from_json (runs_node, &local_error)) == NULL ||
      !loom_authorship_validate (runs, g_utf8_strlen (text, -1), &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The document’s authorship record is invalid: %s"),
                   local_error != NULL ? local_error->message : _("it is missing"));
      return NULL;
    }

  log_node = json_object_get_member (object, "log");
  if (log_node == NULL ||
      (log = loom_event_log_new_from_json (log_node, &local_error)) == NULL ||
      !loom_event_log_verify (log, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The document’s event log fails its integrity check: %s"),
                   local_error != NULL ? local_error->message : _("it is missing"));
      return NULL;
    }

  training = string_member (object, "training_preference");
  if (training == NULL || (!g_str_equal (training, "allowed") &&
                           !g_str_equal (training, "notAllowed")))
    {
      fail_invalid (error, _("The document has no valid training preference"));
      return NULL;
    }

  self = candor_document_new ();
  if (!parse_illustrations (self, object, text, &pictures, error))
    return NULL;
  notes_node = json_object_get_member (object, "notes");
  if (notes_node != NULL && JSON_NODE_HOLDS_OBJECT (notes_node))
    {
      JsonObject *notes = json_node_get_object (notes_node);

      candor_document_set_memory (self, string_member (notes, "memory"));
      candor_document_set_authors_note (self, string_member (notes, "authors_note"));
    }
  self->training_allowed = g_str_equal (training, "allowed");

  load_text (self, text, (const char * const *) pictures);
  restore_runs (self, runs);
  g_set_object (&self->log, log);

  if (autosave_of != NULL)
    *autosave_of = g_strdup (string_member (object, "autosave_of"));

  return g_steal_pointer (&self);
}

static CandorDocument *
import_text (GFile       *file,
             const char  *data,
             gsize        length,
             GError     **error)
{
  g_autoptr(CandorDocument) self = NULL;
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *hash = NULL;
  JsonObject *fields;
  GtkTextIter start;

  if (!g_utf8_validate_len (data, length, NULL) || memchr (data, '\0', length) != NULL)
    {
      fail_invalid (error, _("The file is not UTF-8 text"));
      return NULL;
    }

  self = candor_document_new ();
  hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
  fields = json_object_new ();
  json_object_set_string_member (fields, "file_name", name);
  json_object_set_string_member (fields, "sha256", hash);
  json_object_set_int_member (fields, "length", g_utf8_strlen (data, length));

  self->mode = INSERT_IMPORT;
  self->mode_source = g_intern_string (log_event (self, "import", fields));
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  gtk_text_buffer_insert (self->buffer, &start, data, length);
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  gtk_text_buffer_place_cursor (self->buffer, &start);
  self->mode = INSERT_TYPED;
  self->mode_source = NULL;

  /* The import is where the history starts, not a step to undo. */
  g_clear_pointer (&self->open_action, action_free);
  g_ptr_array_set_size (self->undo_stack, 0);

  return g_steal_pointer (&self);
}

static gboolean
is_plain_text_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return g_str_has_suffix (lower, ".txt") || g_str_has_suffix (lower, ".md") ||
         g_str_has_suffix (lower, ".markdown") || g_str_has_suffix (lower, ".text");
}

static CandorDocument *
load_file (GFile       *file,
           char       **autosave_of,
           GError     **error)
{
  g_autofree char *data = NULL;
  g_autofree char *name = NULL;
  CandorDocument *self;
  gsize length;

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_load_contents (file, NULL, &data, &length, NULL, error))
    return NULL;

  name = g_file_get_basename (file);
  if (is_plain_text_name (name))
    return import_text (file, data, length, error);

  self = parse_candor (data, length, autosave_of, error);
  if (self == NULL)
    return NULL;

  g_set_object (&self->file, file);
  set_modified (self, FALSE);

  return self;
}

CandorDocument *
candor_document_load (GFile   *file,
                      GError **error)
{
  g_autoptr(GError) local_error = NULL;
  CandorDocument *self;

  self = load_file (file, NULL, &local_error);
  if (self == NULL)
    {
      g_autofree char *name = g_file_get_basename (file);

      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("“%s” cannot be opened: "), name);
    }

  return self;
}

CandorDocument *
candor_document_recover (GFile   *autosave,
                         GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *autosave_of = NULL;
  g_autofree char *name = NULL;
  CandorDocument *self;

  g_return_val_if_fail (G_IS_FILE (autosave), NULL);

  self = load_file (autosave, &autosave_of, &local_error);
  if (self == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("The autosaved story cannot be recovered: "));
      return NULL;
    }

  /* The recovered story keeps its autosave until it is saved or closed, and belongs to
   * the file it was autosaved from, if any. */
  name = g_file_get_basename (autosave);
  g_free (self->autosave_id);
  self->autosave_id = g_strndup (name, strlen (name) - strlen (".candor"));
  g_clear_object (&self->file);
  if (autosave_of != NULL)
    self->file = g_file_new_for_uri (autosave_of);
  set_modified (self, TRUE);

  return self;
}

/* The file name stem of @file: "story" for "story.md". */
static char *
file_stem (GFile *file)
{
  g_autofree char *name = g_file_get_basename (file);
  char *dot = strrchr (name, '.');

  if (dot != NULL && dot != name)
    *dot = '\0';

  return g_steal_pointer (&name);
}

static GFile *
sidecar_file (GFile *file)
{
  g_autofree char *stem = file_stem (file);
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autofree char *sidecar_name = g_strconcat (stem, ".provenance.json", NULL);

  return g_file_get_child (parent, sidecar_name);
}

GFile *
candor_document_get_sidecar_file (GFile *file)
{
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  return sidecar_file (file);
}

/* Writes the pictures placed in the text beside @file as "<stem>-illustration-N.png"
 * (each with its XMP and parameters, and the story's training preference), and returns
 * the text to export with each picture replaced by a Markdown image link (or, for plain
 * text, a bracketed file name). @list: the sidecar's "illustrations". */
static char *
export_pictures (CandorDocument  *self,
                 GFile           *file,
                 const char      *text,
                 gboolean         markdown,
                 JsonBuilder     *list,
                 GError         **error)
{
  g_autoptr(GArray) offsets = NULL;
  g_autoptr(GPtrArray) placed = candor_document_list_placed (self, &offsets);
  g_autoptr(GFile) folder = g_file_get_parent (file);
  g_autofree char *stem = file_stem (file);
  GString *out = g_string_new (NULL);
  const char *p = text;
  guint offset = 0, next = 0;

  json_builder_begin_array (list);
  for (; *p != '\0'; p = g_utf8_next_char (p), offset++)
    {
      CandorIllustration *illustration;
      g_autofree char *name = NULL;
      g_autofree char *link = NULL;
      g_autofree char *caption = NULL;
      g_autofree char *png_hash = NULL;
      g_autoptr(GFile) image_file = NULL;
      g_autoptr(GBytes) png = NULL;
      LoomImageMetadata metadata;

      if (next >= placed->len || g_array_index (offsets, guint, next) != offset)
        {
          g_string_append_len (out, p, g_utf8_next_char (p) - p);
          continue;
        }

      illustration = placed->pdata[next++];
      name = g_strdup_printf ("%s-illustration-%u.png", stem, next);
      image_file = g_file_get_child (folder, name);
      loom_image_metadata_init (&metadata);
      metadata.creator_tool = "Candor " PACKAGE_VERSION;
      metadata.source_type = candor_illustration_get_source_type (illustration);
      metadata.training_allowed = self->training_allowed;
      png = loom_image_encode_png (candor_illustration_get_image (illustration), &metadata, error);
      if (png == NULL ||
          !write_atomically (image_file, g_bytes_get_data (png, NULL), g_bytes_get_size (png), error))
        {
          g_string_free (out, TRUE);
          return NULL;
        }

      caption = g_strdup (candor_illustration_get_record (illustration)->prompt);
      /* Nothing in the alt text may end the link early or escape its bracket. */
      g_strdelimit (caption, "[]\\\n\r", ' ');
      link = g_uri_escape_string (name, NULL, FALSE);
      if (markdown)
        g_string_append_printf (out, "![%s](%s)", caption, link);
      else
        g_string_append_printf (out, _("[Illustration: %s]"), name);

      png_hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, png);
      json_builder_begin_object (list);
      json_builder_set_member_name (list, "file_name");
      json_builder_add_string_value (list, name);
      json_builder_set_member_name (list, "sha256");
      json_builder_add_string_value (list, png_hash);
      json_builder_set_member_name (list, "illustration");
      json_builder_add_string_value (list, candor_illustration_get_id (illustration));
      json_builder_set_member_name (list, "digital_source_type");
      json_builder_add_string_value (list, metadata.source_type);
      json_builder_set_member_name (list, "record");
      json_builder_add_value (list, loom_image_record_to_json (candor_illustration_get_record (illustration)));
      json_builder_end_object (list);
    }
  json_builder_end_array (list);

  return g_string_free (out, FALSE);
}

gboolean
candor_document_export (CandorDocument  *self,
                        GFile           *file,
                        GError         **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(LoomProvenanceSummary) summary = NULL;
  g_autoptr(GFile) sidecar = NULL;
  g_autofree char *text = NULL;
  g_autofree char *exported = NULL;
  g_autofree char *text_hash = NULL;
  g_autofree char *name = NULL;
  g_autofree char *lower_name = NULL;
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (CANDOR_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  flush_typing (self);
  if (!check_consistent (self, error))
    return FALSE;

  text = candor_document_dup_text (self);
  summary = loom_provenance_summary_compute (self->authorship, self->log, text);
  name = g_file_get_basename (file);
  lower_name = g_ascii_strdown (name, -1);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, SIDECAR_FORMAT_NAME);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, FORMAT_VERSION);
  json_builder_set_member_name (builder, "file_name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "illustrations");
  exported = export_pictures (self, file, text,
                              g_str_has_suffix (lower_name, ".md") ||
                              g_str_has_suffix (lower_name, ".markdown"),
                              builder, error);
  if (exported == NULL)
    return FALSE;
  text_hash = hash_text_nfc (exported);
  json_builder_set_member_name (builder, "text_sha256");
  json_builder_add_string_value (builder, text_hash);
  json_builder_set_member_name (builder, "runs");
  json_builder_add_value (builder, loom_authorship_to_json (self->authorship));
  json_builder_set_member_name (builder, "log");
  json_builder_add_value (builder, loom_event_log_to_json (self->log));
  json_builder_set_member_name (builder, "summary");
  json_builder_add_value (builder, loom_provenance_summary_to_json (summary));
  json_builder_set_member_name (builder, "training_preference");
  json_builder_add_string_value (builder, training_to_string (self->training_allowed));
  json_builder_set_member_name (builder, "note");
  json_builder_add_string_value (builder, "These figures describe the editing history inside "
                                          "Candor, not legal authorship.");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);

  /* The text is the same for Markdown and plain text (the author writes the markup),
   * but for the pictures in it. */
  if (!write_atomically (file, exported, strlen (exported), error))
    return FALSE;

  sidecar = sidecar_file (file);
  data = to_json_data (root, &length);

  return write_atomically (sidecar, data, length, error);
}
