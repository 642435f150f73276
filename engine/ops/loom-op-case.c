/* loom-op-case.c — the op harness: random inputs, GPU run, reference, bounds, guards. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "formats/loom-quant.h"
#include "loom-op-case.h"
#include "loom-ref.h"

#define MAX_INPUTS   4
#define GUARD_BYTES  256   /* after each tensor, which no op may touch */
#define GUARD_BYTE   0xba  /* fills guards (and outputs before the op): 0xbabababa is a NaN */
#define ULP          (1.0 / 8388608.0)
#define HALF_ULP     (1.0 / 1024.0)

/* Fixed parameters of the cases. */
#define CASE_SCALE      0.375f
#define CASE_EPS        1e-5f
#define CASE_ROPE_POS   7
#define CASE_ROPE_BASE  10000.0f
#define CASE_KV_POS     5

typedef struct
{
  guint32 type;  /* LOOM_TENSOR_F32, F16 or a quantized type */
  gsize   n;     /* elements */
  double  lo, hi;
} TensorSpec;

typedef struct
{
  guint      n_inputs;
  TensorSpec inputs[MAX_INPUTS];
  TensorSpec out;          /* lo < hi: the output starts with random values (in place) */
  gsize      check_first;  /* the part of the output the op writes */
  gsize      check_n;
  gsize      scratch_n;    /* f32 scratch, unchecked */
} Shape;

typedef struct
{
  guint32     type;
  gsize       n;
  float      *values;  /* what the stored data means (decoded) */
  gsize       offset;  /* bytes in front of the data */
  gsize       bytes;   /* of the data */
  LoomBuffer *buffer;  /* [offset][data][GUARD_BYTES] */
} Tensor;

struct _LoomOpCaseData
{
  LoomOpCase  c;
  Shape       shape;
  Tensor      inputs[MAX_INPUTS];
  Tensor      out;
  LoomBuffer *scratch;
};

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
    [LOOM_OP_SWIGLU] = "swiglu",
    [LOOM_OP_SOFTMAX] = "softmax",
    [LOOM_OP_RMS_NORM] = "rms-norm",
    [LOOM_OP_MATVEC] = "matvec",
    [LOOM_OP_MATVEC_ROWS] = "matvec-rows",
    [LOOM_OP_MATMUL_TILED] = "matmul-tiled",
    [LOOM_OP_MATMUL_BLOCKED] = "matmul-blocked",
    [LOOM_OP_ROPE] = "rope",
    [LOOM_OP_ROPE_NEOX] = "rope-neox",
    [LOOM_OP_KV_STORE] = "kv-store",
    [LOOM_OP_ATTENTION] = "attention",
    [LOOM_OP_ATTENTION_ONLINE] = "attention-online",
    [LOOM_OP_GET_ROW] = "get-row",
    [LOOM_OP_BIAS] = "bias",
    [LOOM_OP_CONV2D] = "conv2d",
    [LOOM_OP_CONV2D_BLOCKED] = "conv2d-blocked",
    [LOOM_OP_UPSAMPLE] = "upsample",
    [LOOM_OP_ADD_CHANNEL] = "add-channel",
    [LOOM_OP_TRANSPOSE] = "transpose",
    [LOOM_OP_QUICK_GELU] = "quick-gelu",
    [LOOM_OP_GROUP_NORM] = "group-norm",
    [LOOM_OP_GROUP_NORM_SILU] = "group-norm-silu",
    [LOOM_OP_LAYER_NORM] = "layer-norm",
    [LOOM_OP_FLASH_ATTENTION] = "flash-attention",
    [LOOM_OP_FLASH_ATTENTION_ROWS] = "flash-attention-rows",
    [LOOM_OP_GEGLU] = "geglu",
    [LOOM_OP_TIMESTEP_EMBEDDING] = "timestep-embedding",
  };

  g_return_val_if_fail (kind < LOOM_N_OPS, NULL);
  return names[kind];
}

/* Conv2d cases: c_out = rows, c_in = cols, an inner × width map. */
static LoomConv2d
case_conv (const LoomOpCase *c)
{
  return (LoomConv2d) {
    .c_in = c->cols,
    .h = c->inner,
    .w = c->width,
    .c_out = c->rows,
    .kernel = c->kernel != 0 ? c->kernel : 3,
    .stride = c->stride != 0 ? c->stride : 1,
    .pad = c->pad,
    .w_type = c->type,
    .pad_extra_end = c->pad_extra_end,
  };
}

char *
loom_op_case_describe (const LoomOpCase *c)
{
  const LoomTensorTypeInfo *type = loom_tensor_type_get_info (c->type);
  g_autofree char *what = NULL;

  what = g_strdup_printf ("%s %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                          " %s offset=%" G_GSIZE_FORMAT, loom_op_kind_to_string (c->kind),
                          c->rows, c->cols, c->inner, type != NULL ? type->name : "?", c->offset);
  if (c->kind == LOOM_OP_CONV2D || c->kind == LOOM_OP_CONV2D_BLOCKED)
    {
      LoomConv2d conv = case_conv (c);
      return g_strdup_printf ("%s width=%" G_GSIZE_FORMAT " kernel=%u stride=%u pad=%u%s%s", what,
                              conv.w, conv.kernel, conv.stride, conv.pad,
                              conv.pad_extra_end ? "+1" : "", c->bias ? " bias" : "");
    }
  if (c->kind == LOOM_OP_FLASH_ATTENTION || c->kind == LOOM_OP_FLASH_ATTENTION_ROWS)
    return g_strdup_printf ("%s n_kv=%" G_GSIZE_FORMAT " row_pad=%" G_GSIZE_FORMAT, what,
                            c->n_kv != 0 ? c->n_kv : c->rows, c->row_pad);
  return g_steal_pointer (&what);
}

/* Flash-attention cases: rows queries × cols heads × inner head_dim. */
static LoomFlashAttention
case_flash (const LoomOpCase *c)
{
  return (LoomFlashAttention) {
    .n_q = c->rows,
    .n_kv = c->n_kv != 0 ? c->n_kv : c->rows,
    .n_heads = c->cols,
    .head_dim = c->inner,
    .q_stride = c->cols * c->inner + c->row_pad,
    .kv_stride = c->cols * c->inner + 2 * c->row_pad,
    .scale = (float) (1.0 / sqrt ((double) c->inner)),
  };
}

static gsize
kv_heads (const LoomOpCase *c)
{
  return c->cols % 2 == 0 ? c->cols / 2 : c->cols;
}

/* KV-store and attention cases: the cache type is the case's type, f16 or f32. */
static gboolean
kv_f32 (const LoomOpCase *c)
{
  return c->type == LOOM_TENSOR_F32;
}

static void
spec (TensorSpec *t,
      guint32     type,
      gsize       n,
      double      lo,
      double      hi)
{
  *t = (TensorSpec) { type, n, lo, hi };
}

static void
case_shape (const LoomOpCase *c,
            Shape            *s)
{
  const gsize r = c->rows, n = c->cols, k = c->inner;

  memset (s, 0, sizeof *s);
  switch (c->kind)
    {
    case LOOM_OP_ADD:
    case LOOM_OP_MUL:
      s->n_inputs = 2;
      spec (&s->inputs[0], LOOM_TENSOR_F32, n, -100, 100);
      spec (&s->inputs[1], LOOM_TENSOR_F32, n, -100, 100);
      spec (&s->out, LOOM_TENSOR_F32, n, 0, 0);
      break;
    case LOOM_OP_SWIGLU:
      s->n_inputs = 2;
      spec (&s->inputs[0], LOOM_TENSOR_F32, n, -8, 8);
      spec (&s->inputs[1], LOOM_TENSOR_F32, n, -4, 4);
      spec (&s->out, LOOM_TENSOR_F32, n, 0, 0);
      break;
    case LOOM_OP_SOFTMAX:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n, -10, 10);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_RMS_NORM:
      s->n_inputs = 2;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n, -3, 3);
      spec (&s->inputs[1], LOOM_TENSOR_F32, n, 0.5, 1.5);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_BIAS:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, n, -1, 1);
      spec (&s->out, LOOM_TENSOR_F32, r * n, -4, 4);
      break;
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      s->n_inputs = 2;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * k, -1, 1);
      spec (&s->inputs[1], c->type, n * k, -1, 1);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_ROPE:
      s->n_inputs = 0;
      spec (&s->out, LOOM_TENSOR_F32, r * n * k, -2, 2);
      break;
    case LOOM_OP_ROPE_NEOX:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, MAX (k / 4, 1), 1, 8);  /* factors */
      spec (&s->out, LOOM_TENSOR_F32, r * n * k, -2, 2);
      break;
    case LOOM_OP_KV_STORE:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n, -4, 4);
      spec (&s->out, kv_f32 (c) ? LOOM_TENSOR_F32 : LOOM_TENSOR_F16, (CASE_KV_POS + r) * n, 0, 0);
      s->check_first = CASE_KV_POS * n;
      s->check_n = r * n;
      break;
    case LOOM_OP_ATTENTION:
    case LOOM_OP_ATTENTION_ONLINE:
      s->n_inputs = 3;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n * k, -3, 3);
      spec (&s->inputs[1], kv_f32 (c) ? LOOM_TENSOR_F32 : LOOM_TENSOR_F16,
            (CASE_KV_POS + r) * kv_heads (c) * k, -1, 1);
      spec (&s->inputs[2], kv_f32 (c) ? LOOM_TENSOR_F32 : LOOM_TENSOR_F16,
            (CASE_KV_POS + r) * kv_heads (c) * k, -1, 1);
      spec (&s->out, LOOM_TENSOR_F32, r * n * k, 0, 0);
      if (c->kind == LOOM_OP_ATTENTION)
        s->scratch_n = r * n * (CASE_KV_POS + r);
      break;
    case LOOM_OP_GET_ROW:
      s->n_inputs = 1;
      spec (&s->inputs[0], c->type, r * n, -2, 2);
      spec (&s->out, LOOM_TENSOR_F32, n, 0, 0);
      break;
    case LOOM_OP_CONV2D:
    case LOOM_OP_CONV2D_BLOCKED:
      {
        LoomConv2d conv = case_conv (c);
        s->n_inputs = c->bias ? 3 : 2;
        spec (&s->inputs[0], LOOM_TENSOR_F32, conv.c_in * conv.h * conv.w, -1, 1);
        spec (&s->inputs[1], c->type, conv.c_out * conv.c_in * conv.kernel * conv.kernel, -1, 1);
        spec (&s->inputs[2], LOOM_TENSOR_F32, conv.c_out, -1, 1);
        spec (&s->out, LOOM_TENSOR_F32,
              conv.c_out * loom_conv2d_out_h (&conv) * loom_conv2d_out_w (&conv), 0, 0);
      }
      break;
    case LOOM_OP_UPSAMPLE:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * k * n, -4, 4);
      spec (&s->out, LOOM_TENSOR_F32, 4 * r * k * n, 0, 0);
      break;
    case LOOM_OP_ADD_CHANNEL:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r, -1, 1);
      spec (&s->out, LOOM_TENSOR_F32, r * n, -4, 4);
      break;
    case LOOM_OP_TRANSPOSE:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n, -4, 4);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_GROUP_NORM:
    case LOOM_OP_GROUP_NORM_SILU:
      /* Values around a mean well off zero, which a one-pass variance would cancel. */
      s->n_inputs = 3;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n, -2, 6);
      spec (&s->inputs[1], LOOM_TENSOR_F32, r, 0.5, 1.5);
      spec (&s->inputs[2], LOOM_TENSOR_F32, r, -1, 1);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_LAYER_NORM:
      s->n_inputs = 3;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * n, -2, 6);
      spec (&s->inputs[1], LOOM_TENSOR_F32, n, 0.5, 1.5);
      spec (&s->inputs[2], LOOM_TENSOR_F32, n, -1, 1);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_FLASH_ATTENTION:
    case LOOM_OP_FLASH_ATTENTION_ROWS:
      {
        LoomFlashAttention a = case_flash (c);
        s->n_inputs = 3;
        spec (&s->inputs[0], LOOM_TENSOR_F32, a.n_q * a.q_stride, -3, 3);
        spec (&s->inputs[1], LOOM_TENSOR_F32, a.n_kv * a.kv_stride, -1, 1);
        spec (&s->inputs[2], LOOM_TENSOR_F32, a.n_kv * a.kv_stride, -1, 1);
        spec (&s->out, LOOM_TENSOR_F32, r * n * k, 0, 0);
      }
      break;
    case LOOM_OP_GEGLU:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, r * 2 * n, -4, 4);
      spec (&s->out, LOOM_TENSOR_F32, r * n, 0, 0);
      break;
    case LOOM_OP_TIMESTEP_EMBEDDING:
      s->n_inputs = 0;
      spec (&s->out, LOOM_TENSOR_F32, n, 0, 0);
      break;
    case LOOM_OP_SCALE:
    case LOOM_OP_SILU:
    case LOOM_OP_GELU_TANH:
    case LOOM_OP_GELU_ERF:
    case LOOM_OP_QUICK_GELU:
    case LOOM_N_OPS:
    default:
      s->n_inputs = 1;
      spec (&s->inputs[0], LOOM_TENSOR_F32, n, -8, 8);
      spec (&s->out, LOOM_TENSOR_F32, n, 0, 0);
      break;
    }
  if (s->check_n == 0)
    s->check_n = s->out.n;
}

static void
tensor_clear (Tensor *t)
{
  g_clear_pointer (&t->values, g_free);
  g_clear_pointer (&t->buffer, loom_buffer_free);
}

/* Creates the tensor: random values in [lo, hi) stored as its type (or, when lo = hi,
 * guard bytes to be overwritten), at its offset inside a buffer fenced by guards. */
static gboolean
tensor_init (Tensor           *t,
             LoomDevice       *device,
             const TensorSpec *spec,
             gsize             offset,
             GRand            *rand,
             GError          **error)
{
  g_autofree float *raw = NULL;
  g_autofree guint8 *image = NULL;
  guint64 bytes;

  t->type = spec->type;
  t->n = spec->n;
  if (!loom_tensor_type_row_bytes (spec->type, spec->n, &bytes))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "%" G_GSIZE_FORMAT " values do not fill whole blocks of type %u",
                   spec->n, spec->type);
      return FALSE;
    }
  t->bytes = bytes;
  t->offset = spec->type == LOOM_TENSOR_F32 ? offset * 4 : offset * 2;
  t->values = g_new0 (float, MAX (spec->n, 1));
  image = g_malloc (t->offset + t->bytes + GUARD_BYTES);
  memset (image, GUARD_BYTE, t->offset + t->bytes + GUARD_BYTES);

  if (spec->lo < spec->hi)
    {
      guint8 *data = image + t->offset;

      raw = g_new (float, MAX (spec->n, 1));
      for (gsize i = 0; i < spec->n; i++)
        raw[i] = (float) g_rand_double_range (rand, spec->lo, spec->hi);
      switch (spec->type)
        {
        case LOOM_TENSOR_F32:
          memcpy (t->values, raw, spec->n * sizeof (float));
          memcpy (data, raw, spec->n * sizeof (float));
          break;
        case LOOM_TENSOR_F16:
          for (gsize i = 0; i < spec->n; i++)
            {
              guint16 h = loom_float_to_half (raw[i]);
              memcpy (data + 2 * i, &h, 2);
              t->values[i] = loom_half_to_float (h);
            }
          break;
        default:
          /* The reference computes with what the blocks decode to. */
          loom_quantize (spec->type, raw, data, spec->n);
          loom_dequantize (spec->type, data, t->values, spec->n);
          break;
        }
    }

  t->buffer = loom_buffer_new (device, t->offset + t->bytes + GUARD_BYTES, error);
  return t->buffer != NULL
         && loom_buffer_write (t->buffer, 0, image, t->offset + t->bytes + GUARD_BYTES, error);
}

static LoomView
tensor_view (Tensor *t)
{
  return loom_view (t->buffer, t->offset);
}

void
loom_op_case_data_free (LoomOpCaseData *data)
{
  if (data == NULL)
    return;
  for (guint i = 0; i < MAX_INPUTS; i++)
    tensor_clear (&data->inputs[i]);
  tensor_clear (&data->out);
  g_clear_pointer (&data->scratch, loom_buffer_free);
  g_free (data);
}

/**
 * loom_op_case_prepare:
 *
 * Allocates and fills the case's tensors on @device. Blocks while uploading.
 */
LoomOpCaseData *
loom_op_case_prepare (LoomDevice       *device,
                      const LoomOpCase *op_case,
                      guint32           seed,
                      GError          **error)
{
  g_autoptr(LoomOpCaseData) data = g_new0 (LoomOpCaseData, 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  g_return_val_if_fail (op_case->kind < LOOM_N_OPS, NULL);

  data->c = *op_case;
  case_shape (op_case, &data->shape);
  for (guint i = 0; i < data->shape.n_inputs; i++)
    if (!tensor_init (&data->inputs[i], device, &data->shape.inputs[i], op_case->offset, rand,
                      error))
      return NULL;
  if (!tensor_init (&data->out, device, &data->shape.out, op_case->offset, rand, error))
    return NULL;
  if (data->shape.scratch_n > 0)
    {
      data->scratch = loom_buffer_new (device, data->shape.scratch_n * sizeof (float), error);
      if (data->scratch == NULL)
        return NULL;
    }
  return g_steal_pointer (&data);
}

/* Records the case's op on its prepared tensors. */
void
loom_op_case_record (LoomCommand    *cmd,
                     LoomOpCaseData *data)
{
  const LoomOpCase *c = &data->c;
  const gsize r = c->rows, n = c->cols, k = c->inner;
  LoomView in0 = tensor_view (&data->inputs[0]);
  LoomView in1 = tensor_view (&data->inputs[1]);
  LoomView out = tensor_view (&data->out);

  switch (c->kind)
    {
    case LOOM_OP_ADD:
      loom_op_binary (cmd, LOOM_BINARY_ADD, in0, in1, out, n);
      break;
    case LOOM_OP_MUL:
      loom_op_binary (cmd, LOOM_BINARY_MUL, in0, in1, out, n);
      break;
    case LOOM_OP_SWIGLU:
      loom_op_binary (cmd, LOOM_BINARY_SWIGLU, in0, in1, out, n);
      break;
    case LOOM_OP_SCALE:
      loom_op_unary (cmd, LOOM_UNARY_SCALE, in0, out, n, CASE_SCALE);
      break;
    case LOOM_OP_SILU:
      loom_op_unary (cmd, LOOM_UNARY_SILU, in0, out, n, 0);
      break;
    case LOOM_OP_GELU_TANH:
      loom_op_unary (cmd, LOOM_UNARY_GELU_TANH, in0, out, n, 0);
      break;
    case LOOM_OP_GELU_ERF:
      loom_op_unary (cmd, LOOM_UNARY_GELU_ERF, in0, out, n, 0);
      break;
    case LOOM_OP_SOFTMAX:
      loom_op_softmax_rows (cmd, in0, out, r, n);
      break;
    case LOOM_OP_RMS_NORM:
      loom_op_rms_norm (cmd, in0, in1, out, r, n, CASE_EPS);
      break;
    case LOOM_OP_BIAS:
      loom_op_bias (cmd, out, in0, r, n);
      break;
    case LOOM_OP_MATVEC:
      loom_op_matvec_reduce (cmd, in1, c->type, in0, out, n, k);
      break;
    case LOOM_OP_MATVEC_ROWS:
      loom_op_matvec_rows (cmd, in1, c->type, in0, out, n, k);
      break;
    case LOOM_OP_MATMUL_TILED:
      loom_op_matmul_tiled (cmd, in0, in1, c->type, out, r, n, k);
      break;
    case LOOM_OP_MATMUL_BLOCKED:
      loom_op_matmul_blocked (cmd, in0, in1, c->type, out, r, n, k);
      break;
    case LOOM_OP_ROPE:
    case LOOM_OP_ROPE_NEOX:
      {
        gboolean neox = c->kind == LOOM_OP_ROPE_NEOX;
        LoomRope rope = {
          .rope_dim = neox ? (guint) (k / 2) & ~1u : (guint) k,
          .freq_base = CASE_ROPE_BASE,
          .freq_scale = neox ? 0.5f : 1.0f,
          .neox = neox,
          .factors = neox ? &in0 : NULL,
        };
        loom_op_rope (cmd, out, r, n, k, CASE_ROPE_POS, &rope);
      }
      break;
    case LOOM_OP_KV_STORE:
      loom_op_kv_store (cmd, in0, out, r, n, CASE_KV_POS, kv_f32 (c));
      break;
    case LOOM_OP_ATTENTION:
    case LOOM_OP_ATTENTION_ONLINE:
      {
        LoomAttention attention = {
          .n_q = r,
          .n_heads = n,
          .n_kv_heads = kv_heads (c),
          .head_dim = k,
          .pos0 = CASE_KV_POS,
          .scale = (float) (1.0 / sqrt ((double) k)),
          .kv_f32 = kv_f32 (c),
        };
        if (c->kind == LOOM_OP_ATTENTION)
          loom_op_attention_passes (cmd, in0, in1, tensor_view (&data->inputs[2]),
                                    loom_view (data->scratch, 0), out, &attention);
        else
          loom_op_attention_online (cmd, in0, in1, tensor_view (&data->inputs[2]), out,
                                    &attention);
      }
      break;
    case LOOM_OP_GET_ROW:
      loom_op_get_row (cmd, in0, c->type, n, (guint32) (r / 2), out);
      break;
    case LOOM_OP_CONV2D:
    case LOOM_OP_CONV2D_BLOCKED:
      {
        LoomConv2d conv = case_conv (c);
        LoomView in2 = tensor_view (&data->inputs[2]);
        if (c->kind == LOOM_OP_CONV2D)
          loom_op_conv2d_tiled (cmd, in0, in1, c->bias ? &in2 : NULL, out, &conv);
        else
          loom_op_conv2d_blocked (cmd, in0, in1, c->bias ? &in2 : NULL, out, &conv);
      }
      break;
    case LOOM_OP_UPSAMPLE:
      loom_op_upsample_nearest (cmd, in0, out, r, k, n);
      break;
    case LOOM_OP_ADD_CHANNEL:
      loom_op_add_channel (cmd, out, in0, r, n);
      break;
    case LOOM_OP_TRANSPOSE:
      loom_op_transpose (cmd, in0, out, r, n);
      break;
    case LOOM_OP_QUICK_GELU:
      loom_op_unary (cmd, LOOM_UNARY_QUICK_GELU, in0, out, n, 0);
      break;
    case LOOM_OP_GROUP_NORM:
    case LOOM_OP_GROUP_NORM_SILU:
      loom_op_group_norm (cmd, in0, in1, tensor_view (&data->inputs[2]), out, r, n, k, CASE_EPS,
                          c->kind == LOOM_OP_GROUP_NORM_SILU);
      break;
    case LOOM_OP_LAYER_NORM:
      loom_op_layer_norm (cmd, in0, in1, tensor_view (&data->inputs[2]), out, r, n, CASE_EPS);
      break;
    case LOOM_OP_FLASH_ATTENTION:
    case LOOM_OP_FLASH_ATTENTION_ROWS:
      {
        LoomFlashAttention a = case_flash (c);
        if (c->kind == LOOM_OP_FLASH_ATTENTION)
          loom_op_flash_attention_tiled (cmd, in0, in1, tensor_view (&data->inputs[2]), out, &a);
        else
          loom_op_flash_attention_rows (cmd, in0, in1, tensor_view (&data->inputs[2]), out, &a);
      }
      break;
    case LOOM_OP_GEGLU:
      loom_op_geglu (cmd, in0, out, r, n);
      break;
    case LOOM_OP_TIMESTEP_EMBEDDING:
      loom_op_timestep_embedding (cmd, out, n, (float) k);
      break;
    case LOOM_N_OPS:
    default:
      g_return_if_reached ();
    }
}

/* The least memory traffic the op needs, in bytes: every input read once and the output
 * written (and read, when it is updated in place). */
double
loom_op_case_min_traffic (LoomOpCaseData *data)
{
  double bytes = (double) data->out.bytes * (data->shape.out.lo < data->shape.out.hi ? 2 : 1);

  for (guint i = 0; i < data->shape.n_inputs; i++)
    bytes += (double) data->inputs[i].bytes;
  return bytes;
}

/* What the op should give for the case's inputs (want[] over the checked part of the
 * output), and how far from it each value may be. */
static void
reference (LoomOpCaseData *data,
           float          *want,
           double         *bound)
{
  const LoomOpCase *c = &data->c;
  const gsize r = c->rows, n = c->cols, k = c->inner;
  const gsize n_out = data->shape.check_n;
  const float *a = data->inputs[0].values, *b = data->inputs[1].values;
  const float *x0 = data->out.values;  /* the output's values before the op, in place */

  switch (c->kind)
    {
    case LOOM_OP_ADD:
      loom_ref_add (a, b, want, n_out);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_MUL:
      loom_ref_mul (a, b, want, n_out);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_SWIGLU:
      loom_ref_swiglu (a, b, want, n_out);
      loom_bounds_swiglu (a, want, bound, n_out);
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
      loom_ref_softmax_rows (a, want, r, n);
      loom_bounds_softmax (a, want, bound, r, n);
      break;
    case LOOM_OP_RMS_NORM:
      loom_ref_rms_norm (a, b, want, r, n, CASE_EPS);
      loom_bounds_rms_norm (want, bound, r, n);
      break;
    case LOOM_OP_BIAS:
      memcpy (want, x0, n_out * sizeof (float));
      loom_ref_bias (want, a, r, n);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_MATVEC:
    case LOOM_OP_MATVEC_ROWS:
    case LOOM_OP_MATMUL_TILED:
    case LOOM_OP_MATMUL_BLOCKED:
      {
        g_autofree float *magnitude = g_new0 (float, MAX (n_out, 1));
        loom_ref_matmul (a, b, want, magnitude, r, n, k);
        loom_bounds_matmul (magnitude, want, bound, n_out, k);
        /* A kernel decoding weights rounds each one once more than the reference may. */
        if (c->type != LOOM_TENSOR_F32 && c->type != LOOM_TENSOR_F16)
          for (gsize i = 0; i < n_out; i++)
            bound[i] += 2.0 * ULP * magnitude[i];
      }
      break;
    case LOOM_OP_ROPE:
    case LOOM_OP_ROPE_NEOX:
      {
        gboolean neox = c->kind == LOOM_OP_ROPE_NEOX;
        guint rope_dim = neox ? (guint) (k / 2) & ~1u : (guint) k;
        double max_theta;
        memcpy (want, x0, n_out * sizeof (float));
        loom_ref_rope (want, r, n, k, rope_dim, CASE_ROPE_POS, CASE_ROPE_BASE, neox ? 0.5 : 1.0,
                       neox, neox ? a : NULL, &max_theta);
        loom_bounds_rope (x0, want, bound, r * n, k, rope_dim, neox, max_theta);
      }
      break;
    case LOOM_OP_KV_STORE:
      for (gsize i = 0; i < n_out; i++)
        {
          if (kv_f32 (c))
            {
              want[i] = a[i];
              bound[i] = 0.0;
              continue;
            }
          want[i] = loom_half_to_float (loom_float_to_half (a[i]));
          /* Vulkan converts to f16 by rounding to nearest or towards zero. */
          bound[i] = HALF_ULP * fabs (a[i]) + ldexp (1.0, -24);
        }
      break;
    case LOOM_OP_ATTENTION:
    case LOOM_OP_ATTENTION_ONLINE:
      {
        g_autofree float *magnitude = g_new0 (float, MAX (n_out, 1));
        double score_error, max_score;
        loom_ref_attention (a, data->inputs[1].values, data->inputs[2].values, want, r, n,
                            kv_heads (c), k, CASE_KV_POS, 1.0 / sqrt ((double) k), &score_error,
                            &max_score, magnitude);
        loom_bounds_attention (magnitude, bound, n_out, CASE_KV_POS + r, score_error, max_score);
      }
      break;
    case LOOM_OP_GET_ROW:
      memcpy (want, a + (r / 2) * n, n * sizeof (float));
      for (gsize i = 0; i < n_out; i++)
        bound[i] = c->type == LOOM_TENSOR_F32 || c->type == LOOM_TENSOR_F16
                   ? 0.0 : ULP * fabs (want[i]);
      break;
    case LOOM_OP_CONV2D:
    case LOOM_OP_CONV2D_BLOCKED:
      {
        LoomConv2d conv = case_conv (c);
        g_autofree float *magnitude = g_new0 (float, MAX (n_out, 1));
        loom_ref_conv2d (a, b, c->bias ? data->inputs[2].values : NULL, want, magnitude,
                         conv.c_in, conv.h, conv.w, conv.c_out, conv.kernel, conv.stride, conv.pad,
                         conv.pad_extra_end ? 1 : 0);
        /* A sum of c_in·k² products, and the bias: f16 weights are decoded exactly. */
        loom_bounds_matmul (magnitude, want, bound, n_out,
                            conv.c_in * conv.kernel * conv.kernel + (c->bias ? 1 : 0));
      }
      break;
    case LOOM_OP_UPSAMPLE:
      loom_ref_upsample_nearest (a, want, r, k, n);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_ADD_CHANNEL:
      memcpy (want, x0, n_out * sizeof (float));
      loom_ref_add_channel (want, a, r, n);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_TRANSPOSE:
      loom_ref_transpose (a, want, r, n);
      loom_bounds_exact (bound, n_out);
      break;
    case LOOM_OP_QUICK_GELU:
      loom_ref_quick_gelu (a, want, n_out);
      loom_bounds_quick_gelu (a, want, bound, n_out);
      break;
    case LOOM_OP_GROUP_NORM:
    case LOOM_OP_GROUP_NORM_SILU:
      {
        gboolean silu = c->kind == LOOM_OP_GROUP_NORM_SILU;
        loom_ref_group_norm (a, b, data->inputs[2].values, want, r, n, k, CASE_EPS, silu);
        loom_bounds_group_norm (a, b, data->inputs[2].values, bound, r, n, k, CASE_EPS, silu);
      }
      break;
    case LOOM_OP_LAYER_NORM:
      loom_ref_layer_norm (a, b, data->inputs[2].values, want, r, n, CASE_EPS);
      loom_bounds_layer_norm (a, b, data->inputs[2].values, bound, r, n, CASE_EPS);
      break;
    case LOOM_OP_FLASH_ATTENTION:
    case LOOM_OP_FLASH_ATTENTION_ROWS:
      {
        LoomFlashAttention fa = case_flash (c);
        g_autofree float *magnitude = g_new0 (float, MAX (n_out, 1));
        double score_error, max_score;
        loom_ref_flash_attention (a, b, data->inputs[2].values, want, fa.n_q, fa.n_kv, fa.n_heads,
                                  fa.head_dim, fa.q_stride, fa.kv_stride, fa.scale, &score_error,
                                  &max_score, magnitude);
        loom_bounds_flash_attention (magnitude, bound, n_out, fa.n_kv, score_error, max_score);
      }
      break;
    case LOOM_OP_GEGLU:
      loom_ref_geglu (a, want, r, n);
      loom_bounds_geglu (a, want, bound, r, n);
      break;
    case LOOM_OP_TIMESTEP_EMBEDDING:
      loom_ref_timestep_embedding (want, n, (double) (float) k);
      loom_bounds_timestep_embedding (bound, n, (double) (float) k);
      break;
    case LOOM_N_OPS:
    default:
      g_return_if_reached ();
    }
}

/**
 * loom_op_case_check:
 * @check: (out): how the device's result compares with the reference
 *
 * Reads the output back (after the recording was submitted) and compares it.
 *
 * Returns: %FALSE only when reading failed; a wrong result is reported in @check.
 */
gboolean
loom_op_case_check (LoomOpCaseData *data,
                    LoomCheck      *check,
                    GError        **error)
{
  Tensor *out = &data->out;
  const gsize first = data->shape.check_first, n_out = data->shape.check_n;
  const gsize element = out->type == LOOM_TENSOR_F16 ? 2 : 4;
  const gsize total = out->offset + out->bytes + GUARD_BYTES;
  const gsize written_start = out->offset + first * element;
  const gsize written_end = written_start + n_out * element;
  g_autofree guint8 *image = g_malloc (total);
  g_autofree guint8 *before = g_malloc (total);
  g_autofree float *got = g_new0 (float, MAX (n_out, 1));
  g_autofree float *want = g_new0 (float, MAX (n_out, 1));
  g_autofree double *bound = g_new0 (double, MAX (n_out, 1));
  gboolean intact = TRUE;

  if (!loom_buffer_read (out->buffer, 0, image, total, error))
    return FALSE;

  /* Everything outside the written part must be as it was uploaded. */
  memset (before, GUARD_BYTE, total);
  if (data->shape.out.lo < data->shape.out.hi)
    memcpy (before + out->offset, out->values, out->bytes);  /* f32: values are the bytes */
  for (gsize i = 0; i < total; i++)
    if ((i < written_start || i >= written_end) && image[i] != before[i])
      intact = FALSE;

  for (gsize i = 0; i < n_out; i++)
    {
      const guint8 *p = image + written_start + i * element;
      if (element == 2)
        {
          guint16 h;
          memcpy (&h, p, 2);
          got[i] = loom_half_to_float (h);
        }
      else
        memcpy (&got[i], p, 4);
    }

  reference (data, want, bound);
  loom_check_close (got, want, bound, n_out, check);
  check->wrote_outside = !intact;
  if (!intact)
    check->passed = FALSE;
  return TRUE;
}

/**
 * loom_op_case_run:
 * @check: (out): how the device's result compares with the reference
 *
 * Prepares, runs and checks one case. Blocks until the GPU is done: call it from a
 * worker or a test.
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
  g_autoptr(LoomOpCaseData) data = NULL;
  g_autoptr(LoomCommand) cmd = NULL;

  data = loom_op_case_prepare (device, op_case, seed, error);
  if (data == NULL)
    return FALSE;
  cmd = loom_command_new (device, error);
  if (cmd == NULL)
    return FALSE;
  loom_op_case_record (cmd, data);
  return loom_command_submit (cmd, error) && loom_op_case_check (data, check, error);
}
