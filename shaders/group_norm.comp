#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// group_norm.comp — group normalisation of a feature map x [channels][hw], one workgroup
// per group of channels (a contiguous span of group_size = channels/groups · hw floats):
// out = (x − μ)·rsqrt(σ² + eps)·γ[c] + β[c], then SiLU when SILU.
//
// The mean and the variance take two passes over the group (the variance sums squared
// deviations from the mean, which stays accurate where E[x²] − E[x]² would cancel), and
// a third pass writes the output, so out may be x. Each invocation reads four
// consecutive floats at a time, as a vec4 when the windows and planes are aligned (VEC4).
// The loops over those four are unrolled, so that an invocation's loops iterate
// 3·group_size/1024 times in all: llvmpipe (lavapipe) stops them at 65535.

#define LOOM_WG_SIZE 256
#include "common.glsl"
#include "reduce.glsl"

layout (local_size_x = LOOM_WG_SIZE) in;

layout (constant_id = 0) const bool SILU = false;
layout (constant_id = 1) const bool VEC4 = false;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 2) readonly buffer B { float b[]; };
layout (std430, binding = 3) writeonly buffer Out { float out_[]; };
layout (std430, binding = 3) writeonly buffer Out4 { vec4 out4[]; };

// Mirrors LoomGroupNormPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  groups;      // in this dispatch
  uint  group_size;  // floats
  uint  hw;          // floats per channel
  uint  x_base;
  uint  w_base;      // γ and β of the dispatch's first channel
  uint  b_base;
  uint  out_base;
  float eps;
} p;

// Four values from element i of x on (zeros past n).
vec4 load4 (uint i, uint n)
{
  vec4 v = vec4 (0.0);

  if (VEC4)
    return x4[(p.x_base + i) / 4];
  [[unroll]] for (uint j = 0; j < 4; j++)
    if (i + j < n)
      v[j] = x[p.x_base + i + j];
  return v;
}

void main ()
{
  uint group = loom_group_index ();
  uint tid = gl_LocalInvocationID.x;
  uint n = p.group_size;
  uint start, first_channel;
  vec4 acc = vec4 (0.0);
  float mean, rstd;

  // Whole workgroups leave together, before any barrier.
  if (group >= p.groups)
    return;
  start = group * n;
  first_channel = start / p.hw;

  for (uint i = tid * 4; i < n; i += LOOM_WG_SIZE * 4)
    acc += load4 (start + i, start + n);
  mean = loom_workgroup_sum ((acc.x + acc.y) + (acc.z + acc.w)) / float (n);

  acc = vec4 (0.0);
  for (uint i = tid * 4; i < n; i += LOOM_WG_SIZE * 4)
    {
      vec4 d = load4 (start + i, start + n) - mean;
      // Past the end, load4 gives zeros, whose deviations must not count.
      if (!VEC4)
        [[unroll]] for (uint j = 0; j < 4; j++)
          if (i + j >= n)
            d[j] = 0.0;
      acc += d * d;
    }
  rstd = inversesqrt (loom_workgroup_sum ((acc.x + acc.y) + (acc.z + acc.w)) / float (n) + p.eps);

  for (uint i = tid * 4; i < n; i += LOOM_WG_SIZE * 4)
    {
      vec4 v = load4 (start + i, start + n);
      vec4 y = vec4 (0.0);

      [[unroll]] for (uint j = 0; j < 4; j++)
        if (VEC4 || i + j < n)
          {
            // With VEC4, hw is a multiple of 4, so the four share a channel.
            uint c = first_channel + (i + j) / p.hw;
            y[j] = (v[j] - mean) * (rstd * w[p.w_base + c]) + b[p.b_base + c];
          }
      if (SILU)
        y = y / (1.0 + exp (-y));
      if (VEC4)
        out4[(p.out_base + start + i) / 4] = y;
      else
        [[unroll]] for (uint j = 0; j < 4; j++)
          if (i + j < n)
            out_[p.out_base + start + i + j] = y[j];
    }
}
