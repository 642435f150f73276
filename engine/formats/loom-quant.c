/* loom-quant.c — CPU conversion between f32 and the supported tensor types.
 *
 * Block layouts follow ggml's block structs (ggml/src/ggml-common.h); all multi-byte
 * fields are little-endian, as GGUF stores them, and are read byte by byte so that the
 * host's byte order and the alignment of @src do not matter. The dequantizers compute
 * each value with the same float operations, in the same order, as ggml's
 * dequantize_row_*, each rounded on its own (see FP_CONTRACT below), which makes them
 * bit-exact with ggml's C code on the same bytes.
 *
 * The quantizers of the legacy types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) are ggml's
 * quantize_row_*_ref rules and give the same bytes as they do on finite input whose
 * scales fit in fp16; where a scale would overflow fp16, it saturates at ±65504
 * instead of becoming infinite. The K-quant quantizers are simpler than llama.cpp's
 * (which search for the scales that minimize a weighted error); see quantize_k_scales().
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "loom-quant.h"

/* No fused multiply-add, which would round d·scale·q − dmin·min differently from
 * ggml's C code. GCC fuses none under -std=c11, the project's standard; clang fuses
 * within an expression unless told not to. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define QK    32   /* values per block of the legacy quants */
#define QK_K  256  /* values per super-block of the K-quants */

#define HALF_MAX 65504.0f

static inline guint32
float_bits (float f)
{
  guint32 u;

  memcpy (&u, &f, sizeof u);
  return u;
}

static inline float
bits_float (guint32 u)
{
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

static inline float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 bits = (guint32) (h & 0x7fff) << 13;  /* exponent and mantissa, in place */
  guint32 exponent = bits & 0x0f800000;

  /* Normal: rebias the exponent from 15 to 127. Infinity and NaN (payload kept):
   * exponent all ones. Zero and subnormals: mantissa × 2^-24, exact in a float. */
  if (G_LIKELY (exponent != 0 && exponent != 0x0f800000))
    bits += (127u - 15u) << 23;
  else if (exponent != 0)
    bits += (255u - 31u) << 23;
  else
    bits = float_bits ((float) (h & 0x3ff) * 0x1p-24f);
  return bits_float (sign | bits);
}

static inline guint16
float_to_half (float f)
{
  guint32 bits = float_bits (f);
  guint32 sign = (bits >> 16) & 0x8000;
  guint32 magnitude = bits & 0x7fffffff;

  if (magnitude > 0x7f800000)
    {
      /* NaN: keep the top of the payload and set the quiet bit, so that the result
       * stays a NaN even when the kept payload bits are all zero. */
      return (guint16) (sign | 0x7e00 | ((magnitude >> 13) & 0x3ff));
    }
  /* From 65520 (halfway between 65504 and 2^16, a tie that goes to the even 2^16)
   * up, the result is infinite. */
  if (magnitude >= 0x477ff000)
    return (guint16) (sign | 0x7c00);
  if (magnitude >= 0x38800000)
    {
      /* Normal half (≥ 2^-14): drop 13 mantissa bits, rounding to nearest even; a
       * carry out of the mantissa correctly bumps the exponent. */
      guint32 rounded = magnitude + 0xfff + ((magnitude >> 13) & 1);

      return (guint16) (sign | ((rounded - ((127u - 15u) << 23)) >> 13));
    }
  /* Up to 2^-25, zero: 2^-25 itself is a tie between 0 and 2^-24 that goes to the even 0. */
  if (magnitude <= 0x33000000)
    return (guint16) sign;
  {
    /* Subnormal half: the value in units of 2^-24 is the float's full 24-bit
     * mantissa shifted right by 14 to 24 places, rounded to nearest even. A result
     * of 0x400 is the smallest normal half, which is what the bits then say. */
    guint32 mantissa = (magnitude & 0x7fffff) | 0x800000;
    guint32 shift = 126 - (magnitude >> 23);
    guint32 q = mantissa >> shift;
    guint32 rest = mantissa & ((1u << shift) - 1);
    guint32 halfway = 1u << (shift - 1);

    if (rest > halfway || (rest == halfway && (q & 1) != 0))
      q++;
    return (guint16) (sign | q);
  }
}

float
loom_half_to_float (guint16 h)
{
  return half_to_float (h);
}

guint16
loom_float_to_half (float f)
{
  return float_to_half (f);
}

float
loom_bf16_to_float (guint16 b)
{
  return bits_float ((guint32) b << 16);
}

/* As ggml's GGML_FP32_TO_BF16: round to nearest even (overflowing to infinity),
 * subnormals kept, NaN forced quiet. */
guint16
loom_float_to_bf16 (float f)
{
  guint32 bits = float_bits (f);

  if ((bits & 0x7fffffff) > 0x7f800000)
    return (guint16) ((bits >> 16) | 0x40);
  return (guint16) ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

static inline float
read_half (const guint8 *p)
{
  return half_to_float ((guint16) (p[0] | (p[1] << 8)));
}

static inline void
write_half_bits (guint8  *p,
                 guint16  h)
{
  p[0] = h & 0xff;
  p[1] = h >> 8;
}

/* Stores @f as fp16, saturated at ±65504 so that no block gets an infinite scale. */
static inline void
write_half (guint8 *p,
            float   f)
{
  write_half_bits (p, float_to_half (CLAMP (f, -HALF_MAX, HALF_MAX)));
}

/* The smallest fp16 value ≥ @f (≥ 0), saturated at 65504: K-quant scales are rounded
 * up so that the range they cover never shrinks. */
static guint16
half_at_least (float f)
{
  guint16 h = float_to_half (MIN (f, HALF_MAX));

  if (half_to_float (h) < f && h < 0x7bff)
    h++;
  return h;
}

/* Dequantizers, one block at a time. @n_blocks blocks at @x, values to @y. */

/* Q8_0 (34 bytes): fp16 d; 32 int8 q. x = q·d. */
static void
dequantize_q8_0 (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 34, y += QK)
    {
      const float d = read_half (x);

      for (guint j = 0; j < QK; j++)
        y[j] = (gint8) x[2 + j] * d;
    }
}

/* Q4_0 (18 bytes): fp16 d; qs[16], value j in the low nibble of qs[j] and value j+16
 * in its high nibble. x = (q − 8)·d. */
static void
dequantize_q4_0 (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 18, y += QK)
    {
      const float d = read_half (x);
      const guint8 *qs = x + 2;

      for (guint j = 0; j < QK / 2; j++)
        {
          y[j] = ((qs[j] & 0xf) - 8) * d;
          y[j + QK / 2] = ((qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1 (20 bytes): fp16 d, fp16 m; qs[16] as Q4_0. x = q·d + m. */
static void
dequantize_q4_1 (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 20, y += QK)
    {
      const float d = read_half (x);
      const float m = read_half (x + 2);
      const guint8 *qs = x + 4;

      for (guint j = 0; j < QK / 2; j++)
        {
          y[j] = (qs[j] & 0xf) * d + m;
          y[j + QK / 2] = (qs[j] >> 4) * d + m;
        }
    }
}

static inline guint32
read_u32 (const guint8 *p)
{
  return p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

/* Q5_0 (22 bytes): fp16 d; qh, a little-endian 32-bit word whose bit j is the fifth
 * bit of value j; qs[16] the low four bits as in Q4_0. x = (q − 16)·d. */
static void
dequantize_q5_0 (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 22, y += QK)
    {
      const float d = read_half (x);
      const guint32 qh = read_u32 (x + 2);
      const guint8 *qs = x + 6;

      for (guint j = 0; j < QK / 2; j++)
        {
          int q0 = (qs[j] & 0xf) | (((qh >> j) & 1) << 4);
          int q1 = (qs[j] >> 4) | (((qh >> (j + QK / 2)) & 1) << 4);

          y[j] = (q0 - 16) * d;
          y[j + QK / 2] = (q1 - 16) * d;
        }
    }
}

/* Q5_1 (24 bytes): fp16 d, fp16 m; qh and qs as Q5_0. x = q·d + m. */
static void
dequantize_q5_1 (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 24, y += QK)
    {
      const float d = read_half (x);
      const float m = read_half (x + 2);
      const guint32 qh = read_u32 (x + 4);
      const guint8 *qs = x + 8;

      for (guint j = 0; j < QK / 2; j++)
        {
          int q0 = (qs[j] & 0xf) | (((qh >> j) & 1) << 4);
          int q1 = (qs[j] >> 4) | (((qh >> (j + QK / 2)) & 1) << 4);

          y[j] = q0 * d + m;
          y[j + QK / 2] = q1 * d + m;
        }
    }
}

/* The 6-bit scale and min of sub-block @j (0–7) of a Q4_K or Q5_K super-block, from
 * its 12 bytes of packed scales: bytes 0–3 hold the scales of sub-blocks 0–3 in their
 * low six bits, bytes 4–7 their mins; bytes 8–11 hold the low four bits of the scale
 * (low nibble) and min (high nibble) of sub-blocks 4–7, whose top two bits are the top
 * two bits of bytes 0–3 (scale) and 4–7 (min). */
static inline void
get_scale_min (const guint8 *scales,
               guint         j,
               guint8       *scale,
               guint8       *min)
{
  if (j < 4)
    {
      *scale = scales[j] & 0x3f;
      *min = scales[j + 4] & 0x3f;
    }
  else
    {
      *scale = (scales[j + 4] & 0xf) | ((scales[j - 4] >> 6) << 4);
      *min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
    }
}

static void
pack_scales_mins (guint8       *scales,
                  const guint8 *ls,
                  const guint8 *lm)
{
  for (guint j = 0; j < 4; j++)
    {
      scales[j] = ls[j] | ((ls[j + 4] >> 4) << 6);
      scales[j + 4] = lm[j] | ((lm[j + 4] >> 4) << 6);
      scales[j + 8] = (ls[j + 4] & 0xf) | ((lm[j + 4] & 0xf) << 4);
    }
}

/* Q4_K (144 bytes): fp16 d, fp16 dmin; scales[12] (see get_scale_min()); qs[128].
 * Eight sub-blocks of 32; each 64 values share 32 bytes of qs, the first 32 values in
 * the low nibbles and the next 32 in the high nibbles. x = d·scale·q − dmin·min. */
static void
dequantize_q4_k (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 144, y += QK_K)
    {
      const float d = read_half (x);
      const float dmin = read_half (x + 2);
      const guint8 *scales = x + 4;

      for (guint c = 0; c < 4; c++)
        {
          const guint8 *qs = x + 16 + 32 * c;
          float *out = y + 64 * c;
          guint8 sc, m;
          float d1, m1, d2, m2;

          get_scale_min (scales, 2 * c, &sc, &m);
          d1 = d * sc;
          m1 = dmin * m;
          get_scale_min (scales, 2 * c + 1, &sc, &m);
          d2 = d * sc;
          m2 = dmin * m;
          for (guint l = 0; l < 32; l++)
            {
              out[l] = d1 * (qs[l] & 0xf) - m1;
              out[l + 32] = d2 * (qs[l] >> 4) - m2;
            }
        }
    }
}

/* Q5_K (176 bytes): fp16 d, fp16 dmin; scales[12]; qh[32]; qs[128] as Q4_K. The fifth
 * bit of value 64·c + l is bit 2·c of qh[l], that of value 64·c + 32 + l bit 2·c + 1. */
static void
dequantize_q5_k (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 176, y += QK_K)
    {
      const float d = read_half (x);
      const float dmin = read_half (x + 2);
      const guint8 *scales = x + 4;
      const guint8 *qh = x + 16;

      for (guint c = 0; c < 4; c++)
        {
          const guint8 *qs = x + 48 + 32 * c;
          float *out = y + 64 * c;
          const guint8 low_bit = 1 << (2 * c), high_bit = 2 << (2 * c);
          guint8 sc, m;
          float d1, m1, d2, m2;

          get_scale_min (scales, 2 * c, &sc, &m);
          d1 = d * sc;
          m1 = dmin * m;
          get_scale_min (scales, 2 * c + 1, &sc, &m);
          d2 = d * sc;
          m2 = dmin * m;
          for (guint l = 0; l < 32; l++)
            {
              out[l] = d1 * ((qs[l] & 0xf) + ((qh[l] & low_bit) != 0 ? 16 : 0)) - m1;
              out[l + 32] = d2 * ((qs[l] >> 4) + ((qh[l] & high_bit) != 0 ? 16 : 0)) - m2;
            }
        }
    }
}

/* Q6_K (210 bytes): ql[128], qh[64], int8 scales[16], fp16 d; sixteen sub-blocks of 16.
 * Each half of 128 values uses 64 bytes of ql and 32 of qh: for l < 32, ql[l] holds the
 * low four bits of values l (low nibble) and l + 64 (high nibble), ql[l + 32] those of
 * l + 32 and l + 96, and qh[l] the top two bits of l, l + 32, l + 64 and l + 96 from
 * its lowest bit pair up. x = d·scale·(q − 32). */
static void
dequantize_q6_k (const guint8 *x,
                 float        *y,
                 gsize         n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += 210, y += QK_K)
    {
      const float d = read_half (x + 208);

      for (guint h = 0; h < 2; h++)
        {
          const guint8 *ql = x + 64 * h;
          const guint8 *qh = x + 128 + 32 * h;
          const gint8 *sc = (const gint8 *) (x + 192 + 8 * h);
          float *out = y + 128 * h;

          for (guint l = 0; l < 32; l++)
            {
              guint is = l / 16;
              int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
              int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
              int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
              int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;

              out[l] = d * sc[is] * q1;
              out[l + 32] = d * sc[is + 2] * q2;
              out[l + 64] = d * sc[is + 4] * q3;
              out[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void
loom_dequantize (LoomTensorType type,
                 gconstpointer  src,
                 float         *dst,
                 gsize          n)
{
  const LoomTensorTypeInfo *info = loom_tensor_type_get_info (type);
  const guint8 *x = src;
  gsize n_blocks;

  g_return_if_fail (info != NULL && info->supported);
  g_return_if_fail (n % info->block_elements == 0);
  g_return_if_fail (n == 0 || (src != NULL && dst != NULL));

  n_blocks = n / info->block_elements;
  switch (type)
    {
    case LOOM_TENSOR_F32:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      memcpy (dst, src, n * sizeof (float));
#else
      for (gsize i = 0; i < n; i++)
        dst[i] = bits_float (read_u32 (x + 4 * i));
#endif
      break;
    case LOOM_TENSOR_F16:
      for (gsize i = 0; i < n; i++)
        dst[i] = half_to_float ((guint16) (x[2 * i] | (x[2 * i + 1] << 8)));
      break;
    case LOOM_TENSOR_BF16:
      for (gsize i = 0; i < n; i++)
        dst[i] = bits_float (((guint32) x[2 * i] << 16) | ((guint32) x[2 * i + 1] << 24));
      break;
    case LOOM_TENSOR_Q8_0:
      dequantize_q8_0 (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q4_0:
      dequantize_q4_0 (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q4_1:
      dequantize_q4_1 (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q5_0:
      dequantize_q5_0 (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q5_1:
      dequantize_q5_1 (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q4_K:
      dequantize_q4_k (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q5_K:
      dequantize_q5_k (x, dst, n_blocks);
      break;
    case LOOM_TENSOR_Q6_K:
      dequantize_q6_k (x, dst, n_blocks);
      break;
    default:
      g_return_if_reached ();
    }
}

/* Quantizers. @n_blocks blocks of values at @x, blocks to @y. */

/* 1/d, or 0 where d is 0 or so small that 1/d overflows: then every level is the zero
 * level, and the block's values (all within 127·d of zero) dequantize to 0. */
static inline float
inverse_scale (float d)
{
  float id = d != 0.0f ? 1.0f / d : 0.0f;

  return isfinite (id) ? id : 0.0f;
}

/* As quantize_row_q8_0_ref: d = amax/127, q = round(x/d), halfway cases away from 0. */
static void
quantize_q8_0 (const float *x,
               guint8      *y,
               gsize        n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += QK, y += 34)
    {
      float amax = 0.0f, d, id;

      for (guint j = 0; j < QK; j++)
        amax = MAX (amax, fabsf (x[j]));
      d = MIN (amax / 127, HALF_MAX);
      id = inverse_scale (d);
      write_half (y, d);
      for (guint j = 0; j < QK; j++)
        y[2 + j] = (guint8) (gint8) CLAMP (roundf (x[j] * id), -127.0f, 127.0f);
    }
}

/* The value of largest magnitude in x[0..n), with its sign; the first such one. */
static inline float
signed_amax (const float *x,
             guint        n)
{
  float amax = 0.0f, max = 0.0f;

  for (guint j = 0; j < n; j++)
    if (fabsf (x[j]) > amax)
      {
        amax = fabsf (x[j]);
        max = x[j];
      }
  return max;
}

/* As quantize_row_q4_0_ref and _q5_0_ref: the value of largest magnitude gets the
 * lowest level, d = max/−2^(bits−1), q = trunc(x/d + 2^(bits−1) + ½) capped at the
 * top level (the opposite extreme would need one level more). The fifth bits, for
 * @bits 5, go to the little-endian word at y + 2. */
static void
quantize_q4_0_or_q5_0 (const float *x,
                       guint8      *y,
                       gsize        n_blocks,
                       guint        bits)
{
  const float half_levels = 1 << (bits - 1), top = (1 << bits) - 1;
  const gsize block_bytes = bits == 4 ? 18 : 22;

  for (gsize i = 0; i < n_blocks; i++, x += QK, y += block_bytes)
    {
      float d = CLAMP (signed_amax (x, QK) / -half_levels, -HALF_MAX, HALF_MAX);
      float id = inverse_scale (d);
      guint8 *qs = y + block_bytes - QK / 2;
      guint32 qh = 0;

      write_half (y, d);
      for (guint j = 0; j < QK / 2; j++)
        {
          float v0 = x[j] * id + half_levels + 0.5f;
          float v1 = x[j + QK / 2] * id + half_levels + 0.5f;
          guint q0 = v0 <= 0.0f ? 0 : v0 >= top ? (guint) top : (guint) v0;
          guint q1 = v1 <= 0.0f ? 0 : v1 >= top ? (guint) top : (guint) v1;

          qs[j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
          qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + QK / 2));
        }
      if (bits == 5)
        {
          y[2] = qh & 0xff;
          y[3] = (qh >> 8) & 0xff;
          y[4] = (qh >> 16) & 0xff;
          y[5] = qh >> 24;
        }
    }
}

/* As quantize_row_q4_1_ref and _q5_1_ref: m = min, d = (max − min)/(2^bits − 1),
 * q = trunc((x − m)/d + ½). */
static void
quantize_q4_1_or_q5_1 (const float *x,
                       guint8      *y,
                       gsize        n_blocks,
                       guint        bits)
{
  const float top = (1 << bits) - 1;
  const gsize block_bytes = bits == 4 ? 20 : 24;

  for (gsize i = 0; i < n_blocks; i++, x += QK, y += block_bytes)
    {
      float min = x[0], max = x[0], d, id;
      guint8 *qs = y + block_bytes - QK / 2;
      guint32 qh = 0;

      for (guint j = 1; j < QK; j++)
        {
          min = MIN (min, x[j]);
          max = MAX (max, x[j]);
        }
      d = MIN ((max - min) / top, HALF_MAX);
      id = inverse_scale (d);
      write_half (y, d);
      write_half (y + 2, min);
      for (guint j = 0; j < QK / 2; j++)
        {
          float v0 = (x[j] - min) * id + 0.5f;
          float v1 = (x[j + QK / 2] - min) * id + 0.5f;
          guint q0 = v0 <= 0.0f ? 0 : v0 >= top ? (guint) top : (guint) v0;
          guint q1 = v1 <= 0.0f ? 0 : v1 >= top ? (guint) top : (guint) v1;

          qs[j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
          qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + QK / 2));
        }
      if (bits == 5)
        {
          y[4] = qh & 0xff;
          y[5] = (qh >> 8) & 0xff;
          y[6] = (qh >> 16) & 0xff;
          y[7] = qh >> 24;
        }
    }
}

static inline guint8
ceil_level (float v)
{
  return (guint8) MIN (ceilf (v), 63.0f);
}

/* Scales, mins and levels of one Q4_K or Q5_K super-block (@top 15 or 31): writes d,
 * dmin and the 12 packed scale bytes to @head and the level (0 to @top) of each of the
 * 256 values to @levels.
 *
 * Each sub-block of 32 covers [lo, hi] with lo = min(0, its minimum), as the format
 * subtracts an unsigned min. The 6-bit mins and scales are rounded *up* (and dmin and
 * d rounded up in fp16), first the mins and then the scales for the mins actually
 * stored, so that the levels always span the sub-block and no value is clipped. Every
 * value then lies within half a step of its level, where the step of a sub-block is at
 * most (hi − lo + dmin)/top + d, with dmin = max(−lo)/63 and d = max step/63 over the
 * super-block: the rounding-up costs at most one unit of the super-block scale, which
 * is 1/63 of the largest step. On Gaussian data the RMS error is 8.0% (Q4_K) and 3.9%
 * (Q5_K) of the data's RMS, about 10% more than llama.cpp's searched scales give (7.1%
 * and 3.6%). */
static void
quantize_k_scales (const float *x,
                   guint        top,
                   guint8      *head,
                   guint8      *levels)
{
  float his[8], offsets[8], steps[8];
  float max_offset = 0.0f, max_step = 0.0f, d, dmin;
  guint8 ls[8], lm[8];
  guint16 d_bits, dmin_bits;

  for (guint j = 0; j < 8; j++)
    {
      const float *xs = x + 32 * j;
      float lo = 0.0f, hi = xs[0];

      for (guint l = 0; l < 32; l++)
        {
          lo = MIN (lo, xs[l]);
          hi = MAX (hi, xs[l]);
        }
      his[j] = hi;
      offsets[j] = -lo;
      max_offset = MAX (max_offset, offsets[j]);
    }

  dmin_bits = half_at_least (max_offset / 63);
  dmin = half_to_float (dmin_bits);
  for (guint j = 0; j < 8; j++)
    {
      lm[j] = dmin > 0.0f ? ceil_level (offsets[j] / dmin) : 0;
      steps[j] = MAX (his[j] + dmin * lm[j], 0.0f) / top;
      max_step = MAX (max_step, steps[j]);
    }

  d_bits = half_at_least (max_step / 63);
  d = half_to_float (d_bits);
  for (guint j = 0; j < 8; j++)
    ls[j] = d > 0.0f ? ceil_level (steps[j] / d) : 0;

  write_half_bits (head, d_bits);
  write_half_bits (head + 2, dmin_bits);
  pack_scales_mins (head + 4, ls, lm);

  /* The same float products the dequantizer forms. */
  for (guint j = 0; j < 8; j++)
    {
      const float step = d * ls[j], offset = dmin * lm[j];

      for (guint l = 0; l < 32; l++)
        {
          float v = step > 0.0f ? rintf ((x[32 * j + l] + offset) / step) : 0.0f;

          levels[32 * j + l] = (guint8) CLAMP (v, 0.0f, (float) top);
        }
    }
}

static void
quantize_q4_k (const float *x,
               guint8      *y,
               gsize        n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += QK_K, y += 144)
    {
      guint8 levels[QK_K];

      quantize_k_scales (x, 15, y, levels);
      for (guint c = 0; c < 4; c++)
        for (guint l = 0; l < 32; l++)
          y[16 + 32 * c + l] = levels[64 * c + l] | (levels[64 * c + 32 + l] << 4);
    }
}

static void
quantize_q5_k (const float *x,
               guint8      *y,
               gsize        n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += QK_K, y += 176)
    {
      guint8 levels[QK_K];
      guint8 *qh = y + 16;

      quantize_k_scales (x, 31, y, levels);
      memset (qh, 0, 32);
      for (guint c = 0; c < 4; c++)
        for (guint l = 0; l < 32; l++)
          {
            guint8 q0 = levels[64 * c + l], q1 = levels[64 * c + 32 + l];

            y[48 + 32 * c + l] = (q0 & 0xf) | ((q1 & 0xf) << 4);
            qh[l] |= ((q0 >> 4) << (2 * c)) | ((q1 >> 4) << (2 * c + 1));
          }
    }
}

/* Q6_K, symmetric: each sub-block of 16 gets the signed step s = max/−31.5 (max the
 * value of largest magnitude), so that its values lie within [−31.5, 31.5] steps and
 * round to the 64 levels −32…31 with no value more than half a step away (ggml uses
 * max/−32, which clips the opposite extreme by up to a whole step). The int8 scales
 * are s/d rounded away from zero and d = max|s|/127 rounded up in fp16, so a stored
 * step is never smaller than s: every value is within half a stored step, which is at
 * most |s| + d. On Gaussian data the RMS error is 2.0% of the data's RMS. */
static void
quantize_q6_k (const float *x,
               guint8      *y,
               gsize        n_blocks)
{
  for (gsize i = 0; i < n_blocks; i++, x += QK_K, y += 210)
    {
      float steps[16], max_step = 0.0f, d;
      guint8 levels[QK_K];
      gint8 *scales = (gint8 *) (y + 192);
      guint16 d_bits;

      for (guint j = 0; j < 16; j++)
        {
          steps[j] = signed_amax (x + 16 * j, 16) / -31.5f;
          max_step = MAX (max_step, fabsf (steps[j]));
        }
      d_bits = half_at_least (max_step / 127);
      d = half_to_float (d_bits);
      write_half_bits (y + 208, d_bits);

      for (guint j = 0; j < 16; j++)
        {
          float magnitude = d > 0.0f ? MIN (ceilf (fabsf (steps[j]) / d), 127.0f) : 0.0f;
          float step;

          scales[j] = (gint8) (steps[j] < 0.0f ? -magnitude : magnitude);
          step = d * scales[j];
          for (guint l = 0; l < 16; l++)
            {
              float v = step != 0.0f ? rintf (x[16 * j + l] / step) : 0.0f;

              levels[16 * j + l] = (guint8) (CLAMP (v, -32.0f, 31.0f) + 32);
            }
        }

      for (guint h = 0; h < 2; h++)
        {
          guint8 *ql = y + 64 * h;
          guint8 *qh = y + 128 + 32 * h;
          const guint8 *q = levels + 128 * h;

          for (guint l = 0; l < 32; l++)
            {
              ql[l] = (q[l] & 0xf) | ((q[l + 64] & 0xf) << 4);
              ql[l + 32] = (q[l + 32] & 0xf) | ((q[l + 96] & 0xf) << 4);
              qh[l] = (q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) |
                      ((q[l + 96] >> 4) << 6);
            }
        }
    }
}

void
loom_quantize (LoomTensorType  type,
               const float    *src,
               gpointer        dst,
               gsize           n)
{
  const LoomTensorTypeInfo *info = loom_tensor_type_get_info (type);
  guint8 *y = dst;
  gsize n_blocks;

  g_return_if_fail (info != NULL && info->supported);
  g_return_if_fail (n % info->block_elements == 0);
  g_return_if_fail (n == 0 || (src != NULL && dst != NULL));

  n_blocks = n / info->block_elements;
  switch (type)
    {
    case LOOM_TENSOR_F32:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      memcpy (dst, src, n * sizeof (float));
#else
      for (gsize i = 0; i < n; i++)
        {
          guint32 bits = float_bits (src[i]);

          y[4 * i] = bits & 0xff;
          y[4 * i + 1] = (bits >> 8) & 0xff;
          y[4 * i + 2] = (bits >> 16) & 0xff;
          y[4 * i + 3] = bits >> 24;
        }
#endif
      break;
    case LOOM_TENSOR_F16:
      for (gsize i = 0; i < n; i++)
        write_half_bits (y + 2 * i, float_to_half (src[i]));
      break;
    case LOOM_TENSOR_BF16:
      for (gsize i = 0; i < n; i++)
        write_half_bits (y + 2 * i, loom_float_to_bf16 (src[i]));
      break;
    case LOOM_TENSOR_Q8_0:
      quantize_q8_0 (src, y, n_blocks);
      break;
    case LOOM_TENSOR_Q4_0:
      quantize_q4_0_or_q5_0 (src, y, n_blocks, 4);
      break;
    case LOOM_TENSOR_Q5_0:
      quantize_q4_0_or_q5_0 (src, y, n_blocks, 5);
      break;
    case LOOM_TENSOR_Q4_1:
      quantize_q4_1_or_q5_1 (src, y, n_blocks, 4);
      break;
    case LOOM_TENSOR_Q5_1:
      quantize_q4_1_or_q5_1 (src, y, n_blocks, 5);
      break;
    case LOOM_TENSOR_Q4_K:
      quantize_q4_k (src, y, n_blocks);
      break;
    case LOOM_TENSOR_Q5_K:
      quantize_q5_k (src, y, n_blocks);
      break;
    case LOOM_TENSOR_Q6_K:
      quantize_q6_k (src, y, n_blocks);
      break;
    default:
      g_return_if_reached ();
    }
}
