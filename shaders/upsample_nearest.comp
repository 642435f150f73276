#version 450
#extension GL_GOOGLE_include_directive : require
// upsample_nearest.comp — nearest-neighbour ×2 upsampling of rows of w values:
// out[2r + dy][2c + dx] = x[r][c]. A feature map [C][h][w] is C·h such rows (and its
// upsampled map C·2h rows of 2w), so the C side may split it at any row. One invocation
// per output value, so that writes are contiguous.

#include "common.glsl"

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };

// Mirrors LoomUpsamplePush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint rows;      // input rows of this dispatch
  uint w;
  uint x_base;
  uint out_base;
} p;

void main ()
{
  uint i = loom_group_index () * 256 + gl_LocalInvocationID.x;
  uint w2 = 2 * p.w;
  uint o, c;

  if (i >= p.rows * 2 * w2)
    return;
  o = i / w2;
  c = i - o * w2;
  out_[p.out_base + i] = x[p.x_base + (o / 2) * p.w + c / 2];
}
