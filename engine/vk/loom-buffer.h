/* loom-buffer.h — a block of GPU memory that holds tensors.
 *
 * On unified memory (integrated GPUs, lavapipe) the buffer is mapped and written in
 * place; on a discrete GPU it lives in VRAM and loom_buffer_write()/read() go through a
 * staging buffer and a copy on the queue. A buffer may be larger than the device's
 * maxStorageBufferRange: shaders then bind windows of it (see loom_command_dispatch()).
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "loom-types.h"
#include "vk/loom-device-private.h"

G_BEGIN_DECLS

LoomBuffer *loom_buffer_new          (LoomDevice    *device,
                                      gsize          size,
                                      GError       **error);
LoomBuffer *loom_buffer_new_for_use  (LoomDevice    *device,
                                      gsize          size,
                                      LoomMemoryUse  use,
                                      GError       **error);
void        loom_buffer_free         (LoomBuffer    *self);
LoomDevice *loom_buffer_get_device   (LoomBuffer    *self);
gsize       loom_buffer_get_size     (LoomBuffer    *self);
VkBuffer    loom_buffer_get_handle   (LoomBuffer    *self);
gpointer    loom_buffer_get_mapped   (LoomBuffer    *self);
gboolean    loom_buffer_write        (LoomBuffer    *self,
                                      gsize          offset,
                                      gconstpointer  data,
                                      gsize          size,
                                      GError       **error);
gboolean    loom_buffer_read         (LoomBuffer    *self,
                                      gsize          offset,
                                      gpointer       data,
                                      gsize          size,
                                      GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomBuffer, loom_buffer_free)

G_END_DECLS
