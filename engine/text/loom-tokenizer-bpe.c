/* loom-tokenizer-bpe.c — byte-level BPE (GPT-2, Llama 3, Qwen2), as llama.cpp's
 * llm_tokenizer_bpe does it.
 *
 * The text is split into pre-tokens by the vocabulary's regex (loom-pretokenizer.c). A
 * pre-token's bytes are spelled with GPT-2's stand-in characters, one per byte, so its
 * symbols start as its bytes; neighbouring symbols are then merged, the pair with the
 * lowest merge rank first (the leftmost among equals), until no pair has a merge.
 */
#include "config.h"

#include <string.h>

#include "loom-tokenizer-private.h"

/* Bytes GPT-2 spells as themselves; the others (controls, space, DEL, NBSP and the soft
 * hyphen: 68 bytes) take the code points from U+0100 up, in byte order. */
#define N_STAND_INS 68

static gboolean
is_printable_byte (guint byte)
{
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
}

typedef struct
{
  char   utf8[256][3];           /* each byte's character, NUL-terminated */
  guint8 stand_ins[N_STAND_INS]; /* the byte U+0100 + i stands for */
} ByteChars;

static const ByteChars *
get_byte_chars (void)
{
  static ByteChars table;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      guint n = 0;

      for (guint byte = 0; byte < 256; byte++)
        {
          gunichar c = byte;
          if (!is_printable_byte (byte))
            {
              table.stand_ins[n] = (guint8) byte;
              c = 0x100 + n++;
            }
          g_unichar_to_utf8 (c, table.utf8[byte]);
        }
      g_once_init_leave (&initialized, 1);
    }
  return &table;
}

const char *
loom_bpe_byte_to_char (guint8 byte)
{
  return get_byte_chars ()->utf8[byte];
}

gint
loom_bpe_char_to_byte (gunichar c)
{
  if (c < 0x100)
    return is_printable_byte (c) ? (gint) c : -1;
  if (c < 0x100 + N_STAND_INS)
    return get_byte_chars ()->stand_ins[c - 0x100];
  return -1;
}

/* One code point at *pos, as llama.cpp's unicode_cpt_from_utf8 reads it: the lead byte
 * and the continuation bytes' form are checked, nothing else. A byte that does not
 * start such a sequence reads as U+FFFD. */
static gunichar
next_code_point (const guint8 *text,
                 gsize         length,
                 gsize        *pos)
{
  guint8 lead = text[*pos];
  gsize need;
  gunichar c;

  if (lead < 0x80)
    {
      *pos += 1;
      return lead;
    }
  if ((lead & 0xe0) == 0xc0)
    {
      need = 1;
      c = lead & 0x1f;
    }
  else if ((lead & 0xf0) == 0xe0)
    {
      need = 2;
      c = lead & 0x0f;
    }
  else if ((lead & 0xf8) == 0xf0)
    {
      need = 3;
      c = lead & 0x07;
    }
  else
    goto invalid;

  if (*pos + need >= length)
    goto invalid;
  for (gsize i = 1; i <= need; i++)
    {
      guint8 b = text[*pos + i];
      if ((b & 0xc0) != 0x80)
        goto invalid;
      c = (c << 6) | (b & 0x3f);
    }
  *pos += need + 1;
  return c;

invalid:
  *pos += 1;
  return 0xfffd;
}

/* Scratch space for one call, reused from pre-token to pre-token. */
typedef struct
{
  GArray  *symbols; /* (element-type LoomSymbol) */
  GArray  *queue;   /* (element-type LoomMergeCandidate) */
  GString *spelled; /* a pre-token in stand-in characters */
} Scratch;

typedef struct
{
  guint32 start;  /* byte offset in the pre-token */
  guint32 length; /* bytes; 0 once merged into its left neighbour */
  gint32  prev;   /* symbol index, -1 at the start */
  gint32  next;   /* symbol index, -1 at the end */
  gint32  token;  /* what it spells, or -1 */
} Symbol;

static void
queue_merge (LoomTokenizer *self,
             const Symbol  *symbols,
             gint32         left,
             gint32         right,
             GArray        *queue)
{
  LoomMergeCandidate candidate;
  guint32 rank;
  gint32 result;

  if (left < 0 || right < 0)
    return;
  if (!loom_tokenizer_find_merge (self, symbols[left].token, symbols[right].token, &rank,
                                  &result))
    return;

  candidate.key = ((guint64) rank << 32) | (guint32) left;
  candidate.right = (guint32) right;
  candidate.size = symbols[left].length + symbols[right].length;
  candidate.token = result;
  loom_merge_queue_push (queue, &candidate);
}

static void
encode_pre_token (LoomTokenizer *self,
                  const guint8  *word,
                  gsize          length,
                  Scratch       *scratch,
                  GArray        *out)
{
  Symbol *symbols;
  LoomMergeCandidate candidate;

  /* Llama 3: a pre-token the vocabulary has whole is that token, whatever the merges
   * would make of it (" Việt" is one token there, not what merging gives). */
  if (self->ignore_merges)
    {
      gint32 token;

      g_string_truncate (scratch->spelled, 0);
      for (gsize i = 0; i < length; i++)
        g_string_append (scratch->spelled, loom_bpe_byte_to_char (word[i]));
      token = loom_tokenizer_lookup (self, scratch->spelled->str, scratch->spelled->len);
      if (token >= 0)
        {
          guint32 id = (guint32) token;
          g_array_append_val (out, id);
          return;
        }
    }

  g_array_set_size (scratch->symbols, length);
  symbols = (Symbol *) scratch->symbols->data;
  for (gsize i = 0; i < length; i++)
    {
      symbols[i].start = (guint32) i;
      symbols[i].length = 1;
      symbols[i].prev = (gint32) i - 1;
      symbols[i].next = i + 1 < length ? (gint32) i + 1 : -1;
      symbols[i].token = self->byte_tokens[word[i]];
    }

  g_array_set_size (scratch->queue, 0);
  for (gsize i = 1; i < length; i++)
    queue_merge (self, symbols, (gint32) i - 1, (gint32) i, scratch->queue);

  while (loom_merge_queue_pop (scratch->queue, &candidate))
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

      queue_merge (self, symbols, l->prev, left, scratch->queue);
      queue_merge (self, symbols, left, l->next, scratch->queue);
    }

  for (gint32 i = 0; i >= 0 && length > 0; i = symbols[i].next)
    {
      if (symbols[i].token >= 0)
        {
          guint32 id = (guint32) symbols[i].token;
          g_array_append_val (out, id);
          continue;
        }

      /* A merge whose result the vocabulary lacks: spell it byte by byte. */
      for (guint32 j = 0; j < symbols[i].length; j++)
        {
          gint32 token = self->byte_tokens[word[symbols[i].start + j]];
          if (token < 0)
            token = self->unk;
          if (token >= 0)
            {
              guint32 id = (guint32) token;
              g_array_append_val (out, id);
            }
        }
    }
}

void
loom_tokenizer_bpe_encode (LoomTokenizer *self,
                           const char    *text,
                           gsize          length,
                           GArray        *out)
{
  const guint8 *bytes = (const guint8 *) text;
  g_autofree gunichar *cpts = g_new (gunichar, length);
  g_autofree gsize *offsets = g_new (gsize, length + 1); /* of each code point in text */
  g_autoptr(GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  Scratch scratch;
  gsize n = 0;
  gsize begin = 0;

  for (gsize pos = 0; pos < length; n++)
    {
      offsets[n] = pos;
      cpts[n] = next_code_point (bytes, length, &pos);
    }
  offsets[n] = length;

  loom_pretokenize (self->pre_kind, cpts, n, ends);

  scratch.symbols = g_array_new (FALSE, FALSE, sizeof (Symbol));
  scratch.queue = g_array_new (FALSE, FALSE, sizeof (LoomMergeCandidate));
  scratch.spelled = g_string_new (NULL);

  /* A pre-token is a run of whole code points; bytes that are not UTF-8 stay as they
   * are, so that byte-level BPE spells them exactly. */
  for (guint i = 0; i < ends->len; i++)
    {
      gsize end = g_array_index (ends, gsize, i);
      encode_pre_token (self, bytes + offsets[begin], offsets[end] - offsets[begin], &scratch,
                        out);
      begin = end;
    }

  g_array_unref (scratch.symbols);
  g_array_unref (scratch.queue);
  g_string_free (scratch.spelled, TRUE);
}
