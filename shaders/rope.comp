#version 450
#extension GL_GOOGLE_include_directive : require
// rope.comp — rotary position embedding, in place, on x[token][head][head_dim].
//
// Token t sits at position pos0 + t. Pair i of the first rope_dim dimensions of each head
// is rotated by θ = pos · freq_scale · base^(−2i/rope_dim) / factor[i]. The pairs are
// adjacent, (2i, 2i+1), as in Llama GGUF files (the converter permutes Q and K for it),
// or, with NEOX, (i, i + rope_dim/2), as in Qwen2. factor[] is Llama 3's per-frequency
// scaling (rope_freqs.weight); without it, bind any buffer and set HAS_FACTORS false.
// One invocation per pair.

#include "common.glsl"

layout (local_size_x = 64) in;

layout (constant_id = 0) const bool NEOX = false;
layout (constant_id = 1) const bool HAS_FACTORS = false;

layout (std430, binding = 0) buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer Factors { float factors[]; };

// Mirrors LoomRopePush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  n_tokens;
  uint  n_heads;
  uint  head_dim;
  uint  rope_dim;    // rotated dimensions per head, even, ≤ head_dim
  uint  pos0;
  uint  x_base;
  uint  factors_base;
  float freq_base;
  float freq_scale;  // 1/factor for linear scaling, else 1
} p;

void main ()
{
  uint half_dim = p.rope_dim / 2;
  uint index = loom_group_index () * 64 + gl_LocalInvocationID.x;
  uint pair, head, token, i0, i1;
  float theta, c, s, a, b;

  if (index >= p.n_tokens * p.n_heads * half_dim)
    return;
  pair = index % half_dim;
  head = (index / half_dim) % p.n_heads;
  token = index / (half_dim * p.n_heads);

  // In float, as ggml does: for the positions of a context (up to tens of thousands)
  // the angle keeps about 4 significant digits, which rounding of q·k then hides.
  theta = float (p.pos0 + token) * p.freq_scale
          * pow (p.freq_base, -2.0 * float (pair) / float (p.rope_dim));
  if (HAS_FACTORS)
    theta /= factors[p.factors_base + pair];
  c = cos (theta);
  s = sin (theta);

  i0 = p.x_base + (token * p.n_heads + head) * p.head_dim + (NEOX ? pair : 2 * pair);
  i1 = i0 + (NEOX ? half_dim : 1);
  a = x[i0];
  b = x[i1];
  x[i0] = a * c - b * s;
  x[i1] = a * s + b * c;
}
