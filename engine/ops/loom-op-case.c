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

/* The scale of LOOM_OP_SCALE and the epsilon of LOOM_OP_RMS_NORM in every case. */
#define CASE_SCALE 0.375f
#define CASE_EPS   1e-5f

/* Where each kind draws its random inputs from: ranges that exercise the interesting
 * part of each function (and, for softmax, large exponents). */
static void
input_ranges (LoomOpKind kind,
              double     a[2],
              double     b[2])
{
  switch (kind)
    {
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      a[0] = b[0] = -1, a[1] = b[1] = 1;
      break;
    case LOOM_OP_SOFTMAX:
      a[0] = -10, a[1] = 10;
      break;
    case LOOM_OP_RMS_NORM:
      a[0] = -3, a[1] = 3, b[0] = 0.5, b[1] = 1.5;
      break;
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
      a[0] = b[0] = -100, a[1] = b[1] = 100;
      break;
    case LOOM_OP_SCALE:
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      a[0] = -8, a[1] = 8;
      break;
    }
}

/**
 * loom_op_case_sizes:
 * @a_len: (out): floats of the first input (activations for a matmul)
 * @b_len: (out): floats of the second input (weights), 0 when the op has none
 * @out_len: (out): floats of the output
 */
void
loom_op_case_sizes (const LoomOpCase *op_case,
                    gsize            *a_len,
                    gsize            *b_len,
                    gsize            *out_len)
{
  const gsize rows = op_case->rows, cols = op_case->cols, inner = op_case->inner;

  switch (op_case->kind)
    {
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      *a_len = rows * inner;
      *b_len = cols * inner;
      *out_len = rows * cols;
      break;
    case LOOM_OP_SOFTMAX:
      *a_len = *out_len = rows * cols;
      *b_len = 0;
      break;
    case LOOM_OP_RMS_NORM:
      *a_len = *out_len = rows * cols;
      *b_len = cols;
      break;
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
      *a_len = *b_len = *out_len = cols;
      break;
    case LOOM_OP_SCALE:
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_N_OPS:
    default:
      *a_len = *out_len = cols;
      *b_len = 0;
      break;
    }
}

/* Records the op of @op_case reading @a (and @b) and writing @out. */
void
loom_op_case_record (LoomCommand      *cmd,
                     const LoomOpCase *op_case,
                     LoomView          a,
                     LoomView          b,
                     LoomView          out)
{
  const gsize rows = op_case->rows, cols = op_case->cols, inner = op_case->inner;

  switch (op_case->kind)
    {
    case LOOM_OP_ADD:
      loom_op_binary (cmd, LOOM_BINARY_ADD, a, b, out, cols);
      break;
    case LOOM_OP_MUL:
      loom_op_binary (cmd, LOOM_BINARY_MUL, a, b, out, cols);
      break;
    case LOOM_OP_SCALE:
      loom_op_unary (cmd, LOOM_UNARY_SCALE, a, out, cols, CASE_SCALE);
      break;
    case LOOM_OP_SILU:
      loom_op_unary (cmd, LOOM_UNARY_SILU, a, out, cols, 0);
      break;
    case LOOM_OP_GELU_TANH:
      loom_op_unary (cmd, LOOM_UNARY_GELU_TANH, a, out, cols, 0);
      break;
    case LOOM_OP_GELU_ERF:
      loom_op_unary (cmd, LOOM_UNARY_GELU_ERF, a, out, cols, 0);
      break;
    case LOOM_OP_SOFTMAX:
      loom_op_softmax_rows (cmd, a, out, rows, cols);
      break;
    case LOOM_OP_RMS_NORM:
      loom_op_rms_norm (cmd, a, b, out, rows, cols, CASE_EPS);
      break;
    case LOOM_OP_MATVEC:
      loom_op_matvec_reduce (cmd, b, a, out, cols, inner);
      break;
    case LOOM_OP_MATVEC_ROWS:
      loom_op_matvec_rows (cmd, b, a, out, cols, inner);
      break;
    case LOOM_OP_MATMUL_TILED:
      loom_op_matmul_tiled (cmd, a, b, out, rows, cols, inner);
      break;
    case LOOM_OP_MATMUL_BLOCKED:
      loom_op_matmul_blocked (cmd, a, b, out, rows, cols, inner);
      break;
    case LOOM_N_OPS:
    default:
      g_return_if_reached ();
    }
}

/* Computes what the op should give, and how far from it each value may be. */
static void
reference (const LoomOpCase *op_case,
           const float      *a,
           const float      *b,
           float            *want,
           double           *bound,
           gsize             n_out)
{
  const gsize rows = op_case->rows, cols = op_case->cols, inner = op_case->inner;

  switch (op_case->kind)
    {
    case LOOM_OP_ADD:
      loom_ref_add (a, b, want, n_out);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_MUL:
      loom_ref_mul (a, b, want, n_out);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_SCALE:
      loom_ref_scale (a, want, n_out, CASE_SCALE);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_SILU:
      loom_ref_silu (a, want, n_out);
      loom_bounds_silu (a, want, bound, n_out);
      break;
    case LOOM_OP_GELU_TANH:
      loom_ref_gelu_tanh (a, want, n_out);
      loom_bounds_gelu_tanh (a, want, bound, n_out);
      break;
    case LOOM_OP_GELU_ERF:
      loom_ref_gelu_erf (a, want, n_out);
      loom_bounds_gelu_erf (a, want, bound, n_out);
      break;
    case LOOM_OP_SOFTMAX:
      loom_ref_softmax_rows (a, want, rows, cols);
      loom_bounds_softmax (a, want, bound, rows, cols);
      break;
    case LOOM_OP_RMS_NORM:
      loom_ref_rms_norm (a, b, want, rows, cols, CASE_EPS);
      loom_bounds_rms_norm (want, bound, rows, cols);
      break;
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      {
        g_autofree float *magnitude = g_new0 (float, MAX (n_out, 1));
        loom_ref_matmul (a, b, want, magnitude, rows, cols, inner);
        loom_bounds_matmul (magnitude, want, bound, n_out, inner);
      }
      break;
    case LOOM_N_OPS:
    default:
      g_return_if_reached ();
    }
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
  g_autofree double *bound = NULL;
  Tensor a = { 0 }, b = { 0 }, out = { 0 };
  const gsize off = op_case->offset;
  double a_range[2] = { 0 }, b_range[2] = { 0 };
  gsize a_len, b_len, n_out;
  gboolean ok = FALSE, guards_intact = FALSE;

  g_return_val_if_fail (op_case->kind < LOOM_N_OPS, FALSE);

  cmd = loom_command_new (device, error);
  if (cmd == NULL)
    return FALSE;

  loom_op_case_sizes (op_case, &a_len, &b_len, &n_out);
  input_ranges (op_case->kind, a_range, b_range);
  if (!tensor_init (&a, device, a_len, off, rand, a_range[0], a_range[1], error)
      || (b_len > 0 && !tensor_init (&b, device, b_len, off, rand, b_range[0], b_range[1], error))
      || !tensor_init (&out, device, n_out, off, NULL, 0, 0, error))
    goto out;

  loom_op_case_record (cmd, op_case, loom_view (a.buffer, off * sizeof (float)),
                       loom_view (b.buffer, off * sizeof (float)),
                       loom_view (out.buffer, off * sizeof (float)));

  want = g_new0 (float, MAX (n_out, 1));
  got = g_new0 (float, MAX (n_out, 1));
  bound = g_new0 (double, MAX (n_out, 1));
  reference (op_case, a.host, b.host, want, bound, n_out);

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
