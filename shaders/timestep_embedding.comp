#version 450
#extension GL_GOOGLE_include_directive : require
// timestep_embedding.comp — the sinusoidal timestep embedding of the SD UNet
// (flip_sin_to_cos): out[i] = cos(t·f_i), out[half + i] = sin(t·f_i),
// f_i = exp(−ln(10000)·i/half), one invocation per i < half.
//
// t·f_i reaches 1000 radians, where Vulkan does not bound the error of sin and cos (only
// on [−π, π]), so the angle is reduced first: θ − k·2π with 2π split in two parts
// (Cody–Waite), the first exact in 8 bits so that k·C1 is exact for any k below 2¹⁶.

#include "common.glsl"

#define WG_SIZE 64

layout (local_size_x = WG_SIZE) in;

layout (std430, binding = 0) writeonly buffer Out { float out_[]; };

// Mirrors LoomTimestepPush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint  half_dim;
  uint  out_base;
  float timestep;
} p;

const float LN_10000 = 9.210340372;
const float INV_TWO_PI = 0.1591549431;
const float TWO_PI_HI = 6.28125;                  // 201/32, exact
const float TWO_PI_LO = 1.9353071795864769e-3;    // 2π − TWO_PI_HI

void main ()
{
  uint i = loom_group_index () * WG_SIZE + gl_LocalInvocationID.x;
  float theta, k, r;

  if (i >= p.half_dim)
    return;
  theta = p.timestep * exp (-LN_10000 * float (i) / float (p.half_dim));
  k = round (theta * INV_TWO_PI);
  r = (theta - k * TWO_PI_HI) - k * TWO_PI_LO;
  out_[p.out_base + i] = cos (r);
  out_[p.out_base + p.half_dim + i] = sin (r);
}
