/* candor-cli.c — the engine from the command line. */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib.h>

#include "candor-cli.h"

typedef struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "devices", candor_cli_devices, "List Vulkan devices and which one Loom uses" },
  { "bench-ops", candor_cli_bench_ops, "Measure the speed of the GPU ops (JSON)" },
  { "info", candor_cli_info, "Describe a GGUF model: metadata, tensor types, parameters" },
  { "tokenize", candor_cli_tokenize, "Show the tokens a model's tokenizer makes of a text" },
  { "generate", candor_cli_generate, "Continue a prompt with a GGUF text model" },
  { "bench", candor_cli_bench, "Measure a text model's prompt and generation speed (JSON)" },
  { "make-model", candor_cli_make_model, "Write a random-weight Llama model (tests, benchmarks)" },
  { "image", candor_cli_image, "Generate an image with a Stable Diffusion model" },
  { "bench-image", candor_cli_bench_image, "Measure an image model's speed (JSON)" },
  { "make-image-model", candor_cli_make_image_model, "Write a random-weight SD model (tests, benchmarks)" },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: candor-cli COMMAND [OPTION…]\n\n"
                "Candor's engine, Loom, from the command line.\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-17s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun “candor-cli COMMAND --help” for a command's options.\n"
                "Environment: LOOM_DEVICE=<index|name> chooses the device, LOOM_PROFILE=1 "
                "prints GPU time per operation.\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("candor-cli %s\n", PACKAGE_VERSION);
      return 0;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, "candor-cli: unknown command “%s”\n\n", argv[1]);
  print_usage (stderr);
  return 2;
}
