#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// flash_attn.comp — multi-head attention without a mask, flash-style, for GPUs:
// out[i][h] = softmax_j (scale · q[i][h] · k[j][h]) · v[j][h].
//
// A workgroup takes BR queries of one head and visits the keys in tiles of BC: each tile
// of K, then of V, is staged in shared memory (one buffer, reused), the BR × BC scores
// go through shared memory, and an online softmax keeps a running maximum m and sum l
// per query, rescaling the output accumulators when the maximum grows. So no score
// matrix reaches global memory and memory is linear in the sequence lengths.
//
// Invocations: TPR = 128/BR per query row. In the score phase invocation t of a row
// computes keys t, t + TPR, …; in the output phase it accumulates dimensions t, t + TPR,
// … of its row (NACC registers). Each invocation sums the probabilities of its own keys
// into its own l (all of a row's invocations share m), and the row's partial sums are
// added at the end. Shared rows are D + 1 floats long so that the invocations of a
// subgroup, reading column e of different rows, hit different banks.
//
// Layouts: q rows q_stride floats apart (head h at h·D), k and v rows kv_stride apart,
// out rows out_stride apart; all in floats. The C side picks BR and BC so that the
// shared arrays fit 32 KiB (loom-ops-image-norm.c).
//
// Loop trip counts are kept low: llvmpipe (lavapipe) stops every loop of an invocation
// once they have run 65535 iterations in all. Per tile, the score phase loops over the
// dimensions in steps of U (unrolled inside) and the output phase over the BC keys;
// the other loops are unrolled. That is n_kv/BC · (D/U + BC + 1) iterations, at most
// about 3·n_kv with the tiles the C side picks (2.1·n_kv for SD's heads), so some
// 20 000 keys. Unrolling everything would take LLVM minutes.

#include "common.glsl"

#define WG_SIZE 128

layout (local_size_x = WG_SIZE) in;

layout (constant_id = 0) const uint D = 64;    // head_dim
layout (constant_id = 1) const uint BR = 32;   // queries per workgroup (divides WG_SIZE)
layout (constant_id = 2) const uint BC = 32;   // keys per tile

const uint DS = D + 1;
const uint TPR = WG_SIZE / BR;
const uint KPT = (BC + TPR - 1) / TPR;   // keys per invocation in the score phase
const uint NACC = (D + TPR - 1) / TPR;   // output dimensions per invocation
const uint U = D > 256 ? 64 : 8;         // dimensions per step of the score phase
const uint Q_STEPS = (BR * D + WG_SIZE - 1) / WG_SIZE;    // to load q_s
const uint KV_STEPS = (BC * D + WG_SIZE - 1) / WG_SIZE;   // to load kv_s

layout (std430, binding = 0) readonly buffer Q { float q[]; };
layout (std430, binding = 1) readonly buffer K { float k[]; };
layout (std430, binding = 2) readonly buffer V { float v[]; };
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

shared float q_s[BR * DS];    // the block's queries, scaled
shared float kv_s[BC * DS];   // a tile of keys, then of values
shared float s_s[BR * BC];    // scores
shared float p_s[BR * BC];    // probabilities (unnormalised)
shared float l_s[WG_SIZE];    // partial sums, at the end

void main ()
{
  uint n_blocks = (p.n_q + BR - 1) / BR;
  uint index = loom_group_index ();
  uint tid = gl_LocalInvocationID.x;
  uint r = tid / TPR, t = tid % TPR;
  uint block, h, q0;
  float acc[NACC], tile[NACC];
  float s[KPT];
  float m = uintBitsToFloat (0xff800000u);  // −∞
  float l = 0.0;
  float total;

  // Whole workgroups leave together, before any barrier.
  if (index >= n_blocks * p.n_heads)
    return;
  block = index % n_blocks;
  h = index / n_blocks;
  q0 = block * BR;

  [[unroll]] for (uint step = 0; step < Q_STEPS; step++)
    {
      uint i = tid + step * WG_SIZE;
      uint row = i / D, e = i % D;

      if (i < BR * D)
        q_s[row * DS + e] = q0 + row < p.n_q
                            ? q[p.q_base + (q0 + row) * p.q_stride + h * D + e] * p.scale : 0.0;
    }
  [[unroll]] for (uint a = 0; a < NACC; a++)
    acc[a] = 0.0;

  for (uint k0 = 0; k0 < p.n_kv; k0 += BC)
    {
      uint kn = min (BC, p.n_kv - k0);
      float m_new, corr;

      // The previous tile's output phase is done with kv_s and p_s (and q_s is loaded).
      barrier ();
      [[unroll]] for (uint step = 0; step < KV_STEPS; step++)
        {
          uint i = tid + step * WG_SIZE;
          uint j = i / D, e = i % D;

          if (i < BC * D)
            kv_s[j * DS + e] = j < kn ? k[p.k_base + (k0 + j) * p.kv_stride + h * D + e] : 0.0;
        }
      barrier ();

      // Scores of row r against keys t, t + TPR, … (rows past kn are zeros; a key past
      // BC, when KPT · TPR > BC, reads the last row and is dropped).
      [[unroll]] for (uint jj = 0; jj < KPT; jj++)
        s[jj] = 0.0;
      for (uint e0 = 0; e0 < D; e0 += U)
        [[unroll]] for (uint u = 0; u < U; u++)
          {
            uint e = e0 + u;

            if (D % U == 0 || e < D)
              {
                float qe = q_s[r * DS + e];

                [[unroll]] for (uint jj = 0; jj < KPT; jj++)
                  s[jj] += qe * kv_s[min (t + jj * TPR, BC - 1) * DS + e];
              }
          }
      [[unroll]] for (uint jj = 0; jj < KPT; jj++)
        {
          uint j = t + jj * TPR;

          if (j < kn)
            s_s[r * BC + j] = s[jj];
          else
            s[jj] = uintBitsToFloat (0xff800000u);
        }
      barrier ();

      // Every invocation of the row finds the same maximum; the values replace the keys.
      m_new = m;
      [[unroll]] for (uint j = 0; j < BC; j++)
        if (j < kn)
          m_new = max (m_new, s_s[r * BC + j]);
      corr = exp (m - m_new);  // 0 on the first tile (m = −∞), 1 while the maximum holds
      l *= corr;
      [[unroll]] for (uint jj = 0; jj < KPT; jj++)
        {
          uint j = t + jj * TPR;

          if (j < BC)
            {
              float pj = j < kn ? exp (s[jj] - m_new) : 0.0;
              p_s[r * BC + j] = pj;
              l += pj;
            }
        }
      m = m_new;
      [[unroll]] for (uint step = 0; step < KV_STEPS; step++)
        {
          uint i = tid + step * WG_SIZE;
          uint j = i / D, e = i % D;

          if (i < BC * D)
            kv_s[j * DS + e] = j < kn ? v[p.v_base + (k0 + j) * p.kv_stride + h * D + e] : 0.0;
        }
      barrier ();

      // Probabilities past kn are 0 and their rows of kv_s zeros: no test needed. A
      // dimension past D (when D is not a multiple of TPR) repeats the last, unwritten.
      [[unroll]] for (uint a = 0; a < NACC; a++)
        tile[a] = 0.0;
      for (uint j = 0; j < BC; j++)
        {
          float pj = p_s[r * BC + j];

          [[unroll]] for (uint a = 0; a < NACC; a++)
            tile[a] += pj * kv_s[j * DS + min (t + a * TPR, D - 1)];
        }
      [[unroll]] for (uint a = 0; a < NACC; a++)
        acc[a] = acc[a] * corr + tile[a];
    }

  l_s[tid] = l;
  barrier ();
  total = 0.0;
  [[unroll]] for (uint i = 0; i < TPR; i++)
    total += l_s[r * TPR + i];

  if (q0 + r >= p.n_q)
    return;
  [[unroll]] for (uint a = 0; a < NACC; a++)
    {
      uint e = t + a * TPR;

      if (e < D)
        out_[p.out_base + (q0 + r) * p.out_stride + h * D + e] = acc[a] / total;
    }
}
