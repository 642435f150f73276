/* loom-png.h — PNG files: RGBA8 images with text chunks, written and read.
 *
 * Written: 8-bit RGBA, non-interlaced, zlib-compressed, with tEXt chunks (Latin-1 keys
 * such as "parameters", the AUTOMATIC1111 convention) or iTXt for UTF-8 values.
 * Read: 8-bit greyscale, grey+alpha, RGB and RGBA (and palette), non-interlaced, as RGBA8,
 * with the text chunks; every length and CRC is checked (the file is untrusted input).
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  guint       width;
  guint       height;
  GBytes     *pixels;   /* width × height × 4 bytes, rows top to bottom */
  GHashTable *text;     /* key → value (UTF-8), from tEXt, zTXt and iTXt */
} LoomPng;

/* A text chunk to write: tEXt when the value is Latin-1 (as A1111 readers expect of
 * "parameters"), else iTXt; @international forces iTXt, which XMP must use. */
typedef struct
{
  const char *key;            /* UTF-8, 1–79 Latin-1 characters */
  const char *value;          /* UTF-8 */
  gboolean    international;
} LoomPngText;

/* Text chunks come right after IHDR, in the order given. */
GBytes  *loom_png_encode_text (const guint8       *rgba,
                               guint               width,
                               guint               height,
                               const LoomPngText  *text,
                               guint               n_text,
                               GError            **error);
/* @keys/@values: n_text UTF-8 pairs, each written as loom_png_encode_text() writes a
 * LoomPngText that is not @international. */
GBytes  *loom_png_encode      (const guint8       *rgba,
                               guint               width,
                               guint               height,
                               const char * const *keys,
                               const char * const *values,
                               guint               n_text,
                               GError            **error);
gboolean loom_png_write       (const char         *path,
                               const guint8       *rgba,
                               guint               width,
                               guint               height,
                               const char * const *keys,
                               const char * const *values,
                               guint               n_text,
                               GError            **error);
/* Writes a whole file (what loom_png_encode*() made) so that @path is either the old
 * file or the new one. */
gboolean loom_png_save        (const char         *path,
                               GBytes             *png,
                               GError            **error);
LoomPng *loom_png_decode      (const guint8       *data,
                               gsize               size,
                               GError            **error);
LoomPng *loom_png_read        (const char         *path,
                               GError            **error);
void     loom_png_free        (LoomPng            *png);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomPng, loom_png_free)

G_END_DECLS
