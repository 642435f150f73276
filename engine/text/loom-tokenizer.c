/* loom-tokenizer.c — the vocabulary from a GGUF file, special-token partitioning, pieces
 * and the streaming detokenizer.
 *
 * Loading follows llama.cpp's llama_vocab::load (src/llama-vocab.cpp) where it decides
 * behaviour: the defaults of each model, which tokens end generation, which tokens the
 * text is split on before tokenizing, and what each token decodes to. Unlike llama.cpp it
 * refuses an inconsistent file instead of patching it up. The models themselves are in
 * loom-tokenizer-spm.c and loom-tokenizer-bpe.c.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "loom-error.h"
#include "loom-tokenizer-private.h"

#define KEY_MODEL            "tokenizer.ggml.model"
#define KEY_PRE              "tokenizer.ggml.pre"
#define KEY_TOKENS           "tokenizer.ggml.tokens"
#define KEY_SCORES           "tokenizer.ggml.scores"
#define KEY_TOKEN_TYPE       "tokenizer.ggml.token_type"
#define KEY_MERGES           "tokenizer.ggml.merges"
#define KEY_ADD_BOS          "tokenizer.ggml.add_bos_token"
#define KEY_ADD_SPACE_PREFIX "tokenizer.ggml.add_space_prefix"

/* Far beyond any real vocabulary (Llama 3 has 128 256 tokens and 280 147 merges), and
 * small enough that the tables' sizes cannot overflow. */
#define MAX_ENTRIES (1u << 28)

/* Byte-level BPE pre-tokenizers by tokenizer.ggml.pre, with what llama.cpp sets for each. */
static const struct
{
  const char      *name;
  LoomPreTokenizer kind;
  gboolean         ignore_merges;
  gboolean         add_bos;
} pre_tokenizers[] = {
  { "default", LOOM_PRE_DEFAULT, FALSE, FALSE },
  { "gpt-2", LOOM_PRE_GPT2, FALSE, FALSE },
  { "phi-2", LOOM_PRE_GPT2, FALSE, FALSE },
  { "llama3", LOOM_PRE_LLAMA3, TRUE, TRUE },
  { "llama-v3", LOOM_PRE_LLAMA3, TRUE, TRUE },
  { "llama-bpe", LOOM_PRE_LLAMA3, TRUE, TRUE },
  { "qwen2", LOOM_PRE_QWEN2, FALSE, FALSE },
  { "deepseek-r1-qwen", LOOM_PRE_QWEN2, FALSE, FALSE },
};

/* Tokens that end generation wherever they appear, found by their text (llama.cpp's
 * list, less the workarounds for single models). */
static const char *const eog_texts[] = {
  "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>",
  "<|eom_id|>", "<EOT>", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
};

G_GNUC_PRINTF (4, 5)
static gboolean
fail (GError    **error,
      LoomGguf   *gguf,
      LoomError   code,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LOOM_ERROR, code, "%s: %s", loom_gguf_get_name (gguf), message);
  return FALSE;
}

static guint32
hash_text (const char *text,
           gsize       length)
{
  guint32 hash = 2166136261u; /* FNV-1a, then a final mix for the low bits */

  for (gsize i = 0; i < length; i++)
    hash = (hash ^ (guint8) text[i]) * 16777619u;
  hash ^= hash >> 16;
  hash *= 0x7feb352du;
  hash ^= hash >> 15;
  return hash;
}

static guint32
hash_pair (guint64 key)
{
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return (guint32) key;
}

static guint32
table_mask (guint n)
{
  guint64 size = 16;

  /* At most half full, so that probes stay short. */
  while (size < (guint64) n * 2)
    size <<= 1;
  return (guint32) (size - 1);
}

gint32
loom_tokenizer_lookup (LoomTokenizer *self,
                       const char    *text,
                       gsize          length)
{
  for (guint32 i = hash_text (text, length) & self->index_mask;; i = (i + 1) & self->index_mask)
    {
      guint32 slot = self->index[i];
      const LoomTokenData *token;

      if (slot == 0)
        return -1;
      token = &self->tokens[slot - 1];
      if (token->text_length == length
          && memcmp (self->strings + token->text_offset, text, length) == 0)
        return (gint32) slot - 1;
    }
}

gboolean
loom_tokenizer_find_merge (LoomTokenizer *self,
                           gint32         left,
                           gint32         right,
                           guint32       *rank,
                           gint32        *result)
{
  guint64 key;

  if (left < 0 || right < 0 || self->merges == NULL)
    return FALSE;
  key = ((guint64) left << 32) | (guint32) right;
  for (guint32 i = hash_pair (key) & self->merges_mask;; i = (i + 1) & self->merges_mask)
    {
      const LoomMergeEntry *entry = &self->merges[i];

      if (entry->key == G_MAXUINT64)
        return FALSE;
      if (entry->key == key)
        {
          *rank = entry->rank;
          *result = entry->result;
          return TRUE;
        }
    }
}

void
loom_merge_queue_push (GArray                   *queue,
                       const LoomMergeCandidate *candidate)
{
  LoomMergeCandidate *heap;
  guint i;

  g_array_set_size (queue, queue->len + 1);
  heap = (LoomMergeCandidate *) queue->data;
  for (i = queue->len - 1; i > 0; i = (i - 1) / 2)
    {
      guint parent = (i - 1) / 2;
      if (heap[parent].key <= candidate->key)
        break;
      heap[i] = heap[parent];
    }
  heap[i] = *candidate;
}

gboolean
loom_merge_queue_pop (GArray             *queue,
                      LoomMergeCandidate *candidate)
{
  LoomMergeCandidate *heap = (LoomMergeCandidate *) queue->data;
  LoomMergeCandidate last;
  guint n, i = 0;

  if (queue->len == 0)
    return FALSE;

  *candidate = heap[0];
  n = queue->len - 1;
  last = heap[n];
  g_array_set_size (queue, n);

  while (2 * i + 1 < n)
    {
      guint child = 2 * i + 1;
      if (child + 1 < n && heap[child + 1].key < heap[child].key)
        child++;
      if (heap[child].key >= last.key)
        break;
      heap[i] = heap[child];
      i = child;
    }
  if (n > 0)
    heap[i] = last;
  return TRUE;
}

static const char *
token_text (LoomTokenizer *self,
            guint32        token)
{
  return self->strings + self->tokens[token].text_offset;
}

/* An integer token id key. Absent leaves *id alone; -1, also as an unsigned 32-bit
 * number (what some converters write for “none”), clears it. */
static gboolean
read_token_id (LoomTokenizer *self,
               LoomGguf      *gguf,
               const char    *key,
               gint32        *id,
               GError       **error)
{
  gint64 value;

  if (loom_gguf_get_key_type (gguf, key) == LOOM_GGUF_INVALID)
    return TRUE;
  if (!loom_gguf_get_int (gguf, key, &value))
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s is not an integer", key);
  if (value == -1 || value == G_MAXUINT32)
    {
      *id = -1;
      return TRUE;
    }
  if (value < 0 || value >= self->n_vocab)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                 "%s is %" G_GINT64_FORMAT ", outside the vocabulary of %u tokens", key, value,
                 self->n_vocab);
  *id = (gint32) value;
  return TRUE;
}

static gboolean
read_bool (LoomGguf   *gguf,
           const char *key,
           gboolean   *value,
           GError    **error)
{
  LoomGgufType type = loom_gguf_get_key_type (gguf, key);

  if (type == LOOM_GGUF_INVALID)
    return TRUE;
  if (type != LOOM_GGUF_BOOL || !loom_gguf_get_bool (gguf, key, value))
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s is not a boolean", key);
  return TRUE;
}

/* An array key that must be present with @n elements of one of the types given (as a
 * -1-terminated list). */
static gboolean
read_array (LoomGguf      *gguf,
            const char    *key,
            guint64        n,
            LoomGgufArray *array,
            GError       **error,
            ...)
{
  va_list args;
  gboolean type_ok = FALSE;
  int type;

  if (!loom_gguf_get_array (gguf, key, array))
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s is missing or not an array", key);

  va_start (args, error);
  while ((type = va_arg (args, int)) != -1)
    type_ok = type_ok || array->type == (LoomGgufType) type;
  va_end (args);

  if (!type_ok)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s has elements of the wrong type",
                 key);
  if (n != 0 && array->n != n)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                 "%s has %" G_GUINT64_FORMAT " elements for %" G_GUINT64_FORMAT " tokens", key,
                 array->n, n);
  return TRUE;
}

static gboolean
read_model (LoomTokenizer *self,
            LoomGguf      *gguf,
            GError       **error)
{
  const char *model;
  const char *pre;

  if (loom_gguf_get_key_type (gguf, KEY_MODEL) != LOOM_GGUF_STRING)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "no tokenizer (%s)", KEY_MODEL);
  model = loom_gguf_get_string (gguf, KEY_MODEL);

  if (g_strcmp0 (model, "llama") == 0)
    {
      /* SentencePiece has no pre-tokenizer: llama.cpp ignores tokenizer.ggml.pre here. */
      self->kind = LOOM_TOKENIZER_SPM;
      self->add_bos = TRUE;
      self->add_space_prefix = TRUE;
    }
  else if (g_strcmp0 (model, "gpt2") == 0)
    {
      guint i;

      self->kind = LOOM_TOKENIZER_BPE;
      pre = loom_gguf_get_string (gguf, KEY_PRE);
      if (loom_gguf_get_key_type (gguf, KEY_PRE) == LOOM_GGUF_INVALID)
        pre = "default";
      else if (pre == NULL)
        return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s is not a string", KEY_PRE);

      for (i = 0; i < G_N_ELEMENTS (pre_tokenizers); i++)
        if (strcmp (pre, pre_tokenizers[i].name) == 0)
          break;
      if (i == G_N_ELEMENTS (pre_tokenizers))
        return fail (error, gguf, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "the pre-tokenizer “%s” is not supported", pre);
      self->pre = g_strdup (pre);
      self->pre_kind = pre_tokenizers[i].kind;
      self->ignore_merges = pre_tokenizers[i].ignore_merges;
      self->add_bos = pre_tokenizers[i].add_bos;
    }
  else
    return fail (error, gguf, LOOM_ERROR_UNSUPPORTED_MODEL,
                 "the tokenizer model “%s” is not supported", model);

  self->model = g_strdup (model);
  return TRUE;
}

static gboolean
is_byte_token_text (const char *text,
                    gsize       length)
{
  return length == 6 && strncmp (text, "<0x", 3) == 0 && g_ascii_isxdigit (text[3])
         && g_ascii_isxdigit (text[4]) && text[5] == '>';
}

static gboolean
read_tokens (LoomTokenizer *self,
             LoomGguf      *gguf,
             GError       **error)
{
  LoomGgufArray tokens, scores, types;
  gboolean have_scores, have_types;
  gsize total = 0;

  if (!read_array (gguf, KEY_TOKENS, 0, &tokens, error, LOOM_GGUF_STRING, -1))
    return FALSE;
  if (tokens.n == 0 || tokens.n > MAX_ENTRIES)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                 "%s has %" G_GUINT64_FORMAT " tokens", KEY_TOKENS, tokens.n);
  self->n_vocab = (guint) tokens.n;

  have_scores = loom_gguf_get_key_type (gguf, KEY_SCORES) != LOOM_GGUF_INVALID;
  if (have_scores && !read_array (gguf, KEY_SCORES, tokens.n, &scores, error,
                                  LOOM_GGUF_FLOAT32, LOOM_GGUF_INT32, -1))
    return FALSE;
  have_types = loom_gguf_get_key_type (gguf, KEY_TOKEN_TYPE) != LOOM_GGUF_INVALID;
  if (have_types && !read_array (gguf, KEY_TOKEN_TYPE, tokens.n, &types, error,
                                 LOOM_GGUF_INT32, -1))
    return FALSE;

  for (guint i = 0; i < self->n_vocab; i++)
    {
      gsize length;
      loom_gguf_array_get_string (&tokens, i, &length);
      total += length + 1;
      if (total > G_MAXUINT32)
        return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "the token texts are too long");
    }

  self->tokens = g_new0 (LoomTokenData, self->n_vocab);
  self->strings = g_malloc (total);
  self->index_mask = table_mask (self->n_vocab);
  self->index = g_new0 (guint32, (gsize) self->index_mask + 1);
  total = 0;

  for (guint i = 0; i < self->n_vocab; i++)
    {
      LoomTokenData *token = &self->tokens[i];
      gsize length;
      const char *text = loom_gguf_array_get_string (&tokens, i, &length);
      gint64 type = have_types ? loom_gguf_array_get_int (&types, i) : LOOM_TOKEN_NORMAL;
      double score = 0;

      memcpy (self->strings + total, text, length);
      self->strings[total + length] = '\0';
      token->text_offset = (guint32) total;
      token->text_length = (guint32) length;
      total += length + 1;

      if (have_scores)
        score = scores.type == LOOM_GGUF_FLOAT32 ? loom_gguf_array_get_float (&scores, i)
                                                 : (double) loom_gguf_array_get_int (&scores, i);
      if (isnan (score))
        return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "token %u has no score", i);
      /* 0.0 and -0.0 must rank alike. */
      token->score = score == 0 ? 0.0f : (float) score;

      if (type < LOOM_TOKEN_UNDEFINED || type > LOOM_TOKEN_BYTE)
        return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                     "token %u has the unknown type %" G_GINT64_FORMAT, i, type);
      token->type = (guint8) type;
      token->attr = type == LOOM_TOKEN_UNDEFINED ? 0 : 1 << (type - 1);
      if (type == LOOM_TOKEN_BYTE && !is_byte_token_text (text, length))
        return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                     "byte token %u is not spelled <0xXX>", i);

      /* An empty token can never be matched; llama.cpp renames it, we leave it out. */
      if (length == 0)
        continue;

      for (guint32 j = hash_text (text, length) & self->index_mask;;
           j = (j + 1) & self->index_mask)
        {
          guint32 slot = self->index[j];
          if (slot == 0)
            {
              self->index[j] = i + 1;
              break;
            }
          if (self->tokens[slot - 1].text_length == length
              && memcmp (token_text (self, slot - 1), text, length) == 0)
            return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                         "tokens %u and %u have the same text", slot - 1, i);
        }
    }

  return TRUE;
}

static gboolean
read_merges (LoomTokenizer *self,
             LoomGguf      *gguf,
             GError       **error)
{
  LoomGgufArray merges;
  g_autoptr(GString) joined = g_string_new (NULL);

  if (!read_array (gguf, KEY_MERGES, 0, &merges, error, LOOM_GGUF_STRING, -1))
    return FALSE;
  if (merges.n > MAX_ENTRIES)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s is too long", KEY_MERGES);

  self->merges_mask = table_mask ((guint) merges.n);
  self->merges = g_new (LoomMergeEntry, (gsize) self->merges_mask + 1);
  memset (self->merges, 0xff, ((gsize) self->merges_mask + 1) * sizeof (LoomMergeEntry));

  for (guint32 rank = 0; rank < merges.n; rank++)
    {
      gsize length;
      const char *merge = loom_gguf_array_get_string (&merges, rank, &length);
      /* As llama.cpp splits it: at the first space after the first byte. */
      const char *space = length > 1 ? memchr (merge + 1, ' ', length - 1) : NULL;
      gint32 left, right;
      guint64 key;
      guint32 i;

      if (space == NULL)
        return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "merge %u has no space in it", rank);
      left = loom_tokenizer_lookup (self, merge, space - merge);
      right = loom_tokenizer_lookup (self, space + 1, length - (space + 1 - merge));
      if (left < 0 || right < 0)
        {
          g_autofree char *text = g_strndup (merge, length);
          return fail (error, gguf, LOOM_ERROR_INVALID_MODEL,
                       "merge %u (“%s”) names a token the vocabulary lacks", rank, text);
        }

      key = ((guint64) left << 32) | (guint32) right;
      i = hash_pair (key) & self->merges_mask;
      while (self->merges[i].key != G_MAXUINT64 && self->merges[i].key != key)
        i = (i + 1) & self->merges_mask;
      /* A repeated merge keeps its first rank. */
      if (self->merges[i].key == key)
        continue;

      g_string_truncate (joined, 0);
      g_string_append_len (joined, merge, space - merge);
      g_string_append_len (joined, space + 1, length - (space + 1 - merge));
      self->merges[i].key = key;
      self->merges[i].rank = rank;
      self->merges[i].result = loom_tokenizer_lookup (self, joined->str, joined->len);
    }

  return TRUE;
}

static gboolean
read_special_tokens (LoomTokenizer *self,
                     LoomGguf      *gguf,
                     GError       **error)
{
  static const struct
  {
    const char *key;
    gsize       offset;
  } ids[] = {
    { "tokenizer.ggml.bos_token_id", G_STRUCT_OFFSET (LoomTokenizer, bos) },
    { "tokenizer.ggml.eos_token_id", G_STRUCT_OFFSET (LoomTokenizer, eos) },
    { "tokenizer.ggml.eot_token_id", G_STRUCT_OFFSET (LoomTokenizer, eot) },
    { "tokenizer.ggml.eom_token_id", G_STRUCT_OFFSET (LoomTokenizer, eom) },
    { "tokenizer.ggml.unknown_token_id", G_STRUCT_OFFSET (LoomTokenizer, unk) },
    { "tokenizer.ggml.padding_token_id", G_STRUCT_OFFSET (LoomTokenizer, pad) },
  };
  const char *name = loom_gguf_get_string (gguf, "general.name");
  g_autofree char *lower_name = g_ascii_strdown (name != NULL ? name : "", -1);

  self->bos = self->eos = self->eot = self->eom = self->unk = self->pad = -1;
  if (self->kind == LOOM_TOKENIZER_SPM)
    {
      /* SentencePiece's defaults, where the vocabulary reaches them. */
      self->unk = 0 < self->n_vocab ? 0 : -1;
      self->bos = 1 < self->n_vocab ? 1 : -1;
      self->eos = 2 < self->n_vocab ? 2 : -1;
    }

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    if (!read_token_id (self, gguf, ids[i].key,
                        G_STRUCT_MEMBER_P (self, ids[i].offset), error))
      return FALSE;

  if (!read_bool (gguf, KEY_ADD_BOS, &self->add_bos, error)
      || !read_bool (gguf, KEY_ADD_SPACE_PREFIX, &self->add_space_prefix, error))
    return FALSE;
  if (self->add_bos && self->bos < 0)
    return fail (error, gguf, LOOM_ERROR_INVALID_MODEL, "%s is set but there is no BOS token",
                 KEY_ADD_BOS);

  /* End of generation: the ids given, and tokens known by their text. As in llama.cpp,
   * these count as control tokens even where the file says otherwise (Phi-3's “</s>”). */
  for (guint i = 0; i < G_N_ELEMENTS (eog_texts); i++)
    {
      gint32 token = loom_tokenizer_lookup (self, eog_texts[i], strlen (eog_texts[i]));
      if (token >= 0)
        self->tokens[token].attr |= LOOM_TOKEN_ATTR_EOG | LOOM_TOKEN_ATTR_CONTROL;
    }
  if (self->eos >= 0)
    self->tokens[self->eos].attr |= LOOM_TOKEN_ATTR_EOG;
  if (self->eot >= 0)
    self->tokens[self->eot].attr |= LOOM_TOKEN_ATTR_EOG;
  if (self->eom >= 0)
    self->tokens[self->eom].attr |= LOOM_TOKEN_ATTR_EOG;

  /* Phi-3 drops the white space after its special tokens (llama.cpp sets this by the
   * model's name, the file has no key for it), but not after these three. */
  if (strstr (lower_name, "phi-3") != NULL || strstr (lower_name, "phi3") != NULL)
    {
      static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
      gint32 end_of_sentence = loom_tokenizer_lookup (self, "</s>", 4);

      for (guint i = 0; i < self->n_vocab; i++)
        if (self->tokens[i].attr & (LOOM_TOKEN_ATTR_CONTROL | LOOM_TOKEN_ATTR_USER_DEFINED
                                    | LOOM_TOKEN_ATTR_UNKNOWN))
          self->tokens[i].attr |= LOOM_TOKEN_ATTR_RSTRIP;
      if (end_of_sentence >= 0)
        self->tokens[end_of_sentence].attr |= LOOM_TOKEN_ATTR_RSTRIP;
      for (guint i = 0; i < G_N_ELEMENTS (keep); i++)
        {
          gint32 token = loom_tokenizer_lookup (self, keep[i], strlen (keep[i]));
          if (token >= 0)
            self->tokens[token].attr &= ~LOOM_TOKEN_ATTR_RSTRIP;
        }
    }

  return TRUE;
}

static int
compare_special (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  LoomTokenizer *self = user_data;
  guint32 ta = *(const guint32 *) a;
  guint32 tb = *(const guint32 *) b;
  guint32 la = self->tokens[ta].text_length;
  guint32 lb = self->tokens[tb].text_length;

  if (la != lb)
    return la > lb ? -1 : 1;
  return ta < tb ? -1 : ta > tb;
}

static void
build_special (LoomTokenizer *self)
{
  self->special = g_new (guint32, self->n_vocab);
  for (guint i = 0; i < self->n_vocab; i++)
    if ((self->tokens[i].attr & (LOOM_TOKEN_ATTR_CONTROL | LOOM_TOKEN_ATTR_USER_DEFINED
                                 | LOOM_TOKEN_ATTR_UNKNOWN))
        && self->tokens[i].text_length > 0)
      self->special[self->n_special++] = i;
  g_qsort_with_data (self->special, self->n_special, sizeof (guint32), compare_special, self);
}

/* Whether “▁” appears in tokens only as a leading run, as SentencePiece splits words:
 * then no token spans a word's start, and SentencePiece can merge word by word. */
static gboolean
spaces_only_lead (LoomTokenizer *self)
{
  for (guint i = 0; i < self->n_vocab; i++)
    {
      const char *text = token_text (self, i);
      const char *end = text + self->tokens[i].text_length;

      while (end - text >= 3 && memcmp (text, "\xe2\x96\x81", 3) == 0)
        text += 3;
      if (end - text >= 3 && memmem (text, end - text, "\xe2\x96\x81", 3) != NULL)
        return FALSE;
    }
  return TRUE;
}

static void
build_byte_tokens (LoomTokenizer *self)
{
  for (guint byte = 0; byte < 256; byte++)
    {
      if (self->kind == LOOM_TOKENIZER_SPM)
        {
          char hex[7];
          char raw = (char) byte;
          g_snprintf (hex, sizeof hex, "<0x%02X>", byte);
          self->byte_tokens[byte] = loom_tokenizer_lookup (self, hex, 6);
          /* As llama.cpp falls back: the byte itself as a token. */
          if (self->byte_tokens[byte] < 0)
            self->byte_tokens[byte] = loom_tokenizer_lookup (self, &raw, 1);
        }
      else
        {
          const char *c = loom_bpe_byte_to_char ((guint8) byte);
          self->byte_tokens[byte] = loom_tokenizer_lookup (self, c, strlen (c));
        }
    }
}

/* What @token decodes to (llama.cpp's token_to_piece without special): control and
 * unknown tokens nothing, user-defined tokens their text, byte tokens their byte, normal
 * tokens their text with “▁” as a space (SPM) or GPT-2's stand-ins as bytes (BPE). */
static void
append_decoded (LoomTokenizer *self,
                guint32        token,
                GString       *pieces)
{
  const LoomTokenData *data = &self->tokens[token];
  const char *text = token_text (self, token);
  const char *end = text + data->text_length;

  if (data->attr & (LOOM_TOKEN_ATTR_CONTROL | LOOM_TOKEN_ATTR_UNKNOWN))
    return;

  if (data->attr & LOOM_TOKEN_ATTR_USER_DEFINED)
    g_string_append_len (pieces, text, data->text_length);
  else if ((data->attr & LOOM_TOKEN_ATTR_NORMAL) && self->kind == LOOM_TOKENIZER_SPM)
    {
      for (const char *p = text; p < end;)
        {
          if (end - p >= 3 && memcmp (p, "\xe2\x96\x81", 3) == 0)
            {
              g_string_append_c (pieces, ' ');
              p += 3;
            }
          else
            g_string_append_c (pieces, *p++);
        }
    }
  else if (data->attr & LOOM_TOKEN_ATTR_NORMAL)
    {
      /* A character that stands for no byte (a broken vocabulary) stays as it is. */
      for (const char *p = text; p < end;)
        {
          const char *next = p + MIN (loom_utf8_sequence_length ((guint8) *p),
                                      (gsize) (end - p));
          gunichar c = g_utf8_get_char_validated (p, next - p);
          gint byte = c < 0x200 ? loom_bpe_char_to_byte (c) : -1;

          if (byte >= 0)
            g_string_append_c (pieces, (char) byte);
          else
            g_string_append_len (pieces, p, next - p);
          p = next;
        }
    }
  else if (data->attr & LOOM_TOKEN_ATTR_BYTE)
    g_string_append_c (pieces, (char) g_ascii_strtoull (text + 3, NULL, 16));
}

static void
build_pieces (LoomTokenizer *self)
{
  g_autoptr(GString) pieces = g_string_new (NULL);

  for (guint i = 0; i < self->n_vocab; i++)
    {
      self->tokens[i].piece_offset = (guint32) pieces->len;
      append_decoded (self, i, pieces);
      self->tokens[i].piece_length = (guint32) pieces->len - self->tokens[i].piece_offset;
    }

  self->pieces = g_string_free (g_steal_pointer (&pieces), FALSE);
}

LoomTokenizer *
loom_tokenizer_new_from_gguf (LoomGguf *gguf,
                              GError  **error)
{
  g_autoptr(LoomTokenizer) self = NULL;

  g_return_val_if_fail (gguf != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (LoomTokenizer, 1);
  g_atomic_ref_count_init (&self->ref_count);

  if (!read_model (self, gguf, error)
      || !read_tokens (self, gguf, error)
      || (self->kind == LOOM_TOKENIZER_BPE && !read_merges (self, gguf, error))
      || !read_special_tokens (self, gguf, error))
    return NULL;

  build_special (self);
  build_byte_tokens (self);
  self->spm_words = self->kind == LOOM_TOKENIZER_SPM && spaces_only_lead (self);
  build_pieces (self);

  return g_steal_pointer (&self);
}

LoomTokenizer *
loom_tokenizer_ref (LoomTokenizer *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
loom_tokenizer_unref (LoomTokenizer *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->model);
  g_free (self->pre);
  g_free (self->tokens);
  g_free (self->strings);
  g_free (self->pieces);
  g_free (self->index);
  g_free (self->merges);
  g_free (self->special);
  g_free (self);
}

/* A stretch of the text: raw text (token -1) or a special token found in it. */
typedef struct
{
  gsize  offset;
  gsize  length;
  gint32 token;
} Fragment;

/* Splits the text on special tokens, as llama.cpp's tokenizer_st_partition: each token in
 * turn, longest first, is looked for in the raw text that is left. Without @parse_special
 * only user-defined tokens split the text. */
static GArray *
partition (LoomTokenizer *self,
           const char    *text,
           gsize          length,
           gboolean       parse_special)
{
  GArray *fragments = g_array_new (FALSE, FALSE, sizeof (Fragment));
  Fragment whole = { 0, length, -1 };

  if (length == 0)
    return fragments;
  g_array_append_val (fragments, whole);

  for (guint s = 0; s < self->n_special; s++)
    {
      guint32 id = self->special[s];
      const LoomTokenData *token = &self->tokens[id];
      const char *needle = token_text (self, id);
      GArray *next;

      if (!parse_special && (token->attr & (LOOM_TOKEN_ATTR_CONTROL | LOOM_TOKEN_ATTR_UNKNOWN)))
        continue;
      if (memmem (text, length, needle, token->text_length) == NULL)
        continue;

      next = g_array_sized_new (FALSE, FALSE, sizeof (Fragment), fragments->len + 2);
      for (guint f = 0; f < fragments->len; f++)
        {
          Fragment raw = g_array_index (fragments, Fragment, f);

          if (raw.token >= 0)
            {
              g_array_append_val (next, raw);
              continue;
            }

          while (raw.length > 0)
            {
              const char *match = memmem (text + raw.offset, raw.length, needle,
                                          token->text_length);
              gsize end = raw.offset + raw.length;
              Fragment found = { 0, token->text_length, (gint32) id };

              if (match == NULL)
                {
                  g_array_append_val (next, raw);
                  break;
                }
              found.offset = match - text;
              if (found.offset > raw.offset)
                {
                  Fragment left = { raw.offset, found.offset - raw.offset, -1 };
                  g_array_append_val (next, left);
                }
              g_array_append_val (next, found);

              raw.offset = found.offset + found.length;
              if (token->attr & LOOM_TOKEN_ATTR_RSTRIP)
                while (raw.offset < end && g_ascii_isspace (text[raw.offset]))
                  raw.offset++;
              raw.length = end - raw.offset;
            }
        }
      g_array_unref (fragments);
      fragments = next;
    }

  return fragments;
}

GArray *
loom_tokenizer_encode (LoomTokenizer    *self,
                       const char       *text,
                       gssize            length,
                       LoomTokenizeFlags flags)
{
  g_autoptr(GArray) fragments = NULL;
  GArray *out;
  gboolean after_special = TRUE;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (text != NULL || length == 0, NULL);

  if (length < 0)
    length = strlen (text);
  /* Symbols keep 32-bit offsets and indices; SentencePiece triples spaces. */
  g_return_val_if_fail ((gsize) length <= G_MAXINT32 / 4, NULL);

  out = g_array_sized_new (FALSE, FALSE, sizeof (guint32), length / 3 + 2);
  if ((flags & LOOM_TOKENIZE_ADD_BOS) && self->bos >= 0)
    {
      guint32 bos = (guint32) self->bos;
      g_array_append_val (out, bos);
    }

  fragments = partition (self, text, length, (flags & LOOM_TOKENIZE_PARSE_SPECIAL) != 0);
  for (guint f = 0; f < fragments->len; f++)
    {
      const Fragment *fragment = &g_array_index (fragments, Fragment, f);

      if (fragment->token >= 0)
        {
          guint32 id = (guint32) fragment->token;
          g_array_append_val (out, id);
          after_special = TRUE;
        }
      else if (self->kind == LOOM_TOKENIZER_SPM)
        {
          /* SentencePiece puts a space before text that follows a special token or
           * starts the input, BOS or not. */
          loom_tokenizer_spm_encode (self, text + fragment->offset, fragment->length,
                                     self->add_space_prefix && after_special, out);
          after_special = FALSE;
        }
      else
        loom_tokenizer_bpe_encode (self, text + fragment->offset, fragment->length, out);
    }

  return out;
}

guint
loom_tokenizer_get_n_vocab (LoomTokenizer *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_vocab;
}

const char *
loom_tokenizer_get_model (LoomTokenizer *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->model;
}

gint32
loom_tokenizer_get_bos (LoomTokenizer *self)
{
  g_return_val_if_fail (self != NULL, -1);

  return self->bos;
}

gint32
loom_tokenizer_get_eos (LoomTokenizer *self)
{
  g_return_val_if_fail (self != NULL, -1);

  return self->eos;
}

gboolean
loom_tokenizer_get_add_bos (LoomTokenizer *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->add_bos;
}

gboolean
loom_tokenizer_is_eog (LoomTokenizer *self,
                       guint32        token)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return token < self->n_vocab && (self->tokens[token].attr & LOOM_TOKEN_ATTR_EOG) != 0;
}

LoomTokenType
loom_tokenizer_get_token_type (LoomTokenizer *self,
                               guint32        token)
{
  g_return_val_if_fail (self != NULL, LOOM_TOKEN_UNDEFINED);
  g_return_val_if_fail (token < self->n_vocab, LOOM_TOKEN_UNDEFINED);

  return self->tokens[token].type;
}

const char *
loom_tokenizer_get_token_text (LoomTokenizer *self,
                               guint32        token)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (token < self->n_vocab, NULL);

  return token_text (self, token);
}

void
loom_tokenizer_append_piece (LoomTokenizer *self,
                             guint32        token,
                             gboolean       special,
                             GByteArray    *out)
{
  const LoomTokenData *data;

  g_return_if_fail (self != NULL);
  g_return_if_fail (token < self->n_vocab);
  g_return_if_fail (out != NULL);

  data = &self->tokens[token];
  if (special && (data->attr & (LOOM_TOKEN_ATTR_CONTROL | LOOM_TOKEN_ATTR_UNKNOWN)))
    g_byte_array_append (out, (const guint8 *) token_text (self, token), data->text_length);
  else
    g_byte_array_append (out, (const guint8 *) self->pieces + data->piece_offset,
                         data->piece_length);
}

/* Detokenizer */

struct _LoomDetokenizer
{
  LoomTokenizer *tokenizer;  /* owned */
  GByteArray    *pending;    /* bytes of a character not complete yet */
  GByteArray    *piece;      /* scratch */
  gboolean       after_bos;  /* the next piece's leading space is the added prefix */
};

typedef enum
{
  UTF8_VALID,
  UTF8_INCOMPLETE, /* a valid start that the end of the bytes cuts short */
  UTF8_INVALID,
} Utf8Status;

/* Checks the character at @p against the well-formed sequences of Unicode's table 3-7.
 * *length: the character's bytes, or those of the longest valid start of one (at least
 * 1), which a decoder replaces with one U+FFFD. */
static Utf8Status
check_utf8 (const guint8 *p,
            gsize         n,
            gsize        *length)
{
  guint8 lead = p[0];
  guint8 lo = 0x80, hi = 0xbf;
  gsize need;

  if (lead < 0x80)
    need = 0;
  else if (lead >= 0xc2 && lead <= 0xdf)
    need = 1;
  else if (lead >= 0xe0 && lead <= 0xef)
    {
      need = 2;
      if (lead == 0xe0)
        lo = 0xa0;
      else if (lead == 0xed)
        hi = 0x9f;
    }
  else if (lead >= 0xf0 && lead <= 0xf4)
    {
      need = 3;
      if (lead == 0xf0)
        lo = 0x90;
      else if (lead == 0xf4)
        hi = 0x8f;
    }
  else
    {
      *length = 1;
      return UTF8_INVALID;
    }

  for (gsize i = 1; i <= need; i++)
    {
      if (i >= n)
        {
          *length = i;
          return UTF8_INCOMPLETE;
        }
      if (p[i] < lo || p[i] > hi)
        {
          *length = i;
          return UTF8_INVALID;
        }
      lo = 0x80;
      hi = 0xbf;
    }
  *length = need + 1;
  return UTF8_VALID;
}

/* Moves the complete characters of the pending bytes to @out; with @final, also what is
 * left of an incomplete one, as U+FFFD. */
static void
drain (LoomDetokenizer *self,
       GString         *out,
       gboolean         final)
{
  const guint8 *p = self->pending->data;
  gsize n = self->pending->len;
  gsize i = 0;

  while (i < n)
    {
      gsize length;
      Utf8Status status = check_utf8 (p + i, n - i, &length);

      if (status == UTF8_INCOMPLETE && !final)
        break;
      if (status == UTF8_VALID)
        g_string_append_len (out, (const char *) p + i, length);
      else
        g_string_append_unichar (out, 0xfffd);
      i += length;
    }
  g_byte_array_remove_range (self->pending, 0, i);
}

LoomDetokenizer *
loom_detokenizer_new (LoomTokenizer *tokenizer)
{
  LoomDetokenizer *self;

  g_return_val_if_fail (tokenizer != NULL, NULL);

  self = g_new0 (LoomDetokenizer, 1);
  self->tokenizer = loom_tokenizer_ref (tokenizer);
  self->pending = g_byte_array_new ();
  self->piece = g_byte_array_new ();
  return self;
}

void
loom_detokenizer_free (LoomDetokenizer *self)
{
  g_return_if_fail (self != NULL);

  loom_tokenizer_unref (self->tokenizer);
  g_byte_array_unref (self->pending);
  g_byte_array_unref (self->piece);
  g_free (self);
}

void
loom_detokenizer_push (LoomDetokenizer *self,
                       guint32          token,
                       GString         *out)
{
  const guint8 *bytes;
  gsize length;

  g_return_if_fail (self != NULL);
  g_return_if_fail (token < self->tokenizer->n_vocab);
  g_return_if_fail (out != NULL);

  if ((gint32) token == self->tokenizer->bos)
    {
      self->after_bos = self->tokenizer->add_space_prefix;
      return;
    }

  g_byte_array_set_size (self->piece, 0);
  loom_tokenizer_append_piece (self->tokenizer, token, FALSE, self->piece);
  bytes = self->piece->data;
  length = self->piece->len;
  if (length == 0)
    return;

  if (self->after_bos && bytes[0] == ' ')
    {
      bytes++;
      length--;
    }
  self->after_bos = FALSE;

  g_byte_array_append (self->pending, bytes, length);
  drain (self, out, FALSE);
}

void
loom_detokenizer_flush (LoomDetokenizer *self,
                        GString         *out)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out != NULL);

  drain (self, out, TRUE);
  self->after_bos = FALSE;
}
