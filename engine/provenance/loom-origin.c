/* loom-origin.c — origin names as files store them. */
#include "config.h"

#include "loom-origin.h"

static const char * const origin_names[LOOM_N_ORIGINS] = {
  [LOOM_ORIGIN_HUMAN_TYPED] = "human_typed",
  [LOOM_ORIGIN_AI_ACCEPTED] = "ai_accepted",
  [LOOM_ORIGIN_AI_EDITED] = "ai_edited",
  [LOOM_ORIGIN_PASTED] = "pasted",
  [LOOM_ORIGIN_IMPORTED] = "imported",
};

const char *
loom_origin_to_string (LoomOrigin origin)
{
  g_return_val_if_fail ((guint) origin < LOOM_N_ORIGINS, NULL);

  return origin_names[origin];
}

gboolean
loom_origin_from_string (const char *string,
                         LoomOrigin *origin)
{
  g_return_val_if_fail (origin != NULL, FALSE);

  if (string == NULL)
    return FALSE;

  for (guint i = 0; i < LOOM_N_ORIGINS; i++)
    if (g_str_equal (string, origin_names[i]))
      {
        *origin = i;
        return TRUE;
      }

  return FALSE;
}

/* Whether characters of this origin were written by a model. */
gboolean
loom_origin_is_model (LoomOrigin origin)
{
  return origin == LOOM_ORIGIN_AI_ACCEPTED || origin == LOOM_ORIGIN_AI_EDITED;
}
