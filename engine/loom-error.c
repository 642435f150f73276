/* loom-error.c — the LOOM_ERROR domain. */
#include "config.h"

#include "loom-error.h"

G_DEFINE_QUARK (loom-error-quark, loom_error)
