/* loom-ops-window.c — how ops bind parts of large buffers and shape their grids.
 *
 * A storage-buffer binding may cover at most maxStorageBufferRange bytes (128 MiB on
 * lavapipe and many GPUs) and must start at a multiple of minStorageBufferOffsetAlignment.
 * Ops therefore bind an aligned window that starts at or before the data they need and
 * pass the distance in elements (the "base") in push constants; work on tensors larger
 * than one window is split into several dispatches.
 */
#include "config.h"

#include "loom-ops-private.h"
#include "vk/loom-device-private.h"

/* The most elements of @element_size bytes one binding window may cover, allowing for
 * the alignment slack in front of the data. Also kept below 2³¹ so that shader indices
 * (32-bit) never overflow. */
gsize
loom_ops_max_window_elements (LoomCommand *cmd,
                              gsize        element_size)
{
  LoomDevice *device = loom_command_get_device (cmd);
  LoomDeviceInfo *info = loom_device_get_info (device);
  guint64 usable = loom_device_get_max_binding_range (device) - info->min_storage_offset_alignment;

  return MIN (usable / element_size, (gsize) G_MAXINT32);
}

/* How many whole rows of @cols floats one dispatch may cover, for ops that bind rows
 * whole (norms, softmax, bias); fails the command, naming @what, when a single row
 * exceeds one window. */
gboolean
loom_ops_rows_per_window (LoomCommand *cmd,
                          const char  *what,
                          gsize        cols,
                          gsize       *rows_per_dispatch)
{
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));

  if (cols > window)
    {
      loom_command_fail (cmd, what, "a row of %" G_GSIZE_FORMAT " floats exceeds one binding",
                         cols);
      return FALSE;
    }
  *rows_per_dispatch = window / cols;
  return TRUE;
}

/* Fills @binding with a window over elements [first, first + count) of @view and
 * returns the index of element @first inside that window. */
guint32
loom_ops_bind (LoomCommand *cmd,
               LoomBinding *binding,
               LoomView     view,
               gsize        first,
               gsize        count,
               gsize        element_size,
               LoomAccess   access)
{
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gsize start = view.offset + first * element_size;
  gsize aligned = start - start % info->min_storage_offset_alignment;

  g_return_val_if_fail (view.offset % element_size == 0, 0);

  *binding = (LoomBinding) {
    .buffer = view.buffer,
    .offset = aligned,
    .size = start - aligned + count * element_size,
    .access = access,
  };
  return (guint32) ((start - aligned) / element_size);
}

/* Spreads @n_groups workgroups over x and y within the device's limits; shaders
 * recover the linear index with loom_group_index() and skip the excess. */
gboolean
loom_ops_fold_groups (LoomCommand *cmd,
                      gsize        n_groups,
                      guint32     *groups_x,
                      guint32     *groups_y)
{
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gsize x = MIN (MAX (n_groups, 1), info->max_workgroup_count[0]);
  gsize y = (MAX (n_groups, 1) + x - 1) / x;

  if (y > info->max_workgroup_count[1])
    {
      loom_command_fail (cmd, "grid", "%" G_GSIZE_FORMAT " workgroups do not fit the device's grid",
                     n_groups);
      return FALSE;
    }
  *groups_x = (guint32) x;
  *groups_y = (guint32) y;
  return TRUE;
}
