#version 450
#extension GL_GOOGLE_include_directive : require
// add_channel.comp — x[c][i] += b[c], in place, for a feature map of planes of hw values.
//
// A dispatch covers n consecutive values of x, the first of which is value `start` of
// its plane (whose value of b is b[b_base]), so the C side may split the map anywhere.

#include "common.glsl"

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer B { float b[]; };

// Mirrors LoomAddChannelPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;
  uint hw;
  uint start;
  uint x_base;
  uint b_base;
} p;

void main ()
{
  uint i = loom_group_index () * 256 + gl_LocalInvocationID.x;

  if (i >= p.n)
    return;
  x[p.x_base + i] += b[p.b_base + (p.start + i) / p.hw];
}
