#version 450
#extension GL_GOOGLE_include_directive : require
// conv2d.comp — a 2-D convolution as an implicit GEMM:
//   out[co][p] (+)= Σ_j W[co][j] · X̂[j][p] (+ bias[co])
// for output channels co, output pixels p = oy·w_out + ox and j = (ci·k + ky)·k + kx, where
// X̂[j][p] = x[ci][oy·stride − pad + ky][ox·stride − pad + kx], zero outside the map. X̂
// (im2col) is never stored: each value is gathered from x while the tile is staged.
//
// Shaped like matmul_f32: a workgroup of 16×16 invocations computes a 64×64 tile of out
// (64 channels × 64 pixels), each invocation a 4×4 block. Per step of 16 along j it
// stages a 64×16 slice of W and a 16×64 slice of X̂ in shared memory (8 KiB), so each
// staged value is used 64 times. W loads walk along j (rows of W are contiguous), X̂
// loads along pixels (neighbouring invocations read neighbouring values of x when
// stride is 1). Each invocation gathers the same pixel at every step, so its coordinates
// are computed once; the kernel size is a specialization constant, so j's decomposition
// into (ci, ky, kx) divides by constants.
//
// Compiled twice (shaders/meson.build): TYPE_F32 reads W as floats, TYPE_F16 as 16-bit
// halves packed in 32-bit words (quant.glsl), from any half.
//
// The C side (engine/ops/loom-ops-image.c) splits large convolutions: the input channels
// into chunks whose planes fit one binding, accumulating (ACCUMULATE) into out, and the
// output channels into chunks whose planes and rows of W fit; W's window then holds rows
// w_ld values apart, of which each dispatch reads c_in·k² from w_base on.

#include "common.glsl"

#define BM 64   // output channels per tile
#define BN 64   // output pixels per tile
#define BK 16
#define TM 4
#define TN 4

#define FLAG_BIAS       1u
#define FLAG_ACCUMULATE 2u

layout (local_size_x = 256) in;

layout (constant_id = 0) const uint KERNEL = 3;

layout (std430, binding = 0) readonly buffer X { float x[]; };
#if defined(TYPE_F32)
layout (std430, binding = 1) readonly buffer W { float w[]; };
#elif defined(TYPE_F16)
layout (std430, binding = 1) readonly buffer Weights { uint weights[]; };
#include "quant.glsl"
#else
#error "Define the weight type: TYPE_F32 or TYPE_F16"
#endif
layout (std430, binding = 2) readonly buffer Bias { float bias[]; };
layout (std430, binding = 3) buffer Out { float out_[]; };

// Mirrors LoomConv2dPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint c_in;      // input channels of this dispatch
  uint h;
  uint w;
  uint c_out;     // output channels of this dispatch
  uint h_out;
  uint w_out;
  uint stride;
  uint pad;       // zero rows (columns) above (left of) the map
  uint w_ld;      // values between rows of W
  uint x_base;
  uint w_base;    // in floats (TYPE_F32) or halves (TYPE_F16)
  uint b_base;
  uint out_base;
  uint flags;
} p;

shared float w_tile[BK][BM + 1];  // padded: the stores walk down its columns
shared float x_tile[BK][BN];

void main ()
{
  const uint KK = KERNEL * KERNEL;
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % 16;
  uint ty = tid / 16;
  uint co0 = gl_WorkGroupID.y * BM;
  uint p0 = gl_WorkGroupID.x * BN;
  uint k_total = p.c_in * KK;
  uint hw = p.h * p.w;
  uint hw_out = p.h_out * p.w_out;
  float acc[TM][TN];

  // The pixel this invocation gathers for X̂: column tid % 64 of the tile, rows
  // tid / 64 + 4l.
  uint gp = p0 + tid % BN;
  bool pixel_in = gp < hw_out;
  uint oy = gp / p.w_out;
  int iy0 = int (oy * p.stride) - int (p.pad);
  int ix0 = int ((gp - oy * p.w_out) * p.stride) - int (p.pad);

  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < k_total; k0 += BK)
    {
      for (uint l = 0; l < 4; l++)
        {
          uint kk = tid / BN + 4 * l;
          uint gk = k0 + kk;
          uint ci = gk / KK;
          uint r = gk - ci * KK;
          uint ky = r / KERNEL;
          int iy = iy0 + int (ky);
          int ix = ix0 + int (r - ky * KERNEL);
          bool inside = pixel_in && gk < k_total && uint (iy) < p.h && uint (ix) < p.w;

          x_tile[kk][tid % BN] = inside ? x[p.x_base + ci * hw + uint (iy) * p.w + uint (ix)] : 0.0;
        }
#if defined(TYPE_F32)
      // 1024 values, 4 per invocation, consecutive invocations along a row of W.
      for (uint l = 0; l < 4; l++)
        {
          uint idx = tid + l * 256;
          uint r = idx / BK;
          uint kk = idx % BK;
          uint gk = k0 + kk;
          w_tile[kk][r] = (co0 + r < p.c_out && gk < k_total)
                          ? w[p.w_base + (co0 + r) * p.w_ld + gk] : 0.0;
        }
#else
      // 512 pairs of halves, 2 per invocation; a pair may straddle two words.
      for (uint l = 0; l < 2; l++)
        {
          uint idx = tid + l * 256;
          uint r = idx / (BK / 2);
          uint kk = 2 * (idx % (BK / 2));
          uint gk = k0 + kk;
          uint h = p.w_base + (co0 + r) * p.w_ld + gk;
          vec2 v = vec2 (0.0);

          if (co0 + r < p.c_out)
            {
              if (gk + 1 < k_total)
                v = unpackHalf2x16 (quant_u32 (h));
              else if (gk < k_total)
                v.x = quant_f16 (h);
            }
          w_tile[kk][r] = v.x;
          w_tile[kk + 1][r] = v.y;
        }
#endif
      barrier ();

      for (uint kk = 0; kk < BK; kk++)
        {
          float wv[TM];
          float xv[TN];
          for (uint i = 0; i < TM; i++)
            wv[i] = w_tile[kk][ty + 16 * i];
          for (uint j = 0; j < TN; j++)
            xv[j] = x_tile[kk][tx + 16 * j];
          for (uint i = 0; i < TM; i++)
            for (uint j = 0; j < TN; j++)
              acc[i][j] += wv[i] * xv[j];
        }
      barrier ();
    }

  for (uint i = 0; i < TM; i++)
    {
      uint co = co0 + ty + 16 * i;
      float b;
      if (co >= p.c_out)
        continue;
      b = (p.flags & FLAG_BIAS) != 0 ? bias[p.b_base + co] : 0.0;
      for (uint j = 0; j < TN; j++)
        {
          uint px = p0 + tx + 16 * j;
          uint o = p.out_base + co * hw_out + px;
          if (px >= hw_out)
            continue;
          if ((p.flags & FLAG_ACCUMULATE) != 0)
            out_[o] += acc[i][j] + b;
          else
            out_[o] = acc[i][j] + b;
        }
    }
}
