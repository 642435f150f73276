/* cli-bench-ops.c — `candor-cli bench-ops`: throughput of each GPU op, as JSON.
 *
 * Each op is recorded `repeat` times into one command buffer (each depending on the one
 * before through its output), submitted once and timed on the wall clock after one
 * warm-up submission that also compiles the pipeline. Figures are per op. The ops are
 * recorded by the op harness (loom-op-case.c), so the bench runs what the tests check.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

/* Realistic sizes: a 16M-element activation, 32k-vocabulary logits, a 2048-wide
 * hidden state, 4096×4096 weights (f32 and every stored type, decoding one token), and
 * a 512-token prompt batch through 2048×2048 weights (f32, F16, Q8_0, Q4_K), each in the
 * GPU-shaped and the CPU-shaped kernel. Weights sit where GGUF files put them (aligned). */
#define MATVEC(type) \
  { LOOM_OP_MATVEC, 1, 4096, 4096, 0, type }, \
  { LOOM_OP_MATVEC_ROWS, 1, 4096, 4096, 0, type }
#define MATMUL(type) \
  { LOOM_OP_MATMUL_TILED, 512, 2048, 2048, 0, type }, \
  { LOOM_OP_MATMUL_BLOCKED, 512, 2048, 2048, 0, type }

static const LoomOpCase bench_cases[] = {
  { LOOM_OP_ADD, 1, 16u << 20, 0, 0 },
  { LOOM_OP_SILU, 1, 16u << 20, 0, 0 },
  { LOOM_OP_SOFTMAX, 64, 32000, 0, 0 },
  { LOOM_OP_RMS_NORM, 512, 2048, 0, 0 },
  MATVEC (LOOM_TENSOR_F32),
  MATVEC (LOOM_TENSOR_F16),
  MATVEC (LOOM_TENSOR_BF16),
  MATVEC (LOOM_TENSOR_Q8_0),
  MATVEC (LOOM_TENSOR_Q4_0),
  MATVEC (LOOM_TENSOR_Q4_1),
  MATVEC (LOOM_TENSOR_Q5_0),
  MATVEC (LOOM_TENSOR_Q5_1),
  MATVEC (LOOM_TENSOR_Q4_K),
  MATVEC (LOOM_TENSOR_Q5_K),
  MATVEC (LOOM_TENSOR_Q6_K),
  MATMUL (LOOM_TENSOR_F32),
  MATMUL (LOOM_TENSOR_F16),
  MATMUL (LOOM_TENSOR_Q8_0),
  MATMUL (LOOM_TENSOR_Q4_K),
  /* The SD UNet's first resolution: 320 → 320 channels, 3×3, on a 64×64 latent, in both
   * kernels. */
  { .kind = LOOM_OP_CONV2D, .rows = 320, .cols = 320, .inner = 64, .width = 64,
    .type = LOOM_TENSOR_F16, .kernel = 3, .stride = 1, .pad = 1, .bias = TRUE },
  { .kind = LOOM_OP_CONV2D_BLOCKED, .rows = 320, .cols = 320, .inner = 64, .width = 64,
    .type = LOOM_TENSOR_F16, .kernel = 3, .stride = 1, .pad = 1, .bias = TRUE },
  /* SD 1.x's level-0 self-attention at 512 × 512 (4096 tokens, 8 heads of 40) in both
   * kernels, and that level's group norm and layer norm. */
  { LOOM_OP_FLASH_ATTENTION, 4096, 8, 40, 0 },
  { LOOM_OP_FLASH_ATTENTION_ROWS, 4096, 8, 40, 0 },
  { LOOM_OP_GROUP_NORM_SILU, 320, 4096, 32, 0 },
  { LOOM_OP_LAYER_NORM, 4096, 320, 0, 0 },
};

/* Floating-point operations the op does, for GFLOP/s. */
static double
flops (const LoomOpCase *c)
{
  double m = c->rows, n = c->cols, k = c->inner;

  switch (c->kind)
    {
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      return 2 * m * n * k;
    case LOOM_OP_CONV2D:  /* c_out = m, c_in = n, a map of k × width */
    case LOOM_OP_CONV2D_BLOCKED:
      {
        const LoomConv2d conv = {
          .c_in = c->cols, .h = c->inner, .w = c->width, .c_out = c->rows,
          .kernel = c->kernel != 0 ? c->kernel : 3, .stride = c->stride != 0 ? c->stride : 1,
          .pad = c->pad, .pad_extra_end = c->pad_extra_end,
        };
        return 2.0 * m * n * conv.kernel * conv.kernel * loom_conv2d_out_h (&conv)
               * loom_conv2d_out_w (&conv);
      }
    case LOOM_OP_FLASH_ATTENTION:  /* q·kᵀ and p·v over n_kv = n_q keys, per head */
    case LOOM_OP_FLASH_ATTENTION_ROWS:
      return 4 * m * m * n * k;
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_OP_SOFTMAX:
    case LOOM_OP_RMS_NORM:
      return 4 * m * n;
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
    case LOOM_OP_SCALE:
    case LOOM_N_OPS:
    default:
      return m * n;
    }
}

static gboolean
run_case (LoomDevice       *device,
          const LoomOpCase *c,
          guint             repeat,
          JsonBuilder      *builder,
          GError          **error)
{
  g_autoptr(LoomCommand) cmd = loom_command_new (device, error);
  g_autoptr(LoomOpCaseData) data = NULL;
  gint64 start, elapsed;
  double seconds, bytes;

  if (cmd == NULL)
    return FALSE;
  data = loom_op_case_prepare (device, c, 1, error);
  if (data == NULL)
    return FALSE;

  /* A warm-up run, which also compiles the pipeline. */
  loom_op_case_record (cmd, data);
  if (!loom_command_submit (cmd, error))
    return FALSE;

  for (guint i = 0; i < repeat; i++)
    loom_op_case_record (cmd, data);
  start = g_get_monotonic_time ();
  if (!loom_command_submit (cmd, error))
    return FALSE;
  elapsed = g_get_monotonic_time () - start;

  seconds = elapsed / 1e6 / repeat;
  bytes = loom_op_case_min_traffic (data);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "op");
  json_builder_add_string_value (builder, loom_op_kind_to_string (c->kind));
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, loom_tensor_type_get_info (c->type)->name);
  json_builder_set_member_name (builder, "m");
  json_builder_add_int_value (builder, c->rows);
  json_builder_set_member_name (builder, "n");
  json_builder_add_int_value (builder, c->cols);
  json_builder_set_member_name (builder, "k");
  json_builder_add_int_value (builder, c->inner);
  json_builder_set_member_name (builder, "ms");
  json_builder_add_double_value (builder, seconds * 1e3);
  json_builder_set_member_name (builder, "gb_per_s");
  json_builder_add_double_value (builder, bytes / seconds / 1e9);
  json_builder_set_member_name (builder, "gflop_per_s");
  json_builder_add_double_value (builder, flops (c) / seconds / 1e9);
  json_builder_end_object (builder);
  return TRUE;
}

int
candor_cli_bench_ops (int    argc,
                      char **argv)
{
  g_autofree char *selector = NULL;
  g_autofree char *only = NULL;
  g_autofree char *only_type = NULL;
  int repeat = 10;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector, "Device index or name", "DEVICE" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Timed runs per op (default 10)", "N" },
    { "op", 0, 0, G_OPTION_ARG_STRING, &only, "Only this op", "NAME" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &only_type, "Only weights of this type (e.g. Q4_K)",
      "TYPE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— measure GPU op throughput");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "candor-cli bench-ops: %s\n", error->message);
      return 2;
    }
  if (repeat < 1)
    {
      fprintf (stderr, "candor-cli bench-ops: --repeat must be at least 1\n");
      return 2;
    }

  device = loom_device_new (selector, &error);
  if (device == NULL)
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "device");
  json_builder_add_string_value (builder, loom_device_get_name (device));
  json_builder_set_member_name (builder, "repeat");
  json_builder_add_int_value (builder, repeat);
  json_builder_set_member_name (builder, "ops");
  json_builder_begin_array (builder);
  for (guint i = 0; i < G_N_ELEMENTS (bench_cases); i++)
    {
      const char *name = loom_op_kind_to_string (bench_cases[i].kind);
      const char *type = loom_tensor_type_get_info (bench_cases[i].type)->name;
      if ((only != NULL && g_strcmp0 (only, name) != 0)
          || (only_type != NULL && g_ascii_strcasecmp (only_type, type) != 0))
        continue;
      if (!run_case (device, &bench_cases[i], (guint) repeat, builder, &error))
        {
          fprintf (stderr, "candor-cli bench-ops: %s: %s\n", name, error->message);
          return 1;
        }
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
  return 0;
}
