/* loom-image.c — a generated image and its generation record.
 *
 * The record is written four ways: as AUTOMATIC1111's "parameters" text, which image
 * tools and sites read from a PNG's text chunk; as XMP (IPTC and PLUS properties), which
 * photo tools, agencies and platforms read; as JSON, for Candor's own files; and into a
 * PNG with the pixels (PROVENANCE.md §3).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "formats/loom-png.h"
#include "image/loom-image.h"

#define SHA256_HEX     64
#define HASH_DIGITS    10        /* AUTOMATIC1111's "Model hash": the SHA-256's first 10 */
#define MAX_SIDE       16384
#define MAX_STEPS      10000

struct _LoomImage
{
  GObject          parent_instance;

  GBytes          *pixels;   /* RGBA8, width × height × 4 bytes, rows top to bottom */
  guint            width;
  guint            height;
  LoomImageRecord  record;   /* owns its strings */
};

G_DEFINE_FINAL_TYPE (LoomImage, loom_image, G_TYPE_OBJECT)

static void
loom_image_finalize (GObject *object)
{
  LoomImage *self = LOOM_IMAGE (object);

  g_clear_pointer (&self->pixels, g_bytes_unref);
  loom_image_record_clear (&self->record);

  G_OBJECT_CLASS (loom_image_parent_class)->finalize (object);
}

static void
loom_image_class_init (LoomImageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = loom_image_finalize;
}

static void
loom_image_init (LoomImage *self)
{
}

/* Fills @dest with copies of @src's strings. */
static void
record_copy (LoomImageRecord       *dest,
             const LoomImageRecord *src)
{
  *dest = *src;
  dest->model_name = g_strdup (src->model_name);
  dest->model_kind = g_strdup (src->model_kind);
  dest->model_sha256 = g_strdup (src->model_sha256);
  dest->prompt = g_strdup (src->prompt != NULL ? src->prompt : "");
  dest->negative_prompt = g_strdup (src->negative_prompt != NULL ? src->negative_prompt : "");
  dest->sampler = g_strdup (src->sampler);
  dest->mode = g_strdup (src->mode);
  dest->init_sha256 = g_strdup (src->init_sha256);
  dest->mask_sha256 = g_strdup (src->mask_sha256);
}

/**
 * loom_image_new:
 * @pixels: RGBA8, @width × @height × 4 bytes
 * @record: how the image was made; its strings are copied
 *
 * Returns: (transfer full): an immutable image.
 */
LoomImage *
loom_image_new (GBytes                *pixels,
                guint                  width,
                guint                  height,
                const LoomImageRecord *record)
{
  LoomImage *self;

  g_return_val_if_fail (pixels != NULL, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (g_bytes_get_size (pixels) == (gsize) width * height * 4, NULL);
  g_return_val_if_fail (record != NULL, NULL);

  self = g_object_new (LOOM_TYPE_IMAGE, NULL);
  self->pixels = g_bytes_ref (pixels);
  self->width = width;
  self->height = height;
  record_copy (&self->record, record);
  return self;
}

/* Returns: (transfer none): the RGBA8 pixels. */
GBytes *
loom_image_get_pixels (LoomImage *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE (self), NULL);

  return self->pixels;
}

guint
loom_image_get_width (LoomImage *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE (self), 0);

  return self->width;
}

guint
loom_image_get_height (LoomImage *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE (self), 0);

  return self->height;
}

/* Returns: (transfer none): the record, which lives as long as @self. */
const LoomImageRecord *
loom_image_get_record (LoomImage *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE (self), NULL);

  return &self->record;
}

/* AUTOMATIC1111's "parameters" text. */

static const struct
{
  const char *name;
  const char *display;   /* as AUTOMATIC1111 names the sampler */
} sampler_names[] = {
  { "euler", "Euler" },
  { "euler_a", "Euler a" },
  { "dpmpp_2m_karras", "DPM++ 2M Karras" },
  { "turbo", "SD Turbo" },
};

static const char *
sampler_display_name (const char *sampler)
{
  for (guint i = 0; i < G_N_ELEMENTS (sampler_names); i++)
    if (g_strcmp0 (sampler_names[i].name, sampler) == 0)
      return sampler_names[i].display;
  return sampler;
}

/* The shortest form of @value, as Python prints it for a number a person typed (7, 7.5,
 * 0.75), whatever the locale. */
static void
append_number (GString *s,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (s, g_ascii_formatd (buffer, sizeof buffer, "%g", value));
}

static gboolean
mode_has_init (const char *mode)
{
  return g_strcmp0 (mode, "img2img") == 0 || g_strcmp0 (mode, "inpaint") == 0;
}

/* The prompt, then "Negative prompt: …" on a line of its own when there is one: the
 * first lines of the "parameters" text, and the XMP's prompt information. */
static GString *
prompts_text (const LoomImageRecord *record)
{
  /* AUTOMATIC1111 strips the text, so an empty prompt leaves no empty first line. */
  GString *s = g_string_new (record->prompt != NULL ? record->prompt : "");

  if (record->negative_prompt != NULL && record->negative_prompt[0] != '\0')
    g_string_append_printf (s, "%sNegative prompt: %s", s->len > 0 ? "\n" : "",
                            record->negative_prompt);
  return s;
}

/* The "parameters" text, without the prompt lines unless @include_prompts: a file whose
 * author keeps the prompts private still says how it was made. */
static char *
parameters_text (const LoomImageRecord *record,
                 gboolean               include_prompts)
{
  GString *s = include_prompts ? prompts_text (record) : g_string_new (NULL);

  if (s->len > 0)
    g_string_append_c (s, '\n');

  g_string_append_printf (s, "Steps: %u", record->steps);
  if (record->sampler != NULL)
    g_string_append_printf (s, ", Sampler: %s", sampler_display_name (record->sampler));
  g_string_append (s, ", CFG scale: ");
  append_number (s, record->cfg_scale);
  g_string_append_printf (s, ", Seed: %" G_GUINT64_FORMAT ", Size: %ux%u", record->seed,
                          record->width, record->height);
  if (record->model_sha256 != NULL && strlen (record->model_sha256) >= HASH_DIGITS)
    g_string_append_printf (s, ", Model hash: %.*s", HASH_DIGITS, record->model_sha256);
  if (record->model_name != NULL)
    g_string_append_printf (s, ", Model: %s", record->model_name);
  if (mode_has_init (record->mode))
    {
      g_string_append (s, ", Denoising strength: ");
      append_number (s, record->strength);
    }
  return g_string_free (s, FALSE);
}

/**
 * loom_image_record_to_parameters:
 *
 * Returns: (transfer full): the text AUTOMATIC1111 writes into a PNG's "parameters"
 * chunk: the prompt; "Negative prompt: …" on its own line when there is one; then one
 * line "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash:
 * (the SHA-256's first 10 digits), Model: name", and ", Denoising strength: 0.75" for
 * img2img and inpainting.
 */
char *
loom_image_record_to_parameters (const LoomImageRecord *record)
{
  g_return_val_if_fail (record != NULL, NULL);

  return parameters_text (record, TRUE);
}

/* JSON. */

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* Returns: (transfer full): the record as a JSON object whose members are named as the
 * struct's fields; absent hashes are null. The seed is a number up to 2⁵³ (exact in any
 * JSON reader) and a decimal string above. */
JsonNode *
loom_image_record_to_json (const LoomImageRecord *record)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (record != NULL, NULL);

  json_builder_begin_object (builder);
  add_string (builder, "model_name", record->model_name);
  add_string (builder, "model_kind", record->model_kind);
  add_string (builder, "model_sha256", record->model_sha256);
  add_string (builder, "prompt", record->prompt != NULL ? record->prompt : "");
  add_string (builder, "negative_prompt", record->negative_prompt != NULL
                                          ? record->negative_prompt : "");
  json_builder_set_member_name (builder, "seed");
  if (record->seed <= (G_GUINT64_CONSTANT (1) << 53))
    json_builder_add_int_value (builder, (gint64) record->seed);
  else
    {
      char digits[24];

      g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, record->seed);
      json_builder_add_string_value (builder, digits);
    }
  json_builder_set_member_name (builder, "steps");
  json_builder_add_int_value (builder, record->steps);
  add_string (builder, "sampler", record->sampler);
  json_builder_set_member_name (builder, "cfg_scale");
  json_builder_add_double_value (builder, record->cfg_scale);
  json_builder_set_member_name (builder, "width");
  json_builder_add_int_value (builder, record->width);
  json_builder_set_member_name (builder, "height");
  json_builder_add_int_value (builder, record->height);
  add_string (builder, "mode", record->mode);
  json_builder_set_member_name (builder, "strength");
  json_builder_add_double_value (builder, record->strength);
  add_string (builder, "init_sha256", record->init_sha256);
  add_string (builder, "mask_sha256", record->mask_sha256);
  json_builder_set_member_name (builder, "seconds");
  json_builder_add_double_value (builder, record->seconds);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

typedef struct
{
  JsonObject  *object;
  GError     **error;
} Reader;

static gboolean fail (Reader     *r,
                      const char *format,
                      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (Reader     *r,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (r->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Image record: %s", message);
  return FALSE;
}

/* A string member; with @nullable, null or absent give NULL. */
static gboolean
read_string (Reader      *r,
             const char  *name,
             gboolean     nullable,
             char       **value)
{
  JsonNode *node = json_object_get_member (r->object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (!nullable)
        return fail (r, "“%s” is missing", name);
      *value = NULL;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail (r, "“%s” is not a string", name);
  *value = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* A SHA-256 in lowercase hexadecimal, or null. */
static gboolean
read_sha256 (Reader      *r,
             const char  *name,
             char       **value)
{
  if (!read_string (r, name, TRUE, value))
    return FALSE;
  if (*value == NULL)
    return TRUE;
  if (strlen (*value) != SHA256_HEX || strspn (*value, "0123456789abcdef") != SHA256_HEX)
    return fail (r, "“%s” is not a SHA-256 in hexadecimal", name);
  return TRUE;
}

/* An integer member in [@min, @max]. */
static gboolean
read_uint (Reader     *r,
           const char *name,
           guint64     min,
           guint64     max,
           guint64    *value)
{
  JsonNode *node = json_object_get_member (r->object, name);
  gint64 v;

  if (node == NULL)
    return fail (r, "“%s” is missing", name);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return fail (r, "“%s” is not an integer", name);
  v = json_node_get_int (node);
  if (v < 0 || (guint64) v < min || (guint64) v > max)
    return fail (r, "“%s” is %" G_GINT64_FORMAT ", outside [%" G_GUINT64_FORMAT ", %"
                 G_GUINT64_FORMAT "]", name, v, min, max);
  *value = (guint64) v;
  return TRUE;
}

/* A finite number in [@min, @max]; JSON integers count. */
static gboolean
read_number (Reader     *r,
             const char *name,
             double      min,
             double      max,
             double     *value)
{
  JsonNode *node = json_object_get_member (r->object, name);
  GType type;

  if (node == NULL)
    return fail (r, "“%s” is missing", name);
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
    return fail (r, "“%s” is not a number", name);
  *value = json_node_get_double (node);
  if (!isfinite (*value))
    return fail (r, "“%s” is not finite", name);
  if (*value < min)
    return fail (r, "“%s” is %g, less than %g", name, *value, min);
  if (*value > max)
    return fail (r, "“%s” is %g, more than %g", name, *value, max);
  return TRUE;
}

/* The seed: an integer, or a decimal string for those above 2⁵³. */
static gboolean
read_seed (Reader  *r,
           guint64 *seed)
{
  JsonNode *node = json_object_get_member (r->object, "seed");

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *digits = json_node_get_string (node);

      if (!g_ascii_string_to_unsigned (digits, 10, 0, G_MAXUINT64, seed, NULL))
        return fail (r, "“seed” is not a decimal number");
      return TRUE;
    }
  return read_uint (r, "seed", 0, G_MAXINT64, seed);
}

static gboolean
read_record (Reader          *r,
             LoomImageRecord *record)
{
  guint64 steps, width, height;
  double cfg_scale, strength;

  if (!read_string (r, "model_name", FALSE, &record->model_name)
      || !read_string (r, "model_kind", FALSE, &record->model_kind)
      || !read_sha256 (r, "model_sha256", &record->model_sha256)
      || !read_string (r, "prompt", FALSE, &record->prompt)
      || !read_string (r, "negative_prompt", TRUE, &record->negative_prompt)
      || !read_seed (r, &record->seed)
      || !read_uint (r, "steps", 1, MAX_STEPS, &steps)
      || !read_string (r, "sampler", FALSE, &record->sampler)
      || !read_number (r, "cfg_scale", 0, 100, &cfg_scale)
      || !read_uint (r, "width", 1, MAX_SIDE, &width)
      || !read_uint (r, "height", 1, MAX_SIDE, &height)
      || !read_string (r, "mode", FALSE, &record->mode)
      || !read_number (r, "strength", 0, 1, &strength)
      || !read_sha256 (r, "init_sha256", &record->init_sha256)
      || !read_sha256 (r, "mask_sha256", &record->mask_sha256)
      || !read_number (r, "seconds", 0, G_MAXDOUBLE, &record->seconds))
    return FALSE;

  if (record->negative_prompt == NULL)
    record->negative_prompt = g_strdup ("");
  record->steps = (guint) steps;
  record->width = (guint) width;
  record->height = (guint) height;
  record->cfg_scale = (float) cfg_scale;
  record->strength = (float) strength;

  /* The hashes of the images given must match the mode. */
  if (g_strcmp0 (record->mode, "txt2img") == 0)
    {
      if (record->init_sha256 != NULL || record->mask_sha256 != NULL)
        return fail (r, "a txt2img record has an init image or a mask");
    }
  else if (g_strcmp0 (record->mode, "img2img") == 0)
    {
      if (record->init_sha256 == NULL || record->mask_sha256 != NULL)
        return fail (r, "an img2img record needs an init image and no mask");
    }
  else if (g_strcmp0 (record->mode, "inpaint") == 0)
    {
      if (record->init_sha256 == NULL || record->mask_sha256 == NULL)
        return fail (r, "an inpaint record needs an init image and a mask");
    }
  else
    return fail (r, "“mode” is “%s”, not txt2img, img2img or inpaint", record->mode);
  return TRUE;
}

/**
 * loom_image_record_from_json:
 * @node: what loom_image_record_to_json() made
 * @record: (out caller-allocates): filled on success, to be cleared with
 *   loom_image_record_clear(); left zeroed on failure
 *
 * Checks every field (types, ranges, hashes, the mode and the images it needs).
 * Errors are G_IO_ERROR_INVALID_DATA.
 */
gboolean
loom_image_record_from_json (JsonNode         *node,
                             LoomImageRecord  *record,
                             GError          **error)
{
  LoomImageRecord parsed = { 0, };
  Reader r = { NULL, error };

  g_return_val_if_fail (node != NULL, FALSE);
  g_return_val_if_fail (record != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (record, 0, sizeof *record);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (&r, "not a JSON object");
  r.object = json_node_get_object (node);
  if (!read_record (&r, &parsed))
    {
      loom_image_record_clear (&parsed);
      return FALSE;
    }
  *record = parsed;
  return TRUE;
}

/* Frees the record's strings and zeroes it. */
void
loom_image_record_clear (LoomImageRecord *record)
{
  g_return_if_fail (record != NULL);

  g_free (record->model_name);
  g_free (record->model_kind);
  g_free (record->model_sha256);
  g_free (record->prompt);
  g_free (record->negative_prompt);
  g_free (record->sampler);
  g_free (record->mode);
  g_free (record->init_sha256);
  g_free (record->mask_sha256);
  memset (record, 0, sizeof *record);
}

/* XMP (PROVENANCE.md §3, item 2). */

#define XMP_KEYWORD            "XML:com.adobe.xmp"      /* XMP part 3, for PNG */
#define XPACKET_ID             "W5M0MpCehiHzreSzNTczkc9d"  /* XMP part 1: the same in every packet */
#define SOURCE_TRAINED         "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#define DATA_MINING_ALLOWED    "http://ns.useplus.org/ldf/vocab/DMI-ALLOWED"
#define DATA_MINING_PROHIBITED "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"

/* Defaults: random IDs, "Loom", pure model output, training not allowed, prompts
 * included. */
void
loom_image_metadata_init (LoomImageMetadata *metadata)
{
  g_return_if_fail (metadata != NULL);

  memset (metadata, 0, sizeof *metadata);
  metadata->include_prompts = TRUE;
}

/* Appends @text as XML character data: the five special characters escaped, and the
 * control characters XML 1.0 cannot carry even as references dropped. A carriage return
 * is kept as a reference, which a parser would otherwise turn into a line feed. */
static void
append_xml_text (GString    *s,
                 const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      switch (c)
        {
        case '&':
          g_string_append (s, "&amp;");
          break;
        case '<':
          g_string_append (s, "&lt;");
          break;
        case '>':
          g_string_append (s, "&gt;");
          break;
        case '"':
          g_string_append (s, "&quot;");
          break;
        case '\'':
          g_string_append (s, "&apos;");
          break;
        case '\r':
          g_string_append (s, "&#13;");
          break;
        case '\t':
        case '\n':
          g_string_append_c (s, (char) c);
          break;
        default:
          if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xfffe || c == 0xffff)
            break;
          g_string_append_unichar (s, c);
          break;
        }
    }
}

/* One simple property of the description; none when @value is NULL. */
static void
append_property (GString    *s,
                 const char *name,
                 const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (s, "   <%s>", name);
  append_xml_text (s, value);
  g_string_append_printf (s, "</%s>\n", name);
}

/* "Loom (Stable Diffusion: v1-5-pruned-emaonly, SD 1.x)": the engine and the model. */
static char *
ai_system_used (const LoomImageRecord *record)
{
  GString *s = g_string_new ("Loom (Stable Diffusion");
  const char *parts[] = { record->model_name, record->model_kind };
  const char *separator = ": ";

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    if (parts[i] != NULL && parts[i][0] != '\0')
      {
        g_string_append_printf (s, "%s%s", separator, parts[i]);
        separator = ", ";
      }
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* The model's version: which file it was (the hash AUTOMATIC1111 shows), else its kind. */
static char *
ai_system_version_used (const LoomImageRecord *record)
{
  if (record->model_sha256 != NULL && strlen (record->model_sha256) >= HASH_DIGITS)
    return g_strndup (record->model_sha256, HASH_DIGITS);
  if (record->model_kind != NULL && record->model_kind[0] != '\0')
    return g_strdup (record->model_kind);
  return NULL;
}

/**
 * loom_image_metadata_to_xmp:
 * @metadata: what loom_image_metadata_init() set, changed as needed
 * @record: how the image was made
 *
 * Returns: (transfer full): the XMP packet, UTF-8, in its xpacket wrapper: one
 * rdf:Description with dc:format, xmp:CreatorTool and CreateDate, xmpMM:DocumentID and
 * InstanceID, Iptc4xmpExt:DigitalSourceType and the IPTC 2025.1 AI properties, and
 * plus:DataMining. Missing IDs are new random ones, so two calls differ in them.
 */
char *
loom_image_metadata_to_xmp (const LoomImageMetadata *metadata,
                            const LoomImageRecord   *record)
{
  g_autofree char *document_id = NULL;
  g_autofree char *instance_id = NULL;
  g_autofree char *create_date = NULL;
  g_autofree char *system = NULL;
  g_autofree char *version = NULL;
  g_autoptr(GDateTime) now = NULL;
  GString *s;

  g_return_val_if_fail (metadata != NULL, NULL);
  g_return_val_if_fail (record != NULL, NULL);

  if (metadata->document_id != NULL)
    document_id = g_strdup (metadata->document_id);
  else
    {
      g_autofree char *uuid = g_uuid_string_random ();

      document_id = g_strconcat ("xmp.did:", uuid, NULL);
    }
  if (metadata->instance_id != NULL)
    instance_id = g_strdup (metadata->instance_id);
  else
    {
      g_autofree char *uuid = g_uuid_string_random ();

      instance_id = g_strconcat ("xmp.iid:", uuid, NULL);
    }
  /* XMP dates are ISO 8601 with the offset from UTC, to the second. */
  if (metadata->create_date == NULL)
    now = g_date_time_new_now_local ();
  create_date = g_date_time_format (metadata->create_date != NULL ? metadata->create_date
                                                                  : now,
                                    "%Y-%m-%dT%H:%M:%S%:z");
  system = ai_system_used (record);
  version = ai_system_version_used (record);

  s = g_string_new ("<?xpacket begin=\"\xEF\xBB\xBF\" id=\"" XPACKET_ID "\"?>\n"
                    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                    " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
                    "  <rdf:Description rdf:about=\"\"\n"
                    "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
                    "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
                    "    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\"\n"
                    "    xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n"
                    "    xmlns:plus=\"http://ns.useplus.org/ldf/xmp/1.0/\">\n");
  append_property (s, "dc:format", "image/png");
  append_property (s, "xmp:CreatorTool", metadata->creator_tool != NULL
                                         ? metadata->creator_tool : "Loom");
  append_property (s, "xmp:CreateDate", create_date);
  append_property (s, "xmpMM:DocumentID", document_id);
  append_property (s, "xmpMM:InstanceID", instance_id);
  append_property (s, "Iptc4xmpExt:DigitalSourceType", metadata->source_type != NULL
                                                       ? metadata->source_type
                                                       : SOURCE_TRAINED);
  append_property (s, "Iptc4xmpExt:AISystemUsed", system);
  append_property (s, "Iptc4xmpExt:AISystemVersionUsed", version);
  if (metadata->include_prompts)
    {
      g_autoptr(GString) prompts = prompts_text (record);

      if (prompts->len > 0)
        append_property (s, "Iptc4xmpExt:AIPromptInformation", prompts->str);
    }
  append_property (s, "plus:DataMining", metadata->training_allowed ? DATA_MINING_ALLOWED
                                                                    : DATA_MINING_PROHIBITED);
  g_string_append (s, "  </rdf:Description>\n"
                      " </rdf:RDF>\n"
                      "</x:xmpmeta>\n"
                      "<?xpacket end=\"w\"?>");
  return g_string_free (s, FALSE);
}

/* PNG files. */

/**
 * loom_image_encode_png:
 * @metadata: (nullable): the XMP to write, or %NULL for none (and the prompts in the
 *   "parameters" chunk)
 *
 * Returns: (transfer full) (nullable): the PNG file: IHDR, iTXt "XML:com.adobe.xmp"
 * (uncompressed, with no language tag or translated keyword, as XMP part 3 asks), the
 * "parameters" text, IDAT…, IEND.
 */
GBytes *
loom_image_encode_png (LoomImage                *self,
                       const LoomImageMetadata  *metadata,
                       GError                  **error)
{
  g_autofree char *xmp = NULL;
  g_autofree char *parameters = NULL;
  LoomPngText text[2];
  guint n_text = 0;

  g_return_val_if_fail (LOOM_IS_IMAGE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (metadata != NULL)
    {
      xmp = loom_image_metadata_to_xmp (metadata, &self->record);
      text[n_text++] = (LoomPngText) { XMP_KEYWORD, xmp, TRUE };
    }
  parameters = parameters_text (&self->record, metadata == NULL || metadata->include_prompts);
  text[n_text++] = (LoomPngText) { "parameters", parameters, FALSE };
  return loom_png_encode_text (g_bytes_get_data (self->pixels, NULL), self->width,
                               self->height, text, n_text, error);
}

/* Writes what loom_image_encode_png() makes; the file is replaced whole or not at all. */
gboolean
loom_image_write_png (LoomImage                *self,
                      const LoomImageMetadata  *metadata,
                      const char               *path,
                      GError                  **error)
{
  g_autoptr(GBytes) png = NULL;

  g_return_val_if_fail (LOOM_IS_IMAGE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  png = loom_image_encode_png (self, metadata, error);
  return png != NULL && loom_png_save (path, png, error);
}

/**
 * loom_image_decode_png:
 * @png: a whole PNG file, untrusted
 * @width: (out) (optional):
 * @height: (out) (optional):
 * @text: (out) (optional) (transfer full): keyword → value (UTF-8) of its tEXt, zTXt and
 *   iTXt chunks
 *
 * Returns: (transfer full) (nullable): the pixels as RGBA8, or %NULL with @error set in
 * G_IO_ERROR: INVALID_DATA for a corrupt file, NOT_SUPPORTED for a valid PNG this reader
 * does not read.
 */
GBytes *
loom_image_decode_png (GBytes      *png,
                       guint       *width,
                       guint       *height,
                       GHashTable **text,
                       GError     **error)
{
  g_autoptr(LoomPng) decoded = NULL;
  const guint8 *data;
  gsize size;

  g_return_val_if_fail (png != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (png, &size);
  decoded = loom_png_decode (data, size, error);
  if (decoded == NULL)
    return NULL;
  if (width != NULL)
    *width = decoded->width;
  if (height != NULL)
    *height = decoded->height;
  if (text != NULL)
    *text = g_steal_pointer (&decoded->text);
  return g_steal_pointer (&decoded->pixels);
}

/* Writes the image as a PNG with its record in the "parameters" text chunk and no XMP. */
gboolean
loom_image_save_png (LoomImage   *self,
                     const char  *path,
                     GError     **error)
{
  return loom_image_write_png (self, NULL, path, error);
}
