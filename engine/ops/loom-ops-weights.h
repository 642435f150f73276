/* loom-ops-weights.h — weights in their stored type: the kernels that read them and how
 * their rows are bound.
 *
 * The typed kernels (shaders/quant.glsl and the shaders that include it) read weights as
 * 32-bit words and address them in 16-bit units from the start of their binding, so a
 * tensor may start at any even byte offset: its rows (of 18-, 22-, 34- or 210-byte
 * blocks) are often only 2-byte aligned.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "ops/loom-ops-private.h"

G_BEGIN_DECLS

/* The longest shader name loom_weights_shader() writes, with its terminator. */
#define LOOM_WEIGHTS_SHADER_MAX 32

gboolean loom_weights_typed       (guint32      type);
void     loom_weights_shader      (char         name[LOOM_WEIGHTS_SHADER_MAX],
                                   const char  *prefix,
                                   guint32      type,
                                   const char  *suffix);
gboolean loom_weights_row_bytes   (guint32      type,
                                   gsize        k,
                                   gsize       *row_bytes);
gsize    loom_weights_max_window  (LoomCommand *cmd);
guint32  loom_weights_bind        (LoomCommand *cmd,
                                   LoomBinding *binding,
                                   LoomView     view,
                                   gsize        first,
                                   gsize        size);
gboolean loom_weights_groups_aligned (guint32 type,
                                      gsize   k,
                                      guint32 w_base);
gboolean loom_weights_pieces_aligned (guint32 type,
                                      gsize   k,
                                      guint32 w_base);
gboolean loom_weights_cpu_kernels_usable (LoomDevice *device);

G_END_DECLS
