#version 450
#extension GL_GOOGLE_include_directive : require
// get_rows.comp — one row of a table (an embedding) as f32: out[j] = table[row][j].
//
// The row is the window the op binds (it may sit anywhere in a table larger than one
// binding), so the row index needs no shader support. Compiled once per stored type
// (TYPE_F32, or one of the types of quant.glsl). f32 rows are copied one value per
// invocation; other types are decoded 8 values per invocation with quant_decode8(), so
// that neighbouring invocations read neighbouring words. F16 and BF16 rows may have any
// length and start at any half: their last partial chunk is read value by value.

#include "common.glsl"

layout (local_size_x = 64) in;

#if defined(TYPE_F32)
layout (std430, binding = 0) readonly buffer Table { float table[]; };
#else
layout (std430, binding = 0) readonly buffer Weights { uint weights[]; };
#include "quant.glsl"
#endif
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };

// Mirrors LoomGetRowsPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;         // values in the row
  uint src_base;  // first value of the row in the window: in floats, or in halves
  uint out_base;
} p;

void main ()
{
  uint i = loom_group_index () * 64 + gl_LocalInvocationID.x;

#if defined(TYPE_F32)
  if (i < p.n)
    out_[p.out_base + i] = table[p.src_base + i];
#else
  uint first = 8u * i;
  vec4 lo, hi;

  if (first >= p.n)
    return;
  if (first + 8u <= p.n)
    {
      quant_row_decode8 (p.src_base, i, lo, hi);
      for (uint j = 0; j < 4; j++)
        {
          out_[p.out_base + first + j] = lo[j];
          out_[p.out_base + first + 4 + j] = hi[j];
        }
    }
#ifdef QUANT_PLAIN
  else
    {
      for (uint j = first; j < p.n; j++)
        out_[p.out_base + j] = quant_value (p.src_base + j);
    }
#endif
#endif
}
