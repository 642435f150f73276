#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// flash_attn_rows.comp — multi-head attention without a mask, for CPU-shaped devices:
// out[i][h] = softmax_j (scale · q[i][h] · k[j][h]) · v[j][h], with no shared memory and
// no barriers. Each invocation holds QPI queries and their output rows in registers
// (D and QPI, specialization constants, size them; the C side keeps QPI·D ≤ 512), so
// every row of k and v it reads serves QPI queries: on lavapipe, where a load is
// gathered lane by lane, that is what makes the kernel fast. Rows are read as vec4s
// when aligned (VEC4). Both together: 20× one query and scalar loads, for heads of 40.
//
// A workgroup covers WG_SIZE·QPI consecutive queries of one head (invocation x takes
// x, x + WG_SIZE, …). Keys are visited in blocks of KB with an online softmax: a running
// maximum and sum, the outputs rescaled once per block when the maximum grows. Memory
// is linear in the sequence lengths. Layouts as flash_attn.comp.
//
// The loops over dimensions and queries are unrolled: llvmpipe (lavapipe) stops every
// loop of an invocation once they have run 65535 iterations in all, so only the loops
// over keys iterate (2·n_kv + n_kv/KB times: up to 31 000 keys).

#include "common.glsl"

#define WG_SIZE 16
#define KB 16

layout (local_size_x = WG_SIZE) in;

layout (constant_id = 0) const uint D = 64;        // head_dim, at most 256
layout (constant_id = 1) const bool VEC4 = false;  // rows of k and v start at multiples of 4
layout (constant_id = 2) const uint QPI = 1;       // queries per invocation

const uint D4 = (D + 3) / 4;

layout (std430, binding = 0) readonly buffer Q { float q[]; };
layout (std430, binding = 1) readonly buffer K { float k[]; };
layout (std430, binding = 1) readonly buffer K4 { vec4 k4[]; };
layout (std430, binding = 2) readonly buffer V { float v[]; };
layout (std430, binding = 2) readonly buffer V4 { vec4 v4[]; };
layout (std430, binding = 3) writeonly buffer Out { float out_[]; };

// Mirrors LoomFlashAttentionPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  n_q;        // in this dispatch
  uint  n_kv;
  uint  n_heads;
  uint  q_stride;
  uint  kv_stride;
  uint  out_stride;
  uint  q_base;
  uint  k_base;
  uint  v_base;
  uint  out_base;
  float scale;
} p;

// Four values of a row of k (@key) or v from element 4·c, zeros past D.
vec4 load4 (uint row, uint c, bool key)
{
  vec4 r = vec4 (0.0);

  if (VEC4)
    return key ? k4[row / 4 + c] : v4[row / 4 + c];
  [[unroll]] for (uint u = 0; u < 4; u++)
    if (4 * c + u < D)
      r[u] = key ? k[row + 4 * c + u] : v[row + 4 * c + u];
  return r;
}

void main ()
{
  uint n_blocks = (p.n_q + WG_SIZE * QPI - 1) / (WG_SIZE * QPI);
  uint index = loom_group_index ();
  uint block, h, i0;
  vec4 qv[QPI][D4], acc[QPI][D4];
  float s[QPI][KB];
  float m[QPI], l[QPI];

  if (index >= n_blocks * p.n_heads)
    return;
  block = index % n_blocks;
  h = index / n_blocks;
  i0 = block * WG_SIZE * QPI + gl_LocalInvocationID.x;

  [[unroll]] for (uint a = 0; a < QPI; a++)
    {
      // Past the last query, compute on the last one and write nothing.
      uint q_row = p.q_base + min (i0 + a * WG_SIZE, p.n_q - 1) * p.q_stride + h * D;

      m[a] = uintBitsToFloat (0xff800000u);  // −∞
      l[a] = 0.0;
      [[unroll]] for (uint c = 0; c < D4; c++)
        {
          [[unroll]] for (uint u = 0; u < 4; u++)
            qv[a][c][u] = 4 * c + u < D ? q[q_row + 4 * c + u] * p.scale : 0.0;
          acc[a][c] = vec4 (0.0);
        }
    }

  for (uint k0 = 0; k0 < p.n_kv; k0 += KB)
    {
      uint kn = min (KB, p.n_kv - k0);
      float m_new[QPI], corr[QPI];

      [[unroll]] for (uint a = 0; a < QPI; a++)
        m_new[a] = m[a];
      for (uint j = 0; j < kn; j++)
        {
          uint row = p.k_base + (k0 + j) * p.kv_stride + h * D;
          vec4 dot4[QPI];

          [[unroll]] for (uint a = 0; a < QPI; a++)
            dot4[a] = vec4 (0.0);
          [[unroll]] for (uint c = 0; c < D4; c++)
            {
              vec4 kc = load4 (row, c, true);
              [[unroll]] for (uint a = 0; a < QPI; a++)
                dot4[a] += qv[a][c] * kc;
            }
          [[unroll]] for (uint a = 0; a < QPI; a++)
            {
              s[a][j] = (dot4[a].x + dot4[a].y) + (dot4[a].z + dot4[a].w);
              m_new[a] = max (m_new[a], s[a][j]);
            }
        }
      [[unroll]] for (uint a = 0; a < QPI; a++)
        {
          corr[a] = exp (m[a] - m_new[a]);  // 0 on the first block (m = −∞)
          l[a] *= corr[a];
          [[unroll]] for (uint c = 0; c < D4; c++)
            acc[a][c] *= corr[a];
        }
      for (uint j = 0; j < kn; j++)
        {
          uint row = p.v_base + (k0 + j) * p.kv_stride + h * D;
          float pj[QPI];

          [[unroll]] for (uint a = 0; a < QPI; a++)
            {
              pj[a] = exp (s[a][j] - m_new[a]);
              l[a] += pj[a];
            }
          [[unroll]] for (uint c = 0; c < D4; c++)
            {
              vec4 vc = load4 (row, c, false);
              [[unroll]] for (uint a = 0; a < QPI; a++)
                acc[a][c] += pj[a] * vc;
            }
        }
      [[unroll]] for (uint a = 0; a < QPI; a++)
        m[a] = m_new[a];
    }

  [[unroll]] for (uint a = 0; a < QPI; a++)
    {
      uint i = i0 + a * WG_SIZE;

      if (i < p.n_q)
        [[unroll]] for (uint c = 0; c < D4; c++)
          [[unroll]] for (uint u = 0; u < 4; u++)
            if (4 * c + u < D)
              out_[p.out_base + i * p.out_stride + h * D + 4 * c + u] = acc[a][c][u] / l[a];
    }
}
