#version 450
#extension GL_GOOGLE_include_directive : require
// kv_store.comp — write n_tokens rows of K or V (f32) into a layer's cache at rows
// pos0.. . A row is n_kv_heads · head_dim values. An f16 cache keeps two halves per uint
// (packHalf2x16), so it needs no 16-bit storage feature; with KV_F32 the cache is f32
// (for exact agreement with f32 implementations). One invocation per pair.

#include "common.glsl"

layout (local_size_x = 64) in;

layout (constant_id = 0) const bool KV_F32 = false;

layout (std430, binding = 0) readonly buffer Src { vec2 src[]; };
layout (std430, binding = 1) writeonly buffer Cache { uint cache[]; };
layout (std430, binding = 1) writeonly buffer CacheF32 { vec2 cache_f32[]; };

// Mirrors LoomKvStorePush in engine/ops/loom-ops-push.h.
layout (push_constant) uniform Push
{
  uint n_pairs;     // n_tokens · row / 2
  uint row_pairs;   // row / 2
  uint pos0;
  uint src_base;    // in pairs
  uint cache_base;  // in pairs
} p;

void main ()
{
  uint i = loom_group_index () * 64 + gl_LocalInvocationID.x;

  if (i >= p.n_pairs)
    return;
  if (KV_F32)
    cache_f32[p.cache_base + p.pos0 * p.row_pairs + i] = src[p.src_base + i];
  else
    cache[p.cache_base + p.pos0 * p.row_pairs + i] = packHalf2x16 (src[p.src_base + i]);
}
