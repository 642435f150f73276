#version 450
#extension GL_GOOGLE_include_directive : require
// rms_norm.comp — out = x / sqrt(mean(x²) + eps) * w along each row; one workgroup per
// row. w has cols elements and is shared by every row.

#define LOOM_WG_SIZE 128
#include "common.glsl"
#include "reduce.glsl"

layout (local_size_x = LOOM_WG_SIZE) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 2) writeonly buffer Out { float out_[]; };

// Mirrors LoomRowsPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  rows;
  uint  cols;
  uint  x_base;
  uint  w_base;
  uint  out_base;
  float eps;
} p;

void main ()
{
  uint row = loom_group_index ();
  uint tid = gl_LocalInvocationID.x;
  uint x_row, out_row;
  float sum = 0.0;
  float scale;

  if (row >= p.rows)
    return;
  x_row = p.x_base + row * p.cols;
  out_row = p.out_base + row * p.cols;

  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    {
      float v = x[x_row + c];
      sum += v * v;
    }
  sum = loom_workgroup_sum (sum);
  scale = inversesqrt (sum / float (p.cols) + p.eps);

  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    out_[out_row + c] = x[x_row + c] * scale * w[p.w_base + c];
}
