/* test-gguf.c — the GGUF reader and writer: round trips, real files, hostile files. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "loom-test-util.h"

/* Hand-built files, for what the writer refuses to write. */

static void
put_u32 (GByteArray *b,
         guint32     v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, sizeof v);
}

static void
put_u64 (GByteArray *b,
         guint64     v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, sizeof v);
}

static void
put_string (GByteArray *b,
            const char *s)
{
  put_u64 (b, strlen (s));
  g_byte_array_append (b, (const guint8 *) s, (guint) strlen (s));
}

static void
put_zeros (GByteArray *b,
           gsize       n)
{
  for (gsize i = 0; i < n; i++)
    g_byte_array_append (b, (const guint8 *) "", 1);
}

static void
put_padding (GByteArray *b,
             guint       alignment)
{
  put_zeros (b, (alignment - b->len % alignment) % alignment);
}

static GByteArray *
file_new (guint32 version,
          guint64 n_tensors,
          guint64 n_kv)
{
  GByteArray *b = g_byte_array_new ();

  g_byte_array_append (b, (const guint8 *) "GGUF", 4);
  put_u32 (b, version);
  put_u64 (b, n_tensors);
  put_u64 (b, n_kv);
  return b;
}

static void
put_kv_u32 (GByteArray *b,
            const char *key,
            guint32     v)
{
  put_string (b, key);
  put_u32 (b, LOOM_GGUF_UINT32);
  put_u32 (b, v);
}

static void
put_tensor_info (GByteArray *b,
                 const char *name,
                 guint32     n_dims,
                 guint64     ne0,
                 guint64     ne1,
                 guint32     type,
                 guint64     offset)
{
  put_string (b, name);
  put_u32 (b, n_dims);
  for (guint32 d = 0; d < n_dims; d++)
    put_u64 (b, d == 0 ? ne0 : d == 1 ? ne1 : 1);
  put_u32 (b, type);
  put_u64 (b, offset);
}

/* Opens a copy of exactly @size bytes, so that memcheck sees any read past the end. */
static LoomGguf *
open_copy (const guint8  *data,
           gsize          size,
           GError       **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);

  return loom_gguf_new_from_bytes (bytes, "test.gguf", error);
}

static void
assert_invalid (GByteArray *b,
                const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = open_copy (b->data, b->len, &error);

  g_assert_null (gguf);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "test.gguf: "));
  g_assert_nonnull (strstr (error->message, fragment));
}

static LoomGguf *
open_written (LoomGgufWriter *writer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = loom_gguf_writer_to_bytes (writer);
  LoomGguf *gguf = loom_gguf_new_from_bytes (bytes, "written.gguf", &error);

  g_assert_no_error (error);
  g_assert_nonnull (gguf);
  return gguf;
}

/* Reads every value and every tensor byte, as a consumer might: after a successful open
 * none of it may reach outside the file. Returns a checksum so that nothing is skipped. */
static guint64
walk_array (const LoomGgufArray *array)
{
  guint64 sum = array->n;

  for (guint64 i = 0; i < array->n; i++)
    {
      switch (array->type)
        {
        case LOOM_GGUF_UINT8:
        case LOOM_GGUF_UINT16:
        case LOOM_GGUF_UINT32:
        case LOOM_GGUF_UINT64:
        case LOOM_GGUF_INT8:
        case LOOM_GGUF_INT16:
        case LOOM_GGUF_INT32:
        case LOOM_GGUF_INT64:
          sum += loom_gguf_array_get_uint (array, i) + (guint64) loom_gguf_array_get_int (array, i);
          break;
        case LOOM_GGUF_FLOAT32:
        case LOOM_GGUF_FLOAT64:
          sum += loom_gguf_array_get_float (array, i) > 0;
          break;
        case LOOM_GGUF_BOOL:
          sum += loom_gguf_array_get_bool (array, i);
          break;
        case LOOM_GGUF_STRING:
          {
            gsize length;
            const char *s = loom_gguf_array_get_string (array, i, &length);

            for (gsize j = 0; j < length; j++)
              sum += (guint8) s[j];
          }
          break;
        case LOOM_GGUF_ARRAY:
          {
            LoomGgufArray inner;

            loom_gguf_array_get_array (array, i, &inner);
            sum += walk_array (&inner);
          }
          break;
        case LOOM_GGUF_INVALID:
        default:
          g_assert_not_reached ();
        }
    }
  return sum;
}

static guint64
walk (LoomGguf *gguf)
{
  guint64 sum = 0;

  for (guint i = 0; i < loom_gguf_get_n_keys (gguf); i++)
    {
      const char *key = loom_gguf_get_key (gguf, i);
      LoomGgufType type = loom_gguf_get_key_type (gguf, key);
      guint64 u;
      gint64 s;
      double f;
      gboolean b;
      LoomGgufArray array;

      g_assert_cmpint (type, !=, LOOM_GGUF_INVALID);
      sum += loom_gguf_get_uint (gguf, key, &u);
      sum += loom_gguf_get_int (gguf, key, &s);
      sum += loom_gguf_get_float (gguf, key, &f);
      sum += loom_gguf_get_bool (gguf, key, &b);
      if (loom_gguf_get_string (gguf, key) != NULL)
        sum += strlen (loom_gguf_get_string (gguf, key));
      if (loom_gguf_get_array (gguf, key, &array))
        sum += walk_array (&array);
    }
  for (guint i = 0; i < loom_gguf_get_n_tensors (gguf); i++)
    {
      const LoomGgufTensor *tensor = loom_gguf_get_tensor (gguf, i);

      g_assert_true (loom_gguf_find_tensor (gguf, tensor->name) == tensor);
      g_assert_nonnull (tensor->data);
      for (guint64 j = 0; j < tensor->size; j++)
        sum += tensor->data[j];
    }
  return sum;
}

static GBytes *
random_bytes (GRand *rand,
              gsize  size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_rand_int (rand);
  return g_bytes_new_take (data, size);
}

static char *
testdata_path (const char *relative)
{
  const char *dir = g_getenv ("CANDOR_TESTDATA");
  g_autofree char *path = NULL;

  if (dir == NULL)
    {
      g_test_skip ("CANDOR_TESTDATA is not set (meson test sets it)");
      return NULL;
    }
  path = g_build_filename (dir, relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *message = g_strdup_printf ("%s is missing", path);

      g_test_skip (message);
      return NULL;
    }
  return g_steal_pointer (&path);
}

/* Round trips through the writer. */

static void
test_scalars (gconstpointer data)
{
  guint32 version = GPOINTER_TO_UINT (data);
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(LoomGguf) gguf = NULL;
  guint8 u8 = 200;
  gint8 i8 = -128;
  guint16 u16 = 65535;
  gint16 i16 = -12345;
  gint32 i32 = G_MININT32;
  float f32 = 0.15625f;
  gboolean yes = TRUE;
  guint64 u64 = G_MAXUINT64;
  gint64 i64 = G_MININT64;
  double f64 = G_PI;
  guint64 u;
  gint64 s;
  double f;
  gboolean b;
  static const char * const keys[] = {
    "t.u8", "t.i8", "t.u16", "t.i16", "t.u32", "t.i32", "t.f32", "t.bool", "t.string",
    "t.u64", "t.i64", "t.f64", "t.no", "t.empty", "t.small_u64", "t.positive_i32",
  };

  loom_gguf_writer_set_version (writer, version);
  loom_gguf_writer_add_scalar (writer, "t.u8", LOOM_GGUF_UINT8, &u8);
  loom_gguf_writer_add_scalar (writer, "t.i8", LOOM_GGUF_INT8, &i8);
  loom_gguf_writer_add_scalar (writer, "t.u16", LOOM_GGUF_UINT16, &u16);
  loom_gguf_writer_add_scalar (writer, "t.i16", LOOM_GGUF_INT16, &i16);
  loom_gguf_writer_add_uint32 (writer, "t.u32", 4000000000u);
  loom_gguf_writer_add_scalar (writer, "t.i32", LOOM_GGUF_INT32, &i32);
  loom_gguf_writer_add_scalar (writer, "t.f32", LOOM_GGUF_FLOAT32, &f32);
  loom_gguf_writer_add_scalar (writer, "t.bool", LOOM_GGUF_BOOL, &yes);
  loom_gguf_writer_add_scalar (writer, "t.string", LOOM_GGUF_STRING, "héllo wörld");
  loom_gguf_writer_add_scalar (writer, "t.u64", LOOM_GGUF_UINT64, &u64);
  loom_gguf_writer_add_scalar (writer, "t.i64", LOOM_GGUF_INT64, &i64);
  loom_gguf_writer_add_scalar (writer, "t.f64", LOOM_GGUF_FLOAT64, &f64);
  loom_gguf_writer_add_bool (writer, "t.no", FALSE);
  loom_gguf_writer_add_string (writer, "t.empty", "");
  loom_gguf_writer_add_uint64 (writer, "t.small_u64", 7);
  loom_gguf_writer_add_int32 (writer, "t.positive_i32", 42);
  gguf = open_written (writer);

  g_assert_cmpuint (loom_gguf_get_version (gguf), ==, version);
  g_assert_cmpuint (loom_gguf_get_alignment (gguf), ==, 32);
  g_assert_false (loom_gguf_has_tensor_data (gguf));
  g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 0);
  g_assert_cmpuint (loom_gguf_get_n_keys (gguf), ==, G_N_ELEMENTS (keys));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_assert_cmpstr (loom_gguf_get_key (gguf, i), ==, keys[i]);

  g_assert_cmpint (loom_gguf_get_key_type (gguf, "t.u8"), ==, LOOM_GGUF_UINT8);
  g_assert_cmpint (loom_gguf_get_key_type (gguf, "t.f64"), ==, LOOM_GGUF_FLOAT64);
  g_assert_cmpint (loom_gguf_get_key_type (gguf, "t.string"), ==, LOOM_GGUF_STRING);
  g_assert_cmpint (loom_gguf_get_key_type (gguf, "no.such.key"), ==, LOOM_GGUF_INVALID);

  g_assert_true (loom_gguf_get_uint (gguf, "t.u8", &u));
  g_assert_cmpuint (u, ==, 200);
  g_assert_true (loom_gguf_get_int (gguf, "t.i8", &s));
  g_assert_cmpint (s, ==, -128);
  g_assert_true (loom_gguf_get_uint (gguf, "t.u16", &u));
  g_assert_cmpuint (u, ==, 65535);
  g_assert_true (loom_gguf_get_int (gguf, "t.i16", &s));
  g_assert_cmpint (s, ==, -12345);
  g_assert_true (loom_gguf_get_uint (gguf, "t.u32", &u));
  g_assert_cmpuint (u, ==, 4000000000u);
  g_assert_true (loom_gguf_get_int (gguf, "t.u32", &s));
  g_assert_cmpint (s, ==, 4000000000);
  g_assert_true (loom_gguf_get_int (gguf, "t.i32", &s));
  g_assert_cmpint (s, ==, G_MININT32);
  g_assert_true (loom_gguf_get_float (gguf, "t.f32", &f));
  g_assert_cmpfloat (f, ==, 0.15625);
  g_assert_true (loom_gguf_get_bool (gguf, "t.bool", &b));
  g_assert_true (b);
  g_assert_true (loom_gguf_get_bool (gguf, "t.no", &b));
  g_assert_false (b);
  g_assert_cmpstr (loom_gguf_get_string (gguf, "t.string"), ==, "héllo wörld");
  g_assert_cmpstr (loom_gguf_get_string (gguf, "t.empty"), ==, "");
  g_assert_true (loom_gguf_get_uint (gguf, "t.u64", &u));
  g_assert_cmpuint (u, ==, G_MAXUINT64);
  g_assert_true (loom_gguf_get_int (gguf, "t.i64", &s));
  g_assert_cmpint (s, ==, G_MININT64);
  g_assert_true (loom_gguf_get_float (gguf, "t.f64", &f));
  g_assert_cmpfloat (f, ==, G_PI);
  g_assert_true (loom_gguf_get_uint (gguf, "t.small_u64", &u));
  g_assert_cmpuint (u, ==, 7);
  g_assert_true (loom_gguf_get_uint (gguf, "t.positive_i32", &u));
  g_assert_cmpuint (u, ==, 42);

  /* Values that do not fit leave the output alone. */
  u = 99;
  s = 99;
  f = 99;
  g_assert_false (loom_gguf_get_uint (gguf, "t.i8", &u));
  g_assert_false (loom_gguf_get_uint (gguf, "t.i64", &u));
  g_assert_false (loom_gguf_get_int (gguf, "t.u64", &s));
  g_assert_false (loom_gguf_get_uint (gguf, "t.f32", &u));
  g_assert_false (loom_gguf_get_uint (gguf, "t.bool", &u));
  g_assert_false (loom_gguf_get_float (gguf, "t.u32", &f));
  g_assert_false (loom_gguf_get_bool (gguf, "t.u8", &b));
  g_assert_false (loom_gguf_get_uint (gguf, "no.such.key", &u));
  g_assert_cmpuint (u, ==, 99);
  g_assert_cmpint (s, ==, 99);
  g_assert_cmpfloat (f, ==, 99);
  g_assert_null (loom_gguf_get_string (gguf, "t.u32"));
  g_assert_null (loom_gguf_get_string (gguf, "no.such.key"));
}

static void
test_arrays (gconstpointer data)
{
  guint32 version = GPOINTER_TO_UINT (data);
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(LoomGguf) gguf = NULL;
  static const guint8 u8s[] = { 0, 1, 255 };
  static const gint8 i8s[] = { -128, 0, 127 };
  static const guint16 u16s[] = { 1, 65535 };
  static const gint16 i16s[] = { -32768, 32767 };
  static const guint32 u32s[] = { 0, 4294967295u, 17 };
  static const gint32 i32s[] = { -1, 2, G_MININT32 };
  static const float f32s[] = { 1.5f, -0.0f, 1e30f };
  static const gboolean bools[] = { TRUE, FALSE, TRUE, TRUE };
  static const guint64 u64s[] = { G_MAXUINT64, 3 };
  static const gint64 i64s[] = { G_MININT64, G_MAXINT64 };
  static const double f64s[] = { G_E, -1e300 };
  static const char * const strings[] = { "<unk>", "", "▁the", "给" };
  LoomGgufArray array;
  gsize length;
  const char *s;

  loom_gguf_writer_set_version (writer, version);
  loom_gguf_writer_add_array (writer, "a.u8", LOOM_GGUF_UINT8, u8s, G_N_ELEMENTS (u8s));
  loom_gguf_writer_add_array (writer, "a.i8", LOOM_GGUF_INT8, i8s, G_N_ELEMENTS (i8s));
  loom_gguf_writer_add_array (writer, "a.u16", LOOM_GGUF_UINT16, u16s, G_N_ELEMENTS (u16s));
  loom_gguf_writer_add_array (writer, "a.i16", LOOM_GGUF_INT16, i16s, G_N_ELEMENTS (i16s));
  loom_gguf_writer_add_array (writer, "a.u32", LOOM_GGUF_UINT32, u32s, G_N_ELEMENTS (u32s));
  loom_gguf_writer_add_array (writer, "a.i32", LOOM_GGUF_INT32, i32s, G_N_ELEMENTS (i32s));
  loom_gguf_writer_add_array (writer, "a.f32", LOOM_GGUF_FLOAT32, f32s, G_N_ELEMENTS (f32s));
  loom_gguf_writer_add_array (writer, "a.bool", LOOM_GGUF_BOOL, bools, G_N_ELEMENTS (bools));
  loom_gguf_writer_add_array (writer, "a.u64", LOOM_GGUF_UINT64, u64s, G_N_ELEMENTS (u64s));
  loom_gguf_writer_add_array (writer, "a.i64", LOOM_GGUF_INT64, i64s, G_N_ELEMENTS (i64s));
  loom_gguf_writer_add_array (writer, "a.f64", LOOM_GGUF_FLOAT64, f64s, G_N_ELEMENTS (f64s));
  loom_gguf_writer_add_strings (writer, "a.strings", strings, G_N_ELEMENTS (strings));
  loom_gguf_writer_add_array (writer, "a.empty", LOOM_GGUF_UINT32, NULL, 0);
  loom_gguf_writer_add_strings (writer, "a.no_strings", NULL, 0);
  gguf = open_written (writer);

  g_assert_cmpint (loom_gguf_get_key_type (gguf, "a.u8"), ==, LOOM_GGUF_ARRAY);
  g_assert_true (loom_gguf_get_array (gguf, "a.u8", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_UINT8);
  g_assert_cmpuint (array.n, ==, 3);
  g_assert_cmpuint (loom_gguf_array_get_uint (&array, 2), ==, 255);
  g_assert_true (loom_gguf_get_array (gguf, "a.i8", &array));
  g_assert_cmpint (loom_gguf_array_get_int (&array, 0), ==, -128);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 2), ==, 127);
  /* Negative values saturate at 0 when read as unsigned. */
  g_assert_cmpuint (loom_gguf_array_get_uint (&array, 0), ==, 0);
  g_assert_true (loom_gguf_get_array (gguf, "a.u16", &array));
  g_assert_cmpuint (loom_gguf_array_get_uint (&array, 1), ==, 65535);
  g_assert_true (loom_gguf_get_array (gguf, "a.i16", &array));
  g_assert_cmpint (loom_gguf_array_get_int (&array, 0), ==, -32768);
  g_assert_true (loom_gguf_get_array (gguf, "a.u32", &array));
  g_assert_cmpuint (loom_gguf_array_get_uint (&array, 1), ==, 4294967295u);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 1), ==, 4294967295);
  g_assert_true (loom_gguf_get_array (gguf, "a.i32", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_INT32);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 0), ==, -1);
  g_assert_cmpuint (loom_gguf_array_get_uint (&array, 1), ==, 2);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 2), ==, G_MININT32);
  g_assert_true (loom_gguf_get_array (gguf, "a.f32", &array));
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 0), ==, 1.5);
  g_assert_true (signbit (loom_gguf_array_get_float (&array, 1)));
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 2), ==, 1e30f);
  g_assert_true (loom_gguf_get_array (gguf, "a.bool", &array));
  g_assert_cmpuint (array.n, ==, 4);
  g_assert_true (loom_gguf_array_get_bool (&array, 0));
  g_assert_false (loom_gguf_array_get_bool (&array, 1));
  g_assert_true (loom_gguf_array_get_bool (&array, 3));
  g_assert_true (loom_gguf_get_array (gguf, "a.u64", &array));
  g_assert_cmpuint (loom_gguf_array_get_uint (&array, 0), ==, G_MAXUINT64);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 0), ==, G_MAXINT64);
  g_assert_true (loom_gguf_get_array (gguf, "a.i64", &array));
  g_assert_cmpint (loom_gguf_array_get_int (&array, 0), ==, G_MININT64);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 1), ==, G_MAXINT64);
  g_assert_true (loom_gguf_get_array (gguf, "a.f64", &array));
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 0), ==, G_E);
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 1), ==, -1e300);

  g_assert_true (loom_gguf_get_array (gguf, "a.strings", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_STRING);
  g_assert_cmpuint (array.n, ==, G_N_ELEMENTS (strings));
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      s = loom_gguf_array_get_string (&array, i, &length);
      g_assert_cmpuint (length, ==, strlen (strings[i]));
      g_assert_cmpmem (s, length, strings[i], strlen (strings[i]));
    }

  g_assert_true (loom_gguf_get_array (gguf, "a.empty", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_UINT32);
  g_assert_cmpuint (array.n, ==, 0);
  g_assert_true (loom_gguf_get_array (gguf, "a.no_strings", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_STRING);
  g_assert_cmpuint (array.n, ==, 0);
  g_assert_false (loom_gguf_get_array (gguf, "no.such.key", &array));
  g_assert_false (loom_gguf_get_uint (gguf, "a.u32", &(guint64) { 0 }));
}

static void
test_nested (gconstpointer data)
{
  guint32 version = GPOINTER_TO_UINT (data);
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(LoomGguf) gguf = NULL;
  static const char * const words[] = { "a", "bc", "d", "ef", "ghi" };
  static const gsize word_lengths[] = { 2, 0, 3 };
  static const gint32 ints[] = { 7, -8, 9 };
  static const gsize int_lengths[] = { 1, 2 };
  LoomGgufArray outer, inner;
  gsize length;
  const char *s;

  loom_gguf_writer_set_version (writer, version);
  loom_gguf_writer_add_nested (writer, "n.strings", LOOM_GGUF_STRING, words, word_lengths,
                               G_N_ELEMENTS (word_lengths));
  loom_gguf_writer_add_nested (writer, "n.ints", LOOM_GGUF_INT32, ints, int_lengths,
                               G_N_ELEMENTS (int_lengths));
  loom_gguf_writer_add_nested (writer, "n.none", LOOM_GGUF_FLOAT32, NULL, NULL, 0);
  loom_gguf_writer_add_uint32 (writer, "after", 5);
  gguf = open_written (writer);

  g_assert_true (loom_gguf_get_array (gguf, "n.strings", &outer));
  g_assert_cmpint (outer.type, ==, LOOM_GGUF_ARRAY);
  g_assert_cmpuint (outer.n, ==, 3);
  loom_gguf_array_get_array (&outer, 0, &inner);
  g_assert_cmpint (inner.type, ==, LOOM_GGUF_STRING);
  g_assert_cmpuint (inner.n, ==, 2);
  s = loom_gguf_array_get_string (&inner, 1, &length);
  g_assert_cmpmem (s, length, "bc", 2);
  loom_gguf_array_get_array (&outer, 1, &inner);
  g_assert_cmpuint (inner.n, ==, 0);
  loom_gguf_array_get_array (&outer, 2, &inner);
  g_assert_cmpuint (inner.n, ==, 3);
  s = loom_gguf_array_get_string (&inner, 0, &length);
  g_assert_cmpmem (s, length, "d", 1);
  s = loom_gguf_array_get_string (&inner, 2, &length);
  g_assert_cmpmem (s, length, "ghi", 3);

  g_assert_true (loom_gguf_get_array (gguf, "n.ints", &outer));
  g_assert_cmpuint (outer.n, ==, 2);
  loom_gguf_array_get_array (&outer, 0, &inner);
  g_assert_cmpint (inner.type, ==, LOOM_GGUF_INT32);
  g_assert_cmpuint (inner.n, ==, 1);
  g_assert_cmpint (loom_gguf_array_get_int (&inner, 0), ==, 7);
  loom_gguf_array_get_array (&outer, 1, &inner);
  g_assert_cmpuint (inner.n, ==, 2);
  g_assert_cmpint (loom_gguf_array_get_int (&inner, 0), ==, -8);
  g_assert_cmpint (loom_gguf_array_get_int (&inner, 1), ==, 9);

  g_assert_true (loom_gguf_get_array (gguf, "n.none", &outer));
  g_assert_cmpint (outer.type, ==, LOOM_GGUF_ARRAY);
  g_assert_cmpuint (outer.n, ==, 0);
  g_assert_true (loom_gguf_get_uint (gguf, "after", &(guint64) { 0 }));
}

/* Arrays nested as deep as the reader allows (8) open and read back; one level more is
 * refused. The innermost holds a string, whose index lives at the bottom of the chain. */
static GByteArray *
deep_file (guint depth)
{
  GByteArray *b = file_new (3, 0, 1);

  put_string (b, "deep");
  put_u32 (b, LOOM_GGUF_ARRAY);
  for (guint d = 1; d < depth; d++)
    {
      put_u32 (b, LOOM_GGUF_ARRAY);
      put_u64 (b, 1);
    }
  put_u32 (b, LOOM_GGUF_STRING);
  put_u64 (b, 1);
  put_string (b, "bottom");
  return b;
}

static void
test_deep_nesting (void)
{
  g_autoptr(GByteArray) ok = deep_file (8);
  g_autoptr(GByteArray) too_deep = deep_file (9);
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = open_copy (ok->data, ok->len, &error);
  LoomGgufArray array;
  gsize length;
  const char *s;

  g_assert_no_error (error);
  g_assert_true (loom_gguf_get_array (gguf, "deep", &array));
  for (guint d = 1; d < 8; d++)
    {
      LoomGgufArray inner;

      g_assert_cmpint (array.type, ==, LOOM_GGUF_ARRAY);
      g_assert_cmpuint (array.n, ==, 1);
      loom_gguf_array_get_array (&array, 0, &inner);
      array = inner;
    }
  g_assert_cmpint (array.type, ==, LOOM_GGUF_STRING);
  s = loom_gguf_array_get_string (&array, 0, &length);
  g_assert_cmpmem (s, length, "bottom", 6);

  assert_invalid (too_deep, "nested more than 8 arrays deep");
}

typedef struct
{
  guint32 version;
  guint32 alignment;
} TensorCase;

static void
test_tensors (gconstpointer data)
{
  const TensorCase *tc = data;
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (tc->alignment + tc->version);
  /* Sizes that are not multiples of the alignment, so that padding is needed. */
  static const guint64 ne_f32[] = { 5, 3 };
  static const guint64 ne_f16[] = { 7 };
  static const guint64 ne_q8[] = { 64, 2, 1 };
  static const guint64 ne_4d[] = { 2, 3, 1, 2 };
  g_autoptr(GBytes) f32 = random_bytes (rand, 5 * 3 * 4);
  g_autoptr(GBytes) f16 = random_bytes (rand, 7 * 2);
  g_autoptr(GBytes) q8 = random_bytes (rand, 2 * 2 * 34);
  g_autoptr(GBytes) f32_4d = random_bytes (rand, 12 * 4);
  GBytes *contents[] = { f32, f16, q8, f32_4d };
  static const char * const names[] = { "a.f32", "b.f16", "c.q8_0", "d.4d" };
  g_autoptr(GBytes) file = NULL;
  const guint8 *file_start;
  const LoomGgufTensor *t;
  guint64 alignment = 0;

  loom_gguf_writer_set_version (writer, tc->version);
  loom_gguf_writer_add_string (writer, "general.architecture", "test");
  if (tc->alignment != 32)
    loom_gguf_writer_set_alignment (writer, tc->alignment);
  loom_gguf_writer_add_tensor (writer, "a.f32", LOOM_TENSOR_F32, 2, ne_f32, f32);
  loom_gguf_writer_add_tensor (writer, "b.f16", LOOM_TENSOR_F16, 1, ne_f16, f16);
  loom_gguf_writer_add_tensor (writer, "c.q8_0", LOOM_TENSOR_Q8_0, 3, ne_q8, q8);
  loom_gguf_writer_add_tensor (writer, "d.4d", LOOM_TENSOR_F32, 4, ne_4d, f32_4d);
  file = loom_gguf_writer_to_bytes (writer);
  file_start = g_bytes_get_data (file, NULL);
  gguf = loom_gguf_new_from_bytes (file, NULL, NULL);
  g_assert_nonnull (gguf);

  g_assert_cmpuint (loom_gguf_get_version (gguf), ==, tc->version);
  g_assert_cmpuint (loom_gguf_get_alignment (gguf), ==, tc->alignment);
  if (tc->alignment != 32)
    {
      g_assert_true (loom_gguf_get_uint (gguf, "general.alignment", &alignment));
      g_assert_cmpuint (alignment, ==, tc->alignment);
    }
  else
    g_assert_cmpint (loom_gguf_get_key_type (gguf, "general.alignment"), ==, LOOM_GGUF_INVALID);
  g_assert_true (loom_gguf_has_tensor_data (gguf));
  g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 4);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      gsize size;
      const guint8 *expected = g_bytes_get_data (contents[i], &size);

      t = loom_gguf_get_tensor (gguf, i);
      g_assert_cmpstr (t->name, ==, names[i]);
      g_assert_true (loom_gguf_find_tensor (gguf, names[i]) == t);
      g_assert_cmpuint (t->size, ==, size);
      g_assert_cmpmem (t->data, t->size, expected, size);
      g_assert_cmpuint (t->offset % tc->alignment, ==, 0);
      /* The data section itself starts aligned, so each tensor is aligned in the file. */
      g_assert_cmpuint ((guint64) (t->data - file_start) % tc->alignment, ==, 0);
    }

  t = loom_gguf_find_tensor (gguf, "a.f32");
  g_assert_cmpint (t->type, ==, LOOM_TENSOR_F32);
  g_assert_cmpuint (t->n_dims, ==, 2);
  g_assert_cmpuint (t->ne[0], ==, 5);
  g_assert_cmpuint (t->ne[1], ==, 3);
  g_assert_cmpuint (t->ne[2], ==, 1);
  g_assert_cmpuint (t->ne[3], ==, 1);
  g_assert_cmpuint (t->n_elements, ==, 15);
  g_assert_cmpuint (t->offset, ==, 0);
  t = loom_gguf_find_tensor (gguf, "c.q8_0");
  g_assert_cmpint (t->type, ==, LOOM_TENSOR_Q8_0);
  g_assert_cmpuint (t->n_dims, ==, 3);
  g_assert_cmpuint (t->n_elements, ==, 128);
  g_assert_cmpuint (t->size, ==, 136);
  t = loom_gguf_find_tensor (gguf, "d.4d");
  g_assert_cmpuint (t->n_dims, ==, 4);
  g_assert_cmpuint (t->ne[3], ==, 2);
  g_assert_cmpuint (t->n_elements, ==, 12);
  g_assert_null (loom_gguf_find_tensor (gguf, "no.such.tensor"));
}

/* general.alignment set twice, or added as a plain uint32, is one key with the last
 * value, and it is what the data is aligned to. */
static void
test_alignment_key (void)
{
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(GBytes) data = g_bytes_new_static ("0123456789abcdef", 16);
  static const guint64 ne[] = { 4 };
  guint64 alignment;

  loom_gguf_writer_add_string (writer, "first", "x");
  loom_gguf_writer_add_uint32 (writer, "general.alignment", 128);
  loom_gguf_writer_add_uint32 (writer, "last", 1);
  loom_gguf_writer_set_alignment (writer, 256);
  loom_gguf_writer_add_tensor (writer, "t", LOOM_TENSOR_F32, 1, ne, data);
  loom_gguf_writer_add_tensor (writer, "u", LOOM_TENSOR_F32, 1, ne, data);
  gguf = open_written (writer);

  g_assert_cmpuint (loom_gguf_get_n_keys (gguf), ==, 3);
  g_assert_cmpstr (loom_gguf_get_key (gguf, 1), ==, "general.alignment");
  g_assert_true (loom_gguf_get_uint (gguf, "general.alignment", &alignment));
  g_assert_cmpuint (alignment, ==, 256);
  g_assert_cmpuint (loom_gguf_get_alignment (gguf), ==, 256);
  g_assert_cmpuint (loom_gguf_find_tensor (gguf, "u")->offset, ==, 256);
  g_assert_cmpuint (loom_gguf_get_file_size (gguf) % 256, ==, 0);
}

/* A vocabulary-only file ends right after its metadata, unpadded, as llama.cpp's do. */
static void
test_vocab_only (void)
{
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(GBytes) bytes = NULL;
  static const char * const tokens[] = { "<unk>", "<s>", "</s>", "▁a" };
  static const float scores[] = { 0, 0, 0, -1 };
  g_autoptr(GError) error = NULL;
  LoomGgufArray array;

  loom_gguf_writer_add_string (writer, "tokenizer.ggml.model", "llama");
  loom_gguf_writer_add_strings (writer, "tokenizer.ggml.tokens", tokens, G_N_ELEMENTS (tokens));
  loom_gguf_writer_add_array (writer, "tokenizer.ggml.scores", LOOM_GGUF_FLOAT32, scores,
                              G_N_ELEMENTS (scores));
  loom_gguf_writer_add_uint32 (writer, "tokenizer.ggml.seperator_token_id", G_MAXUINT32);
  bytes = loom_gguf_writer_to_bytes (writer);
  /* The header, then each key with its value: (8 + 20) + 4 + (8 + 5) for the model,
   * (8 + 21) + 4 + 12 + (8 + 5) + (8 + 3) + (8 + 4) + (8 + 4) for the tokens, … */
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 24 + 45 + 93 + 61 + 49);
  g_assert_cmpuint (g_bytes_get_size (bytes) % 32, !=, 0);

  gguf = loom_gguf_new_from_bytes (bytes, "vocab.gguf", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (loom_gguf_get_name (gguf), ==, "vocab.gguf");
  g_assert_false (loom_gguf_has_tensor_data (gguf));
  g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 0);
  g_assert_cmpuint (loom_gguf_get_file_size (gguf), ==, g_bytes_get_size (bytes));
  g_assert_true (loom_gguf_get_array (gguf, "tokenizer.ggml.tokens", &array));
  g_assert_cmpuint (array.n, ==, 4);
}

/* The reader keeps its own reference to the bytes. */
static void
test_keeps_bytes (void)
{
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  GBytes *bytes;
  g_autoptr(LoomGguf) gguf = NULL;
  LoomGgufArray array;
  static const char * const strings[] = { "still", "here" };
  gsize length;
  const char *s;

  loom_gguf_writer_add_strings (writer, "s", strings, 2);
  bytes = loom_gguf_writer_to_bytes (writer);
  gguf = loom_gguf_new_from_bytes (bytes, NULL, NULL);
  g_bytes_unref (bytes);
  g_assert_nonnull (gguf);
  g_assert_true (loom_gguf_get_array (gguf, "s", &array));
  s = loom_gguf_array_get_string (&array, 1, &length);
  g_assert_cmpmem (s, length, "here", 4);

  g_assert_true (loom_gguf_ref (gguf) == gguf);
  loom_gguf_unref (gguf);
}

/* write() puts the whole file in place by rename, and leaves nothing else behind. */
static void
test_write_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-gguf-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *missing = NULL;
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GBytes) weights = random_bytes (rand, 1000 * 4);
  g_autoptr(GBytes) expected = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  static const guint64 ne[] = { 100, 10 };
  GDir *listing;
  guint n_files = 0;

  g_assert_no_error (error);
  path = g_build_filename (dir, "model.gguf", NULL);
  g_assert_true (g_file_set_contents (path, "old contents", -1, NULL));

  loom_gguf_writer_set_alignment (writer, 64);
  loom_gguf_writer_add_string (writer, "general.architecture", "llama");
  loom_gguf_writer_add_tensor (writer, "w", LOOM_TENSOR_F32, 2, ne, weights);
  g_assert_true (loom_gguf_writer_write (writer, path, &error));
  g_assert_no_error (error);

  /* The file written is byte for byte what to_bytes() gives. */
  expected = loom_gguf_writer_to_bytes (writer);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, g_bytes_get_data (expected, NULL),
                   g_bytes_get_size (expected));

  {
    g_autoptr(LoomGguf) gguf = loom_gguf_open (path, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (loom_gguf_get_file_size (gguf), ==, length);
    g_assert_cmpmem (loom_gguf_find_tensor (gguf, "w")->data, 4000,
                     g_bytes_get_data (weights, NULL), 4000);
  }

  listing = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (listing) != NULL)
    n_files++;
  g_dir_close (listing);
  g_assert_cmpuint (n_files, ==, 1);

  missing = g_build_filename (dir, "no-such-folder", "model.gguf", NULL);
  g_assert_false (loom_gguf_writer_write (writer, missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "model.gguf"));
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_open_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-gguf-XXXXXX", &error);
  g_autofree char *empty = NULL;
  g_autofree char *missing = NULL;
  g_autoptr(LoomGguf) gguf = NULL;
  g_autoptr(GBytes) no_bytes = g_bytes_new (NULL, 0);

  g_assert_no_error (error);
  missing = g_build_filename (dir, "missing.gguf", NULL);
  gguf = loom_gguf_open (missing, &error);
  g_assert_null (gguf);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing.gguf"));
  g_clear_error (&error);

  gguf = loom_gguf_open (dir, &error);
  g_assert_null (gguf);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  empty = g_build_filename (dir, "empty.gguf", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  gguf = loom_gguf_open (empty, &error);
  g_assert_null (gguf);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "empty.gguf"));
  g_assert_nonnull (strstr (error->message, "empty file"));
  g_clear_error (&error);

  gguf = loom_gguf_new_from_bytes (no_bytes, "nothing", &error);
  g_assert_null (gguf);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
  g_assert_nonnull (strstr (error->message, "empty file"));
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (empty), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Programmer errors in the writer are criticals, and the call does nothing. */
static void
test_writer_misuse (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
      g_autoptr(GBytes) data = g_bytes_new_static ("0123456789abcdef", 16);
      static const guint64 ne[] = { 4 };
      static const guint64 ne_q8[] = { 16 };
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(LoomGguf) gguf = NULL;

      /* g_test_init() makes criticals fatal; here they are what is checked. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      loom_gguf_writer_add_uint32 (writer, "k", 1);
      loom_gguf_writer_add_uint32 (writer, "k", 2);
      loom_gguf_writer_add_string (writer, "", "empty key");
      loom_gguf_writer_set_alignment (writer, 3);
      loom_gguf_writer_set_alignment (writer, 0);
      loom_gguf_writer_set_version (writer, 1);
      loom_gguf_writer_add_tensor (writer, "t", LOOM_TENSOR_F32, 1, ne, data);
      loom_gguf_writer_add_tensor (writer, "t", LOOM_TENSOR_F32, 1, ne, data);
      /* 4 halves are 8 bytes, not 16; 16 values are half a Q8_0 block. */
      loom_gguf_writer_add_tensor (writer, "u", LOOM_TENSOR_F16, 1, ne, data);
      loom_gguf_writer_add_tensor (writer, "v", LOOM_TENSOR_Q8_0, 1, ne_q8, data);
      loom_gguf_writer_add_tensor (writer, "w", LOOM_TENSOR_F32, 5, ne, data);

      /* What was refused left no trace: the file is the two valid calls. */
      bytes = loom_gguf_writer_to_bytes (writer);
      gguf = loom_gguf_new_from_bytes (bytes, NULL, NULL);
      g_assert_nonnull (gguf);
      g_assert_cmpuint (loom_gguf_get_version (gguf), ==, 3);
      g_assert_cmpuint (loom_gguf_get_n_keys (gguf), ==, 1);
      g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 1);
      g_assert_cmpuint (loom_gguf_get_alignment (gguf), ==, 32);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*CRITICAL*key_is_new*"
                             "*CRITICAL*key_is_new*"
                             "*CRITICAL*alignment_is_valid*"
                             "*CRITICAL*alignment_is_valid*"
                             "*CRITICAL*version == 2*"
                             "*CRITICAL*g_hash_table_contains*"
                             "*CRITICAL*g_bytes_get_size (data) == bytes*"
                             "*CRITICAL*tensor_bytes*"
                             "*CRITICAL*n_dims*");
}

/* Real files. */

static void
test_stories260k (void)
{
  g_autofree char *path = testdata_path ("llama-stories260k/stories260K.gguf");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = NULL;
  LoomGgufArray array;
  const LoomGgufTensor *t;
  guint64 u;
  double f;
  gsize length;
  const char *s;
  guint64 end = 0;

  if (path == NULL)
    return;

  g_test_timer_start ();
  gguf = loom_gguf_open (path, &error);
  g_test_message ("opened stories260K.gguf in %.3f ms", g_test_timer_elapsed () * 1000);
  g_assert_no_error (error);

  g_assert_cmpuint (loom_gguf_get_version (gguf), ==, 3);
  g_assert_cmpuint (loom_gguf_get_file_size (gguf), ==, 1185376);
  g_assert_cmpuint (loom_gguf_get_alignment (gguf), ==, 32);
  g_assert_cmpuint (loom_gguf_get_n_keys (gguf), ==, 19);
  g_assert_cmpstr (loom_gguf_get_key (gguf, 0), ==, "tokenizer.ggml.tokens");
  g_assert_cmpstr (loom_gguf_get_string (gguf, "general.architecture"), ==, "llama");
  g_assert_cmpstr (loom_gguf_get_string (gguf, "tokenizer.ggml.model"), ==, "llama");
  g_assert_true (loom_gguf_get_uint (gguf, "llama.embedding_length", &u));
  g_assert_cmpuint (u, ==, 64);
  g_assert_true (loom_gguf_get_uint (gguf, "llama.block_count", &u));
  g_assert_cmpuint (u, ==, 5);
  g_assert_true (loom_gguf_get_uint (gguf, "llama.feed_forward_length", &u));
  g_assert_cmpuint (u, ==, 172);
  g_assert_true (loom_gguf_get_uint (gguf, "llama.attention.head_count", &u));
  g_assert_cmpuint (u, ==, 8);
  g_assert_true (loom_gguf_get_uint (gguf, "llama.attention.head_count_kv", &u));
  g_assert_cmpuint (u, ==, 4);
  g_assert_true (loom_gguf_get_uint (gguf, "llama.context_length", &u));
  g_assert_cmpuint (u, ==, 2048);
  g_assert_true (loom_gguf_get_float (gguf, "llama.attention.layer_norm_rms_epsilon", &f));
  g_assert_cmpfloat_with_epsilon (f, 1e-5, 1e-12);
  /* An odd key of real files: it must be there and readable. */
  g_assert_true (loom_gguf_get_uint (gguf, "tokenizer.ggml.seperator_token_id", &u));
  g_assert_cmpuint (u, ==, G_MAXUINT32);

  g_assert_true (loom_gguf_get_array (gguf, "tokenizer.ggml.tokens", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_STRING);
  g_assert_cmpuint (array.n, ==, 512);
  s = loom_gguf_array_get_string (&array, 0, &length);
  g_assert_cmpmem (s, length, "<unk>", 5);
  s = loom_gguf_array_get_string (&array, 259, &length);
  g_assert_cmpmem (s, length, "▁t", strlen ("▁t"));
  s = loom_gguf_array_get_string (&array, 511, &length);
  g_assert_cmpmem (s, length, "\u200a", strlen ("\u200a"));
  g_assert_true (loom_gguf_get_array (gguf, "tokenizer.ggml.scores", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_FLOAT32);
  g_assert_cmpuint (array.n, ==, 512);
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 260), ==, -1.0);
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 511), ==, -252.0);
  g_assert_true (loom_gguf_get_array (gguf, "tokenizer.ggml.token_type", &array));
  g_assert_cmpint (array.type, ==, LOOM_GGUF_INT32);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 0), ==, 2);
  g_assert_cmpint (loom_gguf_array_get_int (&array, 3), ==, 6);

  g_assert_true (loom_gguf_has_tensor_data (gguf));
  g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 48);
  t = loom_gguf_get_tensor (gguf, 0);
  g_assert_cmpstr (t->name, ==, "token_embd.weight");
  g_assert_cmpint (t->type, ==, LOOM_TENSOR_F32);
  g_assert_cmpuint (t->n_dims, ==, 2);
  g_assert_cmpuint (t->ne[0], ==, 64);
  g_assert_cmpuint (t->ne[1], ==, 512);
  g_assert_cmpuint (t->size, ==, 64 * 512 * 4);
  g_assert_cmpuint (t->offset, ==, 0);
  t = loom_gguf_find_tensor (gguf, "blk.0.attn_k.weight");
  g_assert_nonnull (t);
  g_assert_cmpuint (t->ne[0], ==, 64);
  g_assert_cmpuint (t->ne[1], ==, 32);
  g_assert_cmpuint (t->offset, ==, 278784);
  t = loom_gguf_get_tensor (gguf, 47);
  g_assert_cmpstr (t->name, ==, "blk.4.ffn_norm.weight");
  g_assert_cmpuint (t->offset, ==, 1170944);
  /* The data section starts at byte 14176; the last tensor ends the file. */
  for (guint i = 0; i < 48; i++)
    {
      t = loom_gguf_get_tensor (gguf, i);
      g_assert_cmpint (t->type, ==, LOOM_TENSOR_F32);
      end = MAX (end, t->offset + t->size);
    }
  g_assert_cmpuint (14176 + end, ==, 1185376);
  g_assert_cmpuint (walk (gguf), >, 0);
}

static void
test_vocab_llama_spm (void)
{
  g_autofree char *path = testdata_path ("llama-cpp-vocab/ggml-vocab-llama-spm.gguf");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = NULL;
  LoomGgufArray array;
  gboolean b;
  gsize length;
  const char *s;

  if (path == NULL)
    return;

  g_test_timer_start ();
  gguf = loom_gguf_open (path, &error);
  g_test_message ("opened ggml-vocab-llama-spm.gguf in %.3f ms", g_test_timer_elapsed () * 1000);
  g_assert_no_error (error);

  g_assert_cmpuint (loom_gguf_get_version (gguf), ==, 3);
  g_assert_cmpuint (loom_gguf_get_file_size (gguf), ==, 723869);
  g_assert_false (loom_gguf_has_tensor_data (gguf));
  g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 0);
  g_assert_cmpuint (loom_gguf_get_n_keys (gguf), ==, 22);
  g_assert_cmpstr (loom_gguf_get_string (gguf, "general.name"), ==, "llama-spm");
  g_assert_cmpstr (loom_gguf_get_string (gguf, "tokenizer.ggml.pre"), ==, "default");
  g_assert_true (loom_gguf_get_bool (gguf, "tokenizer.ggml.add_bos_token", &b));
  g_assert_true (b);
  g_assert_true (loom_gguf_get_bool (gguf, "tokenizer.ggml.add_eos_token", &b));
  g_assert_false (b);
  g_assert_true (loom_gguf_get_array (gguf, "tokenizer.ggml.tokens", &array));
  g_assert_cmpuint (array.n, ==, 32000);
  s = loom_gguf_array_get_string (&array, 29871, &length);
  g_assert_cmpmem (s, length, "▁", strlen ("▁"));
  s = loom_gguf_array_get_string (&array, 31999, &length);
  g_assert_cmpmem (s, length, "给", strlen ("给"));
  g_assert_true (loom_gguf_get_array (gguf, "tokenizer.ggml.scores", &array));
  g_assert_cmpfloat (loom_gguf_array_get_float (&array, 29871), ==, -1e9);
  g_assert_cmpuint (walk (gguf), >, 0);
}

static void
test_tiny_random (void)
{
  g_autofree char *path = testdata_path ("llama-tiny-random/llama-2-tiny-random.gguf");
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomGguf) gguf = NULL;
  const LoomGgufTensor *t;
  guint64 u;

  if (path == NULL)
    return;

  gguf = loom_gguf_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loom_gguf_get_file_size (gguf), ==, 1750560);
  g_assert_cmpuint (loom_gguf_get_n_keys (gguf), ==, 18);
  g_assert_cmpstr (loom_gguf_get_string (gguf, "general.name"), ==, "LLaMA v2");
  g_assert_true (loom_gguf_get_uint (gguf, "llama.embedding_length", &u));
  g_assert_cmpuint (u, ==, 8);
  g_assert_cmpuint (loom_gguf_get_n_tensors (gguf), ==, 12);
  t = loom_gguf_find_tensor (gguf, "token_embd.weight");
  g_assert_cmpint (t->type, ==, LOOM_TENSOR_F16);
  g_assert_cmpuint (t->ne[0], ==, 8);
  g_assert_cmpuint (t->ne[1], ==, 32000);
  g_assert_cmpuint (t->size, ==, 512000);
  t = loom_gguf_find_tensor (gguf, "blk.0.ffn_norm.weight");
  g_assert_cmpint (t->type, ==, LOOM_TENSOR_F32);
  g_assert_cmpuint (t->offset, ==, 514080);
  t = loom_gguf_get_tensor (gguf, 11);
  g_assert_cmpstr (t->name, ==, "output.weight");
  g_assert_cmpuint (724416 + t->offset + t->size, ==, 1750560);
  g_assert_cmpuint (walk (gguf), >, 0);
}

/* Every cut of a real file fails cleanly: inside the header byte by byte, through the
 * metadata often, through the tensor data every 997 bytes. */
static void
test_truncated (void)
{
  g_autofree char *path = testdata_path ("llama-stories260k/stories260K.gguf");
  g_autofree char *contents = NULL;
  gsize size;
  guint n_cuts = 0;

  if (path == NULL)
    return;
  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));

  for (gsize cut = 0; cut < size; cut += cut < 64 ? 1 : cut < 14200 ? 61 : 997)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LoomGguf) gguf = open_copy ((const guint8 *) contents, cut, &error);

      g_assert_null (gguf);
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
      if (cut == 0)
        g_assert_nonnull (strstr (error->message, "empty file"));
      else if (cut >= 24)
        g_assert_true (strstr (error->message, "past the end of the file") != NULL
                       || strstr (error->message, "can hold") != NULL);
      if (cut % 100000 < 997 || (cut < 14200 && cut % 4000 < 61))
        g_test_message ("cut at %" G_GSIZE_FORMAT ": %s", cut, error->message);
      n_cuts++;
    }
  g_assert_cmpuint (n_cuts, >, 1000);
}

/* Hostile files, built by hand. Each names the problem. */

static void
test_hostile_header (void)
{
  g_autoptr(GByteArray) b = NULL;

  b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) "GGML\3\0\0\0", 8);
  put_zeros (b, 16);
  assert_invalid (b, "bad magic");
  g_clear_pointer (&b, g_byte_array_unref);

  b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) "GG", 2);
  assert_invalid (b, "only 2 bytes");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 0);
  g_byte_array_set_size (b, 20);
  assert_invalid (b, "header runs past the end");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (1, 0, 0);
  assert_invalid (b, "version 1 is not supported");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (99, 0, 0);
  assert_invalid (b, "unsupported GGUF version 99");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (GUINT32_SWAP_LE_BE (3), 0, 0);
  assert_invalid (b, "big-endian");
  g_clear_pointer (&b, g_byte_array_unref);

  /* Counts no file of this size could hold fail before anything is allocated. */
  b = file_new (3, G_GUINT64_CONSTANT (1) << 60, 0);
  put_zeros (b, 1024);
  assert_invalid (b, "claims 1152921504606846976 tensors");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, G_MAXUINT64);
  put_zeros (b, 1024);
  assert_invalid (b, "claims 18446744073709551615 metadata keys");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 30, 60);
  put_zeros (b, 1024);
  assert_invalid (b, "60 metadata keys and 30 tensors");
  g_clear_pointer (&b, g_byte_array_unref);

  /* The smallest valid file. */
  b = file_new (2, 0, 0);
  {
    g_autoptr(LoomGguf) gguf = open_copy (b->data, b->len, NULL);

    g_assert_nonnull (gguf);
    g_assert_cmpuint (loom_gguf_get_version (gguf), ==, 2);
  }
}

static void
test_hostile_metadata (void)
{
  g_autoptr(GByteArray) b = NULL;

  /* A string claiming far more bytes than there are. */
  b = file_new (3, 0, 1);
  put_string (b, "general.name");
  put_u32 (b, LOOM_GGUF_STRING);
  put_u64 (b, G_GUINT64_CONSTANT (1) << 62);
  put_zeros (b, 64);
  assert_invalid (b, "general.name: string value of 4611686018427387904 bytes at byte 48 "
                  "runs past the end of the file (120 bytes)");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_u64 (b, G_MAXUINT64);
  put_zeros (b, 64);
  assert_invalid (b, "key 0 of 18446744073709551615 bytes at byte 24 runs past the end");
  g_clear_pointer (&b, g_byte_array_unref);

  /* Huge arrays, of numbers, of strings and of arrays. */
  b = file_new (3, 0, 1);
  put_string (b, "scores");
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u32 (b, LOOM_GGUF_FLOAT32);
  put_u64 (b, G_GUINT64_CONSTANT (1) << 61);
  put_zeros (b, 64);
  assert_invalid (b, "scores: array value: 2305843009213693952 float32 elements at byte 54 "
                  "run past the end");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_string (b, "tokenizer.ggml.tokens");
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u32 (b, LOOM_GGUF_STRING);
  put_u64 (b, G_MAXUINT64 / 2);
  put_zeros (b, 64);
  assert_invalid (b, "tokenizer.ggml.tokens: array value at byte 57 claims 9223372036854775807 "
                  "string elements, more than");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_string (b, "merges");
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u64 (b, 2);
  put_u32 (b, LOOM_GGUF_STRING);
  put_u64 (b, 1);
  put_string (b, "ok");
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u64 (b, G_GUINT64_CONSTANT (1) << 40);
  assert_invalid (b, "merges: array 1 at byte 76 claims 1099511627776 array elements, more "
                  "than the 0 bytes left in the file can hold");
  g_clear_pointer (&b, g_byte_array_unref);

  /* A string inside an array running past the end names its element. */
  b = file_new (3, 0, 1);
  put_string (b, "tokenizer.ggml.tokens");
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u32 (b, LOOM_GGUF_STRING);
  put_u64 (b, 3);
  put_string (b, "a");
  put_string (b, "b");
  put_u64 (b, 1000);
  put_zeros (b, 10);
  assert_invalid (b, "tokenizer.ggml.tokens: string 2 of 1000 bytes at byte 87 runs past the "
                  "end of the file (105 bytes)");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_string (b, "odd");
  put_u32 (b, 13);
  put_u32 (b, 0);
  assert_invalid (b, "odd: unknown value type 13 at byte 35");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_string (b, "odd");
  put_u32 (b, LOOM_GGUF_ARRAY);
  put_u32 (b, 0x80000000u);
  put_u64 (b, 0);
  assert_invalid (b, "odd: array value at byte 39 has an unknown element type 2147483648");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_string (b, "flag");
  put_u32 (b, LOOM_GGUF_BOOL);
  g_byte_array_append (b, (const guint8 *) "\2", 1);
  assert_invalid (b, "flag: bool value at byte 40 is 2, neither 0 nor 1");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_string (b, "short");
  put_u32 (b, LOOM_GGUF_UINT64);
  put_u32 (b, 0);
  assert_invalid (b, "short: uint64 value at byte 41 runs past the end");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 2);
  put_kv_u32 (b, "llama.block_count", 5);
  put_kv_u32 (b, "llama.block_count", 6);
  assert_invalid (b, "duplicate key “llama.block_count” at byte 57");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_kv_u32 (b, "", 5);
  assert_invalid (b, "key 0 at byte 24 is empty");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_kv_u32 (b, "bad\xff", 5);
  assert_invalid (b, "key 0 at byte 24 is not valid UTF-8");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 0, 1);
  put_u64 (b, 3);
  g_byte_array_append (b, (const guint8 *) "a\0b", 3);
  put_u32 (b, LOOM_GGUF_UINT32);
  put_u32 (b, 5);
  assert_invalid (b, "holds a NUL byte");
}

static void
test_hostile_alignment (void)
{
  static const guint32 bad[] = { 0, 3, 48, 0x80000001u };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GByteArray) b = file_new (3, 0, 1);
      g_autofree char *expected = g_strdup_printf ("general.alignment is %u, not a power of two",
                                                   bad[i]);

      put_kv_u32 (b, "general.alignment", bad[i]);
      assert_invalid (b, expected);
    }

  {
    g_autoptr(GByteArray) b = file_new (3, 0, 1);

    put_string (b, "general.alignment");
    put_u32 (b, LOOM_GGUF_UINT64);
    put_u64 (b, 32);
    assert_invalid (b, "general.alignment is a uint64, not a uint32");
  }
}

/* A file with one F32 tensor of @ne0 × @ne1 at @offset and @data_bytes of data. */
static GByteArray *
one_tensor_file (guint32 n_dims,
                 guint64 ne0,
                 guint64 ne1,
                 guint32 type,
                 guint64 offset,
                 gsize   data_bytes)
{
  GByteArray *b = file_new (3, 1, 0);

  put_tensor_info (b, "weight", n_dims, ne0, ne1, type, offset);
  put_padding (b, 32);
  put_zeros (b, data_bytes);
  return b;
}

static void
test_hostile_tensors (void)
{
  g_autoptr(GByteArray) b = NULL;

  /* The baseline: valid. */
  b = one_tensor_file (2, 4, 2, LOOM_TENSOR_F32, 0, 32);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomGguf) gguf = open_copy (b->data, b->len, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (loom_gguf_get_tensor (gguf, 0)->size, ==, 32);
  }
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (2, 4, 3, LOOM_TENSOR_F32, 0, 32);
  assert_invalid (b, "tensor “weight” (48 bytes at offset 0 of the data section, which starts "
                  "at byte 96) runs past the end of the file (128 bytes)");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (1, 4, 1, LOOM_TENSOR_F32, G_GUINT64_CONSTANT (1) << 40, 32);
  assert_invalid (b, "(16 bytes at offset 1099511627776 of the data section");
  g_clear_pointer (&b, g_byte_array_unref);

  /* An offset that would wrap around when added to the size. */
  b = one_tensor_file (1, 4, 1, LOOM_TENSOR_F32, G_MAXUINT64 - 31, 32);
  assert_invalid (b, "runs past the end of the file");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (1, 4, 1, LOOM_TENSOR_F32, 4, 32);
  assert_invalid (b, "tensor “weight”: offset 4 at byte");
  assert_invalid (b, "is not a multiple of the alignment (32)");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (1, 4, 1, 4, 0, 32);
  assert_invalid (b, "tensor “weight”: unknown tensor type 4 at byte");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (1, 4, 1, 1000, 0, 32);
  assert_invalid (b, "unknown tensor type 1000");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (0, 4, 1, LOOM_TENSOR_F32, 0, 32);
  assert_invalid (b, "tensor “weight”: 0 dimensions at byte 38 (1 to 4 are allowed)");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (5, 4, 1, LOOM_TENSOR_F32, 0, 64);
  assert_invalid (b, "tensor “weight”: 5 dimensions");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (2, 4, 0, LOOM_TENSOR_F32, 0, 32);
  assert_invalid (b, "tensor “weight”: dimension 1 at byte 50 is 0");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (2, G_GUINT64_CONSTANT (1) << 32, G_GUINT64_CONSTANT (1) << 32,
                       LOOM_TENSOR_F32, 0, 32);
  assert_invalid (b, "element count at byte 42 overflows 64 bits");
  g_clear_pointer (&b, g_byte_array_unref);
  b = one_tensor_file (2, G_GUINT64_CONSTANT (1) << 33, G_GUINT64_CONSTANT (1) << 32,
                       LOOM_TENSOR_F32, 0, 32);
  assert_invalid (b, "element count at byte 42 overflows 64 bits");
  g_clear_pointer (&b, g_byte_array_unref);

  /* The element count fits, the byte count does not. */
  b = one_tensor_file (1, G_GUINT64_CONSTANT (1) << 63, 1, LOOM_TENSOR_F32, 0, 32);
  assert_invalid (b, "9223372036854775808 elements of F32 overflow 64 bits");
  g_clear_pointer (&b, g_byte_array_unref);

  b = one_tensor_file (2, 48, 1, LOOM_TENSOR_Q8_0, 0, 64);
  assert_invalid (b, "a row of 48 elements is not a whole number of Q8_0 blocks "
                  "(32 elements each)");
  g_clear_pointer (&b, g_byte_array_unref);

  /* A name past the end, a shape past the end. */
  b = file_new (3, 1, 0);
  put_u64 (b, 1 << 20);
  put_zeros (b, 64);
  assert_invalid (b, "the name of tensor 0 (1048576 bytes at byte 24) runs past the end");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 1, 0);
  put_string (b, "weight");
  put_u32 (b, 4);
  put_zeros (b, 20);
  assert_invalid (b, "tensor “weight”: its shape, type and offset at byte 42 run past the end");
  g_clear_pointer (&b, g_byte_array_unref);

  /* Two tensors sharing bytes, wherever they are listed. */
  b = file_new (3, 3, 0);
  put_tensor_info (b, "a", 1, 16, 1, LOOM_TENSOR_F32, 0);
  put_tensor_info (b, "c", 1, 8, 1, LOOM_TENSOR_F32, 128);
  put_tensor_info (b, "b", 1, 16, 1, LOOM_TENSOR_F32, 32);
  put_padding (b, 32);
  put_zeros (b, 160);
  assert_invalid (b, "tensors “a” (bytes 0 to 64) and “b” (from byte 32) of the data section "
                  "overlap");
  g_clear_pointer (&b, g_byte_array_unref);

  b = file_new (3, 2, 0);
  put_tensor_info (b, "same", 1, 8, 1, LOOM_TENSOR_F32, 0);
  put_tensor_info (b, "same", 1, 8, 1, LOOM_TENSOR_F32, 32);
  put_padding (b, 32);
  put_zeros (b, 64);
  assert_invalid (b, "duplicate tensor name “same” at byte");
  g_clear_pointer (&b, g_byte_array_unref);

  /* Tensor infos but no data section at all. */
  b = file_new (3, 1, 0);
  put_tensor_info (b, "weight", 1, 8, 1, LOOM_TENSOR_F32, 0);
  assert_invalid (b, "starts past the end of the file");
  g_clear_pointer (&b, g_byte_array_unref);

  /* With alignment 64 the data section starts at a multiple of 64. */
  b = file_new (3, 1, 1);
  put_kv_u32 (b, "general.alignment", 64);
  put_tensor_info (b, "weight", 1, 8, 1, LOOM_TENSOR_F32, 0);
  put_padding (b, 32);
  g_assert_cmpuint (b->len % 64, !=, 0);
  put_zeros (b, 32);
  assert_invalid (b, "runs past the end of the file");
  put_zeros (b, 32);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LoomGguf) gguf = open_copy (b->data, b->len, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (loom_gguf_get_alignment (gguf), ==, 64);
  }
}

/* A small file with something of everything, for the fuzzer. */
static GBytes *
fuzz_seed (void)
{
  g_autoptr(LoomGgufWriter) writer = loom_gguf_writer_new ();
  static const char * const tokens[] = { "<unk>", "a", "bc" };
  static const gint32 types[] = { 2, 1, 1 };
  static const float scores[] = { 0, -1, -2 };
  static const char * const nested[] = { "x", "y", "z" };
  static const gsize lengths[] = { 1, 2 };
  static const gboolean flags[] = { TRUE, FALSE };
  static const guint64 ne_f32[] = { 4, 2 };
  static const guint64 ne_q8[] = { 32 };
  g_autoptr(GBytes) f32 = g_bytes_new_static ("0123456789abcdef0123456789abcdef", 32);
  g_autoptr(GBytes) q8 = g_bytes_new_static ("0123456789abcdef0123456789abcdefgh", 34);

  loom_gguf_writer_add_string (writer, "general.architecture", "llama");
  loom_gguf_writer_add_uint32 (writer, "llama.block_count", 5);
  loom_gguf_writer_add_float32 (writer, "eps", 1e-5f);
  loom_gguf_writer_add_bool (writer, "flag", TRUE);
  loom_gguf_writer_add_uint64 (writer, "big", 1);
  loom_gguf_writer_add_strings (writer, "tokens", tokens, 3);
  loom_gguf_writer_add_array (writer, "types", LOOM_GGUF_INT32, types, 3);
  loom_gguf_writer_add_array (writer, "scores", LOOM_GGUF_FLOAT32, scores, 3);
  loom_gguf_writer_add_array (writer, "flags", LOOM_GGUF_BOOL, flags, 2);
  loom_gguf_writer_add_nested (writer, "nested", LOOM_GGUF_STRING, nested, lengths, 2);
  loom_gguf_writer_add_tensor (writer, "w", LOOM_TENSOR_F32, 2, ne_f32, f32);
  loom_gguf_writer_add_tensor (writer, "q", LOOM_TENSOR_Q8_0, 1, ne_q8, q8);
  return loom_gguf_writer_to_bytes (writer);
}

/* Random corruption never crashes or reads out of bounds (memcheck runs this too); a
 * corrupted file either opens, and then everything in it can be read, or gives a
 * LOOM_ERROR_INVALID_MODEL with a UTF-8 message. */
static void
test_fuzz (void)
{
  g_autoptr(GBytes) seed = fuzz_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  gsize size;
  const guint8 *original = g_bytes_get_data (seed, &size);
  g_autofree guint8 *copy = g_malloc (size);
  guint n_opened = 0;

  for (guint round = 0; round < 4000; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LoomGguf) gguf = NULL;
      guint n_flips = g_rand_int_range (rand, 1, 5);
      gsize length = size;

      memcpy (copy, original, size);
      for (guint f = 0; f < n_flips; f++)
        {
          gsize at = g_rand_int_range (rand, 0, (gint32) size);

          /* Bias some flips towards the values that break parsers: zeros, all ones and
           * small counts. */
          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0:
              copy[at] = 0xff;
              break;
            case 1:
              copy[at] = 0;
              break;
            case 2:
              copy[at] ^= 1u << g_rand_int_range (rand, 0, 8);
              break;
            default:
              copy[at] = (guint8) g_rand_int (rand);
              break;
            }
        }
      if (g_rand_int_range (rand, 0, 8) == 0)
        length = g_rand_int_range (rand, 0, (gint32) size);

      gguf = open_copy (copy, length, &error);
      if (gguf != NULL)
        {
          g_assert_no_error (error);
          walk (gguf);
          n_opened++;
        }
      else
        {
          g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
        }
    }
  g_test_message ("%u of 4000 corrupted files opened", n_opened);
}

int
main (int   argc,
      char *argv[])
{
  static const TensorCase tensor_cases[] = { { 3, 32 }, { 3, 64 }, { 2, 32 }, { 2, 64 } };

  loom_test_init (&argc, &argv);

  g_test_add_data_func ("/engine/gguf/round-trip/scalars/v3", GUINT_TO_POINTER (3), test_scalars);
  g_test_add_data_func ("/engine/gguf/round-trip/scalars/v2", GUINT_TO_POINTER (2), test_scalars);
  g_test_add_data_func ("/engine/gguf/round-trip/arrays/v3", GUINT_TO_POINTER (3), test_arrays);
  g_test_add_data_func ("/engine/gguf/round-trip/arrays/v2", GUINT_TO_POINTER (2), test_arrays);
  g_test_add_data_func ("/engine/gguf/round-trip/nested/v3", GUINT_TO_POINTER (3), test_nested);
  g_test_add_data_func ("/engine/gguf/round-trip/nested/v2", GUINT_TO_POINTER (2), test_nested);
  g_test_add_func ("/engine/gguf/round-trip/deep-nesting", test_deep_nesting);
  for (guint i = 0; i < G_N_ELEMENTS (tensor_cases); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/engine/gguf/round-trip/tensors/v%u-align%u",
                                                    tensor_cases[i].version,
                                                    tensor_cases[i].alignment);

      g_test_add_data_func (test_path, &tensor_cases[i], test_tensors);
    }
  g_test_add_func ("/engine/gguf/round-trip/alignment-key", test_alignment_key);
  g_test_add_func ("/engine/gguf/round-trip/vocab-only", test_vocab_only);
  g_test_add_func ("/engine/gguf/keeps-bytes", test_keeps_bytes);
  g_test_add_func ("/engine/gguf/writer/write-file", test_write_file);
  g_test_add_func ("/engine/gguf/writer/misuse", test_writer_misuse);
  g_test_add_func ("/engine/gguf/open-errors", test_open_errors);
  g_test_add_func ("/engine/gguf/real/stories260k", test_stories260k);
  g_test_add_func ("/engine/gguf/real/vocab-llama-spm", test_vocab_llama_spm);
  g_test_add_func ("/engine/gguf/real/tiny-random", test_tiny_random);
  g_test_add_func ("/engine/gguf/hostile/truncated", test_truncated);
  g_test_add_func ("/engine/gguf/hostile/header", test_hostile_header);
  g_test_add_func ("/engine/gguf/hostile/metadata", test_hostile_metadata);
  g_test_add_func ("/engine/gguf/hostile/alignment", test_hostile_alignment);
  g_test_add_func ("/engine/gguf/hostile/tensors", test_hostile_tensors);
  g_test_add_func ("/engine/gguf/hostile/fuzz", test_fuzz);

  return loom_test_run ();
}
