#version 450
#extension GL_GOOGLE_include_directive : require
// matmul_quant.comp — C[m][n] = Σ_k A[m][k] · W[n][k] for a batch of rows (prompt
// processing), with W in its stored type (quant.glsl): A is M×K activations, W is N rows
// of K values, C is M×N with row stride ldc.
//
// GPU-shaped, like matmul_f32: a workgroup of 16×16 invocations computes a 64×64 tile of
// C, each invocation a 4×4 block. Per step of 32 along K it stages a 64×32 slice of A and
// of W, as floats, in shared memory (16.3 KiB): A with coalesced loads along its rows,
// W decoded once, 8 values per invocation (four neighbouring invocations take the four
// chunks of one row, so they read neighbouring words). Each staged value is then used 64
// times. Both tiles are padded by a column so that the stores, which walk down the
// columns, fall in different banks.

#include "common.glsl"

#define BM 64
#define BN 64
#define BK 32
#define TM 4
#define TN 4

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer Weights { uint weights[]; };
#include "quant.glsl"
layout (std430, binding = 2) writeonly buffer C { float c[]; };

// Mirrors LoomMatmulPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint m;
  uint n;
  uint k;
  uint ldc;       // row stride of C in elements (the full N)
  uint a_base;
  uint w_base;    // in halves
  uint c_base;
} p;

shared float a_tile[BK][BM + 1];
shared float w_tile[BK][BN + 1];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % 16;
  uint ty = tid / 16;
  uint m0 = gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  uint w_r = tid / 4;       // the row of W this invocation decodes
  uint w_chunk = tid % 4;   // and which 8 of the step's 32 values
  uint w_row = p.w_base + (n0 + w_r) * quant_row_halves (p.k);
  float acc[TM][TN];

  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.k; k0 += BK)
    {
      uint v = k0 + 8 * w_chunk;
      vec4 lo = vec4 (0.0), hi = vec4 (0.0);

      // 2048 values of A, 8 per invocation; consecutive invocations read consecutive k.
      for (uint l = 0; l < 8; l++)
        {
          uint idx = tid + l * 256;
          uint r = idx / BK;
          uint kk = idx % BK;
          uint gk = k0 + kk;
          a_tile[kk][r] = (m0 + r < p.m && gk < p.k) ? a[p.a_base + (m0 + r) * p.k + gk] : 0.0;
        }
      if (n0 + w_r < p.n)
        {
          if (v + 8 <= p.k)
            quant_row_decode8 (w_row, v / 8, lo, hi);
#ifdef QUANT_PLAIN
          else
            for (uint i = 0; i < 8; i++)
              if (v + i < p.k)
                {
                  if (i < 4)
                    lo[i] = quant_value (w_row + v + i);
                  else
                    hi[i - 4] = quant_value (w_row + v + i);
                }
#endif
        }
      for (uint i = 0; i < 4; i++)
        {
          w_tile[8 * w_chunk + i][w_r] = lo[i];
          w_tile[8 * w_chunk + 4 + i][w_r] = hi[i];
        }
      barrier ();

      for (uint kk = 0; kk < BK; kk++)
        {
          float av[TM];
          float wv[TN];
          for (uint i = 0; i < TM; i++)
            av[i] = a_tile[kk][ty + 16 * i];
          for (uint j = 0; j < TN; j++)
            wv[j] = w_tile[kk][tx + 16 * j];
          for (uint i = 0; i < TM; i++)
            for (uint j = 0; j < TN; j++)
              acc[i][j] += av[i] * wv[j];
        }
      barrier ();
    }

  for (uint i = 0; i < TM; i++)
    {
      uint row = m0 + ty + 16 * i;
      if (row >= p.m)
        continue;
      for (uint j = 0; j < TN; j++)
        {
          uint col = n0 + tx + 16 * j;
          if (col < p.n)
            c[p.c_base + row * p.ldc + col] = acc[i][j];
        }
    }
}
