/* loom-ops-private.h — binding windows and workgroup grids, shared by every op. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "ops/loom-ops.h"
#include "ops/loom-ops-push.h"

G_BEGIN_DECLS

gsize   loom_ops_max_window_elements (LoomCommand *cmd,
                                      gsize        element_size);
guint32 loom_ops_bind                (LoomCommand *cmd,
                                      LoomBinding *binding,
                                      LoomView     view,
                                      gsize        first,
                                      gsize        count,
                                      gsize        element_size,
                                      LoomAccess   access);
gboolean loom_ops_rows_per_window    (LoomCommand *cmd,
                                      const char  *what,
                                      gsize        cols,
                                      gsize       *rows_per_dispatch);
gboolean loom_ops_fold_groups        (LoomCommand *cmd,
                                      gsize        n_groups,
                                      guint32     *groups_x,
                                      guint32     *groups_y);

G_END_DECLS
