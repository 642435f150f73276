/* loom-instance.c — the shared VkInstance, validation layers and their messages. */
#include "config.h"

#include <string.h>

#include "loom-instance.h"
#include "loom-vk-error.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

struct _LoomInstance
{
  VkInstance               handle;
  VkDebugUtilsMessengerEXT messenger;
  gboolean                 validation;
};

/* The process's instance, created on first use. Guarded by instance_lock. */
static GMutex        instance_lock;
static LoomInstance *the_instance;
static guint         validation_messages;

static VKAPI_ATTR VkBool32 VKAPI_CALL
validation_message_cb (VkDebugUtilsMessageSeverityFlagBitsEXT      severity,
                       VkDebugUtilsMessageTypeFlagsEXT             types,
                       const VkDebugUtilsMessengerCallbackDataEXT *data,
                       void                                       *user_data)
{
  /* Runs on whichever thread made the Vulkan call. */
  g_atomic_int_inc (&validation_messages);
  g_critical ("Vulkan validation (%s): %s",
              data->pMessageIdName != NULL ? data->pMessageIdName : "message",
              data->pMessage != NULL ? data->pMessage : "");
  return VK_FALSE;
}

guint
loom_instance_get_validation_message_count (void)
{
  return g_atomic_int_get (&validation_messages);
}

static gboolean
has_layer (const char *name)
{
  uint32_t count = 0;
  g_autofree VkLayerProperties *layers = NULL;

  if (vkEnumerateInstanceLayerProperties (&count, NULL) != VK_SUCCESS || count == 0)
    return FALSE;
  layers = g_new0 (VkLayerProperties, count);
  if (vkEnumerateInstanceLayerProperties (&count, layers) != VK_SUCCESS)
    return FALSE;
  for (uint32_t i = 0; i < count; i++)
    if (strcmp (layers[i].layerName, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
has_instance_extension (const char *layer,
                        const char *name)
{
  uint32_t count = 0;
  g_autofree VkExtensionProperties *exts = NULL;

  if (vkEnumerateInstanceExtensionProperties (layer, &count, NULL) != VK_SUCCESS || count == 0)
    return FALSE;
  exts = g_new0 (VkExtensionProperties, count);
  if (vkEnumerateInstanceExtensionProperties (layer, &count, exts) != VK_SUCCESS)
    return FALSE;
  for (uint32_t i = 0; i < count; i++)
    if (strcmp (exts[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}


static void instance_free (LoomInstance *self);

static gboolean
instance_init (LoomInstance *self,
               GError      **error)
{
  const char *validation_env = g_getenv ("LOOM_VALIDATION");
  gboolean want_validation = validation_env != NULL && *validation_env != '\0'
                             && strcmp (validation_env, "0") != 0;
  gboolean require_validation = g_strcmp0 (validation_env, "require") == 0;
  const char *layers[1];
  const char *extensions[1];
  uint32_t n_layers = 0, n_extensions = 0;
  VkApplicationInfo app_info = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Candor",
    .applicationVersion = VK_MAKE_API_VERSION (0, 0, 1, 0),
    .pEngineName = "Loom",
    .engineVersion = VK_MAKE_API_VERSION (0, 0, 1, 0),
    .apiVersion = VK_API_VERSION_1_2,
  };
  /* Synchronization validation catches a missing barrier, the bug a hazard-tracking
   * recorder is most likely to have. */
  VkValidationFeatureEnableEXT enables[] = {
    VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT,
  };
  VkValidationFeaturesEXT validation_features = {
    .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
    .enabledValidationFeatureCount = G_N_ELEMENTS (enables),
    .pEnabledValidationFeatures = enables,
  };
  VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT
                       | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT
                   | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = validation_message_cb,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pApplicationInfo = &app_info,
  };
  VkResult result;

  if (want_validation)
    {
      if (has_layer (VALIDATION_LAYER)
          && has_instance_extension (NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
        {
          layers[n_layers++] = VALIDATION_LAYER;
          extensions[n_extensions++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
          self->validation = TRUE;
          messenger_info.pNext = &validation_features;
          info.pNext = &messenger_info;
        }
      else if (require_validation)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "LOOM_VALIDATION=require, but the Vulkan validation layers are not "
                       "installed (Debian and Ubuntu: “vulkan-validationlayers”)");
          return FALSE;
        }
      else
        g_debug ("LOOM_VALIDATION is set, but the validation layers are not installed");
    }

  info.enabledLayerCount = n_layers;
  info.ppEnabledLayerNames = layers;
  info.enabledExtensionCount = n_extensions;
  info.ppEnabledExtensionNames = extensions;

  result = vkCreateInstance (&info, NULL, &self->handle);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER || result == VK_ERROR_INITIALIZATION_FAILED)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                   "No Vulkan driver could be loaded (%s). %s",
                   loom_vk_result_to_string (result), LOOM_NO_DRIVER_HINT);
      return FALSE;
    }
  if (!loom_vk_check (result, "Creating the Vulkan instance", error))
    return FALSE;

  if (self->validation)
    {
      PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT) vkGetInstanceProcAddr (self->handle,
                                                                   "vkCreateDebugUtilsMessengerEXT");
      messenger_info.pNext = NULL;
      if (create_messenger == NULL
          || !loom_vk_check (create_messenger (self->handle, &messenger_info, NULL,
                                               &self->messenger),
                             "Creating the validation messenger", error))
        return FALSE;
    }

  return TRUE;
}

static LoomInstance *
instance_new (GError **error)
{
  LoomInstance *self = g_new0 (LoomInstance, 1);

  if (!instance_init (self, error))
    {
      instance_free (self);
      return NULL;
    }
  return self;
}

static void
instance_free (LoomInstance *self)
{
  if (self->messenger != VK_NULL_HANDLE)
    {
      PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
        (PFN_vkDestroyDebugUtilsMessengerEXT) vkGetInstanceProcAddr (self->handle,
                                                                    "vkDestroyDebugUtilsMessengerEXT");
      if (destroy_messenger != NULL)
        destroy_messenger (self->handle, self->messenger, NULL);
    }
  if (self->handle != VK_NULL_HANDLE)
    vkDestroyInstance (self->handle, NULL);
  g_free (self);
}

/**
 * loom_instance_get:
 *
 * Returns: (transfer none) (nullable): the process's instance, created on first use;
 *   %NULL with %LOOM_ERROR_NO_DEVICE when no Vulkan driver loads (a later call tries
 *   again, e.g. after the user installed one)
 */
LoomInstance *
loom_instance_get (GError **error)
{
  LoomInstance *self;

  g_mutex_lock (&instance_lock);
  if (the_instance == NULL)
    the_instance = instance_new (error);
  self = the_instance;
  g_mutex_unlock (&instance_lock);

  return self;
}

VkInstance
loom_instance_get_handle (LoomInstance *self)
{
  return self->handle;
}

gboolean
loom_instance_get_validation (LoomInstance *self)
{
  return self->validation;
}
