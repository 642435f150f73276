// reduce.glsl — sums and maxima over a whole workgroup.
//
// Include after defining LOOM_WG_SIZE (the workgroup size). Each subgroup reduces in
// registers, then the per-subgroup results go through shared memory. Every invocation
// of the workgroup must call these functions (uniform control flow), and every one gets
// the result. The order of additions is fixed, so results are deterministic.

#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

shared float loom_reduce_scratch[LOOM_WG_SIZE];

float loom_workgroup_sum (float value)
{
  float total = 0.0;

  value = subgroupAdd (value);
  if (subgroupElect ())
    loom_reduce_scratch[gl_SubgroupID] = value;
  barrier ();
  for (uint i = 0; i < gl_NumSubgroups; i++)
    total += loom_reduce_scratch[i];
  barrier ();
  return total;
}

float loom_workgroup_max (float value)
{
  float result;

  value = subgroupMax (value);
  if (subgroupElect ())
    loom_reduce_scratch[gl_SubgroupID] = value;
  barrier ();
  result = loom_reduce_scratch[0];
  for (uint i = 1; i < gl_NumSubgroups; i++)
    result = max (result, loom_reduce_scratch[i]);
  barrier ();
  return result;
}
