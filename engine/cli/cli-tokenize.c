/* cli-tokenize.c — `candor-cli tokenize`: text to a model's tokens, without loading it. */
#include "config.h"

#include "candor-cli.h"
#include "loom-internal.h"

int
candor_cli_tokenize (int    argc,
                     char **argv)
{
  gboolean no_bos = FALSE, special = FALSE, ids_only = FALSE;
  GOptionEntry entries[] = {
    { "no-bos", 0, 0, G_OPTION_ARG_NONE, &no_bos, "Do not add BOS", NULL },
    { "special", 0, 0, G_OPTION_ARG_NONE, &special, "Parse special tokens in the text", NULL },
    { "ids", 0, 0, G_OPTION_ARG_NONE, &ids_only, "Print the ids only", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL TEXT — show the tokens of TEXT");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(LoomTokenizer) tokenizer = NULL;
  g_autoptr(GArray) tokens = NULL;
  LoomTokenizeFlags flags = LOOM_TOKENIZE_NONE;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 3)
    {
      fprintf (stderr, "candor-cli tokenize: %s\n",
               error != NULL ? error->message : "give a MODEL and a TEXT");
      return 2;
    }
  gguf = loom_gguf_open (argv[1], &error);
  if (gguf != NULL)
    tokenizer = loom_tokenizer_new_from_gguf (gguf, &error);
  if (tokenizer == NULL)
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }

  if (!no_bos && loom_tokenizer_get_add_bos (tokenizer))
    flags |= LOOM_TOKENIZE_ADD_BOS;
  if (special)
    flags |= LOOM_TOKENIZE_PARSE_SPECIAL;
  tokens = loom_tokenizer_encode (tokenizer, argv[2], -1, flags);

  for (guint i = 0; i < tokens->len; i++)
    {
      guint32 id = g_array_index (tokens, guint32, i);
      if (ids_only)
        printf ("%s%u", i > 0 ? " " : "", id);
      else
        {
          g_autofree char *text = g_strescape (loom_tokenizer_get_token_text (tokenizer, id), "");
          printf ("%8u  “%s”\n", id, text);
        }
    }
  if (ids_only)
    printf ("\n");
  else
    printf ("%u tokens\n", tokens->len);
  return 0;
}
