/* loom-error.h — the error domain of the engine.
 *
 * Codes are the ones a caller can act on. Problems reading a file stay in G_IO_ERROR,
 * with context added by g_prefix_error().
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define LOOM_ERROR (loom_error_quark ())

typedef enum
{
  LOOM_ERROR_NO_DEVICE,            /* no usable Vulkan device, or LOOM_DEVICE matches none */
  LOOM_ERROR_OUT_OF_DEVICE_MEMORY, /* an allocation did not fit the device */
  LOOM_ERROR_DEVICE_LOST,          /* the driver reset the device; recreate it */
  LOOM_ERROR_UNSUPPORTED_MODEL,    /* a valid file Loom cannot run (architecture, type) */
  LOOM_ERROR_INVALID_MODEL,        /* a corrupt or inconsistent model file */
  LOOM_ERROR_SHADER,               /* a shader failed to load, reflect or compile */
  LOOM_ERROR_FAILED,               /* anything else, with a message */
} LoomError;

GQuark loom_error_quark (void);

G_END_DECLS
