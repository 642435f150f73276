#version 450
#extension GL_GOOGLE_include_directive : require
// binary.comp — out[i] = a[i] (op) b[i] over n floats: add, multiply, or SwiGLU's
// silu(a)·b (a the gate, b the up projection).
//
// Each invocation handles four consecutive elements. When every window base is a
// multiple of four (VEC4), they move as one vec4 load and store: on lavapipe that is
// 1.8× faster than four scalar accesses, and GPUs prefer wide accesses too. The last,
// partial group of four always takes the scalar path.

#include "common.glsl"

#define OP_ADD    0
#define OP_MUL    1
#define OP_SWIGLU 2
#define WG_SIZE 64  // 256 elements per workgroup

layout (local_size_x = WG_SIZE) in;

layout (constant_id = 0) const uint OP = OP_ADD;
layout (constant_id = 1) const bool VEC4 = false;

// Each binding is declared twice, as floats and as vec4s, aliasing the same memory.
layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout (std430, binding = 1) readonly buffer B { float b[]; };
layout (std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout (std430, binding = 2) writeonly buffer Out { float out_[]; };
layout (std430, binding = 2) writeonly buffer Out4 { vec4 out4[]; };

// Mirrors LoomBinaryPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;
  uint a_base;   // element offsets of each binding's window
  uint b_base;
  uint out_base;
} p;

vec4 apply (vec4 x, vec4 y)
{
  if (OP == OP_ADD)
    return x + y;
  if (OP == OP_MUL)
    return x * y;
  return x / (1.0 + exp (-x)) * y;
}

void main ()
{
  uint i = (loom_group_index () * WG_SIZE + gl_LocalInvocationID.x) * 4;

  if (i >= p.n)
    return;

  if (VEC4 && i + 4 <= p.n)
    out4[(p.out_base + i) / 4] = apply (a4[(p.a_base + i) / 4], b4[(p.b_base + i) / 4]);
  else
    for (uint j = i; j < min (i + 4, p.n); j++)
      out_[p.out_base + j] = apply (vec4 (a[p.a_base + j]), vec4 (b[p.b_base + j])).x;
}
