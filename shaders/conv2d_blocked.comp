#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
// conv2d_blocked.comp — the convolution of conv2d.comp (same bindings, push constants and
// results), register-blocked without shared memory, for Vulkan on the CPU (lavapipe).
//
// A workgroup of 8 invocations (one subgroup) computes 64 output channels × TP pixels of
// one output row; each invocation TC channels × the TP pixels. Along j = (ci, ky, kx), in
// steps of 8, each invocation loads 8 values of each of its TC rows of W (as one uvec4
// of halves where rows are 16-byte aligned: ALIGNED); then for each j the 8 invocations
// load the TP values of x that the workgroup's pixels see through tap (ky, kx), two each,
// and subgroupBroadcast() hands every one to all.
//
// On lavapipe (Mesa 22.3) a subgroup is one SIMD vector and what costs is the number of
// load instructions, whatever their addresses (loads every invocation makes from the
// same address cost as much as gathers), and the loads on both sides of a branch: so
// the kernel has one uvec4 (or five words) per 8 values of a row of W, two loads of x
// per j for TC·TP multiply-adds per invocation, and no branch around a load. Each halved
// the time (bench-ops, 320 → 320 channels at 64×64). Taps in the padding read a clamped
// address and keep zero. Channels past c_out repeat the last one and are not stored.
// Needs subgroups of at least 8 invocations (the C side checks); GPUs use the
// shared-memory tiles of conv2d.comp.

#include "common.glsl"

#define TC 8    // output channels per invocation
#define TP 16   // output pixels per workgroup, along a row: two per invocation
#define WG 8    // invocations per workgroup: 64 channels

#define FLAG_BIAS       1u
#define FLAG_ACCUMULATE 2u

layout (local_size_x = WG) in;

layout (constant_id = 0) const uint KERNEL = 3;
layout (constant_id = 1) const bool ALIGNED = false;  // every row of W on 16 bytes

layout (std430, binding = 0) readonly buffer X { float x[]; };
#if defined(TYPE_F32)
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 1) readonly buffer W4 { vec4 w4[]; };
#define LOAD_W(i) w[i]
#elif defined(TYPE_F16)
layout (std430, binding = 1) readonly buffer Weights { uint weights[]; };
layout (std430, binding = 1) readonly buffer Weights4 { uvec4 weights4[]; };
#include "quant.glsl"
#define LOAD_W(i) quant_f16 (i)
#else
#error "Define the weight type: TYPE_F32 or TYPE_F16"
#endif
layout (std430, binding = 2) readonly buffer Bias { float bias[]; };
layout (std430, binding = 3) buffer Out { float out_[]; };

// Mirrors LoomConv2dPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint c_in;
  uint h;
  uint w;
  uint c_out;
  uint h_out;
  uint w_out;
  uint stride;
  uint pad;
  uint w_ld;
  uint x_base;
  uint w_base;    // in floats (TYPE_F32) or halves (TYPE_F16)
  uint b_base;
  uint out_base;
  uint flags;
} p;

// Values h .. h+7 of a row of W.
void load_w8 (uint h, out float v[8])
{
#if defined(TYPE_F16)
  uvec4 q;
  if (ALIGNED)
    {
      q = weights4[h / 8];
    }
  else
    {
      uint words[4];
      quant_words4 (h, words);
      q = uvec4 (words[0], words[1], words[2], words[3]);
    }
  [[unroll]] for (uint t = 0; t < 4; t++)
    {
      vec2 pair = unpackHalf2x16 (q[t]);
      v[2 * t] = pair.x;
      v[2 * t + 1] = pair.y;
    }
#else
  if (ALIGNED)
    {
      vec4 lo = w4[h / 4], hi = w4[h / 4 + 1];
      [[unroll]] for (uint t = 0; t < 4; t++)
        {
          v[t] = lo[t];
          v[4 + t] = hi[t];
        }
    }
  else
    {
      [[unroll]] for (uint t = 0; t < 8; t++)
        v[t] = w[h + t];
    }
#endif
}

// Adds tap j (ci, ky, kx) of the workgroup's TP pixels, which see columns ix_a and ix_b
// of x through kx = 0 (two per invocation), times the invocation's values wv of W.
void add_tap (uint j, int iy0, int ix_a, int ix_b, float wv[TC], inout float acc[TC][TP])
{
  const uint KK = KERNEL * KERNEL;
  uint ci = j / KK;
  uint r = j - ci * KK;
  uint ky = r / KERNEL;
  uint kx = r - ky * KERNEL;
  int iy = iy0 + int (ky);
  uint row = p.x_base + ci * p.h * p.w + uint (clamp (iy, 0, int (p.h) - 1)) * p.w;
  int col_a = ix_a + int (kx), col_b = ix_b + int (kx);
  float x_a = x[row + uint (clamp (col_a, 0, int (p.w) - 1))];
  float x_b = x[row + uint (clamp (col_b, 0, int (p.w) - 1))];

  x_a = uint (iy) < p.h && uint (col_a) < p.w ? x_a : 0.0;
  x_b = uint (iy) < p.h && uint (col_b) < p.w ? x_b : 0.0;
  [[unroll]] for (uint i = 0; i < 8; i++)
    {
      float xv = subgroupBroadcast (x_a, i);
      [[unroll]] for (uint c = 0; c < TC; c++)
        acc[c][i] += wv[c] * xv;
    }
  [[unroll]] for (uint i = 0; i < 8; i++)
    {
      float xv = subgroupBroadcast (x_b, i);
      [[unroll]] for (uint c = 0; c < TC; c++)
        acc[c][8 + i] += wv[c] * xv;
    }
}

void main ()
{
  uint n_blocks = (p.c_out + WG * TC - 1) / (WG * TC);
  uint segments = (p.w_out + TP - 1) / TP;
  uint g = loom_group_index ();
  uint segment = g / n_blocks;
  uint oy = segment / segments;
  uint ox0 = (segment - oy * segments) * TP;
  uint co0 = (g - segment * n_blocks) * (WG * TC) + gl_LocalInvocationID.x * TC;
  uint lane = gl_SubgroupInvocationID;  // the workgroup is one subgroup: 0 .. 7
  int iy0 = int (oy * p.stride) - int (p.pad);
  int ix_a = int ((ox0 + lane) * p.stride) - int (p.pad);
  int ix_b = ix_a + int (8 * p.stride);
  uint k_total = p.c_in * KERNEL * KERNEL;
  uint k_whole = k_total - k_total % 8;
  uint w_row[TC];
  float acc[TC][TP];

  if (oy >= p.h_out)
    return;  // the excess of a folded grid

  [[unroll]] for (uint c = 0; c < TC; c++)
    {
      w_row[c] = p.w_base + min (co0 + c, p.c_out - 1) * p.w_ld;
      [[unroll]] for (uint i = 0; i < TP; i++)
        acc[c][i] = 0.0;
    }

  // Whole steps of 8 along j, then the rest one by one.
  for (uint j0 = 0; j0 < k_whole; j0 += 8)
    {
      float wv[TC][8];

      [[unroll]] for (uint c = 0; c < TC; c++)
        load_w8 (w_row[c] + j0, wv[c]);
      [[unroll]] for (uint t = 0; t < 8; t++)
        {
          float wt[TC];
          [[unroll]] for (uint c = 0; c < TC; c++)
            wt[c] = wv[c][t];
          add_tap (j0 + t, iy0, ix_a, ix_b, wt, acc);
        }
    }
  for (uint j = k_whole; j < k_total; j++)
    {
      float wt[TC];
      [[unroll]] for (uint c = 0; c < TC; c++)
        wt[c] = LOAD_W (w_row[c] + j);
      add_tap (j, iy0, ix_a, ix_b, wt, acc);
    }

  [[unroll]] for (uint c = 0; c < TC; c++)
    {
      uint co = co0 + c;
      float b;
      if (co >= p.c_out)
        continue;
      b = (p.flags & FLAG_BIAS) != 0 ? bias[p.b_base + co] : 0.0;
      [[unroll]] for (uint i = 0; i < TP; i++)
        {
          uint o = p.out_base + co * p.h_out * p.w_out + oy * p.w_out + ox0 + i;
          if (ox0 + i >= p.w_out)
            continue;
          if ((p.flags & FLAG_ACCUMULATE) != 0)
            out_[o] += acc[c][i] + b;
          else
            out_[o] = acc[c][i] + b;
        }
    }
}
