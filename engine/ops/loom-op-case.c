/* loom-op-case.c — the op harness: random inputs, GPU run, reference, bounds, guards. */
#include "config.h"

#include <string.h>

#include "loom-op-case.h"
#include "loom-ops.h"
#include "loom-ref.h"

/* Floats after each output that the op must leave alone. */
#define GUARD 64
#define GUARD_PATTERN 0x7fbadbadu  /* a NaN no op produces */

typedef struct
{
  float      *host;    /* the tensor's values */
  gsize       n;
  LoomBuffer *buffer;  /* [offset floats][n floats][GUARD floats] */
} Tensor;

const char *
loom_op_kind_to_string (LoomOpKind kind)
{
  static const char *names[LOOM_N_OPS] = {
    [LOOM_OP_ADD] = "add",
    [LOOM_OP_MUL] = "mul",
    [LOOM_OP_SCALE] = "scale",
    [LOOM_OP_SILU] = "silu",
    [LOOM_OP_GELU_TANH] = "gelu-tanh",
    [LOOM_OP_GELU_ERF] = "gelu-erf",
    [LOOM_OP_SOFTMAX] = "softmax",
    [LOOM_OP_RMS_NORM] = "rms-norm",
    [LOOM_OP_MATVEC] = "matvec",
    [LOOM_OP_MATVEC_ROWS] = "matvec-rows",
    [LOOM_OP_MATMUL_TILED] = "matmul-tiled",
    [LOOM_OP_MATMUL_BLOCKED] = "matmul-blocked",
  };

  g_return_val_if_fail (kind < LOOM_N_OPS, NULL);
  return names[kind];
}

char *
loom_op_case_describe (const LoomOpCase *op_case)
{
  switch (op_case->kind)
    {
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      return g_strdup_printf ("%s M=%" G_GSIZE_FORMAT " N=%" G_GSIZE_FORMAT " K=%" G_GSIZE_FORMAT
                              " offset=%" G_GSIZE_FORMAT,
                              loom_op_kind_to_string (op_case->kind), op_case->rows,
                              op_case->cols, op_case->inner, op_case->offset);
    case LOOM_OP_SOFTMAX:
    case LOOM_OP_RMS_NORM:
      return g_strdup_printf ("%s %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT " offset=%" G_GSIZE_FORMAT,
                              loom_op_kind_to_string (op_case->kind), op_case->rows,
                              op_case->cols, op_case->offset);
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
    case LOOM_OP_SCALE:
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      return g_strdup_printf ("%s n=%" G_GSIZE_FORMAT " offset=%" G_GSIZE_FORMAT,
                              loom_op_kind_to_string (op_case->kind), op_case->cols,
                              op_case->offset);
    }
}

static void
tensor_clear (Tensor *t)
{
  g_clear_pointer (&t->host, g_free);
  g_clear_pointer (&t->buffer, loom_buffer_free);
}

static gsize
tensor_bytes (gsize n,
              gsize offset)
{
  return (offset + n + GUARD) * sizeof (float);
}

/* Allocates the tensor's buffer and fills the words around the data with the guard
 * pattern; with @rand, the data is uniform in [lo, hi) and uploaded. */
static gboolean
tensor_init (Tensor     *t,
             LoomDevice *device,
             gsize       n,
             gsize       offset,
             GRand      *rand,
             double      lo,
             double      hi,
             GError    **error)
{
  g_autofree guint32 *image = g_new (guint32, offset + n + GUARD);

  t->n = n;
  t->host = g_new0 (float, MAX (n, 1));
  t->buffer = loom_buffer_new (device, tensor_bytes (n, offset), error);
  if (t->buffer == NULL)
    return FALSE;

  for (gsize i = 0; i < offset + n + GUARD; i++)
    image[i] = GUARD_PATTERN;
  if (rand != NULL)
    {
      for (gsize i = 0; i < n; i++)
        t->host[i] = (float) g_rand_double_range (rand, lo, hi);
      memcpy (image + offset, t->host, n * sizeof (float));
    }
  return loom_buffer_write (t->buffer, 0, image, tensor_bytes (n, offset), error);
}

/* Reads the output back into got[] and checks the guard words around it. */
static gboolean
read_output (Tensor  *out,
             gsize    offset,
             float   *got,
             gboolean *guards_intact,
             GError **error)
{
  g_autofree guint32 *image = g_new (guint32, offset + out->n + GUARD);

  if (!loom_buffer_read (out->buffer, 0, image, tensor_bytes (out->n, offset), error))
    return FALSE;
  memcpy (got, image + offset, out->n * sizeof (float));
  *guards_intact = TRUE;
  for (gsize i = 0; i < offset; i++)
    *guards_intact &= image[i] == GUARD_PATTERN;
  for (gsize i = 0; i < GUARD; i++)
    *guards_intact &= image[offset + out->n + i] == GUARD_PATTERN;
  return TRUE;
}

/**
 * loom_op_case_run:
 * @check: (out): how the device's result compares with the reference
 *
 * Runs one op on @device. Blocks until the GPU is done: call it from a worker or test.
 *
 * Returns: %FALSE only when the device failed (allocation, submission); a wrong
 *   result is reported in @check, with check->passed %FALSE.
 */
gboolean
loom_op_case_run (LoomDevice       *device,
                  const LoomOpCase *op_case,
                  guint32           seed,
                  LoomCheck        *check,
                  GError          **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(LoomCommand) cmd = NULL;
  g_autofree float *want = NULL;
  g_autofree float *got = NULL;
  g_autofree float *magnitude = NULL;
  g_autofree double *bound = NULL;
  Tensor a = { 0 }, b = { 0 }, out = { 0 };
  const gsize off = op_case->offset;
  const gsize rows = op_case->rows, cols = op_case->cols, inner = op_case->inner;
  const float scale = 0.375f, eps = 1e-5f;
  gsize n_out;
  gboolean ok = FALSE, guards_intact = FALSE;

  g_return_val_if_fail (op_case->kind < LOOM_N_OPS, FALSE);

  cmd = loom_command_new (device, error);
  if (cmd == NULL)
    return FALSE;

  switch (op_case->kind)
    {
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      n_out = rows * cols;
      if (!tensor_init (&a, device, rows * inner, off, rand, -1, 1, error)
          || !tensor_init (&b, device, cols * inner, off, rand, -1, 1, error))
        goto out;
      break;
    case LOOM_OP_SOFTMAX:
      n_out = rows * cols;
      if (!tensor_init (&a, device, n_out, off, rand, -10, 10, error))
        goto out;
      break;
    case LOOM_OP_RMS_NORM:
      n_out = rows * cols;
      if (!tensor_init (&a, device, n_out, off, rand, -3, 3, error)
          || !tensor_init (&b, device, cols, off, rand, 0.5, 1.5, error))
        goto out;
      break;
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
      n_out = cols;
      if (!tensor_init (&a, device, n_out, off, rand, -100, 100, error)
          || !tensor_init (&b, device, n_out, off, rand, -100, 100, error))
        goto out;
      break;
    case LOOM_OP_SCALE:
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      n_out = cols;
      if (!tensor_init (&a, device, n_out, off, rand, -8, 8, error))
        goto out;
      break;
    }
  if (!tensor_init (&out, device, n_out, off, NULL, 0, 0, error))
    goto out;

  want = g_new0 (float, MAX (n_out, 1));
  got = g_new0 (float, MAX (n_out, 1));
  bound = g_new0 (double, MAX (n_out, 1));

#define VIEW(t) loom_view ((t).buffer, off * sizeof (float))
  switch (op_case->kind)
    {
    case LOOM_OP_ADD:
      loom_op_binary (cmd, LOOM_BINARY_ADD, VIEW (a), VIEW (b), VIEW (out), n_out);
      loom_ref_add (a.host, b.host, want, n_out);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_MUL:
      loom_op_binary (cmd, LOOM_BINARY_MUL, VIEW (a), VIEW (b), VIEW (out), n_out);
      loom_ref_mul (a.host, b.host, want, n_out);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_SCALE:
      loom_op_unary (cmd, LOOM_UNARY_SCALE, VIEW (a), VIEW (out), n_out, scale);
      loom_ref_scale (a.host, want, n_out, scale);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_SILU:
      loom_op_unary (cmd, LOOM_UNARY_SILU, VIEW (a), VIEW (out), n_out, 0);
      loom_ref_silu (a.host, want, n_out);
      loom_bounds_silu (a.host, want, bound, n_out);
      break;
    case LOOM_OP_GELU_TANH:
      loom_op_unary (cmd, LOOM_UNARY_GELU_TANH, VIEW (a), VIEW (out), n_out, 0);
      loom_ref_gelu_tanh (a.host, want, n_out);
      loom_bounds_gelu_tanh (a.host, want, bound, n_out);
      break;
    case LOOM_OP_GELU_ERF:
      loom_op_unary (cmd, LOOM_UNARY_GELU_ERF, VIEW (a), VIEW (out), n_out, 0);
      loom_ref_gelu_erf (a.host, want, n_out);
      loom_bounds_gelu_erf (a.host, want, bound, n_out);
      break;
    case LOOM_OP_SOFTMAX:
      loom_op_softmax_rows (cmd, VIEW (a), VIEW (out), rows, cols);
      loom_ref_softmax_rows (a.host, want, rows, cols);
      loom_bounds_softmax (a.host, want, bound, rows, cols);
      break;
    case LOOM_OP_RMS_NORM:
      loom_op_rms_norm (cmd, VIEW (a), VIEW (b), VIEW (out), rows, cols, eps);
      loom_ref_rms_norm (a.host, b.host, want, rows, cols, eps);
      loom_bounds_rms_norm (want, bound, rows, cols);
      break;
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      if (op_case->kind == LOOM_OP_MATVEC)
        loom_op_matvec_reduce (cmd, VIEW (b), VIEW (a), VIEW (out), cols, inner);
      else if (op_case->kind == LOOM_OP_MATVEC_ROWS)
        loom_op_matvec_rows (cmd, VIEW (b), VIEW (a), VIEW (out), cols, inner);
      else if (op_case->kind == LOOM_OP_MATMUL_TILED)
        loom_op_matmul_tiled (cmd, VIEW (a), VIEW (b), VIEW (out), rows, cols, inner);
      else
        loom_op_matmul_blocked (cmd, VIEW (a), VIEW (b), VIEW (out), rows, cols, inner);
      magnitude = g_new0 (float, MAX (n_out, 1));
      loom_ref_matmul (a.host, b.host, want, magnitude, rows, cols, inner);
      loom_bounds_matmul (magnitude, want, bound, n_out, inner);
      break;
    case LOOM_N_OPS:
    default:
      g_assert_not_reached ();
    }
#undef VIEW

  if (!loom_command_submit (cmd, error) || !read_output (&out, off, got, &guards_intact, error))
    goto out;

  loom_check_close (got, want, bound, n_out, check);
  check->wrote_outside = !guards_intact;
  if (!guards_intact)
    check->passed = FALSE;
  ok = TRUE;

out:
  tensor_clear (&a);
  tensor_clear (&b);
  tensor_clear (&out);
  return ok;
}
