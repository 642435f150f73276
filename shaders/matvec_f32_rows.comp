#version 450
#extension GL_GOOGLE_include_directive : require
// matvec_f32_rows.comp — out[n] = Σ_k W[n][k] · x[k], one invocation per output row.
//
// For Vulkan on the CPU (lavapipe): there a workgroup runs as fibres on one core, and
// every barrier of a workgroup reduction is a round of fibre switches, so a row per
// invocation with no shared memory and no barriers is 2.4× faster than matvec_f32
// (bench-ops, 4096×4096). On a GPU neighbouring invocations would read addresses K
// floats apart, uncoalesced; GPUs use matvec_f32.

#include "common.glsl"

#define WG_SIZE 64

layout (local_size_x = WG_SIZE) in;

layout (constant_id = 0) const bool VEC4 = false;

layout (std430, binding = 0) readonly buffer W { float w[]; };
layout (std430, binding = 0) readonly buffer W4 { vec4 w4[]; };
layout (std430, binding = 1) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout (std430, binding = 2) writeonly buffer Out { float out_[]; };

// Mirrors LoomMatvecPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;
  uint k;
  uint w_base;
  uint x_base;
  uint out_base;
} p;

void main ()
{
  uint row = loom_group_index () * WG_SIZE + gl_LocalInvocationID.x;
  uint w_row;
  float sum;

  if (row >= p.n)
    return;
  w_row = p.w_base + row * p.k;

  if (VEC4)
    {
      vec4 acc = vec4 (0.0);
      for (uint c = 0; c < p.k / 4; c++)
        acc += w4[w_row / 4 + c] * x4[p.x_base / 4 + c];
      sum = (acc.x + acc.y) + (acc.z + acc.w);
    }
  else
    {
      sum = 0.0;
      for (uint c = 0; c < p.k; c++)
        sum += w[w_row + c] * x[p.x_base + c];
    }
  out_[p.out_base + row] = sum;
}
