/* loom-safetensors.c — a validated, memory-mapped view of a safetensors file, and a writer.
 *
 * Layout (see huggingface/safetensors' README):
 *
 *   u64 N (little-endian)   N bytes of UTF-8 JSON   the data
 *
 * The JSON object maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
 * end]}, offsets relative to the start of the data, and may hold "__metadata__", an
 * object of strings. Opening parses and checks all of it once; the tensors then point
 * into the mapping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "loom-error.h"
#include "loom-mapped-file.h"
#include "loom-safetensors.h"
#include "loom-tensor-type.h"

#define LENGTH_BYTES  8
#define METADATA_KEY  "__metadata__"
/* Real headers nest three deep (file, tensor, shape); json-glib's parser recurses, so a
 * header of nothing but brackets must be refused before it reaches it. */
#define MAX_NESTING   16

typedef struct
{
  const char *name;
  guint32     type;
  guint       bytes;  /* per element */
} Dtype;

/* What Loom computes with, then the whole-byte types the format defines that Loom does
 * not: real checkpoints carry a few of those beside the weights (SD 1.x files keep the
 * text encoder's position_ids as I64, EMA counters as I32), so a file holding them
 * opens, its extents are checked all the same, and they are listed as
 * LOOM_SAFETENSORS_TYPE_OTHER for the model loader to ignore or refuse by name. */
static const Dtype dtypes[] = {
  { "F32", LOOM_TENSOR_F32, 4 },
  { "F16", LOOM_TENSOR_F16, 2 },
  { "BF16", LOOM_TENSOR_BF16, 2 },
  { "F64", LOOM_SAFETENSORS_TYPE_OTHER, 8 },
  { "I64", LOOM_SAFETENSORS_TYPE_OTHER, 8 },
  { "I32", LOOM_SAFETENSORS_TYPE_OTHER, 4 },
  { "I16", LOOM_SAFETENSORS_TYPE_OTHER, 2 },
  { "I8", LOOM_SAFETENSORS_TYPE_OTHER, 1 },
  { "U64", LOOM_SAFETENSORS_TYPE_OTHER, 8 },
  { "U32", LOOM_SAFETENSORS_TYPE_OTHER, 4 },
  { "U16", LOOM_SAFETENSORS_TYPE_OTHER, 2 },
  { "U8", LOOM_SAFETENSORS_TYPE_OTHER, 1 },
  { "BOOL", LOOM_SAFETENSORS_TYPE_OTHER, 1 },
  { "F8_E4M3", LOOM_SAFETENSORS_TYPE_OTHER, 1 },
  { "F8_E5M2", LOOM_SAFETENSORS_TYPE_OTHER, 1 },
  { "F8_E8M0", LOOM_SAFETENSORS_TYPE_OTHER, 1 },
  { "C64", LOOM_SAFETENSORS_TYPE_OTHER, 8 },
};

/* Sub-byte element types: valid files, but their extents are not whole bytes per
 * element and Loom has no use for them. */
static const char * const other_dtypes[] = {
  "F6_E2M3", "F6_E3M2", "F4",
};

struct _LoomSafetensors
{
  char           *path;       /* as given to loom_safetensors_open(), NULL for a buffer */
  char           *name;       /* for messages */
  GMappedFile    *mapped;     /* NULL for a buffer */
  const guint8   *data;       /* the whole file */
  gsize           size;

  GStringChunk   *strings;    /* tensor names */
  LoomSafetensor *tensors;    /* n_tensors, by file offset */
  guint           n_tensors;
  GHashTable     *by_name;    /* name → LoomSafetensor, borrowed */
  GHashTable     *metadata;   /* key → value, owned */
};

static const Dtype *
find_dtype (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dtypes[i].name, name) == 0)
      return &dtypes[i];
  return NULL;
}

static const Dtype *
find_dtype_by_type (guint32 type)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (dtypes[i].type == type)
      return &dtypes[i];
  return NULL;
}

static gboolean
is_other_dtype (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (other_dtypes); i++)
    if (strcmp (other_dtypes[i], name) == 0)
      return TRUE;
  return FALSE;
}

/* Parsing. */

static gboolean fail (LoomSafetensors  *self,
                      GError          **error,
                      LoomError         code,
                      const char       *format,
                      ...) G_GNUC_PRINTF (4, 5);

/* Always returns FALSE, so that a check can `return fail (...)`. */
static gboolean
fail (LoomSafetensors  *self,
      GError          **error,
      LoomError         code,
      const char       *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LOOM_ERROR, code, "%s: %s", self->name, message);
  return FALSE;
}

/* Refuses NUL bytes (which json-glib would take for the end of the text, and which valid
 * JSON cannot hold outside escapes) and nesting deeper than MAX_NESTING. */
static gboolean
check_header_text (LoomSafetensors  *self,
                   const char       *text,
                   gsize             length,
                   GError          **error)
{
  gboolean in_string = FALSE, escaped = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (c == '\0')
        return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                     "the header holds a NUL byte at byte %" G_GSIZE_FORMAT " of the JSON", i);
      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > MAX_NESTING)
            return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                         "the header's JSON nests more than %d levels deep", MAX_NESTING);
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

/* json-glib keeps the last of two members with one name; the file is ambiguous then,
 * so the parser's object-member signal records the first name seen twice. */
typedef struct
{
  GHashTable *seen;       /* "object pointer/name" strings */
  JsonObject *object;     /* where the first duplicate is, or NULL */
  char       *name;
} Duplicates;

static void
object_member_cb (JsonParser *parser,
                  JsonObject *object,
                  const char *name,
                  gpointer    user_data)
{
  Duplicates *d = user_data;
  char *key;

  if (d->object != NULL)
    return;
  key = g_strdup_printf ("%p/%s", (void *) object, name);
  if (!g_hash_table_add (d->seen, key))
    {
      d->object = object;
      d->name = g_strdup (name);
    }
}

/* “an object”, “a string”, … for messages. */
static const char *
describe_node (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a number";
    }
}

/* A non-negative JSON integer. */
static gboolean
get_count (JsonNode *node,
           gint64   *value)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value >= 0;
}

static gboolean
parse_metadata (LoomSafetensors  *self,
                JsonNode         *node,
                GError          **error)
{
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "“" METADATA_KEY "” is %s, not an object", describe_node (node));
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *value = json_object_get_member (object, key);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                     "metadata “%s” is %s, not a string", key, describe_node (value));
      g_hash_table_insert (self->metadata, g_strdup (key),
                           g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

/* Fills @t from the header entry @node of tensor @name, checking its extent against the
 * @data_size bytes after the header. */
static gboolean
parse_tensor (LoomSafetensors  *self,
              const char       *name,
              JsonNode         *node,
              const guint8     *data,
              guint64           data_size,
              LoomSafetensor   *t,
              GError          **error)
{
  JsonObject *object;
  JsonNode *member;
  JsonArray *array;
  const char *dtype_name;
  const Dtype *dtype;
  guint64 n_elements = 1, bytes;
  gint64 begin, end;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s” is %s, not an object", name, describe_node (node));
  object = json_node_get_object (node);

  member = json_object_get_member (object, "dtype");
  if (member == NULL)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "tensor “%s” has no dtype", name);
  if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s”: its dtype is not a string", name);
  dtype_name = json_node_get_string (member);
  dtype = find_dtype (dtype_name);
  if (dtype == NULL && is_other_dtype (dtype_name))
    return fail (self, error, LOOM_ERROR_UNSUPPORTED_MODEL,
                 "tensor “%s” has dtype %s, which Loom does not read", name, dtype_name);
  if (dtype == NULL)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s” has an unknown dtype “%s”", name, dtype_name);

  member = json_object_get_member (object, "shape");
  if (member == NULL)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "tensor “%s” has no shape", name);
  if (!JSON_NODE_HOLDS_ARRAY (member))
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s”: its shape is not an array", name);
  array = json_node_get_array (member);
  if (json_array_get_length (array) > LOOM_SAFETENSORS_MAX_DIMS)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s” has %u dimensions, more than %d", name,
                 json_array_get_length (array), LOOM_SAFETENSORS_MAX_DIMS);
  t->n_dims = json_array_get_length (array);
  for (guint d = 0; d < t->n_dims; d++)
    {
      if (!get_count (json_array_get_element (array, d), &t->shape[d]))
        return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                     "tensor “%s”: dimension %u of its shape is not a non-negative integer",
                     name, d);
      if (t->shape[d] == 0)
        n_elements = 0;
    }
  /* An empty tensor is empty whatever its other extents. */
  for (guint d = 0; d < t->n_dims && n_elements != 0; d++)
    {
      if (n_elements > G_MAXUINT64 / (guint64) t->shape[d])
        return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                     "tensor “%s”: its shape has more elements than 64 bits can count", name);
      n_elements *= (guint64) t->shape[d];
    }
  if (n_elements > G_MAXUINT64 / dtype->bytes)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s”: its shape has more bytes than 64 bits can count", name);
  bytes = n_elements * dtype->bytes;

  member = json_object_get_member (object, "data_offsets");
  if (member == NULL)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "tensor “%s” has no data_offsets", name);
  if (!JSON_NODE_HOLDS_ARRAY (member) || json_array_get_length (json_node_get_array (member)) != 2
      || !get_count (json_array_get_element (json_node_get_array (member), 0), &begin)
      || !get_count (json_array_get_element (json_node_get_array (member), 1), &end))
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s”: its data_offsets are not two non-negative integers", name);
  if (begin > end)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s”: its data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 "] end before they begin", name, begin, end);
  if ((guint64) end > data_size)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s”: its data [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 "] runs past the end of the data (%" G_GUINT64_FORMAT " bytes)",
                 name, begin, end, data_size);
  if ((guint64) (end - begin) != bytes)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "tensor “%s” has %" G_GINT64_FORMAT " bytes of data, but %" G_GUINT64_FORMAT
                 " %s values take %" G_GUINT64_FORMAT, name, end - begin, n_elements,
                 dtype->name, bytes);

  t->name = g_string_chunk_insert (self->strings, name);
  t->type = dtype->type;
  t->dtype = dtype->name;
  t->n_elements = n_elements;
  t->data = data + begin;
  t->bytes = bytes;
  t->file_offset = (data - self->data) + begin;
  return TRUE;
}

static int
compare_offsets (gconstpointer a,
                 gconstpointer b)
{
  const LoomSafetensor *ta = a, *tb = b;

  if (ta->file_offset != tb->file_offset)
    return ta->file_offset < tb->file_offset ? -1 : 1;
  if (ta->bytes != tb->bytes)
    return ta->bytes < tb->bytes ? -1 : 1;
  return strcmp (ta->name, tb->name);
}

/* Sorts the tensors by offset and checks that no two share a byte. Empty tensors
 * share none, wherever they are. */
static gboolean
check_overlaps (LoomSafetensors  *self,
                GError          **error)
{
  const LoomSafetensor *last = NULL;   /* the non-empty tensor that ends last so far */

  qsort (self->tensors, self->n_tensors, sizeof *self->tensors, compare_offsets);
  for (guint i = 0; i < self->n_tensors; i++)
    {
      const LoomSafetensor *t = &self->tensors[i];

      if (t->bytes == 0)
        continue;
      if (last != NULL && t->file_offset < last->file_offset + last->bytes)
        return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                     "tensors “%s” and “%s” overlap in the file", last->name, t->name);
      if (last == NULL || t->file_offset + t->bytes > last->file_offset + last->bytes)
        last = t;
    }
  return TRUE;
}

static gboolean
parse (LoomSafetensors  *self,
       GError          **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) json_error = NULL;
  g_autoptr(GList) members = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autofree char *duplicate = NULL;
  Duplicates dups = { NULL, };
  const char *header;
  const guint8 *data;
  guint64 header_length, data_size;
  JsonNode *root;
  JsonObject *object;
  guint n = 0;
  gboolean ok;

  if (self->size < LENGTH_BYTES)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "the file is %" G_GSIZE_FORMAT " bytes long, too short for the %d-byte "
                 "header length", self->size, LENGTH_BYTES);
  memcpy (&header_length, self->data, sizeof header_length);
  header_length = GUINT64_FROM_LE (header_length);
  if (header_length > LOOM_SAFETENSORS_MAX_HEADER)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "the header claims %" G_GUINT64_FORMAT " bytes, more than the %u a "
                 "safetensors file may have", header_length, LOOM_SAFETENSORS_MAX_HEADER);
  if (header_length > self->size - LENGTH_BYTES)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "the header of %" G_GUINT64_FORMAT " bytes runs past the end of the file (%"
                 G_GSIZE_FORMAT " bytes)", header_length, self->size);

  header = (const char *) self->data + LENGTH_BYTES;
  data = self->data + LENGTH_BYTES + header_length;
  data_size = self->size - LENGTH_BYTES - header_length;
  if (!check_header_text (self, header, header_length, error))
    return FALSE;

  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  dups.seen = seen;
  parser = json_parser_new ();
  g_signal_connect (parser, "object-member", G_CALLBACK (object_member_cb), &dups);
  ok = json_parser_load_from_data (parser, header, header_length, &json_error);
  duplicate = g_steal_pointer (&dups.name);
  if (!ok)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "the header is not valid JSON: %s",
                 json_error->message);

  root = json_parser_get_root (parser);
  if (root == NULL)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "the header is empty");
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "the header is %s, not an object",
                 describe_node (root));
  object = json_node_get_object (root);
  if (duplicate != NULL && dups.object == object)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL, "tensor “%s” appears twice", duplicate);
  if (duplicate != NULL)
    return fail (self, error, LOOM_ERROR_INVALID_MODEL,
                 "the header has the key “%s” twice in one object", duplicate);

  members = json_object_get_members (object);
  self->tensors = g_new0 (LoomSafetensor, json_object_get_size (object));
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);

      if (strcmp (name, METADATA_KEY) == 0)
        {
          if (!parse_metadata (self, node, error))
            return FALSE;
          continue;
        }
      if (!parse_tensor (self, name, node, data, data_size, &self->tensors[n], error))
        return FALSE;
      n++;
    }
  self->n_tensors = n;

  if (!check_overlaps (self, error))
    return FALSE;
  for (guint i = 0; i < self->n_tensors; i++)
    g_hash_table_insert (self->by_name, (gpointer) self->tensors[i].name, &self->tensors[i]);
  return TRUE;
}

static LoomSafetensors *
safetensors_new (const guint8 *data,
                 gsize         size,
                 const char   *name)
{
  LoomSafetensors *self = g_new0 (LoomSafetensors, 1);

  self->name = g_strdup (name);
  self->data = data;
  self->size = size;
  self->strings = g_string_chunk_new (4096);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
loom_safetensors_free (LoomSafetensors *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->metadata, g_hash_table_unref);
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->strings, g_string_chunk_free);
  g_clear_pointer (&self->mapped, g_mapped_file_unref);
  g_free (self->tensors);
  g_free (self->name);
  g_free (self->path);
  g_free (self);
}

/**
 * loom_safetensors_new_from_data:
 * @data: the whole file, which must outlive the result
 *
 * Returns: (transfer full) (nullable): a view of @data, or %NULL with @error set.
 */
LoomSafetensors *
loom_safetensors_new_from_data (const guint8  *data,
                                gsize          size,
                                GError       **error)
{
  LoomSafetensors *self;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = safetensors_new (data, size, "safetensors data");
  if (!parse (self, error))
    {
      loom_safetensors_free (self);
      return NULL;
    }
  return self;
}

/**
 * loom_safetensors_open:
 *
 * Maps @path read-only and validates it. The mapping lives as long as the result; the
 * file must not be truncated meanwhile (reading a truncated mapping raises SIGBUS), which
 * is why files are replaced by rename, never rewritten in place.
 */
LoomSafetensors *
loom_safetensors_open (const char  *path,
                       GError     **error)
{
  LoomSafetensors *self;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autofree char *display = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  mapped = loom_mapped_file_open (path, display, error);
  if (mapped == NULL)
    return NULL;

  self = safetensors_new ((const guint8 *) g_mapped_file_get_contents (mapped),
                          g_mapped_file_get_length (mapped), display);
  self->path = g_strdup (path);
  self->mapped = g_steal_pointer (&mapped);
  if (!parse (self, error))
    {
      loom_safetensors_free (self);
      return NULL;
    }
  return self;
}

/* Returns: (nullable): the path given to loom_safetensors_open(), %NULL for a buffer. */
const char *
loom_safetensors_get_path (LoomSafetensors *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

guint
loom_safetensors_get_n_tensors (LoomSafetensors *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_tensors;
}

const LoomSafetensor *
loom_safetensors_get_tensor (LoomSafetensors *self,
                             guint            index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_tensors, NULL);

  return &self->tensors[index];
}

/* Returns: (nullable): the tensor called @name, or %NULL. */
const LoomSafetensor *
loom_safetensors_lookup (LoomSafetensors *self,
                         const char      *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->by_name, name);
}

const char *
loom_safetensors_get_metadata (LoomSafetensors *self,
                               const char      *key)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return g_hash_table_lookup (self->metadata, key);
}

/* Writing. */

typedef struct
{
  char        *name;
  const Dtype *dtype;
  guint        n_dims;
  gint64       shape[LOOM_SAFETENSORS_MAX_DIMS];
  GBytes      *data;
} WriterTensor;

struct _LoomSafetensorsWriter
{
  GPtrArray  *tensors;    /* WriterTensor, in the order added (and of their data) */
  GHashTable *names;      /* borrowed from tensors */
  GHashTable *metadata;   /* key → value, owned */
};

static void
writer_tensor_free (gpointer data)
{
  WriterTensor *t = data;

  g_free (t->name);
  g_bytes_unref (t->data);
  g_free (t);
}

LoomSafetensorsWriter *
loom_safetensors_writer_new (void)
{
  LoomSafetensorsWriter *self = g_new0 (LoomSafetensorsWriter, 1);

  self->tensors = g_ptr_array_new_with_free_func (writer_tensor_free);
  self->names = g_hash_table_new (g_str_hash, g_str_equal);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
loom_safetensors_writer_free (LoomSafetensorsWriter *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->names);
  g_ptr_array_unref (self->tensors);
  g_hash_table_unref (self->metadata);
  g_free (self);
}

/**
 * loom_safetensors_writer_add:
 * @type: LOOM_TENSOR_F32, LOOM_TENSOR_F16 or LOOM_TENSOR_BF16
 * @shape: @n_dims extents, outermost first
 * @data: the product of @shape values of @type, copied
 *
 * Adds a tensor; names must be unique.
 */
void
loom_safetensors_writer_add (LoomSafetensorsWriter *self,
                             const char            *name,
                             guint32                type,
                             guint                  n_dims,
                             const gint64          *shape,
                             gconstpointer          data)
{
  const Dtype *dtype = type != LOOM_SAFETENSORS_TYPE_OTHER ? find_dtype_by_type (type) : NULL;
  WriterTensor *t;
  gsize n_elements = 1;

  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && strcmp (name, METADATA_KEY) != 0);
  g_return_if_fail (!g_hash_table_contains (self->names, name));
  g_return_if_fail (dtype != NULL);
  g_return_if_fail (n_dims <= LOOM_SAFETENSORS_MAX_DIMS);
  g_return_if_fail (n_dims == 0 || shape != NULL);

  for (guint d = 0; d < n_dims; d++)
    {
      g_return_if_fail (shape[d] >= 0);
      g_return_if_fail (shape[d] == 0 || n_elements <= G_MAXSIZE / dtype->bytes / (gsize) shape[d]);
      n_elements *= (gsize) shape[d];
    }
  g_return_if_fail (n_elements == 0 || data != NULL);

  t = g_new0 (WriterTensor, 1);
  t->name = g_strdup (name);
  t->dtype = dtype;
  t->n_dims = n_dims;
  if (n_dims > 0)
    memcpy (t->shape, shape, n_dims * sizeof *shape);
  t->data = g_bytes_new (data, n_elements * dtype->bytes);
  g_ptr_array_add (self->tensors, t);
  g_hash_table_add (self->names, t->name);
}

/* Sets "__metadata__" @key to @value, replacing an earlier value. */
void
loom_safetensors_writer_set_metadata (LoomSafetensorsWriter *self,
                                      const char            *key,
                                      const char            *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);
  g_return_if_fail (g_utf8_validate (key, -1, NULL) && g_utf8_validate (value, -1, NULL));

  g_hash_table_insert (self->metadata, g_strdup (key), g_strdup (value));
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The header JSON, padded with spaces so that the data start at a multiple of 8 bytes
 * in the file (the length field is 8 bytes too). Metadata keys are sorted, so that the
 * same tensors and metadata always give the same file. */
static char *
build_header (LoomSafetensorsWriter *self,
              gsize                 *length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  GString *header;
  guint64 offset = 0, header_length;
  gsize json_length;

  json_builder_begin_object (builder);
  if (g_hash_table_size (self->metadata) > 0)
    {
      g_autofree const char **keys =
        (const char **) g_hash_table_get_keys_as_array (self->metadata, NULL);
      guint n_keys = g_hash_table_size (self->metadata);

      qsort (keys, n_keys, sizeof *keys, compare_strings);
      json_builder_set_member_name (builder, METADATA_KEY);
      json_builder_begin_object (builder);
      for (guint i = 0; i < n_keys; i++)
        {
          json_builder_set_member_name (builder, keys[i]);
          json_builder_add_string_value (builder, g_hash_table_lookup (self->metadata, keys[i]));
        }
      json_builder_end_object (builder);
    }
  for (guint i = 0; i < self->tensors->len; i++)
    {
      WriterTensor *t = g_ptr_array_index (self->tensors, i);
      gsize bytes = g_bytes_get_size (t->data);

      json_builder_set_member_name (builder, t->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, t->dtype->name);
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (guint d = 0; d < t->n_dims; d++)
        json_builder_add_int_value (builder, t->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + bytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += bytes;
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, &json_length);

  header = g_string_sized_new (LENGTH_BYTES + json_length + 8);
  g_string_set_size (header, LENGTH_BYTES);
  g_string_append_len (header, json, json_length);
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  header_length = GUINT64_TO_LE (header->len - LENGTH_BYTES);
  memcpy (header->str, &header_length, sizeof header_length);
  *length = header->len;
  return g_string_free (header, FALSE);
}

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          size)
{
  while (size > 0)
    {
      gssize n = write (fd, data, MIN (size, (gsize) G_MAXSSIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0)
        errno = EIO;
      if (n <= 0)
        return FALSE;
      data += n;
      size -= n;
    }
  return TRUE;
}

/**
 * loom_safetensors_writer_write:
 *
 * Writes the tensors added so far to @path, through a temporary file beside it that
 * replaces @path by rename only once complete: a reader that has @path mapped keeps its
 * old contents, and a failed write leaves @path as it was.
 */
gboolean
loom_safetensors_writer_write (LoomSafetensorsWriter  *self,
                               const char             *path,
                               GError                **error)
{
  g_autofree char *header = NULL;
  g_autofree char *display = NULL;
  g_autofree char *tmp_path = NULL;
  gsize header_length;
  gboolean ok;
  int fd, saved_errno;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);
  header = build_header (self, &header_length);
  tmp_path = g_strconcat (path, ".XXXXXX", NULL);
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not write “%s”: %s", display, g_strerror (saved_errno));
      return FALSE;
    }

  ok = write_all (fd, (const guint8 *) header, header_length);
  for (guint i = 0; ok && i < self->tensors->len; i++)
    {
      WriterTensor *t = g_ptr_array_index (self->tensors, i);
      gsize size;
      const guint8 *data = g_bytes_get_data (t->data, &size);

      ok = write_all (fd, data, size);
    }
  /* The data must be on disk before the rename makes them the file's. */
  ok = ok && fsync (fd) == 0;
  saved_errno = errno;
  if (!g_close (fd, NULL) && ok)
    {
      ok = FALSE;
      saved_errno = errno;
    }
  if (ok && g_rename (tmp_path, path) != 0)
    {
      ok = FALSE;
      saved_errno = errno;
    }
  if (!ok)
    {
      g_unlink (tmp_path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not write “%s”: %s", display, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}
