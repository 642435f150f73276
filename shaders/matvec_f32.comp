#version 450
#extension GL_GOOGLE_include_directive : require
// matvec_f32.comp — out[n] = Σ_k W[n][k] · x[k], for one row of activations (decoding).
//
// W is N×K row-major (the GGUF layout: K is the fast axis). One workgroup per output
// row: its invocations stride along K, so neighbours read neighbouring weights (one
// coalesced sweep of the row), then the workgroup reduces. With VEC4 (K and both bases
// multiples of four) the sweep moves vec4s, which doubles throughput on lavapipe.

#define LOOM_WG_SIZE 128
#include "common.glsl"
#include "reduce.glsl"

layout (local_size_x = LOOM_WG_SIZE) in;

layout (constant_id = 0) const bool VEC4 = false;

layout (std430, binding = 0) readonly buffer W { float w[]; };
layout (std430, binding = 0) readonly buffer W4 { vec4 w4[]; };
layout (std430, binding = 1) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout (std430, binding = 2) writeonly buffer Out { float out_[]; };

// Mirrors LoomMatvecPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;         // rows of W in this window
  uint k;
  uint w_base;
  uint x_base;
  uint out_base;
} p;

void main ()
{
  uint row = loom_group_index ();
  uint w_row;
  float acc = 0.0;

  if (row >= p.n)
    return;
  w_row = p.w_base + row * p.k;

  if (VEC4)
    {
      for (uint c = gl_LocalInvocationID.x; c < p.k / 4; c += LOOM_WG_SIZE)
        acc += dot (w4[w_row / 4 + c], x4[p.x_base / 4 + c]);
    }
  else
    {
      for (uint c = gl_LocalInvocationID.x; c < p.k; c += LOOM_WG_SIZE)
        acc += w[w_row + c] * x[p.x_base + c];
    }
  acc = loom_workgroup_sum (acc);

  if (gl_LocalInvocationID.x == 0)
    out_[p.out_base + row] = acc;
}
