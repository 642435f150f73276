/* test-png.c — the PNG encoder and decoder: round trips, files built by hand with zlib,
 * hostile files. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "loom-test-util.h"
#include "formats/loom-png.h"

/* Building files by hand, following the specification. */

static void
put_u32_be (GByteArray *b,
            guint32     v)
{
  guint8 bytes[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (b, bytes, 4);
}

static GByteArray *
png_new (void)
{
  GByteArray *b = g_byte_array_new ();

  g_byte_array_append (b, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  return b;
}

static void
add_chunk (GByteArray   *b,
           const char   *type,
           const guint8 *data,
           gsize         length)
{
  guint32 crc = crc32 (0, (const Bytef *) type, 4);

  if (length > 0)
    crc = crc32 (crc, data, (uInt) length);
  put_u32_be (b, (guint32) length);
  g_byte_array_append (b, (const guint8 *) type, 4);
  if (length > 0)
    g_byte_array_append (b, data, (guint) length);
  put_u32_be (b, crc);
}

static void
add_ihdr (GByteArray *b,
          guint32     width,
          guint32     height,
          guint8      depth,
          guint8      color_type,
          guint8      interlace)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 rest[5] = { depth, color_type, 0, 0, interlace };

  put_u32_be (data, width);
  put_u32_be (data, height);
  g_byte_array_append (data, rest, 5);
  add_chunk (b, "IHDR", data->data, data->len);
}

/* The scanlines compressed into IDAT chunks of at most @piece bytes. */
static void
add_idat (GByteArray   *b,
          const guint8 *scanlines,
          gsize         length,
          gsize         piece)
{
  uLongf compressed_length = compressBound (length);
  g_autofree guint8 *compressed = g_malloc (compressed_length);

  g_assert_cmpint (compress (compressed, &compressed_length, scanlines, length), ==, Z_OK);
  for (gsize at = 0; at < compressed_length; at += piece)
    add_chunk (b, "IDAT", compressed + at, MIN (piece, compressed_length - at));
}

static void
add_iend (GByteArray *b)
{
  add_chunk (b, "IEND", NULL, 0);
}

/* Filters @rows (bpp bytes a pixel, @stride bytes a row) with the given filter type per
 * row, as the specification's section on filters defines them. */
static guint8 *
filter_rows (const guint8 *rows,
             guint         height,
             gsize         stride,
             guint         bpp,
             const guint8 *types,
             gsize        *length)
{
  guint8 *out = g_malloc (height * (stride + 1));

  for (guint y = 0; y < height; y++)
    {
      const guint8 *x = rows + y * stride;
      guint8 *o = out + y * (stride + 1);

      o[0] = types[y];
      for (gsize i = 0; i < stride; i++)
        {
          int a = i >= bpp ? x[i - bpp] : 0;
          int b = y > 0 ? x[i - stride] : 0;
          int c = i >= bpp && y > 0 ? x[i - stride - bpp] : 0;
          int p = a + b - c, pa = ABS (p - a), pb = ABS (p - b), pc = ABS (p - c);
          int predicted = 0;

          switch (types[y])
            {
            case 1:
              predicted = a;
              break;
            case 2:
              predicted = b;
              break;
            case 3:
              predicted = (a + b) / 2;
              break;
            case 4:
              predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
              break;
            default:
              break;
            }
          o[1 + i] = (guint8) (x[i] - predicted);
        }
    }
  *length = height * (stride + 1);
  return out;
}

static LoomPng *
decode_array (GByteArray  *b,
              GError     **error)
{
  /* An exact-size copy, so that memcheck sees any read past the end. */
  g_autofree guint8 *copy = g_memdup2 (b->data, b->len);

  return loom_png_decode (copy, b->len, error);
}

static void
expect_error (GByteArray *b,
              gint        code,
              const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomPng) png = decode_array (b, &error);

  g_assert_null (png);
  g_assert_error (error, G_IO_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "PNG data: "));
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s” is not in “%s”", fragment, error->message);
}

/* Reading the encoder's output chunk by chunk. */

typedef struct
{
  char          type[5];
  const guint8 *data;
  guint32       length;
} Chunk;

static GArray *
list_chunks (GBytes *png)
{
  GArray *chunks = g_array_new (FALSE, TRUE, sizeof (Chunk));
  gsize size;
  const guint8 *data = g_bytes_get_data (png, &size);

  g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
  for (gsize pos = 8; pos < size;)
    {
      Chunk c = { { 0, }, };

      g_assert_cmpuint (size - pos, >=, 12);
      c.length = ((guint32) data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8)
                 | data[pos + 3];
      memcpy (c.type, data + pos + 4, 4);
      c.data = data + pos + 8;
      g_assert_cmpuint (size - pos - 12, >=, c.length);
      g_assert_cmpuint (crc32 (0, data + pos + 4, c.length + 4), ==,
                        ((guint32) c.data[c.length] << 24) | (c.data[c.length + 1] << 16)
                        | (c.data[c.length + 2] << 8) | c.data[c.length + 3]);
      g_array_append_val (chunks, c);
      pos += 12 + c.length;
    }
  return chunks;
}

/* The encoder's scanlines, inflated here with zlib directly. */
static guint8 *
inflate_idat (GArray *chunks,
              gsize   expected)
{
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  guint8 *out = g_malloc (expected);
  uLongf length = expected;

  for (guint i = 0; i < chunks->len; i++)
    {
      Chunk *c = &g_array_index (chunks, Chunk, i);

      if (strcmp (c->type, "IDAT") == 0)
        g_byte_array_append (stream, c->data, c->length);
    }
  g_assert_cmpint (uncompress (out, &length, stream->data, stream->len), ==, Z_OK);
  g_assert_cmpuint (length, ==, expected);
  return out;
}

/* Round trips. */

static guint8 *
random_pixels (GRand    *rand,
               guint     width,
               guint     height,
               gboolean  smooth)
{
  guint8 *rgba = g_malloc ((gsize) width * height * 4);

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      for (guint c = 0; c < 4; c++)
        {
          guint8 *p = rgba + ((gsize) y * width + x) * 4 + c;

          /* Smooth images are gradients with a little noise, where filters pay. */
          if (smooth)
            *p = (guint8) (x * (c + 1) + y * 3 + g_rand_int_range (rand, 0, 3));
          else
            *p = (guint8) g_rand_int (rand);
        }
  return rgba;
}

static void
test_round_trip (void)
{
  static const guint sizes[][2] = { { 1, 1 }, { 7, 5 }, { 64, 33 }, { 3, 200 }, { 300, 2 } };
  static const char * const keys[] = { "parameters", "Comment", "Software", "Empty" };
  static const char * const values[] = {
    "a café at dusk\nNegative prompt: blur\nSteps: 20, Seed: 1",
    "日本語の説明 — ✓",
    "Candor",
    "",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint smooth = 0; smooth < 2; smooth++)
      {
        guint width = sizes[s][0], height = sizes[s][1];
        g_autofree guint8 *rgba = random_pixels (rand, width, height, smooth);
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) encoded = NULL;
        g_autoptr(LoomPng) png = NULL;
        g_autoptr(GArray) chunks = NULL;
        g_autofree guint8 *scanlines = NULL;
        gsize stride = (gsize) width * 4;
        guint filters_used = 0;

        encoded = loom_png_encode (rgba, width, height, keys, values, G_N_ELEMENTS (keys),
                                   &error);
        g_assert_no_error (error);
        png = loom_png_decode (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded),
                               &error);
        g_assert_no_error (error);
        g_assert_cmpuint (png->width, ==, width);
        g_assert_cmpuint (png->height, ==, height);
        g_assert_cmpmem (g_bytes_get_data (png->pixels, NULL), g_bytes_get_size (png->pixels),
                         rgba, stride * height);
        g_assert_cmpuint (g_hash_table_size (png->text), ==, G_N_ELEMENTS (keys));
        for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
          g_assert_cmpstr (g_hash_table_lookup (png->text, keys[i]), ==, values[i]);

        /* The file itself, read here without the decoder: IHDR first, text as tEXt where
         * Latin-1 holds it and iTXt otherwise, IDAT, IEND last; valid filter types. */
        chunks = list_chunks (encoded);
        g_assert_cmpstr (g_array_index (chunks, Chunk, 0).type, ==, "IHDR");
        g_assert_cmpmem (g_array_index (chunks, Chunk, 0).data + 8, 5, "\x08\x06\x00\x00\x00", 5);
        g_assert_cmpstr (g_array_index (chunks, Chunk, 1).type, ==, "tEXt");
        g_assert_cmpmem (g_array_index (chunks, Chunk, 1).data, 16, "parameters\0a caf\xe9", 16);
        g_assert_cmpstr (g_array_index (chunks, Chunk, 2).type, ==, "iTXt");
        g_assert_cmpmem (g_array_index (chunks, Chunk, 2).data, 12, "Comment\0\0\0\0\0", 12);
        g_assert_cmpstr (g_array_index (chunks, Chunk, 3).type, ==, "tEXt");
        g_assert_cmpstr (g_array_index (chunks, Chunk, 4).type, ==, "tEXt");
        g_assert_cmpstr (g_array_index (chunks, Chunk, chunks->len - 1).type, ==, "IEND");
        scanlines = inflate_idat (chunks, (stride + 1) * height);
        for (guint y = 0; y < height; y++)
          {
            g_assert_cmpuint (scanlines[y * (stride + 1)], <=, 4);
            filters_used |= 1u << scanlines[y * (stride + 1)];
          }
        /* A gradient is never cheapest unfiltered, apart from a lone pixel. */
        if (smooth && width * height > 1)
          g_assert_cmpuint (filters_used & ~1u, !=, 0);
      }
}

static void
test_bad_keyword (void)
{
  static const guint8 pixel[4] = { 1, 2, 3, 4 };
  static const char * const bad_keys[] = {
    "", " leading", "trailing ", "two  spaces", "カメラ",
    "a keyword that is much longer than the seventy-nine bytes a PNG keyword may have..",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_keys); i++)
    {
      const char *value = "v";
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) encoded = loom_png_encode (pixel, 1, 1, &bad_keys[i], &value, 1, &error);

      g_assert_null (encoded);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_write_read (void)
{
  static const guint8 rgba[2 * 2 * 4] = {
    255, 0, 0, 255,   0, 255, 0, 128,
    0, 0, 255, 0,     10, 20, 30, 40,
  };
  static const char * const keys[] = { "parameters" };
  static const char * const values[] = { "ünïcödé ✓" };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-png-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "image.png", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  g_autofree char *nowhere = g_build_filename (dir, "no", "image.png", NULL);
  g_autoptr(LoomPng) png = NULL;

  g_assert_no_error (error);
  g_assert_true (loom_png_write (path, rgba, 2, 2, keys, values, 1, &error));
  g_assert_no_error (error);
  png = loom_png_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (png->width, ==, 2);
  g_assert_cmpmem (g_bytes_get_data (png->pixels, NULL), 16, rgba, 16);
  g_assert_cmpstr (g_hash_table_lookup (png->text, "parameters"), ==, values[0]);

  g_assert_null (loom_png_read (missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (loom_png_write (nowhere, rgba, 2, 2, NULL, NULL, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Errors in a file name it. */
  g_assert_true (g_file_set_contents (missing, "not a png", -1, NULL));
  g_assert_null (loom_png_read (missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, missing));

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_unlink (missing), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Files built by hand. */

static void
expect_pixels (GByteArray   *b,
               guint         width,
               guint         height,
               const guint8 *rgba)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomPng) png = decode_array (b, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (png->width, ==, width);
  g_assert_cmpuint (png->height, ==, height);
  g_assert_cmpmem (g_bytes_get_data (png->pixels, NULL), g_bytes_get_size (png->pixels),
                   rgba, (gsize) width * height * 4);
}

/* A 2×2 RGB image, unfiltered, in one IDAT. */
static void
test_rgb_2x2 (void)
{
  static const guint8 scanlines[] = {
    0, 255, 0, 0,   0, 255, 0,
    0, 0, 0, 255,   255, 255, 255,
  };
  static const guint8 expected[] = {
    255, 0, 0, 255,   0, 255, 0, 255,
    0, 0, 255, 255,   255, 255, 255, 255,
  };
  g_autoptr(GByteArray) b = png_new ();

  add_ihdr (b, 2, 2, 8, 2, 0);
  add_idat (b, scanlines, sizeof scanlines, 1 << 20);
  add_iend (b);
  expect_pixels (b, 2, 2, expected);
}

/* Every filter type, every colour type, and the zlib stream split into IDATs of a byte. */
static void
test_filters_and_colors (void)
{
  static const guint8 types[] = { 0, 1, 2, 3, 4, 4, 3, 2, 1, 0 };
  static const guint channels[] = { 1, 0, 3, 0, 2, 0, 4 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  const guint width = 9, height = G_N_ELEMENTS (types);

  for (guint color = 0; color <= 6; color++)
    for (guint split = 0; split < 2; split++)
      {
        guint bpp = channels[color];
        gsize stride = width * bpp, length;
        g_autofree guint8 *rows = NULL;
        g_autofree guint8 *scanlines = NULL;
        g_autofree guint8 *expected = NULL;
        g_autoptr(GByteArray) b = png_new ();

        if (bpp == 0)
          continue;
        rows = g_malloc (stride * height);
        expected = g_malloc (width * height * 4);
        for (gsize i = 0; i < stride * height; i++)
          rows[i] = (guint8) (g_rand_int_range (rand, 0, 2) ? g_rand_int (rand) : i * 7);
        for (guint p = 0; p < width * height; p++)
          {
            const guint8 *s = rows + p * bpp;
            guint8 *e = expected + p * 4;

            switch (color)
              {
              case 0:
                e[0] = e[1] = e[2] = s[0];
                e[3] = 255;
                break;
              case 2:
                memcpy (e, s, 3);
                e[3] = 255;
                break;
              case 4:
                e[0] = e[1] = e[2] = s[0];
                e[3] = s[1];
                break;
              default:
                memcpy (e, s, 4);
                break;
              }
          }
        scanlines = filter_rows (rows, height, stride, bpp, types, &length);
        add_ihdr (b, width, height, 8, color, 0);
        add_idat (b, scanlines, length, split ? 1 : 1 << 20);
        add_iend (b);
        expect_pixels (b, width, height, expected);
      }
}

/* A palette image with transparency for some entries, and grey and RGB colour keys. */
static void
test_palette_and_keys (void)
{
  static const guint8 palette[] = { 255, 0, 0,   0, 255, 0,   0, 0, 255 };
  static const guint8 trns[] = { 0, 128 };  /* the third entry stays opaque */
  static const guint8 indices[] = { 0, 0, 1, 2,   0, 2, 1, 0 };
  static const guint8 expected_palette[] = {
    255, 0, 0, 0,   0, 255, 0, 128,   0, 0, 255, 255,
    0, 0, 255, 255,   0, 255, 0, 128,   255, 0, 0, 0,
  };
  static const guint8 grey[] = { 0, 7, 9,   0, 9, 7 };
  static const guint8 grey_key[] = { 0, 9 };
  static const guint8 expected_grey[] = {
    7, 7, 7, 255,   9, 9, 9, 0,
    9, 9, 9, 0,     7, 7, 7, 255,
  };
  static const guint8 rgb[] = { 0, 1, 2, 3, 3, 2, 1 };
  static const guint8 rgb_key[] = { 0, 1, 0, 2, 0, 3 };
  static const guint8 expected_rgb[] = { 1, 2, 3, 0,   3, 2, 1, 255 };
  g_autoptr(GByteArray) b = png_new ();
  g_autoptr(GByteArray) g = png_new ();
  g_autoptr(GByteArray) c = png_new ();
  g_autoptr(GByteArray) no_palette = png_new ();
  g_autoptr(GByteArray) bad_index = png_new ();
  static const guint8 bad_indices[] = { 0, 0, 1, 2, 3 };

  add_ihdr (b, 3, 2, 8, 3, 0);
  add_chunk (b, "PLTE", palette, sizeof palette);
  add_chunk (b, "tRNS", trns, sizeof trns);
  add_idat (b, indices, sizeof indices, 3);
  add_iend (b);
  expect_pixels (b, 3, 2, expected_palette);

  add_ihdr (g, 2, 2, 8, 0, 0);
  add_chunk (g, "tRNS", grey_key, sizeof grey_key);
  add_idat (g, grey, sizeof grey, 100);
  add_iend (g);
  expect_pixels (g, 2, 2, expected_grey);

  add_ihdr (c, 2, 1, 8, 2, 0);
  add_chunk (c, "tRNS", rgb_key, sizeof rgb_key);
  add_idat (c, rgb, sizeof rgb, 100);
  add_iend (c);
  expect_pixels (c, 2, 1, expected_rgb);

  add_ihdr (no_palette, 3, 2, 8, 3, 0);
  add_idat (no_palette, indices, sizeof indices, 100);
  add_iend (no_palette);
  expect_error (no_palette, G_IO_ERROR_INVALID_DATA, "no palette");

  add_ihdr (bad_index, 4, 1, 8, 3, 0);
  add_chunk (bad_index, "PLTE", palette, sizeof palette);
  add_idat (bad_index, bad_indices, sizeof bad_indices, 100);
  add_iend (bad_index);
  expect_error (bad_index, G_IO_ERROR_INVALID_DATA, "palette index 3 of 3");
}

static void
add_compressed_text (GByteArray *b,
                     const char *type,
                     const char *prefix,
                     gsize       prefix_length,
                     const char *text,
                     gsize       text_length)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  uLongf length = compressBound (text_length);
  g_autofree guint8 *compressed = g_malloc (length);

  g_assert_cmpint (compress (compressed, &length, (const Bytef *) text, text_length), ==, Z_OK);
  g_byte_array_append (data, (const guint8 *) prefix, (guint) prefix_length);
  g_byte_array_append (data, compressed, (guint) length);
  add_chunk (b, type, data->data, data->len);
}

/* tEXt in Latin-1, zTXt, and iTXt plain and compressed, before and after the data. */
static void
test_text_chunks (void)
{
  static const guint8 scanline[] = { 0, 1, 2, 3, 4 };
  static const char latin1[] = "Title\0Caf\xe9";
  static const char itxt[] = "Author\0\0\0en\0Autor\0Jos\xc3\xa9 \xe2\x9c\x93";
  g_autoptr(GByteArray) b = png_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomPng) png = NULL;

  add_ihdr (b, 1, 1, 8, 6, 0);
  add_chunk (b, "tEXt", (const guint8 *) latin1, sizeof latin1 - 1);
  add_compressed_text (b, "zTXt", "Comment\0\0", 9, "long \xb5 text", strlen ("long \xb5 text"));
  add_chunk (b, "iTXt", (const guint8 *) itxt, sizeof itxt - 1);
  add_idat (b, scanline, sizeof scanline, 100);
  add_compressed_text (b, "iTXt", "parameters\0\1\0\0\0", 15, "Steps: 4 ✓", strlen ("Steps: 4 ✓"));
  add_chunk (b, "tIME", (const guint8 *) "\x07\xe8\x01\x02\x03\x04\x05", 7);
  add_iend (b);

  png = decode_array (b, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (png->text), ==, 4);
  g_assert_cmpstr (g_hash_table_lookup (png->text, "Title"), ==, "Café");
  g_assert_cmpstr (g_hash_table_lookup (png->text, "Comment"), ==, "long µ text");
  g_assert_cmpstr (g_hash_table_lookup (png->text, "Author"), ==, "José ✓");
  g_assert_cmpstr (g_hash_table_lookup (png->text, "parameters"), ==, "Steps: 4 ✓");
}

/* Hostile files. */

static GByteArray *
small_valid (void)
{
  static const guint8 scanlines[] = { 1, 10, 20, 30, 40, 5, 5, 5, 5,
                                      2, 1, 1, 1, 1, 0, 0, 0, 0 };
  GByteArray *b = png_new ();

  add_ihdr (b, 2, 2, 8, 6, 0);
  add_chunk (b, "tEXt", (const guint8 *) "k\0v", 3);
  add_idat (b, scanlines, sizeof scanlines, 7);
  add_iend (b);
  return b;
}

static void
test_truncated (void)
{
  g_autoptr(GByteArray) b = small_valid ();

  for (guint length = 0; length <= b->len; length++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree guint8 *copy = g_memdup2 (b->data, length);
      g_autoptr(LoomPng) png = loom_png_decode (copy, length, &error);

      if (length == b->len)
        {
          static const guint8 expected[] = { 10, 20, 30, 40, 15, 25, 35, 45,
                                             11, 21, 31, 41, 15, 25, 35, 45 };

          g_assert_no_error (error);
          g_assert_cmpmem (g_bytes_get_data (png->pixels, NULL), 16, expected, 16);
          g_assert_cmpstr (g_hash_table_lookup (png->text, "k"), ==, "v");
          continue;
        }
      g_assert_null (png);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
}

static void
test_hostile (void)
{
  static const guint8 row[] = { 0, 1, 2, 3, 4 };
  static const guint8 two_rows[] = { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 };

  /* A wrong CRC in each chunk: a bit flipped in its data, or in the CRC itself. */
  {
    g_autoptr(GByteArray) valid = small_valid ();
    guint n_chunks = 0;

    for (gsize pos = 8; pos < valid->len; n_chunks++)
      {
        guint32 length = ((guint32) valid->data[pos] << 24) | (valid->data[pos + 1] << 16)
                         | (valid->data[pos + 2] << 8) | valid->data[pos + 3];
        g_autoptr(GByteArray) b = g_byte_array_new ();
        g_autoptr(GError) error = NULL;
        g_autoptr(LoomPng) png = NULL;

        g_byte_array_append (b, valid->data, valid->len);
        b->data[pos + 8 + length / 2] ^= 0x10;
        png = decode_array (b, &error);
        g_assert_null (png);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
        g_assert_nonnull (strstr (error->message, "fails its CRC check"));
        pos += 12 + length;
      }
    g_assert_cmpuint (n_chunks, >=, 5);
  }
  {
    g_autoptr(GByteArray) b = g_byte_array_new ();

    g_byte_array_append (b, (const guint8 *) "\x89PNG\r\n\x1a\r", 8);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "no PNG signature");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 16385, 1, 8, 6, 0);
    expect_error (b, G_IO_ERROR_NOT_SUPPORTED, "larger than 16384");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 0xffffffffu, 8, 6, 0);
    expect_error (b, G_IO_ERROR_NOT_SUPPORTED, "larger than 16384");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 0, 1, 8, 6, 0);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "0×1");
  }
  /* The largest size allowed, with the data of one row: refused without allocating the
   * gigabyte the size implies. */
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 16384, 16384, 8, 6, 0);
    add_idat (b, row, sizeof row, 100);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "not the 1073758208 a 16384×16384 image needs");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 1);
    add_idat (b, row, sizeof row, 100);
    add_iend (b);
    expect_error (b, G_IO_ERROR_NOT_SUPPORTED, "interlaced");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 16, 6, 0);
    expect_error (b, G_IO_ERROR_NOT_SUPPORTED, "bit depth 16");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 5, 0);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "colour type 5");
  }
  {
    static const guint8 bad_filter[] = { 5, 1, 2, 3, 4 };
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_idat (b, bad_filter, sizeof bad_filter, 100);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "filter type 5");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_idat (b, two_rows, sizeof two_rows, 100);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "more than the 5 bytes");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 2, 8, 6, 0);
    add_idat (b, row, sizeof row, 100);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "not the 10");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_chunk (b, "IDAT", (const guint8 *) "\x78\x9c\xff\xff", 4);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "corrupt");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "no image data");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_idat (b, row, sizeof row, 2);
    add_chunk (b, "tEXt", (const guint8 *) "k\0v", 3);
    add_idat (b, row, sizeof row, 100);
    add_iend (b);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "not consecutive");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_chunk (b, "tEXt", (const guint8 *) "k\0v", 3);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "not IHDR");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_chunk (b, "ABCD", NULL, 0);
    expect_error (b, G_IO_ERROR_NOT_SUPPORTED, "critical chunk ABCD");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_chunk (b, "tEXt", (const guint8 *) "no keyword", 10);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "no keyword");
  }
  {
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    put_u32_be (b, 0x80000000u);
    g_byte_array_append (b, (const guint8 *) "IDAT\0\0\0\0", 8);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "runs past the end");
  }
  /* A zTXt bomb: 17 MiB of zeros in 17 KiB. */
  {
    gsize big = 17 * 1024 * 1024;
    g_autofree char *zeros = g_malloc0 (big);
    g_autoptr(GByteArray) b = png_new ();

    add_ihdr (b, 1, 1, 8, 6, 0);
    add_compressed_text (b, "zTXt", "Bomb\0\0", 6, zeros, big);
    expect_error (b, G_IO_ERROR_INVALID_DATA, "inflates to more than");
  }
}

static void
fix_crcs (guint8 *data,
          gsize   size)
{
  for (gsize pos = 8; size - pos >= 12;)
    {
      guint32 length = ((guint32) data[pos] << 24) | (data[pos + 1] << 16)
                       | (data[pos + 2] << 8) | data[pos + 3];
      guint32 crc;

      if (length > size - pos - 12)
        return;
      crc = crc32 (0, data + pos + 4, length + 4);
      data[pos + 8 + length] = crc >> 24;
      data[pos + 9 + length] = crc >> 16;
      data[pos + 10 + length] = crc >> 8;
      data[pos + 11 + length] = crc;
      pos += 12 + length;
    }
}

/* Corrupted copies of a small image, half of them with their CRCs recomputed so that
 * the corruption reaches the chunk parsers and the inflater. */
static void
test_fuzz (void)
{
  static const char * const keys[] = { "parameters", "Comment" };
  static const char * const values[] = { "prompt\nSteps: 20", "✓" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  g_autofree guint8 *rgba = random_pixels (rand, 5, 4, TRUE);
  g_autoptr(GBytes) seed = loom_png_encode (rgba, 5, 4, keys, values, 2, NULL);
  gsize size;
  const guint8 *original = g_bytes_get_data (seed, &size);
  guint n_decoded = 0, rounds = g_test_slow () ? 100000 : 5000;

  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LoomPng) png = NULL;
      g_autofree guint8 *copy = g_memdup2 (original, size);
      guint n_flips = g_rand_int_range (rand, 1, 4);
      gsize length = size;

      for (guint f = 0; f < n_flips; f++)
        {
          gsize at = g_rand_int_range (rand, 8, (gint32) size);

          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0:
              copy[at] = 0;
              break;
            case 1:
              copy[at] = 0xff;
              break;
            case 2:
              copy[at] ^= 1u << g_rand_int_range (rand, 0, 8);
              break;
            default:
              copy[at] = (guint8) g_rand_int (rand);
              break;
            }
        }
      if (g_rand_boolean (rand))
        fix_crcs (copy, size);
      if (g_rand_int_range (rand, 0, 8) == 0)
        length = g_rand_int_range (rand, 0, (gint32) size);

      png = loom_png_decode (copy, length, &error);
      if (png != NULL)
        {
          gsize n = png->width * png->height * 4;
          const guint8 *p = g_bytes_get_data (png->pixels, NULL);
          guint sum = 0;

          g_assert_no_error (error);
          g_assert_cmpuint (g_bytes_get_size (png->pixels), ==, n);
          for (gsize i = 0; i < n; i++)
            sum += p[i];
          (void) sum;
          n_decoded++;
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == G_IO_ERROR);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
        }
    }
  g_test_message ("%u of %u corrupted files decoded", n_decoded, rounds);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/png/round-trip", test_round_trip);
  g_test_add_func ("/engine/png/bad-keyword", test_bad_keyword);
  g_test_add_func ("/engine/png/write-read", test_write_read);
  g_test_add_func ("/engine/png/hand-built/rgb-2x2", test_rgb_2x2);
  g_test_add_func ("/engine/png/hand-built/filters-and-colors", test_filters_and_colors);
  g_test_add_func ("/engine/png/hand-built/palette-and-keys", test_palette_and_keys);
  g_test_add_func ("/engine/png/hand-built/text", test_text_chunks);
  g_test_add_func ("/engine/png/hostile/truncated", test_truncated);
  g_test_add_func ("/engine/png/hostile/chunks", test_hostile);
  g_test_add_func ("/engine/png/hostile/fuzz", test_fuzz);

  return loom_test_run ();
}
