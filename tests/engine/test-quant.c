/* test-quant.c — the tensor-type table, fp16/bf16, and every type's (de)quantizer.
 *
 * The dequantizer tests build blocks byte by byte from ggml's layouts and compute what
 * they mean here, in the most literal way; the quantizer tests bound the error of each
 * value by what its block's format allows.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "loom-test-util.h"

#define QK   32
#define QK_K 256

/* Every type ggml defines, as ggml-common.h declares its block (field sizes in bytes;
 * ggml_half is 2 bytes) and ggml.c's type_traits give its block length. */
static const struct
{
  guint32     id;
  const char *name;
  guint32     block_elements;
  guint32     block_bytes;
  gboolean    supported;
} expected_types[] = {
  { 0, "F32", 1, 4, TRUE },
  { 1, "F16", 1, 2, TRUE },
  { 2, "Q4_0", 32, 2 + 16, TRUE },                    /* d, qs[16] */
  { 3, "Q4_1", 32, 2 + 2 + 16, TRUE },                /* d, m, qs[16] */
  { 6, "Q5_0", 32, 2 + 4 + 16, TRUE },                /* d, qh[4], qs[16] */
  { 7, "Q5_1", 32, 2 + 2 + 4 + 16, TRUE },            /* d, m, qh[4], qs[16] */
  { 8, "Q8_0", 32, 2 + 32, TRUE },                    /* d, qs[32] */
  { 9, "Q8_1", 32, 2 + 2 + 32, FALSE },               /* d, s, qs[32] */
  { 10, "Q2_K", 256, 16 + 64 + 2 + 2, FALSE },        /* scales[16], qs[64], d, dmin */
  { 11, "Q3_K", 256, 32 + 64 + 12 + 2, FALSE },       /* hmask[32], qs[64], scales[12], d */
  { 12, "Q4_K", 256, 2 + 2 + 12 + 128, TRUE },        /* d, dmin, scales[12], qs[128] */
  { 13, "Q5_K", 256, 2 + 2 + 12 + 32 + 128, TRUE },   /* d, dmin, scales[12], qh[32], qs[128] */
  { 14, "Q6_K", 256, 128 + 64 + 16 + 2, TRUE },       /* ql[128], qh[64], scales[16], d */
  { 15, "Q8_K", 256, 4 + 256 + 2 * 16, FALSE },       /* float d, qs[256], int16 bsums[16] */
  { 16, "IQ2_XXS", 256, 2 + 2 * 32, FALSE },          /* d, uint16 qs[32] */
  { 17, "IQ2_XS", 256, 2 + 2 * 32 + 8, FALSE },       /* d, uint16 qs[32], scales[8] */
  { 18, "IQ3_XXS", 256, 2 + 96, FALSE },              /* d, qs[3·256/8] */
  { 19, "IQ1_S", 256, 2 + 32 + 2 * 8, FALSE },        /* d, qs[32], uint16 qh[8] */
  { 20, "IQ4_NL", 32, 2 + 16, FALSE },                /* d, qs[16] */
  { 21, "IQ3_S", 256, 2 + 64 + 8 + 32 + 4, FALSE },   /* d, qs[64], qh[8], signs[32], scales[4] */
  { 22, "IQ2_S", 256, 2 + 64 + 8 + 8, FALSE },        /* d, qs[64], qh[8], scales[8] */
  { 23, "IQ4_XS", 256, 2 + 2 + 4 + 128, FALSE },      /* d, scales_h, scales_l[4], qs[128] */
  { 24, "I8", 1, 1, FALSE },
  { 25, "I16", 1, 2, FALSE },
  { 26, "I32", 1, 4, FALSE },
  { 27, "I64", 1, 8, FALSE },
  { 28, "F64", 1, 8, FALSE },
  { 29, "IQ1_M", 256, 32 + 16 + 8, FALSE },           /* qs[32], qh[16], scales[8] */
  { 30, "BF16", 1, 2, TRUE },
  { 34, "TQ1_0", 256, 48 + 4 + 2, FALSE },            /* qs[(256 − 16)/5], qh[4], d */
  { 35, "TQ2_0", 256, 64 + 2, FALSE },                /* qs[64], d */
  { 39, "MXFP4", 32, 1 + 16, FALSE },                 /* E8M0 e, qs[16] */
};

static const LoomTensorType supported_types[] = {
  LOOM_TENSOR_F32, LOOM_TENSOR_F16, LOOM_TENSOR_BF16, LOOM_TENSOR_Q8_0, LOOM_TENSOR_Q4_0,
  LOOM_TENSOR_Q4_1, LOOM_TENSOR_Q5_0, LOOM_TENSOR_Q5_1, LOOM_TENSOR_Q4_K, LOOM_TENSOR_Q5_K,
  LOOM_TENSOR_Q6_K,
};

static void
test_table_sizes (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (expected_types); i++)
    {
      const LoomTensorTypeInfo *info = loom_tensor_type_get_info (expected_types[i].id);

      g_assert_nonnull (info);
      g_assert_cmpstr (info->name, ==, expected_types[i].name);
      g_assert_cmpuint (info->block_elements, ==, expected_types[i].block_elements);
      g_assert_cmpuint (info->block_bytes, ==, expected_types[i].block_bytes);
      g_assert_cmpint (info->supported, ==, expected_types[i].supported);
    }
}

static void
test_table_ids (void)
{
  /* The enum's values, to catch one added there and not here or in the table. */
  static const LoomTensorType enum_values[] = {
    LOOM_TENSOR_F32, LOOM_TENSOR_F16, LOOM_TENSOR_Q4_0, LOOM_TENSOR_Q4_1, LOOM_TENSOR_Q5_0,
    LOOM_TENSOR_Q5_1, LOOM_TENSOR_Q8_0, LOOM_TENSOR_Q8_1, LOOM_TENSOR_Q2_K, LOOM_TENSOR_Q3_K,
    LOOM_TENSOR_Q4_K, LOOM_TENSOR_Q5_K, LOOM_TENSOR_Q6_K, LOOM_TENSOR_Q8_K,
    LOOM_TENSOR_IQ2_XXS, LOOM_TENSOR_IQ2_XS, LOOM_TENSOR_IQ3_XXS, LOOM_TENSOR_IQ1_S,
    LOOM_TENSOR_IQ4_NL, LOOM_TENSOR_IQ3_S, LOOM_TENSOR_IQ2_S, LOOM_TENSOR_IQ4_XS,
    LOOM_TENSOR_I8, LOOM_TENSOR_I16, LOOM_TENSOR_I32, LOOM_TENSOR_I64, LOOM_TENSOR_F64,
    LOOM_TENSOR_IQ1_M, LOOM_TENSOR_BF16, LOOM_TENSOR_TQ1_0, LOOM_TENSOR_TQ2_0,
    LOOM_TENSOR_MXFP4,
  };
  guint n_known = 0, n_supported = 0;

  g_assert_cmpuint (G_N_ELEMENTS (enum_values), ==, G_N_ELEMENTS (expected_types));
  for (guint i = 0; i < G_N_ELEMENTS (enum_values); i++)
    g_assert_cmpuint (enum_values[i], ==, expected_types[i].id);

  for (guint32 id = 0; id < 1024; id++)
    {
      const LoomTensorTypeInfo *info = loom_tensor_type_get_info (id);
      gboolean listed = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (expected_types); i++)
        listed |= expected_types[i].id == id;
      if (!listed)
        {
          g_assert_null (info);
          continue;
        }
      g_assert_nonnull (info);
      g_assert_nonnull (info->name);
      g_assert_cmpuint (info->block_elements, >, 0);
      g_assert_cmpuint (info->block_bytes, >, 0);
      n_known++;
      n_supported += info->supported ? 1 : 0;
      /* Names are unique. */
      for (guint32 other = 0; other < id; other++)
        {
          const LoomTensorTypeInfo *other_info = loom_tensor_type_get_info (other);

          if (other_info != NULL)
            g_assert_cmpstr (other_info->name, !=, info->name);
        }
    }
  g_assert_cmpuint (n_known, ==, G_N_ELEMENTS (expected_types));
  g_assert_cmpuint (n_supported, ==, G_N_ELEMENTS (supported_types));
  for (guint i = 0; i < G_N_ELEMENTS (supported_types); i++)
    g_assert_true (loom_tensor_type_get_info (supported_types[i])->supported);

  g_assert_null (loom_tensor_type_get_info (4));   /* retired Q4_2 */
  g_assert_null (loom_tensor_type_get_info (31));  /* retired Q4_0_4_4 */
  g_assert_null (loom_tensor_type_get_info (G_MAXUINT32));
}

static void
test_table_row_bytes (void)
{
  guint64 bytes = 1;

  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_F32, 0, &bytes));
  g_assert_cmpuint (bytes, ==, 0);
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_F32, 4096, &bytes));
  g_assert_cmpuint (bytes, ==, 16384);
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_Q4_0, 4096, &bytes));
  g_assert_cmpuint (bytes, ==, 128 * 18);
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_Q6_K, 4096, &bytes));
  g_assert_cmpuint (bytes, ==, 16 * 210);
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_MXFP4, 64, &bytes));
  g_assert_cmpuint (bytes, ==, 34);

  /* Not a whole number of blocks. */
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_Q4_0, 33, &bytes));
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_Q4_K, 4096 + 32, &bytes));
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_Q8_0, 1, &bytes));

  /* Unknown types. */
  g_assert_false (loom_tensor_type_row_bytes (5, 32, &bytes));
  g_assert_false (loom_tensor_type_row_bytes (G_MAXUINT32, 32, &bytes));

  /* 64-bit overflow: the largest whole number of blocks that fits, and one more. */
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_F32, G_MAXUINT64 / 4, &bytes));
  g_assert_cmpuint (bytes, ==, G_MAXUINT64 / 4 * 4);
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_F32, G_MAXUINT64 / 4 + 1, &bytes));
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_I64, G_MAXUINT64, &bytes));
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_Q8_0, G_MAXUINT64 / 34 * 32, &bytes));
  g_assert_cmpuint (bytes, ==, G_MAXUINT64 / 34 * 34);
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_Q8_0, (G_MAXUINT64 / 34 + 1) * 32,
                                              &bytes));
  /* 2^64 − 256 values are 2^56 − 1 super-blocks: 144 bytes each (Q4_K) fit in 64 bits,
   * 292 (Q8_K) do not. */
  g_assert_true (loom_tensor_type_row_bytes (LOOM_TENSOR_Q4_K, G_MAXUINT64 - 255, &bytes));
  g_assert_cmpuint (bytes, ==, (G_MAXUINT64 / 256) * 144);
  g_assert_false (loom_tensor_type_row_bytes (LOOM_TENSOR_Q8_K, G_MAXUINT64 - 255, &bytes));
}

static guint32
bits_of (float f)
{
  guint32 u;

  memcpy (&u, &f, sizeof u);
  return u;
}

static float
float_of (guint32 u)
{
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

/* What half @h means, straight from IEEE 754 binary16. */
static double
half_value (guint16 h)
{
  int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double magnitude;

  if (exponent == 0x1f)
    magnitude = mantissa == 0 ? INFINITY : NAN;
  else if (exponent == 0)
    magnitude = ldexp (mantissa, -24);
  else
    magnitude = ldexp (1024 + mantissa, exponent - 25);
  return sign ? -magnitude : magnitude;
}

static gboolean
half_is_nan (guint16 h)
{
  return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

static void
test_half_exhaustive (void)
{
  for (guint32 h = 0; h <= 0xffff; h++)
    {
      float f = loom_half_to_float (h);
      double expected = half_value (h);

      if (half_is_nan (h))
        {
          guint16 back = loom_float_to_half (f);

          g_assert_true (isnan (f));
          g_assert_true (half_is_nan (back));
          g_assert_cmpuint (back & 0x8000, ==, h & 0x8000);
          /* A quiet NaN keeps its payload both ways. */
          if ((h & 0x200) != 0)
            g_assert_cmphex (back, ==, h);
          continue;
        }
      g_assert_true ((double) f == expected);
      g_assert_cmpint (signbit (f) != 0, ==, (h & 0x8000) != 0);
      g_assert_cmphex (loom_float_to_half (f), ==, h);
    }
}

/* Between each pair of adjacent finite halves, the midpoint goes to the one with an even
 * mantissa, and the floats just either side of it to the nearer half. */
static void
test_half_rounding (void)
{
  for (guint32 h = 0; h < 0x7bff; h++)
    for (guint32 sign = 0; sign <= 0x8000; sign += 0x8000)
      {
        double mid = (half_value (h) + half_value (h + 1)) / 2;
        float midpoint = (float) mid;
        guint16 even = (h & 1) == 0 ? h : h + 1;

        g_assert_true ((double) midpoint == mid);  /* 12 significant bits: exact */
        if (sign != 0)
          midpoint = -midpoint;
        g_assert_cmphex (loom_float_to_half (midpoint), ==, sign | even);
        g_assert_cmphex (loom_float_to_half (float_of (bits_of (midpoint) - 1)), ==, sign | h);
        g_assert_cmphex (loom_float_to_half (float_of (bits_of (midpoint) + 1)), ==,
                         sign | (h + 1));
      }
}

static void
test_half_known (void)
{
  g_assert_cmphex (loom_float_to_half (1.0f), ==, 0x3c00);
  g_assert_cmphex (loom_float_to_half (-2.0f), ==, 0xc000);
  g_assert_cmphex (loom_float_to_half (0.5f), ==, 0x3800);
  g_assert_cmphex (loom_float_to_half (0.1f), ==, 0x2e66);
  g_assert_cmphex (loom_float_to_half (1.0f / 3), ==, 0x3555);
  g_assert_cmphex (loom_float_to_half (65504.0f), ==, 0x7bff);
  g_assert_cmphex (loom_float_to_half (65519.99f), ==, 0x7bff);
  g_assert_cmphex (loom_float_to_half (65520.0f), ==, 0x7c00);  /* tie, to even: 2^16 */
  g_assert_cmphex (loom_float_to_half (1e10f), ==, 0x7c00);
  g_assert_cmphex (loom_float_to_half (-INFINITY), ==, 0xfc00);
  g_assert_cmphex (loom_float_to_half (INFINITY), ==, 0x7c00);
  g_assert_cmphex (loom_float_to_half (0x1p-14f), ==, 0x0400);  /* smallest normal */
  g_assert_cmphex (loom_float_to_half (0x1p-24f), ==, 0x0001);  /* smallest subnormal */
  g_assert_cmphex (loom_float_to_half (0x1p-25f), ==, 0x0000);  /* tie, to even: 0 */
  g_assert_cmphex (loom_float_to_half (0x1.000002p-25f), ==, 0x0001);
  g_assert_cmphex (loom_float_to_half (0x3p-25f), ==, 0x0002);  /* tie, to even: 2 */
  g_assert_cmphex (loom_float_to_half (1e-40f), ==, 0x0000);    /* float subnormal */
  g_assert_cmphex (loom_float_to_half (-1e-40f), ==, 0x8000);
  g_assert_cmphex (loom_float_to_half (-0.0f), ==, 0x8000);
  g_assert_cmphex (loom_float_to_half (0.0f), ==, 0x0000);
  g_assert_cmphex (loom_float_to_half (1.0f + 0x1p-11f), ==, 0x3c00);      /* tie, down */
  g_assert_cmphex (loom_float_to_half (1.0f + 0x3p-11f), ==, 0x3c02);      /* tie, up */
  g_assert_cmphex (loom_float_to_half (0x1.ffep-1f), ==, 0x3c00);          /* carry */
  g_assert_true (half_is_nan (loom_float_to_half (NAN)));
  /* A NaN whose payload lies below the bits a half keeps is still a NaN. */
  g_assert_true (half_is_nan (loom_float_to_half (float_of (0x7f800001))));

  g_assert_cmpfloat (loom_half_to_float (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (loom_half_to_float (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (loom_half_to_float (0x0001), ==, 0x1p-24f);
  g_assert_cmpfloat (loom_half_to_float (0x03ff), ==, 1023 * 0x1p-24f);
  g_assert_cmpfloat (loom_half_to_float (0xfc00), ==, -INFINITY);
  g_assert_true (signbit (loom_half_to_float (0x8000)) && loom_half_to_float (0x8000) == 0.0f);
  g_assert_true (isnan (loom_half_to_float (0x7e00)));
}

static void
test_bf16_exhaustive (void)
{
  for (guint32 b = 0; b <= 0xffff; b++)
    {
      float f = loom_bf16_to_float (b);
      gboolean is_nan = (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0;

      /* bf16 is the top half of a float. */
      g_assert_cmphex (bits_of (f), ==, b << 16);
      if (is_nan)
        {
          g_assert_true (isnan (f));
          g_assert_cmphex (loom_float_to_bf16 (f), ==, b | 0x40);  /* made quiet */
          continue;
        }
      g_assert_cmphex (loom_float_to_bf16 (f), ==, b);
      /* Rounding of the floats between b and the next bf16 up in magnitude. */
      if ((b & 0x7fff) < 0x7f80)
        {
          guint16 even = (b & 1) == 0 ? b : b + 1;

          g_assert_cmphex (loom_float_to_bf16 (float_of ((b << 16) | 0x7fff)), ==, b);
          g_assert_cmphex (loom_float_to_bf16 (float_of ((b << 16) | 0x8000)), ==, even);
          g_assert_cmphex (loom_float_to_bf16 (float_of ((b << 16) | 0x8001)), ==, b + 1);
        }
    }
}

static void
test_bf16_known (void)
{
  g_assert_cmphex (loom_float_to_bf16 (1.0f), ==, 0x3f80);
  g_assert_cmphex (loom_float_to_bf16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (loom_float_to_bf16 (3.14159265f), ==, 0x4049);
  g_assert_cmphex (loom_float_to_bf16 (1.0f + 0x1p-8f), ==, 0x3f80);              /* tie, down */
  g_assert_cmphex (loom_float_to_bf16 (1.0f + 0x3p-8f), ==, 0x3f82);              /* tie, up */
  g_assert_cmphex (loom_float_to_bf16 (1.0f + 0x1p-8f + 0x1p-20f), ==, 0x3f81);
  g_assert_cmphex (loom_float_to_bf16 (G_MAXFLOAT), ==, 0x7f80);  /* rounds up to infinity */
  g_assert_cmphex (loom_float_to_bf16 (INFINITY), ==, 0x7f80);
  g_assert_cmphex (loom_float_to_bf16 (-0.0f), ==, 0x8000);
  g_assert_cmphex (loom_float_to_bf16 (float_of (0x00012345)), ==, 0x0001);  /* subnormal kept */
  g_assert_cmphex (loom_float_to_bf16 (float_of (0x7f800001)), ==, 0x7fc0);  /* quiet NaN */
  g_assert_cmphex (loom_float_to_bf16 (float_of (0xffa00000)), ==, 0xffe0);
  g_assert_cmpfloat (loom_bf16_to_float (0x4049), ==, 3.140625f);
}

/* Dequantization of hand-built blocks. Scales are chosen exactly representable (0.5 is
 * fp16 0x3800, 0.25 is 0x3400, −1 is 0xbc00, 2 is 0x4000) so that the expected values,
 * products of small integers and powers of two, are exact in float; the quants are
 * random bytes, so every bit of every field is exercised. */

static void
random_bytes (GRand  *rand,
              guint8 *bytes,
              gsize   n)
{
  for (gsize i = 0; i < n; i++)
    bytes[i] = g_rand_int_range (rand, 0, 256);
}

static void
assert_dequantizes_to (LoomTensorType  type,
                       const guint8   *block,
                       const double   *expected,
                       gsize           n)
{
  g_autofree float *out = g_new (float, n);

  loom_dequantize (type, block, out, n);
  for (gsize i = 0; i < n; i++)
    if ((double) out[i] != expected[i])
      g_error ("%s value %" G_GSIZE_FORMAT ": %.9g, expected %.9g",
               loom_tensor_type_get_info (type)->name, i, out[i], expected[i]);
}

static void
test_dequantize_plain (void)
{
  /* 1.5f = 0x3fc00000, −0.1f = 0xbdcccccd, little-endian. */
  static const guint8 f32[] = { 0x00, 0x00, 0xc0, 0x3f, 0xcd, 0xcc, 0xcc, 0xbd };
  static const guint8 f16[] = { 0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x80,
                                0x00, 0x7c };
  static const guint8 bf16[] = { 0x80, 0x3f, 0x49, 0x40, 0x80, 0xff, 0x01, 0x00 };
  const double f32_expected[] = { 1.5, (double) -0.1f };
  const double f16_expected[] = { 1.0, -2.0, 65504.0, ldexp (1, -24), -0.0, INFINITY };
  const double bf16_expected[] = { 1.0, 3.140625, -INFINITY, ldexp (1, -133) };

  assert_dequantizes_to (LOOM_TENSOR_F32, f32, f32_expected, 2);
  assert_dequantizes_to (LOOM_TENSOR_F16, f16, f16_expected, 6);
  assert_dequantizes_to (LOOM_TENSOR_BF16, bf16, bf16_expected, 4);
}

static void
test_dequantize_q8_0 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (80);
  guint8 block[2 * 34];
  double expected[2 * QK];

  /* Two blocks: fp16 d, then 32 int8. */
  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x38;            /* d = 0.5 */
  block[34] = 0x00, block[35] = 0xc0;          /* d = −2 */
  block[2] = 0x80;                             /* −128 */
  block[3] = 0x7f;                             /* 127 */
  for (guint b = 0; b < 2; b++)
    for (guint j = 0; j < QK; j++)
      {
        guint8 byte = block[34 * b + 2 + j];
        int q = byte < 128 ? byte : byte - 256;

        expected[QK * b + j] = q * (b == 0 ? 0.5 : -2.0);
      }
  assert_dequantizes_to (LOOM_TENSOR_Q8_0, block, expected, 2 * QK);
}

/* The low four bits of value @i (0–31) of a Q4/Q5 block: values 0–15 in the low nibbles
 * of qs[0..15], values 16–31 in the high nibbles. */
static int
legacy_low_bits (const guint8 *qs,
                 guint         i)
{
  return i < 16 ? qs[i] & 0xf : qs[i - 16] >> 4;
}

/* The fifth bit of value @i: bit i of the 32-bit little-endian word qh, so bit i % 8 of
 * byte i / 8. */
static int
legacy_fifth_bit (const guint8 *qh,
                  guint         i)
{
  return (qh[i / 8] >> (i % 8)) & 1;
}

static void
test_dequantize_q4_0 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (40);
  guint8 block[18];
  double expected[QK];

  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x34;  /* d = 0.25 */
  block[2] = 0x0f;                   /* value 0 is 15 − 8, value 16 is 0 − 8 */
  for (guint i = 0; i < QK; i++)
    expected[i] = (legacy_low_bits (block + 2, i) - 8) * 0.25;
  g_assert_true (expected[0] == 7 * 0.25 && expected[16] == -8 * 0.25);
  assert_dequantizes_to (LOOM_TENSOR_Q4_0, block, expected, QK);
}

static void
test_dequantize_q4_1 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (41);
  guint8 block[20];
  double expected[QK];

  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x38;  /* d = 0.5 */
  block[2] = 0x00, block[3] = 0xbc;  /* m = −1 */
  for (guint i = 0; i < QK; i++)
    expected[i] = legacy_low_bits (block + 4, i) * 0.5 - 1.0;
  assert_dequantizes_to (LOOM_TENSOR_Q4_1, block, expected, QK);
}

static void
test_dequantize_q5_0 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (50);
  guint8 block[22];
  double expected[QK];

  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x40;  /* d = 2 */
  block[2] = 0x01;                   /* value 0 has its fifth bit, value 1 not */
  block[5] = 0x80;                   /* value 31 has its fifth bit */
  for (guint i = 0; i < QK; i++)
    expected[i] = ((legacy_low_bits (block + 6, i) | (legacy_fifth_bit (block + 2, i) << 4)) - 16)
                  * 2.0;
  assert_dequantizes_to (LOOM_TENSOR_Q5_0, block, expected, QK);
}

static void
test_dequantize_q5_1 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (51);
  guint8 block[24];
  double expected[QK];

  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x34;  /* d = 0.25 */
  block[2] = 0x00, block[3] = 0x40;  /* m = 2 */
  for (guint i = 0; i < QK; i++)
    expected[i] = (legacy_low_bits (block + 8, i) | (legacy_fifth_bit (block + 4, i) << 4)) * 0.25
                  + 2.0;
  assert_dequantizes_to (LOOM_TENSOR_Q5_1, block, expected, QK);
}

/* Packs the eight 6-bit scales and mins of a Q4_K/Q5_K super-block into its 12 bytes:
 * sub-blocks 0–3 keep scale and min whole in the low six bits of bytes 0–3 (scales) and
 * 4–7 (mins); sub-blocks 4–7 keep the low four bits in byte 8–11 (scale in the low
 * nibble, min in the high one) and the top two bits in the top two bits of bytes 0–3
 * (scale) and 4–7 (min). */
static void
pack_k_scales (guint8       *bytes,
               const guint8 *scale,
               const guint8 *min)
{
  memset (bytes, 0, 12);
  for (guint j = 0; j < 4; j++)
    {
      bytes[j] = scale[j];
      bytes[4 + j] = min[j];
    }
  for (guint j = 4; j < 8; j++)
    {
      bytes[j + 4] = (scale[j] & 0x0f) | ((min[j] & 0x0f) << 4);
      bytes[j - 4] |= (scale[j] >> 4) << 6;
      bytes[j] |= (min[j] >> 4) << 6;
    }
}

static void
test_dequantize_q4_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  static const guint8 scale[8] = { 1, 63, 2, 17, 33, 48, 63, 5 };
  static const guint8 min[8] = { 0, 7, 63, 1, 32, 17, 62, 60 };
  guint8 block[144];
  double expected[QK_K];

  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x38;  /* d = 0.5 */
  block[2] = 0x00, block[3] = 0x34;  /* dmin = 0.25 */
  pack_k_scales (block + 4, scale, min);
  /* Spot checks of the packing against bytes worked out by hand: scale 4 is 33 =
   * 0b10_0001, min 4 is 32 = 0b10_0000, scale 5 is 48 = 0b11_0000. */
  g_assert_cmphex (block[4 + 0], ==, 0x80 | 1);
  g_assert_cmphex (block[4 + 4], ==, 0x80 | 0);
  g_assert_cmphex (block[4 + 8], ==, 0x01);
  g_assert_cmphex (block[4 + 1], ==, 0xc0 | 63);

  /* 64 values to each 32 bytes of qs: the first 32 in the low nibbles (sub-block 2c),
   * the next 32 in the high nibbles (sub-block 2c + 1). */
  for (guint i = 0; i < QK_K; i++)
    {
      guint c = i / 64, l = i % 32, sub = i / 32;
      guint8 byte = block[16 + 32 * c + l];
      int q = (i % 64) < 32 ? byte & 0xf : byte >> 4;

      expected[i] = 0.5 * scale[sub] * q - 0.25 * min[sub];
    }
  assert_dequantizes_to (LOOM_TENSOR_Q4_K, block, expected, QK_K);
}

static void
test_dequantize_q5_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  static const guint8 scale[8] = { 63, 1, 40, 9, 16, 31, 0, 59 };
  static const guint8 min[8] = { 3, 0, 15, 63, 48, 16, 1, 33 };
  guint8 block[176];
  double expected[QK_K];

  random_bytes (rand, block, sizeof block);
  block[0] = 0x00, block[1] = 0x34;  /* d = 0.25 */
  block[2] = 0x00, block[3] = 0x38;  /* dmin = 0.5 */
  pack_k_scales (block + 4, scale, min);
  /* qh[32] at 16, qs[128] at 48. The fifth bit of value i is bit 2c of qh[l] for the
   * first 32 values of chunk c (64 values), bit 2c + 1 for the next 32. */
  for (guint i = 0; i < QK_K; i++)
    {
      guint c = i / 64, l = i % 32, sub = i / 32;
      gboolean high = (i % 64) >= 32;
      guint8 byte = block[48 + 32 * c + l];
      int q = (high ? byte >> 4 : byte & 0xf)
              | (((block[16 + l] >> (2 * c + (high ? 1 : 0))) & 1) << 4);

      expected[i] = 0.25 * scale[sub] * q - 0.5 * min[sub];
    }
  assert_dequantizes_to (LOOM_TENSOR_Q5_K, block, expected, QK_K);
}

static void
test_dequantize_q6_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  guint8 block[210];
  double expected[QK_K];

  /* ql[128] at 0, qh[64] at 128, int8 scales[16] at 192 (random, so some negative),
   * d at 208. */
  random_bytes (rand, block, sizeof block);
  block[192] = 0x80;                     /* scale −128 */
  block[193] = 0x7f;                     /* scale 127 */
  block[208] = 0x00, block[209] = 0x38;  /* d = 0.5 */
  /* Each half of 128 values: 64 bytes of ql, 32 of qh. In a half, value 32g + l
   * (g 0–3, l < 32) takes its low four bits from ql[l] (g 0: low nibble, g 2: high)
   * or ql[32 + l] (g 1: low, g 3: high), and its top two bits from bits 2g, 2g + 1
   * of qh[l]. */
  for (guint i = 0; i < QK_K; i++)
    {
      guint half = i / 128, g = (i % 128) / 32, l = i % 32;
      const guint8 *ql = block + 64 * half, *qh = block + 128 + 32 * half;
      guint8 byte = ql[(g % 2) * 32 + l];
      int low = g < 2 ? byte & 0xf : byte >> 4;
      int high = (qh[l] >> (2 * g)) & 3;
      int scale = block[192 + i / 16] < 128 ? block[192 + i / 16] : block[192 + i / 16] - 256;

      expected[i] = 0.5 * scale * ((low | (high << 4)) - 32);
    }
  assert_dequantizes_to (LOOM_TENSOR_Q6_K, block, expected, QK_K);
}

/* Dequantization computes d·scale·q in float, in that order, as ggml does: with a scale
 * that is not a power of two the rounding shows. */
static void
test_dequantize_rounding (void)
{
  guint8 block[210] = { 0 };
  float out[QK_K];
  const float d = (float) half_value (0x3555);  /* 0.333251953125 */

  block[0] = 0x17;                       /* value 0: low nibble 7, upper bits 0 */
  block[128] = 0x03;                     /* value 0: upper bits 3 → q = 55 − 32 = 23 */
  block[192] = 0x65;                     /* scale 101 */
  block[208] = 0x55, block[209] = 0x35;  /* d */
  loom_dequantize (LOOM_TENSOR_Q6_K, block, out, QK_K);
  g_assert_true (out[0] == (d * 101.0f) * 23.0f);
  g_assert_true (out[1] == (d * 101.0f) * -32.0f);
}

/* Quantizer known answers, worked out by hand from ggml's reference rules. */
static void
test_quantize_known (void)
{
  float x[QK];
  guint8 block[34];

  /* Q8_0 with amax 127, so d = 1 (fp16 0x3c00): q = round(x), halfway cases away from
   * zero as roundf() does. */
  x[0] = -127.0f;
  for (guint j = 1; j < QK; j++)
    x[j] = (float) j - 16 + 0.5f;  /* −14.5 … 15.5 */
  loom_quantize (LOOM_TENSOR_Q8_0, x, block, QK);
  g_assert_cmphex (block[0], ==, 0x00);
  g_assert_cmphex (block[1], ==, 0x3c);
  g_assert_cmpint ((gint8) block[2], ==, -127);
  for (guint j = 1; j < QK; j++)
    g_assert_cmpint ((gint8) block[2 + j], ==, j < 16 ? (int) j - 16 : (int) j - 15);

  /* Q4_0 of −16 … 15: the largest magnitude is −16, so d = −16/−8 = 2 (fp16 0x4000),
   * and q = trunc(x/2 + 8.5) capped at 15: value j goes to level (j + 1)/2 (ties up),
   * values 30 and 31 (x = 14, 15) to 15. */
  for (guint j = 0; j < QK; j++)
    x[j] = (float) j - 16;
  loom_quantize (LOOM_TENSOR_Q4_0, x, block, QK);
  g_assert_cmphex (block[0], ==, 0x00);
  g_assert_cmphex (block[1], ==, 0x40);
  for (guint j = 0; j < 16; j++)
    {
      guint q0 = (j + 1) / 2, q1 = MIN ((j + 16 + 1) / 2, 15);

      g_assert_cmphex (block[2 + j], ==, q0 | (q1 << 4));
    }
}

/* Round trips. */

static void
fill_gaussian (GRand *rand,
               float *x,
               gsize  n)
{
  for (gsize i = 0; i < n; i += 2)
    {
      double u = 1.0 - g_rand_double (rand), v = g_rand_double (rand);
      double r = sqrt (-2.0 * log (u));

      x[i] = (float) (r * cos (2 * G_PI * v));
      if (i + 1 < n)
        x[i + 1] = (float) (r * sin (2 * G_PI * v));
    }
}

static float
amax_of (const float *x,
         gsize        n)
{
  float amax = 0.0f;

  for (gsize i = 0; i < n; i++)
    amax = MAX (amax, fabsf (x[i]));
  return amax;
}

/* The most that rounding @v to the nearest fp16 changes it: half an ulp, 2^-11 relative
 * for normal values, and at most half the smallest subnormal, 2^-25, below them. */
static double
half_rounding (double v)
{
  return MAX (fabs (v) * 0x1p-11, 0x1p-25);
}

/* The most that @v (≥ 0) can become when rounded up to an fp16 value. */
static double
half_rounded_up (double v)
{
  return v + MAX (v * 0x1p-10, 0x1p-24);
}

/* The largest error each value may have after a round trip through @type, from the
 * format: the step between levels its block can have and the rounding of the block's
 * fp16 scales. @slack covers float arithmetic. */
static void
error_bounds (LoomTensorType  type,
              const float    *x,
              gsize           n,
              double         *bound)
{
  switch (type)
    {
    case LOOM_TENSOR_F32:
      for (gsize i = 0; i < n; i++)
        bound[i] = 0;
      break;
    case LOOM_TENSOR_F16:
      /* Half an ulp: 2^-11 relative, or half the smallest subnormal step 2^-24. */
      for (gsize i = 0; i < n; i++)
        bound[i] = MAX (fabsf (x[i]) * 0x1p-11, 0x1p-25);
      break;
    case LOOM_TENSOR_BF16:
      for (gsize i = 0; i < n; i++)
        bound[i] = fabsf (x[i]) * 0x1p-8;
      break;
    case LOOM_TENSOR_Q8_0:
      /* d = amax/127: half a step, and 127 times the rounding of d to fp16. */
      for (gsize b = 0; b < n; b += QK)
        {
          double d = amax_of (x + b, QK) / 127.0;

          for (guint j = 0; j < QK; j++)
            bound[b + j] = d / 2 + 127 * half_rounding (d);
        }
      break;
    case LOOM_TENSOR_Q4_0:
    case LOOM_TENSOR_Q5_0:
      /* d = max/−2^(bits−1), levels −2^(bits−1) … 2^(bits−1) − 1: half a step, except
       * values of the opposite sign to max beyond the top level's rounding interval,
       * which are clipped by up to a whole step. */
      {
        double levels = type == LOOM_TENSOR_Q4_0 ? 8 : 16;

        for (gsize b = 0; b < n; b += QK)
          {
            double max = 0;

            for (guint j = 0; j < QK; j++)
              if (fabs (x[b + j]) > fabs (max))
                max = x[b + j];
            for (guint j = 0; j < QK; j++)
              {
                double d = fabs (max) / levels;
                double t = max != 0 ? x[b + j] / (max / -levels) : 0;

                bound[b + j] = (t > levels - 0.5 ? d : d / 2) + levels * half_rounding (d);
              }
          }
      }
      break;
    case LOOM_TENSOR_Q4_1:
    case LOOM_TENSOR_Q5_1:
      /* d = (max − min)/(2^bits − 1), m = min: half a step, plus the fp16 rounding of d
       * (times the top level) and of m. */
      {
        double top = type == LOOM_TENSOR_Q4_1 ? 15 : 31;

        for (gsize b = 0; b < n; b += QK)
          {
            double min = x[b], max = x[b], d;

            for (guint j = 0; j < QK; j++)
              {
                min = MIN (min, x[b + j]);
                max = MAX (max, x[b + j]);
              }
            d = (max - min) / top;
            for (guint j = 0; j < QK; j++)
              bound[b + j] = d / 2 + top * half_rounding (d) + half_rounding (min);
          }
      }
      break;
    case LOOM_TENSOR_Q4_K:
    case LOOM_TENSOR_Q5_K:
      /* x = d·scale·q − dmin·min with 6-bit scale and min per sub-block of 32, the min
       * unsigned so a sub-block spans [min(0, its minimum), its maximum]. Loom rounds
       * min and scale up, so the step of a sub-block is at most its range over the top
       * level, plus one unit of dmin (over the top level) and one of d, where dmin and d
       * are 1/63 of the largest min and step, rounded up in fp16. */
      {
        double top = type == LOOM_TENSOR_Q4_K ? 15 : 31;

        for (gsize b = 0; b < n; b += QK_K)
          {
            double ranges[8], max_offset = 0, max_step = 0, dmin, d;

            for (guint s = 0; s < 8; s++)
              {
                double lo = 0, hi = x[b + 32 * s];

                for (guint l = 0; l < 32; l++)
                  {
                    lo = MIN (lo, x[b + 32 * s + l]);
                    hi = MAX (hi, x[b + 32 * s + l]);
                  }
                ranges[s] = hi - lo;
                max_offset = MAX (max_offset, -lo);
              }
            dmin = half_rounded_up (max_offset / 63);
            for (guint s = 0; s < 8; s++)
              max_step = MAX (max_step, (ranges[s] + dmin) / top);
            d = half_rounded_up (max_step / 63);
            for (guint s = 0; s < 8; s++)
              for (guint l = 0; l < 32; l++)
                bound[b + 32 * s + l] = ((ranges[s] + dmin) / top + d) / 2;
          }
      }
      break;
    case LOOM_TENSOR_Q6_K:
      /* x = d·scale·(q − 32), int8 scale per sub-block of 16, 64 levels: a sub-block
       * needs a step of amax/31.5 for no value to be more than half a step off; the
       * stored step is at most that plus one unit of d = the largest step/127, rounded
       * up in fp16. */
      for (gsize b = 0; b < n; b += QK_K)
        {
          double max_step = 0, d;

          for (guint s = 0; s < 16; s++)
            max_step = MAX (max_step, amax_of (x + b + 16 * s, 16) / 31.5);
          d = half_rounded_up (max_step / 127);
          for (guint s = 0; s < 16; s++)
            {
              double step = amax_of (x + b + 16 * s, 16) / 31.5;

              for (guint l = 0; l < 16; l++)
                bound[b + 16 * s + l] = (step + d) / 2;
            }
        }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Quantizes and dequantizes @x, checks every value against its bound, and returns the
 * RMS error relative to the RMS of @x. */
static double
round_trip (LoomTensorType  type,
            const float    *x,
            gsize           n)
{
  const LoomTensorTypeInfo *info = loom_tensor_type_get_info (type);
  g_autofree guint8 *blocks = g_malloc (n / info->block_elements * info->block_bytes);
  g_autofree float *y = g_new (float, n);
  g_autofree double *bound = g_new (double, n);
  double err2 = 0, x2 = 0;

  loom_quantize (type, x, blocks, n);
  loom_dequantize (type, blocks, y, n);
  error_bounds (type, x, n, bound);
  for (gsize i = 0; i < n; i++)
    {
      double err = fabs ((double) y[i] - x[i]);
      /* Float arithmetic in the quantizer and dequantizer: a few ulps of the block's
       * largest value. */
      double slack = 1e-6 * amax_of (x + i / info->block_elements * info->block_elements,
                                     info->block_elements);

      g_assert_true (isfinite (y[i]));
      if (err > bound[i] + slack)
        g_error ("%s value %" G_GSIZE_FORMAT ": %.9g became %.9g, error %.3g > bound %.3g",
                 info->name, i, x[i], y[i], err, bound[i]);
      err2 += err * err;
      x2 += (double) x[i] * x[i];
    }
  return x2 > 0 ? sqrt (err2 / x2) : sqrt (err2);
}

/* The RMS error of a round trip of Gaussian data, relative to the data's RMS, may not
 * exceed these ceilings, about 10% over what Loom measures. The typical values follow
 * from each format's step on Gaussian blocks (the step over √12): F16 ≈ 0.02%,
 * BF16 ≈ 0.17%, Q8_0 ≈ 0.53% (on uniform data, 0.39%), Q6_K ≈ 2.0%, the 5-bit types
 * 3.8–4.3%, the 4-bit types 7.8–8.6%. llama.cpp's searched K-quant scales reach about
 * 7.1% (Q4_K) and 3.6% (Q5_K) on the same data. */
static const struct
{
  LoomTensorType type;
  double         rms_ceiling;
} round_trip_cases[] = {
  { LOOM_TENSOR_F32, 0.0 },
  { LOOM_TENSOR_F16, 0.00023 },
  { LOOM_TENSOR_BF16, 0.0018 },
  { LOOM_TENSOR_Q8_0, 0.0059 },
  { LOOM_TENSOR_Q4_0, 0.094 },
  { LOOM_TENSOR_Q4_1, 0.086 },
  { LOOM_TENSOR_Q5_0, 0.047 },
  { LOOM_TENSOR_Q5_1, 0.042 },
  { LOOM_TENSOR_Q4_K, 0.088 },
  { LOOM_TENSOR_Q5_K, 0.043 },
  { LOOM_TENSOR_Q6_K, 0.022 },
};

static void
test_round_trip (gconstpointer data)
{
  guint index = GPOINTER_TO_UINT (data);
  LoomTensorType type = round_trip_cases[index].type;
  const gsize n = 1024 * QK_K;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234 + type);
  g_autofree float *x = g_new (float, n);
  double rms;

  fill_gaussian (rand, x, n);
  rms = round_trip (type, x, n);
  g_test_message ("%s: RMS error %.4f%% of the data's RMS (ceiling %.4f%%)",
                  loom_tensor_type_get_info (type)->name, 100 * rms,
                  100 * round_trip_cases[index].rms_ceiling);
  g_assert_cmpfloat (rms, <=, round_trip_cases[index].rms_ceiling);

  /* Scaled data has the same relative error: the formats have no absolute scale.
   * (1000 keeps every fp16 scale normal and finite.) */
  for (gsize i = 0; i < n; i++)
    x[i] *= 1000.0f;
  g_assert_cmpfloat (round_trip (type, x, n), <=, round_trip_cases[index].rms_ceiling);
}

/* Blocks that are all zero, constant, or mix tiny and large values: every value within
 * its bound, and nothing infinite or NaN. */
static void
test_degenerate (gconstpointer data)
{
  LoomTensorType type = GPOINTER_TO_UINT (data);
  const LoomTensorTypeInfo *info = loom_tensor_type_get_info (type);
  const gsize n = 4 * QK_K;
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  g_autofree float *x = g_new (float, n);
  g_autofree float *y = g_new (float, n);
  g_autofree guint8 *blocks = g_malloc (n / info->block_elements * info->block_bytes);
  static const float constants[] = { 0.7f, -3.0f, 1e-7f, -250.0f };

  memset (x, 0, n * sizeof (float));
  loom_quantize (type, x, blocks, n);
  loom_dequantize (type, blocks, y, n);
  for (gsize i = 0; i < n; i++)
    g_assert_true (y[i] == 0.0f);

  for (guint c = 0; c < G_N_ELEMENTS (constants); c++)
    {
      for (gsize i = 0; i < n; i++)
        x[i] = constants[c];
      round_trip (type, x, n);
    }

  /* Magnitudes from 1e-6 to 1e4 side by side, both signs. */
  for (gsize i = 0; i < n; i++)
    x[i] = (float) ((g_rand_boolean (rand) ? 1 : -1) * pow (10, g_rand_double_range (rand, -6, 4)));
  round_trip (type, x, n);

  /* One large value among tiny ones, in each block. */
  for (gsize i = 0; i < n; i++)
    x[i] = (i % 97 == 0 ? 3000.0f : 1e-5f) * (i % 2 ? 1 : -1);
  round_trip (type, x, n);

  /* Values so small that the scales underflow fp16, then blocks of float subnormals
   * and zeros (whose scale's inverse overflows a float): they dequantize to about zero,
   * never to NaN. (A build with -fsanitize=float-cast-overflow checks that no NaN or
   * infinity is converted to a level on the way.) */
  for (guint pattern = 0; pattern < 2; pattern++)
    {
      for (gsize i = 0; i < n; i++)
        if (pattern == 0)
          x[i] = (i % 3 == 0 ? 1e-40f : 1e-9f) * (i % 2 ? 1 : -1);
        else
          x[i] = i % 3 == 0 ? 0.0f : (i % 2 ? 1e-40f : -1e-40f);
      loom_quantize (type, x, blocks, n);
      loom_dequantize (type, blocks, y, n);
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat (fabsf (y[i] - x[i]), <=, 1e-7f);
    }

  /* Values beyond what fp16 scales can express: the scales saturate, and the values
   * come back finite. (F16 itself rightly turns them into infinities.) */
  if (type != LOOM_TENSOR_F16)
    {
      for (gsize i = 0; i < n; i++)
        x[i] = (float) (g_rand_double_range (rand, -1, 1) * 1e12);
      loom_quantize (type, x, blocks, n);
      loom_dequantize (type, blocks, y, n);
      for (gsize i = 0; i < n; i++)
        g_assert_true (isfinite (y[i]));
    }
}

static void
test_unsupported (void)
{
  if (g_test_subprocess ())
    {
      float out[QK_K] = { 0 };
      guint8 block[110] = { 0 };

      loom_dequantize (LOOM_TENSOR_Q3_K, block, out, QK_K);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*supported*");
}

int
main (int    argc,
      char **argv)
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/quant/table/sizes", test_table_sizes);
  g_test_add_func ("/engine/quant/table/ids", test_table_ids);
  g_test_add_func ("/engine/quant/table/row-bytes", test_table_row_bytes);
  g_test_add_func ("/engine/quant/half/exhaustive", test_half_exhaustive);
  g_test_add_func ("/engine/quant/half/rounding", test_half_rounding);
  g_test_add_func ("/engine/quant/half/known", test_half_known);
  g_test_add_func ("/engine/quant/bf16/exhaustive", test_bf16_exhaustive);
  g_test_add_func ("/engine/quant/bf16/known", test_bf16_known);
  g_test_add_func ("/engine/quant/dequantize/plain", test_dequantize_plain);
  g_test_add_func ("/engine/quant/dequantize/q8_0", test_dequantize_q8_0);
  g_test_add_func ("/engine/quant/dequantize/q4_0", test_dequantize_q4_0);
  g_test_add_func ("/engine/quant/dequantize/q4_1", test_dequantize_q4_1);
  g_test_add_func ("/engine/quant/dequantize/q5_0", test_dequantize_q5_0);
  g_test_add_func ("/engine/quant/dequantize/q5_1", test_dequantize_q5_1);
  g_test_add_func ("/engine/quant/dequantize/q4_k", test_dequantize_q4_k);
  g_test_add_func ("/engine/quant/dequantize/q5_k", test_dequantize_q5_k);
  g_test_add_func ("/engine/quant/dequantize/q6_k", test_dequantize_q6_k);
  g_test_add_func ("/engine/quant/dequantize/rounding", test_dequantize_rounding);
  g_test_add_func ("/engine/quant/quantize/known", test_quantize_known);
  for (guint i = 0; i < G_N_ELEMENTS (round_trip_cases); i++)
    {
      g_autofree char *name = g_ascii_strdown (
        loom_tensor_type_get_info (round_trip_cases[i].type)->name, -1);
      g_autofree char *path = g_strdup_printf ("/engine/quant/round-trip/%s", name);

      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_round_trip);
    }
  for (guint i = 0; i < G_N_ELEMENTS (supported_types); i++)
    {
      g_autofree char *name = g_ascii_strdown (
        loom_tensor_type_get_info (supported_types[i])->name, -1);
      g_autofree char *path = g_strdup_printf ("/engine/quant/degenerate/%s", name);

      g_test_add_data_func (path, GUINT_TO_POINTER (supported_types[i]), test_degenerate);
    }
  g_test_add_func ("/engine/quant/unsupported", test_unsupported);

  return loom_test_run ();
}
