#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
// matvec_quant_rows.comp — out[n] = Σ_k W[n][k] · x[k] for one row of activations
// (decoding), with W in its stored type (quant.glsl); each invocation computes ROWS rows.
//
// CPU-shaped, like matvec_f32_rows. On lavapipe each storage-buffer load is a loop over
// the eight invocations of a SIMD batch, with a bounds check per component, and costs
// far more than the arithmetic of decoding, so the kernel is built to load little:
//  - the weights 16 bytes at a time: rows that start 16-byte aligned and hold whole
//    groups of blocks (ALIGNED: QUANT_GROUP, a whole number of uvec4s; real GGUF tensors
//    are so) are loaded as uvec4s, each when the first block that needs it comes up,
//    and decoded from registers; other rows (any even offset) piece by piece through
//    quant_row_piece();
//  - x once per SIMD batch: each of the first eight invocations of a subgroup loads an
//    eighth of a piece of x and subgroupBroadcast() hands it to all (registers only);
//  - each piece of x is used for ROWS rows.
// Q8_0 at 4096×4096 runs ~4× faster so than one row per invocation loading everything.
// Every invocation of a subgroup takes part in the broadcasts: rows past the end repeat
// the last row and are not stored. Needs subgroups of at least 8 with ballot (the
// op checks). On a GPU neighbouring invocations would read addresses a row apart; GPUs
// use matvec_quant.

#define QUANT_WEIGHTS4
#include "common.glsl"

#define WG_SIZE 32
#define ROWS    8
#define LANES   8   // invocations that share the loads of x

layout (local_size_x = WG_SIZE) in;

layout (constant_id = 0) const bool VEC4 = false;
layout (constant_id = 1) const bool ALIGNED = false;

layout (std430, binding = 0) readonly buffer Weights { uint weights[]; };
layout (std430, binding = 0) readonly buffer Weights4 { uvec4 weights4[]; };
#include "quant.glsl"
layout (std430, binding = 1) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout (std430, binding = 2) writeonly buffer Out { float out_[]; };

// Mirrors LoomMatvecPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;
  uint k;
  uint w_base;    // in halves
  uint x_base;
  uint out_base;
} p;

#define GROUP_VALUES (QUANT_GROUP * QUANT_BLOCK)
#define GROUP_VEC4S  (QUANT_GROUP * QUANT_HALVES / 8u)
#define PIECE_VEC4S  (QUANT_PIECE / 4u)
#define ROW_VEC4S    (QUANT_ROW_PIECE / 4u)

// This invocation's share of x from value v0: vec4s LANES·u + lane.
vec4 load_x (uint v0, uint u, uint lane)
{
  uint e = p.x_base + v0 + 4u * (LANES * u + lane);

  if (VEC4)
    return x4[e / 4u];
  return vec4 (x[e], x[e + 1u], x[e + 2u], x[e + 3u]);
}

// vec4 number q of the values whose shares xl[] hold (q a constant once unrolled).
#define X_AT(xl, q) subgroupBroadcast ((xl)[(q) / LANES], (q) % LANES)

#ifndef QUANT_NO_GROUP
// The words of block `block` of a group held in g[] (constant indices once unrolled).
void group_block_words (uvec4 g[GROUP_VEC4S], uint block, out uint b[QUANT_WORDS])
{
  [[unroll]] for (uint t = 0; t < QUANT_WORDS; t++)
    {
      uint h = block * QUANT_HALVES + 2u * t;
      uint lo = g[h / 8u][(h / 2u) % 4u];
      uint next = min (h / 2u + 1u, 4u * GROUP_VEC4S - 1u);
      uint hi = g[next / 4u][next % 4u];
      b[t] = (h & 1u) == 0u ? lo : (lo >> 16) | (hi << 16);
    }
  if (QUANT_HALVES % 2u == 1u)
    b[QUANT_WORDS - 1u] &= 0xffffu;
}
#endif

void main ()
{
  uint row0 = (loom_group_index () * WG_SIZE + gl_LocalInvocationID.x) * ROWS;
  uint lane = gl_SubgroupInvocationID % LANES;
  uint row_halves = quant_row_halves (p.k);
  vec4 acc[ROWS];

  for (uint r = 0; r < ROWS; r++)
    acc[r] = vec4 (0.0);

#ifndef QUANT_NO_GROUP
  if (ALIGNED)
    {
      for (uint group = 0; group < p.k / GROUP_VALUES; group++)
        {
          uint v0 = group * GROUP_VALUES;
          vec4 xl[GROUP_VALUES / (4u * LANES)];
          vec4 xs[GROUP_VALUES / 4u];

          [[unroll]] for (uint u = 0; u < GROUP_VALUES / (4u * LANES); u++)
            xl[u] = load_x (v0, u, lane);
          [[unroll]] for (uint q = 0; q < GROUP_VALUES / 4u; q++)
            xs[q] = X_AT (xl, q);

          // The rows one after the other, each piece of x held for all of them.
          for (uint r = 0; r < ROWS; r++)
            {
              uint row = (p.w_base + min (row0 + r, p.n - 1u) * row_halves) / 8u
                         + group * GROUP_VEC4S;
              uvec4 g[GROUP_VEC4S];
              vec4 part = vec4 (0.0);

              [[unroll]] for (uint block = 0; block < QUANT_GROUP; block++)
                {
                  // The uvec4s this block ends in, from the first one not loaded yet.
                  uint first = block == 0u ? 0u : (block * QUANT_HALVES - 1u) / 8u + 1u;
                  uint last = ((block + 1u) * QUANT_HALVES - 1u) / 8u;
                  uint b[QUANT_WORDS];

                  [[unroll]] for (uint i = 0; i < GROUP_VEC4S; i++)
                    if (i >= first && i <= last)
                      g[i] = weights4[row + i];
                  group_block_words (g, block, b);
                  [[unroll]] for (uint c = 0; c < QUANT_BLOCK / QUANT_PIECE; c++)
                    {
                      uint q0 = (block * QUANT_BLOCK + c * QUANT_PIECE) / 4u;
                      vec4 v[PIECE_VEC4S];

                      quant_block_piece (b, c, v);
                      [[unroll]] for (uint t = 0; t < PIECE_VEC4S; t++)
                        part = fma (v[t], xs[q0 + t], part);
                    }
                }
              acc[r] += part;
            }
        }
    }
  else
#else
  if (ALIGNED)
    {
      // Q6_K has no groups to load whole (the op never sets ALIGNED for it).
    }
  else
#endif
    {
      for (uint c = 0; c < p.k / QUANT_ROW_PIECE; c++)
        {
          vec4 xl[ROW_VEC4S / LANES];
          vec4 xs[ROW_VEC4S];

          [[unroll]] for (uint u = 0; u < ROW_VEC4S / LANES; u++)
            xl[u] = load_x (c * QUANT_ROW_PIECE, u, lane);
          [[unroll]] for (uint t = 0; t < ROW_VEC4S; t++)
            xs[t] = X_AT (xl, t);
          for (uint r = 0; r < ROWS; r++)
            {
              vec4 v[ROW_VEC4S];
              vec4 part = vec4 (0.0);

              quant_row_piece (p.w_base + min (row0 + r, p.n - 1u) * row_halves, c, v);
              [[unroll]] for (uint t = 0; t < ROW_VEC4S; t++)
                part = fma (v[t], xs[t], part);
              acc[r] += part;
            }
        }
    }

  for (uint r = 0; r < ROWS; r++)
    {
      float sum = (acc[r].x + acc[r].y) + (acc[r].z + acc[r].w);
#ifdef QUANT_PLAIN
      // F16 and BF16 rows of k not a multiple of 32 end value by value.
      for (uint i = p.k / QUANT_ROW_PIECE * QUANT_ROW_PIECE; i < p.k; i++)
        sum += quant_value (p.w_base + min (row0 + r, p.n - 1u) * row_halves + i)
               * x[p.x_base + i];
#endif
      if (row0 + r < p.n)
        out_[p.out_base + row0 + r] = sum;
    }
}
