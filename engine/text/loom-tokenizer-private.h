/* loom-tokenizer-private.h — what the tokenizer's files share: the vocabulary tables, the
 * merge queue both models use, and the pre-tokenizers of byte-level BPE.
 */
#pragma once

#include "loom-tokenizer.h"

G_BEGIN_DECLS

/* Attributes as llama.cpp keeps them: the file's type as a bit, plus what loading adds
 * (an end-of-generation token found by its text also counts as a control token). */
typedef enum
{
  LOOM_TOKEN_ATTR_NORMAL = 1 << 0,
  LOOM_TOKEN_ATTR_UNKNOWN = 1 << 1,
  LOOM_TOKEN_ATTR_CONTROL = 1 << 2,
  LOOM_TOKEN_ATTR_USER_DEFINED = 1 << 3,
  LOOM_TOKEN_ATTR_UNUSED = 1 << 4,
  LOOM_TOKEN_ATTR_BYTE = 1 << 5,
  LOOM_TOKEN_ATTR_RSTRIP = 1 << 6, /* whitespace after it in the text is dropped */
  LOOM_TOKEN_ATTR_EOG = 1 << 7,
} LoomTokenAttr;

typedef enum
{
  LOOM_TOKENIZER_SPM,
  LOOM_TOKENIZER_BPE,
} LoomTokenizerKind;

/* The regex families of llama.cpp's byte-level BPE pre-tokenizers. */
typedef enum
{
  LOOM_PRE_DEFAULT, /* punctuation runs, then GPT-2, then digit runs, then digit triples */
  LOOM_PRE_GPT2,    /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
  LOOM_PRE_LLAMA3,  /* the Llama 3 regex, numbers in groups of up to three digits */
  LOOM_PRE_QWEN2,   /* the same with single digits */
} LoomPreTokenizer;

typedef struct
{
  guint32 text_offset;  /* into strings, NUL-terminated */
  guint32 text_length;  /* bytes */
  guint32 piece_offset; /* into pieces: what append_piece appends when not special */
  guint32 piece_length;
  float   score;        /* SPM merge priority; 0 when the file has none */
  guint16 attr;         /* LoomTokenAttr */
  guint8  type;         /* LoomTokenType as the file has it */
} LoomTokenData;

/* A merge of byte-level BPE, found by the token ids of its two halves. */
typedef struct
{
  guint64 key;    /* left id << 32 | right id; G_MAXUINT64 marks an empty slot */
  guint32 rank;   /* its line in the merges list: lower merges first */
  gint32  result; /* the token spelled by both halves together, or -1 */
} LoomMergeEntry;

struct _LoomTokenizer
{
  gatomicrefcount   ref_count;
  LoomTokenizerKind kind;
  char             *model;            /* tokenizer.ggml.model */
  char             *pre;              /* tokenizer.ggml.pre, or NULL */
  LoomPreTokenizer  pre_kind;
  gboolean          ignore_merges;    /* a pre-token that is a token is taken whole (Llama 3) */
  gboolean          add_bos;
  gboolean          add_space_prefix; /* SPM: a space before text that starts a fragment */
  gboolean          spm_words;        /* SPM: “▁” only starts tokens (see spm_encode) */

  guint             n_vocab;
  LoomTokenData    *tokens;           /* [n_vocab] */
  char             *strings;          /* every token's text, each NUL-terminated */
  char             *pieces;           /* every token's decoded bytes, back to back */

  /* Text to token: open addressing, a slot holds id + 1 (0 = empty). */
  guint32          *index;            /* [index_mask + 1] */
  guint32           index_mask;

  LoomMergeEntry   *merges;           /* [merges_mask + 1], BPE only */
  guint32           merges_mask;

  /* SPM: the <0xXX> token of each byte; BPE: the token of the byte's GPT-2 character.
   * -1 where the vocabulary has none. */
  gint32            byte_tokens[256];

  gint32            bos, eos, eot, eom, unk, pad; /* -1: none */

  /* Tokens the text is partitioned on before tokenizing (control, user-defined and
   * unknown tokens), longest text first. */
  guint32          *special;
  guint             n_special;
};

gint32   loom_tokenizer_lookup        (LoomTokenizer  *self,
                                       const char     *text,
                                       gsize           length);
gboolean loom_tokenizer_find_merge    (LoomTokenizer  *self,
                                       gint32          left,
                                       gint32          right,
                                       guint32        *rank,
                                       gint32         *result);

/* Byte length of the UTF-8 sequence @lead starts, as llama.cpp counts it: 1 for ASCII
 * and for stray continuation bytes. */
static inline gsize
loom_utf8_sequence_length (guint8 lead)
{
  static const guint8 lengths[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
  return lengths[lead >> 4];
}

/* A priority queue of candidate merges between neighbouring symbols. Both models merge
 * the best candidate first and, among equals, the leftmost. */
typedef struct
{
  guint64 key;   /* priority (smaller first) << 32 | left symbol index */
  guint32 right; /* symbol index */
  guint32 size;  /* bytes of both symbols when queued; a stale candidate no longer matches */
  gint32  token; /* what the merged symbol spells, or -1 */
} LoomMergeCandidate;

void     loom_merge_queue_push        (GArray              *queue,
                                       const LoomMergeCandidate *candidate);
gboolean loom_merge_queue_pop         (GArray              *queue,
                                       LoomMergeCandidate  *candidate);

/* SentencePiece BPE on one fragment of text (no special tokens in it). */
void     loom_tokenizer_spm_encode    (LoomTokenizer  *self,
                                       const char     *text,
                                       gsize           length,
                                       gboolean        add_space_prefix,
                                       GArray         *out);

/* Byte-level BPE on one fragment of text. */
void     loom_tokenizer_bpe_encode    (LoomTokenizer  *self,
                                       const char     *text,
                                       gsize           length,
                                       GArray         *out);
/* The GPT-2 character that stands for @byte, as UTF-8 (1 or 2 bytes, NUL-terminated). */
const char *loom_bpe_byte_to_char     (guint8          byte);
/* The byte a GPT-2 character stands for, or -1. */
gint     loom_bpe_char_to_byte        (gunichar        c);

/* Splits @n code points into pre-tokens: appends the end index of each to @ends (an
 * array of gsize). @cpts holds U+FFFD where the text had bytes that are not UTF-8. */
void     loom_pretokenize             (LoomPreTokenizer kind,
                                       const gunichar  *cpts,
                                       gsize            n,
                                       GArray          *ends);

G_END_DECLS
