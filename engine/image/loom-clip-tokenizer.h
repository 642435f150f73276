/* loom-clip-tokenizer.h — the CLIP BPE tokenizer of Stable Diffusion's text encoders,
 * and prompt parsing as users of other SD tools write prompts.
 *
 * Text is cleaned (HTML entities unescaped, whitespace collapsed, stripped), lower-cased,
 * split with CLIP's pattern ('s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+),
 * each piece byte-encoded (GPT-2's bytes_to_unicode), its last symbol marked with </w>,
 * and merged by rank. Start 49406 <|startoftext|>, end 49407 <|endoftext|>.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define LOOM_CLIP_CONTEXT      77   /* tokens per encoder pass, start and end included */
#define LOOM_CLIP_CHUNK_TOKENS 75   /* prompt tokens per pass */

typedef struct _LoomClipTokenizer LoomClipTokenizer;

/* From CLIP's merges file (bpe_simple_vocab_16e6.txt[.gz]: a version line, then
 * 48894 merges used, the vocabulary built from bytes, bytes+</w>, merges and specials). */
LoomClipTokenizer *loom_clip_tokenizer_new_from_merges (const char         *merges_path,
                                                        GError            **error);
/* From a diffusers/Hugging Face tokenizer/ folder's vocab.json and merges.txt. */
LoomClipTokenizer *loom_clip_tokenizer_new_from_files  (const char         *vocab_json_path,
                                                        const char         *merges_txt_path,
                                                        GError            **error);
void               loom_clip_tokenizer_free            (LoomClipTokenizer  *self);
guint              loom_clip_tokenizer_get_n_vocab     (LoomClipTokenizer  *self);
guint32            loom_clip_tokenizer_get_start       (LoomClipTokenizer  *self);
guint32            loom_clip_tokenizer_get_end         (LoomClipTokenizer  *self);
/* The tokens of @text without start/end: a new array of guint32. */
GArray            *loom_clip_tokenizer_encode          (LoomClipTokenizer  *self,
                                                        const char         *text);
/* The text of a token (with "</w>" shown as a trailing space). */
char              *loom_clip_tokenizer_decode          (LoomClipTokenizer  *self,
                                                        const guint32      *tokens,
                                                        guint               n_tokens);

/* A prompt prepared for the encoder: n_chunks passes of LOOM_CLIP_CONTEXT tokens (start,
 * up to 75 tokens, end, then padding with the end token — SD2's tokenizer pads with 0:
 * @pad_token), and a weight per token (1.0 for start/end/padding).
 *
 * Syntax (AUTOMATIC1111's): (text) ×1.1, ((text)) ×1.21, [text] ÷1.1, (text:1.3) ×1.3,
 * \( \) \[ \] literal brackets, "BREAK" starts a new chunk. Chunks break at the last
 * comma within the last 20 tokens when one is there, else at 75 tokens. An empty prompt
 * is one chunk of start, end, padding. */
typedef struct
{
  guint    n_chunks;
  guint32 *tokens;   /* n_chunks × LOOM_CLIP_CONTEXT */
  float   *weights;  /* n_chunks × LOOM_CLIP_CONTEXT */
  guint    n_prompt_tokens;  /* tokens of text, for counters in the UI */
} LoomClipPrompt;

LoomClipPrompt *loom_clip_prompt_parse    (LoomClipTokenizer *tokenizer,
                                           const char        *prompt,
                                           guint32            pad_token,
                                           GError           **error);
/* Appends empty chunks (start, end, padding) so that @self has @n_chunks; for
 * guidance, the prompt and negative prompt must have as many chunks. */
void            loom_clip_prompt_pad_to   (LoomClipPrompt    *self,
                                           LoomClipTokenizer *tokenizer,
                                           guint32            pad_token,
                                           guint              n_chunks);
void            loom_clip_prompt_free     (LoomClipPrompt    *self);
/* Applies the weights to the encoder's output @hidden [n_chunks·77][dim] as A1111
 * does: each token's row is multiplied by its weight, then each chunk (one encoder pass,
 * 77 rows) is rescaled so that its mean is what it was before. */
void            loom_clip_prompt_apply_weights (const LoomClipPrompt *self,
                                                float               *hidden,
                                                guint                dim);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomClipTokenizer, loom_clip_tokenizer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomClipPrompt, loom_clip_prompt_free)

G_END_DECLS
