/* loom-buffer.c — device memory, mapping, and staged transfers. */
#include "config.h"

#include <string.h>

#include "loom-buffer.h"
#include "loom-command.h"
#include "loom-vk-error.h"

/* Staged transfers move at most this much per submission, so a large upload needs only
 * a modest host-visible buffer. */
#define STAGING_CHUNK (64u << 20)

struct _LoomBuffer
{
  LoomDevice    *device;  /* owned reference: the device outlives its buffers */
  gsize          size;
  gsize          allocated;  /* bytes of device memory, as accounted */
  VkBuffer       handle;
  VkDeviceMemory memory;
  gpointer       mapped;  /* NULL unless the host maps this memory */
};

static void
set_too_large_error (GError        **error,
                     LoomDeviceInfo *info,
                     guint64         size)
{
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_DEVICE_MEMORY,
               "A buffer of %" G_GUINT64_FORMAT " MiB is larger than “%s” can allocate at "
               "once (%" G_GUINT64_FORMAT " MiB)",
               size >> 20, info->name, info->max_allocation_size >> 20);
}

LoomBuffer *
loom_buffer_new_for_use (LoomDevice   *device,
                         gsize         size,
                         LoomMemoryUse use,
                         GError      **error)
{
  LoomDeviceInfo *info = loom_device_get_info (device);
  VkDevice vk_device = loom_device_get_handle (device);
  VkMemoryRequirements requirements;
  g_autoptr(LoomBuffer) self = NULL;
  guint32 memory_type;
  gboolean host_visible;
  VkResult result;

  g_return_val_if_fail (size > 0, NULL);

  /* vkCmdFillBuffer and 32-bit shader access want whole words. Sizes may come from
   * model files: check before rounding, which could wrap. */
  if (size > info->max_allocation_size || size > G_MAXSIZE - 3)
    {
      set_too_large_error (error, info, size);
      return NULL;
    }
  size = (size + 3) & ~(gsize) 3;

  self = g_new0 (LoomBuffer, 1);
  self->device = g_object_ref (device);
  self->size = size;

  result = vkCreateBuffer (vk_device, &(VkBufferCreateInfo) {
                             .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
                                      | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                                      | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                           }, NULL, &self->handle);
  if (!loom_vk_check (result, "Creating a GPU buffer", error))
    return NULL;

  vkGetBufferMemoryRequirements (vk_device, self->handle, &requirements);
  if (requirements.size > info->max_allocation_size)
    {
      set_too_large_error (error, info, requirements.size);
      return NULL;
    }
  if (!loom_device_find_memory_type (device, requirements.memoryTypeBits, use,
                                     &memory_type, &host_visible))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_DEVICE_MEMORY,
                   "“%s” has no memory type for this kind of buffer", info->name);
      return NULL;
    }

  result = vkAllocateMemory (vk_device, &(VkMemoryAllocateInfo) {
                               .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = requirements.size,
                               .memoryTypeIndex = memory_type,
                             }, NULL, &self->memory);
  if (!loom_vk_check (result, "Allocating GPU memory", error))
    {
      g_prefix_error (error, "%" G_GSIZE_FORMAT " MiB: ", size >> 20);
      return NULL;
    }
  self->allocated = requirements.size;
  loom_device_account_memory (device, (gint64) self->allocated);
  if (!loom_vk_check (vkBindBufferMemory (vk_device, self->handle, self->memory, 0),
                      "Binding GPU memory", error))
    return NULL;

  if (host_visible
      && !loom_vk_check (vkMapMemory (vk_device, self->memory, 0, VK_WHOLE_SIZE, 0,
                                      &self->mapped),
                         "Mapping GPU memory", error))
    return NULL;

  return g_steal_pointer (&self);
}

/* A storage buffer for tensors. */
LoomBuffer *
loom_buffer_new (LoomDevice *device,
                 gsize       size,
                 GError    **error)
{
  return loom_buffer_new_for_use (device, size, LOOM_MEMORY_DEVICE, error);
}

void
loom_buffer_free (LoomBuffer *self)
{
  VkDevice vk_device;

  if (self == NULL)
    return;
  vk_device = loom_device_get_handle (self->device);
  if (self->mapped != NULL)
    vkUnmapMemory (vk_device, self->memory);
  if (self->handle != VK_NULL_HANDLE)
    vkDestroyBuffer (vk_device, self->handle, NULL);
  if (self->memory != VK_NULL_HANDLE)
    vkFreeMemory (vk_device, self->memory, NULL);
  loom_device_account_memory (self->device, -(gint64) self->allocated);
  g_object_unref (self->device);
  g_free (self);
}

LoomDevice *
loom_buffer_get_device (LoomBuffer *self)
{
  return self->device;
}

gsize
loom_buffer_get_size (LoomBuffer *self)
{
  return self->size;
}

VkBuffer
loom_buffer_get_handle (LoomBuffer *self)
{
  return self->handle;
}

/* Returns: (nullable): the host address of the buffer on unified memory, else %NULL. */
gpointer
loom_buffer_get_mapped (LoomBuffer *self)
{
  return self->mapped;
}

static gboolean
check_range (LoomBuffer *self,
             gsize       offset,
             gsize       size)
{
  return offset <= self->size && size <= self->size - offset;
}

/* Moves @size bytes between host memory and the buffer through a host-visible staging
 * buffer and copies on the queue, a chunk per submission: the path of discrete GPUs. */
static gboolean
staged_transfer (LoomBuffer *self,
                 gsize       offset,
                 guint8     *host,
                 gsize       size,
                 gboolean    to_device,
                 GError    **error)
{
  g_autoptr(LoomBuffer) staging = NULL;
  g_autoptr(LoomCommand) command = NULL;

  staging = loom_buffer_new_for_use (self->device, MIN (size, STAGING_CHUNK),
                                     to_device ? LOOM_MEMORY_UPLOAD : LOOM_MEMORY_READBACK,
                                     error);
  command = staging != NULL ? loom_command_new (self->device, error) : NULL;
  if (command == NULL)
    return FALSE;

  for (gsize done = 0; done < size; done += STAGING_CHUNK)
    {
      gsize chunk = MIN (size - done, STAGING_CHUNK);
      if (to_device)
        {
          memcpy (staging->mapped, host + done, chunk);
          loom_command_copy (command, staging, 0, self, offset + done, chunk);
        }
      else
        loom_command_copy (command, self, offset + done, staging, 0, chunk);
      if (!loom_command_submit (command, error))
        return FALSE;
      if (!to_device)
        memcpy (host + done, staging->mapped, chunk);
    }
  return TRUE;
}

/* Copies host data into the buffer and returns once it is there. Blocks on the GPU
 * when staging is needed: call it from a worker or a tool, never the UI thread. */
gboolean
loom_buffer_write (LoomBuffer   *self,
                   gsize         offset,
                   gconstpointer data,
                   gsize         size,
                   GError      **error)
{
  g_return_val_if_fail (check_range (self, offset, size), FALSE);

  if (size == 0)
    return TRUE;
  if (self->mapped == NULL)
    return staged_transfer (self, offset, (guint8 *) data, size, TRUE, error);
  memcpy ((guint8 *) self->mapped + offset, data, size);
  return TRUE;
}

/* Copies buffer contents to host memory once all submitted work that wrote them is done
 * (the caller has waited for it: loom_command_submit() waits). */
gboolean
loom_buffer_read (LoomBuffer *self,
                  gsize       offset,
                  gpointer    data,
                  gsize       size,
                  GError    **error)
{
  g_return_val_if_fail (check_range (self, offset, size), FALSE);

  if (size == 0)
    return TRUE;
  if (self->mapped == NULL)
    return staged_transfer (self, offset, data, size, FALSE, error);
  memcpy (data, (const guint8 *) self->mapped + offset, size);
  return TRUE;
}
