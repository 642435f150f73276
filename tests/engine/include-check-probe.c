/* A file that breaks the engine's rule on purpose: check-engine-includes.py must reject
 * it (tests/engine/meson.build expects that run to fail). It is never compiled. */
#include <gtk/gtk.h>
