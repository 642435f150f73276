#version 450
#extension GL_GOOGLE_include_directive : require
// attn_values.comp — o[i][h] = Σ_t p[i][h][t] · v[t][kv(h)], the attention output.
//
// p is the softmaxed scores [n_q][n_heads][n_keys]; the value cache holds f16 pairs
// [n_ctx][n_kv][hd/2] (f32 pairs with KV_F32). Keys after a query's position have
// weight 0 and are skipped. One invocation per output pair; neighbours read neighbouring
// values of the same row.

#include "common.glsl"

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer P { float prob[]; };
layout (constant_id = 0) const bool KV_F32 = false;

layout (std430, binding = 1) readonly buffer V { uint v[]; };
layout (std430, binding = 1) readonly buffer VF32 { vec2 v_f32[]; };
layout (std430, binding = 2) writeonly buffer O { vec2 o[]; };

// Mirrors LoomAttentionPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  n_q;
  uint  n_heads;
  uint  n_kv_heads;
  uint  head_dim;
  uint  n_keys;
  uint  pos0;
  uint  p_base;   // in floats
  uint  kv_base;  // in pairs
  uint  out_base; // in pairs
  float scale;    // unused here
} p;

void main ()
{
  uint pairs = p.head_dim / 2;
  uint index = loom_group_index () * 64 + gl_LocalInvocationID.x;
  uint d, h, i, p_row, kv_head;
  vec2 acc = vec2 (0.0);

  if (index >= p.n_q * p.n_heads * pairs)
    return;
  d = index % pairs;
  h = (index / pairs) % p.n_heads;
  i = index / (pairs * p.n_heads);

  p_row = p.p_base + (i * p.n_heads + h) * p.n_keys;
  kv_head = h / (p.n_heads / p.n_kv_heads);
  for (uint t = 0; t <= p.pos0 + i; t++)
    {
      uint e = p.kv_base + (t * p.n_kv_heads + kv_head) * pairs + d;
      acc += prob[p_row + t] * (KV_F32 ? v_f32[e] : unpackHalf2x16 (v[e]));
    }
  o[p.out_base + index] = acc;
}
