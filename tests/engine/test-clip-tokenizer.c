/* test-clip-tokenizer.c — CLIP's BPE tokenizer against the ids of the reference
 * implementation, the same vocabulary as a diffusers tokenizer/ folder, AUTOMATIC1111's
 * prompt syntax and chunking, and broken vocabulary files.
 *
 * $CANDOR_TESTDATA/clip-bpe holds CLIP's bpe_simple_vocab_16e6.txt.gz and
 * clip_expected_ids.json (text → ids with start and end, from CLIP's tokenizer); the
 * tests that need them are skipped without them. The rest build small vocabularies.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "loom-test-util.h"
#include "image/loom-clip-tokenizer.h"

#define CLIP_N_MERGES 48894
#define CLIP_N_VOCAB  49408
#define CLIP_START    49406
#define CLIP_END      49407
#define ID_A          320   /* "a</w>", as the expected ids spell it */
#define ID_CAT        2368
#define ID_DOG        1929
#define ID_ON         525
#define ID_COMMA      267   /* ",</w>" */

static LoomClipTokenizer *reference_tokenizer;

static char *
testdata_path (const char *name)
{
  const char *root = g_getenv ("CANDOR_TESTDATA");

  return root != NULL ? g_build_filename (root, "clip-bpe", name, NULL) : NULL;
}

/* Marks the test skipped and returns FALSE when @path is not there. */
static gboolean
require_file (const char *path)
{
  g_autofree char *message = NULL;

  if (path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  message = path != NULL ? g_strdup_printf ("%s is missing", path)
                         : g_strdup ("CANDOR_TESTDATA is not set");
  g_test_skip (message);
  return FALSE;
}

/* Returns: (transfer none) (nullable): CLIP's tokenizer from its merges file, or NULL
 * (after marking the test skipped if @skip) when the file is missing. */
static LoomClipTokenizer *
load_reference (gboolean skip)
{
  g_autofree char *path = testdata_path ("bpe_simple_vocab_16e6.txt.gz");
  g_autoptr(GError) error = NULL;

  if (reference_tokenizer != NULL)
    return reference_tokenizer;
  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      if (skip)
        require_file (path);
      return NULL;
    }
  reference_tokenizer = loom_clip_tokenizer_new_from_merges (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reference_tokenizer);
  return reference_tokenizer;
}

static LoomClipTokenizer *
get_reference (void)
{
  return load_reference (TRUE);
}

/* Files */

static char *
gunzip_file (const char *path,
             gsize      *length)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  char nul = '\0';

  raw = G_INPUT_STREAM (g_file_read (file, NULL, &error));
  g_assert_no_error (error);
  in = g_converter_input_stream_new (raw, G_CONVERTER (gunzip));
  g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, &error);
  g_assert_no_error (error);
  *length = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out));
  g_output_stream_write_all (out, &nul, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));
}

static GBytes *
gzip_bytes (const char *text,
            gsize       length)
{
  g_autoptr(GZlibCompressor) gzip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (gzip));
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (out, text, length, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static void
write_file (const char *path,
            const char *contents,
            gssize      length)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
}

/* GPT-2's bytes_to_unicode written out from its definition: the printable bytes of
 * Latin-1 stand for themselves, the others take U+0100 on in byte order. @order lists
 * the bytes in that order (CLIP's vocabulary starts so). */
static void
byte_chars (char   chars[256][3],
            guint8 order[256])
{
  guint n_order = 0, n_others = 0;

  for (guint b = 0; b < 256; b++)
    if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff))
      {
        memset (chars[b], 0, 3);
        g_unichar_to_utf8 (b, chars[b]);
        order[n_order++] = b;
      }
  for (guint b = 0; b < 256; b++)
    if (!((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)))
      {
        memset (chars[b], 0, 3);
        g_unichar_to_utf8 (0x100 + n_others++, chars[b]);
        order[n_order++] = b;
      }
  g_assert_cmpuint (n_order, ==, 256);
}

/* Writes @tokens (id → text) as a vocab.json. */
static void
write_vocab_json (const char *path,
                  GPtrArray  *tokens)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  json_builder_begin_object (builder);
  for (guint id = 0; id < tokens->len; id++)
    {
      json_builder_set_member_name (builder, g_ptr_array_index (tokens, id));
      json_builder_add_int_value (builder, id);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_to_file (generator, path, &error);
  g_assert_no_error (error);
}

static void
assert_ids (GArray        *ids,
            const guint32 *expected,
            guint          n_expected)
{
  g_assert_cmpmem (ids->data, ids->len * sizeof (guint32), expected,
                   n_expected * sizeof (guint32));
}

/* Every case of clip_expected_ids.json, with start and end around the text's ids. */
static void
check_expected_ids (LoomClipTokenizer *tokenizer)
{
  g_autofree char *path = testdata_path ("clip_expected_ids.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *cases;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), >=, 20);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonArray *pair = json_array_get_array_element (cases, i);
      const char *text = json_array_get_string_element (pair, 0);
      JsonArray *ids = json_array_get_array_element (pair, 1);
      g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr(GArray) got = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr(GArray) encoded = loom_clip_tokenizer_encode (tokenizer, text);
      guint32 start = loom_clip_tokenizer_get_start (tokenizer);
      guint32 end = loom_clip_tokenizer_get_end (tokenizer);

      for (guint j = 0; j < json_array_get_length (ids); j++)
        {
          guint32 id = json_array_get_int_element (ids, j);
          g_array_append_val (expected, id);
        }
      g_array_append_val (got, start);
      g_array_append_vals (got, encoded->data, encoded->len);
      g_array_append_val (got, end);
      if (got->len != expected->len
          || memcmp (got->data, expected->data, got->len * sizeof (guint32)) != 0)
        g_test_message ("case %u: “%s”", i, text);
      assert_ids (got, (const guint32 *) expected->data, expected->len);
    }
}

static void
test_reference_ids (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autofree char *expected = testdata_path ("clip_expected_ids.json");

  if (tokenizer == NULL || !require_file (expected))
    return;
  g_assert_cmpuint (loom_clip_tokenizer_get_n_vocab (tokenizer), ==, CLIP_N_VOCAB);
  g_assert_cmpuint (loom_clip_tokenizer_get_start (tokenizer), ==, CLIP_START);
  g_assert_cmpuint (loom_clip_tokenizer_get_end (tokenizer), ==, CLIP_END);
  check_expected_ids (tokenizer);
}

/* The same vocabulary written as diffusers ships it: vocab.json (built here from the
 * merges as CLIP builds it) and merges.txt. */
static void
test_hf_files (void)
{
  g_autofree char *gz = testdata_path ("bpe_simple_vocab_16e6.txt.gz");
  g_autofree char *expected = testdata_path ("clip_expected_ids.json");
  g_autofree char *dir = NULL;
  g_autofree char *vocab_path = NULL;
  g_autofree char *merges_path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) merges = g_string_new ("#version: 0.2\n");
  g_autoptr(LoomClipTokenizer) tokenizer = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  char chars[256][3];
  guint8 order[256];
  gsize length;

  if (!require_file (gz) || !require_file (expected))
    return;
  contents = gunzip_file (gz, &length);
  lines = g_strsplit (contents, "\n", CLIP_N_MERGES + 2);
  g_assert_cmpuint (g_strv_length (lines), ==, CLIP_N_MERGES + 2);

  byte_chars (chars, order);
  for (guint i = 0; i < 256; i++)
    g_ptr_array_add (tokens, g_strdup (chars[order[i]]));
  for (guint i = 0; i < 256; i++)
    g_ptr_array_add (tokens, g_strconcat (chars[order[i]], "</w>", NULL));
  for (guint i = 1; i <= CLIP_N_MERGES; i++)
    {
      g_auto(GStrv) halves = g_strsplit (lines[i], " ", -1);

      g_assert_cmpuint (g_strv_length (halves), ==, 2);
      g_ptr_array_add (tokens, g_strconcat (halves[0], halves[1], NULL));
      g_string_append_printf (merges, "%s\n", lines[i]);
    }
  g_ptr_array_add (tokens, g_strdup ("<|startoftext|>"));
  g_ptr_array_add (tokens, g_strdup ("<|endoftext|>"));
  g_assert_cmpuint (tokens->len, ==, CLIP_N_VOCAB);

  dir = g_dir_make_tmp ("clip-tokenizer-XXXXXX", &error);
  g_assert_no_error (error);
  vocab_path = g_build_filename (dir, "vocab.json", NULL);
  merges_path = g_build_filename (dir, "merges.txt", NULL);
  write_vocab_json (vocab_path, tokens);
  write_file (merges_path, merges->str, merges->len);

  tokenizer = loom_clip_tokenizer_new_from_files (vocab_path, merges_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loom_clip_tokenizer_get_n_vocab (tokenizer), ==, CLIP_N_VOCAB);
  g_assert_cmpuint (loom_clip_tokenizer_get_start (tokenizer), ==, CLIP_START);
  g_assert_cmpuint (loom_clip_tokenizer_get_end (tokenizer), ==, CLIP_END);
  check_expected_ids (tokenizer);

  g_unlink (vocab_path);
  g_unlink (merges_path);
  g_rmdir (dir);
}

/* A small vocabulary whose ids are not CLIP's order (specials first), to check merges
 * by hand: "b c</w>" ranks before "a b", and a pair merges left to right. */
typedef struct
{
  char              *dir;
  char              *vocab_path;
  char              *merges_path;
  GPtrArray         *tokens;
  LoomClipTokenizer *tokenizer;
} Small;

static const char *const small_merges[] = { "b c</w>", "a b", "a bc</w>", "a a" };

static void
small_write (Small      *small,
             const char *merges_text)
{
  write_vocab_json (small->vocab_path, small->tokens);
  write_file (small->merges_path, merges_text, -1);
}

static void
small_init (Small *small)
{
  g_autoptr(GString) merges = g_string_new ("#version: 0.2\n");
  g_autoptr(GError) error = NULL;
  char chars[256][3];
  guint8 order[256];

  small->dir = g_dir_make_tmp ("clip-tokenizer-XXXXXX", &error);
  g_assert_no_error (error);
  small->vocab_path = g_build_filename (small->dir, "vocab.json", NULL);
  small->merges_path = g_build_filename (small->dir, "merges.txt", NULL);
  small->tokens = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (small->tokens, g_strdup ("<|startoftext|>")); /* 0 */
  g_ptr_array_add (small->tokens, g_strdup ("<|endoftext|>"));   /* 1 */
  g_ptr_array_add (small->tokens, g_strdup ("bc</w>"));          /* 2 */
  g_ptr_array_add (small->tokens, g_strdup ("ab"));              /* 3 */
  g_ptr_array_add (small->tokens, g_strdup ("abc</w>"));         /* 4 */
  g_ptr_array_add (small->tokens, g_strdup ("aa"));              /* 5 */
  byte_chars (chars, order);
  for (guint b = 0; b < 256; b++)                                /* 6 + b */
    g_ptr_array_add (small->tokens, g_strdup (chars[b]));
  for (guint b = 0; b < 256; b++)                                /* 262 + b */
    g_ptr_array_add (small->tokens, g_strconcat (chars[b], "</w>", NULL));
  for (guint i = 0; i < G_N_ELEMENTS (small_merges); i++)
    g_string_append_printf (merges, "%s\n", small_merges[i]);
  small_write (small, merges->str);
  small->tokenizer = loom_clip_tokenizer_new_from_files (small->vocab_path,
                                                         small->merges_path, &error);
  g_assert_no_error (error);
}

static void
small_clear (Small *small)
{
  g_clear_pointer (&small->tokenizer, loom_clip_tokenizer_free);
  g_unlink (small->vocab_path);
  g_unlink (small->merges_path);
  g_rmdir (small->dir);
  g_clear_pointer (&small->tokens, g_ptr_array_unref);
  g_clear_pointer (&small->vocab_path, g_free);
  g_clear_pointer (&small->merges_path, g_free);
  g_clear_pointer (&small->dir, g_free);
}

#define BYTE(c)     (6 + (guint8) (c))
#define BYTE_END(c) (262 + (guint8) (c))

static void
assert_encodes (LoomClipTokenizer *tokenizer,
                const char        *text,
                const guint32     *expected,
                guint              n_expected)
{
  g_autoptr(GArray) ids = loom_clip_tokenizer_encode (tokenizer, text);

  assert_ids (ids, expected, n_expected);
}

static void
test_merge_order (void)
{
  Small small = { 0 };
  /* a b c</w>: "b c</w>" (rank 0) first, then "a bc</w>"; "a b" never applies. */
  const guint32 abc[] = { 4 };
  /* a b a b</w>: "a b" once; "a b</w>" is no merge. */
  const guint32 abab[] = { 3, BYTE ('a'), BYTE_END ('b') };
  /* a a a</w>: the pair merges left to right, without overlap. */
  const guint32 aaa[] = { 5, BYTE_END ('a') };
  /* Pieces: a word, a digit at a time, punctuation runs, CLIP's contractions. */
  const guint32 mixed[] = { 4, BYTE_END ('4'), BYTE_END ('2'), BYTE ('!'), BYTE_END ('?'),
                            BYTE ('\''), BYTE_END ('s') };
  const guint32 special[] = { 0, 3, BYTE_END ('x'), 1 };
  const guint32 abc_decoded[] = { 0, 4, 3, BYTE ('a'), BYTE_END ('b'), 1 };
  g_autofree char *decoded = NULL;

  small_init (&small);
  g_assert_cmpuint (loom_clip_tokenizer_get_n_vocab (small.tokenizer), ==, 6 + 512);
  g_assert_cmpuint (loom_clip_tokenizer_get_start (small.tokenizer), ==, 0);
  g_assert_cmpuint (loom_clip_tokenizer_get_end (small.tokenizer), ==, 1);
  assert_encodes (small.tokenizer, "abc", abc, G_N_ELEMENTS (abc));
  assert_encodes (small.tokenizer, "  ABC\n", abc, G_N_ELEMENTS (abc));
  assert_encodes (small.tokenizer, "abab", abab, G_N_ELEMENTS (abab));
  assert_encodes (small.tokenizer, "aaa", aaa, G_N_ELEMENTS (aaa));
  assert_encodes (small.tokenizer, "abc 42 !? 's", mixed, G_N_ELEMENTS (mixed));
  /* Twice: the second comes from the cache. */
  assert_encodes (small.tokenizer, "abc 42 !? 's", mixed, G_N_ELEMENTS (mixed));
  /* CLIP's pattern keeps its special tokens whole. */
  assert_encodes (small.tokenizer, "<|startoftext|>abx<|endoftext|>", special,
                  G_N_ELEMENTS (special));

  decoded = loom_clip_tokenizer_decode (small.tokenizer, abc_decoded,
                                        G_N_ELEMENTS (abc_decoded));
  g_assert_cmpstr (decoded, ==, "<|startoftext|>abc abab <|endoftext|>");
  small_clear (&small);
}

/* Cleaning: each text must tokenize as its plain equivalent does. */
static void
test_clean (void)
{
  static const struct
  {
    const char *text;
    const char *plain;
  } cases[] = {
    { "don&#39;t", "don't" },
    { "rock &amp; roll", "rock & roll" },
    { "&amp;lt;b&amp;gt;", "<b>" },            /* unescaped twice, as CLIP does */
    { "&#x41;&#66;c", "abc" },
    { "&#65x", "ax" },                         /* the semicolon is optional */
    { "&ampx &lt", "&x <" },                   /* legacy names, also as prefixes */
    { "&apos &bogus; &#; &", "& apos & bogus ; &#; &" },
    { "&#128;", "\u20ac" },                    /* Windows-1252 in the C1 range */
    { "a&#1;b", "ab" },
    { "&#0; &#99999999;", "\ufffd \ufffd" },
    { "&copy; &hellip;", "\u00a9 \u2026" },
    { "\x1c a\u00a0\u3000b c\t\n\x1f", "a b c" }, /* Python's whitespace */
    { "\u216b \u24b7", "\u217b \u24d1" },    /* Python's lower() */
    { "\u00c9COLE", "\u00e9cole" },
    { "e\u0301cole", "\u00e9cole" },           /* NFC */
    { "caf\xff", "caf\ufffd" },                /* bytes that are not UTF-8 */
  };
  /* Any vocabulary will do: without CLIP's, the small one. */
  LoomClipTokenizer *tokenizer = load_reference (FALSE);
  Small small = { 0 };

  if (tokenizer == NULL)
    {
      small_init (&small);
      tokenizer = small.tokenizer;
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GArray) got = loom_clip_tokenizer_encode (tokenizer, cases[i].text);
      g_autoptr(GArray) expected = loom_clip_tokenizer_encode (tokenizer, cases[i].plain);

      g_autofree char *escaped = g_strescape (cases[i].text, NULL);

      g_test_message ("case %u: “%s”", i, escaped);
      g_assert_cmpuint (got->len, >, 0);
      assert_ids (got, (const guint32 *) expected->data, expected->len);
    }
  if (small.tokenizer != NULL)
    small_clear (&small);
}

static void
test_decode (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(GArray) ids = NULL;
  g_autofree char *text = NULL;
  const guint32 with_invalid[] = { ID_A, CLIP_N_VOCAB + 5, ID_CAT };

  if (tokenizer == NULL)
    return;
  ids = loom_clip_tokenizer_encode (tokenizer, "A photo of a café, 😀 你好!");
  text = loom_clip_tokenizer_decode (tokenizer, (const guint32 *) ids->data, ids->len);
  g_assert_cmpstr (text, ==, "a photo of a café , 😀 你好 ! ");
  g_clear_pointer (&text, g_free);
  text = loom_clip_tokenizer_decode (tokenizer, with_invalid, G_N_ELEMENTS (with_invalid));
  g_assert_cmpstr (text, ==, "a cat ");
}

/* Several threads share one tokenizer (and its cache). */
static gpointer
encode_worker (gpointer data)
{
  GArray *ids = NULL;

  for (guint i = 0; i < 20; i++)
    {
      g_clear_pointer (&ids, g_array_unref);
      ids = loom_clip_tokenizer_encode (data, "a photograph of an astronaut riding a horse, "
                                              "highly detailed, trending on artstation");
    }
  return ids;
}

static void
test_threads (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(GArray) expected = NULL;
  GThread *threads[4];

  if (tokenizer == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("encode", encode_worker, tokenizer);
  expected = encode_worker (tokenizer);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_autoptr(GArray) ids = g_thread_join (threads[i]);

      assert_ids (ids, (const guint32 *) expected->data, expected->len);
    }
}

/* Prompts */

static void
assert_weights (const LoomClipPrompt *prompt,
                guint                 chunk,
                const float          *expected,
                guint                 n)
{
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (prompt->weights[chunk * LOOM_CLIP_CONTEXT + 1 + i],
                                    expected[i], 1e-6);
}

/* Checks chunk @chunk: start, @tokens, end, @pad to the end, weight 1 outside tokens. */
static void
assert_chunk (const LoomClipPrompt *prompt,
              guint                 chunk,
              const guint32        *tokens,
              guint                 n_tokens,
              guint32               pad)
{
  const guint32 *got = prompt->tokens + chunk * LOOM_CLIP_CONTEXT;
  const float *weights = prompt->weights + chunk * LOOM_CLIP_CONTEXT;

  g_assert_cmpuint (chunk, <, prompt->n_chunks);
  g_assert_cmpuint (got[0], ==, CLIP_START);
  g_assert_cmpmem (got + 1, n_tokens * sizeof (guint32), tokens, n_tokens * sizeof (guint32));
  g_assert_cmpuint (got[n_tokens + 1], ==, CLIP_END);
  for (guint i = n_tokens + 2; i < LOOM_CLIP_CONTEXT; i++)
    g_assert_cmpuint (got[i], ==, pad);
  g_assert_cmpfloat (weights[0], ==, 1.0f);
  for (guint i = n_tokens + 1; i < LOOM_CLIP_CONTEXT; i++)
    g_assert_cmpfloat (weights[i], ==, 1.0f);
}

static LoomClipPrompt *
parse (LoomClipTokenizer *tokenizer,
       const char        *text)
{
  g_autoptr(GError) error = NULL;
  LoomClipPrompt *prompt = loom_clip_prompt_parse (tokenizer, text, CLIP_END, &error);

  g_assert_no_error (error);
  g_assert_nonnull (prompt);
  return prompt;
}

/* The ids of @texts, each tokenized alone as the parser tokenizes runs of one weight. */
static GArray *
encode_runs (LoomClipTokenizer  *tokenizer,
             const char *const  *texts,
             GArray             *run_lengths)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (guint i = 0; texts[i] != NULL; i++)
    {
      g_autoptr(GArray) run = loom_clip_tokenizer_encode (tokenizer, texts[i]);

      g_array_append_vals (ids, run->data, run->len);
      if (run_lengths != NULL)
        g_array_append_val (run_lengths, run->len);
    }
  return ids;
}

static void
test_prompt_weights (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(LoomClipPrompt) prompt = NULL;
  const guint32 cat_tokens[] = { ID_A, ID_CAT, ID_ON, ID_A, ID_DOG };
  const float cat_weights[] = { 1.5f, 1.5f, 1.0f, 1 / 1.1f, 1.21f };
  /* AUTOMATIC1111's own example: the first "(" is never closed, so it weighs everything
   * after it by 1.1 at the end. */
  const char *const house_runs[] = { "a ", "house", " ", "on", " a ", "hill", ", sun, ", "sky",
                                     ".", NULL };
  const double house_weights[] = { 1.0, 1.3 * 1.1 * 1.1, 1.1, 1.0, 1.1, 0.5 * 1.1, 1.1,
                                   1.1 * 1.1 * 1.1 * 1.1, 1.1 };
  g_autoptr(GArray) run_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) house = NULL;
  guint at = 0;

  if (tokenizer == NULL)
    return;

  prompt = parse (tokenizer, "(a cat:1.5) on [a] ((dog))");
  g_assert_cmpuint (prompt->n_chunks, ==, 1);
  g_assert_cmpuint (prompt->n_prompt_tokens, ==, 5);
  assert_chunk (prompt, 0, cat_tokens, G_N_ELEMENTS (cat_tokens), CLIP_END);
  assert_weights (prompt, 0, cat_weights, G_N_ELEMENTS (cat_weights));
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* Spaces around the weight, a signed one, and nesting inside it. */
  prompt = parse (tokenizer, "(a ((cat)) : -0.5 ) [[dog]]");
  {
    const guint32 tokens[] = { ID_A, ID_CAT, ID_DOG };
    const float weights[] = { -0.5f, -0.5f * 1.21f, 1 / 1.21f };

    assert_chunk (prompt, 0, tokens, G_N_ELEMENTS (tokens), CLIP_END);
    assert_weights (prompt, 0, weights, G_N_ELEMENTS (weights));
  }
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  prompt = parse (tokenizer, "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).");
  house = encode_runs (tokenizer, house_runs, run_lengths);
  assert_chunk (prompt, 0, (const guint32 *) house->data, house->len, CLIP_END);
  for (guint r = 0; r < run_lengths->len; r++)
    for (guint i = 0; i < g_array_index (run_lengths, guint, r); i++, at++)
      g_assert_cmpfloat_with_epsilon (prompt->weights[1 + at], house_weights[r], 1e-6);
  g_assert_cmpuint (at, ==, house->len);
}

static void
test_prompt_escapes (void)
{
  static const struct
  {
    const char *prompt;
    const char *text;   /* the one run it is */
    float       weight;
  } cases[] = {
    { "\\(literal\\]", "(literal]", 1.0f },
    { "a \\(b\\) \\[c\\] d", "a (b) [c] d", 1.0f },
    { "(unbalanced", "unbalanced", 1.1f },
    { "[unbalanced", "unbalanced", 1 / 1.1f },
    { "(unnecessary)(parens)", "unnecessaryparens", 1.1f },  /* runs of one weight merge */
    { "a:b", "a:b", 1.0f },
    { "cat:1.5)", "cat:1.5)", 1.0f },  /* a weight closes nothing without "(" */
    { "a ] b )", "a ] b )", 1.0f },
  };
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(GError) error = NULL;
  LoomClipPrompt *prompt;

  if (tokenizer == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LoomClipPrompt) parsed = parse (tokenizer, cases[i].prompt);
      g_autoptr(GArray) ids = loom_clip_tokenizer_encode (tokenizer, cases[i].text);

      g_test_message ("case %u: %s", i, cases[i].prompt);
      g_assert_cmpuint (parsed->n_prompt_tokens, ==, ids->len);
      assert_chunk (parsed, 0, (const guint32 *) ids->data, ids->len, CLIP_END);
      for (guint t = 0; t < ids->len; t++)
        g_assert_cmpfloat_with_epsilon (parsed->weights[1 + t], cases[i].weight, 1e-6);
    }

  /* Python's float() refuses it, and so A1111 fails the prompt. */
  prompt = loom_clip_prompt_parse (tokenizer, "(a cat:1.2.3)", CLIP_END, &error);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
  g_assert_null (prompt);
  g_clear_error (&error);
  prompt = loom_clip_prompt_parse (tokenizer, "a\xff", CLIP_END, &error);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
  g_assert_null (prompt);
}

static void
test_prompt_break (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(LoomClipPrompt) prompt = NULL;
  g_autoptr(GArray) breakfast = NULL;
  const guint32 a_cat[] = { ID_A, ID_CAT };
  const guint32 a_dog[] = { ID_A, ID_DOG };

  if (tokenizer == NULL)
    return;

  prompt = parse (tokenizer, "a cat BREAK a dog");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  g_assert_cmpuint (prompt->n_prompt_tokens, ==, 4);
  assert_chunk (prompt, 0, a_cat, 2, CLIP_END);
  assert_chunk (prompt, 1, a_dog, 2, CLIP_END);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* Weights go on across the break. */
  prompt = parse (tokenizer, "(a cat BREAK a dog:1.2)");
  {
    const float weights[] = { 1.2f, 1.2f };

    g_assert_cmpuint (prompt->n_chunks, ==, 2);
    assert_weights (prompt, 0, weights, 2);
    assert_weights (prompt, 1, weights, 2);
  }
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* A leading BREAK leaves an empty chunk; a trailing one adds none. */
  prompt = parse (tokenizer, "BREAK a cat BREAK");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  assert_chunk (prompt, 0, NULL, 0, CLIP_END);
  assert_chunk (prompt, 1, a_cat, 2, CLIP_END);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* Only the whole upper-case word. */
  prompt = parse (tokenizer, "BREAKfast break");
  breakfast = loom_clip_tokenizer_encode (tokenizer, "BREAKfast break");
  g_assert_cmpuint (prompt->n_chunks, ==, 1);
  assert_chunk (prompt, 0, (const guint32 *) breakfast->data, breakfast->len, CLIP_END);
}

static void
test_prompt_empty (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(GError) error = NULL;
  const char *const prompts[] = { "", "   ", "()", "[]" };

  if (tokenizer == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (prompts); i++)
    {
      g_autoptr(LoomClipPrompt) prompt = loom_clip_prompt_parse (tokenizer, prompts[i], 0,
                                                                 &error);

      g_assert_no_error (error);
      g_assert_cmpuint (prompt->n_chunks, ==, 1);
      g_assert_cmpuint (prompt->n_prompt_tokens, ==, 0);
      assert_chunk (prompt, 0, NULL, 0, 0);
    }
}

/* @n_cats "cat", a comma, then @n_dogs "dog": where the chunks break. */
static LoomClipPrompt *
parse_cats_comma_dogs (LoomClipTokenizer *tokenizer,
                       guint              n_cats,
                       guint              n_dogs,
                       const char        *dog)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  LoomClipPrompt *prompt;

  for (guint i = 0; i < n_cats; i++)
    g_string_append (text, "cat ");
  g_string_append (text, ", ");
  for (guint i = 0; i < n_dogs; i++)
    g_string_append_printf (text, "%s ", dog);
  prompt = loom_clip_prompt_parse (tokenizer, text->str, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (prompt->n_prompt_tokens, ==, n_cats + 1 + n_dogs);
  return prompt;
}

static void
fill_ids (guint32 *ids,
          guint32  id,
          guint    n)
{
  for (guint i = 0; i < n; i++)
    ids[i] = id;
}

static void
test_prompt_chunks (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(LoomClipPrompt) prompt = NULL;
  g_autoptr(GError) error = NULL;
  guint32 expected[LOOM_CLIP_CHUNK_TOKENS];

  if (tokenizer == NULL)
    return;

  /* 100 words without commas: 75, then 25 and padding (SD 2's 0 here). */
  for (guint i = 0; i < 50; i++)
    g_string_append (text, "cat dog ");
  prompt = loom_clip_prompt_parse (tokenizer, text->str, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  g_assert_cmpuint (prompt->n_prompt_tokens, ==, 100);
  for (guint i = 0; i < LOOM_CLIP_CHUNK_TOKENS; i++)
    expected[i] = i % 2 == 0 ? ID_CAT : ID_DOG;
  assert_chunk (prompt, 0, expected, 75, 0);
  g_assert_cmpuint (prompt->tokens[76], ==, CLIP_END);
  for (guint i = 0; i < 25; i++)
    expected[i] = i % 2 == 0 ? ID_DOG : ID_CAT;
  assert_chunk (prompt, 1, expected, 25, 0);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* A comma 5 tokens back: the 4 dogs after it move on, keeping their weight. */
  prompt = parse_cats_comma_dogs (tokenizer, 70, 10, "(dog:1.3)");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  fill_ids (expected, ID_CAT, 70);
  expected[70] = ID_COMMA;
  assert_chunk (prompt, 0, expected, 71, 0);
  fill_ids (expected, ID_DOG, 10);
  assert_chunk (prompt, 1, expected, 10, 0);
  for (guint i = 0; i < 10; i++)
    g_assert_cmpfloat (prompt->weights[LOOM_CLIP_CONTEXT + 1 + i], ==, 1.3f);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* Exactly 20 back still breaks there... */
  prompt = parse_cats_comma_dogs (tokenizer, 55, 30, "dog");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  fill_ids (expected, ID_CAT, 55);
  expected[55] = ID_COMMA;
  assert_chunk (prompt, 0, expected, 56, 0);
  fill_ids (expected, ID_DOG, 30);
  assert_chunk (prompt, 1, expected, 30, 0);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* ...21 back does not: 75 tokens, then the rest. */
  prompt = parse_cats_comma_dogs (tokenizer, 54, 30, "dog");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  fill_ids (expected, ID_CAT, 54);
  expected[54] = ID_COMMA;
  fill_ids (expected + 55, ID_DOG, 20);
  assert_chunk (prompt, 0, expected, 75, 0);
  fill_ids (expected, ID_DOG, 10);
  assert_chunk (prompt, 1, expected, 10, 0);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* A comma as the 75th token: nothing to move. */
  prompt = parse_cats_comma_dogs (tokenizer, 74, 3, "dog");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  fill_ids (expected, ID_CAT, 74);
  expected[74] = ID_COMMA;
  assert_chunk (prompt, 0, expected, 75, 0);
  fill_ids (expected, ID_DOG, 3);
  assert_chunk (prompt, 1, expected, 3, 0);
  g_clear_pointer (&prompt, loom_clip_prompt_free);

  /* Exactly 75 tokens: one chunk. */
  prompt = parse_cats_comma_dogs (tokenizer, 70, 4, "dog");
  g_assert_cmpuint (prompt->n_chunks, ==, 1);
}

static void
test_prompt_pad_to (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(LoomClipPrompt) prompt = NULL;
  const guint32 a_cat[] = { ID_A, ID_CAT };
  const float weights[] = { 1.1f, 1.1f };

  if (tokenizer == NULL)
    return;
  prompt = parse (tokenizer, "(a cat)");
  loom_clip_prompt_pad_to (prompt, tokenizer, 0, 3);
  g_assert_cmpuint (prompt->n_chunks, ==, 3);
  g_assert_cmpuint (prompt->n_prompt_tokens, ==, 2);
  assert_chunk (prompt, 0, a_cat, 2, CLIP_END);  /* parsed with SD 1's padding */
  assert_weights (prompt, 0, weights, 2);
  assert_chunk (prompt, 1, NULL, 0, 0);
  assert_chunk (prompt, 2, NULL, 0, 0);
  loom_clip_prompt_pad_to (prompt, tokenizer, 0, 2);
  g_assert_cmpuint (prompt->n_chunks, ==, 3);
}

static void
test_prompt_apply_weights (void)
{
  LoomClipTokenizer *tokenizer = get_reference ();
  g_autoptr(LoomClipPrompt) prompt = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autofree float *hidden = NULL;
  g_autofree float *before = NULL;
  const guint dim = 16;
  gsize n;

  if (tokenizer == NULL)
    return;
  prompt = parse (tokenizer, "(a cat:1.5) on [a] ((dog)) BREAK a [[cat]] (dog:0.25)");
  g_assert_cmpuint (prompt->n_chunks, ==, 2);
  n = (gsize) prompt->n_chunks * LOOM_CLIP_CONTEXT * dim;
  hidden = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    hidden[i] = g_rand_double_range (rand, -0.5, 1.5);
  before = g_memdup2 (hidden, n * sizeof (float));

  loom_clip_prompt_apply_weights (prompt, hidden, dim);

  /* Each chunk keeps its mean, and each value is its weight times one factor per
   * chunk: the mean before over the mean weighted. */
  for (guint c = 0; c < prompt->n_chunks; c++)
    {
      gsize base = (gsize) c * LOOM_CLIP_CONTEXT * dim;
      double sum_before = 0, sum_after = 0, sum_weighted = 0;
      double factor;

      for (guint t = 0; t < LOOM_CLIP_CONTEXT; t++)
        for (guint d = 0; d < dim; d++)
          {
            gsize i = base + t * dim + d;
            sum_before += before[i];
            sum_after += hidden[i];
            sum_weighted += before[i] * prompt->weights[c * LOOM_CLIP_CONTEXT + t];
          }
      g_assert_cmpfloat_with_epsilon (sum_after / sum_before, 1.0, 1e-5);
      factor = sum_before / sum_weighted;
      g_assert_cmpfloat (fabs (factor - 1.0), >, 1e-3);  /* the weights did something */
      for (guint t = 0; t < LOOM_CLIP_CONTEXT; t++)
        for (guint d = 0; d < dim; d++)
          {
            gsize i = base + t * dim + d;
            double expected = before[i] * prompt->weights[c * LOOM_CLIP_CONTEXT + t] * factor;
            g_assert_cmpfloat_with_epsilon (hidden[i], expected, 1e-5);
          }
    }
}

/* Broken files */

static void
assert_load_fails (const char *vocab_path,
                   const char *merges_path,
                   GQuark      domain,
                   gint        code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomClipTokenizer) tokenizer = NULL;

  if (vocab_path != NULL)
    tokenizer = loom_clip_tokenizer_new_from_files (vocab_path, merges_path, &error);
  else
    tokenizer = loom_clip_tokenizer_new_from_merges (merges_path, &error);
  g_assert_null (tokenizer);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
}

static void
test_bad_files (void)
{
  Small small = { 0 };
  g_autofree char *gz_path = NULL;
  g_autofree char *text_path = NULL;
  g_autoptr(GString) merges = g_string_new ("\"bpe_simple_vocab_16e6.txt#version: 0.2\n");
  g_autoptr(GBytes) gz = NULL;
  g_autoptr(GError) error = NULL;
  LoomClipTokenizer *tokenizer;
  gsize gz_size;

  small_init (&small);
  gz_path = g_build_filename (small.dir, "merges.txt.gz", NULL);
  text_path = g_build_filename (small.dir, "merges-plain.txt", NULL);

  assert_load_fails (NULL, "/nonexistent/bpe_simple_vocab_16e6.txt.gz", G_IO_ERROR,
                     G_IO_ERROR_NOT_FOUND);
  assert_load_fails ("/nonexistent/vocab.json", small.merges_path, G_IO_ERROR,
                     G_IO_ERROR_NOT_FOUND);
  assert_load_fails (small.vocab_path, "/nonexistent/merges.txt", G_IO_ERROR,
                     G_IO_ERROR_NOT_FOUND);

  /* CLIP's file needs 48894 merges; these are all "a b" (one symbol, "ab"). */
  for (guint i = 0; i < 1000; i++)
    g_string_append (merges, "a b\n");
  gz = gzip_bytes (merges->str, merges->len);
  write_file (gz_path, g_bytes_get_data (gz, NULL), g_bytes_get_size (gz));
  assert_load_fails (NULL, gz_path, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  write_file (text_path, merges->str, merges->len);
  assert_load_fails (NULL, text_path, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);

  /* Truncated: the gzip stream ends early. */
  g_bytes_get_data (gz, &gz_size);
  write_file (gz_path, g_bytes_get_data (gz, NULL), gz_size / 2);
  assert_load_fails (NULL, gz_path, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  /* Not gzip past its magic. */
  write_file (gz_path, "\x1f\x8b garbage that is not deflate", -1);
  assert_load_fails (NULL, gz_path, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);

  /* A merge line without a space, in either format. */
  g_string_truncate (merges, 0);
  g_string_append (merges, "#version: 0.2\n");
  for (guint i = 0; i < 48894; i++)
    g_string_append (merges, i == 30000 ? "ab\n" : "a b\n");
  write_file (text_path, merges->str, merges->len);
  assert_load_fails (NULL, text_path, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  write_file (small.merges_path, "#version: 0.2\nb c</w>\nab\n", -1);
  assert_load_fails (small.vocab_path, small.merges_path, LOOM_ERROR,
                     LOOM_ERROR_INVALID_MODEL);
  /* Two spaces, and a merge of symbols the vocabulary lacks. */
  write_file (small.merges_path, "#version: 0.2\nb  c</w>\n", -1);
  assert_load_fails (small.vocab_path, small.merges_path, LOOM_ERROR,
                     LOOM_ERROR_INVALID_MODEL);
  write_file (small.merges_path, "#version: 0.2\nb c\n", -1);
  assert_load_fails (small.vocab_path, small.merges_path, LOOM_ERROR,
                     LOOM_ERROR_INVALID_MODEL);
  /* Not UTF-8. */
  write_file (small.merges_path, "#version: 0.2\na \xff\n", -1);
  assert_load_fails (small.vocab_path, small.merges_path, LOOM_ERROR,
                     LOOM_ERROR_INVALID_MODEL);
  write_file (small.merges_path, "#version: 0.2\na b\n", -1);

  /* vocab.json that is not an object of ids 0 … n − 1. */
  {
    static const char *const bad_vocabs[] = {
      "[\"a\", \"b\"]", "{\"a\": 0", "", "{\"a\": \"0\"}", "{\"a\": 0.5}", "{\"a\": 0, \"b\": 0}",
      "{\"a\": 0, \"b\": 2}", "{\"a\": -1}", "{\"a\": 0, \"b\": 1}", /* no byte symbols */
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad_vocabs); i++)
      {
        write_file (small.vocab_path, bad_vocabs[i], -1);
        assert_load_fails (small.vocab_path, small.merges_path, LOOM_ERROR,
                           LOOM_ERROR_INVALID_MODEL);
      }
  }
  /* Without its specials. */
  g_ptr_array_remove_index (small.tokens, 0);
  write_vocab_json (small.vocab_path, small.tokens);
  assert_load_fails (small.vocab_path, small.merges_path, LOOM_ERROR,
                     LOOM_ERROR_INVALID_MODEL);

  /* And the files still load once right. */
  g_ptr_array_insert (small.tokens, 0, g_strdup ("<|startoftext|>"));
  write_vocab_json (small.vocab_path, small.tokens);
  tokenizer = loom_clip_tokenizer_new_from_files (small.vocab_path, small.merges_path, &error);
  g_assert_no_error (error);
  loom_clip_tokenizer_free (tokenizer);

  g_unlink (gz_path);
  g_unlink (text_path);
  small_clear (&small);
}

/* About 10 KB of prompt-like text of varied words, the first time (every word merged)
 * and again (from the cache); and the time to load the vocabulary. */
static void
test_speed (void)
{
  g_autofree char *path = testdata_path ("bpe_simple_vocab_16e6.txt.gz");
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) first = NULL;
  g_autoptr(GArray) again = NULL;
  g_autoptr(LoomClipTokenizer) tokenizer = NULL;
  g_autoptr(GError) error = NULL;
  static const char *const syllables[] = {
    "ka", "ro", "mi", "sen", "tal", "ph", "ot", "ograph", "ic", "ul", "tra", "de", "tail",
    "ed", "mas", "ter", "piece", "neon", "ing", "ly", "x", "qu", "ar", "th",
  };
  gint64 t0, t1, t2, t3;

  if (!require_file (path))
    return;
  t0 = g_get_monotonic_time ();
  tokenizer = loom_clip_tokenizer_new_from_merges (path, &error);
  g_assert_no_error (error);
  t1 = g_get_monotonic_time ();

  while (text->len < 10000)
    {
      guint n = g_rand_int_range (rand, 1, 4);

      for (guint i = 0; i < n; i++)
        g_string_append (text, syllables[g_rand_int_range (rand, 0, G_N_ELEMENTS (syllables))]);
      g_string_append (text, g_rand_int_range (rand, 0, 8) == 0 ? ", " : " ");
    }
  t2 = g_get_monotonic_time ();
  first = loom_clip_tokenizer_encode (tokenizer, text->str);
  t3 = g_get_monotonic_time ();
  again = loom_clip_tokenizer_encode (tokenizer, text->str);
  assert_ids (again, (const guint32 *) first->data, first->len);
  g_test_message ("load: %.1f ms; %u bytes → %u tokens: %.2f ms, cached %.2f ms",
                  (t1 - t0) / 1e3, (guint) text->len, first->len, (t3 - t2) / 1e3,
                  (g_get_monotonic_time () - t3) / 1e3);
  g_assert_cmpuint (first->len, >, 1500);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/clip-tokenizer/reference-ids", test_reference_ids);
  g_test_add_func ("/engine/clip-tokenizer/hf-files", test_hf_files);
  g_test_add_func ("/engine/clip-tokenizer/merge-order", test_merge_order);
  g_test_add_func ("/engine/clip-tokenizer/clean", test_clean);
  g_test_add_func ("/engine/clip-tokenizer/decode", test_decode);
  g_test_add_func ("/engine/clip-tokenizer/threads", test_threads);
  g_test_add_func ("/engine/clip-tokenizer/prompt/weights", test_prompt_weights);
  g_test_add_func ("/engine/clip-tokenizer/prompt/escapes", test_prompt_escapes);
  g_test_add_func ("/engine/clip-tokenizer/prompt/break", test_prompt_break);
  g_test_add_func ("/engine/clip-tokenizer/prompt/empty", test_prompt_empty);
  g_test_add_func ("/engine/clip-tokenizer/prompt/chunks", test_prompt_chunks);
  g_test_add_func ("/engine/clip-tokenizer/prompt/pad-to", test_prompt_pad_to);
  g_test_add_func ("/engine/clip-tokenizer/prompt/apply-weights", test_prompt_apply_weights);
  g_test_add_func ("/engine/clip-tokenizer/bad-files", test_bad_files);
  g_test_add_func ("/engine/clip-tokenizer/speed", test_speed);

  status = loom_test_run ();
  g_clear_pointer (&reference_tokenizer, loom_clip_tokenizer_free);
  return status;
}
