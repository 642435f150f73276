#version 450
#extension GL_GOOGLE_include_directive : require
// get_rows.comp — one row of a table (an embedding) as f32: out[j] = table[row][j].
//
// The row is the window the op binds (it may sit anywhere in a table larger than one
// binding), so the row index needs no shader support; TYPE says how it is stored.
// One invocation per element.

#include "common.glsl"

#define TYPE_F32 0
#define TYPE_F16 1

layout (local_size_x = 64) in;

layout (constant_id = 0) const uint TYPE = TYPE_F32;

layout (std430, binding = 0) readonly buffer Table { float table[]; };
layout (std430, binding = 0) readonly buffer TableU { uint table_u[]; };
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };

// Mirrors LoomGetRowsPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;         // elements in the row
  uint src_base;  // first element of the row in the window, in elements of TYPE
  uint out_base;
} p;

void main ()
{
  uint j = loom_group_index () * 64 + gl_LocalInvocationID.x;
  uint e;

  if (j >= p.n)
    return;
  e = p.src_base + j;
  if (TYPE == TYPE_F32)
    out_[p.out_base + j] = table[e];
  else
    out_[p.out_base + j] = unpackHalf2x16 (table_u[e / 2])[e % 2];
}
