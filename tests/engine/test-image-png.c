/* test-image-png.c — PNG export with provenance metadata (PROVENANCE.md §3, items 1–3):
 * the chunk order, walked here byte by byte with zlib's CRC; the XMP packet, read back
 * with GMarkup; the "parameters" text with and without prompts; reading PNGs back, also
 * broken ones; and, where it is installed, what exiftool reports of the file. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "loom-test-util.h"
#include "image/loom-image.h"

#define SD15_SHA256   "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa"
#define XMP_KEY       "XML:com.adobe.xmp"
#define TRAINED       "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#define COMPOSITE     "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
#define DMI_ALLOWED   "http://ns.useplus.org/ldf/vocab/DMI-ALLOWED"
#define DMI_NO_AIML   "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"
#define DOCUMENT_ID   "xmp.did:5b0e3f8a-2c1d-4e5f-9a8b-7c6d5e4f3a2b"
#define INSTANCE_ID   "xmp.iid:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
#define WIDTH         13
#define HEIGHT        7

static const LoomImageRecord record = {
  .model_name = (char *) "v1-5-pruned-emaonly",
  .model_kind = (char *) "SD 1.x",
  .model_sha256 = (char *) SD15_SHA256,
  .prompt = (char *) "a lighthouse at dusk, oil painting",
  .negative_prompt = (char *) "blurry, low quality",
  .seed = 123,
  .steps = 20,
  .sampler = (char *) "euler_a",
  .cfg_scale = 7.0f,
  .width = WIDTH,
  .height = HEIGHT,
  .mode = (char *) "txt2img",
  .strength = 1.0f,
  .seconds = 12.5,
};

static GBytes *
random_pixels (guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint8 *rgba = g_malloc (WIDTH * HEIGHT * 4);

  for (guint i = 0; i < WIDTH * HEIGHT * 4; i++)
    rgba[i] = (guint8) g_rand_int (rand);
  return g_bytes_new_take (rgba, WIDTH * HEIGHT * 4);
}

static LoomImage *
new_image (const LoomImageRecord *r)
{
  g_autoptr(GBytes) pixels = random_pixels (11);

  return loom_image_new (pixels, WIDTH, HEIGHT, r);
}

/* Metadata whose every field is fixed, so that the XMP is the same each time. */
static void
fixed_metadata (LoomImageMetadata *metadata,
                GDateTime         *date)
{
  loom_image_metadata_init (metadata);
  metadata->document_id = DOCUMENT_ID;
  metadata->instance_id = INSTANCE_ID;
  metadata->creator_tool = "Candor 0.1.0";
  metadata->create_date = date;
}

static GDateTime *
fixed_date (void)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_offset (5 * 3600 + 30 * 60);

  return g_date_time_new (tz, 2025, 3, 4, 5, 6, 7.0);
}

/* ---- Chunks, read independently of the decoder ---- */

typedef struct
{
  char          type[5];
  const guint8 *data;
  guint32       length;
} Chunk;

static guint32
get_u32_be (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* The chunks of @png, each length within the file and each CRC checked with zlib; the
 * last one is IEND, at the very end. */
static GArray *
walk_chunks (GBytes *png)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GArray *chunks = g_array_new (FALSE, FALSE, sizeof (Chunk));
  gsize size;
  const guint8 *data = g_bytes_get_data (png, &size);
  gsize pos = 8;

  g_assert_cmpuint (size, >=, 8);
  g_assert_cmpmem (data, 8, signature, 8);
  while (pos < size)
    {
      Chunk c;

      g_assert_cmpuint (size - pos, >=, 12);
      c.length = get_u32_be (data + pos);
      g_assert_cmpuint (c.length, <=, size - pos - 12);
      memcpy (c.type, data + pos + 4, 4);
      c.type[4] = '\0';
      c.data = data + pos + 8;
      g_assert_cmpuint (crc32 (0, data + pos + 4, c.length + 4), ==,
                        get_u32_be (data + pos + 8 + c.length));
      g_array_append_val (chunks, c);
      pos += 12 + c.length;
    }
  g_assert_cmpuint (pos, ==, size);
  g_assert_cmpuint (chunks->len, >=, 3);
  g_assert_cmpstr (g_array_index (chunks, Chunk, chunks->len - 1).type, ==, "IEND");
  return chunks;
}

/* "IHDR iTXt tEXt IDAT IEND", runs of IDAT written once. */
static char *
chunk_order (GArray *chunks)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < chunks->len; i++)
    {
      const char *type = g_array_index (chunks, Chunk, i).type;

      if (i > 0 && strcmp (type, "IDAT") == 0
          && strcmp (g_array_index (chunks, Chunk, i - 1).type, "IDAT") == 0)
        continue;
      g_string_append_printf (s, "%s%s", s->len > 0 ? " " : "", type);
    }
  return g_string_free (s, FALSE);
}

/* A tEXt chunk's keyword and Latin-1 text, as UTF-8. */
static void
read_text_chunk (const Chunk  *c,
                 char        **key,
                 char        **value)
{
  const guint8 *nul = memchr (c->data, 0, c->length);

  g_assert_cmpstr (c->type, ==, "tEXt");
  g_assert_nonnull (nul);
  *key = g_strndup ((const char *) c->data, nul - c->data);
  *value = g_convert ((const char *) nul + 1, c->length - (nul + 1 - c->data), "UTF-8",
                      "ISO-8859-1", NULL, NULL, NULL);
  g_assert_nonnull (*value);
}

/* An iTXt chunk that must be uncompressed with an empty language tag and translated
 * keyword (XMP part 3 asks that of the XMP): its keyword and UTF-8 text. */
static void
read_itxt_chunk (const Chunk  *c,
                 char        **key,
                 char        **value)
{
  const guint8 *nul = memchr (c->data, 0, c->length);
  gsize rest;

  g_assert_cmpstr (c->type, ==, "iTXt");
  g_assert_nonnull (nul);
  *key = g_strndup ((const char *) c->data, nul - c->data);
  rest = c->length - (nul + 1 - c->data);
  g_assert_cmpuint (rest, >=, 4);
  g_assert_cmpuint (nul[1], ==, 0);   /* compression flag: not compressed */
  g_assert_cmpuint (nul[2], ==, 0);   /* compression method */
  g_assert_cmpuint (nul[3], ==, 0);   /* empty language tag */
  g_assert_cmpuint (nul[4], ==, 0);   /* empty translated keyword */
  *value = g_strndup ((const char *) nul + 5, rest - 4);
  g_assert_cmpuint (strlen (*value), ==, rest - 4);
  g_assert_true (g_utf8_validate (*value, -1, NULL));
}

/* ---- The XMP, read with GMarkup ---- */

typedef struct
{
  GPtrArray  *stack;        /* element names, outermost first */
  GHashTable *properties;   /* rdf:Description's child → its text */
  GHashTable *namespaces;   /* prefix → URI, from every xmlns:… attribute */
  GPtrArray  *instructions; /* the processing instructions, whole */
  GString    *text;
} Xmp;

static void
xmp_free (Xmp *x)
{
  g_ptr_array_unref (x->stack);
  g_hash_table_unref (x->properties);
  g_hash_table_unref (x->namespaces);
  g_ptr_array_unref (x->instructions);
  g_string_free (x->text, TRUE);
  g_free (x);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Xmp, xmp_free)

static void
xmp_start (GMarkupParseContext  *context,
           const char           *name,
           const char          **attribute_names,
           const char          **attribute_values,
           gpointer              user_data,
           GError              **error)
{
  /* The path an XMP packet of simple properties has. */
  static const char *path[] = { "x:xmpmeta", "rdf:RDF", "rdf:Description" };
  Xmp *x = user_data;
  guint depth = x->stack->len;

  if (depth < G_N_ELEMENTS (path))
    g_assert_cmpstr (name, ==, path[depth]);
  else
    g_assert_cmpuint (depth, ==, G_N_ELEMENTS (path));  /* no nested structures */
  if (depth == 2)
    {
      gboolean about = FALSE;

      for (guint i = 0; attribute_names[i] != NULL; i++)
        about |= strcmp (attribute_names[i], "rdf:about") == 0 && attribute_values[i][0] == '\0';
      g_assert_true (about);
    }
  for (guint i = 0; attribute_names[i] != NULL; i++)
    if (g_str_has_prefix (attribute_names[i], "xmlns:"))
      g_hash_table_insert (x->namespaces, g_strdup (attribute_names[i] + 6),
                           g_strdup (attribute_values[i]));
  g_ptr_array_add (x->stack, g_strdup (name));
  g_string_truncate (x->text, 0);
}

static void
xmp_end (GMarkupParseContext  *context,
         const char           *name,
         gpointer              user_data,
         GError              **error)
{
  Xmp *x = user_data;

  if (x->stack->len == 4)
    {
      g_assert_false (g_hash_table_contains (x->properties, name));
      g_hash_table_insert (x->properties, g_strdup (name), g_strdup (x->text->str));
    }
  g_ptr_array_set_size (x->stack, x->stack->len - 1);
}

static void
xmp_text (GMarkupParseContext  *context,
          const char           *text,
          gsize                 length,
          gpointer              user_data,
          GError              **error)
{
  Xmp *x = user_data;

  if (x->stack->len == 4)
    g_string_append_len (x->text, text, length);
}

static void
xmp_passthrough (GMarkupParseContext  *context,
                 const char           *text,
                 gsize                 length,
                 gpointer              user_data,
                 GError              **error)
{
  Xmp *x = user_data;

  if (length >= 2 && text[0] == '<' && text[1] == '?')
    g_ptr_array_add (x->instructions, g_strndup (text, length));
}

static Xmp *
parse_xmp (const char *packet)
{
  static const GMarkupParser parser = { xmp_start, xmp_end, xmp_text, xmp_passthrough, NULL };
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Xmp *x = g_new0 (Xmp, 1);

  x->stack = g_ptr_array_new_with_free_func (g_free);
  x->properties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  x->namespaces = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  x->instructions = g_ptr_array_new_with_free_func (g_free);
  x->text = g_string_new (NULL);
  context = g_markup_parse_context_new (&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, x, NULL);
  g_markup_parse_context_parse (context, packet, -1, &error);
  g_assert_no_error (error);
  g_markup_parse_context_end_parse (context, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (x->stack->len, ==, 0);
  return x;
}

/* The prompt information, as the record says it independently of the encoder. */
static char *
expected_prompts (const LoomImageRecord *r)
{
  return g_strdup_printf ("%s\nNegative prompt: %s", r->prompt, r->negative_prompt);
}

/* What the packet around the properties must be: the wrapper, the namespaces. */
static void
assert_packet (Xmp *x)
{
  static const char *namespaces[][2] = {
    { "x", "adobe:ns:meta/" },
    { "rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#" },
    { "dc", "http://purl.org/dc/elements/1.1/" },
    { "xmp", "http://ns.adobe.com/xap/1.0/" },
    { "xmpMM", "http://ns.adobe.com/xap/1.0/mm/" },
    { "Iptc4xmpExt", "http://iptc.org/std/Iptc4xmpExt/2008-02-29/" },
    { "plus", "http://ns.useplus.org/ldf/xmp/1.0/" },
  };

  g_assert_cmpuint (x->instructions->len, ==, 2);
  g_assert_cmpstr (x->instructions->pdata[0], ==,
                   "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>");
  g_assert_cmpstr (x->instructions->pdata[1], ==, "<?xpacket end=\"w\"?>");
  for (guint i = 0; i < G_N_ELEMENTS (namespaces); i++)
    g_assert_cmpstr (g_hash_table_lookup (x->namespaces, namespaces[i][0]), ==,
                     namespaces[i][1]);
}

#define assert_property(x, name, value) \
  g_assert_cmpstr (g_hash_table_lookup ((x)->properties, (name)), ==, (value))

/* Every property, with the metadata fixed, and how each switch changes them. */
static void
test_xmp_properties (void)
{
  g_autoptr(GDateTime) date = fixed_date ();
  g_autofree char *prompts = expected_prompts (&record);
  LoomImageMetadata metadata;

  fixed_metadata (&metadata, date);
  {
    g_autofree char *packet = loom_image_metadata_to_xmp (&metadata, &record);
    g_autoptr(Xmp) x = parse_xmp (packet);

    assert_packet (x);
    assert_property (x, "dc:format", "image/png");
    assert_property (x, "xmp:CreatorTool", "Candor 0.1.0");
    assert_property (x, "xmp:CreateDate", "2025-03-04T05:06:07+05:30");
    assert_property (x, "xmpMM:DocumentID", DOCUMENT_ID);
    assert_property (x, "xmpMM:InstanceID", INSTANCE_ID);
    assert_property (x, "Iptc4xmpExt:DigitalSourceType", TRAINED);
    assert_property (x, "Iptc4xmpExt:AISystemUsed",
                     "Loom (Stable Diffusion: v1-5-pruned-emaonly, SD 1.x)");
    assert_property (x, "Iptc4xmpExt:AISystemVersionUsed", "6ce0161689");
    assert_property (x, "Iptc4xmpExt:AIPromptInformation", prompts);
    assert_property (x, "plus:DataMining", DMI_NO_AIML);
    g_assert_cmpuint (g_hash_table_size (x->properties), ==, 10);
  }

  /* Human-made pixels mixed in; training allowed; prompts kept private. */
  metadata.source_type = COMPOSITE;
  metadata.training_allowed = TRUE;
  metadata.include_prompts = FALSE;
  {
    g_autofree char *packet = loom_image_metadata_to_xmp (&metadata, &record);
    g_autoptr(Xmp) x = parse_xmp (packet);

    assert_packet (x);
    assert_property (x, "Iptc4xmpExt:DigitalSourceType", COMPOSITE);
    assert_property (x, "plus:DataMining", DMI_ALLOWED);
    g_assert_false (g_hash_table_contains (x->properties, "Iptc4xmpExt:AIPromptInformation"));
    g_assert_null (strstr (packet, "lighthouse"));
    g_assert_null (strstr (packet, "blurry"));
    g_assert_cmpuint (g_hash_table_size (x->properties), ==, 9);
  }

  /* A model without a hash gives its kind as the version. */
  {
    LoomImageRecord no_hash = record;
    g_autofree char *packet = NULL;
    g_autoptr(Xmp) x = NULL;

    no_hash.model_sha256 = NULL;
    packet = loom_image_metadata_to_xmp (&metadata, &no_hash);
    x = parse_xmp (packet);
    assert_property (x, "Iptc4xmpExt:AISystemVersionUsed", "SD 1.x");
  }
}

/* The defaults: "Loom", random IDs that differ from call to call, now as the date. */
static void
test_xmp_defaults (void)
{
  g_autofree char *prompts = expected_prompts (&record);
  LoomImageMetadata metadata;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(Xmp) a = NULL;
  g_autoptr(Xmp) b = NULL;
  const char *ids[][2] = {
    { "xmpMM:DocumentID", "xmp.did:" },
    { "xmpMM:InstanceID", "xmp.iid:" },
  };
  const char *date;
  g_autoptr(GDateTime) parsed = NULL;
  g_autoptr(GRegex) iso8601 = NULL;

  loom_image_metadata_init (&metadata);
  g_assert_null (metadata.document_id);
  g_assert_null (metadata.instance_id);
  g_assert_null (metadata.creator_tool);
  g_assert_null (metadata.source_type);
  g_assert_null (metadata.create_date);
  g_assert_false (metadata.training_allowed);
  g_assert_true (metadata.include_prompts);

  first = loom_image_metadata_to_xmp (&metadata, &record);
  second = loom_image_metadata_to_xmp (&metadata, &record);
  a = parse_xmp (first);
  b = parse_xmp (second);
  assert_packet (a);
  assert_property (a, "xmp:CreatorTool", "Loom");
  assert_property (a, "Iptc4xmpExt:DigitalSourceType", TRAINED);
  assert_property (a, "plus:DataMining", DMI_NO_AIML);
  assert_property (a, "Iptc4xmpExt:AIPromptInformation", prompts);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const char *id_a = g_hash_table_lookup (a->properties, ids[i][0]);
      const char *id_b = g_hash_table_lookup (b->properties, ids[i][0]);

      g_assert_nonnull (id_a);
      g_assert_true (g_str_has_prefix (id_a, ids[i][1]));
      g_assert_true (g_uuid_string_is_valid (id_a + strlen (ids[i][1])));
      g_assert_cmpstr (id_a, !=, id_b);
    }
  g_assert_cmpstr (g_hash_table_lookup (a->properties, "xmpMM:DocumentID"), !=,
                   g_hash_table_lookup (a->properties, "xmpMM:InstanceID"));

  /* To the second, with the offset from UTC spelt out. */
  date = g_hash_table_lookup (a->properties, "xmp:CreateDate");
  iso8601 = g_regex_new ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d\\d:\\d\\d$", 0, 0,
                         NULL);
  g_assert_true (g_regex_match (iso8601, date, 0, NULL));
  parsed = g_date_time_new_from_iso8601 (date, NULL);
  g_assert_nonnull (parsed);
}

/* What a prompt holds reaches a reader as it was, XML's special characters included;
 * the control characters XML cannot carry are dropped. */
static void
test_xmp_escaping (void)
{
  LoomImageRecord hostile = record;
  LoomImageMetadata metadata;
  g_autofree char *packet = NULL;
  g_autoptr(Xmp) x = NULL;
  g_autoptr(GDateTime) date = fixed_date ();

  hostile.prompt = (char *) "a <b>&amp;</b> \"fox\" & 'hen'\x01\x7f\tat\rnight ]]> 東京";
  hostile.negative_prompt = (char *) "</Iptc4xmpExt:AIPromptInformation><x>\x1b";
  hostile.model_name = (char *) "m&m's <model>";
  fixed_metadata (&metadata, date);
  metadata.creator_tool = "Candor \"0.1\" <dev> & co";
  packet = loom_image_metadata_to_xmp (&metadata, &hostile);
  x = parse_xmp (packet);

  assert_packet (x);
  assert_property (x, "Iptc4xmpExt:AIPromptInformation",
                   "a <b>&amp;</b> \"fox\" & 'hen'\tat\rnight ]]> 東京\n"
                   "Negative prompt: </Iptc4xmpExt:AIPromptInformation><x>");
  assert_property (x, "xmp:CreatorTool", "Candor \"0.1\" <dev> & co");
  assert_property (x, "Iptc4xmpExt:AISystemUsed",
                   "Loom (Stable Diffusion: m&m's <model>, SD 1.x)");
  g_assert_cmpuint (g_hash_table_size (x->properties), ==, 10);
  g_assert_null (strchr (packet, '\x01'));
  g_assert_null (strchr (packet, '\x1b'));
  g_assert_null (strchr (packet, '\x7f'));
}

/* IHDR, the XMP, "parameters", the image data, IEND: in the bytes themselves. */
static void
test_chunk_order (void)
{
  g_autoptr(LoomImage) image = new_image (&record);
  g_autoptr(GDateTime) date = fixed_date ();
  g_autoptr(GError) error = NULL;
  g_autofree char *parameters = loom_image_record_to_parameters (&record);
  LoomImageMetadata metadata;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GArray) chunks = NULL;
  g_autofree char *order = NULL;
  g_autofree char *key = NULL;
  g_autofree char *value = NULL;
  g_autofree char *packet = NULL;
  const Chunk *ihdr;

  fixed_metadata (&metadata, date);
  packet = loom_image_metadata_to_xmp (&metadata, &record);
  png = loom_image_encode_png (image, &metadata, &error);
  g_assert_no_error (error);
  g_assert_nonnull (png);
  chunks = walk_chunks (png);
  order = chunk_order (chunks);
  g_assert_cmpstr (order, ==, "IHDR iTXt tEXt IDAT IEND");

  ihdr = &g_array_index (chunks, Chunk, 0);
  g_assert_cmpuint (ihdr->length, ==, 13);
  g_assert_cmpuint (get_u32_be (ihdr->data), ==, WIDTH);
  g_assert_cmpuint (get_u32_be (ihdr->data + 4), ==, HEIGHT);
  g_assert_cmpuint (ihdr->data[8], ==, 8);   /* bits */
  g_assert_cmpuint (ihdr->data[9], ==, 6);   /* RGBA */

  read_itxt_chunk (&g_array_index (chunks, Chunk, 1), &key, &value);
  g_assert_cmpstr (key, ==, XMP_KEY);
  g_assert_cmpstr (value, ==, packet);
  g_clear_pointer (&key, g_free);
  g_clear_pointer (&value, g_free);
  read_text_chunk (&g_array_index (chunks, Chunk, 2), &key, &value);
  g_assert_cmpstr (key, ==, "parameters");
  g_assert_cmpstr (value, ==, parameters);

  /* A prompt beyond Latin-1 moves "parameters" to iTXt, still after the XMP. */
  {
    LoomImageRecord tokyo = record;
    g_autoptr(LoomImage) image2 = NULL;
    g_autoptr(GBytes) png2 = NULL;
    g_autoptr(GArray) chunks2 = NULL;
    g_autofree char *order2 = NULL;
    g_autofree char *key2 = NULL;
    g_autofree char *value2 = NULL;
    g_autofree char *parameters2 = NULL;

    tokyo.prompt = (char *) "東京の夜, neon";
    image2 = new_image (&tokyo);
    parameters2 = loom_image_record_to_parameters (&tokyo);
    png2 = loom_image_encode_png (image2, &metadata, &error);
    g_assert_no_error (error);
    chunks2 = walk_chunks (png2);
    order2 = chunk_order (chunks2);
    g_assert_cmpstr (order2, ==, "IHDR iTXt iTXt IDAT IEND");
    read_itxt_chunk (&g_array_index (chunks2, Chunk, 2), &key2, &value2);
    g_assert_cmpstr (key2, ==, "parameters");
    g_assert_cmpstr (value2, ==, parameters2);
  }

  /* No metadata: no XMP, the rest as before. */
  {
    g_autoptr(GBytes) bare = loom_image_encode_png (image, NULL, &error);
    g_autoptr(GArray) bare_chunks = NULL;
    g_autofree char *bare_order = NULL;
    g_autofree char *bare_key = NULL;
    g_autofree char *bare_value = NULL;

    g_assert_no_error (error);
    bare_chunks = walk_chunks (bare);
    bare_order = chunk_order (bare_chunks);
    g_assert_cmpstr (bare_order, ==, "IHDR tEXt IDAT IEND");
    read_text_chunk (&g_array_index (bare_chunks, Chunk, 1), &bare_key, &bare_value);
    g_assert_cmpstr (bare_value, ==, parameters);
  }
}

/* Prompts kept private leave no trace in the file: "parameters" starts at "Steps:". */
static void
test_without_prompts (void)
{
  g_autoptr(LoomImage) image = new_image (&record);
  g_autoptr(GDateTime) date = fixed_date ();
  g_autoptr(GError) error = NULL;
  g_autofree char *with = loom_image_record_to_parameters (&record);
  g_autofree char *prompt_lines = NULL;
  LoomImageMetadata metadata;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GArray) chunks = NULL;
  g_autofree char *key = NULL;
  g_autofree char *value = NULL;
  g_autofree char *xmp_key = NULL;
  g_autofree char *xmp = NULL;
  g_autoptr(Xmp) x = NULL;
  gsize size;
  const guint8 *data;

  fixed_metadata (&metadata, date);
  metadata.include_prompts = FALSE;
  png = loom_image_encode_png (image, &metadata, &error);
  g_assert_no_error (error);
  chunks = walk_chunks (png);

  read_text_chunk (&g_array_index (chunks, Chunk, 2), &key, &value);
  g_assert_cmpstr (key, ==, "parameters");
  g_assert_true (g_str_has_prefix (value, "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123"));
  /* The same line the full text ends with, after exactly the prompt lines. */
  prompt_lines = g_strdup_printf ("%s\nNegative prompt: %s\n", record.prompt,
                                  record.negative_prompt);
  g_assert_true (g_str_has_prefix (with, prompt_lines));
  g_assert_cmpstr (with + strlen (prompt_lines), ==, value);

  read_itxt_chunk (&g_array_index (chunks, Chunk, 1), &xmp_key, &xmp);
  x = parse_xmp (xmp);
  g_assert_false (g_hash_table_contains (x->properties, "Iptc4xmpExt:AIPromptInformation"));

  data = g_bytes_get_data (png, &size);
  g_assert_null (g_strstr_len ((const char *) data, size, "lighthouse"));
  g_assert_null (g_strstr_len ((const char *) data, size, "blurry"));
  g_assert_null (g_strstr_len ((const char *) data, size, "Negative prompt"));
}

/* Written, then read back: the same pixels, byte for byte, and the text. */
static void
test_decode_round_trip (void)
{
  g_autoptr(LoomImage) image = new_image (&record);
  g_autoptr(GDateTime) date = fixed_date ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-image-png-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "image.png", NULL);
  g_autofree char *parameters = loom_image_record_to_parameters (&record);
  g_autofree char *packet = NULL;
  g_autofree char *contents = NULL;
  LoomImageMetadata metadata;
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GBytes) file = NULL;
  g_autoptr(GBytes) pixels = NULL;
  g_autoptr(GHashTable) text = NULL;
  guint width = 0, height = 0;
  gsize length;

  g_assert_no_error (error);
  fixed_metadata (&metadata, date);
  packet = loom_image_metadata_to_xmp (&metadata, &record);
  encoded = loom_image_encode_png (image, &metadata, &error);
  g_assert_no_error (error);
  g_assert_true (loom_image_write_png (image, &metadata, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  file = g_bytes_new_take (g_steal_pointer (&contents), length);
  /* The file is what the encoder makes. */
  g_assert_true (g_bytes_equal (file, encoded));

  pixels = loom_image_decode_png (file, &width, &height, &text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (width, ==, WIDTH);
  g_assert_cmpuint (height, ==, HEIGHT);
  g_assert_true (g_bytes_equal (pixels, loom_image_get_pixels (image)));
  g_assert_cmpuint (g_hash_table_size (text), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (text, "parameters"), ==, parameters);
  g_assert_cmpstr (g_hash_table_lookup (text, XMP_KEY), ==, packet);

  /* The outputs are optional. */
  {
    g_autoptr(GBytes) again = loom_image_decode_png (file, NULL, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (again, pixels));
  }

  /* loom_image_save_png(): the "parameters" chunk, no XMP. */
  g_assert_true (loom_image_save_png (image, path, &error));
  g_assert_no_error (error);
  g_clear_pointer (&file, g_bytes_unref);
  g_clear_pointer (&pixels, g_bytes_unref);
  g_clear_pointer (&text, g_hash_table_unref);
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  file = g_bytes_new_take (g_steal_pointer (&contents), length);
  pixels = loom_image_decode_png (file, NULL, NULL, &text, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (pixels, loom_image_get_pixels (image)));
  g_assert_cmpuint (g_hash_table_size (text), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (text, "parameters"), ==, parameters);

  /* A directory that is not there. */
  {
    g_autofree char *nowhere = g_build_filename (dir, "missing", "image.png", NULL);

    g_assert_false (loom_image_write_png (image, &metadata, nowhere, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
expect_invalid (const guint8 *data,
                gsize         size,
                const char   *what)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) text = NULL;
  g_autoptr(GBytes) pixels = loom_image_decode_png (bytes, NULL, NULL, &text, &error);

  if (pixels != NULL)
    g_error ("%s: read without an error", what);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_null (text);
}

/* Broken files give errors: every truncation, a wrong CRC in every chunk, and bytes
 * changed anywhere (an error or a whole image, never a crash). */
static void
test_decode_hostile (void)
{
  g_autoptr(LoomImage) image = new_image (&record);
  g_autoptr(GError) error = NULL;
  LoomImageMetadata metadata;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GArray) chunks = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autofree guint8 *copy = NULL;
  const guint8 *data;
  gsize size;

  loom_image_metadata_init (&metadata);
  png = loom_image_encode_png (image, &metadata, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (png, &size);
  chunks = walk_chunks (png);

  for (gsize length = 0; length < size; length++)
    {
      /* A copy of just that length, so that reading past it is a memory error. */
      g_autofree guint8 *part = g_memdup2 (data, length);

      expect_invalid (part, length, "a truncated file");
    }

  copy = g_memdup2 (data, size);
  for (guint i = 0; i < chunks->len; i++)
    {
      const Chunk *c = &g_array_index (chunks, Chunk, i);
      gsize crc_at = (gsize) (c->data - data) + c->length;
      g_autofree char *what = g_strdup_printf ("a bad CRC in %s", c->type);

      copy[crc_at] ^= 0x01;
      expect_invalid (copy, size, what);
      copy[crc_at] ^= 0x01;
      if (c->length > 0)
        {
          gsize at = (gsize) (c->data - data) + c->length / 2;

          copy[at] ^= 0x80;
          expect_invalid (copy, size, what);
          copy[at] ^= 0x80;
        }
    }
  g_assert_cmpmem (copy, size, data, size);

  for (guint round = 0; round < 2000; round++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GBytes) pixels = NULL;
      g_autoptr(GHashTable) text = NULL;
      g_autoptr(GError) round_error = NULL;
      guint width = 0, height = 0;
      gsize at = g_rand_int_range (rand, 0, (gint32) size);

      copy[at] = (guint8) g_rand_int (rand);
      bytes = g_bytes_new (copy, size);
      pixels = loom_image_decode_png (bytes, &width, &height, &text, &round_error);
      if (pixels != NULL)
        {
          g_assert_no_error (round_error);
          g_assert_cmpuint (g_bytes_get_size (pixels), ==, (gsize) width * height * 4);
          g_assert_nonnull (text);
        }
      else
        g_assert_nonnull (round_error);
      copy[at] = data[at];
    }
}

/* What an independent reader, exiftool, makes of the file. */
static void
test_exiftool (void)
{
  g_autofree char *exiftool = g_find_program_in_path ("exiftool");
  g_autoptr(LoomImage) image = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *parameters = loom_image_record_to_parameters (&record);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  LoomImageMetadata metadata;
  JsonNode *root;
  JsonObject *tags;
  int status;

  if (exiftool == NULL)
    {
      g_test_skip ("exiftool is not installed (Debian: libimage-exiftool-perl)");
      return;
    }

  image = new_image (&record);
  dir = g_dir_make_tmp ("test-image-png-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "image.png", NULL);
  loom_image_metadata_init (&metadata);
  metadata.creator_tool = "Candor 0.1.0";
  g_assert_true (loom_image_write_png (image, &metadata, path, &error));
  g_assert_no_error (error);

  {
    /* -n: values as stored, not as exiftool would describe them. */
    const char *argv[] = { exiftool, "-j", "-n", "-XMP:all", "-PNG:all", path, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
    g_assert_no_error (error);
  }
  g_test_message ("exiftool: %s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);

  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 1);
  tags = json_array_get_object_element (json_node_get_array (root), 0);
  g_assert_cmpstr (json_object_get_string_member_with_default (tags, "DigitalSourceType", NULL),
                   ==, TRAINED);
  g_assert_cmpstr (json_object_get_string_member_with_default (tags, "CreatorTool", NULL),
                   ==, "Candor 0.1.0");
  g_assert_cmpstr (json_object_get_string_member_with_default (tags, "DataMining", NULL),
                   ==, DMI_NO_AIML);
  g_assert_cmpstr (json_object_get_string_member_with_default (tags, "Parameters", NULL),
                   ==, parameters);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/image-png/xmp/properties", test_xmp_properties);
  g_test_add_func ("/engine/image-png/xmp/defaults", test_xmp_defaults);
  g_test_add_func ("/engine/image-png/xmp/escaping", test_xmp_escaping);
  g_test_add_func ("/engine/image-png/chunk-order", test_chunk_order);
  g_test_add_func ("/engine/image-png/without-prompts", test_without_prompts);
  g_test_add_func ("/engine/image-png/decode/round-trip", test_decode_round_trip);
  g_test_add_func ("/engine/image-png/decode/hostile", test_decode_hostile);
  g_test_add_func ("/engine/image-png/exiftool", test_exiftool);

  return loom_test_run ();
}
