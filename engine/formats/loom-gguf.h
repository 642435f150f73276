/* loom-gguf.h — a validated, memory-mapped view of a GGUF file.
 *
 * GGUF (versions 2 and 3): a header, key/value metadata, tensor infos, then the tensor
 * data at an aligned offset. The file is untrusted input: opening it checks every count,
 * length, type, offset and extent against the file's size before anything is allocated
 * from it, and a bad file gives LOOM_ERROR_INVALID_MODEL with a message that says what
 * is wrong and at which byte. After a successful open, every accessor is safe.
 *
 * A LoomGguf is immutable and may be shared between threads.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "formats/loom-tensor-type.h"

G_BEGIN_DECLS

typedef struct _LoomGguf LoomGguf;

/* The metadata value types, numbered as in the file. */
typedef enum
{
  LOOM_GGUF_UINT8 = 0,
  LOOM_GGUF_INT8 = 1,
  LOOM_GGUF_UINT16 = 2,
  LOOM_GGUF_INT16 = 3,
  LOOM_GGUF_UINT32 = 4,
  LOOM_GGUF_INT32 = 5,
  LOOM_GGUF_FLOAT32 = 6,
  LOOM_GGUF_BOOL = 7,
  LOOM_GGUF_STRING = 8,
  LOOM_GGUF_ARRAY = 9,
  LOOM_GGUF_UINT64 = 10,
  LOOM_GGUF_INT64 = 11,
  LOOM_GGUF_FLOAT64 = 12,
  LOOM_GGUF_INVALID = -1,  /* not a type: “no such key” */
} LoomGgufType;

/* An array value. Numeric elements are packed little-endian in the file and may be
 * unaligned: read them with the accessors below. */
typedef struct
{
  LoomGgufType  type;     /* of the elements */
  guint64       n;        /* number of elements */
  /*< private >*/
  const LoomGguf *gguf;
  gconstpointer   data;   /* first element, in the mapped file */
  const guint64  *index;  /* strings and nested arrays: each element's offset */
} LoomGgufArray;

typedef struct
{
  const char    *name;     /* NUL-terminated copy */
  LoomTensorType type;     /* a ggml id; check loom_tensor_type_get_info()->supported */
  guint          n_dims;   /* 1 to 4 */
  guint64        ne[4];    /* elements per dimension, ne[0] fastest (the row); unused = 1 */
  guint64        n_elements;
  guint64        offset;   /* from the start of the data section */
  guint64        size;     /* bytes */
  const guint8  *data;     /* in the mapped file; NULL in a vocab-only file */
} LoomGgufTensor;

LoomGguf             *loom_gguf_open               (const char          *path,
                                                    GError             **error);
LoomGguf             *loom_gguf_new_from_bytes     (GBytes              *bytes,
                                                    const char          *name,
                                                    GError             **error);
LoomGguf             *loom_gguf_ref                (LoomGguf            *self);
void                  loom_gguf_unref              (LoomGguf            *self);

const char           *loom_gguf_get_name           (LoomGguf            *self);
guint32               loom_gguf_get_version        (LoomGguf            *self);
guint64               loom_gguf_get_alignment      (LoomGguf            *self);
guint64               loom_gguf_get_file_size      (LoomGguf            *self);
gboolean              loom_gguf_has_tensor_data    (LoomGguf            *self);

/* Metadata, in file order. */
guint                 loom_gguf_get_n_keys         (LoomGguf            *self);
const char           *loom_gguf_get_key            (LoomGguf            *self,
                                                    guint                i);
LoomGgufType          loom_gguf_get_key_type       (LoomGguf            *self,
                                                    const char          *key);
/* Typed getters return FALSE (and leave *out alone) when the key is absent or its
 * value does not fit: get_uint accepts any integer type holding a non-negative value,
 * get_int any integer type within gint64, get_float FLOAT32 and FLOAT64. */
gboolean              loom_gguf_get_uint           (LoomGguf            *self,
                                                    const char          *key,
                                                    guint64             *out);
gboolean              loom_gguf_get_int            (LoomGguf            *self,
                                                    const char          *key,
                                                    gint64              *out);
gboolean              loom_gguf_get_float          (LoomGguf            *self,
                                                    const char          *key,
                                                    double              *out);
gboolean              loom_gguf_get_bool           (LoomGguf            *self,
                                                    const char          *key,
                                                    gboolean            *out);
/* Returns: (nullable): a NUL-terminated copy owned by @self. A value with an embedded
 * NUL is returned up to it. */
const char           *loom_gguf_get_string         (LoomGguf            *self,
                                                    const char          *key);
gboolean              loom_gguf_get_array          (LoomGguf            *self,
                                                    const char          *key,
                                                    LoomGgufArray       *out);

/* Array elements; @i < array->n and the element type must match (programmer errors). */
guint64               loom_gguf_array_get_uint     (const LoomGgufArray *array,
                                                    guint64              i);
gint64                loom_gguf_array_get_int      (const LoomGgufArray *array,
                                                    guint64              i);
double                loom_gguf_array_get_float    (const LoomGgufArray *array,
                                                    guint64              i);
gboolean              loom_gguf_array_get_bool     (const LoomGgufArray *array,
                                                    guint64              i);
/* Returns: the string's bytes in the mapped file, not NUL-terminated; *length set. */
const char           *loom_gguf_array_get_string   (const LoomGgufArray *array,
                                                    guint64              i,
                                                    gsize               *length);
void                  loom_gguf_array_get_array    (const LoomGgufArray *array,
                                                    guint64              i,
                                                    LoomGgufArray       *out);

/* Tensors, in file order. */
guint                 loom_gguf_get_n_tensors      (LoomGguf            *self);
const LoomGgufTensor *loom_gguf_get_tensor         (LoomGguf            *self,
                                                    guint                i);
const LoomGgufTensor *loom_gguf_find_tensor        (LoomGguf            *self,
                                                    const char          *name);

/* Tells the kernel the process is done with @tensor's bytes (copied to a device, say):
 * the pages leave the process's memory, so a model is not held twice. Reading the
 * tensor again is still valid; it is read back from the file. */
void                  loom_gguf_release_tensor     (LoomGguf            *self,
                                                    const LoomGgufTensor *tensor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomGguf, loom_gguf_unref)

G_END_DECLS
