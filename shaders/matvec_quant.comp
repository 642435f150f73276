#version 450
#extension GL_GOOGLE_include_directive : require
// matvec_quant.comp — out[n] = Σ_k W[n][k] · x[k] for one row of activations (decoding),
// with W in its stored type (quant.glsl): N rows of K values, each row whole blocks.
//
// GPU-shaped, like matvec_f32: one workgroup per output row. Invocation t decodes the
// chunks of 8 values t, t + 128, … of the row, so that neighbouring invocations read
// neighbouring words of the row (and the same block header, which the caches serve
// once); then the workgroup reduces. F16 and BF16 rows may end with a partial chunk.

#define LOOM_WG_SIZE 128
#include "common.glsl"
#include "reduce.glsl"

layout (local_size_x = LOOM_WG_SIZE) in;

layout (constant_id = 0) const bool VEC4 = false;

layout (std430, binding = 0) readonly buffer Weights { uint weights[]; };
#include "quant.glsl"
layout (std430, binding = 1) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout (std430, binding = 2) writeonly buffer Out { float out_[]; };

// Mirrors LoomMatvecPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n;         // rows of W in this window
  uint k;
  uint w_base;    // in halves
  uint x_base;
  uint out_base;
} p;

void main ()
{
  uint row = loom_group_index ();
  uint w_row;
  float acc = 0.0;

  if (row >= p.n)
    return;
  w_row = p.w_base + row * quant_row_halves (p.k);

  for (uint c = gl_LocalInvocationID.x; c < p.k / 8u; c += LOOM_WG_SIZE)
    {
      vec4 lo, hi, x_lo, x_hi;

      quant_row_decode8 (w_row, c, lo, hi);
      if (VEC4)
        {
          x_lo = x4[p.x_base / 4u + 2u * c];
          x_hi = x4[p.x_base / 4u + 2u * c + 1u];
        }
      else
        {
          uint e = p.x_base + 8u * c;
          x_lo = vec4 (x[e], x[e + 1u], x[e + 2u], x[e + 3u]);
          x_hi = vec4 (x[e + 4u], x[e + 5u], x[e + 6u], x[e + 7u]);
        }
      acc += dot (lo, x_lo) + dot (hi, x_hi);
    }
#ifdef QUANT_PLAIN
  for (uint i = p.k / 8u * 8u + gl_LocalInvocationID.x; i < p.k; i += LOOM_WG_SIZE)
    acc += quant_value (w_row + i) * x[p.x_base + i];
#endif
  acc = loom_workgroup_sum (acc);

  if (gl_LocalInvocationID.x == 0)
    out_[p.out_base + row] = acc;
}
