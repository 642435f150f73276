/* cli-bench-ops.c — `candor-cli bench-ops`: throughput of each GPU op, as JSON.
 *
 * Each op is recorded `repeat` times into one command buffer (each depending on the one
 * before through its output), submitted once and timed on the wall clock after one
 * warm-up submission that also compiles the pipeline. Figures are per op.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

typedef struct
{
  const char *name;
  LoomOpKind  kind;
  gsize       m, n, k;
} BenchCase;

static const BenchCase bench_cases[] = {
  { "add", LOOM_OP_ADD, 1, 16u << 20, 0 },
  { "silu", LOOM_OP_SILU, 1, 16u << 20, 0 },
  { "softmax", LOOM_OP_SOFTMAX, 64, 32000, 0 },
  { "rms-norm", LOOM_OP_RMS_NORM, 512, 2048, 0 },
  { "matvec", LOOM_OP_MATVEC, 1, 4096, 4096 },
  { "matvec-rows", LOOM_OP_MATVEC_ROWS, 1, 4096, 4096 },
  { "matmul-tiled", LOOM_OP_MATMUL_TILED, 512, 2048, 2048 },
  { "matmul-blocked", LOOM_OP_MATMUL_BLOCKED, 512, 2048, 2048 },
};

typedef struct
{
  LoomBuffer *a, *b, *out;
} BenchBuffers;

static void
record (LoomCommand      *cmd,
        const BenchCase  *c,
        BenchBuffers     *bufs)
{
  LoomView a = loom_view (bufs->a, 0), b = loom_view (bufs->b, 0), out = loom_view (bufs->out, 0);

  switch (c->kind)
    {
    case LOOM_OP_ADD:
      loom_op_binary (cmd, LOOM_BINARY_ADD, a, b, out, c->n);
      break;
    case LOOM_OP_SILU:
      loom_op_unary (cmd, LOOM_UNARY_SILU, a, out, c->n, 0);
      break;
    case LOOM_OP_SOFTMAX:
      loom_op_softmax_rows (cmd, a, out, c->m, c->n);
      break;
    case LOOM_OP_RMS_NORM:
      loom_op_rms_norm (cmd, a, b, out, c->m, c->n, 1e-5f);
      break;
    case LOOM_OP_MATVEC:
      loom_op_matvec_reduce (cmd, b, a, out, c->n, c->k);
      break;
    case LOOM_OP_MATVEC_ROWS:
      loom_op_matvec_rows (cmd, b, a, out, c->n, c->k);
      break;
    case LOOM_OP_MATMUL_TILED:
      loom_op_matmul_tiled (cmd, a, b, out, c->m, c->n, c->k);
      break;
    case LOOM_OP_MATMUL_BLOCKED:
      loom_op_matmul_blocked (cmd, a, b, out, c->m, c->n, c->k);
      break;
    case LOOM_OP_MUL:
    case LOOM_OP_SCALE:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      g_assert_not_reached ();
    }
}

/* Bytes the op must move at least, and floating-point operations it does. */
static void
cost (const BenchCase *c,
      double          *bytes,
      double          *flops)
{
  double m = c->m, n = c->n, k = c->k;

  switch (c->kind)
    {
    case LOOM_OP_ADD:
      *bytes = 12 * n;
      *flops = n;
      break;
    case LOOM_OP_SILU:
      *bytes = 8 * n;
      *flops = 4 * n;
      break;
    case LOOM_OP_SOFTMAX:
    case LOOM_OP_RMS_NORM:
      *bytes = 8 * m * n;
      *flops = 4 * m * n;
      break;
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
      *bytes = 4 * (n * k + k + n);
      *flops = 2 * n * k;
      break;
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      *bytes = 4 * (m * k + n * k + m * n);
      *flops = 2 * m * n * k;
      break;
    case LOOM_OP_MUL:
    case LOOM_OP_SCALE:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      *bytes = *flops = 0;
      break;
    }
}

static gboolean
run_case (LoomDevice      *device,
          const BenchCase *c,
          guint            repeat,
          JsonBuilder     *builder,
          GError         **error)
{
  g_autoptr(LoomCommand) cmd = loom_command_new (device, error);
  gsize a_len, b_len, out_len;
  BenchBuffers bufs = { 0 };
  gboolean ok = FALSE;
  gint64 start, elapsed;
  double bytes, flops, seconds;

  if (cmd == NULL)
    return FALSE;

  switch (c->kind)
    {
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      a_len = c->m * c->k;
      b_len = c->n * c->k;
      out_len = c->m * c->n;
      break;
    case LOOM_OP_SOFTMAX:
    case LOOM_OP_RMS_NORM:
      a_len = out_len = c->m * c->n;
      b_len = c->n;
      break;
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
    case LOOM_OP_SCALE:
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      a_len = b_len = out_len = c->n;
      break;
    }

  bufs.a = loom_buffer_new (device, a_len * sizeof (float), error);
  bufs.b = bufs.a != NULL ? loom_buffer_new (device, b_len * sizeof (float), error) : NULL;
  bufs.out = bufs.b != NULL ? loom_buffer_new (device, out_len * sizeof (float), error) : NULL;
  if (bufs.out == NULL)
    goto out;

  /* Inputs of 0.5 (bit pattern 0x3f000000): ordinary values, no denormals. */
  loom_command_fill (cmd, bufs.a, 0, loom_buffer_get_size (bufs.a), 0x3f000000u);
  loom_command_fill (cmd, bufs.b, 0, loom_buffer_get_size (bufs.b), 0x3f000000u);
  record (cmd, c, &bufs);
  if (!loom_command_submit (cmd, error))
    goto out;

  for (guint i = 0; i < repeat; i++)
    record (cmd, c, &bufs);
  start = g_get_monotonic_time ();
  if (!loom_command_submit (cmd, error))
    goto out;
  elapsed = g_get_monotonic_time () - start;

  seconds = elapsed / 1e6 / repeat;
  cost (c, &bytes, &flops);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "op");
  json_builder_add_string_value (builder, c->name);
  json_builder_set_member_name (builder, "m");
  json_builder_add_int_value (builder, c->m);
  json_builder_set_member_name (builder, "n");
  json_builder_add_int_value (builder, c->n);
  json_builder_set_member_name (builder, "k");
  json_builder_add_int_value (builder, c->k);
  json_builder_set_member_name (builder, "ms");
  json_builder_add_double_value (builder, seconds * 1e3);
  json_builder_set_member_name (builder, "gb_per_s");
  json_builder_add_double_value (builder, bytes / seconds / 1e9);
  json_builder_set_member_name (builder, "gflop_per_s");
  json_builder_add_double_value (builder, flops / seconds / 1e9);
  json_builder_end_object (builder);
  ok = TRUE;

out:
  g_clear_pointer (&bufs.a, loom_buffer_free);
  g_clear_pointer (&bufs.b, loom_buffer_free);
  g_clear_pointer (&bufs.out, loom_buffer_free);
  return ok;
}

int
candor_cli_bench_ops (int    argc,
                      char **argv)
{
  g_autofree char *selector = NULL;
  g_autofree char *only = NULL;
  int repeat = 10;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector, "Device index or name", "DEVICE" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Timed runs per op (default 10)", "N" },
    { "op", 0, 0, G_OPTION_ARG_STRING, &only, "Only this op", "NAME" },
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
      if (only != NULL && g_strcmp0 (only, bench_cases[i].name) != 0)
        continue;
      if (!run_case (device, &bench_cases[i], (guint) repeat, builder, &error))
        {
          fprintf (stderr, "candor-cli bench-ops: %s: %s\n", bench_cases[i].name, error->message);
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
