#version 450
#extension GL_GOOGLE_include_directive : require
// bias.comp — x[r][c] += b[c] for every row, in place (Qwen2's attention biases).

#include "common.glsl"

layout (local_size_x = 64) in;

layout (std430, binding = 0) buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer B { float b[]; };

// Mirrors LoomBiasPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint rows;
  uint cols;
  uint x_base;
  uint b_base;
} p;

void main ()
{
  uint i = loom_group_index () * 64 + gl_LocalInvocationID.x;

  if (i >= p.rows * p.cols)
    return;
  x[p.x_base + i] += b[p.b_base + i % p.cols];
}
