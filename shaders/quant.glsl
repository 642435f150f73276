// quant.glsl — weights in their stored form: the block layouts of ggml's tensor types,
// decoded from 32-bit words.
//
// Include after declaring the weights as `uint weights[]` (a readonly storage buffer) and
// defining exactly one of TYPE_F16, TYPE_BF16, TYPE_Q8_0, TYPE_Q4_0, TYPE_Q4_1, TYPE_Q5_0,
// TYPE_Q5_1, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K (shaders/meson.build compiles each typed
// kernel once per type). The layouts, and the float operations that turn them into
// values, are those of the CPU reference, engine/formats/loom-quant.c: every product
// there is exact in f32 (fp16 scales of 11 significant bits times integers of at most 8),
// so decoding here gives the same values bit for bit, fused multiply-add or not, except
// Q6_K's d·scale·q, which is rounded once either way.
//
// Addresses are in 16-bit units ("halves") from the start of the binding. A weight
// tensor may start at any even byte offset, and blocks of 18, 22, 34 or 210 bytes are
// only 2-byte aligned, so a 32-bit field may straddle two words: quant_u32() reads it
// with a funnel shift. This needs no 16-bit storage feature, and no word is read that
// does not hold a byte of the field.
//
// Each type defines
//   QUANT_BLOCK   values per block (F16 and BF16: a chunk of 8 values; their rows may
//                 end with a partial chunk, read with quant_value())
//   QUANT_HALVES  16-bit units per block
//   QUANT_GROUP   blocks per group: the fewest whole blocks that are a whole number of
//                 16-byte words (0 for Q6_K, whose group of 8 blocks is too large to
//                 hold), so that rows which start 16-byte aligned and hold whole
//                 groups can be loaded as uvec4s (QUANT_NO_GROUP is defined where there
//                 is none)
// and two ways to decode:
//   quant_decode8 (h, j, lo, hi)  values 8j .. 8j+7 of the block at half h, reading only
//       the words they need: for kernels in which neighbouring invocations decode
//       neighbouring pieces of a row (GPU kernels, get_rows), and for any alignment.
//   quant_block_piece (b, c, v)  values c·QUANT_PIECE .. (c+1)·QUANT_PIECE − 1 of a
//       block, from its words b[] (QUANT_WORDS words from the block's first byte, as
//       quant_block_words() loads them from any half): for the CPU kernels, which
//       decode whole blocks per invocation, and whose fast paths fill b[] from 16-byte
//       loads instead (QUANT_GROUP below). A piece is what one group of quant bytes
//       holds (32 values, 64 for Q4_K and Q5_K), so scales are decoded once per piece.
// Both are built on the same per-type helpers (quant_i8x4, quant_k_scales, …), and the
// tests run every kernel, aligned and not, against the CPU reference.

#ifndef LOOM_QUANT_GLSL
#define LOOM_QUANT_GLSL

#extension GL_EXT_control_flow_attributes : require

#extension GL_EXT_control_flow_attributes : require

// The 16 bits at half h, and the 32 bits starting at half h. For even h, the second
// read of quant_u32 is the same word as the first and is shifted out entirely.
uint quant_u16 (uint h)
{
  return (weights[h >> 1] >> ((h & 1u) << 4)) & 0xffffu;
}

uint quant_u32 (uint h)
{
  uint s = (h & 1u) << 4;

  return (weights[h >> 1] >> s) | ((weights[(h + 1u) >> 1] << 16) << (16u - s));
}

float quant_f16 (uint h)
{
  return unpackHalf2x16 (quant_u16 (h)).x;
}

// The four bytes of a word, low byte first: unsigned, signed, as nibbles.
uvec4 quant_u8x4 (uint w)
{
  return (uvec4 (w) >> uvec4 (0u, 8u, 16u, 24u)) & 0xffu;
}

vec4 quant_i8x4 (uint w)
{
  return vec4 (ivec4 (uvec4 (w) << uvec4 (24u, 16u, 8u, 0u)) >> 24);
}

// Nibble `high` (0 low, 1 high) of each byte.
uvec4 quant_nibbles (uint w, uint high)
{
  return (uvec4 (w) >> (uvec4 (0u, 8u, 16u, 24u) + high * 4u)) & 0xfu;
}

// Bit b of each byte, shifted up to bit `to`.
uvec4 quant_bits (uint w, uint b, uint to)
{
  return ((uvec4 (w) >> (uvec4 (0u, 8u, 16u, 24u) + b)) & 1u) << to;
}

// The 6-bit scales and mins of the eight sub-blocks of a Q4_K or Q5_K super-block,
// from its 12 bytes of packed scales s0, s1, s2 (see get_scale_min() in loom-quant.c):
// sub-blocks 0–3 in scales[0], mins[0], sub-blocks 4–7 in scales[1], mins[1].
void quant_k_scales (uint s0, uint s1, uint s2, out uvec4 scales[2], out uvec4 mins[2])
{
  uvec4 b0 = quant_u8x4 (s0), b1 = quant_u8x4 (s1), b2 = quant_u8x4 (s2);

  scales[0] = b0 & 63u;
  mins[0] = b1 & 63u;
  scales[1] = (b2 & 15u) | ((b0 >> 6) << 4);
  mins[1] = (b2 >> 4) | ((b1 >> 6) << 4);
}

// The scale and min of sub-block `sub` alone.
uvec2 quant_k_scale (uint s0, uint s1, uint s2, uint sub)
{
  uint b = (sub & 3u) * 8u;

  if (sub < 4u)
    return uvec2 ((s0 >> b) & 63u, (s1 >> b) & 63u);
  return uvec2 (((s2 >> b) & 15u) | (((s0 >> (b + 6u)) & 3u) << 4),
                ((s2 >> (b + 4u)) & 15u) | (((s1 >> (b + 6u)) & 3u) << 4));
}

// The 4 (8) 32-bit words starting at half h: each word of the binding that holds one of
// their bytes is read once, none other.
void quant_words4 (uint h, out uint w[4])
{
  uint first = h >> 1, last = (h + 7u) >> 1, s = (h & 1u) << 4;
  uint next = weights[first];

  [[unroll]] for (uint t = 0; t < 4; t++)
    {
      uint word = next;
      next = weights[min (first + t + 1u, last)];
      w[t] = (word >> s) | ((next << 16) << (16u - s));
    }
}

void quant_words8 (uint h, out uint w[8])
{
  uint first = h >> 1, last = (h + 15u) >> 1, s = (h & 1u) << 4;
  uint next = weights[first];

  [[unroll]] for (uint t = 0; t < 8; t++)
    {
      uint word = next;
      next = weights[min (first + t + 1u, last)];
      w[t] = (word >> s) | ((next << 16) << (16u - s));
    }
}

// Words of a block, the last one padded with zeros.
#define QUANT_WORDS (QUANT_HALVES / 2u + QUANT_HALVES % 2u)

// The 32 bits at half h (a constant, once inlined) of a block's words b[].
#define QUANT_B32(b, h) ((((h) & 1u) == 0u) ? (b)[(h) / 2u] \
                         : ((b)[(h) / 2u] >> 16) | ((b)[min ((h) / 2u + 1u, QUANT_WORDS - 1u)] << 16))

#if defined(TYPE_F16) || defined(TYPE_BF16)

// Plain 16-bit values; a "block" is a chunk of 8.
#define QUANT_BLOCK  8u
#define QUANT_HALVES 8u
#define QUANT_PLAIN  1

#if defined(TYPE_F16)
vec2 quant_pair (uint w)
{
  return unpackHalf2x16 (w);
}

float quant_value (uint h)
{
  return quant_f16 (h);
}
#else
vec2 quant_pair (uint w)
{
  return vec2 (uintBitsToFloat (w << 16), uintBitsToFloat (w & 0xffff0000u));
}

float quant_value (uint h)
{
  return uintBitsToFloat (quant_u16 (h) << 16);
}
#endif

void quant_decode8 (uint h, uint j, out vec4 lo, out vec4 hi)
{
  uint e = h + 8u * j;

  lo = vec4 (quant_pair (quant_u32 (e)), quant_pair (quant_u32 (e + 2u)));
  hi = vec4 (quant_pair (quant_u32 (e + 4u)), quant_pair (quant_u32 (e + 6u)));
}

#define QUANT_GROUP 4u  // 64 bytes
#define QUANT_PIECE 8u

void quant_block_piece (uint b[QUANT_WORDS], uint c, out vec4 v[QUANT_PIECE / 4u])
{
  v[0] = vec4 (quant_pair (b[0]), quant_pair (b[1]));
  v[1] = vec4 (quant_pair (b[2]), quant_pair (b[3]));
}

#elif defined(TYPE_Q8_0)

// 34 bytes: fp16 d; int8 qs[32]. x = q·d.
#define QUANT_BLOCK  32u
#define QUANT_HALVES 17u

void quant_decode8 (uint h, uint j, out vec4 lo, out vec4 hi)
{
  float d = quant_f16 (h);
  uint q = h + 1u + 4u * j;

  lo = quant_i8x4 (quant_u32 (q)) * d;
  hi = quant_i8x4 (quant_u32 (q + 2u)) * d;
}

#define QUANT_GROUP 8u  // 272 bytes
#define QUANT_PIECE 32u

void quant_block_piece (uint b[QUANT_WORDS], uint c, out vec4 v[QUANT_PIECE / 4u])
{
  float d = unpackHalf2x16 (b[0]).x;

  [[unroll]] for (uint t = 0; t < 8; t++)
    v[t] = quant_i8x4 (QUANT_B32 (b, 1u + 2u * t)) * d;
}

#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1)

// Q4_0, 18 bytes: fp16 d; qs[16], value i in the low nibble of qs[i] and value i+16 in
// its high nibble. x = (q − 8)·d.
// Q4_1, 20 bytes: fp16 d, fp16 m; qs[16] as Q4_0. x = q·d + m.
#define QUANT_BLOCK  32u
#if defined(TYPE_Q4_0)
#define QUANT_HALVES 9u
#define QUANT_QS     1u   // first half of qs
#else
#define QUANT_HALVES 10u
#define QUANT_QS     2u
#endif

void quant_decode8 (uint h, uint j, out vec4 lo, out vec4 hi)
{
  float d = quant_f16 (h);
  uint q = h + QUANT_QS + 4u * (j & 1u);
  vec4 n0 = vec4 (quant_nibbles (quant_u32 (q), j >> 1));
  vec4 n1 = vec4 (quant_nibbles (quant_u32 (q + 2u), j >> 1));

#if defined(TYPE_Q4_0)
  lo = (n0 - 8.0) * d;
  hi = (n1 - 8.0) * d;
#else
  float m = quant_f16 (h + 1u);
  lo = n0 * d + m;
  hi = n1 * d + m;
#endif
}

#if defined(TYPE_Q4_0)
#define QUANT_GROUP 8u  // 144 bytes
#else
#define QUANT_GROUP 4u  // 80 bytes
#endif
#define QUANT_PIECE 32u

void quant_block_piece (uint b[QUANT_WORDS], uint c, out vec4 v[QUANT_PIECE / 4u])
{
  vec2 dm = unpackHalf2x16 (b[0]);

  [[unroll]] for (uint t = 0; t < 4; t++)
    {
      uint w = QUANT_B32 (b, QUANT_QS + 2u * t);
#if defined(TYPE_Q4_0)
      v[t] = (vec4 (quant_nibbles (w, 0u)) - 8.0) * dm.x;
      v[t + 4] = (vec4 (quant_nibbles (w, 1u)) - 8.0) * dm.x;
#else
      v[t] = vec4 (quant_nibbles (w, 0u)) * dm.x + dm.y;
      v[t + 4] = vec4 (quant_nibbles (w, 1u)) * dm.x + dm.y;
#endif
    }
}

#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)

// Q5_0, 22 bytes: fp16 d; qh, a 32-bit word whose bit i is the fifth bit of value i;
// qs[16] the low four bits as in Q4_0. x = (q − 16)·d.
// Q5_1, 24 bytes: fp16 d, fp16 m; qh and qs as Q5_0. x = q·d + m.
#define QUANT_BLOCK  32u
#if defined(TYPE_Q5_0)
#define QUANT_HALVES 11u
#define QUANT_QH     1u
#else
#define QUANT_HALVES 12u
#define QUANT_QH     2u
#endif
#define QUANT_QS     (QUANT_QH + 2u)

// The fifth bits of values 8j .. 8j+7, as 16s.
void quant_q5_high (uint qh, uint j, out uvec4 lo, out uvec4 hi)
{
  lo = ((uvec4 (qh) >> (uvec4 (0u, 1u, 2u, 3u) + 8u * j)) & 1u) << 4;
  hi = ((uvec4 (qh) >> (uvec4 (4u, 5u, 6u, 7u) + 8u * j)) & 1u) << 4;
}

void quant_decode8 (uint h, uint j, out vec4 lo, out vec4 hi)
{
  float d = quant_f16 (h);
  uint q = h + QUANT_QS + 4u * (j & 1u);
  uvec4 b0, b1;
  vec4 n0, n1;

  quant_q5_high (quant_u32 (h + QUANT_QH), j, b0, b1);
  n0 = vec4 (quant_nibbles (quant_u32 (q), j >> 1) | b0);
  n1 = vec4 (quant_nibbles (quant_u32 (q + 2u), j >> 1) | b1);
#if defined(TYPE_Q5_0)
  lo = (n0 - 16.0) * d;
  hi = (n1 - 16.0) * d;
#else
  float m = quant_f16 (h + 1u);
  lo = n0 * d + m;
  hi = n1 * d + m;
#endif
}

#if defined(TYPE_Q5_0)
#define QUANT_GROUP 8u  // 176 bytes
#else
#define QUANT_GROUP 2u  // 48 bytes
#endif
#define QUANT_PIECE 32u

void quant_block_piece (uint b[QUANT_WORDS], uint c, out vec4 v[QUANT_PIECE / 4u])
{
  vec2 dm = unpackHalf2x16 (b[0]);
  uint qh = QUANT_B32 (b, QUANT_QH);

  [[unroll]] for (uint t = 0; t < 4; t++)
    {
      uint w = QUANT_B32 (b, QUANT_QS + 2u * t);
      vec4 n0 = vec4 (quant_nibbles (w, 0u) | (((uvec4 (qh) >> (uvec4 (0u, 1u, 2u, 3u) + 4u * t))
                                                & 1u) << 4));
      vec4 n1 = vec4 (quant_nibbles (w, 1u) | (((uvec4 (qh) >> (uvec4 (16u, 17u, 18u, 19u)
                                                                + 4u * t)) & 1u) << 4));
#if defined(TYPE_Q5_0)
      v[t] = (n0 - 16.0) * dm.x;
      v[t + 4] = (n1 - 16.0) * dm.x;
#else
      v[t] = n0 * dm.x + dm.y;
      v[t + 4] = n1 * dm.x + dm.y;
#endif
    }
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)

// Q4_K, 144 bytes: fp16 d, fp16 dmin; scales[12] (quant_k_scales); qs[128]. Eight
// sub-blocks of 32; each 64 values share 32 bytes of qs, the first 32 in the low nibbles
// and the next 32 in the high nibbles. x = d·scale·q − dmin·min.
// Q5_K, 176 bytes: as Q4_K with qh[32] before qs: the fifth bit of value 64c + l is bit
// 2c of qh[l], that of value 64c + 32 + l bit 2c + 1.
#define QUANT_BLOCK  256u
#if defined(TYPE_Q4_K)
#define QUANT_HALVES 72u
#define QUANT_QS     8u
#else
#define QUANT_HALVES 88u
#define QUANT_QH     8u
#define QUANT_QS     24u
#endif

void quant_decode8 (uint h, uint j, out vec4 lo, out vec4 hi)
{
  uint c = j >> 3, high = (j >> 2) & 1u, l = 8u * (j & 3u);
  uvec2 sm = quant_k_scale (quant_u32 (h + 2u), quant_u32 (h + 4u), quant_u32 (h + 6u),
                            2u * c + high);
  vec2 dm = unpackHalf2x16 (quant_u32 (h));
  float d = dm.x * float (sm.x), m = dm.y * float (sm.y);
  uint q = h + QUANT_QS + 16u * c + l / 2u;
  uvec4 n0 = quant_nibbles (quant_u32 (q), high);
  uvec4 n1 = quant_nibbles (quant_u32 (q + 2u), high);

#if defined(TYPE_Q5_K)
  n0 |= quant_bits (quant_u32 (h + QUANT_QH + l / 2u), 2u * c + high, 4u);
  n1 |= quant_bits (quant_u32 (h + QUANT_QH + l / 2u + 2u), 2u * c + high, 4u);
#endif
  lo = d * vec4 (n0) - m;
  hi = d * vec4 (n1) - m;
}

#define QUANT_GROUP 1u  // 144 or 176 bytes
#define QUANT_PIECE 64u

// Values 64c .. 64c + 63 of a block (sub-blocks 2c and 2c + 1).
void quant_block_piece (uint b[QUANT_WORDS], uint c, out vec4 v[QUANT_PIECE / 4u])
{
  vec2 dm = unpackHalf2x16 (b[0]);
  uvec4 scales[2], mins[2];
  vec2 d, m;

  quant_k_scales (b[1], b[2], b[3], scales, mins);
  d = dm.x * vec2 (scales[c / 2u][(2u * c) % 4u], scales[c / 2u][(2u * c) % 4u + 1u]);
  m = dm.y * vec2 (mins[c / 2u][(2u * c) % 4u], mins[c / 2u][(2u * c) % 4u + 1u]);
  [[unroll]] for (uint t = 0; t < 8; t++)
    {
      uint w = b[QUANT_QS / 2u + 8u * c + t];
      uvec4 n0 = quant_nibbles (w, 0u), n1 = quant_nibbles (w, 1u);
#if defined(TYPE_Q5_K)
      uint qh = b[QUANT_QH / 2u + t];
      n0 |= quant_bits (qh, 2u * c, 4u);
      n1 |= quant_bits (qh, 2u * c + 1u, 4u);
#endif
      v[t] = d.x * vec4 (n0) - m.x;
      v[t + 8] = d.y * vec4 (n1) - m.y;
    }
}

#elif defined(TYPE_Q6_K)

// Q6_K, 210 bytes: ql[128], qh[64], int8 scales[16], fp16 d; sixteen sub-blocks of 16.
// Value 128·f + 32·p + l (f < 2, p < 4, l < 32) has its low four bits in nibble p/2 of
// ql[64f + 32(p mod 2) + l], its top two bits in bits 2p, 2p+1 of qh[32f + l], and
// the scale scales[8f + 2p + l/16]. x = d·scale·(q − 32).
#define QUANT_BLOCK  256u
#define QUANT_HALVES 105u
#define QUANT_QH     64u
#define QUANT_SC     96u
#define QUANT_D      104u

// The 6-bit values of four bytes of ql and qh, minus 32.
vec4 quant_q6 (uint ql, uint qh, uint p)
{
  return vec4 (ivec4 (quant_nibbles (ql, p >> 1) | (((uvec4 (qh) >> (uvec4 (0u, 8u, 16u, 24u)
                                                      + 2u * p)) & 3u) << 4)) - 32);
}

void quant_decode8 (uint h, uint j, out vec4 lo, out vec4 hi)
{
  uint f = j >> 4, p = (j >> 2) & 3u, l = 8u * (j & 3u);
  uint ql = h + 32u * f + 16u * (p & 1u) + l / 2u;
  uint qh = h + QUANT_QH + 16u * f + l / 2u;
  uint sb = 8u * f + 2u * p + l / 16u;
  int sc = bitfieldExtract (int (quant_u16 (h + QUANT_SC + sb / 2u)), int (8u * (sb & 1u)), 8);
  float d = quant_f16 (h + QUANT_D) * float (sc);

  lo = d * quant_q6 (quant_u32 (ql), quant_u32 (qh), p);
  hi = d * quant_q6 (quant_u32 (ql + 2u), quant_u32 (qh + 2u), p);
}

#define QUANT_GROUP 0u
#define QUANT_PIECE 32u
#define QUANT_NO_GROUP 1

// Values 32c .. 32c + 31 of a block: f = c / 4, p = c % 4.
void quant_block_piece (uint b[QUANT_WORDS], uint c, out vec4 v[QUANT_PIECE / 4u])
{
  uint f = c / 4u, p = c % 4u;
  float d = unpackHalf2x16 (b[52]).x;

  [[unroll]] for (uint t = 0; t < 8; t++)
    {
      uint sb = 8u * f + 2u * p + t / 4u;
      float scale = float (bitfieldExtract (int (b[48u + sb / 4u]), int (8u * (sb % 4u)), 8));
      v[t] = (d * scale) * quant_q6 (b[16u * f + 8u * (p & 1u) + t], b[32u + 8u * f + t], p);
    }
}

#else
#error "Define the weight type: TYPE_F16, TYPE_Q8_0, …"
#endif

// The words of the block at half h. Each word of the binding that holds a byte of the
// block is read once; none other is.
void quant_block_words (uint h, out uint b[QUANT_WORDS])
{
  uint first = h >> 1, last = (h + QUANT_HALVES - 1u) >> 1, s = (h & 1u) << 4;
  uint next = weights[first];

  [[unroll]] for (uint t = 0; t < QUANT_WORDS; t++)
    {
      uint word = next;
      next = weights[min (first + t + 1u, last)];
      b[t] = (word >> s) | ((next << 16) << (16u - s));
    }
  if (QUANT_HALVES % 2u == 1u)
    b[QUANT_WORDS - 1u] &= 0xffffu;
}

// Pieces of whole rows, for the CPU kernels' loops over a row: QUANT_ROW_PIECE values
// (at least 32, so that eight invocations can share the loads of the activations).
// quant_row_piece (row, c, v) decodes piece c of the row at half `row`, from any half;
// with QUANT_WEIGHTS4 (the includer declares the weights also as `uvec4 weights4[]`),
// types whose pieces are whole 16-byte words have quant_row_piece4 (QUANT_PIECE4), for
// rows at a multiple of 8 halves.
#if defined(TYPE_F16) || defined(TYPE_BF16)

#define QUANT_ROW_PIECE 32u
#define QUANT_PIECE4 1

void quant_row_piece (uint row, uint c, out vec4 v[8])
{
  uint w[8];

  [[unroll]] for (uint half_ = 0; half_ < 2; half_++)
    {
      quant_words8 (row + 32u * c + 16u * half_, w);
      [[unroll]] for (uint t = 0; t < 4; t++)
        v[4u * half_ + t] = vec4 (quant_pair (w[2u * t]), quant_pair (w[2u * t + 1u]));
    }
}

#ifdef QUANT_WEIGHTS4
void quant_row_piece4 (uint row, uint c, out vec4 v[8])
{
  [[unroll]] for (uint t = 0; t < 4; t++)
    {
      uvec4 w = weights4[row / 8u + 4u * c + t];
      v[2u * t] = vec4 (quant_pair (w.x), quant_pair (w.y));
      v[2u * t + 1u] = vec4 (quant_pair (w.z), quant_pair (w.w));
    }
}
#endif

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)

#define QUANT_ROW_PIECE 64u
#define QUANT_PIECE4 1

// Piece c (sub-blocks 2c, 2c + 1) from the block's header (d and dmin, scales), its qs
// words of the piece and (Q5_K) its qh.
void quant_k_piece (uint head[4], uint qs[8], uint qh[8], uint c, out vec4 v[16])
{
  vec2 dm = unpackHalf2x16 (head[0]);
  uvec2 sm0 = quant_k_scale (head[1], head[2], head[3], 2u * c);
  uvec2 sm1 = quant_k_scale (head[1], head[2], head[3], 2u * c + 1u);
  vec2 d = dm.x * vec2 (sm0.x, sm1.x), m = dm.y * vec2 (sm0.y, sm1.y);

  [[unroll]] for (uint t = 0; t < 8; t++)
    {
      uvec4 n0 = quant_nibbles (qs[t], 0u), n1 = quant_nibbles (qs[t], 1u);
#if defined(TYPE_Q5_K)
      n0 |= quant_bits (qh[t], 2u * c, 4u);
      n1 |= quant_bits (qh[t], 2u * c + 1u, 4u);
#endif
      v[t] = d.x * vec4 (n0) - m.x;
      v[t + 8] = d.y * vec4 (n1) - m.y;
    }
}

void quant_row_piece (uint row, uint c, out vec4 v[16])
{
  uint h = row + c / 4u * QUANT_HALVES;
  uint head[4], qs[8], qh[8];

  quant_words4 (h, head);
  quant_words8 (h + QUANT_QS + 16u * (c % 4u), qs);
#if defined(TYPE_Q5_K)
  quant_words8 (h + QUANT_QH, qh);
#endif
  quant_k_piece (head, qs, qh, c % 4u, v);
}

#ifdef QUANT_WEIGHTS4
void quant_row_piece4 (uint row, uint c, out vec4 v[16])
{
  uint h = (row + c / 4u * QUANT_HALVES) / 8u;
  uvec4 head = weights4[h];
  uvec4 qs0 = weights4[h + QUANT_QS / 8u + 2u * (c % 4u)];
  uvec4 qs1 = weights4[h + QUANT_QS / 8u + 2u * (c % 4u) + 1u];
  uint qh[8];
#if defined(TYPE_Q5_K)
  uvec4 qh0 = weights4[h + QUANT_QH / 8u], qh1 = weights4[h + QUANT_QH / 8u + 1u];
  qh = uint[8] (qh0.x, qh0.y, qh0.z, qh0.w, qh1.x, qh1.y, qh1.z, qh1.w);
#endif

  quant_k_piece (uint[4] (head.x, head.y, head.z, head.w),
                 uint[8] (qs0.x, qs0.y, qs0.z, qs0.w, qs1.x, qs1.y, qs1.z, qs1.w), qh, c % 4u,
                 v);
}
#endif

#elif defined(TYPE_Q6_K)

#define QUANT_ROW_PIECE 32u

// Piece c = 4f + p of a block: values 128f + 32p .. + 31.
void quant_row_piece (uint row, uint c, out vec4 v[8])
{
  uint h = row + c / 8u * QUANT_HALVES;
  uint f = (c / 4u) % 2u, p = c % 4u;
  uint ql[8], qh[8];
  uint sc = quant_u16 (h + QUANT_SC + 4u * f + p);
  float d = quant_f16 (h + QUANT_D);
  vec2 ds = d * vec2 (bitfieldExtract (int (sc), 0, 8), bitfieldExtract (int (sc), 8, 8));

  quant_words8 (h + 32u * f + 16u * (p & 1u), ql);
  quant_words8 (h + QUANT_QH + 16u * f, qh);
  [[unroll]] for (uint t = 0; t < 8; t++)
    v[t] = ds[t / 4u] * quant_q6 (ql[t], qh[t], p);
}

#else

// The legacy types: a piece is a block.
#define QUANT_ROW_PIECE 32u

void quant_row_piece (uint row, uint c, out vec4 v[8])
{
  uint b[QUANT_WORDS];

  quant_block_words (row + c * QUANT_HALVES, b);
  quant_block_piece (b, 0u, v);
}

#endif

// Halves of a row of k values.
uint quant_row_halves (uint k)
{
#ifdef QUANT_PLAIN
  return k;
#else
  return k / QUANT_BLOCK * QUANT_HALVES;
#endif
}

// Values 8c .. 8c+7 of the row at half `row` (8c + 8 ≤ the row's length).
void quant_row_decode8 (uint row, uint c, out vec4 lo, out vec4 hi)
{
  uint v = 8u * c;

  quant_decode8 (row + v / QUANT_BLOCK * QUANT_HALVES, (v % QUANT_BLOCK) / 8u, lo, hi);
}

#endif
