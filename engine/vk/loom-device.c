/* loom-device.c — the Vulkan device, its queue, pipelines and worker thread. */
#include "config.h"

#include <string.h>

#include "loom-device-private.h"
#include "loom-instance.h"
#include "loom-pipeline-cache.h"
#include "loom-profiler.h"
#include "loom-vk-error.h"
#include "runtime/loom-worker.h"

struct _LoomDevice
{
  GObject          parent_instance;

  LoomInstance    *instance;           /* the process's; not owned */
  LoomDeviceInfo  *info;
  VkPhysicalDevice physical_device;
  VkDevice         handle;
  VkPhysicalDeviceMemoryProperties memory;
  gboolean         unified_memory;     /* info's, unless LOOM_FORCE_STAGING is set */
  LoomKernelStyle  kernel_style;
  guint64          max_binding_range;  /* maxStorageBufferRange, or less for tests */

  /* vkQueueSubmit needs external synchronization; jobs run on the worker, but tests and
   * tools may submit from their own thread. */
  GMutex           queue_lock;
  VkQueue          queue;

  GMutex           pipeline_lock;
  GHashTable      *pipelines;          /* LoomPipelineDesc* (owned by value) → LoomPipeline* */
  VkPipelineCache  pipeline_cache;
  char            *pipeline_cache_path;
  gboolean         pipeline_cache_dirty;
  LoomPipelineCacheState pipeline_cache_state;

  LoomProfiler    *profiler;           /* NULL unless LOOM_PROFILE is set */
  gint64           memory_in_use;      /* bytes of device memory allocated, atomically */
  gint64           memory_peak;
  LoomWorker      *worker;
};

G_DEFINE_FINAL_TYPE (LoomDevice, loom_device, G_TYPE_OBJECT)

static gboolean
env_flag (const char *name)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' && strcmp (value, "0") != 0;
}

static void
loom_device_dispose (GObject *object)
{
  LoomDevice *self = LOOM_DEVICE (object);

  /* Every job holds a reference to its device, so none is queued or running now
   * (except the one whose end dropped the last reference, if that is this thread). */
  if (self->worker != NULL)
    loom_worker_stop (self->worker);
  g_clear_pointer (&self->worker, loom_worker_unref);

  if (self->handle != VK_NULL_HANDLE)
    {
      vkDeviceWaitIdle (self->handle);
      g_clear_pointer (&self->pipelines, g_hash_table_unref);

      if (self->pipeline_cache != VK_NULL_HANDLE)
        {
          g_autoptr(GError) error = NULL;
          if (self->pipeline_cache_dirty
              && !loom_pipeline_cache_save (self->handle, self->pipeline_cache,
                                            self->pipeline_cache_path, &error))
            g_debug ("Could not save the pipeline cache: %s", error->message);
          vkDestroyPipelineCache (self->handle, self->pipeline_cache, NULL);
          self->pipeline_cache = VK_NULL_HANDLE;
        }
      vkDestroyDevice (self->handle, NULL);
      self->handle = VK_NULL_HANDLE;
    }

  if (self->profiler != NULL && !loom_profiler_is_empty (self->profiler))
    {
      g_autofree char *table = loom_profiler_format_table (self->profiler);
      g_printerr ("Loom GPU profile, %s:\n%s", self->info->name, table);
    }
  g_clear_pointer (&self->profiler, loom_profiler_free);

  G_OBJECT_CLASS (loom_device_parent_class)->dispose (object);
}

static void
loom_device_finalize (GObject *object)
{
  LoomDevice *self = LOOM_DEVICE (object);

  g_clear_pointer (&self->info, loom_device_info_unref);
  g_free (self->pipeline_cache_path);
  g_mutex_clear (&self->queue_lock);
  g_mutex_clear (&self->pipeline_lock);

  G_OBJECT_CLASS (loom_device_parent_class)->finalize (object);
}

static void
loom_device_class_init (LoomDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = loom_device_dispose;
  object_class->finalize = loom_device_finalize;
}

static void
loom_device_init (LoomDevice *self)
{
  g_mutex_init (&self->queue_lock);
  g_mutex_init (&self->pipeline_lock);
}

static void
pipeline_desc_free (gpointer data)
{
  LoomPipelineDesc *desc = data;

  g_free ((char *) desc->shader);
  g_free (desc);
}

static gboolean
create_logical_device (LoomDevice *self,
                       GError    **error)
{
  LoomDeviceInfo *info = self->info;
  float priority = 1.0f;
  VkPhysicalDeviceVulkan12Features features12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .shaderFloat16 = info->shader_float16,
    .shaderInt8 = info->shader_int8,
    .storageBuffer8BitAccess = info->storage_8bit,
  };
  VkPhysicalDeviceVulkan11Features features11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .pNext = &features12,
    .storageBuffer16BitAccess = info->storage_16bit,
  };
  VkPhysicalDeviceFeatures2 features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
    .pNext = &features11,
    .features.shaderInt16 = info->shader_int16,
  };
  VkDeviceQueueCreateInfo queue_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = info->compute_queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo device_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &features,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue_info,
  };

  if (!loom_vk_check (vkCreateDevice (self->physical_device, &device_info, NULL, &self->handle),
                      "Opening the Vulkan device", error))
    {
      g_prefix_error (error, "“%s”: ", info->name);
      return FALSE;
    }
  vkGetDeviceQueue (self->handle, info->compute_queue_family, 0, &self->queue);
  return TRUE;
}

static gboolean
device_setup (LoomDevice *self,
              const char *selector,
              GError    **error)
{
  g_autoptr(GPtrArray) infos = NULL;
  g_autofree VkPhysicalDevice *physical = NULL;
  g_autofree char *thread_name = NULL;
  uint32_t count = 0;
  guint chosen;
  VkInstance vk_instance;

  self->instance = loom_instance_get (error);
  if (self->instance == NULL)
    return FALSE;
  vk_instance = loom_instance_get_handle (self->instance);

  if (!loom_vk_check (vkEnumeratePhysicalDevices (vk_instance, &count, NULL),
                      "Listing Vulkan devices", error))
    return FALSE;
  physical = g_new0 (VkPhysicalDevice, MAX (count, 1));
  if (!loom_vk_check (vkEnumeratePhysicalDevices (vk_instance, &count, physical),
                      "Listing Vulkan devices", error))
    return FALSE;

  infos = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_device_info_unref);
  for (uint32_t i = 0; i < count; i++)
    g_ptr_array_add (infos, loom_device_info_new_for_physical_device (i, physical[i]));
  if (!loom_device_choose (infos, selector, &chosen, error))
    return FALSE;

  self->info = loom_device_info_ref (g_ptr_array_index (infos, chosen));
  self->physical_device = physical[chosen];
  vkGetPhysicalDeviceMemoryProperties (self->physical_device, &self->memory);
  self->unified_memory = self->info->unified_memory && !env_flag ("LOOM_FORCE_STAGING");
  self->kernel_style = self->info->kind == LOOM_DEVICE_KIND_CPU ? LOOM_KERNELS_CPU
                                                                : LOOM_KERNELS_GPU;
  /* LOOM_MAX_BINDING_RANGE=<bytes> makes ops split their work as if the device's
   * binding range were that small: it tests on any device what only large tensors
   * reach otherwise. */
  self->max_binding_range = self->info->max_storage_buffer_range;
  if (g_getenv ("LOOM_MAX_BINDING_RANGE") != NULL)
    {
      guint64 range = g_ascii_strtoull (g_getenv ("LOOM_MAX_BINDING_RANGE"), NULL, 10);
      if (range >= 65536)
        self->max_binding_range = MIN (self->max_binding_range, range);
    }
  if (g_strcmp0 (g_getenv ("LOOM_KERNELS"), "cpu") == 0)
    self->kernel_style = LOOM_KERNELS_CPU;
  else if (g_strcmp0 (g_getenv ("LOOM_KERNELS"), "gpu") == 0)
    self->kernel_style = LOOM_KERNELS_GPU;

  if (!create_logical_device (self, error))
    return FALSE;

  self->pipelines = g_hash_table_new_full (loom_pipeline_desc_hash, loom_pipeline_desc_equal,
                                           pipeline_desc_free,
                                           (GDestroyNotify) loom_pipeline_free);
  self->pipeline_cache_path = loom_pipeline_cache_path (self->info);
  self->pipeline_cache = loom_pipeline_cache_load (self->handle, self->info,
                                                   self->pipeline_cache_path,
                                                   &self->pipeline_cache_state);

  if (env_flag ("LOOM_PROFILE"))
    {
      if (self->info->timestamps)
        self->profiler = loom_profiler_new ();
      else
        g_warning ("LOOM_PROFILE is set, but “%s” cannot time compute work", self->info->name);
    }

  thread_name = g_strdup_printf ("loom-%u", self->info->index);
  self->worker = loom_worker_new (thread_name);
  return TRUE;
}

/**
 * loom_device_new:
 * @selector: (nullable): a device index or a part of its name; %NULL uses the
 *   `LOOM_DEVICE` environment variable, else the best device
 *
 * Opens a Vulkan device and starts its worker thread. This blocks for as long as the
 * driver takes; the UI uses loom_device_new_async().
 *
 * Returns: (transfer full): the device, or %NULL with %LOOM_ERROR_NO_DEVICE and a
 *   message a user can act on
 */
LoomDevice *
loom_device_new (const char *selector,
                 GError    **error)
{
  g_autoptr(LoomDevice) self = g_object_new (LOOM_TYPE_DEVICE, NULL);

  if (!device_setup (self, selector, error))
    return NULL;
  return g_steal_pointer (&self);
}

static void
new_worker (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;
  LoomDevice *device = loom_device_new (task_data, &error);

  if (device == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, device, g_object_unref);
}

/* Opens the device on a thread of GIO's pool: there is no device worker yet. */
void
loom_device_new_async (const char         *selector,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, loom_device_new_async);
  g_task_set_task_data (task, g_strdup (selector), g_free);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, new_worker);
}

LoomDevice *
loom_device_new_finish (GAsyncResult *result,
                        GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == loom_device_new_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * loom_device_get_info:
 *
 * Returns: (transfer none): what the device is and can do
 */
LoomDeviceInfo *
loom_device_get_info (LoomDevice *self)
{
  g_return_val_if_fail (LOOM_IS_DEVICE (self), NULL);
  return self->info;
}

const char *
loom_device_get_name (LoomDevice *self)
{
  g_return_val_if_fail (LOOM_IS_DEVICE (self), NULL);
  return self->info->name;
}

/**
 * loom_device_dup_profile_table:
 *
 * Returns: (transfer full) (nullable): the GPU time per operation so far, as a text
 *   table, or %NULL when profiling is off (set `LOOM_PROFILE=1`)
 */
char *
loom_device_dup_profile_table (LoomDevice *self)
{
  g_return_val_if_fail (LOOM_IS_DEVICE (self), NULL);
  if (self->profiler == NULL)
    return NULL;
  return loom_profiler_format_table (self->profiler);
}

void
loom_device_reset_profile (LoomDevice *self)
{
  g_return_if_fail (LOOM_IS_DEVICE (self));
  if (self->profiler != NULL)
    loom_profiler_reset (self->profiler);
}

/* Counts an allocation (@bytes > 0) or its release (< 0); any thread. */
void
loom_device_account_memory (LoomDevice *self,
                            gint64      bytes)
{
  gint64 in_use = __atomic_add_fetch (&self->memory_in_use, bytes, __ATOMIC_RELAXED);
  gint64 peak = __atomic_load_n (&self->memory_peak, __ATOMIC_RELAXED);

  while (in_use > peak
         && !__atomic_compare_exchange_n (&self->memory_peak, &peak, in_use, TRUE,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
}

/* Bytes of device memory Loom holds now, and the most it has held. */
guint64
loom_device_get_memory_in_use (LoomDevice *self)
{
  g_return_val_if_fail (LOOM_IS_DEVICE (self), 0);
  return (guint64) __atomic_load_n (&self->memory_in_use, __ATOMIC_RELAXED);
}

guint64
loom_device_get_memory_peak (LoomDevice *self)
{
  g_return_val_if_fail (LOOM_IS_DEVICE (self), 0);
  return (guint64) __atomic_load_n (&self->memory_peak, __ATOMIC_RELAXED);
}

/* The largest window ops bind at once, in bytes. */
guint64
loom_device_get_max_binding_range (LoomDevice *self)
{
  return self->max_binding_range;
}

LoomKernelStyle
loom_device_get_kernel_style (LoomDevice *self)
{
  return self->kernel_style;
}

VkDevice
loom_device_get_handle (LoomDevice *self)
{
  return self->handle;
}

VkPhysicalDevice
loom_device_get_physical_device (LoomDevice *self)
{
  return self->physical_device;
}

guint32
loom_device_get_queue_family (LoomDevice *self)
{
  return self->info->compute_queue_family;
}

VkPipelineCache
loom_device_get_pipeline_cache (LoomDevice *self)
{
  return self->pipeline_cache;
}

gboolean
loom_device_get_unified_memory (LoomDevice *self)
{
  return self->unified_memory;
}

char *
loom_device_dup_pipeline_cache_path (LoomDevice *self)
{
  return g_strdup (self->pipeline_cache_path);
}

/* What the device found on disk when it opened; for the tests. */
LoomPipelineCacheState
loom_device_get_pipeline_cache_state (LoomDevice *self)
{
  return self->pipeline_cache_state;
}

LoomProfiler *
loom_device_get_profiler (LoomDevice *self)
{
  return self->profiler;
}

typedef struct
{
  VkMemoryPropertyFlags required;
  VkMemoryPropertyFlags forbidden;
} MemoryChoice;

/* Picks a memory type for @use among @type_bits (from VkMemoryRequirements), trying
 * the choices in order. *out_host_visible says whether the buffer is to be mapped. */
gboolean
loom_device_find_memory_type (LoomDevice   *self,
                              guint32       type_bits,
                              LoomMemoryUse use,
                              guint32      *out_type,
                              gboolean     *out_host_visible)
{
  const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
                                     | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  MemoryChoice choices[3];
  guint n_choices = 0;

  switch (use)
    {
    case LOOM_MEMORY_DEVICE:
      if (self->unified_memory)
        choices[n_choices++] = (MemoryChoice) { local | host, 0 };
      else
        /* Keep a discrete card's small host-mapped window free for staging. */
        choices[n_choices++] = (MemoryChoice) { local, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT };
      choices[n_choices++] = (MemoryChoice) { local, 0 };
      choices[n_choices++] = (MemoryChoice) { 0, 0 };
      break;
    case LOOM_MEMORY_READBACK:
      choices[n_choices++] = (MemoryChoice) { host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0 };
      choices[n_choices++] = (MemoryChoice) { host, 0 };
      break;
    case LOOM_MEMORY_UPLOAD:
    default:
      choices[n_choices++] = (MemoryChoice) { host, 0 };
      break;
    }

  for (guint c = 0; c < n_choices; c++)
    for (guint32 i = 0; i < self->memory.memoryTypeCount; i++)
      {
        VkMemoryPropertyFlags flags = self->memory.memoryTypes[i].propertyFlags;
        if ((type_bits & (1u << i)) == 0
            || (flags & choices[c].required) != choices[c].required
            || (flags & choices[c].forbidden) != 0)
          continue;
        *out_type = i;
        *out_host_visible = (use != LOOM_MEMORY_DEVICE || self->unified_memory)
                            && (flags & host) == host;
        return TRUE;
      }
  return FALSE;
}

/* Returns the pipeline for @desc, creating it on first use; the device owns it. Safe
 * from any thread. */
LoomPipeline *
loom_device_get_pipeline (LoomDevice             *self,
                          const LoomPipelineDesc *desc,
                          GError                **error)
{
  LoomPipeline *pipeline;

  g_mutex_lock (&self->pipeline_lock);
  pipeline = g_hash_table_lookup (self->pipelines, desc);
  if (pipeline == NULL)
    {
      pipeline = loom_pipeline_new (self, desc, error);
      if (pipeline != NULL)
        {
          LoomPipelineDesc *key = g_memdup2 (desc, sizeof *desc);
          key->shader = g_strdup (desc->shader);
          g_hash_table_insert (self->pipelines, key, pipeline);
          self->pipeline_cache_dirty = TRUE;
        }
    }
  g_mutex_unlock (&self->pipeline_lock);

  return pipeline;
}

gboolean
loom_device_submit (LoomDevice     *self,
                    VkCommandBuffer command_buffer,
                    VkFence         fence,
                    GError        **error)
{
  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &command_buffer,
  };
  VkResult result;

  g_mutex_lock (&self->queue_lock);
  result = vkQueueSubmit (self->queue, 1, &submit, fence);
  g_mutex_unlock (&self->queue_lock);

  if (self->profiler != NULL)
    loom_profiler_count_submit (self->profiler);
  return loom_vk_check (result, "Submitting GPU work", error);
}

/* Queues @task on the worker thread; @func runs there and returns the task. */
void
loom_device_run_in_worker (LoomDevice     *self,
                           GTask          *task,
                           GTaskThreadFunc func)
{
  loom_worker_push (self->worker, task, func);
}

gboolean
loom_device_is_worker_thread (LoomDevice *self)
{
  return self->worker != NULL && loom_worker_is_current_thread (self->worker);
}
