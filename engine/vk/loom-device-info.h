/* loom-device-info.h — what a Vulkan device is and can do, as Loom sees it.
 *
 * A LoomDeviceInfo is an immutable snapshot taken when devices are enumerated. It is
 * what `candor-cli devices` prints and what device selection ranks.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include "loom-types.h"

G_BEGIN_DECLS

/* Ordered by preference: device selection picks the highest kind. */
typedef enum
{
  LOOM_DEVICE_KIND_OTHER,
  LOOM_DEVICE_KIND_CPU,
  LOOM_DEVICE_KIND_VIRTUAL,
  LOOM_DEVICE_KIND_INTEGRATED,
  LOOM_DEVICE_KIND_DISCRETE,
} LoomDeviceKind;

#define LOOM_TYPE_DEVICE_INFO (loom_device_info_get_type ())

GType           loom_device_info_get_type                     (void) G_GNUC_CONST;
LoomDeviceInfo *loom_device_info_ref                          (LoomDeviceInfo *self);
void            loom_device_info_unref                        (LoomDeviceInfo *self);

guint           loom_device_info_get_index                    (LoomDeviceInfo *self);
const char     *loom_device_info_get_name                     (LoomDeviceInfo *self);
LoomDeviceKind  loom_device_info_get_kind                     (LoomDeviceInfo *self);
const char     *loom_device_kind_to_string                    (LoomDeviceKind  kind);
guint32         loom_device_info_get_vendor_id                (LoomDeviceInfo *self);
guint32         loom_device_info_get_device_id                (LoomDeviceInfo *self);
const char     *loom_device_info_get_driver_name              (LoomDeviceInfo *self);
const char     *loom_device_info_get_driver_info              (LoomDeviceInfo *self);
char           *loom_device_info_dup_api_version              (LoomDeviceInfo *self);
guint           loom_device_info_get_n_heaps                  (LoomDeviceInfo *self);
guint64         loom_device_info_get_heap_size                (LoomDeviceInfo *self,
                                                               guint           heap);
gboolean        loom_device_info_get_heap_device_local        (LoomDeviceInfo *self,
                                                               guint           heap);
gboolean        loom_device_info_get_unified_memory           (LoomDeviceInfo *self);
guint           loom_device_info_get_subgroup_size            (LoomDeviceInfo *self);
guint64         loom_device_info_get_max_storage_buffer_range (LoomDeviceInfo *self);
guint64         loom_device_info_get_max_allocation_size      (LoomDeviceInfo *self);
guint           loom_device_info_get_max_shared_memory        (LoomDeviceInfo *self);
gboolean        loom_device_info_get_supports_f16             (LoomDeviceInfo *self);
gboolean        loom_device_info_get_supports_int8            (LoomDeviceInfo *self);
gboolean        loom_device_info_get_supports_timestamps      (LoomDeviceInfo *self);
gboolean        loom_device_info_get_usable                   (LoomDeviceInfo *self);
const char     *loom_device_info_get_unusable_reason          (LoomDeviceInfo *self);

GPtrArray      *loom_device_enumerate                         (GError        **error);
gboolean        loom_device_choose                            (GPtrArray      *infos,
                                                               const char     *selector,
                                                               guint          *out_index,
                                                               GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomDeviceInfo, loom_device_info_unref)

G_END_DECLS
