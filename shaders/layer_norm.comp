#version 450
#extension GL_GOOGLE_include_directive : require
// layer_norm.comp — out = (x − μ)·rsqrt(σ² + eps)·w + b along each row; one workgroup
// per row. w and b have cols elements and are shared by every row. The variance sums
// squared deviations from the mean (a second pass), which stays accurate where
// E[x²] − E[x]² would cancel; a third pass writes the row, so out may be x.

#define LOOM_WG_SIZE 128
#include "common.glsl"
#include "reduce.glsl"

layout (local_size_x = LOOM_WG_SIZE) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 2) readonly buffer B { float b[]; };
layout (std430, binding = 3) writeonly buffer Out { float out_[]; };

// Mirrors LoomLayerNormPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  rows;
  uint  cols;
  uint  x_base;
  uint  w_base;
  uint  b_base;
  uint  out_base;
  float eps;
} p;

void main ()
{
  uint row = loom_group_index ();
  uint tid = gl_LocalInvocationID.x;
  uint x_row, out_row;
  float sum = 0.0;
  float mean, rstd;

  if (row >= p.rows)
    return;
  x_row = p.x_base + row * p.cols;
  out_row = p.out_base + row * p.cols;

  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    sum += x[x_row + c];
  mean = loom_workgroup_sum (sum) / float (p.cols);

  sum = 0.0;
  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    {
      float d = x[x_row + c] - mean;
      sum += d * d;
    }
  rstd = inversesqrt (loom_workgroup_sum (sum) / float (p.cols) + p.eps);

  for (uint c = tid; c < p.cols; c += LOOM_WG_SIZE)
    out_[out_row + c] = (x[x_row + c] - mean) * (rstd * w[p.w_base + c]) + b[p.b_base + c];
}
