#version 450
#extension GL_GOOGLE_include_directive : require
// matmul_f32.comp — C[m][n] = Σ_k A[m][k] · W[n][k] for a batch of rows (prompt
// processing): A is M×K activations, W is N×K weights (both K-fast), C is M×N with row
// stride ldc.
//
// Tiled through shared memory: a workgroup of 16×16 invocations computes a 64×64 tile
// of C, each invocation a 4×4 block. Per step along K, the workgroup stages a 64×16
// slice of A and of W in shared memory (8 KiB), so each value fetched from memory is
// used 64 times. Rows and columns are interleaved (ty + 16·i) so that neighbouring
// invocations read neighbouring shared-memory words.

#include "common.glsl"

#define BM 64
#define BN 64
#define BK 16
#define TM 4
#define TN 4

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 2) writeonly buffer C { float c[]; };

// Mirrors LoomMatmulPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint m;
  uint n;
  uint k;
  uint ldc;       // row stride of C in elements (the full N)
  uint a_base;
  uint w_base;
  uint c_base;
} p;

shared float a_tile[BK][BM];
shared float w_tile[BK][BN];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % 16;
  uint ty = tid / 16;
  uint m0 = gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  float acc[TM][TN];

  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.k; k0 += BK)
    {
      // 1024 values of each tile, 4 per invocation; consecutive invocations read
      // consecutive k, so loads are contiguous along rows.
      for (uint l = 0; l < 4; l++)
        {
          uint idx = tid + l * 256;
          uint r = idx / BK;
          uint kk = idx % BK;
          uint gk = k0 + kk;
          a_tile[kk][r] = (m0 + r < p.m && gk < p.k) ? a[p.a_base + (m0 + r) * p.k + gk] : 0.0;
          w_tile[kk][r] = (n0 + r < p.n && gk < p.k) ? w[p.w_base + (n0 + r) * p.k + gk] : 0.0;
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
