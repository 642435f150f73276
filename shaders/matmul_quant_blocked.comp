#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
// matmul_quant_blocked.comp — C[m][n] = Σ_k A[m][k] · W[n][k] for a batch of rows, with
// W in its stored type (quant.glsl), register-blocked without shared memory.
//
// CPU-shaped, like matmul_f32_blocked; see matvec_quant_rows for what loads cost on
// lavapipe. A workgroup computes a TM × (WG_N·TN) block of C; each invocation TM rows of
// A against its own TN rows of W, so that each piece of a row of W (32 or 64 values,
// quant_row_piece) is decoded once and used TM times, each piece of A TN times. All
// invocations of a workgroup share their rows of A, so the first eight of each subgroup
// load an eighth of each piece of A and subgroupBroadcast() hands it to all. W rows at a
// multiple of 8 halves whose pieces are whole 16-byte words (ALIGNED: F16, BF16, Q4_K,
// Q5_K) are loaded as uvec4s. Rows and columns past the edges repeat the last ones and
// are not stored. GPUs use the shared-memory tiles of matmul_quant.

#define QUANT_WEIGHTS4
#include "common.glsl"

// TM × TN is what lavapipe's LLVM must compile fully unrolled: 16 × 8 runs the 512×2048×2048
// F16 product in ~230 ms (8 × 8: ~390) and compiles in ~20 s per variant; 32 × 8 or
// 16 × 16 run faster still but take minutes to compile, on every cold shader cache.
#define TM    16   // rows of A (and C) per workgroup
#define TN    8    // rows of W (columns of C) per invocation
#define WG_N  32   // invocations, along N
#define LANES 8    // invocations that share the loads of A

layout (local_size_x = WG_N) in;

layout (constant_id = 0) const bool VEC4 = false;
layout (constant_id = 1) const bool ALIGNED = false;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout (std430, binding = 1) readonly buffer Weights { uint weights[]; };
layout (std430, binding = 1) readonly buffer Weights4 { uvec4 weights4[]; };
#include "quant.glsl"
layout (std430, binding = 2) writeonly buffer C { float c[]; };

// Mirrors LoomMatmulPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint m;
  uint n;
  uint k;
  uint ldc;
  uint a_base;
  uint w_base;    // in halves
  uint c_base;
} p;

#define PIECE_VEC4S (QUANT_ROW_PIECE / 4u)

// Values e .. e+3 of A.
vec4 load_a (uint e)
{
  if (VEC4)
    return a4[e / 4u];
  return vec4 (a[e], a[e + 1u], a[e + 2u], a[e + 3u]);
}

void main ()
{
  uint lane = gl_SubgroupInvocationID % LANES;
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = (gl_WorkGroupID.x * WG_N + gl_LocalInvocationID.x) * TN;
  uint row_halves = quant_row_halves (p.k);
  uint a_row[TM], w_row[TN];
  float acc[TM][TN];

  [[unroll]] for (uint i = 0; i < TM; i++)
    a_row[i] = p.a_base + min (row0 + i, p.m - 1u) * p.k;
  [[unroll]] for (uint j = 0; j < TN; j++)
    w_row[j] = p.w_base + min (col0 + j, p.n - 1u) * row_halves;
  [[unroll]] for (uint i = 0; i < TM; i++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint piece = 0; piece < p.k / QUANT_ROW_PIECE; piece++)
    {
      uint v0 = piece * QUANT_ROW_PIECE;
      vec4 w[TN][PIECE_VEC4S];

      if (ALIGNED)
        {
#ifdef QUANT_PIECE4
          [[unroll]] for (uint j = 0; j < TN; j++)
            quant_row_piece4 (w_row[j], piece, w[j]);
#endif
          // Other types have no pieces of whole 16-byte words (the op never sets
          // ALIGNED for them).
        }
      else
        {
          [[unroll]] for (uint j = 0; j < TN; j++)
            quant_row_piece (w_row[j], piece, w[j]);
        }
      [[unroll]] for (uint i = 0; i < TM; i++)
        {
          vec4 al[PIECE_VEC4S / LANES];
          vec4 av[PIECE_VEC4S];

          [[unroll]] for (uint u = 0; u < PIECE_VEC4S / LANES; u++)
            al[u] = load_a (a_row[i] + v0 + 4u * (LANES * u + lane));
          [[unroll]] for (uint t = 0; t < PIECE_VEC4S; t++)
            av[t] = subgroupBroadcast (al[t / LANES], t % LANES);
          [[unroll]] for (uint j = 0; j < TN; j++)
            {
              vec4 sum = av[0] * w[j][0];
              [[unroll]] for (uint t = 1; t < PIECE_VEC4S; t++)
                sum += av[t] * w[j][t];
              acc[i][j] += (sum.x + sum.y) + (sum.z + sum.w);
            }
        }
    }

#ifdef QUANT_PLAIN
  // F16 and BF16 rows of k not a multiple of 32 end value by value.
  for (uint kk = p.k / QUANT_ROW_PIECE * QUANT_ROW_PIECE; kk < p.k; kk++)
    {
      float wv[TN];
      [[unroll]] for (uint j = 0; j < TN; j++)
        wv[j] = quant_value (w_row[j] + kk);
      [[unroll]] for (uint i = 0; i < TM; i++)
        {
          float av = a[a_row[i] + kk];
          [[unroll]] for (uint j = 0; j < TN; j++)
            acc[i][j] += av * wv[j];
        }
    }
#endif

  [[unroll]] for (uint i = 0; i < TM; i++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      if (row0 + i < p.m && col0 + j < p.n)
        c[p.c_base + (row0 + i) * p.ldc + col0 + j] = acc[i][j];
}
