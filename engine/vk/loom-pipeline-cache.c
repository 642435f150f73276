/* loom-pipeline-cache.c — load, validate and save VkPipelineCache data. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "loom-device-info-private.h"
#include "loom-pipeline-cache.h"
#include "loom-vk-error.h"

/* The header every VkPipelineCache blob starts with (Vulkan spec, “Pipeline Cache
 * Header”), read field by field in little-endian order. */
#define CACHE_HEADER_SIZE 32

char *
loom_pipeline_cache_path (LoomDeviceInfo *info)
{
  g_autofree char *uuid = NULL;
  GString *hex = g_string_new (NULL);

  for (guint i = 0; i < VK_UUID_SIZE; i++)
    g_string_append_printf (hex, "%02x", info->pipeline_cache_uuid[i]);
  uuid = g_string_free (hex, FALSE);

  return g_strdup_printf ("%s/candor/vulkan-pipelines/%04x-%04x-%08x-%s.bin",
                          g_get_user_cache_dir (), info->vendor_id, info->device_id,
                          info->driver_version, uuid);
}

static guint32
read_le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

/* TRUE when @data was written by this very device and driver build. Drivers check this
 * too, but not all of them carefully, and the file is outside our control. */
static gboolean
header_matches (const guint8   *data,
                gsize           size,
                LoomDeviceInfo *info)
{
  if (size < CACHE_HEADER_SIZE)
    return FALSE;
  return read_le32 (data) >= CACHE_HEADER_SIZE
         && read_le32 (data) <= size
         && read_le32 (data + 4) == VK_PIPELINE_CACHE_HEADER_VERSION_ONE
         && read_le32 (data + 8) == info->vendor_id
         && read_le32 (data + 12) == info->device_id
         && memcmp (data + 16, info->pipeline_cache_uuid, VK_UUID_SIZE) == 0;
}

/* Returns a pipeline cache seeded from @path when the file is valid for this device,
 * otherwise an empty one; VK_NULL_HANDLE only if the driver cannot create one at all. */
VkPipelineCache
loom_pipeline_cache_load (VkDevice                device,
                          LoomDeviceInfo         *info,
                          const char             *path,
                          LoomPipelineCacheState *state)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  VkPipelineCache cache = VK_NULL_HANDLE;
  gsize size = 0;
  VkPipelineCacheCreateInfo create_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
  };

  *state = LOOM_PIPELINE_CACHE_IGNORED;
  if (!g_file_get_contents (path, &contents, &size, &error))
    {
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        *state = LOOM_PIPELINE_CACHE_EMPTY;
      else
        g_debug ("Ignoring the pipeline cache: %s", error->message);
    }
  else if (!header_matches ((const guint8 *) contents, size, info))
    g_debug ("Ignoring the pipeline cache %s: it was written for another device or driver",
             path);
  else
    {
      create_info.initialDataSize = size;
      create_info.pInitialData = contents;
    }

  if (vkCreatePipelineCache (device, &create_info, NULL, &cache) == VK_SUCCESS)
    {
      if (create_info.initialDataSize > 0)
        *state = LOOM_PIPELINE_CACHE_LOADED;
      return cache;
    }

  /* A driver may still reject data whose header looked right; start empty. */
  *state = LOOM_PIPELINE_CACHE_IGNORED;
  create_info.initialDataSize = 0;
  create_info.pInitialData = NULL;
  if (vkCreatePipelineCache (device, &create_info, NULL, &cache) == VK_SUCCESS)
    return cache;
  return VK_NULL_HANDLE;
}

/* Writes the cache atomically: a reader never sees half a file. */
gboolean
loom_pipeline_cache_save (VkDevice        device,
                          VkPipelineCache cache,
                          const char     *path,
                          GError        **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree guint8 *data = NULL;
  size_t size = 0;

  if (!loom_vk_check (vkGetPipelineCacheData (device, cache, &size, NULL),
                      "Reading the pipeline cache", error))
    return FALSE;
  if (size == 0)
    return TRUE;
  data = g_malloc (size);
  if (!loom_vk_check (vkGetPipelineCacheData (device, cache, &size, data),
                      "Reading the pipeline cache", error))
    return FALSE;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, (const char *) data, size,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}
