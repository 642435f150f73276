/* loom-device-private.h — what the rest of the engine needs from a LoomDevice. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "loom-error.h"
#include "vk/loom-device-info-private.h"
#include "vk/loom-device.h"
#include "vk/loom-pipeline.h"
#include "vk/loom-pipeline-cache.h"

G_BEGIN_DECLS

typedef enum
{
  LOOM_MEMORY_DEVICE,    /* tensors: device-local, mapped too on unified memory */
  LOOM_MEMORY_UPLOAD,    /* host-visible staging the host writes */
  LOOM_MEMORY_READBACK,  /* host-visible staging the host reads; cached when possible */
} LoomMemoryUse;

/* Which shape of kernel suits the device. Vulkan on the CPU (lavapipe) runs a workgroup
 * as fibres on one core: barriers and shared memory cost there what they save on a GPU,
 * so some ops have a second kernel for it. LOOM_KERNELS=cpu|gpu overrides the choice. */
typedef enum
{
  LOOM_KERNELS_GPU,
  LOOM_KERNELS_CPU,
} LoomKernelStyle;

LoomKernelStyle   loom_device_get_kernel_style    (LoomDevice             *self);
void              loom_device_account_memory      (LoomDevice             *self,
                                                   gint64                  bytes);
guint64           loom_device_get_max_binding_range (LoomDevice           *self);
VkDevice          loom_device_get_handle          (LoomDevice             *self);
VkPhysicalDevice  loom_device_get_physical_device (LoomDevice             *self);
guint32           loom_device_get_queue_family    (LoomDevice             *self);
VkPipelineCache   loom_device_get_pipeline_cache  (LoomDevice             *self);
gboolean          loom_device_get_unified_memory  (LoomDevice             *self);
gboolean          loom_device_find_memory_type    (LoomDevice             *self,
                                                   guint32                 type_bits,
                                                   LoomMemoryUse           use,
                                                   guint32                *out_type,
                                                   gboolean               *out_host_visible);
LoomPipeline     *loom_device_get_pipeline        (LoomDevice             *self,
                                                   const LoomPipelineDesc *desc,
                                                   GError                **error);
gboolean          loom_device_submit              (LoomDevice             *self,
                                                   VkCommandBuffer         command_buffer,
                                                   VkFence                 fence,
                                                   GError                **error);
LoomProfiler     *loom_device_get_profiler        (LoomDevice             *self);
void              loom_device_run_in_worker       (LoomDevice             *self,
                                                   GTask                  *task,
                                                   GTaskThreadFunc         func);
gboolean          loom_device_is_worker_thread    (LoomDevice             *self);
char             *loom_device_dup_pipeline_cache_path (LoomDevice         *self);
LoomPipelineCacheState loom_device_get_pipeline_cache_state (LoomDevice   *self);

G_END_DECLS
