#version 450
#extension GL_GOOGLE_include_directive : require
// attn_scores.comp — s[i][h][t] = scale · q[i][h] · k[t][kv(h)], causally masked.
//
// q is [n_q][n_heads][head_dim] f32 for the queries at positions pos0 .. pos0+n_q−1; the
// layer's key cache holds positions 0 .. pos0+n_q−1 as f16 pairs, [n_ctx][n_kv][hd/2]
// (as f32 pairs with KV_F32).
// Query head h reads key head h / (n_heads / n_kv_heads) (grouped-query attention). Keys
// after the query's position score −∞, which the row softmax turns into 0. One invocation
// per score, reading one key row.

#include "common.glsl"

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer Q { vec2 q[]; };
layout (constant_id = 0) const bool KV_F32 = false;

layout (std430, binding = 1) readonly buffer K { uint k[]; };
layout (std430, binding = 1) readonly buffer KF32 { vec2 k_f32[]; };
layout (std430, binding = 2) writeonly buffer S { float s[]; };

// Mirrors LoomAttentionPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  n_q;
  uint  n_heads;
  uint  n_kv_heads;
  uint  head_dim;
  uint  n_keys;   // pos0 + n_q
  uint  pos0;
  uint  q_base;   // in pairs
  uint  kv_base;  // in pairs
  uint  out_base; // in floats
  float scale;
} p;

void main ()
{
  uint index = loom_group_index () * 64 + gl_LocalInvocationID.x;
  uint t, h, i, pairs, q_row, k_row;
  float acc = 0.0;

  if (index >= p.n_q * p.n_heads * p.n_keys)
    return;
  t = index % p.n_keys;
  h = (index / p.n_keys) % p.n_heads;
  i = index / (p.n_keys * p.n_heads);

  if (t > p.pos0 + i)
    {
      s[p.out_base + index] = uintBitsToFloat (0xff800000u);  // −∞
      return;
    }

  pairs = p.head_dim / 2;
  q_row = p.q_base + (i * p.n_heads + h) * pairs;
  k_row = p.kv_base + (t * p.n_kv_heads + h / (p.n_heads / p.n_kv_heads)) * pairs;
  for (uint d = 0; d < pairs; d++)
    acc += dot (q[q_row + d], KV_F32 ? k_f32[k_row + d] : unpackHalf2x16 (k[k_row + d]));
  s[p.out_base + index] = acc * p.scale;
}
