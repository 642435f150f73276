/* loom-tokenizer-spm.c — SentencePiece BPE (Llama 2, Phi-3, TinyStories), as llama.cpp's
 * llm_tokenizer_spm does it.
 *
 * Spaces become “▁” (U+2581) and the text starts as one symbol per UTF-8 character.
 * Neighbouring symbols whose concatenation is a token are merged, the one with the
 * highest score first (the leftmost among equals), until no neighbours make a token.
 * A symbol that is no token is spelled with byte tokens (<0xXX>).
 */
#include "config.h"

#include <string.h>

#include "loom-tokenizer-private.h"

#define ESCAPED_SPACE "\xe2\x96\x81"

typedef struct
{
  guint32 start;  /* byte offset in the escaped text */
  guint32 length; /* bytes; 0 once merged into its left neighbour */
  gint32  prev;   /* symbol index, -1 at the start */
  gint32  next;   /* symbol index, -1 at the end */
  gint32  token;  /* what a merged symbol spells; -1 for a single character */
} Symbol;

/* The queue takes the smallest key first: higher scores must give smaller keys. This maps
 * floats to unsigned integers in the same order, then reverses it. */
static guint32
descending (float score)
{
  guint32 bits;

  memcpy (&bits, &score, sizeof bits);
  bits = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
  return ~bits;
}

static void
queue_merge (LoomTokenizer *self,
             const char    *text,
             const Symbol  *symbols,
             gint32         left,
             gint32         right,
             GArray        *queue)
{
  LoomMergeCandidate candidate;
  guint32 size;
  gint32 token;

  if (left < 0 || right < 0)
    return;
  size = symbols[left].length + symbols[right].length;
  token = loom_tokenizer_lookup (self, text + symbols[left].start, size);
  if (token < 0)
    return;

  candidate.key = ((guint64) descending (self->tokens[token].score) << 32) | (guint32) left;
  candidate.right = (guint32) right;
  candidate.size = size;
  candidate.token = token;
  loom_merge_queue_push (queue, &candidate);
}

/* A character the vocabulary lacks: its bytes' tokens, or the unknown token when there
 * are no byte tokens for it. */
static void
append_bytes (LoomTokenizer *self,
              const guint8  *bytes,
              gsize          length,
              GArray        *out)
{
  guint32 id;

  for (gsize i = 0; i < length; i++)
    {
      if (self->byte_tokens[bytes[i]] < 0)
        {
          if (self->unk >= 0)
            {
              id = (guint32) self->unk;
              g_array_append_val (out, id);
            }
          return;
        }
    }

  for (gsize i = 0; i < length; i++)
    {
      id = (guint32) self->byte_tokens[bytes[i]];
      g_array_append_val (out, id);
    }
}

static gboolean
is_escaped_space (const char   *text,
                  const Symbol *symbol)
{
  return symbol->length == 3 && memcmp (text + symbol->start, ESCAPED_SPACE, 3) == 0;
}

/* Merges the symbols [first, last] among themselves and appends their tokens. */
static void
encode_stretch (LoomTokenizer *self,
                const char    *text,
                Symbol        *symbols,
                gint32         first,
                gint32         last,
                GArray        *queue,
                GArray        *out)
{
  LoomMergeCandidate candidate;

  symbols[first].prev = -1;
  symbols[last].next = -1;

  g_array_set_size (queue, 0);
  for (gint32 i = first + 1; i <= last; i++)
    queue_merge (self, text, symbols, i - 1, i, queue);

  while (loom_merge_queue_pop (queue, &candidate))
    {
      gint32 left = (gint32) (guint32) candidate.key;
      Symbol *l = &symbols[left];
      Symbol *r = &symbols[candidate.right];

      /* Either symbol has changed since the candidate was queued. */
      if (l->length == 0 || r->length == 0 || l->length + r->length != candidate.size)
        continue;

      l->length += r->length;
      l->token = candidate.token;
      l->next = r->next;
      r->length = 0;
      if (l->next >= 0)
        symbols[l->next].prev = left;

      queue_merge (self, text, symbols, l->prev, left, queue);
      queue_merge (self, text, symbols, left, l->next, queue);
    }

  for (gint32 i = first; i >= 0; i = symbols[i].next)
    {
      const Symbol *symbol = &symbols[i];
      gint32 token = symbol->token;

      if (token < 0)
        token = loom_tokenizer_lookup (self, text + symbol->start, symbol->length);
      if (token >= 0)
        {
          guint32 id = (guint32) token;
          g_array_append_val (out, id);
        }
      else
        append_bytes (self, (const guint8 *) text + symbol->start, symbol->length, out);
    }
}

void
loom_tokenizer_spm_encode (LoomTokenizer *self,
                           const char    *text,
                           gsize          length,
                           gboolean       add_space_prefix,
                           GArray        *out)
{
  g_autoptr(GString) escaped = g_string_sized_new (length + length / 2 + 4);
  g_autoptr(GArray) symbol_array = g_array_new (FALSE, FALSE, sizeof (Symbol));
  g_autoptr(GArray) queue = g_array_new (FALSE, FALSE, sizeof (LoomMergeCandidate));
  Symbol *symbols;
  gint32 n_symbols = 0;
  gint32 first = 0;

  if (add_space_prefix)
    g_string_append (escaped, ESCAPED_SPACE);
  for (gsize i = 0; i < length; i++)
    {
      if (text[i] == ' ')
        g_string_append_len (escaped, ESCAPED_SPACE, 3);
      else
        g_string_append_c (escaped, text[i]);
    }
  if (escaped->len == 0)
    return;

  /* One symbol per character, its length taken from the lead byte alone. */
  g_array_set_size (symbol_array, escaped->len);
  symbols = (Symbol *) symbol_array->data;
  for (gsize offset = 0; offset < escaped->len; n_symbols++)
    {
      gsize n = MIN (loom_utf8_sequence_length ((guint8) escaped->str[offset]),
                     escaped->len - offset);
      symbols[n_symbols].start = (guint32) offset;
      symbols[n_symbols].length = (guint32) n;
      symbols[n_symbols].prev = n_symbols - 1;
      symbols[n_symbols].next = n_symbols + 1;
      symbols[n_symbols].token = -1;
      offset += n;
    }

  /* Where no token has “▁” after anything but “▁” (self->spm_words), no merge can cross
   * from a character to a “▁” that follows it, and merging word by word gives what merging
   * the whole text gives, in the same order within each word, with small queues. */
  if (self->spm_words)
    for (gint32 i = 1; i < n_symbols; i++)
      if (is_escaped_space (escaped->str, &symbols[i])
          && !is_escaped_space (escaped->str, &symbols[i - 1]))
        {
          encode_stretch (self, escaped->str, symbols, first, i - 1, queue, out);
          first = i;
        }
  encode_stretch (self, escaped->str, symbols, first, n_symbols - 1, queue, out);
}
