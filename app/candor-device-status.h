/* candor-device-status.h — a card saying which graphics device Candor runs on, or why
 * it has none. */
#pragma once

#include "candor-types.h"

G_BEGIN_DECLS

#define CANDOR_TYPE_DEVICE_STATUS (candor_device_status_get_type ())

G_DECLARE_FINAL_TYPE (CandorDeviceStatus, candor_device_status, CANDOR, DEVICE_STATUS, GtkWidget)

G_END_DECLS
