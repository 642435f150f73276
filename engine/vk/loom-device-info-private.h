/* loom-device-info-private.h — the fields behind LoomDeviceInfo, for device creation. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "vk/loom-device-info.h"

G_BEGIN_DECLS

typedef struct
{
  guint64  size;
  gboolean device_local;
} LoomHeapInfo;

struct _LoomDeviceInfo
{
  gatomicrefcount ref_count;

  guint          index;                 /* in vkEnumeratePhysicalDevices order */
  char          *name;
  LoomDeviceKind kind;
  guint32        vendor_id;
  guint32        device_id;
  guint32        api_version;
  guint32        driver_version;
  guint8         pipeline_cache_uuid[VK_UUID_SIZE];
  char          *driver_name;
  char          *driver_info;
  GArray        *heaps;                 /* of LoomHeapInfo */
  gboolean       unified_memory;        /* device-local memory the host maps directly */

  guint          subgroup_size;
  gboolean       subgroup_arithmetic;   /* subgroupAdd() and friends in compute shaders */
  guint64        max_storage_buffer_range;
  guint64        max_allocation_size;
  guint          max_shared_memory;
  guint32        max_workgroup_count[3];
  guint32        max_workgroup_invocations;
  guint32        max_workgroup_size_x;
  guint64        min_storage_offset_alignment;
  guint32        max_push_constants_size;

  /* Optional features, enabled at device creation when present. */
  gboolean       shader_float16;
  gboolean       shader_int8;
  gboolean       shader_int16;
  gboolean       storage_16bit;
  gboolean       storage_8bit;

  guint32        compute_queue_family;  /* G_MAXUINT32 when there is none */
  gboolean       timestamps;
  double         timestamp_period_ns;

  gboolean       usable;
  char          *unusable_reason;
};

LoomDeviceInfo *loom_device_info_new_for_physical_device (guint            index,
                                                          VkPhysicalDevice physical_device);

G_END_DECLS
