/* loom-clip-tokenizer.c — CLIP's BPE tokenizer (as openai/CLIP's simple_tokenizer.py
 * does it, without ftfy) and AUTOMATIC1111's prompt syntax and chunking.
 *
 * Symbols are token ids from the start: a piece's bytes become the ids of their GPT-2
 * characters (the last one with "</w>"), and a merge is found by the ids of its two
 * halves. Every merge's halves and result must be in the vocabulary, which both file
 * formats guarantee and loading checks.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "loom-error.h"
#include "loom-clip-tokenizer.h"
#include "text/loom-tokenizer-private.h"

/* CLIP uses the first 49152 − 256 − 2 lines of its merges file, the version line
 * included: 48894 merges, which with 512 byte symbols and 2 specials make 49408 ids. */
#define CLIP_N_MERGES     (49152 - 256 - 2)
#define START_TEXT        "<|startoftext|>"
#define END_TEXT          "<|endoftext|>"
#define END_OF_WORD       "</w>"
#define MAX_FILE_BYTES    (64 * 1024 * 1024) /* vocabulary files are ~2 MiB */
#define CACHE_MAX_ENTRIES 65536
#define CACHE_MAX_PIECE   256                /* longer pieces are merged, not kept */
#define NO_RANK           G_MAXUINT32

/* A1111's comma_padding_backtrack default: a full chunk moves the text after its last
 * comma to the next one when that comma is at most this many tokens back. */
#define COMMA_BACKTRACK 20

typedef struct
{
  guint64 key;    /* left id << 32 | right id */
  guint32 rank;   /* its line among the merges: lower merges first */
  guint32 result; /* the id of both halves' text together */
} Merge;

struct _LoomClipTokenizer
{
  GPtrArray  *tokens;            /* id → text in GPT-2 characters, "</w>" kept */
  GHashTable *ids;               /* text (borrowed from tokens) → id */
  Merge      *merges;            /* n_merges */
  guint       n_merges;
  GHashTable *merge_index;       /* &Merge.key → Merge */
  guint32     byte_ids[256];     /* each byte's character */
  guint32     byte_end_ids[256]; /* the same with "</w>": a word's last symbol */
  guint32     start;
  guint32     end;
  guint32     comma;             /* ",</w>", or G_MAXUINT32: chunks break after it */
  GRegex     *split;             /* CLIP's pre-tokenizer pattern */
  GRegex     *attention;         /* A1111's prompt syntax */
  GRegex     *breaks;            /* A1111's BREAK keyword */

  /* Merged pieces (their bytes → a guint32 count, then the ids). Encoding may run on
   * several threads at once (the UI counts tokens while a job encodes). */
  GMutex      cache_lock;
  GHashTable *cache;
};

/* Files */

/* Reads at most MAX_FILE_BYTES of @path, gunzipped when it starts with gzip's magic.
 * Returns: a NUL-terminated copy of the contents. */
static char *
read_contents (const char  *path,
               gsize       *length,
               GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 magic[2];
  gsize n_magic = 0;
  gboolean gzipped;
  g_autoptr(GError) local_error = NULL;

  stream = G_INPUT_STREAM (g_file_read (file, NULL, error));
  if (stream == NULL)
    {
      g_prefix_error (error, "Cannot read the CLIP vocabulary: ");
      return NULL;
    }
  if (!g_input_stream_read_all (stream, magic, sizeof magic, &n_magic, NULL, error))
    {
      g_prefix_error (error, "Cannot read %s: ", path);
      return NULL;
    }
  gzipped = n_magic == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzipped)
    {
      g_autoptr(GZlibDecompressor) gunzip = NULL;
      g_autoptr(GInputStream) rest = g_steal_pointer (&stream);

      /* The two bytes already read go back in front of the rest. */
      if (!g_seekable_seek (G_SEEKABLE (rest), 0, G_SEEK_SET, NULL, error))
        {
          g_prefix_error (error, "Cannot read %s: ", path);
          return NULL;
        }
      gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      stream = g_converter_input_stream_new (rest, G_CONVERTER (gunzip));
    }
  else
    g_byte_array_append (data, magic, n_magic);

  for (;;)
    {
      guint8 buffer[65536];
      gssize n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, &local_error);

      if (n < 0)
        {
          /* A corrupt or cut gzip stream is a broken file, not a failure to read one. */
          if (gzipped && (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA)
                          || g_error_matches (local_error, G_IO_ERROR,
                                              G_IO_ERROR_PARTIAL_INPUT)))
            g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                         "%s is not a complete gzip file: %s", path, local_error->message);
          else
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              g_prefix_error (error, "Cannot read %s: ", path);
            }
          return NULL;
        }
      if (n == 0)
        break;
      if (data->len + (gsize) n > MAX_FILE_BYTES)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                       "%s is larger than a CLIP vocabulary can be (%u MiB)", path,
                       MAX_FILE_BYTES >> 20);
          return NULL;
        }
      g_byte_array_append (data, buffer, n);
    }
  if (!g_utf8_validate_len ((const char *) data->data, data->len, NULL))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s is not UTF-8 text", path);
      return NULL;
    }
  *length = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
}

/* A line of a merges file: two symbols and one space. */
typedef struct
{
  const char *text;
  gsize       length;
  gsize       space;  /* offset of the space */
  guint       number; /* 1-based line in the file, for errors */
} MergeLine;

/* Appends the merges among @contents' lines from @first_line (0-based) on, at most
 * @max_merges of them; @skip_empty skips blank lines (the trailing newline of HF files). */
static gboolean
parse_merge_lines (const char  *path,
                   const char  *contents,
                   gsize        length,
                   guint        first_line,
                   guint        max_merges,
                   gboolean     skip_empty,
                   GArray      *lines,
                   GError     **error)
{
  const char *end = contents + length;
  guint number = 0;

  for (const char *p = contents; p < end && lines->len < max_merges; number++)
    {
      const char *newline = memchr (p, '\n', end - p);
      const char *line_end = newline != NULL ? newline : end;
      MergeLine line = { p, line_end - p, 0, number + 1 };
      const char *space;

      p = newline != NULL ? newline + 1 : end;
      if (line.length > 0 && line.text[line.length - 1] == '\r')
        line.length--;
      if (number < first_line || (skip_empty && line.length == 0))
        continue;
      space = memchr (line.text, ' ', line.length);
      if (space == NULL || space == line.text || space == line.text + line.length - 1
          || memchr (space + 1, ' ', line.text + line.length - space - 1) != NULL)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                       "%s, line %u: “%.*s” is not a merge (two symbols and a space)",
                       path, line.number, (int) MIN (line.length, 40), line.text);
          return FALSE;
        }
      line.space = space - line.text;
      g_array_append_val (lines, line);
    }
  return TRUE;
}

/* Building the tokenizer */

static LoomClipTokenizer *
tokenizer_new (void)
{
  LoomClipTokenizer *self = g_new0 (LoomClipTokenizer, 1);

  self->tokens = g_ptr_array_new_with_free_func (g_free);
  self->ids = g_hash_table_new (g_str_hash, g_str_equal);
  self->merge_index = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_mutex_init (&self->cache_lock);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

/* Adds @text as the next id. A text already there then finds the new id, as a Python
 * dict built from the list does. */
static void
add_token (LoomClipTokenizer *self,
           char              *text)
{
  g_ptr_array_add (self->tokens, text);
  g_hash_table_insert (self->ids, text, GUINT_TO_POINTER (self->tokens->len - 1));
}

static gboolean
lookup_id (LoomClipTokenizer *self,
           const char        *text,
           guint32           *id)
{
  gpointer value;

  if (!g_hash_table_lookup_extended (self->ids, text, NULL, &value))
    return FALSE;
  *id = GPOINTER_TO_UINT (value);
  return TRUE;
}

static gboolean
lookup_required (LoomClipTokenizer *self,
                 const char        *path,
                 const char        *text,
                 guint32           *id,
                 GError           **error)
{
  if (lookup_id (self, text, id))
    return TRUE;
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
               "%s: the vocabulary has no “%s”", path, text);
  return FALSE;
}

/* Ranks the merges in their order; a pair listed twice keeps its last rank, as
 * CLIP's dict does. */
static gboolean
add_merges (LoomClipTokenizer *self,
            const char        *path,
            GArray            *lines,
            GError           **error)
{
  self->merges = g_new (Merge, lines->len);
  self->n_merges = lines->len;
  for (guint i = 0; i < lines->len; i++)
    {
      const MergeLine *line = &g_array_index (lines, MergeLine, i);
      g_autofree char *left = g_strndup (line->text, line->space);
      g_autofree char *right = g_strndup (line->text + line->space + 1,
                                          line->length - line->space - 1);
      g_autofree char *both = g_strconcat (left, right, NULL);
      guint32 left_id, right_id, result;
      Merge *merge = &self->merges[i];

      if (!lookup_id (self, left, &left_id) || !lookup_id (self, right, &right_id)
          || !lookup_id (self, both, &result))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                       "%s, line %u: the merge “%.*s” is of symbols not in the vocabulary",
                       path, line->number, (int) MIN (line->length, 40), line->text);
          return FALSE;
        }
      merge->key = (guint64) left_id << 32 | right_id;
      merge->rank = i;
      merge->result = result;
      g_hash_table_insert (self->merge_index, &merge->key, merge);
    }
  return TRUE;
}

/* What both loaders share once the vocabulary and merges are in. */
static gboolean
finish (LoomClipTokenizer *self,
        const char        *path,
        GError           **error)
{
  for (guint byte = 0; byte < 256; byte++)
    {
      const char *text = loom_bpe_byte_to_char (byte);
      g_autofree char *end_text = g_strconcat (text, END_OF_WORD, NULL);

      if (!lookup_required (self, path, text, &self->byte_ids[byte], error)
          || !lookup_required (self, path, end_text, &self->byte_end_ids[byte], error))
        return FALSE;
    }
  if (!lookup_required (self, path, START_TEXT, &self->start, error)
      || !lookup_required (self, path, END_TEXT, &self->end, error))
    return FALSE;
  if (!lookup_id (self, "," END_OF_WORD, &self->comma))
    self->comma = G_MAXUINT32;

  /* CLIP's pattern, compiled case-insensitive as CLIP's is. Cleaning left only spaces
   * of its \s (PCRE's \s would also take U+180E, which the regex module does not). */
  self->split = g_regex_new ("<\\|startoftext\\|>|<\\|endoftext\\|>"
                             "|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^ \\p{L}\\p{N}]+",
                             G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, error);
  if (self->split == NULL)
    return FALSE;
  /* A1111's re_attention, alternative for alternative: escapes, brackets, a weight
   * that closes a round bracket, text, and a lone colon. */
  self->attention = g_regex_new ("\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\["
                                 "|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:",
                                 G_REGEX_OPTIMIZE, 0, error);
  if (self->attention == NULL)
    return FALSE;
  self->breaks = g_regex_new ("\\s*\\bBREAK\\b\\s*", G_REGEX_OPTIMIZE, 0, error);
  return self->breaks != NULL;
}

/* The 256 byte symbols in CLIP's order (bytes_to_unicode's: the printable ones, then
 * the others), optionally with "</w>". */
static void
add_byte_tokens (LoomClipTokenizer *self,
                 const char        *suffix)
{
  for (guint pass = 0; pass < 2; pass++)
    for (guint byte = 0; byte < 256; byte++)
      {
        const char *text = loom_bpe_byte_to_char (byte);
        gboolean printable = g_utf8_get_char (text) == byte;  /* spelled as itself */

        if (printable == (pass == 0))
          add_token (self, g_strconcat (text, suffix, NULL));
      }
}

LoomClipTokenizer *
loom_clip_tokenizer_new_from_merges (const char  *merges_path,
                                     GError     **error)
{
  g_autoptr(LoomClipTokenizer) self = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (MergeLine));
  gsize length;

  g_return_val_if_fail (merges_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  contents = read_contents (merges_path, &length, error);
  if (contents == NULL)
    return NULL;
  /* The first line is a version, whatever it says. */
  if (!parse_merge_lines (merges_path, contents, length, 1, CLIP_N_MERGES, FALSE, lines,
                          error))
    return NULL;
  if (lines->len < CLIP_N_MERGES)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s has %u merges; CLIP's vocabulary needs %u", merges_path, lines->len,
                   CLIP_N_MERGES);
      return NULL;
    }

  self = tokenizer_new ();
  add_byte_tokens (self, "");
  add_byte_tokens (self, END_OF_WORD);
  for (guint i = 0; i < lines->len; i++)
    {
      const MergeLine *line = &g_array_index (lines, MergeLine, i);
      char *text = g_malloc (line->length);

      memcpy (text, line->text, line->space);
      memcpy (text + line->space, line->text + line->space + 1,
              line->length - line->space - 1);
      text[line->length - 1] = '\0';
      add_token (self, text);
    }
  add_token (self, g_strdup (START_TEXT));
  add_token (self, g_strdup (END_TEXT));

  if (!add_merges (self, merges_path, lines, error) || !finish (self, merges_path, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* vocab.json: one object of text → id, the ids 0 … n − 1 each once. */
static gboolean
load_vocab_json (LoomClipTokenizer *self,
                 const char        *path,
                 GError           **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GList) members = NULL;
  g_autofree char **texts = NULL;
  JsonNode *root;
  JsonObject *object;
  gsize length;
  guint n;

  contents = read_contents (path, &length, error);
  if (contents == NULL)
    return FALSE;
  if (!json_parser_load_from_data (parser, contents, length, &local_error))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL, "%s is not JSON: %s", path,
                   local_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s is not a vocabulary (a JSON object of tokens to ids)", path);
      return FALSE;
    }
  object = json_node_get_object (root);
  members = json_object_get_members (object);
  n = g_list_length (members);
  texts = g_new0 (char *, n);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (object, l->data);
      gint64 id;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                       "%s: the id of “%s” is not an integer", path, (const char *) l->data);
          return FALSE;
        }
      id = json_node_get_int (node);
      if (id < 0 || id >= n || texts[id] != NULL)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                       "%s: the id %" G_GINT64_FORMAT " of “%s” is %s", path, id,
                       (const char *) l->data,
                       id < 0 || id >= n ? "out of range" : "given twice");
          return FALSE;
        }
      texts[id] = l->data;
    }
  /* n distinct ids below n: every id has its text. */
  for (guint id = 0; id < n; id++)
    add_token (self, g_strdup (texts[id]));
  return TRUE;
}

LoomClipTokenizer *
loom_clip_tokenizer_new_from_files (const char  *vocab_json_path,
                                    const char  *merges_txt_path,
                                    GError     **error)
{
  g_autoptr(LoomClipTokenizer) self = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (MergeLine));
  gsize length;
  guint first_line = 0;

  g_return_val_if_fail (vocab_json_path != NULL, NULL);
  g_return_val_if_fail (merges_txt_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = tokenizer_new ();
  if (!load_vocab_json (self, vocab_json_path, error))
    return NULL;
  contents = read_contents (merges_txt_path, &length, error);
  if (contents == NULL)
    return NULL;
  if (g_str_has_prefix (contents, "#version"))
    first_line = 1;
  if (!parse_merge_lines (merges_txt_path, contents, length, first_line, G_MAXUINT, TRUE,
                          lines, error))
    return NULL;
  if (!add_merges (self, merges_txt_path, lines, error)
      || !finish (self, vocab_json_path, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
loom_clip_tokenizer_free (LoomClipTokenizer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_mutex_clear (&self->cache_lock);
  g_clear_pointer (&self->split, g_regex_unref);
  g_clear_pointer (&self->attention, g_regex_unref);
  g_clear_pointer (&self->breaks, g_regex_unref);
  g_clear_pointer (&self->merge_index, g_hash_table_unref);
  g_free (self->merges);
  g_clear_pointer (&self->ids, g_hash_table_unref);
  g_clear_pointer (&self->tokens, g_ptr_array_unref);
  g_free (self);
}

guint
loom_clip_tokenizer_get_n_vocab (LoomClipTokenizer *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->tokens->len;
}

guint32
loom_clip_tokenizer_get_start (LoomClipTokenizer *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->start;
}

guint32
loom_clip_tokenizer_get_end (LoomClipTokenizer *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->end;
}

/* Cleaning */

/* Unicode's White_Space: the \s of the regex module, whose runs CLIP's
 * whitespace_clean collapses to one space. */
static gboolean
is_white_space (gunichar c)
{
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680
         || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f
         || c == 0x205f || c == 0x3000;
}

/* Python's str.isspace(), which str.strip() strips: White_Space and U+001C–U+001F.
 * Those four stay inside the text, where the pattern reads them as punctuation. */
static gboolean
is_python_space (gunichar c)
{
  return is_white_space (c) || (c >= 0x1c && c <= 0x1f);
}

/* Python's html.unescape for numeric references: Windows-1252 for the C1 range and a
 * few others, U+FFFD for what cannot be a character, nothing for non-characters. */
static void
append_char_reference (GString *out,
                       guint32  code)
{
  static const gunichar windows_1252[32] = {
    0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
    0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
  };

  if (code == 0)
    code = 0xfffd;
  else if (code >= 0x80 && code <= 0x9f)
    code = windows_1252[code - 0x80];
  else if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
    code = 0xfffd;
  else if (code == 0x0d)
    ;
  else if ((code >= 0x01 && code <= 0x08) || code == 0x0b || (code >= 0x0e && code <= 0x1f)
           || code == 0x7f || (code >= 0xfdd0 && code <= 0xfdef)
           || (code & 0xfffe) == 0xfffe)
    return;
  g_string_append_unichar (out, code);
}

/* The named references CLIP's prompts meet, with whether HTML5 also accepts them
 * without the semicolon (its legacy names). */
static const struct
{
  const char *name;
  const char *text;
  gboolean    legacy;
} entities[] = {
  { "amp", "&", TRUE },        { "lt", "<", TRUE },         { "gt", ">", TRUE },
  { "quot", "\"", TRUE },      { "nbsp", "\u00a0", TRUE },  { "copy", "\u00a9", TRUE },
  { "reg", "\u00ae", TRUE },   { "deg", "\u00b0", TRUE },   { "times", "\u00d7", TRUE },
  { "apos", "'", FALSE },      { "hellip", "\u2026", FALSE }, { "ndash", "\u2013", FALSE },
  { "mdash", "\u2014", FALSE }, { "lsquo", "\u2018", FALSE }, { "rsquo", "\u2019", FALSE },
  { "ldquo", "\u201c", FALSE }, { "rdquo", "\u201d", FALSE },
};

static const char *
find_entity (const char *name,
             gsize       length,
             gboolean    semicolon)
{
  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    if ((semicolon || entities[i].legacy) && strlen (entities[i].name) == length
        && memcmp (entities[i].name, name, length) == 0)
      return entities[i].text;
  return NULL;
}

static gboolean
is_entity_name_char (gunichar c)
{
  return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#'
         && c != ';';
}

/* Python's html.unescape, with the named references above: "&#39;", "&#x41", "&amp;",
 * "&ampfoo" (a legacy name as a prefix) as it reads them. */
static char *
html_unescape (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;

  while (*p != '\0')
    {
      const char *amp = strchr (p, '&');
      const char *q;

      if (amp == NULL)
        {
          g_string_append (out, p);
          break;
        }
      g_string_append_len (out, p, amp - p);
      q = amp + 1;
      if (*q == '#')
        {
          gboolean hex = (q[1] == 'x' || q[1] == 'X') && g_ascii_isxdigit (q[2]);
          const char *digits = hex ? q + 2 : q + 1;
          guint32 code = 0;

          if (!hex && !g_ascii_isdigit (*digits))
            {
              g_string_append_c (out, '&');
              p = q;
              continue;
            }
          for (q = digits; hex ? g_ascii_isxdigit (*q) : g_ascii_isdigit (*q); q++)
            {
              /* Past U+10FFFF every number reads as U+FFFD: stop counting there. */
              code = code * (hex ? 16 : 10)
                     + (hex ? g_ascii_xdigit_value (*q) : g_ascii_digit_value (*q));
              code = MIN (code, 0x110000);
            }
          if (*q == ';')
            q++;
          append_char_reference (out, code);
          p = q;
        }
      else
        {
          const char *name = q;
          gboolean semicolon;
          const char *found;
          guint n = 0;

          while (*q != '\0' && n < 32 && is_entity_name_char (g_utf8_get_char (q)))
            {
              q = g_utf8_next_char (q);
              n++;
            }
          semicolon = *q == ';';
          if (n == 0)
            {
              g_string_append_c (out, '&');
              p = name;
              continue;
            }
          found = find_entity (name, q - name, semicolon);
          if (found != NULL)
            {
              g_string_append (out, found);
              p = semicolon ? q + 1 : q;
              continue;
            }
          /* The longest legacy name that starts it, the rest kept as text. */
          p = amp;
          for (const char *prefix_end = g_utf8_prev_char (q); prefix_end > name + 1;
               prefix_end = g_utf8_prev_char (prefix_end))
            if ((found = find_entity (name, prefix_end - name, FALSE)) != NULL)
              {
                g_string_append (out, found);
                p = prefix_end;
                break;
              }
          if (found == NULL)
            {
              g_string_append_c (out, '&');
              p = name;
            }
        }
    }
  return g_string_free (out, FALSE);
}

/* Python's case-ignorable characters (for the final sigma), near enough: marks,
 * formats, modifiers, and the apostrophes and dots inside words. */
static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      break;
    }
  return c == '\'' || c == '.' || c == ':' || c == 0xb7 || c == 0x387 || c == 0x5f4
         || c == 0x2018 || c == 0x2019 || c == 0x2024 || c == 0x2027 || c == 0xfe13
         || c == 0xfe52 || c == 0xfe55 || c == 0xff07 || c == 0xff0e || c == 0xff1a;
}

static gboolean
is_cased (gunichar c)
{
  GUnicodeType type = g_unichar_type (c);

  return type == G_UNICODE_UPPERCASE_LETTER || type == G_UNICODE_LOWERCASE_LETTER
         || type == G_UNICODE_TITLECASE_LETTER || (c >= 0x2160 && c <= 0x217f)
         || (c >= 0x24b6 && c <= 0x24e9);
}

/* Python lower-cases Σ at @at in [@start, @end) to ς only after a cased letter and not
 * before one (case-ignorable characters between skipped); GLib also makes a lone Σ ς. */
static gunichar
lower_sigma (const char *start,
             const char *end,
             const char *at)
{
  const char *p = at;
  gunichar c = 0;

  while (p > start)
    {
      p = g_utf8_prev_char (p);
      c = g_utf8_get_char (p);
      if (!is_case_ignorable (c))
        break;
    }
  if (p == at || is_case_ignorable (c) || !is_cased (c))
    return 0x3c3;
  for (p = g_utf8_next_char (at); p < end; p = g_utf8_next_char (p))
    {
      c = g_utf8_get_char (p);
      if (!is_case_ignorable (c))
        return is_cased (c) ? 0x3c3 : 0x3c2;
    }
  return 0x3c2;
}

/* CLIP's basic_clean, whitespace_clean and lower(): the text its pattern splits. */
static char *
clean_text (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  /* ftfy's default normalization, which CLIP's text went through. */
  g_autofree char *normal = g_utf8_normalize (valid, -1, G_NORMALIZE_NFC);
  g_autofree char *once = html_unescape (normal);
  g_autofree char *twice = html_unescape (once);
  g_autoptr(GString) collapsed = g_string_sized_new (strlen (twice));
  const char *start = twice;
  const char *end = twice + strlen (twice);
  gboolean space = FALSE;

  while (start < end && is_python_space (g_utf8_get_char (start)))
    start = g_utf8_next_char (start);
  while (end > start && is_python_space (g_utf8_get_char (g_utf8_prev_char (end))))
    end = g_utf8_prev_char (end);
  for (const char *p = start; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_white_space (c))
        {
          space = TRUE;
          continue;
        }
      if (space)
        g_string_append_c (collapsed, ' ');
      space = FALSE;
      /* Python lower-cases these (Roman numerals, circled letters), GLib does not:
       * they are not letters. */
      if (c >= 0x2160 && c <= 0x216f)
        c += 0x10;
      else if (c >= 0x24b6 && c <= 0x24cf)
        c += 0x1a;
      else if (c == 0x3a3)
        c = lower_sigma (start, end, p);
      g_string_append_unichar (collapsed, c);
    }
  return g_utf8_strdown (collapsed->str, collapsed->len);
}

/* Encoding */

static const Merge *
find_merge (LoomClipTokenizer *self,
            guint32            left,
            guint32            right)
{
  guint64 key = (guint64) left << 32 | right;

  return g_hash_table_lookup (self->merge_index, &key);
}

static guint32
pair_rank (LoomClipTokenizer *self,
           guint32            left,
           guint32            right)
{
  const Merge *merge = find_merge (self, left, right);

  return merge != NULL ? merge->rank : NO_RANK;
}

/* CLIP's bpe(): the lowest-ranked pair is merged wherever it occurs, left to right,
 * until no neighbours have a merge. The ranks of pairs no merge touched are kept, so a
 * long piece costs one scan per merge, not one lookup per pair per merge.
 * Returns: a new array: the count, then the ids. */
static guint32 *
merge_piece (LoomClipTokenizer *self,
             const guint8      *bytes,
             gsize              length)
{
  guint32 *result = g_new (guint32, length + 1);
  guint32 *symbols = result + 1;
  g_autofree guint32 *ranks = g_new (guint32, length);  /* of (i, i + 1) */
  g_autofree gboolean *merged = g_new (gboolean, length);
  gsize n = length;

  for (gsize i = 0; i < n; i++)
    symbols[i] = i + 1 < n ? self->byte_ids[bytes[i]] : self->byte_end_ids[bytes[i]];
  for (gsize i = 0; i + 1 < n; i++)
    ranks[i] = pair_rank (self, symbols[i], symbols[i + 1]);

  while (n > 1)
    {
      gsize best = 0, out = 0;
      guint32 left, right, into;

      for (gsize i = 1; i + 1 < n; i++)
        if (ranks[i] < ranks[best])
          best = i;
      if (ranks[best] == NO_RANK)
        break;
      left = symbols[best];
      right = symbols[best + 1];
      into = find_merge (self, left, right)->result;

      for (gsize i = 0; i < n; out++)
        {
          if (i + 1 < n && symbols[i] == left && symbols[i + 1] == right)
            {
              symbols[out] = into;
              merged[out] = TRUE;
              i += 2;
            }
          else
            {
              symbols[out] = symbols[i];
              ranks[out] = ranks[i];  /* out ≤ i: read before it is overwritten */
              merged[out] = FALSE;
              i++;
            }
        }
      n = out;
      for (gsize i = 0; i + 1 < n; i++)
        if (merged[i] || merged[i + 1])
          ranks[i] = pair_rank (self, symbols[i], symbols[i + 1]);
    }
  result[0] = n;
  return result;
}

static void
encode_piece (LoomClipTokenizer *self,
              const char        *piece,
              gsize              length,
              GArray            *out)
{
  g_autofree char *key = g_strndup (piece, length);
  guint32 *word;

  if (strcmp (key, START_TEXT) == 0)
    {
      g_array_append_val (out, self->start);
      return;
    }
  if (strcmp (key, END_TEXT) == 0)
    {
      g_array_append_val (out, self->end);
      return;
    }

  g_mutex_lock (&self->cache_lock);
  word = g_hash_table_lookup (self->cache, key);
  if (word != NULL)
    g_array_append_vals (out, word + 1, word[0]);
  g_mutex_unlock (&self->cache_lock);
  if (word != NULL)
    return;

  word = merge_piece (self, (const guint8 *) piece, length);
  g_array_append_vals (out, word + 1, word[0]);
  if (length > CACHE_MAX_PIECE)
    {
      g_free (word);
      return;
    }
  g_mutex_lock (&self->cache_lock);
  if (g_hash_table_size (self->cache) >= CACHE_MAX_ENTRIES)
    g_hash_table_remove_all (self->cache);
  g_hash_table_replace (self->cache, g_steal_pointer (&key), word);
  g_mutex_unlock (&self->cache_lock);
}

static void
encode_into (LoomClipTokenizer *self,
             const char        *text,
             GArray            *out)
{
  g_autofree char *clean = clean_text (text);
  g_autoptr(GMatchInfo) match = NULL;

  g_regex_match (self->split, clean, 0, &match);
  while (g_match_info_matches (match))
    {
      int start, end;

      g_match_info_fetch_pos (match, 0, &start, &end);
      encode_piece (self, clean + start, end - start, out);
      g_match_info_next (match, NULL);
    }
}

GArray *
loom_clip_tokenizer_encode (LoomClipTokenizer *self,
                            const char        *text)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint32));

  g_return_val_if_fail (self != NULL, out);
  g_return_val_if_fail (text != NULL, out);

  encode_into (self, text, out);
  return out;
}

char *
loom_clip_tokenizer_decode (LoomClipTokenizer *self,
                            const guint32     *tokens,
                            guint              n_tokens)
{
  g_autoptr(GString) bytes = g_string_new (NULL);
  const char *p;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (tokens != NULL || n_tokens == 0, NULL);

  /* As CLIP: the characters back to bytes, then "</w>" to a space. Ids past the
   * vocabulary are skipped. */
  for (guint i = 0; i < n_tokens; i++)
    {
      if (tokens[i] >= self->tokens->len)
        continue;
      for (p = g_ptr_array_index (self->tokens, tokens[i]); *p != '\0';
           p = g_utf8_next_char (p))
        {
          gint byte = loom_bpe_char_to_byte (g_utf8_get_char (p));

          if (byte >= 0)
            g_string_append_c (bytes, (char) byte);
          else
            g_string_append_len (bytes, p, g_utf8_next_char (p) - p);
        }
    }
  g_string_replace (bytes, END_OF_WORD, " ", 0);
  return g_utf8_make_valid (bytes->str, bytes->len);
}

/* Prompts */

/* One run of text of one weight, or a BREAK. */
typedef struct
{
  char     *text;
  double    weight;
  gboolean  is_break;
} Fragment;

static void
fragment_clear (gpointer data)
{
  g_free (((Fragment *) data)->text);
}

static void
add_fragment (GArray     *fragments,
              const char *text,
              gsize       length,
              gboolean    is_break)
{
  Fragment fragment = { g_strndup (text, length), 1.0, is_break };

  g_array_append_val (fragments, fragment);
}

static void
multiply_range (GArray *fragments,
                guint   from,
                double  multiplier)
{
  for (guint i = from; i < fragments->len; i++)
    g_array_index (fragments, Fragment, i).weight *= multiplier;
}

/* Text outside brackets' syntax, split at BREAK. */
static void
add_text (LoomClipTokenizer *self,
          GArray            *fragments,
          const char        *text)
{
  g_autoptr(GMatchInfo) match = NULL;
  int from = 0;

  g_regex_match (self->breaks, text, 0, &match);
  while (g_match_info_matches (match))
    {
      int start, end;

      g_match_info_fetch_pos (match, 0, &start, &end);
      add_fragment (fragments, text + from, start - from, FALSE);
      add_fragment (fragments, "", 0, TRUE);
      from = end;
      g_match_info_next (match, NULL);
    }
  add_fragment (fragments, text + from, strlen (text + from), FALSE);
}

/* A1111's parse_prompt_attention: runs of text with their weights, in double as
 * Python computes them so that equal runs merge as they do there. A1111 marks a BREAK
 * as the text "BREAK" of weight −1, which brackets around it then multiply, so that
 * "(a BREAK b)" tokenizes "break" with weight −1.1 instead; here a BREAK is a BREAK
 * wherever it is. */
static GArray *
parse_attention (LoomClipTokenizer  *self,
                 const char         *prompt,
                 GError            **error)
{
  g_autoptr(GArray) fragments = g_array_new (FALSE, FALSE, sizeof (Fragment));
  g_autoptr(GArray) round = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) square = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GMatchInfo) match = NULL;
  const double round_multiplier = 1.1;
  const double square_multiplier = 1 / 1.1;

  g_array_set_clear_func (fragments, fragment_clear);
  g_regex_match (self->attention, prompt, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *text = g_match_info_fetch (match, 0);
      g_autofree char *weight = g_match_info_fetch (match, 1);
      guint position = fragments->len;

      if (weight != NULL && *weight == '\0')
        g_clear_pointer (&weight, g_free);

      if (text[0] == '\\')
        add_fragment (fragments, text + 1, strlen (text + 1), FALSE);
      else if (strcmp (text, "(") == 0)
        g_array_append_val (round, position);
      else if (strcmp (text, "[") == 0)
        g_array_append_val (square, position);
      else if (weight != NULL && round->len > 0)
        {
          char *end = NULL;
          double value = g_ascii_strtod (weight, &end);

          /* Python's float() refuses "1.2.3" or "."; A1111 then fails the prompt. */
          if (end == weight || *end != '\0')
            {
              g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                           "“%s” in the prompt is not a weight", weight);
              return NULL;
            }
          multiply_range (fragments, g_array_index (round, guint, round->len - 1), value);
          g_array_set_size (round, round->len - 1);
        }
      else if (strcmp (text, ")") == 0 && round->len > 0)
        {
          multiply_range (fragments, g_array_index (round, guint, round->len - 1),
                          round_multiplier);
          g_array_set_size (round, round->len - 1);
        }
      else if (strcmp (text, "]") == 0 && square->len > 0)
        {
          multiply_range (fragments, g_array_index (square, guint, square->len - 1),
                          square_multiplier);
          g_array_set_size (square, square->len - 1);
        }
      else
        add_text (self, fragments, text);
      g_match_info_next (match, NULL);
    }

  /* Brackets left open close at the end. */
  for (guint i = 0; i < round->len; i++)
    multiply_range (fragments, g_array_index (round, guint, i), round_multiplier);
  for (guint i = 0; i < square->len; i++)
    multiply_range (fragments, g_array_index (square, guint, i), square_multiplier);

  if (fragments->len == 0)
    add_fragment (fragments, "", 0, FALSE);
  for (guint i = 0; i + 1 < fragments->len;)
    {
      Fragment *a = &g_array_index (fragments, Fragment, i);
      Fragment *b = &g_array_index (fragments, Fragment, i + 1);

      if (a->weight == b->weight && !a->is_break && !b->is_break)
        {
          char *joined = g_strconcat (a->text, b->text, NULL);

          g_free (a->text);
          a->text = joined;
          g_array_remove_index (fragments, i + 1);
        }
      else
        i++;
    }
  return g_steal_pointer (&fragments);
}

/* The chunk being filled, and the finished ones. */
typedef struct
{
  guint32  tokens[LOOM_CLIP_CHUNK_TOKENS];
  float    weights[LOOM_CLIP_CHUNK_TOKENS];
  guint    length;
  gint     last_comma;  /* index in tokens, or −1 */
  GArray  *all_tokens;  /* guint32, LOOM_CLIP_CONTEXT per chunk */
  GArray  *all_weights; /* float */
  guint32  start;
  guint32  end;
  guint32  pad;
} Chunker;

/* Start, the tokens, end, then padding: A1111 pads with the end token and then, where
 * the model's padding differs, overwrites everything after the first end. */
static void
append_chunk (GArray        *all_tokens,
              GArray        *all_weights,
              const guint32 *tokens,
              const float   *weights,
              guint          length,
              guint32        start,
              guint32        end,
              guint32        pad)
{
  const float one = 1.0f;

  g_array_append_val (all_tokens, start);
  g_array_append_val (all_weights, one);
  g_array_append_vals (all_tokens, tokens, length);
  g_array_append_vals (all_weights, weights, length);
  g_array_append_val (all_tokens, end);
  g_array_append_val (all_weights, one);
  for (guint i = length + 2; i < LOOM_CLIP_CONTEXT; i++)
    {
      g_array_append_val (all_tokens, pad);
      g_array_append_val (all_weights, one);
    }
}

static void
next_chunk (Chunker *chunker)
{
  append_chunk (chunker->all_tokens, chunker->all_weights, chunker->tokens, chunker->weights,
                chunker->length, chunker->start, chunker->end, chunker->pad);
  chunker->length = 0;
  chunker->last_comma = -1;
}

LoomClipPrompt *
loom_clip_prompt_parse (LoomClipTokenizer  *tokenizer,
                        const char         *prompt,
                        guint32             pad_token,
                        GError            **error)
{
  g_autoptr(GArray) fragments = NULL;
  g_autoptr(GArray) tokens = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) all_tokens = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) all_weights = g_array_new (FALSE, FALSE, sizeof (float));
  Chunker chunker = { .last_comma = -1, .all_tokens = all_tokens, .all_weights = all_weights,
                      .start = tokenizer->start, .end = tokenizer->end, .pad = pad_token };
  LoomClipPrompt *self;
  guint n_prompt_tokens = 0;

  g_return_val_if_fail (tokenizer != NULL, NULL);
  g_return_val_if_fail (prompt != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_utf8_validate (prompt, -1, NULL))
    {
      g_set_error_literal (error, LOOM_ERROR, LOOM_ERROR_FAILED, "The prompt is not UTF-8");
      return NULL;
    }
  fragments = parse_attention (tokenizer, prompt, error);
  if (fragments == NULL)
    return NULL;

  /* A1111's tokenize_line: each run is tokenized alone; a full chunk moves what
   * follows a recent comma to the next chunk. */
  for (guint f = 0; f < fragments->len; f++)
    {
      const Fragment *fragment = &g_array_index (fragments, Fragment, f);
      float weight = (float) fragment->weight;

      if (fragment->is_break)
        {
          next_chunk (&chunker);
          continue;
        }
      g_array_set_size (tokens, 0);
      encode_into (tokenizer, fragment->text, tokens);
      n_prompt_tokens += tokens->len;
      for (guint i = 0; i < tokens->len; i++)
        {
          guint32 token = g_array_index (tokens, guint32, i);

          if (token == tokenizer->comma)
            chunker.last_comma = chunker.length;
          else if (chunker.length == LOOM_CLIP_CHUNK_TOKENS && chunker.last_comma != -1
                   && chunker.length - chunker.last_comma <= COMMA_BACKTRACK)
            {
              guint at = chunker.last_comma + 1;
              guint n_moved = chunker.length - at;
              guint32 moved_tokens[LOOM_CLIP_CHUNK_TOKENS];
              float moved_weights[LOOM_CLIP_CHUNK_TOKENS];

              memcpy (moved_tokens, chunker.tokens + at, n_moved * sizeof (guint32));
              memcpy (moved_weights, chunker.weights + at, n_moved * sizeof (float));
              chunker.length = at;
              next_chunk (&chunker);
              memcpy (chunker.tokens, moved_tokens, n_moved * sizeof (guint32));
              memcpy (chunker.weights, moved_weights, n_moved * sizeof (float));
              chunker.length = n_moved;
            }
          if (chunker.length == LOOM_CLIP_CHUNK_TOKENS)
            next_chunk (&chunker);
          chunker.tokens[chunker.length] = token;
          chunker.weights[chunker.length] = weight;
          chunker.length++;
        }
    }
  if (chunker.length > 0 || all_tokens->len == 0)
    next_chunk (&chunker);

  self = g_new0 (LoomClipPrompt, 1);
  self->n_chunks = all_tokens->len / LOOM_CLIP_CONTEXT;
  self->n_prompt_tokens = n_prompt_tokens;
  self->tokens = (guint32 *) g_array_free (g_steal_pointer (&all_tokens), FALSE);
  self->weights = (float *) g_array_free (g_steal_pointer (&all_weights), FALSE);
  return self;
}

void
loom_clip_prompt_pad_to (LoomClipPrompt    *self,
                         LoomClipTokenizer *tokenizer,
                         guint32            pad_token,
                         guint              n_chunks)
{
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(GArray) weights = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (tokenizer != NULL);

  if (n_chunks <= self->n_chunks)
    return;
  tokens = g_array_new (FALSE, FALSE, sizeof (guint32));
  weights = g_array_new (FALSE, FALSE, sizeof (float));
  g_array_append_vals (tokens, self->tokens, self->n_chunks * LOOM_CLIP_CONTEXT);
  g_array_append_vals (weights, self->weights, self->n_chunks * LOOM_CLIP_CONTEXT);
  for (guint i = self->n_chunks; i < n_chunks; i++)
    append_chunk (tokens, weights, NULL, NULL, 0, tokenizer->start, tokenizer->end,
                  pad_token);
  g_free (self->tokens);
  g_free (self->weights);
  self->n_chunks = n_chunks;
  self->tokens = (guint32 *) g_array_free (g_steal_pointer (&tokens), FALSE);
  self->weights = (float *) g_array_free (g_steal_pointer (&weights), FALSE);
}

void
loom_clip_prompt_free (LoomClipPrompt *self)
{
  if (self == NULL)
    return;
  g_free (self->tokens);
  g_free (self->weights);
  g_free (self);
}

void
loom_clip_prompt_apply_weights (const LoomClipPrompt *self,
                                float                *hidden,
                                guint                 dim)
{
  gsize chunk_values = (gsize) LOOM_CLIP_CONTEXT * dim;

  g_return_if_fail (self != NULL);
  g_return_if_fail (hidden != NULL || dim == 0);

  /* A1111 encodes a chunk at a time and rescales each pass's output on its own. */
  for (guint c = 0; c < self->n_chunks; c++)
    {
      float *chunk = hidden + c * chunk_values;
      const float *weights = self->weights + c * LOOM_CLIP_CONTEXT;
      double before = 0, after = 0;
      float scale;

      for (gsize i = 0; i < chunk_values; i++)
        before += chunk[i];
      for (guint t = 0; t < LOOM_CLIP_CONTEXT; t++)
        for (guint d = 0; d < dim; d++)
          {
            chunk[(gsize) t * dim + d] *= weights[t];
            after += chunk[(gsize) t * dim + d];
          }
      /* A zero mean cannot be restored (A1111 would divide by it): leave it weighted. */
      if (after == 0 || before == 0)
        continue;
      scale = (float) (before / after);
      for (gsize i = 0; i < chunk_values; i++)
        chunk[i] *= scale;
    }
}
