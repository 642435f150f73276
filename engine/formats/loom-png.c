/* loom-png.c — PNG encoding (RGBA8 with text chunks) and decoding (8-bit, non-interlaced).
 *
 * A PNG file is the 8-byte signature and a sequence of chunks, each a u32 big-endian
 * length, a 4-letter type, the data and a CRC-32 of type and data (see the W3C PNG
 * specification). The image is IHDR's size and colour type; IDAT chunks together hold
 * one zlib stream of the scanlines, each a filter-type byte and the row's filtered bytes.
 *
 * Decoding treats the file as hostile: every length is checked against what is left
 * before use, every CRC is checked, the image may not exceed MAX_SIDE on either side,
 * and the scanlines must inflate to exactly the size IHDR implies; the inflate buffer
 * grows with the data actually received, so a file that lies about its size cannot make
 * it allocate more than its compressed data can produce.
 */
#include "config.h"

#include <string.h>

#include <zlib.h>

#include "loom-png.h"

#define SIGNATURE_BYTES  8
#define CHUNK_OVERHEAD   12              /* length, type, CRC */
#define MAX_CHUNK        0x7fffffffu     /* the specification's limit on a chunk's length */
#define MAX_SIDE         16384
#define MAX_KEYWORD      79
#define MAX_TEXT         (16u * 1024 * 1024)  /* inflated zTXt/iTXt text, per chunk */
#define IDAT_PIECE       (1u << 20)       /* the encoder splits its data into IDATs this big */

static const guint8 signature[SIGNATURE_BYTES] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

enum
{
  COLOR_GREY = 0,
  COLOR_RGB = 2,
  COLOR_PALETTE = 3,
  COLOR_GREY_ALPHA = 4,
  COLOR_RGBA = 6,
};

enum
{
  FILTER_NONE,
  FILTER_SUB,
  FILTER_UP,
  FILTER_AVERAGE,
  FILTER_PAETH,
  N_FILTERS
};

static guint32
read_u32_be (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void
put_u32_be (GByteArray *b,
            guint32     v)
{
  guint8 bytes[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (b, bytes, 4);
}

static guint8
paeth (guint8 a,
       guint8 b,
       guint8 c)
{
  int p = (int) a + b - c;
  int pa = ABS (p - a), pb = ABS (p - b), pc = ABS (p - c);

  if (pa <= pb && pa <= pc)
    return a;
  return pb <= pc ? b : c;
}

/* Latin-1 text. */

/* Returns: (nullable): @utf8 in Latin-1, or %NULL when it has a character above U+00FF. */
static char *
utf8_to_latin1 (const char *utf8)
{
  GString *s = g_string_new (NULL);

  for (const char *p = utf8; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c > 0xff)
        {
          g_string_free (s, TRUE);
          return NULL;
        }
      g_string_append_c (s, (char) c);
    }
  return g_string_free (s, FALSE);
}

static char *
latin1_to_utf8 (const guint8 *latin1,
                gsize         length)
{
  GString *s = g_string_sized_new (length);

  for (gsize i = 0; i < length; i++)
    g_string_append_unichar (s, latin1[i]);
  return g_string_free (s, FALSE);
}

/* A keyword as the specification allows: 1–79 printable Latin-1 characters, no leading,
 * trailing or double space. */
static gboolean
keyword_is_valid (const char *latin1)
{
  gsize length = strlen (latin1);

  if (length == 0 || length > MAX_KEYWORD)
    return FALSE;
  if (latin1[0] == ' ' || latin1[length - 1] == ' ' || strstr (latin1, "  ") != NULL)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      guint8 c = (guint8) latin1[i];

      if (c < 32 || (c > 126 && c < 161))
        return FALSE;
    }
  return TRUE;
}

/* Encoding. */

static void
put_chunk (GByteArray   *b,
           const char   *type,
           const guint8 *data,
           gsize         length)
{
  gsize start;
  uLong crc;

  g_assert (length <= MAX_CHUNK);
  put_u32_be (b, (guint32) length);
  start = b->len;
  g_byte_array_append (b, (const guint8 *) type, 4);
  if (length > 0)
    g_byte_array_append (b, data, (guint) length);
  crc = crc32 (0, b->data + start, (uInt) (4 + length));
  put_u32_be (b, (guint32) crc);
}

static gboolean
put_text (GByteArray         *b,
          const LoomPngText  *text,
          GError            **error)
{
  const char *key = text->key, *value = text->value;
  g_autofree char *latin1_key = utf8_to_latin1 (key);
  g_autofree char *latin1_value = text->international ? NULL : utf8_to_latin1 (value);
  g_autoptr(GByteArray) data = g_byte_array_new ();

  if (latin1_key == NULL || !keyword_is_valid (latin1_key))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot be the keyword of a PNG text chunk", key);
      return FALSE;
    }
  g_byte_array_append (data, (const guint8 *) latin1_key, strlen (latin1_key) + 1);
  if (latin1_value != NULL)
    {
      /* tEXt: keyword, NUL, Latin-1 text. */
      g_byte_array_append (data, (const guint8 *) latin1_value, strlen (latin1_value));
      if (data->len > MAX_CHUNK)
        goto too_long;
      put_chunk (b, "tEXt", data->data, data->len);
    }
  else
    {
      /* iTXt: keyword, NUL, not compressed (0, 0), no language tag or translated
       * keyword (two NULs), UTF-8 text. */
      static const guint8 itxt_fields[4] = { 0, 0, 0, 0 };

      g_byte_array_append (data, itxt_fields, sizeof itxt_fields);
      g_byte_array_append (data, (const guint8 *) value, strlen (value));
      if (data->len > MAX_CHUNK)
        goto too_long;
      put_chunk (b, "iTXt", data->data, data->len);
    }
  return TRUE;

too_long:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "The PNG text “%s” is too long for a chunk", key);
  return FALSE;
}

/* Appends row @y of @rgba, filtered with the filter whose output has the smallest sum of
 * absolute values (as signed bytes), the specification's suggested heuristic. */
static void
put_filtered_row (GByteArray   *out,
                  const guint8 *rgba,
                  gsize         stride,
                  guint         y,
                  guint8       *scratch)  /* N_FILTERS × stride bytes */
{
  const guint8 *row = rgba + (gsize) y * stride;
  const guint8 *prior = y > 0 ? row - stride : NULL;
  guint64 best_sum = G_MAXUINT64;
  guint best = FILTER_NONE;

  for (guint f = 0; f < N_FILTERS; f++)
    {
      guint8 *o = scratch + f * stride;
      guint64 sum = 0;

      for (gsize i = 0; i < stride; i++)
        {
          guint8 a = i >= 4 ? row[i - 4] : 0;
          guint8 b = prior != NULL ? prior[i] : 0;
          guint8 c = i >= 4 && prior != NULL ? prior[i - 4] : 0;
          guint8 predicted;

          switch (f)
            {
            case FILTER_SUB:
              predicted = a;
              break;
            case FILTER_UP:
              predicted = b;
              break;
            case FILTER_AVERAGE:
              predicted = (guint8) (((guint) a + b) / 2);
              break;
            case FILTER_PAETH:
              predicted = paeth (a, b, c);
              break;
            case FILTER_NONE:
            default:
              predicted = 0;
              break;
            }
          o[i] = (guint8) (row[i] - predicted);
          sum += (guint) ABS ((gint8) o[i]);
        }
      if (sum < best_sum)
        {
          best_sum = sum;
          best = f;
        }
    }
  {
    guint8 type = (guint8) best;

    g_byte_array_append (out, &type, 1);
    g_byte_array_append (out, scratch + best * stride, (guint) stride);
  }
}

/**
 * loom_png_encode_text:
 * @rgba: @width × @height × 4 bytes, rows top to bottom
 * @text: (array length=n_text): the text chunks, written in this order after IHDR
 *
 * Returns: (transfer full) (nullable): the PNG file, or %NULL with @error set (a keyword
 * PNG cannot store, an image too large for a chunk).
 */
GBytes *
loom_png_encode_text (const guint8       *rgba,
                      guint               width,
                      guint               height,
                      const LoomPngText  *text,
                      guint               n_text,
                      GError            **error)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GByteArray) raw = NULL;
  g_autofree guint8 *scratch = NULL;
  g_autofree guint8 *compressed = NULL;
  guint8 ihdr[13];
  gsize stride;
  uLongf compressed_length;
  int status;

  g_return_val_if_fail (rgba != NULL, NULL);
  g_return_val_if_fail (width > 0 && width <= MAX_SIDE, NULL);
  g_return_val_if_fail (height > 0 && height <= MAX_SIDE, NULL);
  g_return_val_if_fail (n_text == 0 || text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_byte_array_append (b, signature, SIGNATURE_BYTES);

  /* IHDR: width, height, bit depth 8, RGBA, deflate, adaptive filtering, no interlace. */
  for (guint i = 0; i < 4; i++)
    {
      ihdr[i] = (guint8) (width >> (24 - 8 * i));
      ihdr[4 + i] = (guint8) (height >> (24 - 8 * i));
    }
  ihdr[8] = 8;
  ihdr[9] = COLOR_RGBA;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  put_chunk (b, "IHDR", ihdr, sizeof ihdr);

  for (guint i = 0; i < n_text; i++)
    {
      g_return_val_if_fail (text[i].key != NULL && g_utf8_validate (text[i].key, -1, NULL),
                            NULL);
      g_return_val_if_fail (text[i].value != NULL
                            && g_utf8_validate (text[i].value, -1, NULL), NULL);
      if (!put_text (b, &text[i], error))
        return NULL;
    }

  stride = (gsize) width * 4;
  raw = g_byte_array_sized_new ((guint) ((stride + 1) * height));
  scratch = g_malloc (N_FILTERS * stride);
  for (guint y = 0; y < height; y++)
    put_filtered_row (raw, rgba, stride, y, scratch);

  compressed_length = compressBound (raw->len);
  compressed = g_malloc (compressed_length);
  status = compress2 (compressed, &compressed_length, raw->data, raw->len, 6);
  if (status != Z_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not compress the image: %s",
                   zError (status));
      return NULL;
    }
  for (gsize at = 0; at < compressed_length; at += IDAT_PIECE)
    put_chunk (b, "IDAT", compressed + at, MIN (IDAT_PIECE, compressed_length - at));
  put_chunk (b, "IEND", NULL, 0);

  return g_byte_array_free_to_bytes (g_steal_pointer (&b));
}

/**
 * loom_png_encode:
 * @rgba: @width × @height × 4 bytes, rows top to bottom
 * @keys: (array length=n_text): UTF-8 keywords, each 1–79 Latin-1 characters
 * @values: (array length=n_text): UTF-8 text
 *
 * Returns: (transfer full) (nullable): as loom_png_encode_text().
 */
GBytes *
loom_png_encode (const guint8       *rgba,
                 guint               width,
                 guint               height,
                 const char * const *keys,
                 const char * const *values,
                 guint               n_text,
                 GError            **error)
{
  g_autofree LoomPngText *text = NULL;

  g_return_val_if_fail (n_text == 0 || (keys != NULL && values != NULL), NULL);

  text = g_new0 (LoomPngText, MAX (n_text, 1));
  for (guint i = 0; i < n_text; i++)
    {
      text[i].key = keys[i];
      text[i].value = values[i];
    }
  return loom_png_encode_text (rgba, width, height, text, n_text, error);
}

/* Writes @png through a temporary file renamed over @path, so that @path is either the
 * old file or the whole new one. */
gboolean
loom_png_save (const char  *path,
               GBytes      *png,
               GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (png != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_set_contents (path, g_bytes_get_data (png, NULL), g_bytes_get_size (png),
                            &local_error))
    {
      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code),
                           local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
loom_png_write (const char         *path,
                const guint8       *rgba,
                guint               width,
                guint               height,
                const char * const *keys,
                const char * const *values,
                guint               n_text,
                GError            **error)
{
  g_autoptr(GBytes) png = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  png = loom_png_encode (rgba, width, height, keys, values, n_text, error);
  return png != NULL && loom_png_save (path, png, error);
}

/* Decoding. */

typedef struct
{
  const char *name;       /* for messages */
  GError    **error;

  guint       width;
  guint       height;
  guint       color_type;
  guint       channels;   /* bytes per pixel */

  guint8      palette[256][4];
  guint       n_palette;
  gboolean    has_key;    /* tRNS colour key for grey or RGB */
  guint16     key[3];

  z_stream    zs;
  gboolean    zs_ready;
  gboolean    zs_done;
  guint8     *scanlines;  /* inflated IDAT data, grown as it comes */
  gsize       filled;
  gsize       allocated;
  gsize       expected;   /* height × (1 + width × channels) */

  GHashTable *text;
} Decoder;

static gboolean fail (Decoder    *d,
                      GIOErrorEnum code,
                      const char *format,
                      ...) G_GNUC_PRINTF (3, 4);

/* Always returns FALSE, so that a check can `return fail (...)`. */
static gboolean
fail (Decoder      *d,
      GIOErrorEnum  code,
      const char   *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (d->error, G_IO_ERROR, code, "%s: %s", d->name, message);
  return FALSE;
}

static gboolean
parse_ihdr (Decoder      *d,
            const guint8 *data,
            guint32       length)
{
  guint depth, compression, filter, interlace;

  if (length != 13)
    return fail (d, G_IO_ERROR_INVALID_DATA, "the IHDR chunk has %u bytes, not 13", length);
  d->width = read_u32_be (data);
  d->height = read_u32_be (data + 4);
  depth = data[8];
  d->color_type = data[9];
  compression = data[10];
  filter = data[11];
  interlace = data[12];

  if (d->width == 0 || d->height == 0)
    return fail (d, G_IO_ERROR_INVALID_DATA, "the image is %u×%u pixels", d->width, d->height);
  if (d->width > MAX_SIDE || d->height > MAX_SIDE)
    return fail (d, G_IO_ERROR_NOT_SUPPORTED, "the image is %u×%u pixels, larger than %u on "
                 "a side", d->width, d->height, MAX_SIDE);
  switch (d->color_type)
    {
    case COLOR_GREY:
      d->channels = 1;
      break;
    case COLOR_RGB:
      d->channels = 3;
      break;
    case COLOR_PALETTE:
      d->channels = 1;
      break;
    case COLOR_GREY_ALPHA:
      d->channels = 2;
      break;
    case COLOR_RGBA:
      d->channels = 4;
      break;
    default:
      return fail (d, G_IO_ERROR_INVALID_DATA, "colour type %u does not exist", d->color_type);
    }
  if (depth != 8)
    return fail (d, G_IO_ERROR_NOT_SUPPORTED, "bit depth %u is not supported (only 8)", depth);
  if (compression != 0 || filter != 0)
    return fail (d, G_IO_ERROR_INVALID_DATA, "compression method %u or filter method %u does "
                 "not exist", compression, filter);
  if (interlace == 1)
    return fail (d, G_IO_ERROR_NOT_SUPPORTED, "interlaced (Adam7) images are not supported");
  if (interlace != 0)
    return fail (d, G_IO_ERROR_INVALID_DATA, "interlace method %u does not exist", interlace);

  d->expected = (gsize) d->height * (1 + (gsize) d->width * d->channels);
  return TRUE;
}

static gboolean
parse_plte (Decoder      *d,
            const guint8 *data,
            guint32       length)
{
  if (d->color_type == COLOR_GREY || d->color_type == COLOR_GREY_ALPHA)
    return fail (d, G_IO_ERROR_INVALID_DATA, "a greyscale image has a palette");
  if (d->n_palette > 0)
    return fail (d, G_IO_ERROR_INVALID_DATA, "the image has two palettes");
  if (length == 0 || length % 3 != 0 || length / 3 > 256)
    return fail (d, G_IO_ERROR_INVALID_DATA, "the palette has %u bytes, not 3 for each of "
                 "1 to 256 colours", length);
  d->n_palette = length / 3;
  for (guint i = 0; i < d->n_palette; i++)
    {
      d->palette[i][0] = data[3 * i];
      d->palette[i][1] = data[3 * i + 1];
      d->palette[i][2] = data[3 * i + 2];
      d->palette[i][3] = 255;
    }
  return TRUE;
}

static gboolean
parse_trns (Decoder      *d,
            const guint8 *data,
            guint32       length)
{
  switch (d->color_type)
    {
    case COLOR_PALETTE:
      if (d->n_palette == 0)
        return fail (d, G_IO_ERROR_INVALID_DATA, "tRNS comes before the palette");
      if (length > d->n_palette)
        return fail (d, G_IO_ERROR_INVALID_DATA, "tRNS has %u entries for %u colours", length,
                     d->n_palette);
      for (guint i = 0; i < length; i++)
        d->palette[i][3] = data[i];
      return TRUE;
    case COLOR_GREY:
    case COLOR_RGB:
      if (length != d->channels * 2)
        return fail (d, G_IO_ERROR_INVALID_DATA, "tRNS has %u bytes, not %u", length,
                     d->channels * 2);
      for (guint c = 0; c < d->channels; c++)
        d->key[c] = (guint16) ((data[2 * c] << 8) | data[2 * c + 1]);
      d->has_key = TRUE;
      return TRUE;
    default:
      /* Images with an alpha channel need none; decoders ignore it. */
      return TRUE;
    }
}

/* Inflates one IDAT chunk's data onto d->scanlines. */
static gboolean
inflate_idat (Decoder      *d,
              const guint8 *data,
              guint32       length)
{
  if (!d->zs_ready)
    {
      if (inflateInit (&d->zs) != Z_OK)
        return fail (d, G_IO_ERROR_FAILED, "could not start inflating the image data");
      d->zs_ready = TRUE;
    }
  /* Bytes after the end of the stream are ignored, as other decoders do. */
  if (d->zs_done)
    return TRUE;

  d->zs.next_in = (Bytef *) data;
  d->zs.avail_in = length;
  for (;;)
    {
      int status;

      /* Grow geometrically towards the expected size, plus one byte to see an excess. */
      if (d->filled == d->allocated)
        {
          gsize want = MIN (MAX (d->allocated * 2, 65536), d->expected + 1);

          d->scanlines = g_try_realloc (d->scanlines, want);
          if (d->scanlines == NULL)
            return fail (d, G_IO_ERROR_FAILED, "out of memory for %" G_GSIZE_FORMAT " bytes",
                         want);
          d->allocated = want;
        }
      d->zs.next_out = d->scanlines + d->filled;
      d->zs.avail_out = (uInt) MIN (d->allocated - d->filled, G_MAXUINT);
      status = inflate (&d->zs, Z_NO_FLUSH);
      d->filled = (gsize) (d->zs.next_out - d->scanlines);
      if (d->filled > d->expected)
        return fail (d, G_IO_ERROR_INVALID_DATA, "the image data inflate to more than the "
                     "%" G_GSIZE_FORMAT " bytes a %u×%u image needs", d->expected, d->width,
                     d->height);
      if (status == Z_STREAM_END)
        {
          d->zs_done = TRUE;
          return TRUE;
        }
      /* No progress possible: the stream continues in the next chunk. */
      if (status == Z_BUF_ERROR)
        return TRUE;
      if (status != Z_OK)
        return fail (d, G_IO_ERROR_INVALID_DATA, "the image data are corrupt: %s",
                     d->zs.msg != NULL ? d->zs.msg : zError (status));
      /* With room left in the output, zlib has nothing pending: the chunk is used up. */
      if (d->zs.avail_in == 0 && d->zs.avail_out > 0)
        return TRUE;
    }
}

/* Inflates a zlib stream of text of at most MAX_TEXT bytes. */
static gboolean
inflate_text (Decoder       *d,
              const char    *key,
              const guint8  *data,
              gsize          length,
              GByteArray   **out)
{
  g_autoptr(GByteArray) text = g_byte_array_new ();
  z_stream zs = { 0, };
  guint8 buffer[16384];
  int status;

  if (inflateInit (&zs) != Z_OK)
    return fail (d, G_IO_ERROR_FAILED, "could not start inflating text “%s”", key);
  zs.next_in = (Bytef *) data;
  zs.avail_in = (uInt) length;
  do
    {
      zs.next_out = buffer;
      zs.avail_out = sizeof buffer;
      status = inflate (&zs, Z_NO_FLUSH);
      if (status != Z_OK && status != Z_STREAM_END)
        {
          inflateEnd (&zs);
          return fail (d, G_IO_ERROR_INVALID_DATA, "the compressed text “%s” is corrupt", key);
        }
      g_byte_array_append (text, buffer, sizeof buffer - zs.avail_out);
      if (text->len > MAX_TEXT)
        {
          inflateEnd (&zs);
          return fail (d, G_IO_ERROR_INVALID_DATA, "the compressed text “%s” inflates to more "
                       "than %u bytes", key, MAX_TEXT);
        }
    }
  while (status != Z_STREAM_END);
  inflateEnd (&zs);
  *out = g_steal_pointer (&text);
  return TRUE;
}

/* tEXt, zTXt or iTXt: adds its keyword and text to d->text. */
static gboolean
parse_text (Decoder      *d,
            const char   *type,
            const guint8 *data,
            guint32       length)
{
  const guint8 *nul = memchr (data, 0, MIN (length, MAX_KEYWORD + 1));
  g_autofree char *key = NULL;
  g_autofree char *value = NULL;
  const guint8 *rest;
  gsize rest_length;

  if (nul == NULL || nul == data)
    return fail (d, G_IO_ERROR_INVALID_DATA, "a %s chunk has no keyword of 1 to %d bytes",
                 type, MAX_KEYWORD);
  key = latin1_to_utf8 (data, nul - data);
  rest = nul + 1;
  rest_length = length - (rest - data);

  if (strcmp (type, "tEXt") == 0)
    value = latin1_to_utf8 (rest, rest_length);
  else if (strcmp (type, "zTXt") == 0)
    {
      g_autoptr(GByteArray) text = NULL;

      if (rest_length < 1 || rest[0] != 0)
        return fail (d, G_IO_ERROR_INVALID_DATA, "zTXt “%s” has no compression method 0", key);
      if (!inflate_text (d, key, rest + 1, rest_length - 1, &text))
        return FALSE;
      value = latin1_to_utf8 (text->data, text->len);
    }
  else
    {
      const guint8 *language, *translated, *end = rest + rest_length;
      gboolean compressed;

      /* Compression flag and method, language tag, NUL, translated keyword, NUL, text. */
      if (rest_length < 2 || rest[0] > 1 || rest[1] != 0)
        return fail (d, G_IO_ERROR_INVALID_DATA, "iTXt “%s” has a bad compression flag or "
                     "method", key);
      compressed = rest[0] == 1;
      language = rest + 2;
      translated = memchr (language, 0, end - language);
      if (translated == NULL)
        return fail (d, G_IO_ERROR_INVALID_DATA, "iTXt “%s” ends in its language tag", key);
      translated++;
      rest = memchr (translated, 0, end - translated);
      if (rest == NULL)
        return fail (d, G_IO_ERROR_INVALID_DATA, "iTXt “%s” ends in its translated keyword",
                     key);
      rest++;
      rest_length = end - rest;
      if (compressed)
        {
          g_autoptr(GByteArray) text = NULL;

          if (!inflate_text (d, key, rest, rest_length, &text))
            return FALSE;
          value = g_utf8_make_valid ((const char *) text->data, text->len);
        }
      else
        value = g_utf8_make_valid ((const char *) rest, rest_length);
    }

  g_hash_table_insert (d->text, g_steal_pointer (&key), g_steal_pointer (&value));
  return TRUE;
}

/* Undoes the filters in place (d->scanlines) and converts to RGBA8. */
static GBytes *
unfilter (Decoder *d)
{
  gsize stride = (gsize) d->width * d->channels;
  gsize bpp = d->channels;
  guint8 *rgba = g_try_malloc ((gsize) d->width * d->height * 4);

  if (rgba == NULL)
    {
      fail (d, G_IO_ERROR_FAILED, "out of memory for %u×%u pixels", d->width, d->height);
      return NULL;
    }
  for (guint y = 0; y < d->height; y++)
    {
      guint8 *line = d->scanlines + (gsize) y * (stride + 1);
      guint8 *row = line + 1;
      const guint8 *prior = y > 0 ? row - (stride + 1) : NULL;
      guint8 *out = rgba + (gsize) y * d->width * 4;

      switch (line[0])
        {
        case FILTER_NONE:
          break;
        case FILTER_SUB:
          for (gsize i = bpp; i < stride; i++)
            row[i] += row[i - bpp];
          break;
        case FILTER_UP:
          if (prior != NULL)
            for (gsize i = 0; i < stride; i++)
              row[i] += prior[i];
          break;
        case FILTER_AVERAGE:
          for (gsize i = 0; i < stride; i++)
            {
              guint a = i >= bpp ? row[i - bpp] : 0;
              guint b = prior != NULL ? prior[i] : 0;

              row[i] += (guint8) ((a + b) / 2);
            }
          break;
        case FILTER_PAETH:
          for (gsize i = 0; i < stride; i++)
            {
              guint8 a = i >= bpp ? row[i - bpp] : 0;
              guint8 b = prior != NULL ? prior[i] : 0;
              guint8 c = i >= bpp && prior != NULL ? prior[i - bpp] : 0;

              row[i] += paeth (a, b, c);
            }
          break;
        default:
          g_free (rgba);
          fail (d, G_IO_ERROR_INVALID_DATA, "row %u has filter type %u, which does not exist",
                y, line[0]);
          return NULL;
        }

      for (guint x = 0; x < d->width; x++)
        {
          const guint8 *p = row + (gsize) x * bpp;
          guint8 *o = out + (gsize) x * 4;

          switch (d->color_type)
            {
            case COLOR_GREY:
              o[0] = o[1] = o[2] = p[0];
              o[3] = d->has_key && d->key[0] == p[0] ? 0 : 255;
              break;
            case COLOR_GREY_ALPHA:
              o[0] = o[1] = o[2] = p[0];
              o[3] = p[1];
              break;
            case COLOR_RGB:
              memcpy (o, p, 3);
              o[3] = d->has_key && d->key[0] == p[0] && d->key[1] == p[1]
                     && d->key[2] == p[2] ? 0 : 255;
              break;
            case COLOR_PALETTE:
              if (p[0] >= d->n_palette)
                {
                  g_free (rgba);
                  fail (d, G_IO_ERROR_INVALID_DATA, "pixel (%u, %u) has palette index %u of %u "
                        "colours", x, y, p[0], d->n_palette);
                  return NULL;
                }
              memcpy (o, d->palette[p[0]], 4);
              break;
            case COLOR_RGBA:
            default:
              memcpy (o, p, 4);
              break;
            }
        }
    }
  return g_bytes_new_take (rgba, (gsize) d->width * d->height * 4);
}

static gboolean
is_letter (guint8 c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static LoomPng *
decode (const guint8  *data,
        gsize          size,
        const char    *name,
        GError       **error)
{
  Decoder d = { .name = name, .error = error };
  g_autoptr(GHashTable) text = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  LoomPng *png = NULL;
  GBytes *pixels;
  gsize pos = SIGNATURE_BYTES;
  gboolean seen_ihdr = FALSE, seen_iend = FALSE, in_idat = FALSE, idat_ended = FALSE;

  d.text = text;
  if (size < SIGNATURE_BYTES || memcmp (data, signature, SIGNATURE_BYTES) != 0)
    {
      fail (&d, G_IO_ERROR_INVALID_DATA, "not a PNG file (no PNG signature)");
      return NULL;
    }

  while (!seen_iend)
    {
      guint32 length, crc;
      char type[5];
      const guint8 *chunk;

      if (size - pos < CHUNK_OVERHEAD)
        {
          fail (&d, G_IO_ERROR_INVALID_DATA, "the file ends at byte %" G_GSIZE_FORMAT
                " without an IEND chunk", size);
          goto out;
        }
      length = read_u32_be (data + pos);
      memcpy (type, data + pos + 4, 4);
      type[4] = '\0';
      if (!is_letter (type[0]) || !is_letter (type[1]) || !is_letter (type[2])
          || !is_letter (type[3]))
        {
          fail (&d, G_IO_ERROR_INVALID_DATA, "the chunk at byte %" G_GSIZE_FORMAT " has a type "
                "that is not four letters", pos);
          goto out;
        }
      if (length > MAX_CHUNK || length > size - pos - CHUNK_OVERHEAD)
        {
          fail (&d, G_IO_ERROR_INVALID_DATA, "the %s chunk at byte %" G_GSIZE_FORMAT " of %u "
                "bytes runs past the end of the file (%" G_GSIZE_FORMAT " bytes)", type, pos,
                length, size);
          goto out;
        }
      chunk = data + pos + 8;
      crc = read_u32_be (chunk + length);
      if (crc != (guint32) crc32 (0, data + pos + 4, length + 4))
        {
          fail (&d, G_IO_ERROR_INVALID_DATA, "the %s chunk at byte %" G_GSIZE_FORMAT " fails its "
                "CRC check", type, pos);
          goto out;
        }
      pos += CHUNK_OVERHEAD + length;

      if (!seen_ihdr && strcmp (type, "IHDR") != 0)
        {
          fail (&d, G_IO_ERROR_INVALID_DATA, "the first chunk is %s, not IHDR", type);
          goto out;
        }
      if (in_idat && strcmp (type, "IDAT") != 0)
        {
          in_idat = FALSE;
          idat_ended = TRUE;
        }

      if (strcmp (type, "IHDR") == 0)
        {
          if (seen_ihdr)
            {
              fail (&d, G_IO_ERROR_INVALID_DATA, "the file has two IHDR chunks");
              goto out;
            }
          seen_ihdr = TRUE;
          if (!parse_ihdr (&d, chunk, length))
            goto out;
        }
      else if (strcmp (type, "PLTE") == 0)
        {
          if (in_idat || idat_ended)
            {
              fail (&d, G_IO_ERROR_INVALID_DATA, "the palette comes after the image data");
              goto out;
            }
          if (!parse_plte (&d, chunk, length))
            goto out;
        }
      else if (strcmp (type, "tRNS") == 0)
        {
          if (!parse_trns (&d, chunk, length))
            goto out;
        }
      else if (strcmp (type, "IDAT") == 0)
        {
          if (idat_ended)
            {
              fail (&d, G_IO_ERROR_INVALID_DATA, "the IDAT chunks are not consecutive");
              goto out;
            }
          if (d.color_type == COLOR_PALETTE && d.n_palette == 0)
            {
              fail (&d, G_IO_ERROR_INVALID_DATA, "a palette image has no palette before its "
                    "data");
              goto out;
            }
          in_idat = TRUE;
          if (!inflate_idat (&d, chunk, length))
            goto out;
        }
      else if (strcmp (type, "IEND") == 0)
        seen_iend = TRUE;
      else if (strcmp (type, "tEXt") == 0 || strcmp (type, "zTXt") == 0
               || strcmp (type, "iTXt") == 0)
        {
          if (!parse_text (&d, type, chunk, length))
            goto out;
        }
      else if (type[0] >= 'A' && type[0] <= 'Z')
        {
          /* An uppercase first letter marks a chunk needed to show the image. */
          fail (&d, G_IO_ERROR_NOT_SUPPORTED, "the file has a critical chunk %s this reader "
                "does not know", type);
          goto out;
        }
    }

  if (!d.zs_ready)
    {
      fail (&d, G_IO_ERROR_INVALID_DATA, "the file has no image data (IDAT)");
      goto out;
    }
  if (!d.zs_done || d.filled != d.expected)
    {
      fail (&d, G_IO_ERROR_INVALID_DATA, "the image data inflate to %s%" G_GSIZE_FORMAT
            " bytes, not the %" G_GSIZE_FORMAT " a %u×%u image needs",
            d.zs_done ? "" : "an unfinished stream of ", d.filled, d.expected, d.width,
            d.height);
      goto out;
    }
  pixels = unfilter (&d);
  if (pixels == NULL)
    goto out;

  png = g_new0 (LoomPng, 1);
  png->width = d.width;
  png->height = d.height;
  png->pixels = pixels;
  png->text = g_steal_pointer (&text);

out:
  if (d.zs_ready)
    inflateEnd (&d.zs);
  g_free (d.scanlines);
  return png;
}

/**
 * loom_png_decode:
 * @data: a whole PNG file
 *
 * Returns: (transfer full) (nullable): the image as RGBA8 and its text, or %NULL with
 * @error set in G_IO_ERROR: INVALID_DATA for a corrupt file, NOT_SUPPORTED for a valid
 * one this decoder does not read (interlaced, 1, 2, 4 or 16 bits, larger than 16384).
 */
LoomPng *
loom_png_decode (const guint8  *data,
                 gsize          size,
                 GError       **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return decode (data, size, "PNG data", error);
}

LoomPng *
loom_png_read (const char  *path,
               GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *display = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code),
                           local_error->message);
      return NULL;
    }
  display = g_filename_display_name (path);
  return decode ((const guint8 *) contents, length, display, error);
}

void
loom_png_free (LoomPng *png)
{
  if (png == NULL)
    return;
  g_clear_pointer (&png->pixels, g_bytes_unref);
  g_clear_pointer (&png->text, g_hash_table_unref);
  g_free (png);
}
