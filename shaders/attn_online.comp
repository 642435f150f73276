#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// attn_online.comp — o[i][h] = softmax_t (scale · q[i][h] · k[t][kv(h)]) · v[t][kv(h)],
// causally masked, in one pass over the cache with an online softmax (a running maximum
// and sum; the accumulated output is rescaled when the maximum grows), so no score
// matrix is written and memory is linear in the context.
//
// CPU-shaped: one invocation per (head, query), holding its query and its output in
// registers (HEAD_PAIRS, a specialization constant, sizes them). Neighbouring
// invocations are neighbouring queries of the same head, so a SIMD batch reads the same
// key and value rows. Layouts as attn_scores.comp: q and o [n_q][n_heads][head_dim] f32,
// the caches [n_ctx][n_kv][head_dim] as f16 pairs (f32 pairs with KV_F32).
// GPUs use attn_scores, softmax and attn_values, which spread each row over many
// invocations.

#include "common.glsl"

layout (local_size_x = 8) in;

layout (constant_id = 0) const bool KV_F32 = false;
layout (constant_id = 1) const uint HEAD_PAIRS = 32;

layout (std430, binding = 0) readonly buffer Q { vec2 q[]; };
layout (std430, binding = 1) readonly buffer K { uint k[]; };
layout (std430, binding = 1) readonly buffer KF32 { vec2 k_f32[]; };
layout (std430, binding = 2) readonly buffer V { uint v[]; };
layout (std430, binding = 2) readonly buffer VF32 { vec2 v_f32[]; };
layout (std430, binding = 3) writeonly buffer O { vec2 o[]; };

// Mirrors LoomAttentionOnlinePush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  n_q;
  uint  n_heads;
  uint  n_kv_heads;
  uint  pos0;
  uint  q_base;   // in pairs
  uint  k_base;   // in pairs
  uint  v_base;   // in pairs
  uint  out_base; // in pairs
  float scale;
} p;

vec2 load_pair (uint e, bool key)
{
  if (KV_F32)
    return key ? k_f32[e] : v_f32[e];
  return unpackHalf2x16 (key ? k[e] : v[e]);
}

void main ()
{
  uint index = loom_group_index () * 8 + gl_LocalInvocationID.x;
  uint i, h, q_row, kv_head;
  vec2 qv[HEAD_PAIRS], acc[HEAD_PAIRS];
  float m = uintBitsToFloat (0xff800000u);  // −∞
  float l = 0.0;

  if (index >= p.n_q * p.n_heads)
    return;
  i = index % p.n_q;
  h = index / p.n_q;
  kv_head = h / (p.n_heads / p.n_kv_heads);

  q_row = p.q_base + (i * p.n_heads + h) * HEAD_PAIRS;
  [[unroll]] for (uint d = 0; d < HEAD_PAIRS; d++)
    {
      qv[d] = q[q_row + d] * p.scale;
      acc[d] = vec2 (0.0);
    }

  for (uint t = 0; t <= p.pos0 + i; t++)
    {
      uint row = (t * p.n_kv_heads + kv_head) * HEAD_PAIRS;
      float s = 0.0, m_new, corr, w;

      [[unroll]] for (uint d = 0; d < HEAD_PAIRS; d++)
        s += dot (qv[d], load_pair (p.k_base + row + d, true));
      m_new = max (m, s);
      corr = exp (m - m_new);  // 0 on the first key (m = −∞), 1 while the maximum holds
      w = exp (s - m_new);
      l = l * corr + w;
      [[unroll]] for (uint d = 0; d < HEAD_PAIRS; d++)
        acc[d] = acc[d] * corr + w * load_pair (p.v_base + row + d, false);
      m = m_new;
    }

  // Every query sees at least its own key, so l ≥ 1.
  [[unroll]] for (uint d = 0; d < HEAD_PAIRS; d++)
    o[p.out_base + (i * p.n_heads + h) * HEAD_PAIRS + d] = acc[d] / l;
}
