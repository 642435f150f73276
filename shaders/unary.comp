#version 450
#extension GL_GOOGLE_include_directive : require
// unary.comp — out[i] = f(x[i]) over n floats: scale, SiLU, GELU (tanh or erf form),
// quick GELU.
//
// Four elements per invocation, as vec4s when the windows allow (see binary.comp).

#include "common.glsl"
#include "erf.glsl"

#define OP_SCALE      0
#define OP_SILU       1
#define OP_GELU_TANH  2
#define OP_GELU_ERF   3
#define OP_QUICK_GELU 4
#define WG_SIZE 64

layout (local_size_x = WG_SIZE) in;

layout (constant_id = 0) const uint OP = OP_SCALE;
layout (constant_id = 1) const bool VEC4 = false;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };
layout (std430, binding = 1) writeonly buffer Out4 { vec4 out4[]; };

// Mirrors LoomUnaryPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  n;
  uint  x_base;
  uint  out_base;
  float scale;    // OP_SCALE only
} p;

vec4 apply (vec4 v)
{
  if (OP == OP_SCALE)
    return v * p.scale;
  if (OP == OP_SILU)
    return v / (1.0 + exp (-v));
  if (OP == OP_GELU_TANH)
    {
      // tanh saturates long before |u| = 10; clamping keeps exp() inside tanh finite.
      vec4 u = clamp (0.7978845608 * (v + 0.044715 * v * v * v), -10.0, 10.0);
      return 0.5 * v * (1.0 + tanh (u));
    }
  if (OP == OP_QUICK_GELU)
    return v / (1.0 + exp (-1.702 * v));
  return loom_gelu_erf (v);
}

void main ()
{
  uint i = (loom_group_index () * WG_SIZE + gl_LocalInvocationID.x) * 4;

  if (i >= p.n)
    return;

  if (VEC4 && i + 4 <= p.n)
    out4[(p.out_base + i) / 4] = apply (x4[(p.x_base + i) / 4]);
  else
    for (uint j = i; j < min (i + 4, p.n); j++)
      out_[p.out_base + j] = apply (vec4 (x[p.x_base + j])).x;
}
