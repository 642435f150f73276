#version 450
#extension GL_GOOGLE_include_directive : require
// softmax.comp — out = softmax(x) along each row of a rows×cols matrix; one workgroup
// per row. Subtracting the row maximum keeps exp() in range.

#define LOOM_WG_SIZE 128
#include "common.glsl"
#include "reduce.glsl"

layout (local_size_x = LOOM_WG_SIZE) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };

// Mirrors LoomRowsPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  rows;
  uint  cols;
  uint  x_base;
  uint  w_base;   // unused here; the struct is shared with rms_norm
  uint  out_base;
  float eps;      // unused here
} p;

void main ()
{
  uint row = loom_group_index ();
  uint tid = gl_LocalInvocationID.x;
  uint x_row, out_row;
  float row_max = -3.402823466e38;
  float sum = 0.0;
  float inv;

  // Whole workgroups leave together, so the reductions below stay uniform.
  if (row >= p.rows)
    return;
  x_row = p.x_base + row * p.cols;
  out_row = p.out_base + row * p.cols;

  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    row_max = max (row_max, x[x_row + c]);
  row_max = loom_workgroup_max (row_max);

  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    sum += exp (x[x_row + c] - row_max);
  sum = loom_workgroup_sum (sum);

  inv = 1.0 / sum;
  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    out_[out_row + c] = exp (x[x_row + c] - row_max) * inv;
}
