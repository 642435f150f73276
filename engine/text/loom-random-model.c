/* loom-random-model.c — random-weight models in GGUF. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "formats/loom-gguf-writer.h"
#include "formats/loom-quant.h"
#include "loom-error.h"
#include "loom-random-model.h"

void
loom_random_model_init (LoomRandomModel *spec)
{
  *spec = (LoomRandomModel) {
    .architecture = "llama",
    .n_vocab = 512,
    .dim = 256,
    .n_layers = 2,
    .n_heads = 4,
    .n_kv_heads = 2,
    .ffn_dim = 512,
    .context_length = 2048,
    .weight_type = 0,  /* LOOM_TENSOR_F32 */
    .embedding_type = 0,
    .rope_freq_base = 10000.0f,
    .seed = 1,
  };
}

/* splitmix64 and a uniform float: fast enough for hundreds of millions of weights. */
static guint64
next_u64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static float
uniform (guint64 *state,
         float    lo,
         float    hi)
{
  return lo + (hi - lo) * (float) ((next_u64 (state) >> 40) / 16777216.0);
}

/* Adds tensor @name of @rows × @cols (rows = 0: a vector) with values uniform in
 * [center − spread, center + spread], stored as @type. */
static void
add_tensor (LoomGgufWriter *writer,
            const char     *name,
            guint32         type,
            guint64         cols,
            guint64         rows,
            float           center,
            float           spread,
            guint64        *state)
{
  guint64 n = cols * MAX (rows, 1);
  guint64 ne[2] = { cols, MAX (rows, 1) };
  guint64 bytes;
  g_autofree float *values = g_new (float, n);
  gpointer data;

  for (guint64 i = 0; i < n; i++)
    values[i] = uniform (state, center - spread, center + spread);
  if (!loom_tensor_type_row_bytes (type, n, &bytes))
    g_return_if_reached ();
  data = g_malloc (bytes);
  if (type == 0)
    memcpy (data, values, bytes);
  else if (loom_tensor_type_get_info (type)->supported)
    loom_quantize (type, values, data, n);
  else
    /* A type Loom cannot encode: bytes of the right size, for tests of its refusal. */
    for (guint64 i = 0; i < bytes; i++)
      ((guint8 *) data)[i] = (guint8) next_u64 (state);
  loom_gguf_writer_add_tensor (writer, name, type, rows == 0 ? 1 : 2, ne,
                               g_bytes_new_take (data, bytes));
}

/* <unk>, <s>, </s>, <0x00>…<0xFF>, then pieces spelt from letters, half of them starting
 * a word with “▁”, with scores that make shorter pieces likelier. */
static void
add_vocabulary (LoomGgufWriter        *writer,
                const LoomRandomModel *spec)
{
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autofree float *scores = g_new (float, spec->n_vocab);
  g_autofree gint32 *types = g_new (gint32, spec->n_vocab);

  g_ptr_array_add (tokens, g_strdup ("<unk>"));
  g_ptr_array_add (tokens, g_strdup ("<s>"));
  g_ptr_array_add (tokens, g_strdup ("</s>"));
  for (guint b = 0; b < 256; b++)
    g_ptr_array_add (tokens, g_strdup_printf ("<0x%02X>", b));
  for (guint i = 0; tokens->len < spec->n_vocab; i++)
    {
      GString *piece = g_string_new (i % 2 == 0 ? "▁" : "");
      for (guint v = i / 2 + 1; v > 0; v /= 26)
        g_string_append_c (piece, 'a' + (char) ((v - 1) % 26));
      g_ptr_array_add (tokens, g_string_free (piece, FALSE));
    }

  for (guint t = 0; t < spec->n_vocab; t++)
    {
      types[t] = t == 0 ? 2 : t < 3 ? 3 : t < 259 ? 6 : 1;
      scores[t] = t < 259 ? 0.0f : -(float) strlen (g_ptr_array_index (tokens, t)) - t * 1e-6f;
    }

  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens",
                                (const char * const *) tokens->pdata, tokens->len);
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.scores", LOOM_GGUF_FLOAT32, scores,
                              spec->n_vocab);
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.token_type", LOOM_GGUF_INT32, types,
                              spec->n_vocab);
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.unknown_token_id", 0);
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.bos_token_id", 1);
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.eos_token_id", 2);
  loom_gguf_writer_add_bool (writer, "tokenizer.ggml.add_bos_token", TRUE);
}

gboolean
loom_random_model_write (const LoomRandomModel *spec,
                         const char            *path,
                         GError               **error)
{
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  const char *arch = spec->architecture;
  guint head_dim = spec->head_dim > 0 ? spec->head_dim : spec->dim / spec->n_heads;
  guint64 q_dim = (guint64) spec->n_heads * head_dim;
  guint64 kv_dim = (guint64) spec->n_kv_heads * head_dim;
  gboolean biases = strcmp (arch, "qwen2") == 0;
  guint64 state = spec->seed;
  /* Weights uniform in ±√(3/fan_in) have unit variance gain. */
  float in_dim = sqrtf (3.0f / spec->dim), in_q = sqrtf (3.0f / q_dim);
  float in_ffn = sqrtf (3.0f / spec->ffn_dim);

  g_return_val_if_fail (spec->n_vocab >= 259, FALSE);

#define KEY(suffix) (g_strconcat (arch, suffix, NULL))
  {
    g_autofree char *k_ctx = KEY (".context_length");
    g_autofree char *k_dim = KEY (".embedding_length");
    g_autofree char *k_layers = KEY (".block_count");
    g_autofree char *k_ffn = KEY (".feed_forward_length");
    g_autofree char *k_heads = KEY (".attention.head_count");
    g_autofree char *k_kv = KEY (".attention.head_count_kv");
    g_autofree char *k_key = KEY (".attention.key_length");
    g_autofree char *k_eps = KEY (".attention.layer_norm_rms_epsilon");
    g_autofree char *k_base = KEY (".rope.freq_base");
    g_autofree char *k_rope = KEY (".rope.dimension_count");

    loom_gguf_writer_add_string (writer, "general.architecture", arch);
    loom_gguf_writer_add_string (writer, "general.name", "Loom random test model");
    loom_gguf_writer_add_string (writer, "general.license", "CC0-1.0");
    loom_gguf_writer_add_uint32 (writer, k_ctx, spec->context_length);
    loom_gguf_writer_add_uint32 (writer, k_dim, spec->dim);
    loom_gguf_writer_add_uint32 (writer, k_layers, spec->n_layers);
    loom_gguf_writer_add_uint32 (writer, k_ffn, spec->ffn_dim);
    loom_gguf_writer_add_uint32 (writer, k_heads, spec->n_heads);
    loom_gguf_writer_add_uint32 (writer, k_kv, spec->n_kv_heads);
    loom_gguf_writer_add_uint32 (writer, k_key, head_dim);
    loom_gguf_writer_add_float32 (writer, k_eps, 1e-5f);
    loom_gguf_writer_add_float32 (writer, k_base, spec->rope_freq_base);
    loom_gguf_writer_add_uint32 (writer, k_rope, head_dim);
  }
#undef KEY
  add_vocabulary (writer, spec);

  add_tensor (writer, "token_embd.weight", spec->embedding_type, spec->dim, spec->n_vocab, 0, 1,
              &state);
  add_tensor (writer, "output_norm.weight", 0, spec->dim, 0, 1, 0.1f, &state);
  if (!spec->tied_output)
    add_tensor (writer, "output.weight", spec->weight_type, spec->dim, spec->n_vocab, 0, in_dim,
                &state);
  if (spec->rope_factors)
    add_tensor (writer, "rope_freqs.weight", 0, head_dim / 2, 0, 4, 3, &state);

  for (guint l = 0; l < spec->n_layers; l++)
    {
      guint32 t = spec->weight_type;
#define ADD(suffix, type, cols, rows, center, spread)                                   \
      G_STMT_START {                                                                     \
        g_autofree char *name = g_strdup_printf ("blk.%u." suffix, l);                   \
        add_tensor (writer, name, type, cols, rows, center, spread, &state);            \
      } G_STMT_END
      ADD ("attn_norm.weight", 0, spec->dim, 0, 1, 0.1f);
      ADD ("attn_q.weight", t, spec->dim, q_dim, 0, in_dim);
      ADD ("attn_k.weight", t, spec->dim, kv_dim, 0, in_dim);
      ADD ("attn_v.weight", t, spec->dim, kv_dim, 0, in_dim);
      ADD ("attn_output.weight", t, q_dim, spec->dim, 0, in_q);
      if (biases)
        {
          ADD ("attn_q.bias", 0, q_dim, 0, 0, 0.5f);
          ADD ("attn_k.bias", 0, kv_dim, 0, 0, 0.5f);
          ADD ("attn_v.bias", 0, kv_dim, 0, 0, 0.5f);
        }
      ADD ("ffn_norm.weight", 0, spec->dim, 0, 1, 0.1f);
      ADD ("ffn_gate.weight", t, spec->dim, spec->ffn_dim, 0, in_dim);
      ADD ("ffn_up.weight", t, spec->dim, spec->ffn_dim, 0, in_dim);
      ADD ("ffn_down.weight", t, spec->ffn_dim, spec->dim, 0, in_ffn);
#undef ADD
    }

  return loom_gguf_writer_write (writer, path, error);
}
