/* loom-gguf-writer.h — write GGUF files, for tests and tools.
 *
 * Metadata and tensors are added in the order they will appear; tensor data is aligned
 * to general.alignment (32 unless set). The writer never writes a file the reader would
 * reject; tests build hostile files byte by byte.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "formats/loom-gguf.h"

G_BEGIN_DECLS

typedef struct _LoomGgufWriter LoomGgufWriter;

LoomGgufWriter *loom_gguf_writer_new           (void);
void            loom_gguf_writer_free          (LoomGgufWriter     *self);
void            loom_gguf_writer_set_version   (LoomGgufWriter     *self,
                                                guint32             version);
/* Also writes the general.alignment key. */
void            loom_gguf_writer_set_alignment (LoomGgufWriter     *self,
                                                guint32             alignment);

void            loom_gguf_writer_add_uint32    (LoomGgufWriter     *self,
                                                const char         *key,
                                                guint32             value);
void            loom_gguf_writer_add_int32     (LoomGgufWriter     *self,
                                                const char         *key,
                                                gint32              value);
void            loom_gguf_writer_add_uint64    (LoomGgufWriter     *self,
                                                const char         *key,
                                                guint64             value);
void            loom_gguf_writer_add_float32   (LoomGgufWriter     *self,
                                                const char         *key,
                                                float               value);
void            loom_gguf_writer_add_bool      (LoomGgufWriter     *self,
                                                const char         *key,
                                                gboolean            value);
void            loom_gguf_writer_add_string    (LoomGgufWriter     *self,
                                                const char         *key,
                                                const char         *value);
/* Any scalar type, @value pointing at the value in host representation. */
void            loom_gguf_writer_add_scalar    (LoomGgufWriter     *self,
                                                const char         *key,
                                                LoomGgufType        type,
                                                gconstpointer       value);
/* A numeric (or bool) array: @n elements of @type, packed in host representation. */
void            loom_gguf_writer_add_array     (LoomGgufWriter     *self,
                                                const char         *key,
                                                LoomGgufType        type,
                                                gconstpointer       values,
                                                gsize               n);
void            loom_gguf_writer_add_strings   (LoomGgufWriter     *self,
                                                const char         *key,
                                                const char * const *values,
                                                gsize               n);
/* An array of arrays (nested): @inner_type elements, @n arrays of @lengths[i] each,
 * their elements concatenated in @values (or strings, for LOOM_GGUF_STRING). */
void            loom_gguf_writer_add_nested    (LoomGgufWriter     *self,
                                                const char         *key,
                                                LoomGgufType        inner_type,
                                                gconstpointer       values,
                                                const gsize        *lengths,
                                                gsize               n);

/* @ne[0] is the row length (fastest dimension); @data holds the tensor in @type's
 * storage format and is referenced, not copied. */
void            loom_gguf_writer_add_tensor    (LoomGgufWriter     *self,
                                                const char         *name,
                                                LoomTensorType      type,
                                                guint               n_dims,
                                                const guint64      *ne,
                                                GBytes             *data);

gboolean        loom_gguf_writer_write         (LoomGgufWriter     *self,
                                                const char         *path,
                                                GError            **error);
GBytes         *loom_gguf_writer_to_bytes      (LoomGgufWriter     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomGgufWriter, loom_gguf_writer_free)

G_END_DECLS
