/* loom-origin.h — where a character of a story came from (PROVENANCE.md §2). */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* The values are stored in files by name (loom_origin_to_string()), never by number. */
typedef enum
{
  LOOM_ORIGIN_HUMAN_TYPED,  /* keyboard or input method */
  LOOM_ORIGIN_AI_ACCEPTED,  /* from an accepted suggestion, unchanged since */
  LOOM_ORIGIN_AI_EDITED,    /* model text in a suggestion the author has since changed */
  LOOM_ORIGIN_PASTED,       /* clipboard or drop, from Candor or elsewhere */
  LOOM_ORIGIN_IMPORTED,     /* loaded from a file that had no Candor record */
} LoomOrigin;

#define LOOM_N_ORIGINS (LOOM_ORIGIN_IMPORTED + 1)

const char *loom_origin_to_string   (LoomOrigin  origin);
gboolean    loom_origin_from_string (const char *string,
                                     LoomOrigin *origin);
gboolean    loom_origin_is_model    (LoomOrigin  origin);

G_END_DECLS
