/* loom-mapped-file.h — a model file mapped read-only, with errors a user can act on. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Maps @path read-only. A folder, a device or an unreadable file is a G_IO_ERROR naming
 * @display (the path as shown to the user). The mapping outlives the descriptor; the
 * file must not be truncated while mapped (reading past its end raises SIGBUS), which
 * is why model files are replaced by rename, never rewritten in place. An empty file
 * maps to NULL contents. */
GMappedFile *loom_mapped_file_open (const char  *path,
                                    const char  *display,
                                    GError     **error);

G_END_DECLS
