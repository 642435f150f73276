#version 450
#extension GL_GOOGLE_include_directive : require
// transpose.comp — out[c][r] = x[r][c] for a block of rows × cols of x, whose rows are
// x_ld values apart (out's rows out_ld apart).
//
// A workgroup of 32×8 invocations moves a 32×32 tile through shared memory: it reads
// the tile along x's rows and writes it along out's rows, so both are contiguous. The
// tile is padded by a column so that reading it down a column hits different banks.

#include "common.glsl"

#define TILE 32

layout (local_size_x = 32, local_size_y = 8) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) writeonly buffer Out { float out_[]; };

// Mirrors LoomTransposePush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint rows;
  uint cols;
  uint x_ld;
  uint out_ld;
  uint x_base;
  uint out_base;
} p;

shared float tile[TILE][TILE + 1];

void main ()
{
  uint r0 = gl_WorkGroupID.y * TILE;
  uint c0 = gl_WorkGroupID.x * TILE;
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;

  for (uint i = ty; i < TILE; i += 8)
    {
      uint r = r0 + i, c = c0 + tx;
      if (r < p.rows && c < p.cols)
        tile[i][tx] = x[p.x_base + r * p.x_ld + c];
    }
  barrier ();
  for (uint i = ty; i < TILE; i += 8)
    {
      uint c = c0 + i, r = r0 + tx;
      if (r < p.rows && c < p.cols)
        out_[p.out_base + c * p.out_ld + r] = tile[tx][i];
    }
}
