/* loom-command.c — dispatch recording with hazard-tracked barriers, submit once, wait. */
#include "config.h"

#include <string.h>

#include "loom-command.h"
#include "loom-device-private.h"
#include "loom-profiler.h"
#include "loom-vk-error.h"

#define SETS_PER_POOL    256
#define QUERIES_PER_POOL 512

/* One binding's byte range touched since the last barrier. */
typedef struct
{
  VkBuffer     buffer;
  VkDeviceSize start;
  VkDeviceSize end;
  LoomAccess   access;
} AccessRecord;

struct _LoomCommand
{
  LoomDevice      *device;            /* owned reference */
  LoomDeviceInfo  *info;              /* borrowed from device */
  VkDevice         vk_device;
  VkCommandPool    command_pool;
  VkCommandBuffer  command_buffer;
  VkFence          fence;
  gboolean         recording;

  GArray          *descriptor_pools;  /* of VkDescriptorPool, reused across submits */
  guint            pools_used;
  guint            sets_left;         /* in descriptor_pools[pools_used - 1] */

  GArray          *accesses;          /* of AccessRecord since the last barrier */
  guint            n_barriers;
  guint            n_recorded;
  GError          *error;             /* the first recording error, sticky */

  LoomProfiler    *profiler;          /* borrowed from device; NULL when not profiling */
  GArray          *query_pools;       /* of VkQueryPool */
  guint            n_queries;         /* timestamps written this recording */
  GPtrArray       *labels;            /* const char*, one per timed operation */
};

LoomCommand *
loom_command_new (LoomDevice *device,
                  GError    **error)
{
  g_autoptr(LoomCommand) self = g_new0 (LoomCommand, 1);

  self->device = g_object_ref (device);
  self->info = loom_device_get_info (device);
  self->vk_device = loom_device_get_handle (device);
  self->descriptor_pools = g_array_new (FALSE, FALSE, sizeof (VkDescriptorPool));
  self->accesses = g_array_new (FALSE, FALSE, sizeof (AccessRecord));
  self->query_pools = g_array_new (FALSE, FALSE, sizeof (VkQueryPool));
  self->labels = g_ptr_array_new ();
  self->profiler = loom_device_get_profiler (device);

  if (!loom_vk_check (vkCreateCommandPool (self->vk_device, &(VkCommandPoolCreateInfo) {
                                             .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                             .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                             .queueFamilyIndex = loom_device_get_queue_family (device),
                                           }, NULL, &self->command_pool),
                      "Creating a command pool", error))
    return NULL;
  if (!loom_vk_check (vkAllocateCommandBuffers (self->vk_device, &(VkCommandBufferAllocateInfo) {
                                                  .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                                  .commandPool = self->command_pool,
                                                  .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                                  .commandBufferCount = 1,
                                                }, &self->command_buffer),
                      "Allocating a command buffer", error))
    return NULL;
  if (!loom_vk_check (vkCreateFence (self->vk_device, &(VkFenceCreateInfo) {
                                       .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
                                     }, NULL, &self->fence),
                      "Creating a fence", error))
    return NULL;

  return g_steal_pointer (&self);
}

void
loom_command_free (LoomCommand *self)
{
  if (self == NULL)
    return;

  for (guint i = 0; i < self->descriptor_pools->len; i++)
    vkDestroyDescriptorPool (self->vk_device,
                             g_array_index (self->descriptor_pools, VkDescriptorPool, i), NULL);
  for (guint i = 0; i < self->query_pools->len; i++)
    vkDestroyQueryPool (self->vk_device, g_array_index (self->query_pools, VkQueryPool, i), NULL);
  if (self->fence != VK_NULL_HANDLE)
    vkDestroyFence (self->vk_device, self->fence, NULL);
  if (self->command_pool != VK_NULL_HANDLE)
    vkDestroyCommandPool (self->vk_device, self->command_pool, NULL);

  g_array_unref (self->descriptor_pools);
  g_array_unref (self->accesses);
  g_array_unref (self->query_pools);
  g_ptr_array_unref (self->labels);
  g_clear_error (&self->error);
  g_object_unref (self->device);
  g_free (self);
}

LoomDevice *
loom_command_get_device (LoomCommand *self)
{
  return self->device;
}

/* Keeps @error (taking ownership) unless an earlier one is kept already. */
void
loom_command_set_error (LoomCommand *self,
                        GError      *error)
{
  if (self->error == NULL)
    self->error = error;
  else
    g_error_free (error);
}

/* Reports a programmer error in recording (a bad binding, a shape no kernel can take):
 * loud in debug runs and tests, an error from the next submit otherwise. */
void
loom_command_fail (LoomCommand *self,
                   const char  *what,
                   const char  *format,
                   ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_critical ("Invalid GPU command (%s): %s", what, message);
  loom_command_set_error (self, g_error_new (LOOM_ERROR, LOOM_ERROR_FAILED,
                                             "Invalid GPU command (%s): %s", what, message));
}

static gboolean
begin (LoomCommand *self)
{
  VkResult result;

  if (self->error != NULL)
    return FALSE;
  if (self->recording)
    return TRUE;

  result = vkBeginCommandBuffer (self->command_buffer, &(VkCommandBufferBeginInfo) {
                                   .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
                                 });
  if (result != VK_SUCCESS)
    {
      GError *error = NULL;
      loom_vk_check (result, "Starting a command buffer", &error);
      loom_command_set_error (self, error);
      return FALSE;
    }
  self->recording = TRUE;
  return TRUE;
}

static void
record_barrier (LoomCommand *self)
{
  VkMemoryBarrier barrier = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT
                     | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
                                      | VK_PIPELINE_STAGE_TRANSFER_BIT;

  vkCmdPipelineBarrier (self->command_buffer, stages, stages, 0, 1, &barrier, 0, NULL, 0, NULL);
  g_array_set_size (self->accesses, 0);
  self->n_barriers++;
}

static gboolean
conflicts (LoomCommand        *self,
           const AccessRecord *access)
{
  for (guint i = 0; i < self->accesses->len; i++)
    {
      const AccessRecord *earlier = &g_array_index (self->accesses, AccessRecord, i);
      if (earlier->buffer == access->buffer
          && access->start < earlier->end && earlier->start < access->end
          && ((earlier->access | access->access) & LOOM_ACCESS_WRITE) != 0)
        return TRUE;
    }
  return FALSE;
}

/* Inserts a barrier if any of @accesses depends on work recorded since the last one,
 * then remembers them. When profiling, every operation is fenced off so that each
 * timestamp pair measures that operation alone. */
static void
order_accesses (LoomCommand        *self,
                const AccessRecord *accesses,
                guint               n_accesses)
{
  gboolean needed = self->profiler != NULL && self->n_recorded > 0;

  for (guint i = 0; i < n_accesses && !needed; i++)
    needed = conflicts (self, &accesses[i]);
  if (needed)
    record_barrier (self);
  g_array_append_vals (self->accesses, accesses, n_accesses);
}

static void
write_timestamp (LoomCommand *self)
{
  guint pool_index = self->n_queries / QUERIES_PER_POOL;
  guint query = self->n_queries % QUERIES_PER_POOL;
  VkQueryPool pool;

  if (pool_index == self->query_pools->len)
    {
      if (vkCreateQueryPool (self->vk_device, &(VkQueryPoolCreateInfo) {
                               .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                               .queryType = VK_QUERY_TYPE_TIMESTAMP,
                               .queryCount = QUERIES_PER_POOL,
                             }, NULL, &pool) != VK_SUCCESS)
        {
          /* Profiling is best effort: stop timing this recording. */
          self->profiler = NULL;
          return;
        }
      g_array_append_val (self->query_pools, pool);
    }
  pool = g_array_index (self->query_pools, VkQueryPool, pool_index);
  if (query == 0)
    vkCmdResetQueryPool (self->command_buffer, pool, 0, QUERIES_PER_POOL);
  vkCmdWriteTimestamp (self->command_buffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, query);
  self->n_queries++;
}

static void
profile_begin (LoomCommand *self)
{
  if (self->profiler != NULL && self->n_queries == 0)
    write_timestamp (self);
}

static void
profile_end (LoomCommand *self,
             const char  *label)
{
  if (self->profiler == NULL)
    return;
  write_timestamp (self);
  if (self->profiler != NULL)
    g_ptr_array_add (self->labels, (gpointer) label);
}

static VkDescriptorSet
allocate_set (LoomCommand          *self,
              VkDescriptorSetLayout layout)
{
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkResult result;

  if (self->sets_left == 0)
    {
      if (self->pools_used == self->descriptor_pools->len)
        {
          VkDescriptorPool pool;
          result = vkCreateDescriptorPool (self->vk_device, &(VkDescriptorPoolCreateInfo) {
                                             .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                             .maxSets = SETS_PER_POOL,
                                             .poolSizeCount = 1,
                                             .pPoolSizes = &(VkDescriptorPoolSize) {
                                               .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .descriptorCount = SETS_PER_POOL * LOOM_MAX_BINDINGS,
                                             },
                                           }, NULL, &pool);
          if (result != VK_SUCCESS)
            {
              GError *error = NULL;
              loom_vk_check (result, "Creating a descriptor pool", &error);
              loom_command_set_error (self, error);
              return VK_NULL_HANDLE;
            }
          g_array_append_val (self->descriptor_pools, pool);
        }
      self->pools_used++;
      self->sets_left = SETS_PER_POOL;
    }

  result = vkAllocateDescriptorSets (self->vk_device, &(VkDescriptorSetAllocateInfo) {
                                       .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                       .descriptorPool = g_array_index (self->descriptor_pools,
                                                                        VkDescriptorPool,
                                                                        self->pools_used - 1),
                                       .descriptorSetCount = 1,
                                       .pSetLayouts = &layout,
                                     }, &set);
  if (result != VK_SUCCESS)
    {
      GError *error = NULL;
      loom_vk_check (result, "Allocating a descriptor set", &error);
      loom_command_set_error (self, error);
      return VK_NULL_HANDLE;
    }
  self->sets_left--;
  return set;
}

static gboolean
check_dispatch (LoomCommand            *self,
                const LoomPipelineDesc *desc,
                const LoomBinding      *bindings,
                const guint32           groups[3])
{
  for (guint i = 0; i < 3; i++)
    if (groups[i] == 0 || groups[i] > self->info->max_workgroup_count[i])
      {
        loom_command_fail (self, desc->shader, "%u workgroups along axis %u (the device allows 1 to %u)",
                     groups[i], i, self->info->max_workgroup_count[i]);
        return FALSE;
      }

  for (guint i = 0; i < desc->n_bindings; i++)
    {
      const LoomBinding *b = &bindings[i];
      if (b->buffer == NULL || b->size == 0)
        {
          loom_command_fail (self, desc->shader, "binding %u is empty", i);
          return FALSE;
        }
      if (b->offset % self->info->min_storage_offset_alignment != 0)
        {
          loom_command_fail (self, desc->shader, "binding %u starts at %" G_GSIZE_FORMAT
                       ", not a multiple of %" G_GUINT64_FORMAT, i, b->offset,
                       self->info->min_storage_offset_alignment);
          return FALSE;
        }
      if (b->size > self->info->max_storage_buffer_range)
        {
          loom_command_fail (self, desc->shader, "binding %u spans %" G_GSIZE_FORMAT " bytes, more "
                       "than the device's range of %" G_GUINT64_FORMAT, i, b->size,
                       self->info->max_storage_buffer_range);
          return FALSE;
        }
      if (b->offset > loom_buffer_get_size (b->buffer)
          || b->size > loom_buffer_get_size (b->buffer) - b->offset)
        {
          loom_command_fail (self, desc->shader, "binding %u ends past its buffer", i);
          return FALSE;
        }
    }
  return TRUE;
}

void
loom_command_dispatch (LoomCommand            *self,
                       const LoomPipelineDesc *desc,
                       const LoomBinding      *bindings,
                       gconstpointer           push,
                       guint32                 groups_x,
                       guint32                 groups_y,
                       guint32                 groups_z)
{
  const guint32 groups[3] = { groups_x, groups_y, groups_z };
  VkDescriptorBufferInfo buffer_infos[LOOM_MAX_BINDINGS];
  VkWriteDescriptorSet writes[LOOM_MAX_BINDINGS];
  AccessRecord accesses[LOOM_MAX_BINDINGS];
  GError *error = NULL;
  LoomPipeline *pipeline;
  VkDescriptorSet set;

  g_return_if_fail (self != NULL && desc != NULL);
  g_return_if_fail (desc->n_bindings <= LOOM_MAX_BINDINGS);
  g_return_if_fail (desc->push_size == 0 || push != NULL);

  if (self->error != NULL || !check_dispatch (self, desc, bindings, groups))
    return;

  pipeline = loom_device_get_pipeline (self->device, desc, &error);
  if (pipeline == NULL)
    {
      loom_command_set_error (self, error);
      return;
    }
  if (!begin (self))
    return;
  set = allocate_set (self, loom_pipeline_get_set_layout (pipeline));
  if (set == VK_NULL_HANDLE)
    return;

  for (guint i = 0; i < desc->n_bindings; i++)
    {
      buffer_infos[i] = (VkDescriptorBufferInfo) {
        .buffer = loom_buffer_get_handle (bindings[i].buffer),
        .offset = bindings[i].offset,
        .range = bindings[i].size,
      };
      writes[i] = (VkWriteDescriptorSet) {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = i,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &buffer_infos[i],
      };
      accesses[i] = (AccessRecord) {
        .buffer = buffer_infos[i].buffer,
        .start = bindings[i].offset,
        .end = bindings[i].offset + bindings[i].size,
        .access = bindings[i].access,
      };
    }
  vkUpdateDescriptorSets (self->vk_device, desc->n_bindings, writes, 0, NULL);

  order_accesses (self, accesses, desc->n_bindings);
  profile_begin (self);
  vkCmdBindPipeline (self->command_buffer, VK_PIPELINE_BIND_POINT_COMPUTE,
                     loom_pipeline_get_handle (pipeline));
  vkCmdBindDescriptorSets (self->command_buffer, VK_PIPELINE_BIND_POINT_COMPUTE,
                           loom_pipeline_get_layout (pipeline), 0, 1, &set, 0, NULL);
  if (desc->push_size > 0)
    vkCmdPushConstants (self->command_buffer, loom_pipeline_get_layout (pipeline),
                        VK_SHADER_STAGE_COMPUTE_BIT, 0, desc->push_size, push);
  vkCmdDispatch (self->command_buffer, groups_x, groups_y, groups_z);
  profile_end (self, loom_pipeline_get_label (pipeline));
  self->n_recorded++;
}

/* Records a buffer-to-buffer copy, ordered like a dispatch. */
void
loom_command_copy (LoomCommand *self,
                   LoomBuffer  *src,
                   gsize        src_offset,
                   LoomBuffer  *dst,
                   gsize        dst_offset,
                   gsize        size)
{
  AccessRecord accesses[2] = {
    { loom_buffer_get_handle (src), src_offset, src_offset + size, LOOM_ACCESS_READ },
    { loom_buffer_get_handle (dst), dst_offset, dst_offset + size, LOOM_ACCESS_WRITE },
  };

  g_return_if_fail (src_offset <= loom_buffer_get_size (src)
                    && size <= loom_buffer_get_size (src) - src_offset);
  g_return_if_fail (dst_offset <= loom_buffer_get_size (dst)
                    && size <= loom_buffer_get_size (dst) - dst_offset);

  if (size == 0 || !begin (self))
    return;
  order_accesses (self, accesses, 2);
  profile_begin (self);
  vkCmdCopyBuffer (self->command_buffer, loom_buffer_get_handle (src),
                   loom_buffer_get_handle (dst), 1, &(VkBufferCopy) {
                     .srcOffset = src_offset,
                     .dstOffset = dst_offset,
                     .size = size,
                   });
  profile_end (self, "copy");
  self->n_recorded++;
}

/* Records filling @size bytes with the 32-bit @value; offset and size are multiples
 * of 4. */
void
loom_command_fill (LoomCommand *self,
                   LoomBuffer  *buffer,
                   gsize        offset,
                   gsize        size,
                   guint32      value)
{
  AccessRecord access = {
    loom_buffer_get_handle (buffer), offset, offset + size, LOOM_ACCESS_WRITE,
  };

  g_return_if_fail (offset % 4 == 0 && size % 4 == 0);
  g_return_if_fail (offset <= loom_buffer_get_size (buffer)
                    && size <= loom_buffer_get_size (buffer) - offset);

  if (size == 0 || !begin (self))
    return;
  order_accesses (self, &access, 1);
  profile_begin (self);
  vkCmdFillBuffer (self->command_buffer, loom_buffer_get_handle (buffer), offset, size, value);
  profile_end (self, "fill");
  self->n_recorded++;
}

/* Barriers recorded since the last submit, for tests of the hazard tracking. */
guint
loom_command_get_n_barriers (LoomCommand *self)
{
  return self->n_barriers;
}

guint
loom_command_get_n_recorded (LoomCommand *self)
{
  return self->n_recorded;
}

static void
collect_timestamps (LoomCommand *self)
{
  g_autofree guint64 *stamps = NULL;
  double period = self->info->timestamp_period_ns;

  if (self->profiler == NULL || self->n_queries < 2)
    return;

  stamps = g_new0 (guint64, self->n_queries);
  for (guint done = 0, pool = 0; done < self->n_queries; pool++)
    {
      guint count = MIN (self->n_queries - done, QUERIES_PER_POOL);
      if (vkGetQueryPoolResults (self->vk_device,
                                 g_array_index (self->query_pools, VkQueryPool, pool), 0, count,
                                 count * sizeof (guint64), stamps + done, sizeof (guint64),
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
        return;
      done += count;
    }

  for (guint i = 0; i < self->labels->len && i + 1 < self->n_queries; i++)
    if (stamps[i + 1] >= stamps[i])
      loom_profiler_add (self->profiler, g_ptr_array_index (self->labels, i),
                         (guint64) ((stamps[i + 1] - stamps[i]) * period));
}

static void
reset (LoomCommand *self)
{
  vkResetCommandPool (self->vk_device, self->command_pool, 0);
  for (guint i = 0; i < self->pools_used; i++)
    vkResetDescriptorPool (self->vk_device,
                           g_array_index (self->descriptor_pools, VkDescriptorPool, i), 0);
  self->pools_used = 0;
  self->sets_left = 0;
  g_array_set_size (self->accesses, 0);
  g_ptr_array_set_size (self->labels, 0);
  self->n_queries = 0;
  self->n_barriers = 0;
  self->n_recorded = 0;
  self->recording = FALSE;
  self->profiler = loom_device_get_profiler (self->device);
}

/**
 * loom_command_submit:
 *
 * Submits everything recorded since the last submit as one command buffer and waits
 * for the GPU to finish it; then results may be read from host-visible memory. The
 * command is ready for recording again afterwards, whether or not this succeeded.
 *
 * Returns: %FALSE with the first error of recording, submission or execution
 */
gboolean
loom_command_submit (LoomCommand *self,
                     GError     **error)
{
  VkMemoryBarrier to_host = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
  };
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      reset (self);
      return FALSE;
    }
  if (!self->recording)
    return TRUE;

  /* Make every write visible to the host that will read mapped memory. */
  vkCmdPipelineBarrier (self->command_buffer,
                        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);

  ok = loom_vk_check (vkEndCommandBuffer (self->command_buffer), "Finishing a command buffer",
                      error)
       && loom_device_submit (self->device, self->command_buffer, self->fence, error)
       && loom_vk_check (vkWaitForFences (self->vk_device, 1, &self->fence, VK_TRUE, UINT64_MAX),
                         "Waiting for the GPU", error);
  if (ok)
    collect_timestamps (self);
  vkResetFences (self->vk_device, 1, &self->fence);
  reset (self);
  return ok;
}
