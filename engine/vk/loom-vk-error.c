/* loom-vk-error.c — VkResult to GError. */
#include "config.h"

#include "loom-vk-error.h"

const char *
loom_vk_result_to_string (VkResult result)
{
  switch (result)
    {
#define CASE(x) case x: return #x
      CASE (VK_SUCCESS);
      CASE (VK_NOT_READY);
      CASE (VK_TIMEOUT);
      CASE (VK_INCOMPLETE);
      CASE (VK_ERROR_OUT_OF_HOST_MEMORY);
      CASE (VK_ERROR_OUT_OF_DEVICE_MEMORY);
      CASE (VK_ERROR_INITIALIZATION_FAILED);
      CASE (VK_ERROR_DEVICE_LOST);
      CASE (VK_ERROR_MEMORY_MAP_FAILED);
      CASE (VK_ERROR_LAYER_NOT_PRESENT);
      CASE (VK_ERROR_EXTENSION_NOT_PRESENT);
      CASE (VK_ERROR_FEATURE_NOT_PRESENT);
      CASE (VK_ERROR_INCOMPATIBLE_DRIVER);
      CASE (VK_ERROR_TOO_MANY_OBJECTS);
      CASE (VK_ERROR_FORMAT_NOT_SUPPORTED);
      CASE (VK_ERROR_FRAGMENTED_POOL);
      CASE (VK_ERROR_OUT_OF_POOL_MEMORY);
      CASE (VK_ERROR_INVALID_SHADER_NV);
      CASE (VK_ERROR_UNKNOWN);
#undef CASE
    default:
      return "VK_ERROR (unnamed)";
    }
}

/* Returns TRUE for success; otherwise sets @error with a code the caller can act on
 * and a message that names the call that failed. */
gboolean
loom_vk_check (VkResult    result,
               const char *what,
               GError    **error)
{
  LoomError code;
  const char *hint = "";

  if (result >= 0)
    return TRUE;

  switch (result)
    {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_TOO_MANY_OBJECTS:
      code = LOOM_ERROR_OUT_OF_DEVICE_MEMORY;
      hint = " (close other GPU programs or choose a smaller model)";
      break;
    case VK_ERROR_DEVICE_LOST:
      code = LOOM_ERROR_DEVICE_LOST;
      hint = " (the graphics driver reset the device)";
      break;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED:
      code = LOOM_ERROR_NO_DEVICE;
      break;
    case VK_ERROR_INVALID_SHADER_NV:
      code = LOOM_ERROR_SHADER;
      break;
    default:
      code = LOOM_ERROR_FAILED;
      break;
    }

  g_set_error (error, LOOM_ERROR, code, "%s failed: %s%s",
               what, loom_vk_result_to_string (result), hint);
  return FALSE;
}
