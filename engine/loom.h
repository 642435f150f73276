/* loom.h — the public API of Loom, Candor's inference engine.
 *
 * Only this header is included from outside the engine. Loom depends on GLib, GIO,
 * json-glib and Vulkan; it never includes GTK.
 */
#ifndef LOOM_H
#define LOOM_H

#define LOOM_INSIDE

#include "loom-types.h"
#include "loom-error.h"
#include "vk/loom-device-info.h"
#include "vk/loom-device.h"
#include "text/loom-text-model.h"
#include "text/loom-text-session.h"
#include "provenance/loom-origin.h"
#include "provenance/loom-authorship.h"
#include "provenance/loom-event-log.h"
#include "provenance/loom-provenance-summary.h"
#include "image/loom-image.h"
#include "image/loom-image-model.h"

#undef LOOM_INSIDE

#endif /* LOOM_H */
