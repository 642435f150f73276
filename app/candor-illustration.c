/* candor-illustration.c — CandorIllustration.
 *
 * In the document file an illustration carries its pixels as a PNG (base64) written
 * with its own metadata, so a picture copied out of a .candor file still says how it
 * was made, and its generation record as JSON, which is what Candor reads back: the
 * record is checked field by field and the PNG must decode to the record's size.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "candor-illustration.h"
#include "candor-picture-paintable.h"

/* A document file is untrusted: no picture in it may claim more than this, in bytes
 * of PNG or in pixels (2048², above what Stable Diffusion 1.x/2.x generate), and the
 * size is checked against the record before anything is decoded. */
#define MAX_PNG_BYTES (256 * 1024 * 1024)
#define MAX_PIXELS    (2048 * 2048)

struct _CandorIllustration
{
  GObject                 parent_instance;

  char                   *id;
  LoomImage              *image;
  char                   *parent_id;
  gboolean                human_pixels;
  CandorIllustrationState state;
  guint                   strokes;
  GdkTexture             *texture;   /* (nullable): made on first use */
  GdkPaintable           *paintable; /* (nullable): the picture in the story, made on first use */
  char                   *png_base64; /* (nullable): the file's form, made once (the pixels
                                       * never change, and autosave writes it often) */
};

G_DEFINE_FINAL_TYPE (CandorIllustration, candor_illustration, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
candor_illustration_finalize (GObject *object)
{
  CandorIllustration *self = CANDOR_ILLUSTRATION (object);

  g_free (self->id);
  g_clear_object (&self->image);
  g_free (self->parent_id);
  /* A text buffer (another document's, the clipboard's) may keep the paintable: it must
   * not lead back to a freed illustration. */
  if (self->paintable != NULL)
    g_object_set_data (G_OBJECT (self->paintable), "candor-illustration", NULL);
  g_clear_object (&self->paintable);
  g_clear_object (&self->texture);
  g_free (self->png_base64);

  G_OBJECT_CLASS (candor_illustration_parent_class)->finalize (object);
}

static void
candor_illustration_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  CandorIllustration *self = CANDOR_ILLUSTRATION (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
candor_illustration_class_init (CandorIllustrationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = candor_illustration_finalize;
  object_class->get_property = candor_illustration_get_property;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      CANDOR_ILLUSTRATION_CANDIDATE, CANDOR_ILLUSTRATION_DISCARDED,
                      CANDOR_ILLUSTRATION_CANDIDATE,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
candor_illustration_init (CandorIllustration *self)
{
}

CandorIllustration *
candor_illustration_new (const char *id,
                         LoomImage  *image,
                         const char *parent_id,
                         gboolean    human_pixels)
{
  CandorIllustration *self;

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (LOOM_IS_IMAGE (image), NULL);

  self = g_object_new (CANDOR_TYPE_ILLUSTRATION, NULL);
  self->id = g_strdup (id);
  self->image = g_object_ref (image);
  self->parent_id = g_strdup (parent_id);
  self->human_pixels = human_pixels;

  return self;
}

const char *
candor_illustration_get_id (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  return self->id;
}

LoomImage *
candor_illustration_get_image (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  return self->image;
}

const LoomImageRecord *
candor_illustration_get_record (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  return loom_image_get_record (self->image);
}

const char *
candor_illustration_get_parent_id (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  return self->parent_id;
}

gboolean
candor_illustration_get_human_pixels (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), FALSE);

  return self->human_pixels;
}

const char *
candor_illustration_get_source_type (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  return self->human_pixels ? CANDOR_SOURCE_TYPE_COMPOSITE : CANDOR_SOURCE_TYPE_AI;
}

GdkTexture *
candor_illustration_get_texture (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  if (self->texture == NULL)
    {
      guint width = loom_image_get_width (self->image);

      self->texture = gdk_memory_texture_new (width, loom_image_get_height (self->image),
                                              GDK_MEMORY_R8G8B8A8,
                                              loom_image_get_pixels (self->image),
                                              (gsize) width * 4);
    }

  return self->texture;
}

GdkPaintable *
candor_illustration_get_paintable (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  if (self->paintable == NULL)
    {
      self->paintable = candor_picture_paintable_new (candor_illustration_get_texture (self));
      /* The text view gives back only the paintable; this finds the picture again. */
      g_object_set_data (G_OBJECT (self->paintable), "candor-illustration", self);
    }

  return self->paintable;
}

CandorIllustration *
candor_illustration_from_paintable (GdkPaintable *paintable)
{
  g_return_val_if_fail (GDK_IS_PAINTABLE (paintable), NULL);

  return g_object_get_data (G_OBJECT (paintable), "candor-illustration");
}

CandorIllustrationState
candor_illustration_get_state (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), CANDOR_ILLUSTRATION_CANDIDATE);

  return self->state;
}

void
candor_illustration_set_state (CandorIllustration     *self,
                               CandorIllustrationState state)
{
  g_return_if_fail (CANDOR_IS_ILLUSTRATION (self));

  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

guint
candor_illustration_get_strokes (CandorIllustration *self)
{
  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), 0);

  return self->strokes;
}

void
candor_illustration_set_strokes (CandorIllustration *self,
                                 guint               strokes)
{
  g_return_if_fail (CANDOR_IS_ILLUSTRATION (self));

  self->strokes = strokes;
}

static const char *
sampler_label (const char *sampler)
{
  static const struct { const char *id; const char *label; } labels[] = {
    { "euler_a", N_("Euler a") },
    { "euler", N_("Euler") },
    { "dpmpp_2m_karras", N_("DPM++ 2M Karras") },
    { "turbo", N_("Turbo") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_strcmp0 (sampler, labels[i].id) == 0)
      return _(labels[i].label);

  return sampler != NULL ? sampler : "";
}

char *
candor_illustration_dup_caption (CandorIllustration *self)
{
  const LoomImageRecord *record;
  g_autofree char *steps = NULL;
  g_autofree char *seed = NULL;
  GString *caption;

  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  record = loom_image_get_record (self->image);
  /* The plural form is chosen by the translation; the number is the same in each. */
  steps = g_strdup_printf ("%u %s", record->steps,
                           g_dngettext (GETTEXT_PACKAGE, "step", "steps", record->steps));
  caption = g_string_new (NULL);
  /* xgettext cannot read G_GUINT64_FORMAT inside a msgid, so the number goes in as text. */
  seed = g_strdup_printf ("%" G_GUINT64_FORMAT, record->seed);
  g_string_append_printf (caption, _("Seed %s"), seed);
  g_string_append_printf (caption, " · %s", steps);
  g_string_append_printf (caption, " · %s · CFG %g", sampler_label (record->sampler),
                          (double) record->cfg_scale);
  if (g_strcmp0 (record->mode, "img2img") == 0)
    g_string_append_printf (caption, " · %s", _("refined"));
  else if (g_strcmp0 (record->mode, "inpaint") == 0)
    g_string_append_printf (caption, " · %s", _("inpainted"));
  if (self->human_pixels)
    g_string_append_printf (caption, " · %s", _("painted"));

  return g_string_free (caption, FALSE);
}

static const char *
state_to_string (CandorIllustrationState state)
{
  switch (state)
    {
    case CANDOR_ILLUSTRATION_SELECTED:
      return "selected";
    case CANDOR_ILLUSTRATION_DISCARDED:
      return "discarded";
    case CANDOR_ILLUSTRATION_CANDIDATE:
    default:
      return "candidate";
    }
}

static gboolean
state_from_string (const char              *text,
                   CandorIllustrationState *state)
{
  for (int s = CANDOR_ILLUSTRATION_CANDIDATE; s <= CANDOR_ILLUSTRATION_DISCARDED; s++)
    if (g_strcmp0 (text, state_to_string (s)) == 0)
      {
        *state = s;
        return TRUE;
      }

  return FALSE;
}

/* The PNG inside the document says how it was made, as an exported one would; the
 * training preference belongs to the document and is stated on export. Runs on any
 * thread: it only reads the (immutable) image. */
static char *
encode_png_base64 (LoomImage  *image,
                   gboolean    human_pixels,
                   GError    **error)
{
  g_autoptr(GBytes) png = NULL;
  LoomImageMetadata metadata;
  const guint8 *data;
  gsize size;

  loom_image_metadata_init (&metadata);
  metadata.creator_tool = "Candor " PACKAGE_VERSION;
  metadata.source_type = human_pixels ? CANDOR_SOURCE_TYPE_COMPOSITE : CANDOR_SOURCE_TYPE_AI;
  png = loom_image_encode_png (image, &metadata, error);
  if (png == NULL)
    return NULL;
  data = g_bytes_get_data (png, &size);

  return g_base64_encode (data, size);
}

/* What the worker encodes: the image (immutable, and safe to let go of anywhere) and its
 * source type, not the illustration, which owns GTK objects and must only ever be
 * finalized on the UI thread. */
typedef struct
{
  LoomImage *image;
  gboolean   human_pixels;
} Encoding;

static void
encoding_free (gpointer data)
{
  Encoding *encoding = data;

  g_object_unref (encoding->image);
  g_free (encoding);
}

static void
encode_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Encoding *encoding = task_data;
  GError *error = NULL;
  char *base64 = encode_png_base64 (encoding->image, encoding->human_pixels, &error);

  if (base64 != NULL)
    g_task_return_pointer (task, base64, g_free);
  else
    g_task_return_error (task, error);
}

static void
encode_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CandorIllustration) self = user_data;
  char *base64 = g_task_propagate_pointer (G_TASK (result), NULL);

  /* A save that could not wait encoded it already; on failure, a save tries again. */
  if (self->png_base64 == NULL)
    self->png_base64 = base64;
  else
    g_free (base64);
}

void
candor_illustration_prepare_async (CandorIllustration *self)
{
  g_autoptr(GTask) task = NULL;
  Encoding *encoding;

  g_return_if_fail (CANDOR_IS_ILLUSTRATION (self));

  if (self->png_base64 != NULL)
    return;
  encoding = g_new0 (Encoding, 1);
  encoding->image = g_object_ref (self->image);
  encoding->human_pixels = self->human_pixels;
  /* The callback holds the illustration and lets go of it on the UI thread. */
  task = g_task_new (NULL, NULL, encode_done_cb, g_object_ref (self));
  g_task_set_source_tag (task, candor_illustration_prepare_async);
  g_task_set_task_data (task, encoding, encoding_free);
  g_task_run_in_thread (task, encode_thread);
}

JsonNode *
candor_illustration_to_json (CandorIllustration  *self,
                             GError             **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (CANDOR_IS_ILLUSTRATION (self), NULL);

  if (self->png_base64 == NULL)
    {
      self->png_base64 = encode_png_base64 (self->image, self->human_pixels, error);
      if (self->png_base64 == NULL)
        return NULL;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, self->id);
  json_builder_set_member_name (builder, "parent");
  if (self->parent_id != NULL)
    json_builder_add_string_value (builder, self->parent_id);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "human_pixels");
  json_builder_add_boolean_value (builder, self->human_pixels);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, state_to_string (self->state));
  json_builder_set_member_name (builder, "strokes");
  json_builder_add_int_value (builder, self->strokes);
  json_builder_set_member_name (builder, "record");
  json_builder_add_value (builder, loom_image_record_to_json (loom_image_get_record (self->image)));
  json_builder_set_member_name (builder, "png");
  json_builder_add_string_value (builder, self->png_base64);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static gpointer
fail (GError     **error,
      const char  *message)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("An illustration in the document is invalid: %s"), message);

  return NULL;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static guint32
read_be32 (const guchar *bytes)
{
  return (guint32) bytes[0] << 24 | (guint32) bytes[1] << 16 | (guint32) bytes[2] << 8 | bytes[3];
}

CandorIllustration *
candor_illustration_new_from_json (JsonNode  *node,
                                   GError   **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(LoomImage) image = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GBytes) pixels = NULL;
  g_auto(LoomImageRecord) record = { 0 };
  CandorIllustration *self;
  CandorIllustrationState state;
  JsonObject *object;
  JsonNode *member;
  const char *id, *parent_id = NULL, *base64;
  guchar *data;
  gsize size;
  guint width, height;
  gint64 strokes;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, _("not an object"));
  object = json_node_get_object (node);

  id = member_string (object, "id");
  if (id == NULL || *id == '\0')
    return fail (error, _("it has no id"));

  member = json_object_get_member (object, "parent");
  if (member != NULL && !JSON_NODE_HOLDS_NULL (member))
    {
      parent_id = member_string (object, "parent");
      if (parent_id == NULL)
        return fail (error, _("its parent is not an id"));
    }

  member = json_object_get_member (object, "human_pixels");
  if (member == NULL || json_node_get_value_type (member) != G_TYPE_BOOLEAN)
    return fail (error, _("it does not say whether it holds human-made pixels"));

  if (!state_from_string (member_string (object, "state"), &state))
    return fail (error, _("its state is unknown"));

  member = json_object_get_member (object, "strokes");
  if (member == NULL || json_node_get_value_type (member) != G_TYPE_INT64 ||
      (strokes = json_node_get_int (member)) < 0 || strokes > G_MAXUINT)
    return fail (error, _("its stroke count is invalid"));

  /* loom_image_record_from_json() takes a node, so a missing one is caught here. */
  member = json_object_get_member (object, "record");
  if (member == NULL)
    return fail (error, _("it has no generation record"));
  if (!loom_image_record_from_json (member, &record, &local_error))
    return fail (error, local_error->message);

  base64 = member_string (object, "png");
  if (base64 == NULL || strlen (base64) / 4 * 3 > MAX_PNG_BYTES)
    return fail (error, _("its picture is missing or too large"));
  if ((guint64) record.width * record.height > MAX_PIXELS)
    return fail (error, _("its picture is too large"));
  data = g_base64_decode (base64, &size);
  png = g_bytes_new_take (data, size);
  /* The PNG's own size (IHDR, the first chunk) must be the record's before decoding. */
  if (size < 24 || memcmp (data + 12, "IHDR", 4) != 0 ||
      read_be32 (data + 16) != record.width ||
      read_be32 (data + 20) != record.height)
    return fail (error, _("its picture’s size differs from its record"));
  pixels = loom_image_decode_png (png, &width, &height, NULL, &local_error);
  if (pixels == NULL)
    return fail (error, local_error->message);
  if (width != record.width || height != record.height)
    return fail (error, _("its picture’s size differs from its record"));

  image = loom_image_new (pixels, width, height, &record);
  self = candor_illustration_new (id, image, parent_id,
                                  json_object_get_boolean_member (object, "human_pixels"));
  self->state = state;
  self->strokes = (guint) strokes;
  self->png_base64 = g_strdup (base64);

  return self;
}
