/* test-tokenizer.c — llama.cpp's tokenizer suites, detokenizing, special tokens, speed
 * and broken vocabularies.
 *
 * The suites are llama.cpp's test vectors (tests/test-tokenizer-0): each case is
 * tokenized without BOS and without parsing special tokens, and must give exactly the
 * ids llama.cpp gives. They live in $CANDOR_TESTDATA (see ../shared/testdata/README.md);
 * without them those tests are skipped.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "loom-test-util.h"

#define CASE_SEPARATOR   "\n__ggml_vocab_test__\n"
#define LLAMA3_N_VOCAB   128256
#define LLAMA3_N_REGULAR 128000

typedef struct
{
  const char    *name;      /* ggml-vocab-NAME.gguf{,.inp,.out} */
  LoomTokenizer *tokenizer; /* loaded on first use, freed at exit */
} Suite;

static Suite suite_llama_spm = { "llama-spm", NULL };
static Suite suite_phi3 = { "phi-3", NULL };
static Suite suite_gpt2 = { "gpt-2", NULL };
static Suite suite_llama_bpe = { "llama-bpe", NULL };

static char *
testdata_path (const char *first,
               ...)
{
  const char *root = g_getenv ("CANDOR_TESTDATA");
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  va_list args;

  if (root == NULL)
    return NULL;
  g_ptr_array_add (parts, (gpointer) root);
  va_start (args, first);
  for (const char *part = first; part != NULL; part = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
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

static LoomTokenizer *
tokenizer_from_gguf_bytes (GBytes  *bytes,
                           GError **error)
{
  g_autoptr(LoomGguf) gguf = loom_gguf_new_from_bytes (bytes, "test vocabulary", error);

  if (gguf == NULL)
    return NULL;
  return loom_tokenizer_new_from_gguf (gguf, error);
}

static LoomTokenizer *
tokenizer_from_writer (LoomGgufWriter *writer,
                       GError        **error)
{
  g_autoptr(GBytes) bytes = loom_gguf_writer_to_bytes (writer);

  return tokenizer_from_gguf_bytes (bytes, error);
}

/* The Llama 3 vocabulary as a GGUF, the way llama.cpp's converter writes it: the
 * regular tokens by id from encoder.json, the merges from vocab.bpe, and the 256
 * special tokens of Llama 3.2 after them. */
static LoomTokenizer *
build_llama3_tokenizer (const char *encoder_path,
                        const char *merges_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(GPtrArray) specials = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) merges = g_ptr_array_new ();
  g_autofree const char **tokens = g_new0 (const char *, LLAMA3_N_VOCAB);
  g_autofree gint32 *types = g_new (gint32, LLAMA3_N_VOCAB);
  g_autofree char *merges_text = NULL;
  g_auto(GStrv) lines = NULL;
  JsonObject *encoder;
  GList *names;
  LoomTokenizer *tokenizer;

  g_assert_true (json_parser_load_from_mapped_file (parser, encoder_path, &error));
  g_assert_no_error (error);
  encoder = json_node_get_object (json_parser_get_root (parser));
  names = json_object_get_members (encoder);
  for (GList *l = names; l != NULL; l = l->next)
    {
      gint64 id = json_object_get_int_member (encoder, l->data);
      g_assert_cmpint (id, >=, 0);
      g_assert_cmpint (id, <, LLAMA3_N_REGULAR);
      g_assert_null (tokens[id]);
      tokens[id] = l->data;
      types[id] = LOOM_TOKEN_NORMAL;
    }
  g_list_free (names);

  for (guint id = LLAMA3_N_REGULAR; id < LLAMA3_N_VOCAB; id++)
    {
      static const char *const named[] = {
        "<|begin_of_text|>", "<|end_of_text|>", NULL, NULL, "<|finetune_right_pad_id|>", NULL,
        "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>",
        "<|python_tag|>",
      };
      guint i = id - LLAMA3_N_REGULAR;
      /* The reserved ones are numbered in the gaps: 0, 1, 2, then 3 from 128011 on. */
      guint reserved = i < 2 ? i : i == 5 ? 2 : i - 8;
      char *name = i < G_N_ELEMENTS (named) && named[i] != NULL
                     ? g_strdup (named[i])
                     : g_strdup_printf ("<|reserved_special_token_%u|>", reserved);

      g_ptr_array_add (specials, name);
      tokens[id] = name;
      types[id] = LOOM_TOKEN_CONTROL;
    }
  for (guint id = 0; id < LLAMA3_N_VOCAB; id++)
    g_assert_nonnull (tokens[id]);

  g_assert_true (g_file_get_contents (merges_path, &merges_text, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (merges_text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0' && !g_str_has_prefix (lines[i], "#version"))
      g_ptr_array_add (merges, lines[i]);

  loom_gguf_writer_add_string (writer, "general.architecture", "llama");
  loom_gguf_writer_add_string (writer, "general.name", "llama-bpe");
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "gpt2");
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.pre", "llama-bpe");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", tokens, LLAMA3_N_VOCAB);
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.token_type", LOOM_GGUF_INT32, types,
                              LLAMA3_N_VOCAB);
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.merges",
                                (const char *const *) merges->pdata, merges->len);
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.bos_token_id", 128000);
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.eos_token_id", 128001);

  tokenizer = tokenizer_from_writer (writer, &error);
  g_assert_no_error (error);
  return tokenizer;
}

/* Returns: (transfer none) (nullable): the suite's tokenizer; NULL after marking the
 * test skipped when its files are missing. */
static LoomTokenizer *
get_suite_tokenizer (Suite *suite)
{
  g_autoptr(GError) error = NULL;

  if (suite->tokenizer != NULL)
    return suite->tokenizer;

  if (suite == &suite_llama_bpe)
    {
      g_autofree char *encoder = testdata_path ("llama3-bpe", "encoder.json", NULL);
      g_autofree char *merges = testdata_path ("llama3-bpe", "vocab.bpe", NULL);

      if (!require_file (encoder) || !require_file (merges))
        return NULL;
      suite->tokenizer = build_llama3_tokenizer (encoder, merges);
    }
  else
    {
      g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", suite->name);
      g_autofree char *path = testdata_path ("llama-cpp-vocab", file, NULL);
      g_autoptr(LoomGguf) gguf = NULL;

      if (!require_file (path))
        return NULL;
      gguf = loom_gguf_open (path, &error);
      g_assert_no_error (error);
      suite->tokenizer = loom_tokenizer_new_from_gguf (gguf, &error);
      g_assert_no_error (error);
    }

  g_assert_nonnull (suite->tokenizer);
  return suite->tokenizer;
}

/* Reads the suite's cases and expected ids, or marks the test skipped. */
static gboolean
load_cases (const Suite *suite,
            GStrv       *cases,
            GStrv       *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *inp_file = g_strdup_printf ("ggml-vocab-%s.gguf.inp", suite->name);
  g_autofree char *out_file = g_strdup_printf ("ggml-vocab-%s.gguf.out", suite->name);
  g_autofree char *inp_path = testdata_path ("llama-cpp-vocab", inp_file, NULL);
  g_autofree char *out_path = testdata_path ("llama-cpp-vocab", out_file, NULL);
  g_autofree char *inp = NULL;
  g_autofree char *out = NULL;
  guint n_cases, n_expected;

  if (!require_file (inp_path) || !require_file (out_path))
    return FALSE;
  g_assert_true (g_file_get_contents (inp_path, &inp, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (out_path, &out, NULL, &error));
  g_assert_no_error (error);

  /* Every case ends with the separator and every line with a newline: the piece after
   * the last one is empty. Cases are kept exactly as they are, white space and all. */
  *cases = g_strsplit (inp, CASE_SEPARATOR, -1);
  *expected = g_strsplit (out, "\n", -1);
  n_cases = g_strv_length (*cases);
  n_expected = g_strv_length (*expected);
  g_assert_cmpuint (n_cases, >, 1);
  g_assert_cmpstr ((*cases)[n_cases - 1], ==, "");
  g_assert_cmpstr ((*expected)[n_expected - 1], ==, "");
  g_clear_pointer (&(*cases)[n_cases - 1], g_free);
  g_clear_pointer (&(*expected)[n_expected - 1], g_free);
  g_assert_cmpuint (n_cases, ==, n_expected);
  return TRUE;
}

static GArray *
parse_ids (const char *line)
{
  g_auto(GStrv) words = g_strsplit (line, " ", -1);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (guint i = 0; words[i] != NULL; i++)
    {
      guint64 id;
      if (words[i][0] == '\0')
        continue;
      g_assert_true (g_ascii_string_to_unsigned (words[i], 10, 0, G_MAXUINT32, &id, NULL));
      g_array_append_val (ids, id);
    }
  return ids;
}

static char *
format_ids (GArray *ids)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (text, "%s%u", i > 0 ? " " : "", g_array_index (ids, guint32, i));
  return g_string_free (text, FALSE);
}

static gboolean
ids_equal (GArray *a,
           GArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len * sizeof (guint32)) == 0;
}

static void
test_suite (gconstpointer data)
{
  Suite *suite = (Suite *) data;
  LoomTokenizer *tokenizer;
  g_auto(GStrv) cases = NULL;
  g_auto(GStrv) expected = NULL;
  guint n_cases, n_pass = 0;

  if (!load_cases (suite, &cases, &expected))
    return;
  if ((tokenizer = get_suite_tokenizer (suite)) == NULL)
    return;

  n_cases = g_strv_length (cases);
  for (guint i = 0; i < n_cases; i++)
    {
      g_autoptr(GArray) want = parse_ids (expected[i]);
      g_autoptr(GArray) got = loom_tokenizer_encode (tokenizer, cases[i], -1,
                                                     LOOM_TOKENIZE_NONE);

      if (ids_equal (got, want))
        n_pass++;
      else
        {
          g_autofree char *escaped = g_strescape (cases[i], NULL);
          g_autofree char *got_text = format_ids (got);
          g_autofree char *want_text = format_ids (want);
          g_test_message ("%s, case %u “%s”: got [%s], llama.cpp gives [%s]", suite->name, i,
                          escaped, got_text, want_text);
        }
    }

  g_test_message ("%s: %u of %u cases match llama.cpp", suite->name, n_pass, n_cases);
  g_assert_cmpuint (n_pass, ==, n_cases);
}

static void
test_suite_qwen2 (void)
{
  g_test_skip ("The qwen2 suite has its cases but not its vocabulary (too large to keep in "
               "the test data)");
}

static char *
detokenize (LoomTokenizer *tokenizer,
            GArray        *ids)
{
  g_autoptr(LoomDetokenizer) detokenizer = loom_detokenizer_new (tokenizer);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ids->len; i++)
    loom_detokenizer_push (detokenizer, g_array_index (ids, guint32, i), text);
  loom_detokenizer_flush (detokenizer, text);
  return g_string_free (text, FALSE);
}

/* Every suite case comes back from its tokens unchanged: with BOS in front, the space
 * SentencePiece adds is the one the detokenizer drops. */
static void
test_round_trip (gconstpointer data)
{
  Suite *suite = (Suite *) data;
  LoomTokenizer *tokenizer;
  g_auto(GStrv) cases = NULL;
  g_auto(GStrv) expected = NULL;
  guint n_cases;

  if (!load_cases (suite, &cases, &expected))
    return;
  if ((tokenizer = get_suite_tokenizer (suite)) == NULL)
    return;

  n_cases = g_strv_length (cases);
  for (guint i = 0; i < n_cases; i++)
    {
      g_autoptr(GArray) ids = loom_tokenizer_encode (tokenizer, cases[i], -1,
                                                     LOOM_TOKENIZE_ADD_BOS);
      g_autofree char *text = detokenize (tokenizer, ids);

      g_assert_cmpuint (g_array_index (ids, guint32, 0), ==, loom_tokenizer_get_bos (tokenizer));
      g_assert_cmpstr (text, ==, cases[i]);
    }
}

static GArray *
ids_of (guint n,
        ...)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  va_list args;

  va_start (args, n);
  for (guint i = 0; i < n; i++)
    {
      guint32 id = va_arg (args, guint32);
      g_array_append_val (ids, id);
    }
  va_end (args);
  return ids;
}

static void
assert_encodes (LoomTokenizer    *tokenizer,
                const char       *text,
                LoomTokenizeFlags flags,
                GArray           *want)
{
  g_autoptr(GArray) got = loom_tokenizer_encode (tokenizer, text, -1, flags);
  g_autofree char *got_text = format_ids (got);
  g_autofree char *want_text = format_ids (want);

  g_assert_cmpstr (got_text, ==, want_text);
  g_array_unref (want);
}

/* Llama 2's SentencePiece vocabulary spells a byte b as token 3 + b. */
#define SPM_BYTE(b) (3u + (b))

static void
test_spm_vocabulary (void)
{
  LoomTokenizer *tokenizer = get_suite_tokenizer (&suite_llama_spm);

  if (tokenizer == NULL)
    return;

  g_assert_cmpstr (loom_tokenizer_get_model (tokenizer), ==, "llama");
  g_assert_cmpuint (loom_tokenizer_get_n_vocab (tokenizer), ==, 32000);
  g_assert_cmpint (loom_tokenizer_get_bos (tokenizer), ==, 1);
  g_assert_cmpint (loom_tokenizer_get_eos (tokenizer), ==, 2);
  g_assert_true (loom_tokenizer_get_add_bos (tokenizer));
  g_assert_true (loom_tokenizer_is_eog (tokenizer, 2));
  g_assert_false (loom_tokenizer_is_eog (tokenizer, 1));
  g_assert_cmpstr (loom_tokenizer_get_token_text (tokenizer, 1), ==, "<s>");
  g_assert_cmpint (loom_tokenizer_get_token_type (tokenizer, 1), ==, LOOM_TOKEN_CONTROL);
  g_assert_cmpint (loom_tokenizer_get_token_type (tokenizer, 0), ==, LOOM_TOKEN_UNKNOWN);
  g_assert_cmpstr (loom_tokenizer_get_token_text (tokenizer, SPM_BYTE (0xc3)), ==, "<0xC3>");
  g_assert_cmpint (loom_tokenizer_get_token_type (tokenizer, SPM_BYTE (0xc3)), ==,
                   LOOM_TOKEN_BYTE);
}

/* A character the vocabulary lacks is spelled with its bytes' tokens, and bytes that are
 * not UTF-8 are tokenized as bytes too. */
static void
test_spm_byte_fallback (void)
{
  LoomTokenizer *tokenizer = get_suite_tokenizer (&suite_llama_spm);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GByteArray) bytes = g_byte_array_new ();

  if (tokenizer == NULL)
    return;

  assert_encodes (tokenizer, "🦙", LOOM_TOKENIZE_NONE,
                  ids_of (5, 29871, SPM_BYTE (0xf0), SPM_BYTE (0x9f), SPM_BYTE (0xa6),
                          SPM_BYTE (0x99)));

  ids = loom_tokenizer_encode (tokenizer, "a\xff\xc3", -1, LOOM_TOKENIZE_NONE);
  for (guint i = 0; i < ids->len; i++)
    loom_tokenizer_append_piece (tokenizer, g_array_index (ids, guint32, i), FALSE, bytes);
  g_assert_cmpmem (bytes->data, bytes->len, " a\xff\xc3", 4);
}

/* Merges go by score, highest first: a small vocabulary where the order decides. Without
 * byte tokens, a character the vocabulary lacks becomes the unknown token. */
static void
test_spm_merge_order (void)
{
  static const char *const tokens[] = { "<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab" };
  static const gint32 types[] = { 2, 3, 3, 1, 1, 1, 1, 1 };
  static const float prefer_space_a[] = { 0, 0, 0, -5, -6, -7, -1, -2 };
  static const float prefer_ab[] = { 0, 0, 0, -5, -6, -7, -2, -1 };
  const float *scores[] = { prefer_space_a, prefer_ab };

  for (guint i = 0; i < G_N_ELEMENTS (scores); i++)
    {
      g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
      g_autoptr(LoomTokenizer) tokenizer = NULL;
      g_autoptr(GError) error = NULL;

      loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
      loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", tokens,
                                    G_N_ELEMENTS (tokens));
      loom_gguf_writer_add_array (writer, "tokenizer.ggml.scores", LOOM_GGUF_FLOAT32,
                                  scores[i], G_N_ELEMENTS (tokens));
      loom_gguf_writer_add_array (writer, "tokenizer.ggml.token_type", LOOM_GGUF_INT32, types,
                                  G_N_ELEMENTS (tokens));
      tokenizer = tokenizer_from_writer (writer, &error);
      g_assert_no_error (error);

      if (i == 0)
        assert_encodes (tokenizer, "ab c", LOOM_TOKENIZE_NONE, ids_of (4, 6, 5, 3, 0));
      else
        assert_encodes (tokenizer, "ab c", LOOM_TOKENIZE_NONE, ids_of (4, 3, 7, 3, 0));
    }
}

static void
test_add_bos (void)
{
  LoomTokenizer *spm = get_suite_tokenizer (&suite_llama_spm);
  LoomTokenizer *gpt2 = get_suite_tokenizer (&suite_gpt2);

  if (spm == NULL || gpt2 == NULL)
    return;

  /* SentencePiece adds the same space with BOS or without. */
  assert_encodes (spm, "Hello world", LOOM_TOKENIZE_ADD_BOS, ids_of (3, 1, 15043, 3186));
  assert_encodes (spm, "Hello world", LOOM_TOKENIZE_NONE, ids_of (2, 15043, 3186));
  assert_encodes (spm, "", LOOM_TOKENIZE_ADD_BOS, ids_of (1, 1));
  assert_encodes (spm, "", LOOM_TOKENIZE_NONE, ids_of (0));

  /* GPT-2 does not add BOS by default, but has one (<|endoftext|>) when asked. */
  g_assert_false (loom_tokenizer_get_add_bos (gpt2));
  g_assert_cmpint (loom_tokenizer_get_bos (gpt2), ==, 50256);
  assert_encodes (gpt2, "Hello world", LOOM_TOKENIZE_ADD_BOS, ids_of (3, 50256, 15496, 995));
}

static void
test_parse_special (void)
{
  LoomTokenizer *llama3 = get_suite_tokenizer (&suite_llama_bpe);
  const char *prompt = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";

  if (llama3 == NULL)
    return;

  g_assert_true (loom_tokenizer_get_add_bos (llama3));
  g_assert_true (loom_tokenizer_is_eog (llama3, 128009));
  g_assert_true (loom_tokenizer_is_eog (llama3, 128001));
  g_assert_false (loom_tokenizer_is_eog (llama3, 128000));

  assert_encodes (llama3, prompt, LOOM_TOKENIZE_ADD_BOS | LOOM_TOKENIZE_PARSE_SPECIAL,
                  ids_of (7, 128000, 128006, 882, 128007, 271, 13347, 128009));

  /* Without the flag the same text is only text. */
  {
    g_autoptr(GArray) ids = loom_tokenizer_encode (llama3, prompt, -1, LOOM_TOKENIZE_NONE);
    g_autofree char *text = detokenize (llama3, ids);

    for (guint i = 0; i < ids->len; i++)
      g_assert_cmpuint (g_array_index (ids, guint32, i), <, LLAMA3_N_REGULAR);
    g_assert_cmpstr (text, ==, prompt);
  }

  /* Control tokens decode to nothing, unless asked for. */
  {
    g_autoptr(GByteArray) bytes = g_byte_array_new ();

    loom_tokenizer_append_piece (llama3, 128009, FALSE, bytes);
    g_assert_cmpuint (bytes->len, ==, 0);
    loom_tokenizer_append_piece (llama3, 128009, TRUE, bytes);
    g_assert_cmpmem (bytes->data, bytes->len, "<|eot_id|>", 10);
  }
}

/* Phi-3's chat markers are control tokens: text only without the flag. As in llama.cpp,
 * the white space after them is dropped and the text after them gets SentencePiece's
 * space, as at the start. */
static void
test_spm_parse_special (void)
{
  LoomTokenizer *phi3 = get_suite_tokenizer (&suite_phi3);
  const char *chat = "<|user|>\nHello<|end|>\n<|assistant|>";

  if (phi3 == NULL)
    return;

  g_assert_true (loom_tokenizer_is_eog (phi3, 32007));  /* <|end|> */
  g_assert_true (loom_tokenizer_is_eog (phi3, 32000));  /* <|endoftext|> */
  g_assert_false (loom_tokenizer_is_eog (phi3, 32010)); /* <|user|> */
  assert_encodes (phi3, chat, LOOM_TOKENIZE_PARSE_SPECIAL,
                  ids_of (4, 32010, 15043, 32007, 32001));
  assert_encodes (phi3, "<s>Hi", LOOM_TOKENIZE_PARSE_SPECIAL, ids_of (2, 1, 6324));
  assert_encodes (phi3, "<s>Hi", LOOM_TOKENIZE_NONE, ids_of (4, 529, 29879, 29958, 18567));
}

/* Llama 3 takes a pre-token the vocabulary has whole as that token (" Việt" → 101798)
 * where merging alone would give two. */
static void
test_ignore_merges (void)
{
  LoomTokenizer *llama3 = get_suite_tokenizer (&suite_llama_bpe);

  if (llama3 == NULL)
    return;

  assert_encodes (llama3, " Việt", LOOM_TOKENIZE_NONE, ids_of (1, 101798));
}

/* A character split across byte tokens (“é” as <0xC3> <0xA9>) comes out only when it is
 * complete. */
static void
test_detokenizer_split_character (void)
{
  LoomTokenizer *tokenizer = get_suite_tokenizer (&suite_llama_spm);
  g_autoptr(LoomDetokenizer) detokenizer = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  if (tokenizer == NULL)
    return;

  detokenizer = loom_detokenizer_new (tokenizer);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xc3), text);
  g_assert_cmpstr (text->str, ==, "");
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xa9), text);
  g_assert_cmpstr (text->str, ==, "é");

  /* A four-byte character, one byte at a time. */
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xf0), text);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0x9f), text);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xa6), text);
  g_assert_cmpstr (text->str, ==, "é");
  loom_detokenizer_push (detokenizer, SPM_BYTE (0x99), text);
  g_assert_cmpstr (text->str, ==, "é🦙");
}

/* Bytes that cannot be UTF-8 come out as U+FFFD: at once when nothing can complete them,
 * at flush when the stream ends in the middle of a character. */
static void
test_detokenizer_invalid (void)
{
  LoomTokenizer *tokenizer = get_suite_tokenizer (&suite_llama_spm);
  g_autoptr(LoomDetokenizer) detokenizer = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  if (tokenizer == NULL)
    return;

  detokenizer = loom_detokenizer_new (tokenizer);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xc3), text);
  loom_detokenizer_flush (detokenizer, text);
  g_assert_cmpstr (text->str, ==, "\xef\xbf\xbd");

  g_string_truncate (text, 0);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xff), text);
  g_assert_cmpstr (text->str, ==, "\xef\xbf\xbd");

  /* An interrupted sequence is one U+FFFD; what interrupts it is kept. */
  g_string_truncate (text, 0);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0xe2), text);
  loom_detokenizer_push (detokenizer, SPM_BYTE (0x82), text);
  loom_detokenizer_push (detokenizer, SPM_BYTE ('A'), text);
  g_assert_cmpstr (text->str, ==, "\xef\xbf\xbd" "A");
  loom_detokenizer_flush (detokenizer, text);
  g_assert_cmpstr (text->str, ==, "\xef\xbf\xbd" "A");
}

/* The space SentencePiece puts before the text is dropped after BOS, and only there. */
static void
test_detokenizer_bos_space (void)
{
  LoomTokenizer *tokenizer = get_suite_tokenizer (&suite_llama_spm);
  g_autoptr(LoomDetokenizer) detokenizer = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  if (tokenizer == NULL)
    return;

  detokenizer = loom_detokenizer_new (tokenizer);
  loom_detokenizer_push (detokenizer, 1, text);
  loom_detokenizer_push (detokenizer, 15043, text); /* "▁Hello" */
  loom_detokenizer_push (detokenizer, 3186, text);  /* "▁world" */
  g_assert_cmpstr (text->str, ==, "Hello world");

  /* A continuation keeps its space. */
  g_string_truncate (text, 0);
  loom_detokenizer_push (detokenizer, 15043, text);
  g_assert_cmpstr (text->str, ==, " Hello");

  /* Byte-level BPE adds no space, so none is dropped. */
  {
    LoomTokenizer *gpt2 = get_suite_tokenizer (&suite_gpt2);
    g_autoptr(LoomDetokenizer) bpe = NULL;

    if (gpt2 == NULL)
      return;
    bpe = loom_detokenizer_new (gpt2);
    g_string_truncate (text, 0);
    loom_detokenizer_push (bpe, 50256, text);
    loom_detokenizer_push (bpe, 18435, text); /* "ĠHello" */
    g_assert_cmpstr (text->str, ==, " Hello");
  }
}

/* About 100 KB of English-like text: sentences of common words, punctuation, numbers
 * and paragraphs, the same on every run. */
static char *
make_story (gsize size)
{
  static const char *const words[] = {
    "the", "a", "little", "girl", "named", "Lily", "went", "to", "park", "and", "saw",
    "big", "red", "ball", "she", "was", "very", "happy", "because", "her", "mom", "said",
    "they", "could", "play", "all", "day", "long", "but", "then", "dog", "ran", "away",
    "with", "it", "so", "looked", "everywhere", "under", "tree", "behind", "house",
    "finally", "found", "near", "river", "where", "friends", "were", "waiting", "for",
    "them", "together", "laughed", "until", "sun", "went", "down", "wasn't", "couldn't",
    "they're", "I'll", "garden", "flowers", "bright", "morning", "evening", "story",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (2024);
  GString *text = g_string_sized_new (size + 64);

  while (text->len < size)
    {
      guint n_words = g_rand_int_range (rand, 4, 16);

      for (guint i = 0; i < n_words; i++)
        {
          const char *word = words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))];
          if (i == 0)
            g_string_append_printf (text, "%c%s", g_ascii_toupper (word[0]), word + 1);
          else
            g_string_append_printf (text, " %s", word);
          if (i + 1 < n_words && g_rand_int_range (rand, 0, 12) == 0)
            g_string_append_c (text, ',');
          if (g_rand_int_range (rand, 0, 40) == 0)
            g_string_append_printf (text, " %d", g_rand_int_range (rand, 1, 5000));
        }
      g_string_append (text, g_rand_int_range (rand, 0, 6) == 0 ? "!" : ".");
      g_string_append (text, g_rand_int_range (rand, 0, 5) == 0 ? "\n\n" : " ");
    }
  return g_string_free (text, FALSE);
}

/* The app tokenizes the whole story before each suggestion. */
static void
test_speed (void)
{
  Suite *speed_suites[] = { &suite_llama_spm, &suite_gpt2, &suite_llama_bpe };
  g_autofree char *story = make_story (100 * 1024);
  gsize length = strlen (story);

  for (guint s = 0; s < G_N_ELEMENTS (speed_suites); s++)
    {
      LoomTokenizer *tokenizer = get_suite_tokenizer (speed_suites[s]);
      g_autoptr(GArray) ids = NULL;
      g_autofree char *text = NULL;
      gint64 best = G_MAXINT64;

      if (tokenizer == NULL)
        return;

      for (guint run = 0; run < 3; run++)
        {
          gint64 start = g_get_monotonic_time ();
          g_clear_pointer (&ids, g_array_unref);
          ids = loom_tokenizer_encode (tokenizer, story, length, LOOM_TOKENIZE_ADD_BOS);
          best = MIN (best, g_get_monotonic_time () - start);
        }
      g_test_message ("%s: %" G_GSIZE_FORMAT " bytes to %u tokens in %.1f ms",
                      speed_suites[s]->name, length, ids->len, best / 1000.0);

      text = detokenize (tokenizer, ids);
      g_assert_cmpstr (text, ==, story);

      /* Looking for special tokens costs a search per special token found in the text
       * at all: next to nothing here. */
      {
        gint64 start = g_get_monotonic_time ();
        g_autoptr(GArray) special = loom_tokenizer_encode (tokenizer, story, length,
                                                           LOOM_TOKENIZE_ADD_BOS
                                                           | LOOM_TOKENIZE_PARSE_SPECIAL);
        g_test_message ("%s: the same, parsing special tokens, in %.1f ms",
                        speed_suites[s]->name, (g_get_monotonic_time () - start) / 1000.0);
        g_assert_true (ids_equal (special, ids));
      }
      /* The budget is 100 ms (checked with -m perf); always, at least nothing may grow
       * faster than linearly, which would take minutes here, even under valgrind. */
      if (g_test_perf ())
        g_assert_cmpint (best, <, 100 * 1000);
      g_assert_cmpint (best, <, 10 * 1000 * 1000);
    }
}

/* A writer for a small, valid byte-level BPE vocabulary: tokens a, b, c, ab. */
static LoomGgufWriter *
small_bpe_writer (const char *model,
                  const char *pre,
                  const char *const *merges,
                  gsize       n_merges)
{
  static const char *const tokens[] = { "a", "b", "c", "ab", "<|endoftext|>" };
  static const gint32 types[] = { 1, 1, 1, 1, 3 };
  LoomGgufWriter *writer = loom_gguf_writer_new ();

  if (model != NULL)
    loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", model);
  if (pre != NULL)
    loom_gguf_writer_add_string (writer, "tokenizer.ggml.pre", pre);
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", tokens, G_N_ELEMENTS (tokens));
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.token_type", LOOM_GGUF_INT32, types,
                              G_N_ELEMENTS (types));
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.merges", merges, n_merges);
  return writer;
}

static void
assert_refused (LoomGgufWriter *writer,
                gint            code,
                const char     *in_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomTokenizer) tokenizer = tokenizer_from_writer (writer, &error);

  g_assert_null (tokenizer);
  g_assert_error (error, LOOM_ERROR, code);
  g_test_message ("refused: %s", error->message);
  if (in_message != NULL)
    g_assert_nonnull (strstr (error->message, in_message));
  loom_gguf_writer_free (writer);
}

static void
test_malformed (void)
{
  static const char *const good_merges[] = { "a b" };
  static const char *const bad_merges[] = { "a b", "a d" };
  static const char *const no_space[] = { "ab" };
  static const char *const spm_tokens[] = { "<unk>", "<s>", "</s>", "a" };
  static const char *const duplicated[] = { "<unk>", "<s>", "</s>", "a", "a" };
  static const float scores[] = { 0, 0, 0 };
  static const gint32 bad_types[] = { 2, 3, 3, 9 };
  LoomGgufWriter *writer;

  /* The small vocabulary itself is fine, and merges as it should. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomGgufWriter) good = small_bpe_writer ("gpt2", "gpt-2", good_merges, 1);
    g_autoptr(LoomTokenizer) tokenizer = tokenizer_from_writer (good, &error);

    g_assert_no_error (error);
    assert_encodes (tokenizer, "abc", LOOM_TOKENIZE_NONE, ids_of (2, 3, 2));
    g_assert_cmpint (loom_tokenizer_get_bos (tokenizer), ==, -1);
    g_assert_true (loom_tokenizer_is_eog (tokenizer, 4));
  }

  assert_refused (small_bpe_writer ("gpt2", "gpt-2", bad_merges, 2), LOOM_ERROR_INVALID_MODEL,
                  "a d");
  assert_refused (small_bpe_writer ("gpt2", "gpt-2", no_space, 1), LOOM_ERROR_INVALID_MODEL,
                  NULL);
  assert_refused (small_bpe_writer ("t5", NULL, good_merges, 1), LOOM_ERROR_UNSUPPORTED_MODEL,
                  "t5");
  assert_refused (small_bpe_writer ("gpt2", "no-such-pre", good_merges, 1),
                  LOOM_ERROR_UNSUPPORTED_MODEL, "no-such-pre");
  assert_refused (small_bpe_writer (NULL, NULL, good_merges, 1), LOOM_ERROR_INVALID_MODEL,
                  "tokenizer.ggml.model");

  /* gpt2 without merges */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "gpt2");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", spm_tokens, 4);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, "tokenizer.ggml.merges");

  /* Fewer scores than tokens */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", spm_tokens, 4);
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.scores", LOOM_GGUF_FLOAT32, scores, 3);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, "tokenizer.ggml.scores");

  /* A token type that does not exist */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", spm_tokens, 4);
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.token_type", LOOM_GGUF_INT32, bad_types,
                              4);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, NULL);

  /* A special token id outside the vocabulary */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", spm_tokens, 4);
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.eos_token_id", 4);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, "tokenizer.ggml.eos_token_id");

  /* The same text twice */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", duplicated, 5);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, NULL);

  /* Tokens that are not strings */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.tokens", LOOM_GGUF_FLOAT32, scores, 3);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, "tokenizer.ggml.tokens");

  /* add_bos_token without a BOS token */
  writer = loom_gguf_writer_new ();
  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", spm_tokens, 1);
  loom_gguf_writer_add_bool (writer, "tokenizer.ggml.add_bos_token", TRUE);
  assert_refused (writer, LOOM_ERROR_INVALID_MODEL, "BOS");
}

/* The model the app ships with in its tests: ids “none” spelled as 0xffffffff load. */
static void
test_stories260k (void)
{
  g_autofree char *path = testdata_path ("llama-stories260k", "stories260K.gguf", NULL);
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(LoomTokenizer) tokenizer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autofree char *text = NULL;
  const char *story = "Once upon a time, there was a little girl named Lily.\n"
                      "She loved to play outside! 😀";

  if (!require_file (path))
    return;
  gguf = loom_gguf_open (path, &error);
  g_assert_no_error (error);
  tokenizer = loom_tokenizer_new_from_gguf (gguf, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (loom_tokenizer_get_n_vocab (tokenizer), ==, 512);
  ids = loom_tokenizer_encode (tokenizer, story, -1, LOOM_TOKENIZE_ADD_BOS);
  text = detokenize (tokenizer, ids);
  g_assert_cmpstr (text, ==, story);
}

static void
free_suites (void)
{
  Suite *all[] = { &suite_llama_spm, &suite_phi3, &suite_gpt2, &suite_llama_bpe };

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (&all[i]->tokenizer, loom_tokenizer_unref);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  loom_test_init (&argc, &argv);

  g_test_add_data_func ("/engine/tokenizer/suite/llama-spm", &suite_llama_spm, test_suite);
  g_test_add_data_func ("/engine/tokenizer/suite/phi-3", &suite_phi3, test_suite);
  g_test_add_data_func ("/engine/tokenizer/suite/gpt-2", &suite_gpt2, test_suite);
  g_test_add_data_func ("/engine/tokenizer/suite/llama-bpe", &suite_llama_bpe, test_suite);
  g_test_add_func ("/engine/tokenizer/suite/qwen2", test_suite_qwen2);
  g_test_add_data_func ("/engine/tokenizer/round-trip/llama-spm", &suite_llama_spm,
                        test_round_trip);
  g_test_add_data_func ("/engine/tokenizer/round-trip/phi-3", &suite_phi3, test_round_trip);
  g_test_add_data_func ("/engine/tokenizer/round-trip/gpt-2", &suite_gpt2, test_round_trip);
  g_test_add_data_func ("/engine/tokenizer/round-trip/llama-bpe", &suite_llama_bpe,
                        test_round_trip);
  g_test_add_func ("/engine/tokenizer/spm/vocabulary", test_spm_vocabulary);
  g_test_add_func ("/engine/tokenizer/spm/byte-fallback", test_spm_byte_fallback);
  g_test_add_func ("/engine/tokenizer/spm/merge-order", test_spm_merge_order);
  g_test_add_func ("/engine/tokenizer/add-bos", test_add_bos);
  g_test_add_func ("/engine/tokenizer/spm/parse-special", test_spm_parse_special);
  g_test_add_func ("/engine/tokenizer/bpe/parse-special", test_parse_special);
  g_test_add_func ("/engine/tokenizer/bpe/ignore-merges", test_ignore_merges);
  g_test_add_func ("/engine/tokenizer/detokenizer/split-character",
                   test_detokenizer_split_character);
  g_test_add_func ("/engine/tokenizer/detokenizer/invalid", test_detokenizer_invalid);
  g_test_add_func ("/engine/tokenizer/detokenizer/bos-space", test_detokenizer_bos_space);
  g_test_add_func ("/engine/tokenizer/speed", test_speed);
  g_test_add_func ("/engine/tokenizer/malformed", test_malformed);
  g_test_add_func ("/engine/tokenizer/stories260k", test_stories260k);

  status = loom_test_run ();
  free_suites ();
  return status;
}
