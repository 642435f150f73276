/* loom-progress.h — progress from a worker, delivered coalesced on the caller's context.
 *
 * The worker calls loom_progress_update() as often as it likes; at most one delivery is
 * pending on the caller's main context at a time, and it reports the latest step. The
 * caller's callback and the destroy notify of its data both run on that context.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

LoomProgress *loom_progress_new    (GMainContext    *context,
                                    LoomProgressFunc func,
                                    gpointer         data,
                                    GDestroyNotify   destroy);
void          loom_progress_update (LoomProgress    *self,
                                    guint            done,
                                    guint            total);
void          loom_progress_finish (LoomProgress    *self);
void          loom_progress_unref  (LoomProgress    *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomProgress, loom_progress_unref)

G_END_DECLS
