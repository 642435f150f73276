#version 450
#extension GL_GOOGLE_include_directive : require
// matmul_f32_blocked.comp — C[m][n] = Σ_k A[m][k] · W[n][k], register-blocked, without
// shared memory: each invocation computes a 4×4 block of C straight from memory.
//
// For Vulkan on the CPU (lavapipe), where the caches do what shared memory does on a GPU
// and the barriers of matmul_f32 cost a round of fibre switches each: 6× faster there
// (bench-ops, 512×2048×2048). GPUs use the shared-memory tiled matmul_f32.
// A workgroup of 8×8 invocations covers a 32×32 block of C.

#include "common.glsl"

#define TILE 32

layout (local_size_x = 64) in;

layout (constant_id = 0) const bool VEC4 = false;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 1) readonly buffer W4 { vec4 w4[]; };
layout (std430, binding = 2) writeonly buffer C { float c[]; };

// Mirrors LoomMatmulPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint m;
  uint n;
  uint k;
  uint ldc;
  uint a_base;
  uint w_base;
  uint c_base;
} p;

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint row0 = gl_WorkGroupID.y * TILE + (tid / 8) * 4;
  uint col0 = gl_WorkGroupID.x * TILE + (tid % 8) * 4;
  uint a_row[4], w_row[4];
  vec4 acc[4];

  // Rows past the edge repeat the last row (their results are not stored), so the
  // loop below needs no bounds checks.
  for (uint i = 0; i < 4; i++)
    {
      acc[i] = vec4 (0.0);
      a_row[i] = p.a_base + min (row0 + i, p.m - 1) * p.k;
      w_row[i] = p.w_base + min (col0 + i, p.n - 1) * p.k;
    }

  if (VEC4)
    {
      for (uint kk = 0; kk < p.k / 4; kk++)
        {
          vec4 av[4], wv[4];
          for (uint i = 0; i < 4; i++)
            {
              av[i] = a4[a_row[i] / 4 + kk];
              wv[i] = w4[w_row[i] / 4 + kk];
            }
          for (uint i = 0; i < 4; i++)
            acc[i] += vec4 (dot (av[i], wv[0]), dot (av[i], wv[1]), dot (av[i], wv[2]),
                            dot (av[i], wv[3]));
        }
    }
  else
    {
      for (uint kk = 0; kk < p.k; kk++)
        {
          vec4 wv = vec4 (w[w_row[0] + kk], w[w_row[1] + kk], w[w_row[2] + kk], w[w_row[3] + kk]);
          for (uint i = 0; i < 4; i++)
            acc[i] += a[a_row[i] + kk] * wv;
        }
    }

  for (uint i = 0; i < 4; i++)
    for (uint j = 0; j < 4; j++)
      if (row0 + i < p.m && col0 + j < p.n)
        c[p.c_base + (row0 + i) * p.ldc + col0 + j] = acc[i][j];
}
