/* test-safetensors.c — the safetensors reader and writer: round trips, hand-built files,
 * hostile files. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "loom-test-util.h"
#include "formats/loom-safetensors.h"

/* A file from its header text and @data_bytes bytes of data (0, 1, 2, …). */
static GBytes *
file_new (const char *json,
          gsize       data_bytes)
{
  GByteArray *b = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE (strlen (json));

  g_byte_array_append (b, (const guint8 *) &n, sizeof n);
  g_byte_array_append (b, (const guint8 *) json, (guint) strlen (json));
  for (gsize i = 0; i < data_bytes; i++)
    {
      guint8 v = (guint8) i;

      g_byte_array_append (b, &v, 1);
    }
  return g_byte_array_free_to_bytes (b);
}

/* Opens a copy of @size bytes of @data in a buffer of exactly that size, so that memcheck
 * sees any read past the end. */
static LoomSafetensors *
open_copy (const guint8  *data,
           gsize          size,
           guint8       **copy,
           GError       **error)
{
  *copy = g_memdup2 (data, size);
  return loom_safetensors_new_from_data (*copy, size, error);
}

/* Checks that @bytes is refused with @code, a message naming the data and containing
 * each of the NULL-terminated @fragments. */
static void
expect_error (GBytes     *bytes,
              gint        code,
              const char *fragment,
              ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomSafetensors) st = NULL;
  g_autofree guint8 *copy = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  va_list args;

  st = open_copy (data, size, &copy, &error);
  g_assert_null (st);
  g_assert_error (error, LOOM_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "safetensors data: "));
  va_start (args, fragment);
  for (const char *f = fragment; f != NULL; f = va_arg (args, const char *))
    {
      if (strstr (error->message, f) == NULL)
        g_error ("“%s” is not in “%s”", f, error->message);
    }
  va_end (args);
}

static void
expect_json_error (const char *json,
                   gsize       data_bytes,
                   gint        code,
                   const char *fragment,
                   const char *fragment2)
{
  g_autoptr(GBytes) bytes = file_new (json, data_bytes);

  expect_error (bytes, code, fragment, fragment2, NULL);
}

/* Every tensor's extent lies inside the data and matches its type and shape; every
 * byte is read, so that memcheck sees a pointer outside the buffer. */
static void
walk (LoomSafetensors *st,
      const guint8    *data,
      gsize            size)
{
  guint sum = 0;

  for (guint i = 0; i < loom_safetensors_get_n_tensors (st); i++)
    {
      const LoomSafetensor *t = loom_safetensors_get_tensor (st, i);
      gsize elements = 1;
      gsize type_bytes = t->type == LOOM_TENSOR_F32 ? 4 : 2;

      g_assert_true (t->type == LOOM_TENSOR_F32 || t->type == LOOM_TENSOR_F16
                     || t->type == LOOM_TENSOR_BF16);
      g_assert_cmpuint (t->n_dims, <=, LOOM_SAFETENSORS_MAX_DIMS);
      for (guint d = 0; d < t->n_dims; d++)
        elements *= (gsize) t->shape[d];
      g_assert_cmpuint (t->n_elements, ==, elements);
      g_assert_cmpuint (t->bytes, ==, elements * type_bytes);
      g_assert_true (t->data >= data && t->data + t->bytes <= data + size);
      g_assert_true (t->data == data + t->file_offset);
      g_assert_true (loom_safetensors_lookup (st, t->name) == t);
      if (i > 0)
        g_assert_cmpuint (t->file_offset, >=, loom_safetensors_get_tensor (st, i - 1)->file_offset);
      for (gsize b = 0; b < t->bytes; b++)
        sum += t->data[b];
    }
  (void) sum;
}

/* Round trips. */

typedef struct
{
  const char *name;
  guint32     type;
  guint       n_dims;
  gint64      shape[4];
  gsize       bytes;
} Spec;

static const Spec specs[] = {
  { "model.conv.weight", LOOM_TENSOR_F32, 4, { 2, 3, 1, 1 }, 24 },
  { "model.norm.bias", LOOM_TENSOR_F16, 1, { 5 }, 10 },
  { "text.embedding", LOOM_TENSOR_BF16, 3, { 2, 1, 3 }, 12 },
  { "scalar", LOOM_TENSOR_F32, 0, { 0 }, 4 },
  { "empty", LOOM_TENSOR_F16, 2, { 0, 7 }, 0 },
};

static guint8 *
spec_data (guint i)
{
  guint8 *data = g_malloc0 (specs[i].bytes + 1);

  for (gsize b = 0; b < specs[i].bytes; b++)
    data[b] = (guint8) (31 * i + 7 * b + 1);
  return data;
}

static LoomSafetensorsWriter *
writer_new_with_specs (void)
{
  LoomSafetensorsWriter *writer = loom_safetensors_writer_new ();

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      g_autofree guint8 *data = spec_data (i);

      loom_safetensors_writer_add (writer, specs[i].name, specs[i].type, specs[i].n_dims,
                                   specs[i].shape, data);
    }
  loom_safetensors_writer_set_metadata (writer, "format", "pt");
  loom_safetensors_writer_set_metadata (writer, "note", "replaced");
  loom_safetensors_writer_set_metadata (writer, "note", "“quoted\", ünïcode\n");
  return writer;
}

static char *
write_specs (const char *dir)
{
  g_autoptr(LoomSafetensorsWriter) writer = writer_new_with_specs ();
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "model.safetensors", NULL);

  g_assert_true (loom_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(LoomSafetensors) st = NULL;
  g_autoptr(GDir) listing = NULL;
  gsize length, total = 0;
  guint64 header_length;

  g_assert_no_error (error);
  path = write_specs (dir);
  /* Writing again replaces the file; no temporary file is left behind. */
  g_free (path);
  path = write_specs (dir);
  listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "model.safetensors");
  g_assert_null (g_dir_read_name (listing));

  st = loom_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpstr (loom_safetensors_get_path (st), ==, path);
  g_assert_cmpuint (loom_safetensors_get_n_tensors (st), ==, G_N_ELEMENTS (specs));
  g_assert_cmpstr (loom_safetensors_get_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (loom_safetensors_get_metadata (st, "note"), ==, "“quoted\", ünïcode\n");
  g_assert_null (loom_safetensors_get_metadata (st, "missing"));
  g_assert_null (loom_safetensors_lookup (st, "missing"));
  g_assert_null (loom_safetensors_lookup (st, "__metadata__"));

  /* The data start at a multiple of 8 bytes and lie in the order the tensors were
   * added, back to back. */
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  memcpy (&header_length, contents, 8);
  header_length = GUINT64_FROM_LE (header_length);
  g_assert_cmpuint (header_length % 8, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      const LoomSafetensor *t = loom_safetensors_get_tensor (st, i);
      g_autofree guint8 *data = spec_data (i);

      g_assert_cmpstr (t->name, ==, specs[i].name);
      g_assert_true (loom_safetensors_lookup (st, specs[i].name) == t);
      g_assert_cmpuint (t->type, ==, specs[i].type);
      g_assert_cmpuint (t->n_dims, ==, specs[i].n_dims);
      for (guint d = 0; d < t->n_dims; d++)
        g_assert_cmpint (t->shape[d], ==, specs[i].shape[d]);
      g_assert_cmpuint (t->bytes, ==, specs[i].bytes);
      g_assert_cmpuint (t->file_offset, ==, 8 + header_length + total);
      g_assert_cmpmem (t->data, t->bytes, data, specs[i].bytes);
      g_assert_cmpmem (contents + t->file_offset, t->bytes, data, specs[i].bytes);
      total += t->bytes;
    }
  g_assert_cmpuint (length, ==, 8 + header_length + total);

  /* The same bytes from memory give the same view, at the same offsets. */
  {
    g_autoptr(LoomSafetensors) from_data =
      loom_safetensors_new_from_data ((const guint8 *) contents, length, &error);

    g_assert_no_error (error);
    g_assert_null (loom_safetensors_get_path (from_data));
    walk (from_data, (const guint8 *) contents, length);
    for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
      g_assert_cmpuint (loom_safetensors_get_tensor (from_data, i)->file_offset, ==,
                        loom_safetensors_get_tensor (st, i)->file_offset);
  }

  g_clear_pointer (&st, loom_safetensors_free);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A file written by hand, as the format's README describes it, read back. */
static void
test_hand_built (void)
{
  static const char json[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[12,14]}}    ";
  g_autoptr(GBytes) bytes = file_new (json, 16);   /* two bytes after the last tensor */
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomSafetensors) st = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  const guint8 *start = data + 8 + strlen (json);
  const LoomSafetensor *a, *b, *c;

  st = loom_safetensors_new_from_data (data, size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loom_safetensors_get_n_tensors (st), ==, 3);
  walk (st, data, size);

  /* In the order of their data, not of the header. */
  a = loom_safetensors_get_tensor (st, 0);
  b = loom_safetensors_get_tensor (st, 1);
  c = loom_safetensors_get_tensor (st, 2);
  g_assert_cmpstr (a->name, ==, "a");
  g_assert_cmpstr (b->name, ==, "b");
  g_assert_cmpstr (c->name, ==, "c");
  g_assert_cmpuint (a->type, ==, LOOM_TENSOR_F32);
  g_assert_cmpuint (a->n_dims, ==, 2);
  g_assert_cmpint (a->shape[0], ==, 1);
  g_assert_cmpint (a->shape[1], ==, 2);
  g_assert_cmpuint (a->n_elements, ==, 2);
  g_assert_true (a->data == start);
  g_assert_cmpuint (a->file_offset, ==, 8 + strlen (json));
  g_assert_cmpmem (a->data, 8, "\x00\x01\x02\x03\x04\x05\x06\x07", 8);
  g_assert_cmpuint (b->type, ==, LOOM_TENSOR_F16);
  g_assert_true (b->data == start + 8);
  g_assert_cmpuint (b->bytes, ==, 4);
  g_assert_cmpuint (c->type, ==, LOOM_TENSOR_BF16);
  g_assert_cmpuint (c->n_dims, ==, 0);
  g_assert_cmpuint (c->n_elements, ==, 1);
  g_assert_true (c->data == start + 12);
  g_assert_cmpstr (loom_safetensors_get_metadata (st, "format"), ==, "pt");
}

static void
test_open_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_autofree char *missing = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *nowhere = NULL;
  g_autoptr(LoomSafetensors) st = NULL;
  g_autoptr(LoomSafetensorsWriter) writer = loom_safetensors_writer_new ();
  g_autoptr(GBytes) bytes = file_new ("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],"
                                      "\"data_offsets\":[0,8]}}", 8);

  g_assert_no_error (error);
  missing = g_build_filename (dir, "missing.safetensors", NULL);
  st = loom_safetensors_open (missing, &error);
  g_assert_null (st);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing.safetensors"));
  g_clear_error (&error);

  st = loom_safetensors_open (dir, &error);
  g_assert_null (st);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY);
  g_clear_error (&error);

  empty = g_build_filename (dir, "empty.safetensors", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  st = loom_safetensors_open (empty, &error);
  g_assert_null (st);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  g_assert_nonnull (strstr (error->message, "empty.safetensors"));
  g_clear_error (&error);

  /* A file's errors name the file and the tensor. */
  bad = g_build_filename (dir, "bad.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), NULL));
  st = loom_safetensors_open (bad, &error);
  g_assert_null (st);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, bad));
  g_assert_nonnull (strstr (error->message, "tensor “x”"));
  g_clear_error (&error);

  /* Writing into a folder that does not exist fails and says where. */
  nowhere = g_build_filename (dir, "no", "such.safetensors", NULL);
  g_assert_false (loom_safetensors_writer_write (writer, nowhere, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "such.safetensors"));
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (empty), ==, 0);
  g_assert_cmpint (g_unlink (bad), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Hostile files. */

static GBytes *
valid_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_autofree char *path = NULL;
  char *contents;
  gsize length;

  g_assert_no_error (error);
  path = write_specs (dir);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  return g_bytes_new_take (contents, length);
}

/* Every proper prefix of a valid file is refused. */
static void
test_truncated (void)
{
  g_autoptr(GBytes) bytes = valid_file ();
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  for (gsize length = 0; length <= size; length++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LoomSafetensors) st = NULL;
      g_autofree guint8 *copy = NULL;

      st = open_copy (data, length, &copy, &error);
      if (length == size)
        {
          g_assert_no_error (error);
          walk (st, copy, length);
          continue;
        }
      g_assert_null (st);
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
      g_assert_true (g_str_has_prefix (error->message, "safetensors data: "));
    }
}

static void
test_hostile_length (void)
{
  g_autoptr(GBytes) short_file = g_bytes_new_static ("\x02\0\0\0\0", 5);
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  guint64 n;

  expect_error (short_file, LOOM_ERROR_INVALID_MODEL, "too short", NULL);

  /* A header length past the end of the file, and one above the limit. */
  n = GUINT64_TO_LE (1000);
  g_byte_array_append (b, (const guint8 *) &n, 8);
  g_byte_array_append (b, (const guint8 *) "{}", 2);
  bytes = g_bytes_new (b->data, b->len);
  expect_error (bytes, LOOM_ERROR_INVALID_MODEL, "1000 bytes runs past the end of the file",
                NULL);
  g_clear_pointer (&bytes, g_bytes_unref);

  n = GUINT64_TO_LE ((guint64) LOOM_SAFETENSORS_MAX_HEADER + 1);
  memcpy (b->data, &n, 8);
  bytes = g_bytes_new (b->data, b->len);
  expect_error (bytes, LOOM_ERROR_INVALID_MODEL, "more than", NULL);
  g_clear_pointer (&bytes, g_bytes_unref);

  n = GUINT64_TO_LE (G_MAXUINT64);
  memcpy (b->data, &n, 8);
  bytes = g_bytes_new (b->data, b->len);
  expect_error (bytes, LOOM_ERROR_INVALID_MODEL, "more than", NULL);
}

static void
test_hostile_json (void)
{
  g_autoptr(GBytes) nul = g_bytes_new_static ("\x06\0\0\0\0\0\0\0{\"a\0\":1}", 14);
  g_autoptr(GString) deep = g_string_new ("{\"a\":");

  expect_json_error ("", 0, LOOM_ERROR_INVALID_MODEL, "the header is empty", NULL);
  expect_json_error ("    ", 0, LOOM_ERROR_INVALID_MODEL, "the header is empty", NULL);
  expect_json_error ("{\"a\": ", 0, LOOM_ERROR_INVALID_MODEL, "not valid JSON", NULL);
  expect_json_error ("not json at all", 0, LOOM_ERROR_INVALID_MODEL, "not valid JSON", NULL);
  expect_json_error ("{\"\xff\xfe\":1}", 0, LOOM_ERROR_INVALID_MODEL, "not valid JSON", NULL);
  expect_json_error ("[1, 2]", 0, LOOM_ERROR_INVALID_MODEL, "the header is an array, not an object", NULL);
  expect_json_error ("\"text\"", 0, LOOM_ERROR_INVALID_MODEL, "is a string, not an object", NULL);
  expect_error (nul, LOOM_ERROR_INVALID_MODEL, "NUL byte", NULL);

  /* json-glib's parser recurses: a header of brackets must not reach it. */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  {
    g_autoptr(GBytes) bytes = file_new (deep->str, 0);

    expect_error (bytes, LOOM_ERROR_INVALID_MODEL, "nests more than", NULL);
  }
  /* Brackets inside strings are text. */
  {
    g_autoptr(GString) names = g_string_new ("{\"__metadata__\":{\"k\":\"");
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomSafetensors) st = NULL;
    g_autoptr(GBytes) bytes = NULL;

    for (guint i = 0; i < 100; i++)
      g_string_append (names, "[{\\\"");
    g_string_append (names, "\"}}");
    bytes = file_new (names->str, 0);
    st = loom_safetensors_new_from_data (g_bytes_get_data (bytes, NULL),
                                         g_bytes_get_size (bytes), &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (loom_safetensors_get_metadata (st, "k"), "[{\"[{\""));
  }
}

static void
test_hostile_tensors (void)
{
  /* The dtype: whole-byte types Loom does not compute with are listed as such (real SD
   * files keep position_ids as I64), with their extents checked; sub-byte ones refused. */
  {
    g_autoptr(GBytes) bytes = file_new ("{\"p\":{\"dtype\":\"I64\",\"shape\":[1,2],"
                                        "\"data_offsets\":[0,16]},\"w\":{\"dtype\":\"F32\","
                                        "\"shape\":[1],\"data_offsets\":[16,20]}}", 20);
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomSafetensors) st = loom_safetensors_new_from_data (g_bytes_get_data (bytes, NULL),
                                                                    g_bytes_get_size (bytes), &error);
    const LoomSafetensor *p;

    g_assert_no_error (error);
    p = loom_safetensors_lookup (st, "p");
    g_assert_nonnull (p);
    g_assert_cmpuint (p->type, ==, LOOM_SAFETENSORS_TYPE_OTHER);
    g_assert_cmpstr (p->dtype, ==, "I64");
    g_assert_cmpuint (p->bytes, ==, 16);
    g_assert_cmpuint (loom_safetensors_lookup (st, "w")->type, ==, LOOM_TENSOR_F32);
  }
  expect_json_error ("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", NULL);
  expect_json_error ("{\"w\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1,
                     LOOM_ERROR_UNSUPPORTED_MODEL, "tensor “w” has dtype F4", NULL);
  expect_json_error ("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” has an unknown dtype “Q4”", NULL);
  expect_json_error ("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "dtype is not a string");
  expect_json_error ("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” has no dtype", NULL);

  /* The shape. */
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "not a non-negative integer");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "not a non-negative integer");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "not a non-negative integer");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "shape is not an array");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” has no shape", NULL);
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                     "\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” has 9 dimensions", NULL);
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                     "\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "64 bits");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,1],"
                     "\"data_offsets\":[0,4]}}", 4,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "64 bits");
  /* Overflowing 64 bits only through a zero is still an empty tensor. */
  {
    g_autoptr(GBytes) bytes = file_new ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,"
                                        "4294967296,0],\"data_offsets\":[0,0]}}", 0);
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomSafetensors) st = NULL;

    st = loom_safetensors_new_from_data (g_bytes_get_data (bytes, NULL),
                                         g_bytes_get_size (bytes), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (loom_safetensors_lookup (st, "w")->n_elements, ==, 0);
  }

  /* The extent. */
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” has 8 bytes of data, but 3 F32 "
                     "values take 12", NULL);
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "runs past the end of the data");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
                     "\"data_offsets\":[18446744073709551615,7]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", NULL);
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "end before they begin");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "not two non-negative integers");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "not two non-negative integers");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w”", "not two non-negative integers");
  expect_json_error ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” has no data_offsets", NULL);
  expect_json_error ("{\"w\":[1,2]}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “w” is an array, not an object", NULL);

  /* Two tensors. */
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
                     LOOM_ERROR_INVALID_MODEL, "tensors “a” and “b” overlap", NULL);
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                     "\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[2,4]},"
                     "\"c\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]}}", 16,
                     LOOM_ERROR_INVALID_MODEL, "tensors “a” and “b” overlap", NULL);
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "tensor “a” appears twice", NULL);
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"dtype\":\"F16\","
                     "\"data_offsets\":[0,4]}}", 8,
                     LOOM_ERROR_INVALID_MODEL, "the key “dtype” twice", NULL);
  /* Empty tensors share no bytes with anything. */
  {
    g_autoptr(GBytes) bytes = file_new ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                                        "\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"F16\","
                                        "\"shape\":[0],\"data_offsets\":[4,4]}}", 8);
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomSafetensors) st = NULL;

    st = loom_safetensors_new_from_data (g_bytes_get_data (bytes, NULL),
                                         g_bytes_get_size (bytes), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (loom_safetensors_get_n_tensors (st), ==, 2);
  }
}

static void
test_hostile_metadata (void)
{
  expect_json_error ("{\"__metadata__\":{\"k\":1}}", 0,
                     LOOM_ERROR_INVALID_MODEL, "metadata “k” is a number, not a string",
                     NULL);
  expect_json_error ("{\"__metadata__\":{\"k\":{}}}", 0,
                     LOOM_ERROR_INVALID_MODEL, "metadata “k” is an object", NULL);
  expect_json_error ("{\"__metadata__\":{\"k\":null}}", 0,
                     LOOM_ERROR_INVALID_MODEL, "metadata “k” is null", NULL);
  expect_json_error ("{\"__metadata__\":[\"k\"]}", 0,
                     LOOM_ERROR_INVALID_MODEL, "“__metadata__” is an array", NULL);
  expect_json_error ("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0,
                     LOOM_ERROR_INVALID_MODEL, "the key “k” twice", NULL);
}

static void
test_fuzz (void)
{
  g_autoptr(GBytes) seed = valid_file ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240611);
  gsize size;
  const guint8 *original = g_bytes_get_data (seed, &size);
  g_autofree guint8 *mutated = g_malloc (size);
  guint n_opened = 0, rounds = g_test_slow () ? 200000 : 10000;

  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LoomSafetensors) st = NULL;
      g_autofree guint8 *copy = NULL;
      guint n_flips = g_rand_int_range (rand, 1, 5);
      gsize length = size;

      memcpy (mutated, original, size);
      for (guint f = 0; f < n_flips; f++)
        {
          gsize at = g_rand_int_range (rand, 0, (gint32) size);

          /* Bias some flips towards what breaks JSON and counts: digits, quotes and
           * brackets, zeros and all ones. */
          switch (g_rand_int_range (rand, 0, 5))
            {
            case 0:
              mutated[at] = "0123456789\"{}[],:-"[g_rand_int_range (rand, 0, 19)];
              break;
            case 1:
              mutated[at] = 0;
              break;
            case 2:
              mutated[at] ^= 1u << g_rand_int_range (rand, 0, 8);
              break;
            case 3:
              mutated[at] = 0xff;
              break;
            default:
              mutated[at] = (guint8) g_rand_int (rand);
              break;
            }
        }
      if (g_rand_int_range (rand, 0, 8) == 0)
        length = g_rand_int_range (rand, 0, (gint32) size);

      st = open_copy (mutated, length, &copy, &error);
      if (st != NULL)
        {
          g_assert_no_error (error);
          walk (st, copy, length);
          n_opened++;
        }
      else
        {
          g_assert_true (g_error_matches (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL)
                         || g_error_matches (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL));
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
        }
    }
  g_test_message ("%u of %u corrupted files opened", n_opened, rounds);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/engine/safetensors/hand-built", test_hand_built);
  g_test_add_func ("/engine/safetensors/open-errors", test_open_errors);
  g_test_add_func ("/engine/safetensors/hostile/truncated", test_truncated);
  g_test_add_func ("/engine/safetensors/hostile/length", test_hostile_length);
  g_test_add_func ("/engine/safetensors/hostile/json", test_hostile_json);
  g_test_add_func ("/engine/safetensors/hostile/tensors", test_hostile_tensors);
  g_test_add_func ("/engine/safetensors/hostile/metadata", test_hostile_metadata);
  g_test_add_func ("/engine/safetensors/hostile/fuzz", test_fuzz);

  return loom_test_run ();
}
