#version 450
#extension GL_GOOGLE_include_directive : require
// geglu.comp — GEGLU: x [rows][2·cols] holds the halves (a, gate) of each row;
// out[r][c] = a[r][c] · gelu_erf(gate[r][c]). One invocation per output value.

#include "common.glsl"
#include "erf.glsl"

#define WG_SIZE 64

layout (local_size_x = WG_SIZE) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };

// Mirrors LoomGegluPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint rows;
  uint cols;
  uint x_base;
  uint out_base;
} p;

void main ()
{
  uint i = loom_group_index () * WG_SIZE + gl_LocalInvocationID.x;
  uint r, c, x_row;

  if (i >= p.rows * p.cols)
    return;
  r = i / p.cols;
  c = i % p.cols;
  x_row = p.x_base + r * 2 * p.cols;
  out_[p.out_base + i] = x[x_row + c] * loom_gelu_erf (vec4 (x[x_row + p.cols + c])).x;
}
