/* loom-device.h — one Vulkan device, its compute queue and the worker thread that owns it.
 *
 * Every job that touches the GPU runs on the device's worker thread, in the order it
 * was queued; callers get GTask-style _async/_finish pairs and never wait on the GPU
 * from their own thread.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

#define LOOM_TYPE_DEVICE (loom_device_get_type ())

G_DECLARE_FINAL_TYPE (LoomDevice, loom_device, LOOM, DEVICE, GObject)

LoomDevice     *loom_device_new               (const char          *selector,
                                               GError             **error);
void            loom_device_new_async         (const char          *selector,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
LoomDevice     *loom_device_new_finish        (GAsyncResult        *result,
                                               GError             **error);
LoomDeviceInfo *loom_device_get_info          (LoomDevice          *self);
const char     *loom_device_get_name          (LoomDevice          *self);

void            loom_device_self_test_async   (LoomDevice          *self,
                                               LoomProgressFunc     progress_func,
                                               gpointer             progress_data,
                                               GDestroyNotify       progress_destroy,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
gboolean        loom_device_self_test_finish  (LoomDevice          *self,
                                               GAsyncResult        *result,
                                               GError             **error);

guint64         loom_device_get_memory_in_use (LoomDevice          *self);
guint64         loom_device_get_memory_peak   (LoomDevice          *self);
char           *loom_device_dup_profile_table (LoomDevice          *self);
void            loom_device_reset_profile     (LoomDevice          *self);

G_END_DECLS
