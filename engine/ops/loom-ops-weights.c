/* loom-ops-weights.c — weights in their stored type: kernel names and binding windows. */
#include "config.h"

#include <stdio.h>

#include "formats/loom-tensor-type.h"
#include "loom-ops-weights.h"
#include "vk/loom-device-private.h"

/* The types the typed kernels read: every supported type but F32, which has kernels of
 * its own. Each has a variant of every typed shader (shaders/meson.build). */
gboolean
loom_weights_typed (guint32 type)
{
  switch (type)
    {
    case LOOM_TENSOR_F16:
    case LOOM_TENSOR_BF16:
    case LOOM_TENSOR_Q8_0:
    case LOOM_TENSOR_Q4_0:
    case LOOM_TENSOR_Q4_1:
    case LOOM_TENSOR_Q5_0:
    case LOOM_TENSOR_Q5_1:
    case LOOM_TENSOR_Q4_K:
    case LOOM_TENSOR_Q5_K:
    case LOOM_TENSOR_Q6_K:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Writes the name of a typed shader's variant for @type: @prefix, the type's name in
 * lower case, @suffix ("matvec_", Q4_K, "_rows" give "matvec_q4_k_rows"). */
void
loom_weights_shader (char         name[LOOM_WEIGHTS_SHADER_MAX],
                     const char  *prefix,
                     guint32      type,
                     const char  *suffix)
{
  const LoomTensorTypeInfo *info = loom_tensor_type_get_info (type);
  char lower[16];
  gsize i;

  g_return_if_fail (info != NULL);
  for (i = 0; info->name[i] != '\0' && i < sizeof lower - 1; i++)
    lower[i] = g_ascii_tolower (info->name[i]);
  lower[i] = '\0';
  snprintf (name, LOOM_WEIGHTS_SHADER_MAX, "%s%s%s", prefix, lower, suffix);
}

/* Bytes of a row of @k values of @type: FALSE unless the row is whole blocks. */
gboolean
loom_weights_row_bytes (guint32  type,
                        gsize    k,
                        gsize   *row_bytes)
{
  guint64 bytes;

  if (!loom_tensor_type_row_bytes (type, k, &bytes) || bytes > G_MAXSIZE)
    return FALSE;
  *row_bytes = (gsize) bytes;
  return TRUE;
}

/* The most bytes of weights one binding window may hold: the window is whole words,
 * and may start up to 2 bytes before the data and end up to 2 bytes after it. */
gsize
loom_weights_max_window (LoomCommand *cmd)
{
  return loom_ops_max_window_elements (cmd, 4) * 4 - 4;
}

/* Fills @binding with a window over bytes [first, first + size) of @view, which starts
 * at an even offset, and returns the position of byte @first in it, in 16-bit units.
 * The window is bound in whole 32-bit words (those that hold a byte of the data), which
 * stay inside the buffer, its size being a multiple of 4. */
guint32
loom_weights_bind (LoomCommand *cmd,
                   LoomBinding *binding,
                   LoomView     view,
                   gsize        first,
                   gsize        size)
{
  gsize start = view.offset + first;
  gsize word_start = start & ~(gsize) 3;

  g_return_val_if_fail (start % 2 == 0 && size % 2 == 0, 0);

  return 2 * loom_ops_bind (cmd, binding, loom_view (view.buffer, word_start), 0,
                            (start - word_start + size + 3) / 4, 4, LOOM_ACCESS_READ)
         + (guint32) ((start - word_start) / 2);
}

/* Values in a group of whole blocks that is a whole number of 16-byte words (QUANT_GROUP
 * × QUANT_BLOCK in quant.glsl), which matvec_<type>_rows loads as uvec4s; 0 for Q6_K,
 * whose group (8 blocks, 1680 bytes) it does not hold. */
static gsize
group_values (guint32 type)
{
  switch (type)
    {
    case LOOM_TENSOR_F16:
    case LOOM_TENSOR_BF16:
      return 32;
    case LOOM_TENSOR_Q5_1:
      return 64;
    case LOOM_TENSOR_Q4_1:
      return 128;
    case LOOM_TENSOR_Q8_0:
    case LOOM_TENSOR_Q4_0:
    case LOOM_TENSOR_Q5_0:
    case LOOM_TENSOR_Q4_K:
    case LOOM_TENSOR_Q5_K:
      return 256;
    default:
      return 0;
    }
}

/* Whether rows of @k values of @type starting at half @w_base of a window are whole
 * groups of 16-byte words from a 16-byte boundary (the ALIGNED path of
 * matvec_<type>_rows). */
gboolean
loom_weights_groups_aligned (guint32 type,
                             gsize   k,
                             guint32 w_base)
{
  gsize values = group_values (type);

  return values > 0 && k % values == 0 && w_base % 8 == 0;
}

/* Whether quant_row_piece4() can read such rows: types whose pieces are whole 16-byte
 * words, rows at a multiple of 8 halves (the ALIGNED path of matmul_<type>_blocked). */
gboolean
loom_weights_pieces_aligned (guint32 type,
                             gsize   k,
                             guint32 w_base)
{
  switch (type)
    {
    case LOOM_TENSOR_F16:
    case LOOM_TENSOR_BF16:
      return k % 8 == 0 && w_base % 8 == 0;
    case LOOM_TENSOR_Q4_K:
    case LOOM_TENSOR_Q5_K:
      return w_base % 8 == 0;
    default:
      return FALSE;
    }
}

/* Whether the CPU-shaped typed kernels run on @device: they share loads across the
 * first eight invocations of a subgroup with subgroupBroadcast(), so they need
 * subgroups of at least 8 with ballot operations (lavapipe and SwiftShader have them,
 * as do GPUs, for LOOM_KERNELS=cpu). Asked once per device. */
gboolean
loom_weights_cpu_kernels_usable (LoomDevice *device)
{
  static GQuark quark;
  gpointer known;

  if (quark == 0)
    quark = g_quark_from_static_string ("loom-weights-cpu-kernels");
  known = g_object_get_qdata (G_OBJECT (device), quark);
  if (known == NULL)
    {
      VkPhysicalDeviceSubgroupProperties subgroup = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
      };
      VkPhysicalDeviceProperties2 properties = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &subgroup,
      };
      gboolean usable;

      vkGetPhysicalDeviceProperties2 (loom_device_get_physical_device (device), &properties);
      usable = subgroup.subgroupSize >= 8
               && (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0
               && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT) != 0;
      known = GINT_TO_POINTER (usable ? 2 : 1);
      g_object_set_qdata (G_OBJECT (device), quark, known);
    }
  return GPOINTER_TO_INT (known) == 2;
}
