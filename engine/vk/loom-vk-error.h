/* loom-vk-error.h — the one place a VkResult becomes a GError. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "loom-error.h"

G_BEGIN_DECLS

const char *loom_vk_result_to_string (VkResult    result);
gboolean    loom_vk_check            (VkResult    result,
                                      const char *what,
                                      GError    **error);

G_END_DECLS
