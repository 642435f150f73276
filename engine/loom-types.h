/* loom-types.h — forward declarations of every Loom type, so headers never include
 * each other in cycles.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _LoomDevice     LoomDevice;
typedef struct _LoomDeviceInfo LoomDeviceInfo;
typedef struct _LoomTextModel   LoomTextModel;
typedef struct _LoomTextSession LoomTextSession;
typedef struct _LoomAuthorship  LoomAuthorship;
typedef struct _LoomEventLog    LoomEventLog;

/* Internal types, used by the engine, candor-cli and the tests. */
typedef struct _LoomBuffer      LoomBuffer;
typedef struct _LoomCommand     LoomCommand;
typedef struct _LoomInstance    LoomInstance;
typedef struct _LoomPipeline    LoomPipeline;
typedef struct _LoomProfiler    LoomProfiler;
typedef struct _LoomProgress    LoomProgress;
typedef struct _LoomWorker      LoomWorker;

/**
 * LoomProgressFunc:
 * @done: steps finished
 * @total: steps in all
 * @user_data: the data given with the callback
 *
 * Reports the progress of a job. It is called on the main context the job was started
 * from, never on the worker thread, and updates are coalesced: a slow main loop sees the
 * latest step, not every step.
 */
typedef void (*LoomProgressFunc) (guint    done,
                                  guint    total,
                                  gpointer user_data);

/**
 * LoomTextFunc:
 * @text: generated text, whole UTF-8 characters
 * @user_data: the data given with the callback
 *
 * Receives generated text as it comes, on the main context the generation was started
 * from; pieces produced while that context was busy arrive together.
 */
typedef void (*LoomTextFunc) (const char *text,
                              gpointer    user_data);

G_END_DECLS
