/* loom-command.h — record GPU work into one command buffer, submit it once, wait.
 *
 * Every dispatch goes through loom_command_dispatch(): it checks workgroup counts and
 * binding windows against the device's limits, writes the descriptors and push
 * constants, and inserts a barrier only where a binding overlaps an earlier write (or
 * writes what an earlier dispatch reads) since the last barrier. Recording never fails
 * on its own: the first error is kept and returned by loom_command_submit().
 *
 * A LoomCommand is used by one thread at a time.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "loom-types.h"
#include "vk/loom-buffer.h"
#include "vk/loom-pipeline.h"

G_BEGIN_DECLS

typedef enum
{
  LOOM_ACCESS_READ = 1 << 0,
  LOOM_ACCESS_WRITE = 1 << 1,
  LOOM_ACCESS_READ_WRITE = LOOM_ACCESS_READ | LOOM_ACCESS_WRITE,
} LoomAccess;

/* A window of a buffer bound to one shader binding. offset must be a multiple of the
 * device's minStorageBufferOffsetAlignment and size at most maxStorageBufferRange. */
typedef struct
{
  LoomBuffer *buffer;
  gsize       offset;  /* bytes */
  gsize       size;    /* bytes */
  LoomAccess  access;
} LoomBinding;

LoomCommand *loom_command_new             (LoomDevice             *device,
                                           GError                **error);
void         loom_command_free            (LoomCommand            *self);
LoomDevice  *loom_command_get_device      (LoomCommand            *self);
void         loom_command_dispatch        (LoomCommand            *self,
                                           const LoomPipelineDesc *desc,
                                           const LoomBinding      *bindings,
                                           gconstpointer           push,
                                           guint32                 groups_x,
                                           guint32                 groups_y,
                                           guint32                 groups_z);
void         loom_command_copy            (LoomCommand            *self,
                                           LoomBuffer             *src,
                                           gsize                   src_offset,
                                           LoomBuffer             *dst,
                                           gsize                   dst_offset,
                                           gsize                   size);
void         loom_command_fill            (LoomCommand            *self,
                                           LoomBuffer             *buffer,
                                           gsize                   offset,
                                           gsize                   size,
                                           guint32                 value);
void         loom_command_set_error       (LoomCommand            *self,
                                           GError                 *error);
void         loom_command_fail            (LoomCommand            *self,
                                           const char             *what,
                                           const char             *format,
                                           ...) G_GNUC_PRINTF (3, 4);
guint        loom_command_get_n_barriers  (LoomCommand            *self);
guint        loom_command_get_n_recorded  (LoomCommand            *self);
gboolean     loom_command_submit          (LoomCommand            *self,
                                           GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomCommand, loom_command_free)

G_END_DECLS
