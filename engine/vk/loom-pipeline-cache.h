/* loom-pipeline-cache.h — the driver's pipeline cache, kept on disk between runs.
 *
 * Compiling shaders is the slowest part of starting Loom on many drivers. The cache
 * lives under $XDG_CACHE_HOME/candor/vulkan-pipelines/, one file per device and driver
 * build. A file from another driver or a damaged file is ignored, never trusted.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "loom-types.h"

G_BEGIN_DECLS

char            *loom_pipeline_cache_path (LoomDeviceInfo *info);
VkPipelineCache  loom_pipeline_cache_load (VkDevice        device,
                                           LoomDeviceInfo *info,
                                           const char     *path);
gboolean         loom_pipeline_cache_save (VkDevice        device,
                                           VkPipelineCache cache,
                                           const char     *path,
                                           GError        **error);

G_END_DECLS
