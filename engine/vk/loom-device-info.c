/* loom-device-info.c — enumerate Vulkan devices, describe them, and choose one. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "loom-device-info-private.h"
#include "loom-instance.h"
#include "loom-vk-error.h"

/* Loom needs Vulkan 1.2 for its feature structs and SPIR-V 1.5; every desktop driver
 * released since 2020 has it. */
#define LOOM_MIN_API_VERSION VK_API_VERSION_1_2

G_DEFINE_BOXED_TYPE (LoomDeviceInfo, loom_device_info, loom_device_info_ref, loom_device_info_unref)

LoomDeviceInfo *
loom_device_info_ref (LoomDeviceInfo *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
loom_device_info_unref (LoomDeviceInfo *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->name);
  g_free (self->driver_name);
  g_free (self->driver_info);
  g_clear_pointer (&self->heaps, g_array_unref);
  g_free (self->unusable_reason);
  g_free (self);
}

static LoomDeviceKind
kind_from_vk (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return LOOM_DEVICE_KIND_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return LOOM_DEVICE_KIND_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return LOOM_DEVICE_KIND_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return LOOM_DEVICE_KIND_CPU;
    case VK_PHYSICAL_DEVICE_TYPE_OTHER:
    case VK_PHYSICAL_DEVICE_TYPE_MAX_ENUM:
    default:
      return LOOM_DEVICE_KIND_OTHER;
    }
}

const char *
loom_device_kind_to_string (LoomDeviceKind kind)
{
  switch (kind)
    {
    case LOOM_DEVICE_KIND_DISCRETE:
      return "discrete GPU";
    case LOOM_DEVICE_KIND_INTEGRATED:
      return "integrated GPU";
    case LOOM_DEVICE_KIND_VIRTUAL:
      return "virtual GPU";
    case LOOM_DEVICE_KIND_CPU:
      return "CPU";
    case LOOM_DEVICE_KIND_OTHER:
    default:
      return "other";
    }
}

static void
read_memory (LoomDeviceInfo  *self,
             VkPhysicalDevice physical_device)
{
  VkPhysicalDeviceMemoryProperties memory;
  guint largest_local_heap = G_MAXUINT;
  guint64 largest_local_size = 0;

  vkGetPhysicalDeviceMemoryProperties (physical_device, &memory);

  self->heaps = g_array_new (FALSE, TRUE, sizeof (LoomHeapInfo));
  for (guint i = 0; i < memory.memoryHeapCount; i++)
    {
      LoomHeapInfo heap = {
        .size = memory.memoryHeaps[i].size,
        .device_local = (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0,
      };
      g_array_append_val (self->heaps, heap);
      if (heap.device_local && heap.size > largest_local_size)
        {
          largest_local_heap = i;
          largest_local_size = heap.size;
        }
    }

  /* Unified memory: the main device-local heap is also mapped by the host, so tensors
   * are written in place instead of through a staging copy. A discrete card with a
   * resizable BAR maps its VRAM too, but host reads of it are very slow, so discrete
   * devices always use staging. */
  if (self->kind != LOOM_DEVICE_KIND_DISCRETE)
    {
      const VkMemoryPropertyFlags wanted = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
                                           | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
                                           | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      for (guint i = 0; i < memory.memoryTypeCount; i++)
        if ((memory.memoryTypes[i].propertyFlags & wanted) == wanted
            && memory.memoryTypes[i].heapIndex == largest_local_heap)
          self->unified_memory = TRUE;
    }
}

static void
read_queues (LoomDeviceInfo  *self,
             VkPhysicalDevice physical_device)
{
  uint32_t count = 0;
  g_autofree VkQueueFamilyProperties *families = NULL;

  self->compute_queue_family = G_MAXUINT32;
  vkGetPhysicalDeviceQueueFamilyProperties (physical_device, &count, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (count, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (physical_device, &count, families);

  /* Prefer a compute family that can write timestamps, for the profiler. */
  for (uint32_t i = 0; i < count; i++)
    {
      if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) == 0 || families[i].queueCount == 0)
        continue;
      if (self->compute_queue_family == G_MAXUINT32
          || (!self->timestamps && families[i].timestampValidBits > 0))
        {
          self->compute_queue_family = i;
          self->timestamps = families[i].timestampValidBits > 0;
        }
    }
}

LoomDeviceInfo *
loom_device_info_new_for_physical_device (guint            index,
                                          VkPhysicalDevice physical_device)
{
  LoomDeviceInfo *self = g_new0 (LoomDeviceInfo, 1);
  VkPhysicalDeviceDriverProperties driver = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
  };
  VkPhysicalDeviceSubgroupProperties subgroup = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
    .pNext = &driver,
  };
  VkPhysicalDeviceMaintenance3Properties maintenance3 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
    .pNext = &subgroup,
  };
  VkPhysicalDeviceProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
    .pNext = &maintenance3,
  };
  VkPhysicalDeviceVulkan12Features features12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
  };
  VkPhysicalDeviceVulkan11Features features11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .pNext = &features12,
  };
  VkPhysicalDeviceFeatures2 features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
    .pNext = &features11,
  };
  const VkPhysicalDeviceLimits *limits = &props.properties.limits;

  VkPhysicalDeviceProperties basic;

  g_atomic_ref_count_init (&self->ref_count);
  self->index = index;

  /* The 1.2 structures may only be chained on a device that has 1.2. */
  vkGetPhysicalDeviceProperties (physical_device, &basic);
  if (basic.apiVersion >= LOOM_MIN_API_VERSION)
    vkGetPhysicalDeviceProperties2 (physical_device, &props);
  else
    props.properties = basic;
  self->name = g_strdup (props.properties.deviceName);
  self->kind = kind_from_vk (props.properties.deviceType);
  self->vendor_id = props.properties.vendorID;
  self->device_id = props.properties.deviceID;
  self->api_version = props.properties.apiVersion;
  self->driver_version = props.properties.driverVersion;
  memcpy (self->pipeline_cache_uuid, props.properties.pipelineCacheUUID, VK_UUID_SIZE);

  if (self->api_version < LOOM_MIN_API_VERSION)
    {
      self->driver_name = g_strdup ("");
      self->driver_info = g_strdup ("");
      self->heaps = g_array_new (FALSE, TRUE, sizeof (LoomHeapInfo));
      self->compute_queue_family = G_MAXUINT32;
      self->unusable_reason = g_strdup_printf ("its driver offers Vulkan %u.%u; Loom needs 1.2",
                                               VK_API_VERSION_MAJOR (self->api_version),
                                               VK_API_VERSION_MINOR (self->api_version));
      return self;
    }

  vkGetPhysicalDeviceFeatures2 (physical_device, &features);

  self->driver_name = g_strdup (driver.driverName);
  self->driver_info = g_strdup (driver.driverInfo);
  read_memory (self, physical_device);
  read_queues (self, physical_device);

  self->subgroup_size = subgroup.subgroupSize;
  self->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0
                              && (subgroup.supportedOperations
                                  & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
  self->max_storage_buffer_range = limits->maxStorageBufferRange;
  self->max_allocation_size = maintenance3.maxMemoryAllocationSize;
  self->max_shared_memory = limits->maxComputeSharedMemorySize;
  memcpy (self->max_workgroup_count, limits->maxComputeWorkGroupCount,
          sizeof self->max_workgroup_count);
  self->max_workgroup_invocations = limits->maxComputeWorkGroupInvocations;
  self->max_workgroup_size_x = limits->maxComputeWorkGroupSize[0];
  self->min_storage_offset_alignment = limits->minStorageBufferOffsetAlignment;
  self->max_push_constants_size = limits->maxPushConstantsSize;
  self->timestamps = self->timestamps && limits->timestampComputeAndGraphics;
  self->timestamp_period_ns = limits->timestampPeriod;

  self->shader_float16 = features12.shaderFloat16;
  self->shader_int8 = features12.shaderInt8;
  self->shader_int16 = features.features.shaderInt16;
  self->storage_16bit = features11.storageBuffer16BitAccess;
  self->storage_8bit = features12.storageBuffer8BitAccess;

  if (self->compute_queue_family == G_MAXUINT32)
    self->unusable_reason = g_strdup ("it has no compute queue");
  else if (!self->subgroup_arithmetic)
    self->unusable_reason = g_strdup ("it lacks subgroup arithmetic in compute shaders");
  else if (self->max_workgroup_invocations < 256 || self->max_workgroup_size_x < 256
           || self->max_shared_memory < 16384)
    self->unusable_reason = g_strdup ("its compute workgroups are too small (Loom needs 256 "
                                      "invocations along x and 16 KiB of shared memory)");
  else
    self->usable = TRUE;

  return self;
}

/* Returns a new array of LoomDeviceInfo, one per Vulkan device in driver order. An
 * empty array is not an error here; choosing from it is. */
GPtrArray *
loom_device_enumerate (GError **error)
{
  LoomInstance *instance = loom_instance_get (error);
  g_autoptr(GPtrArray) infos = NULL;
  g_autofree VkPhysicalDevice *devices = NULL;
  uint32_t count = 0;

  if (instance == NULL)
    return NULL;

  if (!loom_vk_check (vkEnumeratePhysicalDevices (loom_instance_get_handle (instance),
                                                  &count, NULL),
                      "Listing Vulkan devices", error))
    return NULL;
  devices = g_new0 (VkPhysicalDevice, MAX (count, 1));
  if (!loom_vk_check (vkEnumeratePhysicalDevices (loom_instance_get_handle (instance),
                                                  &count, devices),
                      "Listing Vulkan devices", error))
    return NULL;

  infos = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_device_info_unref);
  for (uint32_t i = 0; i < count; i++)
    g_ptr_array_add (infos, loom_device_info_new_for_physical_device (i, devices[i]));

  return g_steal_pointer (&infos);
}

static guint64
device_local_memory (LoomDeviceInfo *self)
{
  guint64 total = 0;

  for (guint i = 0; i < self->heaps->len; i++)
    if (g_array_index (self->heaps, LoomHeapInfo, i).device_local)
      total += g_array_index (self->heaps, LoomHeapInfo, i).size;
  return total;
}

/* TRUE when @a is preferred over @b: discrete > integrated > virtual > CPU, then more
 * device memory, then the driver's order. */
static gboolean
prefer (LoomDeviceInfo *a,
        LoomDeviceInfo *b)
{
  if (a->kind != b->kind)
    return a->kind > b->kind;
  if (device_local_memory (a) != device_local_memory (b))
    return device_local_memory (a) > device_local_memory (b);
  return a->index < b->index;
}

static gboolean
is_index (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static char *
describe_devices (GPtrArray *infos)
{
  GString *list = g_string_new (NULL);

  for (guint i = 0; i < infos->len; i++)
    {
      LoomDeviceInfo *info = g_ptr_array_index (infos, i);
      g_string_append_printf (list, "%s%u “%s”", i > 0 ? ", " : "", info->index, info->name);
      if (!info->usable)
        g_string_append_printf (list, " (unusable: %s)", info->unusable_reason);
    }
  return g_string_free (list, FALSE);
}

/**
 * loom_device_choose:
 * @infos: (element-type LoomDeviceInfo): from loom_device_enumerate()
 * @selector: (nullable): an index or a case-insensitive part of a device name; %NULL
 *   reads `LOOM_DEVICE` from the environment, and without it the best device is chosen
 * @out_index: (out): the position of the chosen device in @infos
 *
 * Returns: %TRUE when a usable device was chosen; otherwise %LOOM_ERROR_NO_DEVICE with a
 * message that says what to install or which devices exist.
 */
gboolean
loom_device_choose (GPtrArray  *infos,
                    const char *selector,
                    guint      *out_index,
                    GError    **error)
{
  LoomDeviceInfo *best = NULL;
  LoomDeviceInfo *unusable_match = NULL;
  guint best_pos = 0;
  gboolean from_env = FALSE;

  g_return_val_if_fail (infos != NULL, FALSE);
  g_return_val_if_fail (out_index != NULL, FALSE);

  if (selector == NULL)
    {
      selector = g_getenv ("LOOM_DEVICE");
      from_env = TRUE;
    }
  if (selector != NULL && *selector == '\0')
    selector = NULL;

  if (infos->len == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                   "No Vulkan device was found. %s", LOOM_NO_DRIVER_HINT);
      return FALSE;
    }

  for (guint i = 0; i < infos->len; i++)
    {
      LoomDeviceInfo *info = g_ptr_array_index (infos, i);
      gboolean matches = TRUE;

      if (selector != NULL && is_index (selector))
        matches = info->index == (guint) strtoul (selector, NULL, 10);
      else if (selector != NULL)
        {
          g_autofree char *name = g_utf8_casefold (info->name, -1);
          g_autofree char *part = g_utf8_casefold (selector, -1);
          matches = strstr (name, part) != NULL;
        }

      if (matches && !info->usable && unusable_match == NULL)
        unusable_match = info;
      if (matches && info->usable && (best == NULL || prefer (info, best)))
        {
          best = info;
          best_pos = i;
        }
    }

  if (best == NULL && selector != NULL && unusable_match != NULL)
    {
      /* Only when no usable device matches too. */
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                   "%s“%s” cannot run Loom: %s", from_env ? "LOOM_DEVICE chooses " : "",
                   unusable_match->name, unusable_match->unusable_reason);
      return FALSE;
    }
  if (best == NULL)
    {
      g_autofree char *list = describe_devices (infos);
      if (selector != NULL && from_env)
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                     "LOOM_DEVICE=%s matches none of the Vulkan devices: %s", selector, list);
      else if (selector != NULL)
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                     "The graphics device “%s” is not present. These are: %s", selector, list);
      else
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                     "No usable Vulkan device was found (%s). %s", list, LOOM_NO_DRIVER_HINT);
      return FALSE;
    }

  *out_index = best_pos;
  return TRUE;
}

guint
loom_device_info_get_index (LoomDeviceInfo *self)
{
  return self->index;
}

const char *
loom_device_info_get_name (LoomDeviceInfo *self)
{
  return self->name;
}

LoomDeviceKind
loom_device_info_get_kind (LoomDeviceInfo *self)
{
  return self->kind;
}

guint32
loom_device_info_get_vendor_id (LoomDeviceInfo *self)
{
  return self->vendor_id;
}

guint32
loom_device_info_get_device_id (LoomDeviceInfo *self)
{
  return self->device_id;
}

const char *
loom_device_info_get_driver_name (LoomDeviceInfo *self)
{
  return self->driver_name;
}

const char *
loom_device_info_get_driver_info (LoomDeviceInfo *self)
{
  return self->driver_info;
}

char *
loom_device_info_dup_api_version (LoomDeviceInfo *self)
{
  return g_strdup_printf ("%u.%u.%u", VK_API_VERSION_MAJOR (self->api_version),
                          VK_API_VERSION_MINOR (self->api_version),
                          VK_API_VERSION_PATCH (self->api_version));
}

guint
loom_device_info_get_n_heaps (LoomDeviceInfo *self)
{
  return self->heaps->len;
}

guint64
loom_device_info_get_heap_size (LoomDeviceInfo *self,
                                guint           heap)
{
  g_return_val_if_fail (heap < self->heaps->len, 0);
  return g_array_index (self->heaps, LoomHeapInfo, heap).size;
}

gboolean
loom_device_info_get_heap_device_local (LoomDeviceInfo *self,
                                        guint           heap)
{
  g_return_val_if_fail (heap < self->heaps->len, FALSE);
  return g_array_index (self->heaps, LoomHeapInfo, heap).device_local;
}

gboolean
loom_device_info_get_unified_memory (LoomDeviceInfo *self)
{
  return self->unified_memory;
}

guint
loom_device_info_get_subgroup_size (LoomDeviceInfo *self)
{
  return self->subgroup_size;
}

guint64
loom_device_info_get_max_storage_buffer_range (LoomDeviceInfo *self)
{
  return self->max_storage_buffer_range;
}

guint64
loom_device_info_get_max_allocation_size (LoomDeviceInfo *self)
{
  return self->max_allocation_size;
}

guint
loom_device_info_get_max_shared_memory (LoomDeviceInfo *self)
{
  return self->max_shared_memory;
}

gboolean
loom_device_info_get_supports_f16 (LoomDeviceInfo *self)
{
  return self->shader_float16 && self->storage_16bit;
}

gboolean
loom_device_info_get_supports_int8 (LoomDeviceInfo *self)
{
  return self->shader_int8 && self->storage_8bit;
}

gboolean
loom_device_info_get_supports_timestamps (LoomDeviceInfo *self)
{
  return self->timestamps;
}

gboolean
loom_device_info_get_usable (LoomDeviceInfo *self)
{
  return self->usable;
}

const char *
loom_device_info_get_unusable_reason (LoomDeviceInfo *self)
{
  return self->unusable_reason;
}
