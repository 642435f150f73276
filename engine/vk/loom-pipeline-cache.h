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

/* What loading found, for the tests. */
typedef enum
{
  LOOM_PIPELINE_CACHE_EMPTY,    /* no file yet */
  LOOM_PIPELINE_CACHE_LOADED,   /* the file's data seeded the cache */
  LOOM_PIPELINE_CACHE_IGNORED,  /* a file was there, unreadable, foreign or rejected */
} LoomPipelineCacheState;

char            *loom_pipeline_cache_path (LoomDeviceInfo         *info);
VkPipelineCache  loom_pipeline_cache_load (VkDevice                device,
                                           LoomDeviceInfo         *info,
                                           const char             *path,
                                           LoomPipelineCacheState *state);
gboolean         loom_pipeline_cache_save (VkDevice        device,
                                           VkPipelineCache cache,
                                           const char     *path,
                                           GError        **error);

G_END_DECLS
