/* loom-instance.h — the process's Vulkan instance, shared by every LoomDevice.
 *
 * The instance lives as long as the process. Creating one loads the drivers; destroying
 * it unloads them, and doing that on a worker thread while the main thread exits the
 * process crashes inside the layers' exit handlers (seen in the tests). Devices come and
 * go; the instance stays.
 *
 * Validation layers are enabled when LOOM_VALIDATION is set (the test suites set it):
 * "1" enables them when installed, "require" fails without them. Every validation
 * message is logged as a critical, which the tests make fatal, and counted.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "loom-types.h"

G_BEGIN_DECLS

/* What to tell a user who has no usable Vulkan driver. */
#define LOOM_NO_DRIVER_HINT                                                                 \
  "Install the Vulkan driver for your graphics card: on Debian and Ubuntu, "                \
  "“mesa-vulkan-drivers” (AMD, Intel, and the CPU fallback “lavapipe”) or the NVIDIA "      \
  "driver package; in Flatpak, the matching GL extension of the runtime."

LoomInstance *loom_instance_get                          (GError      **error);
VkInstance    loom_instance_get_handle                   (LoomInstance *self);
gboolean      loom_instance_get_validation               (LoomInstance *self);
guint         loom_instance_get_validation_message_count (void);

G_END_DECLS
