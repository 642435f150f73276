/* cli-info.c — `candor-cli info`: what a GGUF model file is, without loading it. */
#include "config.h"

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

static void
print_value (LoomGguf   *gguf,
             const char *key)
{
  LoomGgufArray array;
  guint64 u;
  gint64 i;
  double f;
  gboolean b;

  switch (loom_gguf_get_key_type (gguf, key))
    {
    case LOOM_GGUF_STRING:
      {
        g_autofree char *text = g_strescape (loom_gguf_get_string (gguf, key), "");
        if (g_utf8_strlen (text, -1) > 72)
          printf ("“%.72s…”", text);
        else
          printf ("“%s”", text);
      }
      break;
    case LOOM_GGUF_ARRAY:
      loom_gguf_get_array (gguf, key, &array);
      printf ("[%" G_GUINT64_FORMAT " elements]", array.n);
      break;
    case LOOM_GGUF_BOOL:
      loom_gguf_get_bool (gguf, key, &b);
      printf ("%s", b ? "true" : "false");
      break;
    case LOOM_GGUF_FLOAT32:
    case LOOM_GGUF_FLOAT64:
      loom_gguf_get_float (gguf, key, &f);
      printf ("%g", f);
      break;
    case LOOM_GGUF_UINT8:
    case LOOM_GGUF_UINT16:
    case LOOM_GGUF_UINT32:
    case LOOM_GGUF_UINT64:
      loom_gguf_get_uint (gguf, key, &u);
      printf ("%" G_GUINT64_FORMAT, u);
      break;
    case LOOM_GGUF_INT8:
    case LOOM_GGUF_INT16:
    case LOOM_GGUF_INT32:
    case LOOM_GGUF_INT64:
      loom_gguf_get_int (gguf, key, &i);
      printf ("%" G_GINT64_FORMAT, i);
      break;
    case LOOM_GGUF_INVALID:
    default:
      printf ("?");
      break;
    }
}

int
candor_cli_info (int    argc,
                 char **argv)
{
  gboolean keys = FALSE;
  GOptionEntry entries[] = {
    { "keys", 'k', 0, G_OPTION_ARG_NONE, &keys, "List every metadata key", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL — describe a GGUF file");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(GHashTable) types = g_hash_table_new (NULL, NULL);
  LoomLlamaConfig config;
  guint64 params = 0, bytes = 0;
  const char *license;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      fprintf (stderr, "candor-cli info: %s\n", error != NULL ? error->message : "give one MODEL");
      return 2;
    }
  gguf = loom_gguf_open (argv[1], &error);
  if (gguf == NULL)
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }

  printf ("%s\n", loom_gguf_get_name (gguf));
  printf ("  GGUF version      %u, %" G_GUINT64_FORMAT " bytes, alignment %" G_GUINT64_FORMAT "\n",
          loom_gguf_get_version (gguf), loom_gguf_get_file_size (gguf),
          loom_gguf_get_alignment (gguf));
  printf ("  name              %s\n", loom_gguf_get_string (gguf, "general.name") ?: "(none)");
  license = loom_gguf_get_string (gguf, "general.license");
  printf ("  licence           %s\n", license != NULL ? license : "(not stated in the file)");

  if (loom_llama_config_init (&config, gguf, &error))
    {
      printf ("  architecture      %s\n", config.architecture);
      printf ("  dimensions        %u, %u layers, FFN %u\n", config.dim, config.n_layers,
              config.ffn_dim);
      printf ("  attention         %u heads, %u KV heads, head size %u\n", config.n_heads,
              config.n_kv_heads, config.head_dim);
      printf ("  RoPE              %s pairs over %u dimensions, base %g, scale %g\n",
              config.rope_neox ? "NeoX" : "adjacent", config.rope_dim, config.rope_freq_base,
              config.rope_freq_scale);
      printf ("  context           %u tokens\n", config.context_length);
      printf ("  vocabulary        %u tokens (%s)\n", config.n_vocab,
              loom_gguf_get_string (gguf, "tokenizer.ggml.model") ?: "?");
      loom_llama_config_clear (&config);
    }
  else
    {
      printf ("  not runnable      %s\n", error->message);
      g_clear_error (&error);
    }

  for (guint t = 0; t < loom_gguf_get_n_tensors (gguf); t++)
    {
      const LoomGgufTensor *tensor = loom_gguf_get_tensor (gguf, t);
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (types, GUINT_TO_POINTER (tensor->type + 1)));
      g_hash_table_insert (types, GUINT_TO_POINTER (tensor->type + 1), GUINT_TO_POINTER (count + 1));
      params += tensor->n_elements;
      bytes += tensor->size;
    }
  printf ("  tensors           %u, %" G_GUINT64_FORMAT " parameters (%.1f M), %.1f MiB\n",
          loom_gguf_get_n_tensors (gguf), params, params / 1e6, bytes / 1048576.0);
  {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init (&iter, types);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        const LoomTensorTypeInfo *info = loom_tensor_type_get_info (GPOINTER_TO_UINT (key) - 1);
        printf ("    %-8s        %u tensors%s\n", info != NULL ? info->name : "?",
                GPOINTER_TO_UINT (value),
                info != NULL && !info->supported ? " (Loom cannot compute with this type yet)" : "");
      }
  }

  if (keys)
    {
      printf ("  metadata\n");
      for (guint k = 0; k < loom_gguf_get_n_keys (gguf); k++)
        {
          const char *key = loom_gguf_get_key (gguf, k);
          printf ("    %-40s ", key);
          print_value (gguf, key);
          printf ("\n");
        }
    }
  return 0;
}
