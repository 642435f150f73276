/* loom-text-session-private.h — the synchronous core of a session, for tools and tests. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "runtime/loom-stream.h"
#include "text/loom-text-model-private.h"
#include "text/loom-text-session.h"

G_BEGIN_DECLS

char  *loom_text_session_generate     (LoomTextSession           *self,
                                       const char                *prompt,
                                       const LoomGenerateOptions *options,
                                       LoomStream                *stream,
                                       GCancellable              *cancellable,
                                       LoomGenerateStats         *stats,
                                       GError                   **error);
guint   loom_text_session_get_n_cached (LoomTextSession           *self);
GArray *loom_text_session_dup_cached   (LoomTextSession           *self);

G_END_DECLS
