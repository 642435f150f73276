// common.glsl — helpers every Loom compute shader shares.
//
// Grids are folded into x and y because a dispatch may have at most
// maxComputeWorkGroupCount[0] (often 65535) workgroups along x.

uint loom_group_index ()
{
  return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}
