/* loom-gguf.c — a validated, memory-mapped view of a GGUF file.
 *
 * Layout (all little-endian; see ggml's docs/gguf.md):
 *
 *   "GGUF" u32 version  u64 n_tensors  u64 n_kv
 *   n_kv × { string key, u32 value type, value }
 *   n_tensors × { string name, u32 n_dims, n_dims × u64 ne, u32 ggml type, u64 offset }
 *   padding to general.alignment, then the data section (tensor offsets start here)
 *
 * where a string is a u64 length and that many bytes, and an array value is a u32 element
 * type, a u64 count and the elements. Opening walks all of it once, checking each length
 * against the bytes that are left before using it, and records where every value is;
 * the accessors then read the mapped file directly.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "loom-error.h"
#include "loom-mapped-file.h"
#include "loom-gguf.h"

#define GGUF_MAGIC         0x46554747u  /* "GGUF" read as a little-endian u32 */
#define DEFAULT_ALIGNMENT  32
#define ALIGNMENT_KEY      "general.alignment"
#define MAX_DEPTH          8            /* arrays within arrays, counting the outer one */
#define HEADER_BYTES       24
#define ARRAY_HEADER_BYTES 12           /* u32 element type, u64 count */
/* The smallest encodings, which bound how many of each the remaining bytes can hold:
 * a key of one byte with a u8 value, and a tensor of one dimension with a one-byte name. */
#define MIN_KV_BYTES       (8 + 1 + 4 + 1)
#define MIN_TENSOR_BYTES   (8 + 1 + 4 + 8 + 4 + 8)
#define NO_INDEX           G_MAXUINT64

typedef struct
{
  const char   *key;        /* in strings */
  LoomGgufType  type;
  guint64       offset;     /* of the value (after its type) in the file */
  const char   *string;     /* LOOM_GGUF_STRING: NUL-terminated copy, in strings */
  guint64       index_pos;  /* LOOM_GGUF_ARRAY: the elements' index in index, or NO_INDEX */
} Entry;

struct _LoomGguf
{
  gatomicrefcount  ref_count;
  char            *name;
  GBytes          *bytes;       /* the file, mapped or given */
  gboolean         mapped_file; /* bytes map a file (loom_gguf_open), not memory */
  const guint8    *data;
  guint64          size;
  guint32          version;
  guint64          alignment;
  guint64          data_offset; /* start of the data section */

  GStringChunk    *strings;     /* keys, tensor names and scalar string values */
  Entry           *entries;     /* n_entries, in file order */
  guint            n_entries;
  GHashTable      *by_key;      /* key → Entry, borrowed */

  /* For every array of strings or of arrays, one slice per array: a string array holds
   * the file offset of each string; an array of arrays holds two values per element,
   * the offset of the inner array's header and the position of the inner array's own
   * slice (NO_INDEX for a numeric one). */
  guint64         *index;

  LoomGgufTensor  *tensors;     /* n_tensors, in file order */
  guint            n_tensors;
  GHashTable      *by_name;     /* tensor name → LoomGgufTensor, borrowed */
};

/* Sizes in the file of the scalar types; 0 for strings and arrays. */
static const guint8 scalar_sizes[] = {
  [LOOM_GGUF_UINT8] = 1,
  [LOOM_GGUF_INT8] = 1,
  [LOOM_GGUF_UINT16] = 2,
  [LOOM_GGUF_INT16] = 2,
  [LOOM_GGUF_UINT32] = 4,
  [LOOM_GGUF_INT32] = 4,
  [LOOM_GGUF_FLOAT32] = 4,
  [LOOM_GGUF_BOOL] = 1,
  [LOOM_GGUF_STRING] = 0,
  [LOOM_GGUF_ARRAY] = 0,
  [LOOM_GGUF_UINT64] = 8,
  [LOOM_GGUF_INT64] = 8,
  [LOOM_GGUF_FLOAT64] = 8,
};

static const char * const type_names[] = {
  "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string",
  "array", "uint64", "int64", "float64",
};

static gboolean
type_is_valid (guint32 type)
{
  return type < G_N_ELEMENTS (type_names);
}

static gboolean
type_is_integer (LoomGgufType type)
{
  switch (type)
    {
    case LOOM_GGUF_UINT8:
    case LOOM_GGUF_INT8:
    case LOOM_GGUF_UINT16:
    case LOOM_GGUF_INT16:
    case LOOM_GGUF_UINT32:
    case LOOM_GGUF_INT32:
    case LOOM_GGUF_UINT64:
    case LOOM_GGUF_INT64:
      return TRUE;
    default:
      return FALSE;
    }
}

/* The file is packed: values may sit at any byte, so they are copied out. */
static guint16
read_u16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static guint32
read_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static guint64
read_u64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

/* Reads the integer of @type at @p as 64 bits; *negative says whether it was a signed
 * value below zero (whose two's complement *bits then holds). */
static void
read_integer (const guint8 *p,
              LoomGgufType  type,
              guint64      *bits,
              gboolean     *negative)
{
  gint64 s = 0;

  *negative = FALSE;
  switch (type)
    {
    case LOOM_GGUF_UINT8:
      *bits = p[0];
      return;
    case LOOM_GGUF_UINT16:
      *bits = read_u16 (p);
      return;
    case LOOM_GGUF_UINT32:
      *bits = read_u32 (p);
      return;
    case LOOM_GGUF_UINT64:
      *bits = read_u64 (p);
      return;
    case LOOM_GGUF_INT8:
      s = (gint8) p[0];
      break;
    case LOOM_GGUF_INT16:
      s = (gint16) read_u16 (p);
      break;
    case LOOM_GGUF_INT32:
      s = (gint32) read_u32 (p);
      break;
    case LOOM_GGUF_INT64:
      s = (gint64) read_u64 (p);
      break;
    default:
      g_assert_not_reached ();
    }
  *bits = (guint64) s;
  *negative = s < 0;
}

static double
read_float (const guint8 *p,
            LoomGgufType  type)
{
  if (type == LOOM_GGUF_FLOAT32)
    {
      guint32 bits = read_u32 (p);
      float f;

      memcpy (&f, &bits, sizeof f);
      return f;
    }
  else
    {
      guint64 bits = read_u64 (p);
      double d;

      memcpy (&d, &bits, sizeof d);
      return d;
    }
}

/* Parsing. */

typedef struct
{
  const char   *name;     /* of the file, for messages */
  const guint8 *data;
  guint64       size;
  guint64       pos;      /* next byte to read; never beyond size */
  GArray       *index;    /* guint64: becomes LoomGguf.index */
  GError      **error;
} Parser;

/* Where a value being parsed sits, for messages: the key and the element number at
 * each level of array entered. */
typedef struct
{
  const char *key;
  guint       depth;
  guint64     element[MAX_DEPTH];
} Where;

static gboolean fail (Parser     *p,
                      const char *format,
                      ...) G_GNUC_PRINTF (2, 3);

/* Always returns FALSE, so that a check can `return fail (...)`. */
static gboolean
fail (Parser     *p,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (p->error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL, "%s: %s", p->name, message);
  return FALSE;
}

static gboolean
has (Parser  *p,
     guint64  n)
{
  return n <= p->size - p->pos;
}

/* “tokenizer.ggml.merges[3]: string 5”, or “general.name: string value” outside arrays. */
static char *
describe (const Where *w,
          const char  *kind)
{
  GString *s = g_string_new (w->key);

  for (guint d = 0; d + 1 < w->depth; d++)
    g_string_append_printf (s, "[%" G_GUINT64_FORMAT "]", w->element[d]);
  if (w->depth == 0)
    g_string_append_printf (s, ": %s value", kind);
  else
    g_string_append_printf (s, ": %s %" G_GUINT64_FORMAT, kind, w->element[w->depth - 1]);
  return g_string_free (s, FALSE);
}

static gboolean
fail_past_end (Parser      *p,
               const Where *w,
               const char  *kind,
               guint64      start)
{
  g_autofree char *what = describe (w, kind);

  return fail (p, "%s at byte %" G_GUINT64_FORMAT " runs past the end of the file (%"
               G_GUINT64_FORMAT " bytes)", what, start, p->size);
}

/* A string (u64 length, bytes) at p->pos; *bytes and *length are set when not NULL. */
static gboolean
parse_string (Parser       *p,
              const Where  *w,
              const guint8 **bytes,
              guint64       *length)
{
  guint64 start = p->pos;
  guint64 n;

  if (!has (p, 8))
    return fail_past_end (p, w, "string", start);
  n = read_u64 (p->data + p->pos);
  p->pos += 8;
  if (!has (p, n))
    {
      g_autofree char *what = describe (w, "string");

      return fail (p, "%s of %" G_GUINT64_FORMAT " bytes at byte %" G_GUINT64_FORMAT
                   " runs past the end of the file (%" G_GUINT64_FORMAT " bytes)",
                   what, n, start, p->size);
    }
  if (bytes != NULL)
    *bytes = p->data + p->pos;
  if (length != NULL)
    *length = n;
  p->pos += n;
  return TRUE;
}

/* One scalar of @type at p->pos (@in_array FALSE), or the @n elements of a numeric array
 * whose header @w describes. */
static gboolean
parse_scalars (Parser       *p,
               const Where  *w,
               LoomGgufType  type,
               guint64       n,
               gboolean      in_array)
{
  guint64 size = scalar_sizes[type];
  g_autofree char *what = NULL;

  if (n > (p->size - p->pos) / size)
    {
      if (!in_array)
        return fail_past_end (p, w, type_names[type], p->pos);
      what = describe (w, "array");
      return fail (p, "%s: %" G_GUINT64_FORMAT " %s elements at byte %" G_GUINT64_FORMAT
                   " run past the end of the file (%" G_GUINT64_FORMAT " bytes)",
                   what, n, type_names[type], p->pos, p->size);
    }
  if (type == LOOM_GGUF_BOOL)
    {
      for (guint64 i = 0; i < n; i++)
        {
          guint8 value = p->data[p->pos + i];

          if (value <= 1)
            continue;
          what = describe (w, in_array ? "array" : "bool");
          if (in_array)
            return fail (p, "%s: bool %" G_GUINT64_FORMAT " at byte %" G_GUINT64_FORMAT
                         " is %u, neither 0 nor 1", what, i, p->pos + i, value);
          return fail (p, "%s at byte %" G_GUINT64_FORMAT " is %u, neither 0 nor 1",
                       what, p->pos, value);
        }
    }
  p->pos += n * size;
  return TRUE;
}

/* An array value at p->pos: its header, then its elements. *index_pos is set to where
 * its slice of the index starts (NO_INDEX for numeric elements). */
static gboolean
parse_array (Parser  *p,
             Where   *w,
             guint64 *index_pos)
{
  guint64 start = p->pos;
  guint32 type;
  guint64 n, min_bytes, per_element, base;

  if (w->depth == MAX_DEPTH)
    {
      g_autofree char *what = describe (w, "array");

      return fail (p, "%s at byte %" G_GUINT64_FORMAT " is nested more than %d arrays deep",
                   what, start, MAX_DEPTH);
    }
  if (!has (p, ARRAY_HEADER_BYTES))
    return fail_past_end (p, w, "array", start);
  type = read_u32 (p->data + p->pos);
  n = read_u64 (p->data + p->pos + 4);
  p->pos += ARRAY_HEADER_BYTES;
  if (!type_is_valid (type))
    {
      g_autofree char *what = describe (w, "array");

      return fail (p, "%s at byte %" G_GUINT64_FORMAT " has an unknown element type %u",
                   what, start, type);
    }

  *index_pos = NO_INDEX;
  if (scalar_sizes[type] != 0)
    return parse_scalars (p, w, type, n, TRUE);

  /* Bound the count by the bytes left before sizing the index from it. */
  min_bytes = type == LOOM_GGUF_STRING ? 8 : ARRAY_HEADER_BYTES;
  per_element = type == LOOM_GGUF_STRING ? 1 : 2;
  if (n > (p->size - p->pos) / min_bytes)
    {
      g_autofree char *what = describe (w, "array");

      return fail (p, "%s at byte %" G_GUINT64_FORMAT " claims %" G_GUINT64_FORMAT
                   " %s elements, more than the %" G_GUINT64_FORMAT
                   " bytes left in the file can hold", what, start, n, type_names[type],
                   p->size - p->pos);
    }
  /* A GArray counts in guint: only a file of tens of gigabytes of empty strings gets here. */
  if (n * per_element > G_MAXUINT - p->index->len)
    {
      g_autofree char *what = describe (w, "array");

      return fail (p, "%s at byte %" G_GUINT64_FORMAT ": too many strings and arrays in the "
                   "file", what, start);
    }
  base = p->index->len;
  g_array_set_size (p->index, (guint) (base + n * per_element));
  *index_pos = base;

  w->depth++;
  for (guint64 i = 0; i < n; i++)
    {
      w->element[w->depth - 1] = i;
      g_array_index (p->index, guint64, base + i * per_element) = p->pos;
      if (type == LOOM_GGUF_STRING)
        {
          if (!parse_string (p, w, NULL, NULL))
            return FALSE;
        }
      else
        {
          guint64 inner;

          if (!parse_array (p, w, &inner))
            return FALSE;
          /* The index may have grown (and moved) during the call. */
          g_array_index (p->index, guint64, base + i * 2 + 1) = inner;
        }
    }
  w->depth--;
  return TRUE;
}

/* Keys and tensor names are looked up and printed: they must be text. */
static gboolean
check_name (Parser       *p,
            const char   *kind,
            guint64       number,
            guint64       start,
            const guint8 *bytes,
            guint64       length)
{
  if (length == 0)
    return fail (p, "%s %" G_GUINT64_FORMAT " at byte %" G_GUINT64_FORMAT " is empty",
                 kind, number, start);
  if (length > G_MAXSSIZE || !g_utf8_validate_len ((const char *) bytes, length, NULL))
    return fail (p, "%s %" G_GUINT64_FORMAT " at byte %" G_GUINT64_FORMAT
                 " is not valid UTF-8 or holds a NUL byte", kind, number, start);
  return TRUE;
}

static gboolean
parse_header (Parser   *p,
              LoomGguf *self,
              guint64  *n_kv,
              guint64  *n_tensors)
{
  guint32 magic, version;

  if (p->size == 0)
    return fail (p, "empty file (0 bytes), not a GGUF file");
  if (p->size < 4)
    return fail (p, "not a GGUF file: only %" G_GUINT64_FORMAT " bytes", p->size);
  magic = read_u32 (p->data);
  if (magic != GGUF_MAGIC)
    return fail (p, "not a GGUF file: bad magic %02x %02x %02x %02x (expected \"GGUF\")",
                 p->data[0], p->data[1], p->data[2], p->data[3]);
  if (p->size < HEADER_BYTES)
    return fail (p, "the %d-byte header runs past the end of the file (%" G_GUINT64_FORMAT
                 " bytes)", HEADER_BYTES, p->size);

  version = read_u32 (p->data + 4);
  if (version == 1)
    return fail (p, "GGUF version 1 is not supported (it uses 32-bit counts); "
                 "convert the file with a current llama.cpp");
  if (GUINT32_SWAP_LE_BE (version) == 2 || GUINT32_SWAP_LE_BE (version) == 3)
    return fail (p, "big-endian GGUF files are not supported");
  if (version != 2 && version != 3)
    return fail (p, "unsupported GGUF version %u (only 2 and 3 are known)", version);
  self->version = version;

  *n_tensors = read_u64 (p->data + 8);
  *n_kv = read_u64 (p->data + 16);
  p->pos = HEADER_BYTES;

  /* Both lists must fit in what follows; checking now fails fast, before either is
   * allocated. */
  if (*n_kv > (p->size - p->pos) / MIN_KV_BYTES)
    return fail (p, "the header claims %" G_GUINT64_FORMAT " metadata keys, more than the %"
                 G_GUINT64_FORMAT " bytes of the file can hold", *n_kv, p->size);
  if (*n_tensors > (p->size - p->pos) / MIN_TENSOR_BYTES)
    return fail (p, "the header claims %" G_GUINT64_FORMAT " tensors, more than the %"
                 G_GUINT64_FORMAT " bytes of the file can hold", *n_tensors, p->size);
  if (*n_kv * MIN_KV_BYTES + *n_tensors * MIN_TENSOR_BYTES > p->size - p->pos)
    return fail (p, "the header claims %" G_GUINT64_FORMAT " metadata keys and %"
                 G_GUINT64_FORMAT " tensors, more than the %" G_GUINT64_FORMAT
                 " bytes of the file can hold", *n_kv, *n_tensors, p->size);
  /* The API counts in guint; only a file of over 100 GiB of tiny entries could exceed it. */
  if (*n_kv > G_MAXUINT || *n_tensors > G_MAXUINT)
    return fail (p, "too many metadata keys or tensors");
  return TRUE;
}

static gboolean
parse_metadata (Parser   *p,
                LoomGguf *self)
{
  for (guint i = 0; i < self->n_entries; i++)
    {
      Entry *entry = &self->entries[i];
      Where where = { .key = NULL, .depth = 0 };
      guint64 start = p->pos;
      const guint8 *key;
      guint64 key_length;
      guint32 type;

      if (!has (p, 8))
        return fail (p, "key %u at byte %" G_GUINT64_FORMAT " runs past the end of the file (%"
                     G_GUINT64_FORMAT " bytes)", i, start, p->size);
      key_length = read_u64 (p->data + p->pos);
      if (key_length > p->size - p->pos - 8)
        return fail (p, "key %u of %" G_GUINT64_FORMAT " bytes at byte %" G_GUINT64_FORMAT
                     " runs past the end of the file (%" G_GUINT64_FORMAT " bytes)",
                     i, key_length, start, p->size);
      key = p->data + p->pos + 8;
      p->pos += 8 + key_length;
      if (!check_name (p, "key", i, start, key, key_length))
        return FALSE;
      entry->key = g_string_chunk_insert_len (self->strings, (const char *) key,
                                              (gssize) key_length);
      where.key = entry->key;

      if (g_hash_table_contains (self->by_key, entry->key))
        return fail (p, "duplicate key “%s” at byte %" G_GUINT64_FORMAT, entry->key, start);

      if (!has (p, 4))
        return fail (p, "%s: the value type at byte %" G_GUINT64_FORMAT " runs past the end "
                     "of the file (%" G_GUINT64_FORMAT " bytes)", entry->key, p->pos, p->size);
      type = read_u32 (p->data + p->pos);
      if (!type_is_valid (type))
        return fail (p, "%s: unknown value type %u at byte %" G_GUINT64_FORMAT,
                     entry->key, type, p->pos);
      p->pos += 4;
      entry->type = (LoomGgufType) type;
      entry->offset = p->pos;
      entry->index_pos = NO_INDEX;

      if (type == LOOM_GGUF_STRING)
        {
          const guint8 *bytes;
          guint64 length;

          if (!parse_string (p, &where, &bytes, &length))
            return FALSE;
          if (length > G_MAXSSIZE)
            return fail (p, "%s: string value at byte %" G_GUINT64_FORMAT " is too long",
                         entry->key, entry->offset);
          entry->string = g_string_chunk_insert_len (self->strings, (const char *) bytes,
                                                     (gssize) length);
        }
      else if (type == LOOM_GGUF_ARRAY)
        {
          if (!parse_array (p, &where, &entry->index_pos))
            return FALSE;
        }
      else if (!parse_scalars (p, &where, entry->type, 1, FALSE))
        return FALSE;

      g_hash_table_insert (self->by_key, (gpointer) entry->key, entry);
    }

  return TRUE;
}

static gboolean
parse_alignment (Parser   *p,
                 LoomGguf *self)
{
  Entry *entry = g_hash_table_lookup (self->by_key, ALIGNMENT_KEY);
  guint32 alignment;

  self->alignment = DEFAULT_ALIGNMENT;
  if (entry == NULL)
    return TRUE;
  if (entry->type != LOOM_GGUF_UINT32)
    return fail (p, ALIGNMENT_KEY " is a %s, not a uint32", type_names[entry->type]);
  alignment = read_u32 (p->data + entry->offset);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return fail (p, ALIGNMENT_KEY " is %u, not a power of two", alignment);
  self->alignment = alignment;
  return TRUE;
}

static gboolean
parse_tensor_info (Parser         *p,
                   LoomGguf       *self,
                   guint           i,
                   LoomGgufTensor *tensor)
{
  guint64 start = p->pos;
  const guint8 *name;
  guint64 name_length;
  guint32 n_dims, type;
  const LoomTensorTypeInfo *info;

  if (!has (p, 8))
    return fail (p, "tensor %u at byte %" G_GUINT64_FORMAT " runs past the end of the file (%"
                 G_GUINT64_FORMAT " bytes)", i, start, p->size);
  name_length = read_u64 (p->data + p->pos);
  if (name_length > p->size - p->pos - 8)
    return fail (p, "the name of tensor %u (%" G_GUINT64_FORMAT " bytes at byte %"
                 G_GUINT64_FORMAT ") runs past the end of the file (%" G_GUINT64_FORMAT
                 " bytes)", i, name_length, start, p->size);
  name = p->data + p->pos + 8;
  p->pos += 8 + name_length;
  if (!check_name (p, "tensor name", i, start, name, name_length))
    return FALSE;
  tensor->name = g_string_chunk_insert_len (self->strings, (const char *) name,
                                            (gssize) name_length);
  if (g_hash_table_contains (self->by_name, tensor->name))
    return fail (p, "duplicate tensor name “%s” at byte %" G_GUINT64_FORMAT,
                 tensor->name, start);

  if (!has (p, 4))
    return fail (p, "tensor “%s”: its dimensions at byte %" G_GUINT64_FORMAT " run past the "
                 "end of the file (%" G_GUINT64_FORMAT " bytes)", tensor->name, p->pos, p->size);
  n_dims = read_u32 (p->data + p->pos);
  if (n_dims < 1 || n_dims > 4)
    return fail (p, "tensor “%s”: %u dimensions at byte %" G_GUINT64_FORMAT
                 " (1 to 4 are allowed)", tensor->name, n_dims, p->pos);
  p->pos += 4;
  if (!has (p, 8 * (guint64) n_dims + 4 + 8))
    return fail (p, "tensor “%s”: its shape, type and offset at byte %" G_GUINT64_FORMAT
                 " run past the end of the file (%" G_GUINT64_FORMAT " bytes)",
                 tensor->name, p->pos, p->size);

  tensor->n_dims = n_dims;
  tensor->n_elements = 1;
  for (guint d = 0; d < 4; d++)
    tensor->ne[d] = 1;
  for (guint d = 0; d < n_dims; d++)
    {
      tensor->ne[d] = read_u64 (p->data + p->pos + 8 * d);
      if (tensor->ne[d] == 0)
        return fail (p, "tensor “%s”: dimension %u at byte %" G_GUINT64_FORMAT " is 0",
                     tensor->name, d, p->pos + 8 * d);
      if (!g_uint64_checked_mul (&tensor->n_elements, tensor->n_elements, tensor->ne[d]))
        return fail (p, "tensor “%s”: the element count at byte %" G_GUINT64_FORMAT
                     " overflows 64 bits", tensor->name, p->pos);
    }
  p->pos += 8 * (guint64) n_dims;

  type = read_u32 (p->data + p->pos);
  info = loom_tensor_type_get_info (type);
  if (info == NULL)
    return fail (p, "tensor “%s”: unknown tensor type %u at byte %" G_GUINT64_FORMAT,
                 tensor->name, type, p->pos);
  tensor->type = (LoomTensorType) type;
  p->pos += 4;
  if (tensor->ne[0] % info->block_elements != 0)
    return fail (p, "tensor “%s”: a row of %" G_GUINT64_FORMAT " elements is not a whole "
                 "number of %s blocks (%u elements each)", tensor->name, tensor->ne[0],
                 info->name, info->block_elements);
  if (!loom_tensor_type_row_bytes (type, tensor->n_elements, &tensor->size))
    return fail (p, "tensor “%s”: %" G_GUINT64_FORMAT " elements of %s overflow 64 bits",
                 tensor->name, tensor->n_elements, info->name);

  tensor->offset = read_u64 (p->data + p->pos);
  if (tensor->offset % self->alignment != 0)
    return fail (p, "tensor “%s”: offset %" G_GUINT64_FORMAT " at byte %" G_GUINT64_FORMAT
                 " is not a multiple of the alignment (%" G_GUINT64_FORMAT ")",
                 tensor->name, tensor->offset, p->pos, self->alignment);
  p->pos += 8;

  g_hash_table_insert (self->by_name, (gpointer) tensor->name, tensor);
  return TRUE;
}

static int
compare_offsets (gconstpointer a,
                 gconstpointer b)
{
  const LoomGgufTensor *ta = *(const LoomGgufTensor * const *) a;
  const LoomGgufTensor *tb = *(const LoomGgufTensor * const *) b;

  return ta->offset < tb->offset ? -1 : ta->offset > tb->offset;
}

/* Every tensor inside the file, none overlapping another. */
static gboolean
check_extents (Parser   *p,
               LoomGguf *self)
{
  g_autofree LoomGgufTensor **sorted = NULL;
  guint64 data_bytes;

  if (self->n_tensors == 0)
    return TRUE;

  if (self->data_offset > self->size)
    return fail (p, "the data section at byte %" G_GUINT64_FORMAT " starts past the end of "
                 "the file (%" G_GUINT64_FORMAT " bytes)", self->data_offset, self->size);
  data_bytes = self->size - self->data_offset;

  sorted = g_new (LoomGgufTensor *, self->n_tensors);
  for (guint i = 0; i < self->n_tensors; i++)
    {
      LoomGgufTensor *tensor = &self->tensors[i];

      if (tensor->offset > data_bytes || tensor->size > data_bytes - tensor->offset)
        return fail (p, "tensor “%s” (%" G_GUINT64_FORMAT " bytes at offset %" G_GUINT64_FORMAT
                     " of the data section, which starts at byte %" G_GUINT64_FORMAT
                     ") runs past the end of the file (%" G_GUINT64_FORMAT " bytes)",
                     tensor->name, tensor->size, tensor->offset, self->data_offset,
                     self->size);
      tensor->data = self->data + self->data_offset + tensor->offset;
      sorted[i] = tensor;
    }

  qsort (sorted, self->n_tensors, sizeof *sorted, compare_offsets);
  for (guint i = 1; i < self->n_tensors; i++)
    {
      const LoomGgufTensor *a = sorted[i - 1];
      const LoomGgufTensor *b = sorted[i];

      if (b->offset < a->offset + a->size)
        return fail (p, "tensors “%s” (bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                     ") and “%s” (from byte %" G_GUINT64_FORMAT ") of the data section overlap",
                     a->name, a->offset, a->offset + a->size, b->name, b->offset);
    }
  return TRUE;
}

static gboolean
parse (LoomGguf  *self,
       GError   **error)
{
  g_autoptr(GArray) index = g_array_new (FALSE, FALSE, sizeof (guint64));
  Parser p = {
    .name = self->name,
    .data = self->data,
    .size = self->size,
    .pos = 0,
    .index = index,
    .error = error,
  };
  guint64 n_kv = 0, n_tensors = 0, padding;

  if (!parse_header (&p, self, &n_kv, &n_tensors))
    return FALSE;

  self->n_entries = (guint) n_kv;
  self->entries = g_new0 (Entry, self->n_entries);
  if (!parse_metadata (&p, self) || !parse_alignment (&p, self))
    return FALSE;

  self->n_tensors = (guint) n_tensors;
  self->tensors = g_new0 (LoomGgufTensor, self->n_tensors);
  for (guint i = 0; i < self->n_tensors; i++)
    if (!parse_tensor_info (&p, self, i, &self->tensors[i]))
      return FALSE;

  /* A vocabulary-only file may end here, without the padding. */
  padding = (self->alignment - p.pos % self->alignment) % self->alignment;
  self->data_offset = p.pos + padding;
  if (!check_extents (&p, self))
    return FALSE;

  self->index = (guint64 *) (void *) g_array_free (g_steal_pointer (&index), FALSE);
  return TRUE;
}

static LoomGguf *
gguf_new (GBytes     *bytes,
          const char *name)
{
  LoomGguf *self = g_new0 (LoomGguf, 1);
  gsize size;

  g_atomic_ref_count_init (&self->ref_count);
  self->name = g_strdup (name);
  self->bytes = g_bytes_ref (bytes);
  self->data = g_bytes_get_data (bytes, &size);
  self->size = size;
  self->alignment = DEFAULT_ALIGNMENT;
  self->strings = g_string_chunk_new (4096);
  self->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

static void
gguf_free (LoomGguf *self)
{
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->by_key, g_hash_table_unref);
  g_clear_pointer (&self->strings, g_string_chunk_free);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self->tensors);
  g_free (self->entries);
  g_free (self->index);
  g_free (self->name);
  g_free (self);
}

/**
 * loom_gguf_new_from_bytes:
 * @bytes: the whole file
 * @name: (nullable): what to call it in messages
 *
 * Returns: (transfer full) (nullable): a view of @bytes, which it keeps a reference to.
 */
LoomGguf *
loom_gguf_new_from_bytes (GBytes      *bytes,
                          const char  *name,
                          GError     **error)
{
  LoomGguf *self;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = gguf_new (bytes, name != NULL ? name : "GGUF data");
  if (!parse (self, error))
    {
      gguf_free (self);
      return NULL;
    }
  return self;
}

/**
 * loom_gguf_open:
 *
 * Maps @path read-only and validates it; loom_gguf_get_name() then gives @path for
 * display. The mapping lives as long as the LoomGguf; the file must not be truncated
 * meanwhile (reading a truncated mapping raises SIGBUS), which is why model files are
 * replaced by rename, never rewritten in place.
 */
LoomGguf *
loom_gguf_open (const char  *path,
                GError     **error)
{
  LoomGguf *self;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *display = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  mapped = loom_mapped_file_open (path, display, error);
  if (mapped == NULL)
    return NULL;
  bytes = g_mapped_file_get_bytes (mapped);
  self = loom_gguf_new_from_bytes (bytes, display, error);
  if (self != NULL)
    self->mapped_file = TRUE;
  return self;
}

LoomGguf *
loom_gguf_ref (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
loom_gguf_unref (LoomGguf *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    gguf_free (self);
}

const char *
loom_gguf_get_name (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->name;
}

guint32
loom_gguf_get_version (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->version;
}

guint64
loom_gguf_get_alignment (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->alignment;
}

guint64
loom_gguf_get_file_size (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->size;
}

/* A file with tensor infos has all their data (open checks it); one without any is a
 * vocabulary or metadata file. */
gboolean
loom_gguf_has_tensor_data (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->n_tensors > 0;
}

guint
loom_gguf_get_n_keys (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_entries;
}

const char *
loom_gguf_get_key (LoomGguf *self,
                   guint     i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->n_entries, NULL);

  return self->entries[i].key;
}

static const Entry *
lookup (LoomGguf   *self,
        const char *key)
{
  return g_hash_table_lookup (self->by_key, key);
}

LoomGgufType
loom_gguf_get_key_type (LoomGguf   *self,
                        const char *key)
{
  const Entry *entry;

  g_return_val_if_fail (self != NULL, LOOM_GGUF_INVALID);
  g_return_val_if_fail (key != NULL, LOOM_GGUF_INVALID);

  entry = lookup (self, key);
  return entry != NULL ? entry->type : LOOM_GGUF_INVALID;
}

gboolean
loom_gguf_get_uint (LoomGguf   *self,
                    const char *key,
                    guint64    *out)
{
  const Entry *entry;
  guint64 bits;
  gboolean negative;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  entry = lookup (self, key);
  if (entry == NULL || !type_is_integer (entry->type))
    return FALSE;
  read_integer (self->data + entry->offset, entry->type, &bits, &negative);
  if (negative)
    return FALSE;
  *out = bits;
  return TRUE;
}

gboolean
loom_gguf_get_int (LoomGguf   *self,
                   const char *key,
                   gint64     *out)
{
  const Entry *entry;
  guint64 bits;
  gboolean negative;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  entry = lookup (self, key);
  if (entry == NULL || !type_is_integer (entry->type))
    return FALSE;
  read_integer (self->data + entry->offset, entry->type, &bits, &negative);
  if (!negative && bits > G_MAXINT64)
    return FALSE;
  *out = (gint64) bits;
  return TRUE;
}

gboolean
loom_gguf_get_float (LoomGguf   *self,
                     const char *key,
                     double     *out)
{
  const Entry *entry;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  entry = lookup (self, key);
  if (entry == NULL || (entry->type != LOOM_GGUF_FLOAT32 && entry->type != LOOM_GGUF_FLOAT64))
    return FALSE;
  *out = read_float (self->data + entry->offset, entry->type);
  return TRUE;
}

gboolean
loom_gguf_get_bool (LoomGguf   *self,
                    const char *key,
                    gboolean   *out)
{
  const Entry *entry;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  entry = lookup (self, key);
  if (entry == NULL || entry->type != LOOM_GGUF_BOOL)
    return FALSE;
  *out = self->data[entry->offset] != 0;
  return TRUE;
}

const char *
loom_gguf_get_string (LoomGguf   *self,
                      const char *key)
{
  const Entry *entry;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  entry = lookup (self, key);
  if (entry == NULL || entry->type != LOOM_GGUF_STRING)
    return NULL;
  return entry->string;
}

/* The array whose header is at byte @offset of the file, its index slice at @index_pos. */
static void
array_at (const LoomGguf *self,
          guint64         offset,
          guint64         index_pos,
          LoomGgufArray  *out)
{
  out->type = (LoomGgufType) read_u32 (self->data + offset);
  out->n = read_u64 (self->data + offset + 4);
  out->gguf = self;
  out->data = self->data + offset + ARRAY_HEADER_BYTES;
  out->index = index_pos == NO_INDEX ? NULL : self->index + index_pos;
}

gboolean
loom_gguf_get_array (LoomGguf      *self,
                     const char    *key,
                     LoomGgufArray *out)
{
  const Entry *entry;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  entry = lookup (self, key);
  if (entry == NULL || entry->type != LOOM_GGUF_ARRAY)
    return FALSE;
  array_at (self, entry->offset, entry->index_pos, out);
  return TRUE;
}

/* Any integer element type is accepted. Values saturate: a negative one reads as 0 here,
 * and a uint64 above G_MAXINT64 as G_MAXINT64 from loom_gguf_array_get_int(); callers
 * that care use the scalar getters' range checks or the matching signedness. */
guint64
loom_gguf_array_get_uint (const LoomGgufArray *array,
                          guint64              i)
{
  guint64 bits;
  gboolean negative;

  g_return_val_if_fail (array != NULL, 0);
  g_return_val_if_fail (i < array->n, 0);
  g_return_val_if_fail (type_is_integer (array->type), 0);

  read_integer ((const guint8 *) array->data + i * scalar_sizes[array->type], array->type,
                &bits, &negative);
  return negative ? 0 : bits;
}

gint64
loom_gguf_array_get_int (const LoomGgufArray *array,
                         guint64              i)
{
  guint64 bits;
  gboolean negative;

  g_return_val_if_fail (array != NULL, 0);
  g_return_val_if_fail (i < array->n, 0);
  g_return_val_if_fail (type_is_integer (array->type), 0);

  read_integer ((const guint8 *) array->data + i * scalar_sizes[array->type], array->type,
                &bits, &negative);
  return !negative && bits > G_MAXINT64 ? G_MAXINT64 : (gint64) bits;
}

double
loom_gguf_array_get_float (const LoomGgufArray *array,
                           guint64              i)
{
  g_return_val_if_fail (array != NULL, 0.0);
  g_return_val_if_fail (i < array->n, 0.0);
  g_return_val_if_fail (array->type == LOOM_GGUF_FLOAT32 || array->type == LOOM_GGUF_FLOAT64,
                        0.0);

  return read_float ((const guint8 *) array->data + i * scalar_sizes[array->type],
                     array->type);
}

gboolean
loom_gguf_array_get_bool (const LoomGgufArray *array,
                          guint64              i)
{
  g_return_val_if_fail (array != NULL, FALSE);
  g_return_val_if_fail (i < array->n, FALSE);
  g_return_val_if_fail (array->type == LOOM_GGUF_BOOL, FALSE);

  return ((const guint8 *) array->data)[i] != 0;
}

const char *
loom_gguf_array_get_string (const LoomGgufArray *array,
                            guint64              i,
                            gsize               *length)
{
  const guint8 *p;

  g_return_val_if_fail (array != NULL, NULL);
  g_return_val_if_fail (i < array->n, NULL);
  g_return_val_if_fail (array->type == LOOM_GGUF_STRING, NULL);

  p = array->gguf->data + array->index[i];
  if (length != NULL)
    *length = (gsize) read_u64 (p);
  return (const char *) p + 8;
}

void
loom_gguf_array_get_array (const LoomGgufArray *array,
                           guint64              i,
                           LoomGgufArray       *out)
{
  g_return_if_fail (array != NULL);
  g_return_if_fail (i < array->n);
  g_return_if_fail (array->type == LOOM_GGUF_ARRAY);
  g_return_if_fail (out != NULL);

  array_at (array->gguf, array->index[2 * i], array->index[2 * i + 1], out);
}

guint
loom_gguf_get_n_tensors (LoomGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_tensors;
}

const LoomGgufTensor *
loom_gguf_get_tensor (LoomGguf *self,
                      guint     i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->n_tensors, NULL);

  return &self->tensors[i];
}

const LoomGgufTensor *
loom_gguf_find_tensor (LoomGguf   *self,
                       const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->by_name, name);
}

void
loom_gguf_release_tensor (LoomGguf             *self,
                          const LoomGgufTensor *tensor)
{
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  guintptr start, end;

  g_return_if_fail (self != NULL && tensor != NULL);
  if (tensor->data == NULL || !self->mapped_file)
    return;
  /* Only whole pages inside the tensor: its neighbours may still be needed. */
  start = ((guintptr) tensor->data + page - 1) & ~(guintptr) (page - 1);
  end = ((guintptr) tensor->data + tensor->size) & ~(guintptr) (page - 1);
  if (end > start)
    madvise ((void *) start, end - start, MADV_DONTNEED);
}
