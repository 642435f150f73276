/* loom-gguf-writer.c — write GGUF files, for tests and tools.
 *
 * Each metadata value is encoded when it is added; the tensors are kept as references to
 * their bytes until the file is written. loom_gguf_writer_write() streams the tensor
 * data from those references into a temporary file beside the target and renames it
 * into place, so a model of hundreds of megabytes is never copied in memory and a reader
 * never sees a half-written file.
 *
 * Values given "in host representation" are: the C type of the same size and kind for
 * numbers (guint8 … gdouble), gboolean for LOOM_GGUF_BOOL (written as one byte, 0 or 1),
 * and for LOOM_GGUF_STRING the `const char *` itself for a scalar, an array of them for
 * string arrays.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "loom-gguf-writer.h"

#define GGUF_MAGIC        0x46554747u
#define DEFAULT_ALIGNMENT 32
#define ALIGNMENT_KEY     "general.alignment"
#define MAX_DEPTH         8  /* as the reader allows */

typedef struct
{
  char       *key;
  GByteArray *value;  /* the value type and the value, encoded as in the file */
} Kv;

typedef struct
{
  char           *name;
  LoomTensorType  type;
  guint           n_dims;
  guint64         ne[4];
  GBytes         *data;
} Tensor;

struct _LoomGgufWriter
{
  guint32     version;
  guint32     alignment;
  GPtrArray  *kvs;           /* of Kv, in the order added */
  GHashTable *keys;          /* key → Kv, borrowed from kvs */
  GPtrArray  *tensors;       /* of Tensor, in the order added */
  GHashTable *tensor_names;  /* name → Tensor, borrowed from tensors */
};

static void
kv_free (gpointer data)
{
  Kv *kv = data;

  g_free (kv->key);
  g_byte_array_unref (kv->value);
  g_free (kv);
}

static void
tensor_free (gpointer data)
{
  Tensor *tensor = data;

  g_free (tensor->name);
  g_bytes_unref (tensor->data);
  g_free (tensor);
}

LoomGgufWriter *
loom_gguf_writer_new (void)
{
  LoomGgufWriter *self = g_new0 (LoomGgufWriter, 1);

  self->version = 3;
  self->alignment = DEFAULT_ALIGNMENT;
  self->kvs = g_ptr_array_new_with_free_func (kv_free);
  self->keys = g_hash_table_new (g_str_hash, g_str_equal);
  self->tensors = g_ptr_array_new_with_free_func (tensor_free);
  self->tensor_names = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
loom_gguf_writer_free (LoomGgufWriter *self)
{
  g_return_if_fail (self != NULL);

  g_hash_table_unref (self->tensor_names);
  g_ptr_array_unref (self->tensors);
  g_hash_table_unref (self->keys);
  g_ptr_array_unref (self->kvs);
  g_free (self);
}

void
loom_gguf_writer_set_version (LoomGgufWriter *self,
                              guint32         version)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (version == 2 || version == 3);

  self->version = version;
}

/* Encoding. */

static void
put_u32 (GByteArray *out,
         guint32     v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_u64 (GByteArray *out,
         guint64     v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_string (GByteArray *out,
            const char *s)
{
  gsize length = strlen (s);

  put_u64 (out, length);
  g_byte_array_append (out, (const guint8 *) s, (guint) length);
}

static void
put_zeros (GByteArray *out,
           gsize       n)
{
  guint length = out->len;

  g_byte_array_set_size (out, (guint) (length + n));
  memset (out->data + length, 0, n);
}

static gboolean
type_is_number (LoomGgufType type)
{
  return type >= LOOM_GGUF_UINT8 && type <= LOOM_GGUF_FLOAT64 && type != LOOM_GGUF_STRING
         && type != LOOM_GGUF_ARRAY;
}

/* Bytes of one value of number or bool @type in host representation. */
static gsize
host_size (LoomGgufType type)
{
  switch (type)
    {
    case LOOM_GGUF_UINT8:
    case LOOM_GGUF_INT8:
      return 1;
    case LOOM_GGUF_UINT16:
    case LOOM_GGUF_INT16:
      return 2;
    case LOOM_GGUF_UINT32:
    case LOOM_GGUF_INT32:
    case LOOM_GGUF_FLOAT32:
      return 4;
    case LOOM_GGUF_BOOL:
      return sizeof (gboolean);
    case LOOM_GGUF_UINT64:
    case LOOM_GGUF_INT64:
    case LOOM_GGUF_FLOAT64:
      return 8;
    case LOOM_GGUF_STRING:
    case LOOM_GGUF_ARRAY:
    case LOOM_GGUF_INVALID:
    default:
      g_assert_not_reached ();
    }
}

/* Appends the number or bool at @value (host representation), little-endian. */
static void
put_number (GByteArray    *out,
            LoomGgufType   type,
            gconstpointer  value)
{
  switch (host_size (type))
    {
    case 1:
      g_byte_array_append (out, value, 1);
      break;
    case 2:
      {
        guint16 v;

        memcpy (&v, value, sizeof v);
        v = GUINT16_TO_LE (v);
        g_byte_array_append (out, (const guint8 *) &v, sizeof v);
      }
      break;
    case 4:
      {
        guint32 v;

        memcpy (&v, value, sizeof v);
        if (type == LOOM_GGUF_BOOL)
          {
            guint8 b = v != 0;

            g_byte_array_append (out, &b, 1);
          }
        else
          put_u32 (out, v);
      }
      break;
    case 8:
      {
        guint64 v;

        memcpy (&v, value, sizeof v);
        put_u64 (out, v);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Adding. */

static gboolean
key_is_new (LoomGgufWriter *self,
            const char     *key)
{
  return key != NULL && key[0] != '\0' && g_utf8_validate (key, -1, NULL)
         && !g_hash_table_contains (self->keys, key);
}

static void
add_kv (LoomGgufWriter *self,
        const char     *key,
        GByteArray     *value)
{
  Kv *kv = g_new0 (Kv, 1);

  kv->key = g_strdup (key);
  kv->value = value;
  g_ptr_array_add (self->kvs, kv);
  g_hash_table_insert (self->keys, kv->key, kv);
}

static gboolean
alignment_is_valid (guint32 alignment)
{
  return alignment != 0 && (alignment & (alignment - 1)) == 0;
}

void
loom_gguf_writer_set_alignment (LoomGgufWriter *self,
                                guint32         alignment)
{
  GByteArray *value;
  Kv *kv;

  g_return_if_fail (self != NULL);
  g_return_if_fail (alignment_is_valid (alignment));

  value = g_byte_array_new ();
  put_u32 (value, LOOM_GGUF_UINT32);
  put_u32 (value, alignment);
  self->alignment = alignment;

  /* Setting it again updates the key where it first appeared. */
  kv = g_hash_table_lookup (self->keys, ALIGNMENT_KEY);
  if (kv != NULL)
    {
      g_byte_array_unref (kv->value);
      kv->value = value;
    }
  else
    add_kv (self, ALIGNMENT_KEY, value);
}

/**
 * loom_gguf_writer_add_scalar:
 * @value: the number or bool in host representation, or for LOOM_GGUF_STRING the
 *   NUL-terminated string itself
 *
 * Adding general.alignment this way (as a uint32) is the same as set_alignment().
 */
void
loom_gguf_writer_add_scalar (LoomGgufWriter *self,
                             const char     *key,
                             LoomGgufType    type,
                             gconstpointer   value)
{
  GByteArray *encoded;

  g_return_if_fail (self != NULL);
  g_return_if_fail (key_is_new (self, key));
  g_return_if_fail (type_is_number (type) || type == LOOM_GGUF_STRING);
  g_return_if_fail (value != NULL);

  if (strcmp (key, ALIGNMENT_KEY) == 0)
    {
      guint32 alignment;

      g_return_if_fail (type == LOOM_GGUF_UINT32);
      memcpy (&alignment, value, sizeof alignment);
      loom_gguf_writer_set_alignment (self, alignment);
      return;
    }

  encoded = g_byte_array_new ();
  put_u32 (encoded, type);
  if (type == LOOM_GGUF_STRING)
    put_string (encoded, value);
  else
    put_number (encoded, type, value);
  add_kv (self, key, encoded);
}

void
loom_gguf_writer_add_uint32 (LoomGgufWriter *self,
                             const char     *key,
                             guint32         value)
{
  loom_gguf_writer_add_scalar (self, key, LOOM_GGUF_UINT32, &value);
}

void
loom_gguf_writer_add_int32 (LoomGgufWriter *self,
                            const char     *key,
                            gint32          value)
{
  loom_gguf_writer_add_scalar (self, key, LOOM_GGUF_INT32, &value);
}

void
loom_gguf_writer_add_uint64 (LoomGgufWriter *self,
                             const char     *key,
                             guint64         value)
{
  loom_gguf_writer_add_scalar (self, key, LOOM_GGUF_UINT64, &value);
}

void
loom_gguf_writer_add_float32 (LoomGgufWriter *self,
                              const char     *key,
                              float           value)
{
  loom_gguf_writer_add_scalar (self, key, LOOM_GGUF_FLOAT32, &value);
}

void
loom_gguf_writer_add_bool (LoomGgufWriter *self,
                           const char     *key,
                           gboolean        value)
{
  loom_gguf_writer_add_scalar (self, key, LOOM_GGUF_BOOL, &value);
}

void
loom_gguf_writer_add_string (LoomGgufWriter *self,
                             const char     *key,
                             const char     *value)
{
  loom_gguf_writer_add_scalar (self, key, LOOM_GGUF_STRING, value);
}

/* The elements of an array of @type: @n numbers or bools packed at @values, or @n strings
 * in the array @values. */
static void
put_elements (GByteArray    *out,
              LoomGgufType   type,
              gconstpointer  values,
              gsize          n)
{
  put_u32 (out, type);
  put_u64 (out, n);
  if (type == LOOM_GGUF_STRING)
    {
      const char * const *strings = values;

      for (gsize i = 0; i < n; i++)
        put_string (out, strings[i]);
    }
  else
    {
      gsize size = host_size (type);

      for (gsize i = 0; i < n; i++)
        put_number (out, type, (const guint8 *) values + i * size);
    }
}

static gboolean
strings_are_valid (const char * const *values,
                   gsize               n)
{
  for (gsize i = 0; i < n; i++)
    if (values[i] == NULL)
      return FALSE;
  return TRUE;
}

void
loom_gguf_writer_add_array (LoomGgufWriter *self,
                            const char     *key,
                            LoomGgufType    type,
                            gconstpointer   values,
                            gsize           n)
{
  GByteArray *encoded;

  g_return_if_fail (self != NULL);
  g_return_if_fail (key_is_new (self, key));
  g_return_if_fail (strcmp (key, ALIGNMENT_KEY) != 0);
  g_return_if_fail (type_is_number (type));
  g_return_if_fail (values != NULL || n == 0);

  encoded = g_byte_array_new ();
  put_u32 (encoded, LOOM_GGUF_ARRAY);
  put_elements (encoded, type, values, n);
  add_kv (self, key, encoded);
}

void
loom_gguf_writer_add_strings (LoomGgufWriter     *self,
                              const char         *key,
                              const char * const *values,
                              gsize               n)
{
  GByteArray *encoded;

  g_return_if_fail (self != NULL);
  g_return_if_fail (key_is_new (self, key));
  g_return_if_fail (strcmp (key, ALIGNMENT_KEY) != 0);
  g_return_if_fail (values != NULL || n == 0);
  g_return_if_fail (strings_are_valid (values, n));

  encoded = g_byte_array_new ();
  put_u32 (encoded, LOOM_GGUF_ARRAY);
  put_elements (encoded, LOOM_GGUF_STRING, values, n);
  add_kv (self, key, encoded);
}

void
loom_gguf_writer_add_nested (LoomGgufWriter *self,
                             const char     *key,
                             LoomGgufType    inner_type,
                             gconstpointer   values,
                             const gsize    *lengths,
                             gsize           n)
{
  GByteArray *encoded;
  gsize total = 0;
  gsize size;

  g_return_if_fail (self != NULL);
  g_return_if_fail (key_is_new (self, key));
  g_return_if_fail (strcmp (key, ALIGNMENT_KEY) != 0);
  g_return_if_fail (type_is_number (inner_type) || inner_type == LOOM_GGUF_STRING);
  g_return_if_fail (lengths != NULL || n == 0);

  for (gsize i = 0; i < n; i++)
    total += lengths[i];
  g_return_if_fail (values != NULL || total == 0);
  if (inner_type == LOOM_GGUF_STRING)
    g_return_if_fail (strings_are_valid (values, total));

  size = inner_type == LOOM_GGUF_STRING ? sizeof (const char *) : host_size (inner_type);
  encoded = g_byte_array_new ();
  put_u32 (encoded, LOOM_GGUF_ARRAY);
  put_u32 (encoded, LOOM_GGUF_ARRAY);
  put_u64 (encoded, n);
  for (gsize i = 0, first = 0; i < n; first += lengths[i], i++)
    put_elements (encoded, inner_type, (const guint8 *) values + first * size, lengths[i]);
  add_kv (self, key, encoded);
}

/* Bytes of a tensor of @type and shape @ne, or FALSE when a row is not a whole number of
 * blocks or the size does not fit in 64 bits. */
static gboolean
tensor_bytes (LoomTensorType  type,
              guint           n_dims,
              const guint64  *ne,
              guint64        *bytes)
{
  guint64 n_elements = 1;
  guint64 row_bytes;

  for (guint d = 0; d < n_dims; d++)
    if (ne[d] == 0 || !g_uint64_checked_mul (&n_elements, n_elements, ne[d]))
      return FALSE;
  return loom_tensor_type_row_bytes (type, ne[0], &row_bytes)
         && loom_tensor_type_row_bytes (type, n_elements, bytes);
}

void
loom_gguf_writer_add_tensor (LoomGgufWriter *self,
                             const char     *name,
                             LoomTensorType  type,
                             guint           n_dims,
                             const guint64  *ne,
                             GBytes         *data)
{
  Tensor *tensor;
  guint64 bytes = 0;

  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && name[0] != '\0' && g_utf8_validate (name, -1, NULL));
  g_return_if_fail (!g_hash_table_contains (self->tensor_names, name));
  g_return_if_fail (loom_tensor_type_get_info (type) != NULL);
  g_return_if_fail (n_dims >= 1 && n_dims <= 4);
  g_return_if_fail (ne != NULL);
  g_return_if_fail (data != NULL);
  g_return_if_fail (tensor_bytes (type, n_dims, ne, &bytes));
  g_return_if_fail (g_bytes_get_size (data) == bytes);

  tensor = g_new0 (Tensor, 1);
  tensor->name = g_strdup (name);
  tensor->type = type;
  tensor->n_dims = n_dims;
  for (guint d = 0; d < 4; d++)
    tensor->ne[d] = d < n_dims ? ne[d] : 1;
  tensor->data = g_bytes_ref (data);
  g_ptr_array_add (self->tensors, tensor);
  g_hash_table_insert (self->tensor_names, tensor->name, tensor);
}

/* Writing. */

static gsize
padding (guint64 offset,
         guint32 alignment)
{
  return (gsize) ((alignment - offset % alignment) % alignment);
}

/* Everything before the tensor data: header, metadata, tensor infos and, when there are
 * tensors, the padding that aligns the data section. A file without tensors ends right
 * after its metadata, as llama.cpp's vocabulary files do. */
static GByteArray *
encode_head (LoomGgufWriter *self)
{
  GByteArray *out = g_byte_array_new ();
  guint64 offset = 0;

  put_u32 (out, GGUF_MAGIC);
  put_u32 (out, self->version);
  put_u64 (out, self->tensors->len);
  put_u64 (out, self->kvs->len);

  for (guint i = 0; i < self->kvs->len; i++)
    {
      Kv *kv = g_ptr_array_index (self->kvs, i);

      put_string (out, kv->key);
      g_byte_array_append (out, kv->value->data, kv->value->len);
    }

  for (guint i = 0; i < self->tensors->len; i++)
    {
      Tensor *tensor = g_ptr_array_index (self->tensors, i);
      gsize size = g_bytes_get_size (tensor->data);

      put_string (out, tensor->name);
      put_u32 (out, tensor->n_dims);
      for (guint d = 0; d < tensor->n_dims; d++)
        put_u64 (out, tensor->ne[d]);
      put_u32 (out, tensor->type);
      put_u64 (out, offset);
      offset += size + padding (size, self->alignment);
    }

  if (self->tensors->len > 0)
    put_zeros (out, padding (out->len, self->alignment));
  return out;
}

/* The whole file in memory, for tests and small tools: a GByteArray holds under 4 GiB. */
GBytes *
loom_gguf_writer_to_bytes (LoomGgufWriter *self)
{
  GByteArray *out;

  g_return_val_if_fail (self != NULL, NULL);

  out = encode_head (self);
  for (guint i = 0; i < self->tensors->len; i++)
    {
      Tensor *tensor = g_ptr_array_index (self->tensors, i);
      gsize size;
      const guint8 *data = g_bytes_get_data (tensor->data, &size);

      g_byte_array_append (out, data, (guint) size);
      put_zeros (out, padding (size, self->alignment));
    }
  return g_byte_array_free_to_bytes (out);
}

static gboolean
write_all (int            fd,
           gconstpointer  data,
           gsize          size,
           GError       **error)
{
  const guint8 *p = data;

  while (size > 0)
    {
      /* Linux writes at most about 2 GiB per call. */
      gssize n = write (fd, p, MIN (size, (gsize) 1 << 30));

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               g_strerror (saved_errno));
          return FALSE;
        }
      p += n;
      size -= (gsize) n;
    }
  return TRUE;
}

static gboolean
write_fd (LoomGgufWriter  *self,
          int              fd,
          GError         **error)
{
  static const guint8 zeros[256] = { 0 };
  g_autoptr(GByteArray) head = encode_head (self);

  if (!write_all (fd, head->data, head->len, error))
    return FALSE;
  for (guint i = 0; i < self->tensors->len; i++)
    {
      Tensor *tensor = g_ptr_array_index (self->tensors, i);
      gsize size;
      const guint8 *data = g_bytes_get_data (tensor->data, &size);
      gsize pad = padding (size, self->alignment);

      if (!write_all (fd, data, size, error))
        return FALSE;
      for (gsize left = pad; left > 0; left -= MIN (left, sizeof zeros))
        if (!write_all (fd, zeros, MIN (left, sizeof zeros), error))
          return FALSE;
    }
  return TRUE;
}

/**
 * loom_gguf_writer_write:
 *
 * Writes the file to a temporary file in @path's folder, flushes it to disk and renames
 * it to @path: either the whole new file is there afterwards, or the old one (if any)
 * is untouched.
 */
gboolean
loom_gguf_writer_write (LoomGgufWriter  *self,
                        const char      *path,
                        GError         **error)
{
  g_autofree char *tmp_path = NULL;
  g_autofree char *display = NULL;
  int fd;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);
  tmp_path = g_strdup_printf ("%s.XXXXXX", path);
  fd = g_mkstemp_full (tmp_path, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create a temporary file for “%s”: %s", display,
                   g_strerror (saved_errno));
      return FALSE;
    }

  ok = write_fd (self, fd, error);
  if (ok && g_fsync (fd) != 0)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                           g_strerror (saved_errno));
      ok = FALSE;
    }
  if (!g_close (fd, NULL) && ok)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                           g_strerror (saved_errno));
      ok = FALSE;
    }
  if (ok && g_rename (tmp_path, path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not rename the temporary file into place: %s",
                   g_strerror (saved_errno));
      ok = FALSE;
    }

  if (!ok)
    {
      g_unlink (tmp_path);
      g_prefix_error (error, "Could not write “%s”: ", display);
    }
  return ok;
}
