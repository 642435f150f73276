/* cli-make-model.c — `candor-cli make-model`: a random-weight model for tests and benchmarks. */
#include "config.h"

#include <string.h>

#include "candor-cli.h"
#include "loom-internal.h"

/* The id of a tensor type named as ggml prints it ("F16", "Q4_K"), or -1. */
static gint
parse_type (const char *name)
{
  for (guint id = 0; id < 64; id++)
    {
      const LoomTensorTypeInfo *info = loom_tensor_type_get_info (id);
      if (info != NULL && g_ascii_strcasecmp (info->name, name) == 0)
        return (gint) id;
    }
  return -1;
}

int
candor_cli_make_model (int    argc,
                       char **argv)
{
  LoomRandomModel spec;
  g_autofree char *type = NULL;
  g_autofree char *embedding = NULL;
  g_autofree char *arch = NULL;
  int dim, layers, ffn, heads, kv_heads, vocab, ctx;
  gint64 seed;
  gboolean tied = FALSE, factors = FALSE;
  GOptionEntry entries[] = {
    { "type", 't', 0, G_OPTION_ARG_STRING, &type, "Matrix type: F32, F16, Q8_0, Q4_K… (default F16)", "TYPE" },
    { "embedding-type", 0, 0, G_OPTION_ARG_STRING, &embedding, "Embedding type (default: as --type)", "TYPE" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "llama (default) or qwen2", "ARCH" },
    { "dim", 0, 0, G_OPTION_ARG_INT, &dim, "Embedding size", "N" },
    { "layers", 0, 0, G_OPTION_ARG_INT, &layers, "Blocks", "N" },
    { "ffn", 0, 0, G_OPTION_ARG_INT, &ffn, "Feed-forward size", "N" },
    { "heads", 0, 0, G_OPTION_ARG_INT, &heads, "Query heads", "N" },
    { "kv-heads", 0, 0, G_OPTION_ARG_INT, &kv_heads, "Key/value heads", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_INT, &vocab, "Vocabulary size", "N" },
    { "ctx", 0, 0, G_OPTION_ARG_INT, &ctx, "Trained context length", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed", "S" },
    { "tied", 0, 0, G_OPTION_ARG_NONE, &tied, "No output.weight: reuse the embedding", NULL },
    { "rope-factors", 0, 0, G_OPTION_ARG_NONE, &factors, "Write Llama 3 style rope_freqs", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("OUT.gguf — write a random-weight model");
  g_autoptr(GError) error = NULL;
  gint type_id, embedding_id;

  loom_random_model_init (&spec);
  dim = spec.dim;
  layers = spec.n_layers;
  ffn = spec.ffn_dim;
  heads = spec.n_heads;
  kv_heads = spec.n_kv_heads;
  vocab = spec.n_vocab;
  ctx = spec.context_length;
  seed = (gint64) spec.seed;

  g_option_context_set_description (context,
                                    "The benchmark shape: --dim 1024 --layers 8 --ffn 2816 --heads 16 "
                                    "--kv-heads 4 --vocab 32000 (about 155M parameters).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      fprintf (stderr, "candor-cli make-model: %s\n",
               error != NULL ? error->message : "give one output path");
      return 2;
    }
  type_id = parse_type (type != NULL ? type : "F16");
  embedding_id = embedding != NULL ? parse_type (embedding) : type_id;
  if (type_id < 0 || embedding_id < 0 || dim <= 0 || layers <= 0 || ffn <= 0 || heads <= 0
      || kv_heads <= 0 || heads % kv_heads != 0 || dim % heads != 0 || vocab < 259 || ctx <= 0
      || (arch != NULL && strcmp (arch, "llama") != 0 && strcmp (arch, "qwen2") != 0))
    {
      fprintf (stderr, "candor-cli make-model: an unknown type or architecture, or an "
                       "inconsistent shape\n");
      return 2;
    }

  spec.architecture = arch != NULL ? arch : "llama";
  spec.dim = (guint) dim;
  spec.n_layers = (guint) layers;
  spec.ffn_dim = (guint) ffn;
  spec.n_heads = (guint) heads;
  spec.n_kv_heads = (guint) kv_heads;
  spec.n_vocab = (guint) vocab;
  spec.context_length = (guint) ctx;
  spec.seed = (guint64) seed;
  spec.weight_type = (guint32) type_id;
  spec.embedding_type = (guint32) embedding_id;
  spec.tied_output = tied;
  spec.rope_factors = factors;

  if (!loom_random_model_write (&spec, argv[1], &error))
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }
  return 0;
}
