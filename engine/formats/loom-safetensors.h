/* loom-safetensors.h — the safetensors format: read (mmapped, validated) and write.
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON
 * ({"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, …,
 * "__metadata__": {string: string}}), then the data; offsets are relative to the end of
 * the header. The reader treats the file as hostile: the header length is bounded, the
 * JSON must be an object of well-formed entries, every extent must lie inside the data,
 * match dtype × shape, and no two tensors may overlap.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* Headers larger than this are refused (real checkpoints have < 1 MiB). */
#define LOOM_SAFETENSORS_MAX_HEADER (100u * 1024 * 1024)
#define LOOM_SAFETENSORS_MAX_DIMS   8
/* The type of a tensor stored in a whole-byte dtype Loom does not compute with (I64,
 * U8, F8_E4M3, …): listed, extents checked, never read as weights. */
#define LOOM_SAFETENSORS_TYPE_OTHER G_MAXUINT32

typedef struct
{
  const char   *name;
  guint32       type;     /* LOOM_TENSOR_F32, _F16, _BF16 or LOOM_SAFETENSORS_TYPE_OTHER */
  const char   *dtype;    /* as the file names it: "F16", "I64", … */
  guint         n_dims;
  gint64        shape[LOOM_SAFETENSORS_MAX_DIMS];
  gsize         n_elements;
  const guint8 *data;     /* inside the mapping */
  gsize         bytes;
  gsize         file_offset;
} LoomSafetensor;

typedef struct _LoomSafetensors LoomSafetensors;

LoomSafetensors      *loom_safetensors_open          (const char       *path,
                                                      GError          **error);
/* The same checks on a buffer (tests, fuzzing); @data must outlive the result. */
LoomSafetensors      *loom_safetensors_new_from_data (const guint8     *data,
                                                      gsize             size,
                                                      GError          **error);
void                  loom_safetensors_free          (LoomSafetensors  *self);
const char           *loom_safetensors_get_path      (LoomSafetensors  *self);
guint                 loom_safetensors_get_n_tensors (LoomSafetensors  *self);
/* In file order of their data. */
const LoomSafetensor *loom_safetensors_get_tensor    (LoomSafetensors  *self,
                                                      guint             index);
const LoomSafetensor *loom_safetensors_lookup        (LoomSafetensors  *self,
                                                      const char       *name);
/* "__metadata__" values, or NULL. */
const char           *loom_safetensors_get_metadata  (LoomSafetensors  *self,
                                                      const char       *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomSafetensors, loom_safetensors_free)

/* Writing: add tensors (copied), then write the file atomically. */
typedef struct _LoomSafetensorsWriter LoomSafetensorsWriter;

LoomSafetensorsWriter *loom_safetensors_writer_new          (void);
void                   loom_safetensors_writer_free         (LoomSafetensorsWriter *self);
void                   loom_safetensors_writer_add          (LoomSafetensorsWriter *self,
                                                             const char            *name,
                                                             guint32                type,
                                                             guint                  n_dims,
                                                             const gint64          *shape,
                                                             gconstpointer          data);
void                   loom_safetensors_writer_set_metadata (LoomSafetensorsWriter *self,
                                                             const char            *key,
                                                             const char            *value);
gboolean               loom_safetensors_writer_write        (LoomSafetensorsWriter *self,
                                                             const char            *path,
                                                             GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomSafetensorsWriter, loom_safetensors_writer_free)

G_END_DECLS
