/* loom-profiler.h — GPU time per kind of dispatch, from timestamp queries.
 *
 * Enabled with LOOM_PROFILE=1: every recorded operation is then timed on the GPU (and
 * serialized by barriers so each time is its own), and the device prints a table of
 * where the time went when it is closed.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "loom-types.h"

G_BEGIN_DECLS

LoomProfiler *loom_profiler_new          (void);
void          loom_profiler_free         (LoomProfiler *self);
void          loom_profiler_add          (LoomProfiler *self,
                                          const char   *label,
                                          guint64       nanoseconds);
void          loom_profiler_count_submit (LoomProfiler *self);
char         *loom_profiler_format_table (LoomProfiler *self);
gboolean      loom_profiler_is_empty     (LoomProfiler *self);
void          loom_profiler_reset        (LoomProfiler *self);

G_END_DECLS
