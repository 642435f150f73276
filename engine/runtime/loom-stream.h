/* loom-stream.h — text from a worker, delivered on the caller's context.
 *
 * The worker appends text as it is produced; the caller's callback receives it on its
 * main context, coalesced: when the main loop is busy, several pieces arrive as one
 * string, never split inside a UTF-8 character (the worker only appends whole text).
 * As with LoomProgress, the caller's data is released on its context.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

typedef struct _LoomStream LoomStream;

LoomStream *loom_stream_new    (GMainContext  *context,
                                LoomTextFunc   func,
                                gpointer       data,
                                GDestroyNotify destroy);
void        loom_stream_append (LoomStream    *self,
                                const char    *text,
                                gssize         length);
void        loom_stream_finish (LoomStream    *self);
void        loom_stream_unref  (LoomStream    *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomStream, loom_stream_unref)

G_END_DECLS
