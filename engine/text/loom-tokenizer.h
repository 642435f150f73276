/* loom-tokenizer.h — text to token ids and back, from a GGUF file's vocabulary.
 *
 * Two models, chosen by tokenizer.ggml.model:
 *   "llama"  SentencePiece BPE: merges by score, spaces as “▁”, an optional leading space,
 *            and byte fallback (<0xXX> tokens) for what the vocabulary lacks;
 *   "gpt2"   byte-level BPE: a pre-tokenizer regex chosen by tokenizer.ggml.pre
 *            ("llama-bpe"/"llama3", "qwen2", "gpt-2", …), then merges by rank.
 * Results match llama.cpp's tokenizer (its test suites pass). A LoomTokenizer is
 * immutable after creation and may be used from any thread.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "formats/loom-gguf.h"

G_BEGIN_DECLS

typedef struct _LoomTokenizer   LoomTokenizer;
typedef struct _LoomDetokenizer LoomDetokenizer;

typedef enum
{
  LOOM_TOKENIZE_NONE = 0,
  LOOM_TOKENIZE_ADD_BOS = 1 << 0,       /* prepend BOS when the vocabulary has one */
  LOOM_TOKENIZE_PARSE_SPECIAL = 1 << 1, /* text like "<|eot_id|>" becomes that token */
} LoomTokenizeFlags;

/* Token attributes, as tokenizer.ggml.token_type numbers them. */
typedef enum
{
  LOOM_TOKEN_UNDEFINED = 0,
  LOOM_TOKEN_NORMAL = 1,
  LOOM_TOKEN_UNKNOWN = 2,
  LOOM_TOKEN_CONTROL = 3,
  LOOM_TOKEN_USER_DEFINED = 4,
  LOOM_TOKEN_UNUSED = 5,
  LOOM_TOKEN_BYTE = 6,
} LoomTokenType;

/* Reads the vocabulary from @gguf (which need not have tensors). Errors:
 * LOOM_ERROR_UNSUPPORTED_MODEL for an unknown tokenizer model or pre-tokenizer,
 * LOOM_ERROR_INVALID_MODEL for an inconsistent vocabulary (sizes, ids out of range). */
LoomTokenizer   *loom_tokenizer_new_from_gguf    (LoomGguf          *gguf,
                                                  GError           **error);
LoomTokenizer   *loom_tokenizer_ref              (LoomTokenizer     *self);
void             loom_tokenizer_unref            (LoomTokenizer     *self);

/* Returns: (element-type guint32): the token ids of @text (@length bytes, or -1 for a
 * NUL-terminated string). Invalid UTF-8 is tokenized as its bytes. */
GArray          *loom_tokenizer_encode           (LoomTokenizer     *self,
                                                  const char        *text,
                                                  gssize             length,
                                                  LoomTokenizeFlags  flags);

guint            loom_tokenizer_get_n_vocab      (LoomTokenizer     *self);
const char      *loom_tokenizer_get_model        (LoomTokenizer     *self);  /* "llama", "gpt2" */
gint32           loom_tokenizer_get_bos          (LoomTokenizer     *self);  /* -1: none */
gint32           loom_tokenizer_get_eos          (LoomTokenizer     *self);  /* -1: none */
gboolean         loom_tokenizer_get_add_bos      (LoomTokenizer     *self);  /* the vocabulary's default */
/* End of generation: EOS, EOT, EOM and the like. */
gboolean         loom_tokenizer_is_eog           (LoomTokenizer     *self,
                                                  guint32            token);
LoomTokenType    loom_tokenizer_get_token_type   (LoomTokenizer     *self,
                                                  guint32            token);
/* Returns: the token as the vocabulary spells it (e.g. "▁the", "<0x0A>", "Ġthe"). */
const char      *loom_tokenizer_get_token_text   (LoomTokenizer     *self,
                                                  guint32            token);
/* Appends the bytes @token stands for to @out (“▁” becomes a space, <0x0A> a newline
 * byte, byte-level BPE is decoded); control tokens append nothing unless @special.
 * The bytes may be part of a UTF-8 sequence: see LoomDetokenizer. */
void             loom_tokenizer_append_piece     (LoomTokenizer     *self,
                                                  guint32            token,
                                                  gboolean           special,
                                                  GByteArray        *out);

/* Turns a stream of tokens into valid UTF-8 text, holding back the bytes of a character
 * split across tokens until it is complete. As SentencePiece's decoder does, the
 * leading space of the first piece after BOS is dropped when the vocabulary adds a
 * space prefix. */
LoomDetokenizer *loom_detokenizer_new            (LoomTokenizer     *tokenizer);
void             loom_detokenizer_free           (LoomDetokenizer   *self);
/* Appends to @out the text that is complete after @token. */
void             loom_detokenizer_push           (LoomDetokenizer   *self,
                                                  guint32            token,
                                                  GString           *out);
/* Appends what is held back, invalid sequences as U+FFFD, and resets. */
void             loom_detokenizer_flush          (LoomDetokenizer   *self,
                                                  GString           *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomTokenizer, loom_tokenizer_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomDetokenizer, loom_detokenizer_free)

G_END_DECLS
