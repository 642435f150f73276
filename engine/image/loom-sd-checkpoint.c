/* loom-sd-checkpoint.c — opening a Stable Diffusion 1.x / 2.x checkpoint.
 *
 * Opening maps every tensor of the file(s) to its canonical name (loom-sd-names.c),
 * refuses the families Loom does not run, derives the configuration from the tensors'
 * shapes (plus what a diffusers folder's config.json files say), and then checks the
 * list of tensors that configuration needs (loom_sd_spec_new): each must be present with
 * its exact shape and a floating-point type. Anything else in the files (model_ema.*,
 * position_ids, text_projection, logit_scale, the noise schedule buffers, the 24th
 * OpenCLIP layer) is ignored.
 *
 * What the shapes cannot tell:
 *
 * - The family: OpenCLIP tensor names (single file), or the text encoder's hidden_act
 *   "gelu" (diffusers), mean SD 2.x; without a text encoder, a 1024-wide cross-attention
 *   context or linear transformer projections do.
 * - Head counts: SD 1.x has 8 per transformer, SD 2.x 64-wide heads, unless the UNet's
 *   config.json says otherwise (num_attention_heads, or attention_head_dim, which
 *   diffusers' SD configs use for head counts: 8 for SD 1.x, [5, 10, 20, 20] for SD 2.x).
 *   The mid block has the heads of the last level.
 * - The prediction type: the scheduler's prediction_type in a diffusers folder; else
 *   epsilon for SD 1.x, and for SD 2.x a heuristic ComfyUI published: the trained
 *   v-prediction 768 model has a spread-out norm1 bias in the last up level's last
 *   transformer (standard deviation above 0.09), the epsilon 512 model does not. It is a
 *   heuristic; loom_sd_checkpoint_set_config() overrides it.
 * - SD-Turbo: "turbo" in the file's or folder's name (any case), or a diffusers scheduler
 *   with timestep_spacing "trailing", as the SD-Turbo repository ships. Also overridable.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "loom-error.h"
#include "formats/loom-quant.h"
#include "formats/loom-safetensors.h"
#include "formats/loom-tensor-type.h"
#include "image/loom-sd-checkpoint.h"
#include "image/loom-sd-names.h"

#define V_PREDICTION_BIAS_STD 0.09

/* A tensor found in a file, under its canonical name. */
typedef struct
{
  LoomSdTensor  tensor;      /* first: lookups return a pointer to it */
  const char   *file;        /* the file's display name, for messages */
  const char   *file_name;   /* the tensor's name in that file */
  const char   *dtype;       /* as the file names it */
  guint         part;        /* 0, or 1..3: the q, k, v third of an OpenCLIP in_proj */
} Found;

struct _LoomSdCheckpoint
{
  char             *path;
  const char       *layout;
  LoomSdConfig      config;
  LoomSdComponents  components;   /* those present */
  GPtrArray        *files;        /* LoomSafetensors, owned */
  GStringChunk     *strings;      /* canonical names, file display names */
  GHashTable       *found;        /* canonical name → Found (owned): every mapped tensor */
  GHashTable       *tensors;      /* canonical name → Found (borrowed): what the model uses */
  GPtrArray        *order;        /* Found (borrowed) of tensors, in the spec's order */
  char             *vocab_path;
  char             *merges_path;
};

/* What the files say besides the tensors; -1 or 0 where they say nothing. */
typedef struct
{
  int              family;          /* LoomSdFamily */
  int              quick_gelu;
  int              text_layers;     /* diffusers num_hidden_layers */
  guint            n_heads;         /* per level heads, or 0 */
  guint            heads[LOOM_SD_MAX_LEVELS];
  int              prediction;      /* LoomSdPrediction */
  gboolean         turbo;
  guint            sample_size;     /* latent cells of the native size */
  double           vae_scale;
  gboolean         single_file_open_clip;
} Hints;

static void
hints_init (Hints *h)
{
  memset (h, 0, sizeof *h);
  h->family = -1;
  h->quick_gelu = -1;
  h->text_layers = -1;
  h->prediction = -1;
}

void
loom_sd_checkpoint_free (LoomSdCheckpoint *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->order, g_ptr_array_unref);
  g_clear_pointer (&self->tensors, g_hash_table_unref);
  g_clear_pointer (&self->found, g_hash_table_unref);
  g_clear_pointer (&self->files, g_ptr_array_unref);
  g_clear_pointer (&self->strings, g_string_chunk_free);
  g_free (self->vocab_path);
  g_free (self->merges_path);
  g_free (self->path);
  g_free (self);
}

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError     **error,
      LoomError    code,
      const char  *format,
      ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, LOOM_ERROR, code, message);
  return FALSE;
}

static const Found *
find (LoomSdCheckpoint *self,
      const char       *name)
{
  return g_hash_table_lookup (self->found, name);
}

static const Found * G_GNUC_PRINTF (2, 3)
findf (LoomSdCheckpoint *self,
       const char       *format,
       ...)
{
  va_list args;
  g_autofree char *name = NULL;

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);
  return find (self, name);
}

/* Records @t of @file under @canonical (a copy is kept), or the q/k/v third @part (1..3)
 * of its rows. The first tensor to claim a name keeps it. */
static void
add_found (LoomSdCheckpoint     *self,
           const char           *canonical,
           const LoomSafetensor *t,
           const char           *file,
           guint                 part)
{
  Found *f;

  if (g_hash_table_contains (self->found, canonical))
    return;
  f = g_new0 (Found, 1);
  f->tensor.name = g_string_chunk_insert_const (self->strings, canonical);
  f->tensor.type = t->type;
  f->tensor.n_dims = MIN (t->n_dims, 4u);
  for (guint d = 0; d < f->tensor.n_dims; d++)
    f->tensor.shape[d] = t->shape[d];
  f->tensor.n_elements = t->n_elements;
  f->tensor.data = t->data;
  f->tensor.bytes = t->bytes;
  if (t->n_dims > 4)
    {
      /* Not a shape SD uses: keep it unmatchable by any expected shape. */
      f->tensor.n_dims = 0;
    }
  if (part > 0)
    {
      gsize rows = (gsize) t->shape[0] / 3;

      f->tensor.shape[0] = rows;
      f->tensor.n_elements = t->n_elements / 3;
      f->tensor.bytes = t->bytes / 3;
      f->tensor.data = t->data + (part - 1) * f->tensor.bytes;
    }
  f->file = file;
  f->file_name = t->name;
  f->dtype = t->dtype;
  f->part = part;
  g_hash_table_insert (self->found, (gpointer) f->tensor.name, f);
}

static LoomSafetensors *
open_file (LoomSdCheckpoint  *self,
           const char        *path,
           GError           **error)
{
  LoomSafetensors *file = loom_safetensors_open (path, error);

  if (file != NULL)
    g_ptr_array_add (self->files, file);
  return file;
}

/* Families Loom does not run, recognised by their tensor names. */
static gboolean
check_single_file_family (LoomSafetensors  *file,
                          const char       *display,
                          GError          **error)
{
  guint n = loom_safetensors_get_n_tensors (file);

  for (guint i = 0; i < n; i++)
    {
      const char *name = loom_safetensors_get_tensor (file, i)->name;

      if (g_str_has_prefix (name, "conditioner.embedders."))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is an SDXL checkpoint (it has conditioner.embedders.*): "
                     "Loom runs Stable Diffusion 1.x and 2.x", display);
      if (g_str_has_prefix (name, "model.diffusion_model.label_emb."))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is an SDXL checkpoint (its UNet has label_emb): "
                     "Loom runs Stable Diffusion 1.x and 2.x", display);
      if (g_str_has_prefix (name, "model.diffusion_model.joint_blocks."))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is a Stable Diffusion 3 checkpoint (it has joint_blocks): "
                     "Loom runs Stable Diffusion 1.x and 2.x", display);
      if (g_str_has_prefix (name, "double_blocks.")
          || g_str_has_prefix (name, "model.diffusion_model.double_blocks."))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is a Flux checkpoint (it has double_blocks): "
                     "Loom runs Stable Diffusion 1.x and 2.x", display);
    }

  if (loom_safetensors_lookup (file, "model.diffusion_model.input_blocks.0.0.weight") == NULL)
    {
      if (loom_safetensors_lookup (file, "conv_in.weight") != NULL
          && loom_safetensors_lookup (file, "down_blocks.0.resnets.0.conv1.weight") != NULL)
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is one part of a diffusers folder: open the folder that holds "
                     "unet/, vae/ and text_encoder/", display);
      return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                   "%s is not a Stable Diffusion checkpoint (it has no "
                   "model.diffusion_model.input_blocks.0.0.weight)", display);
    }
  return TRUE;
}

/* "model.diffusion_model.input_blocks.N." → N, or -1. */
static int
block_index (const char *name,
             const char *prefix)
{
  const char *p;
  guint64 n;
  char *end;

  if (!g_str_has_prefix (name, prefix))
    return -1;
  p = name + strlen (prefix);
  if (!g_ascii_isdigit (*p))
    return -1;
  n = g_ascii_strtoull (p, &end, 10);
  if (*end != '.' || n > 1000)
    return -1;
  return (int) n;
}

static gboolean
open_single_file (LoomSdCheckpoint  *self,
                  Hints             *hints,
                  GError           **error)
{
  LoomSafetensors *file;
  g_autofree char *display = g_filename_display_basename (self->path);
  const char *file_display;
  int first_op = -1, last_input = -1, vae_levels = 0;
  guint n, res_blocks;

  file = open_file (self, self->path, error);
  if (file == NULL)
    return FALSE;
  if (!check_single_file_family (file, display, error))
    return FALSE;
  file_display = g_string_chunk_insert_const (self->strings, display);

  /* Where the numbered blocks fall: R + 1 is the index of the first downsampler. */
  n = loom_safetensors_get_n_tensors (file);
  for (guint i = 0; i < n; i++)
    {
      const char *name = loom_safetensors_get_tensor (file, i)->name;
      int index = block_index (name, "model.diffusion_model.input_blocks.");
      int level = block_index (name, "first_stage_model.encoder.down.");

      if (index >= 0)
        {
          g_autofree char *op = g_strdup_printf ("model.diffusion_model.input_blocks.%d.0.op.", index);

          last_input = MAX (last_input, index);
          if (g_str_has_prefix (name, op) && (first_op < 0 || index < first_op))
            first_op = index;
        }
      vae_levels = MAX (vae_levels, level + 1);
      if (g_str_has_prefix (name, "cond_stage_model.model."))
        hints->family = LOOM_SD_FAMILY_SD2;
      else if (g_str_has_prefix (name, "cond_stage_model.transformer.") && hints->family < 0)
        hints->family = LOOM_SD_FAMILY_SD1;
    }
  hints->single_file_open_clip = hints->family == LOOM_SD_FAMILY_SD2;
  res_blocks = first_op > 1 ? (guint) first_op - 1 : (guint) MAX (last_input, 1);

  for (guint i = 0; i < n; i++)
    {
      const LoomSafetensor *t = loom_safetensors_get_tensor (file, i);
      gboolean fused = FALSE;
      g_autofree char *canonical = loom_sd_name_from_ldm (t->name, res_blocks, vae_levels, &fused);

      if (canonical == NULL)
        continue;
      if (!fused)
        {
          add_found (self, canonical, t, file_display, 0);
          continue;
        }
      if (t->n_dims < 1 || t->shape[0] % 3 != 0)
        return fail (error, LOOM_ERROR_INVALID_MODEL,
                     "%s: tensor “%s” does not hold three equal q, k, v parts", display, t->name);
      for (guint p = 0; p < 3; p++)
        {
          g_autofree char *part = loom_sd_name_split_qkv (canonical, p);

          add_found (self, part, t, file_display, p + 1);
        }
    }
  return TRUE;
}

/* Diffusers folders. */

/* The object of a JSON file, or NULL when it is absent or not a JSON object. */
static JsonObject *
read_json (const char  *dir,
           const char  *relative,
           JsonParser **parser_out)
{
  g_autofree char *path = g_build_filename (dir, relative, NULL);
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, path, &local_error))
    {
      g_debug ("Ignoring %s: %s", path, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

static const char *
json_string (JsonObject *object,
             const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
json_int (JsonObject *object,
          const char *member,
          gint64     *value)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

/* Head counts: an integer for every level, or one per level. */
static void
read_heads (JsonObject *unet,
            Hints      *hints)
{
  static const char * const members[] = { "num_attention_heads", "attention_head_dim" };

  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    {
      JsonNode *node = json_object_get_member (unet, members[m]);
      gint64 v;

      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      if (json_int (unet, members[m], &v) && v > 0 && v < 4096)
        {
          hints->n_heads = LOOM_SD_MAX_LEVELS;
          for (guint l = 0; l < LOOM_SD_MAX_LEVELS; l++)
            hints->heads[l] = (guint) v;
          return;
        }
      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint len = json_array_get_length (array);

          if (len == 0 || len > LOOM_SD_MAX_LEVELS)
            continue;
          for (guint l = 0; l < len; l++)
            {
              JsonNode *e = json_array_get_element (array, l);

              if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64
                  || json_node_get_int (e) <= 0 || json_node_get_int (e) >= 4096)
                return;
              hints->heads[l] = (guint) json_node_get_int (e);
            }
          hints->n_heads = len;
          return;
        }
    }
}

/* The weights of a component: the .fp16 variant when there is one (half the memory; F16
 * weights stay F16 on the device), else the full file. */
static char *
find_weights (const char *dir,
              const char *component,
              const char *stem)
{
  g_autofree char *fp16 = g_strdup_printf ("%s.fp16.safetensors", stem);
  g_autofree char *full = g_strdup_printf ("%s.safetensors", stem);
  g_autofree char *path16 = g_build_filename (dir, component, fp16, NULL);
  g_autofree char *path32 = g_build_filename (dir, component, full, NULL);

  if (g_file_test (path16, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&path16);
  if (g_file_test (path32, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&path32);
  return NULL;
}

static gboolean
open_component (LoomSdCheckpoint  *self,
                const char        *component,
                const char        *stem,
                gboolean           required,
                GError           **error)
{
  g_autofree char *path = find_weights (self->path, component, stem);
  g_autofree char *display = NULL;
  LoomSafetensors *file;
  const char *file_display;
  guint n;

  if (path == NULL)
    {
      g_autofree char *dir = g_build_filename (self->path, component, NULL);
      g_autofree char *folder = g_filename_display_basename (self->path);

      if (!required && !g_file_test (dir, G_FILE_TEST_IS_DIR))
        return TRUE;
      return fail (error, required ? LOOM_ERROR_UNSUPPORTED_MODEL : LOOM_ERROR_INVALID_MODEL,
                   "%s: no %s/%s.safetensors (Loom reads safetensors weights only)",
                   folder, component, stem);
    }
  file = open_file (self, path, error);
  if (file == NULL)
    return FALSE;
  {
    g_autofree char *base = g_filename_display_basename (path);

    display = g_strdup_printf ("%s/%s", component, base);
  }
  file_display = g_string_chunk_insert_const (self->strings, display);

  n = loom_safetensors_get_n_tensors (file);
  for (guint i = 0; i < n; i++)
    {
      const LoomSafetensor *t = loom_safetensors_get_tensor (file, i);
      g_autofree char *canonical = NULL;

      if (strcmp (component, "unet") == 0 && g_str_has_prefix (t->name, "add_embedding."))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is an SDXL UNet (it has add_embedding): "
                     "Loom runs Stable Diffusion 1.x and 2.x", display);
      if (g_str_has_suffix (t->name, "position_ids"))
        continue;
      canonical = loom_sd_name_from_diffusers (component, t->name);
      add_found (self, canonical, t, file_display, 0);
    }
  return TRUE;
}

static gboolean
open_diffusers (LoomSdCheckpoint  *self,
                Hints             *hints,
                GError           **error)
{
  g_autofree char *folder = g_filename_display_basename (self->path);
  g_autoptr(JsonParser) index_parser = NULL;
  g_autoptr(JsonParser) unet_parser = NULL;
  g_autoptr(JsonParser) text_parser = NULL;
  g_autoptr(JsonParser) scheduler_parser = NULL;
  g_autoptr(JsonParser) vae_parser = NULL;
  JsonObject *index, *unet, *text, *scheduler, *vae;
  g_autofree char *unet_dir = g_build_filename (self->path, "unet", NULL);
  g_autofree char *transformer_dir = g_build_filename (self->path, "transformer", NULL);
  g_autofree char *text2_dir = g_build_filename (self->path, "text_encoder_2", NULL);
  const char *pipeline = NULL;

  index = read_json (self->path, "model_index.json", &index_parser);
  if (index != NULL)
    pipeline = json_string (index, "_class_name");
  if (g_file_test (text2_dir, G_FILE_TEST_IS_DIR) && !g_file_test (transformer_dir, G_FILE_TEST_IS_DIR))
    return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                 "%s is an SDXL model (%s, with two text encoders): "
                 "Loom runs Stable Diffusion 1.x and 2.x", folder, pipeline ? pipeline : "a diffusers folder");
  if (!g_file_test (unet_dir, G_FILE_TEST_IS_DIR))
    {
      if (g_file_test (transformer_dir, G_FILE_TEST_IS_DIR))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s holds a diffusion transformer (%s: SD3 or Flux), not a UNet: "
                     "Loom runs Stable Diffusion 1.x and 2.x", folder,
                     pipeline ? pipeline : "transformer/");
      return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                   "%s is not a Stable Diffusion checkpoint: a folder must be a diffusers "
                   "pipeline with unet/, vae/ and text_encoder/", folder);
    }

  if (!open_component (self, "unet", "diffusion_pytorch_model", TRUE, error)
      || !open_component (self, "vae", "diffusion_pytorch_model", FALSE, error)
      || !open_component (self, "text_encoder", "model", FALSE, error))
    return FALSE;

  unet = read_json (self->path, "unet/config.json", &unet_parser);
  if (unet != NULL)
    {
      gint64 v;

      read_heads (unet, hints);
      if (json_int (unet, "sample_size", &v) && v > 0 && v < 65536)
        hints->sample_size = (guint) v;
      if (json_object_has_member (unet, "addition_embed_type")
          && !JSON_NODE_HOLDS_NULL (json_object_get_member (unet, "addition_embed_type")))
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s is an SDXL model (its UNet has addition_embed_type %s): "
                     "Loom runs Stable Diffusion 1.x and 2.x", folder,
                     json_string (unet, "addition_embed_type") ? json_string (unet, "addition_embed_type") : "set");
    }
  text = read_json (self->path, "text_encoder/config.json", &text_parser);
  if (text != NULL)
    {
      const char *act = json_string (text, "hidden_act");
      gint64 v;

      if (g_strcmp0 (act, "quick_gelu") == 0)
        {
          hints->quick_gelu = TRUE;
          hints->family = LOOM_SD_FAMILY_SD1;
        }
      else if (g_strcmp0 (act, "gelu") == 0)
        {
          hints->quick_gelu = FALSE;
          hints->family = LOOM_SD_FAMILY_SD2;
        }
      if (json_int (text, "num_hidden_layers", &v) && v > 0 && v < 1000)
        hints->text_layers = (int) v;
    }
  scheduler = read_json (self->path, "scheduler/scheduler_config.json", &scheduler_parser);
  if (scheduler != NULL)
    {
      const char *prediction = json_string (scheduler, "prediction_type");

      if (g_strcmp0 (prediction, "v_prediction") == 0)
        hints->prediction = LOOM_SD_PREDICTION_V;
      else if (g_strcmp0 (prediction, "epsilon") == 0)
        hints->prediction = LOOM_SD_PREDICTION_EPSILON;
      if (g_strcmp0 (json_string (scheduler, "timestep_spacing"), "trailing") == 0)
        hints->turbo = TRUE;
    }
  vae = read_json (self->path, "vae/config.json", &vae_parser);
  if (vae != NULL)
    {
      JsonNode *node = json_object_get_member (vae, "scaling_factor");

      if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
          && (json_node_get_value_type (node) == G_TYPE_DOUBLE
              || json_node_get_value_type (node) == G_TYPE_INT64))
        {
          double scale = json_node_get_double (node);

          if (scale > 0 && scale < 100)
            hints->vae_scale = scale;
        }
    }

  {
    g_autofree char *vocab = g_build_filename (self->path, "tokenizer", "vocab.json", NULL);
    g_autofree char *merges = g_build_filename (self->path, "tokenizer", "merges.txt", NULL);

    if (g_file_test (vocab, G_FILE_TEST_IS_REGULAR) && g_file_test (merges, G_FILE_TEST_IS_REGULAR))
      {
        self->vocab_path = g_steal_pointer (&vocab);
        self->merges_path = g_steal_pointer (&merges);
      }
  }
  return TRUE;
}

/* The configuration. */

static const Found *
need (LoomSdCheckpoint  *self,
      const char        *name,
      guint              min_dims,
      GError           **error)
{
  const Found *f = find (self, name);

  if (f == NULL)
    {
      g_autofree char *display = g_filename_display_basename (self->path);

      fail (error, LOOM_ERROR_INVALID_MODEL, "%s: the tensor %s is missing", display, name);
      return NULL;
    }
  if (f->tensor.n_dims < min_dims)
    {
      fail (error, LOOM_ERROR_INVALID_MODEL, "%s: tensor “%s” has %u dimensions, expected %u",
            f->file, f->file_name, f->tensor.n_dims, min_dims);
      return NULL;
    }
  return f;
}

/* How many of "<before>N<after>" there are, N = 0, 1, … up to @limit. */
static guint
count_blocks (LoomSdCheckpoint *self,
              const char       *before,
              const char       *after,
              guint             limit)
{
  guint n = 0;

  while (n < limit)
    {
      g_autofree char *name = g_strdup_printf ("%s%u%s", before, n, after);

      if (find (self, name) == NULL)
        break;
      n++;
    }
  return n;
}

static gboolean
derive_unet (LoomSdCheckpoint  *self,
             GError           **error)
{
  LoomSdConfig *c = &self->config;
  g_autofree char *display = g_filename_display_basename (self->path);
  const Found *f;

  if ((f = need (self, "unet.conv_in.weight", 4, error)) == NULL)
    return FALSE;
  c->unet_in_channels = (guint) f->tensor.shape[1];
  c->unet_channels = (guint) f->tensor.shape[0];
  if (c->unet_in_channels == 9)
    return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                 "%s is an inpainting model (its UNet takes 9 input channels): "
                 "Loom runs the standard 4-channel Stable Diffusion UNets", display);
  if ((f = need (self, "unet.conv_out.weight", 4, error)) == NULL)
    return FALSE;
  c->unet_out_channels = (guint) f->tensor.shape[0];
  /* Depth, instruct-pix2pix and upscaler UNets take extra channels beside the latent. */
  if (c->unet_in_channels != c->unet_out_channels)
    return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                 "%s has a UNet with %u input channels for %u output channels (extra "
                 "conditioning such as depth or an input image): Loom runs the standard "
                 "Stable Diffusion UNets", display, c->unet_in_channels, c->unet_out_channels);

  c->unet_levels = count_blocks (self, "unet.down_blocks.", ".resnets.0.conv1.weight", LOOM_SD_MAX_LEVELS + 1);
  if (c->unet_levels == 0 || c->unet_levels > LOOM_SD_MAX_LEVELS)
    return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: the UNet has %u levels, expected 1 to %d",
                 display, c->unet_levels, LOOM_SD_MAX_LEVELS);
  c->unet_res_blocks = count_blocks (self, "unet.down_blocks.0.resnets.", ".conv1.weight", 8);
  if (c->unet_res_blocks == 0 || c->unet_res_blocks > 7)
    return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: the UNet has %u blocks per level",
                 display, c->unet_res_blocks);
  for (guint l = 0; l < c->unet_levels; l++)
    {
      f = findf (self, "unet.down_blocks.%u.resnets.0.conv1.weight", l);
      if (f->tensor.n_dims != 4)
        return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: tensor “%s” is not a convolution",
                     f->file, f->file_name);
      c->unet_level_channels[l] = (guint) f->tensor.shape[0];
      c->unet_level_attention[l] = findf (self, "unet.down_blocks.%u.attentions.0.proj_in.weight", l) != NULL;
    }
  if ((f = need (self, "unet.time_embedding.linear_1.weight", 2, error)) == NULL)
    return FALSE;
  c->unet_time_dim = (guint) f->tensor.shape[0];
  if ((f = need (self, "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", 2, error)) == NULL)
    return FALSE;
  c->unet_context_dim = (guint) f->tensor.shape[1];
  if (c->unet_context_dim == 2048)
    return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                 "%s is an SDXL UNet (2048-wide cross-attention context): "
                 "Loom runs Stable Diffusion 1.x and 2.x", display);
  if ((f = need (self, "unet.mid_block.attentions.0.proj_in.weight", 2, error)) == NULL)
    return FALSE;
  c->unet_linear_proj = f->tensor.n_dims == 2;
  c->unet_groups = 32;

  for (guint l = 0; l < c->unet_levels; l++)
    {
      guint ch = c->unet_level_channels[l];

      if (ch == 0 || ch % c->unet_groups != 0)
        return fail (error, LOOM_ERROR_INVALID_MODEL,
                     "%s: UNet level %u has %u channels, not a multiple of %u groups",
                     display, l, ch, c->unet_groups);
    }
  return TRUE;
}

static gboolean
derive_text_encoder (LoomSdCheckpoint  *self,
                     const Hints       *hints,
                     GError           **error)
{
  LoomSdConfig *c = &self->config;
  g_autofree char *display = g_filename_display_basename (self->path);
  const Found *f;
  guint stored;

  if ((f = need (self, "text_encoder.text_model.embeddings.token_embedding.weight", 2, error)) == NULL)
    return FALSE;
  c->text_vocab = (guint) f->tensor.shape[0];
  c->text_dim = (guint) f->tensor.shape[1];
  if ((f = need (self, "text_encoder.text_model.embeddings.position_embedding.weight", 2, error)) == NULL)
    return FALSE;
  c->text_positions = (guint) f->tensor.shape[0];
  if (c->text_dim == 0 || c->text_dim % 64 != 0)
    return fail (error, LOOM_ERROR_INVALID_MODEL,
                 "%s: the text encoder is %u wide, not a whole number of 64-wide heads",
                 display, c->text_dim);
  c->text_heads = c->text_dim / 64;
  stored = count_blocks (self, "text_encoder.text_model.encoder.layers.", ".layer_norm1.weight", 1000);
  if (stored == 0)
    return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: the text encoder has no layers", display);
  if (hints->single_file_open_clip)
    {
      /* SD 2.x conditions on the penultimate layer's output. */
      if (stored < 2)
        return fail (error, LOOM_ERROR_INVALID_MODEL,
                     "%s: the OpenCLIP text encoder has %u layer, SD 2.x uses the last but one",
                     display, stored);
      c->text_layers = stored - 1;
    }
  else if (hints->text_layers > 0 && (guint) hints->text_layers <= stored)
    c->text_layers = (guint) hints->text_layers;
  else
    c->text_layers = stored;
  if ((f = need (self, "text_encoder.text_model.encoder.layers.0.mlp.fc1.weight", 2, error)) == NULL)
    return FALSE;
  c->text_ffn = (guint) f->tensor.shape[0];
  c->text_eps = 1e-5f;
  return TRUE;
}

static gboolean
derive_vae (LoomSdCheckpoint  *self,
            GError           **error)
{
  LoomSdConfig *c = &self->config;
  g_autofree char *display = g_filename_display_basename (self->path);
  const Found *f;

  if ((f = need (self, "vae.post_quant_conv.weight", 4, error)) == NULL)
    return FALSE;
  c->vae_latent_channels = (guint) f->tensor.shape[0];
  if ((f = need (self, "vae.encoder.conv_in.weight", 4, error)) == NULL)
    return FALSE;
  c->vae_channels = (guint) f->tensor.shape[0];
  c->vae_levels = count_blocks (self, "vae.encoder.down_blocks.", ".resnets.0.conv1.weight", LOOM_SD_MAX_LEVELS + 1);
  if (c->vae_levels == 0 || c->vae_levels > LOOM_SD_MAX_LEVELS)
    return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: the VAE has %u levels, expected 1 to %d",
                 display, c->vae_levels, LOOM_SD_MAX_LEVELS);
  c->vae_res_blocks = count_blocks (self, "vae.encoder.down_blocks.0.resnets.", ".conv1.weight", 8);
  if (c->vae_res_blocks == 0 || c->vae_res_blocks > 7)
    return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: the VAE has %u blocks per level",
                 display, c->vae_res_blocks);
  c->vae_groups = 32;
  for (guint l = 0; l < c->vae_levels; l++)
    {
      f = findf (self, "vae.encoder.down_blocks.%u.resnets.0.conv1.weight", l);
      if (f->tensor.n_dims != 4)
        return fail (error, LOOM_ERROR_INVALID_MODEL, "%s: tensor “%s” is not a convolution",
                     f->file, f->file_name);
      c->vae_level_channels[l] = (guint) f->tensor.shape[0];
      if (c->vae_level_channels[l] == 0 || c->vae_level_channels[l] % c->vae_groups != 0)
        return fail (error, LOOM_ERROR_INVALID_MODEL,
                     "%s: VAE level %u has %u channels, not a multiple of %u groups",
                     display, l, c->vae_level_channels[l], c->vae_groups);
    }
  c->vae_scale = 0.18215f;
  return TRUE;
}

static gboolean
derive_config (LoomSdCheckpoint  *self,
               const Hints       *hints,
               GError           **error)
{
  LoomSdConfig *c = &self->config;
  g_autofree char *display = g_filename_display_basename (self->path);

  memset (c, 0, sizeof *c);
  self->components = LOOM_SD_COMPONENT_UNET;
  if (!derive_unet (self, error))
    return FALSE;
  if (find (self, "text_encoder.text_model.embeddings.token_embedding.weight") != NULL
      || find (self, "text_encoder.text_model.final_layer_norm.weight") != NULL)
    {
      self->components |= LOOM_SD_COMPONENT_TEXT_ENCODER;
      if (!derive_text_encoder (self, hints, error))
        return FALSE;
    }
  if (find (self, "vae.post_quant_conv.weight") != NULL || find (self, "vae.encoder.conv_in.weight") != NULL
      || find (self, "vae.decoder.conv_in.weight") != NULL)
    {
      self->components |= LOOM_SD_COMPONENT_VAE;
      if (!derive_vae (self, error))
        return FALSE;
      if (c->unet_in_channels != c->vae_latent_channels || c->unet_out_channels != c->vae_latent_channels)
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s: the UNet maps %u to %u channels but the VAE's latents have %u",
                     display, c->unet_in_channels, c->unet_out_channels, c->vae_latent_channels);
    }
  if ((self->components & LOOM_SD_COMPONENT_TEXT_ENCODER) && c->text_dim != c->unet_context_dim)
    return fail (error, LOOM_ERROR_INVALID_MODEL,
                 "%s: the text encoder is %u wide but the UNet attends to a %u-wide context",
                 display, c->text_dim, c->unet_context_dim);

  if (hints->family >= 0)
    c->family = hints->family;
  else if (c->unet_context_dim == 1024 || c->unet_linear_proj)
    c->family = LOOM_SD_FAMILY_SD2;
  else
    c->family = LOOM_SD_FAMILY_SD1;
  c->text_quick_gelu = hints->quick_gelu >= 0 ? hints->quick_gelu : c->family == LOOM_SD_FAMILY_SD1;

  for (guint l = 0; l < c->unet_levels; l++)
    {
      guint ch = c->unet_level_channels[l];
      guint heads;

      if (hints->n_heads == c->unet_levels || hints->n_heads == LOOM_SD_MAX_LEVELS)
        heads = hints->heads[l];
      else if (c->family == LOOM_SD_FAMILY_SD1)
        heads = 8;
      else
        heads = MAX (ch / 64, 1);
      if (heads == 0 || ch % heads != 0)
        return fail (error, LOOM_ERROR_INVALID_MODEL,
                     "%s: UNet level %u has %u channels, which %u heads do not divide",
                     display, l, ch, heads);
      c->unet_level_heads[l] = heads;
    }
  if (hints->vae_scale > 0)
    c->vae_scale = (float) hints->vae_scale;
  return TRUE;
}

static void
describe_shape (GString      *s,
                guint         n_dims,
                const gint64 *shape)
{
  g_string_append_c (s, '[');
  for (guint d = 0; d < n_dims; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "", shape[d]);
  g_string_append_c (s, ']');
}

static gboolean
same_shape (const LoomSdTensor *t,
            guint               n_dims,
            const gint64       *shape)
{
  if (t->n_dims != n_dims)
    return FALSE;
  for (guint d = 0; d < n_dims; d++)
    if (t->shape[d] != shape[d])
      return FALSE;
  return TRUE;
}

/* The name a user finds in their file, for a tensor that is missing. */
static char *
expected_file_name (LoomSdCheckpoint *self,
                    const LoomSdSpec *spec)
{
  const char *component_dir;
  const char *dot;

  if (strcmp (self->layout, "single-file") == 0)
    return g_strdup (spec->ldm_name);
  dot = strchr (spec->name, '.');
  switch (spec->component)
    {
    case LOOM_SD_COMPONENT_TEXT_ENCODER:
      component_dir = "text_encoder";
      break;
    case LOOM_SD_COMPONENT_VAE:
      component_dir = "vae";
      break;
    default:
      component_dir = "unet";
      break;
    }
  return g_strdup_printf ("%s (in %s/)", dot + 1, component_dir);
}

static gboolean
validate (LoomSdCheckpoint  *self,
          GError           **error)
{
  g_autoptr(GPtrArray) specs = loom_sd_spec_new (&self->config, self->components, self->config.text_layers);
  g_autofree char *display = g_filename_display_basename (self->path);

  for (guint i = 0; i < specs->len; i++)
    {
      const LoomSdSpec *spec = g_ptr_array_index (specs, i);
      Found *f = g_hash_table_lookup (self->found, spec->name);

      if (f == NULL)
        {
          g_autofree char *name = expected_file_name (self, spec);
          g_autoptr(GString) shape = g_string_new (NULL);

          if (strcmp (self->layout, "single-file") == 0)
            describe_shape (shape, spec->ldm_n_dims, spec->ldm_shape);
          else
            describe_shape (shape, spec->n_dims, spec->shape);
          return fail (error, LOOM_ERROR_INVALID_MODEL,
                       "%s: the tensor %s %s is missing (%s needs it)", display, name, shape->str,
                       loom_sd_config_describe (&self->config));
        }
      if (!same_shape (&f->tensor, spec->n_dims, spec->shape)
          && !same_shape (&f->tensor, spec->ldm_n_dims, spec->ldm_shape))
        {
          g_autoptr(GString) expected = g_string_new (NULL);
          g_autoptr(GString) found = g_string_new (NULL);

          if (strcmp (self->layout, "single-file") == 0)
            describe_shape (expected, spec->ldm_n_dims, spec->ldm_shape);
          else
            describe_shape (expected, spec->n_dims, spec->shape);
          describe_shape (found, f->tensor.n_dims, f->tensor.shape);
          if (f->part > 0)
            g_string_append_printf (found, " (a third of its rows)");
          return fail (error, LOOM_ERROR_INVALID_MODEL,
                       "%s: tensor “%s” has shape %s, expected %s", f->file, f->file_name,
                       found->str, expected->str);
        }
      if (f->tensor.type != LOOM_TENSOR_F32 && f->tensor.type != LOOM_TENSOR_F16
          && f->tensor.type != LOOM_TENSOR_BF16)
        return fail (error, LOOM_ERROR_UNSUPPORTED_MODEL,
                     "%s: tensor “%s” is %s; Loom computes with F32, F16 and BF16 weights",
                     f->file, f->file_name, f->dtype);
      g_hash_table_insert (self->tensors, (gpointer) f->tensor.name, f);
      g_ptr_array_add (self->order, f);
    }
  return TRUE;
}

/* The population standard deviation of a tensor's values. */
static double
tensor_std (const LoomSdTensor *t)
{
  g_autofree float *v = loom_sd_tensor_to_f32 (t);
  double sum = 0, sum2 = 0;

  if (t->n_elements == 0)
    return 0;
  for (gsize i = 0; i < t->n_elements; i++)
    sum += v[i];
  sum /= (double) t->n_elements;
  for (gsize i = 0; i < t->n_elements; i++)
    sum2 += (v[i] - sum) * (v[i] - sum);
  return sqrt (sum2 / (double) t->n_elements);
}

static void
derive_schedule (LoomSdCheckpoint *self,
                 const Hints      *hints)
{
  LoomSdConfig *c = &self->config;
  g_autofree char *base = g_path_get_basename (self->path);
  g_autofree char *lower = g_utf8_strdown (base, -1);

  c->turbo = hints->turbo || strstr (lower, "turbo") != NULL;
  if (hints->prediction >= 0)
    c->prediction = hints->prediction;
  else if (c->family == LOOM_SD_FAMILY_SD1)
    c->prediction = LOOM_SD_PREDICTION_EPSILON;
  else
    {
      const LoomSdTensor *bias =
        loom_sd_checkpoint_lookupf (self, "unet.up_blocks.%u.attentions.%u.transformer_blocks.0.norm1.bias",
                                    c->unet_levels - 1, c->unet_res_blocks);

      c->prediction = bias != NULL && tensor_std (bias) > V_PREDICTION_BIAS_STD
                      ? LOOM_SD_PREDICTION_V : LOOM_SD_PREDICTION_EPSILON;
    }
  if (hints->sample_size > 0)
    c->native_size = hints->sample_size * (c->vae_levels > 0 ? loom_sd_config_latent_factor (c) : 8);
  else
    c->native_size = c->family == LOOM_SD_FAMILY_SD2 && c->prediction == LOOM_SD_PREDICTION_V
                     && !c->turbo ? 768 : 512;
}

/**
 * loom_sd_checkpoint_open:
 *
 * Runs on any thread; the files stay mapped until loom_sd_checkpoint_free().
 */
LoomSdCheckpoint *
loom_sd_checkpoint_open (const char  *path,
                         GError     **error)
{
  g_autoptr(LoomSdCheckpoint) self = NULL;
  Hints hints;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (LoomSdCheckpoint, 1);
  self->path = g_strdup (path);
  self->files = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_safetensors_free);
  self->strings = g_string_chunk_new (4096);
  self->found = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  self->tensors = g_hash_table_new (g_str_hash, g_str_equal);
  self->order = g_ptr_array_new ();
  hints_init (&hints);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      self->layout = "diffusers";
      if (!open_diffusers (self, &hints, error))
        return NULL;
    }
  else
    {
      self->layout = "single-file";
      if (!open_single_file (self, &hints, error))
        return NULL;
    }
  if (!derive_config (self, &hints, error) || !validate (self, error))
    return NULL;
  derive_schedule (self, &hints);
  return g_steal_pointer (&self);
}

const LoomSdConfig *
loom_sd_checkpoint_get_config (LoomSdCheckpoint *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return &self->config;
}

/**
 * loom_sd_checkpoint_set_config:
 *
 * Takes from @config what the files cannot tell for sure: prediction, turbo,
 * native_size and vae_scale. The architecture (everything read from shapes, and the
 * family with its head counts and activation) stays as opened.
 */
void
loom_sd_checkpoint_set_config (LoomSdCheckpoint   *self,
                               const LoomSdConfig *config)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (config != NULL);

  self->config.prediction = config->prediction;
  self->config.turbo = config->turbo;
  if (config->native_size > 0)
    self->config.native_size = config->native_size;
  if (config->vae_scale > 0)
    self->config.vae_scale = config->vae_scale;
}

const char *
loom_sd_checkpoint_get_path (LoomSdCheckpoint *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

const char *
loom_sd_checkpoint_get_layout (LoomSdCheckpoint *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->layout;
}

gboolean
loom_sd_checkpoint_has_component (LoomSdCheckpoint *self,
                                  const char       *component)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (component != NULL, FALSE);

  if (strcmp (component, "unet") == 0)
    return (self->components & LOOM_SD_COMPONENT_UNET) != 0;
  if (strcmp (component, "vae") == 0)
    return (self->components & LOOM_SD_COMPONENT_VAE) != 0;
  if (strcmp (component, "text_encoder") == 0)
    return (self->components & LOOM_SD_COMPONENT_TEXT_ENCODER) != 0;
  g_return_val_if_reached (FALSE);
}

const LoomSdTensor *
loom_sd_checkpoint_lookup (LoomSdCheckpoint *self,
                           const char       *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->tensors, name);
}

const LoomSdTensor *
loom_sd_checkpoint_lookupf (LoomSdCheckpoint *self,
                            const char       *format,
                            ...)
{
  va_list args;
  g_autofree char *name = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (format != NULL, NULL);

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);
  return g_hash_table_lookup (self->tensors, name);
}

/* Returns: (transfer container): the tensors (borrowed), in the order of the forward
 * passes, text encoder first. */
GPtrArray *
loom_sd_checkpoint_list (LoomSdCheckpoint *self)
{
  GPtrArray *list;

  g_return_val_if_fail (self != NULL, NULL);

  list = g_ptr_array_sized_new (self->order->len);
  for (guint i = 0; i < self->order->len; i++)
    g_ptr_array_add (list, &((Found *) g_ptr_array_index (self->order, i))->tensor);
  return list;
}

const char *
loom_sd_checkpoint_get_vocab_path (LoomSdCheckpoint *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->vocab_path;
}

const char *
loom_sd_checkpoint_get_merges_path (LoomSdCheckpoint *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->merges_path;
}

float *
loom_sd_tensor_to_f32 (const LoomSdTensor *tensor)
{
  float *out;

  g_return_val_if_fail (tensor != NULL, NULL);

  out = g_new (float, MAX (tensor->n_elements, 1));
  switch (tensor->type)
    {
    case LOOM_TENSOR_F32:
      memcpy (out, tensor->data, tensor->n_elements * sizeof (float));
      break;
    case LOOM_TENSOR_F16:
    case LOOM_TENSOR_BF16:
      for (gsize i = 0; i < tensor->n_elements; i++)
        {
          guint16 h;

          /* The data may sit at any even offset in the file. */
          memcpy (&h, tensor->data + 2 * i, sizeof h);
          h = GUINT16_FROM_LE (h);
          out[i] = tensor->type == LOOM_TENSOR_F16 ? loom_half_to_float (h) : loom_bf16_to_float (h);
        }
      break;
    default:
      g_free (out);
      g_return_val_if_reached (NULL);
    }
  return out;
}
