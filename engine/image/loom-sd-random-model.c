/* loom-sd-random-model.c — random-weight Stable Diffusion checkpoints in both layouts.
 *
 * Every tensor's values come from its own generator, seeded with the model's seed and a
 * hash of the tensor's canonical name, so that a tensor has the same values whichever
 * layout (and whichever file order) it is written in; OpenCLIP's fused in_proj is the
 * concatenation of the canonical q, k and v tensors. Weights are uniform in
 * ±√(3/fan_in) (unit variance out for unit variance in), norm weights 1 ± 0.1, biases
 * ±0.05, token embeddings ±0.5, position embeddings ±0.1.
 *
 * Files are streamed: the header is computed from the shapes, then each tensor is
 * generated in slices and written, so that the full SD 1.5 architecture (over a billion
 * values) never sits in memory.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "loom-error.h"
#include "formats/loom-quant.h"
#include "formats/loom-tensor-type.h"
#include "image/loom-sd-names.h"
#include "image/loom-sd-random-model.h"

#define SLICE_VALUES   (1u << 20)
#define CLIP_MERGES    48894   /* merges CLIP uses: 49408 − 256 − 256 − 2 */
#define TRAIN_STEPS    1000

/* The configurations. */

/* What the configurations differ in; the rest (CLIP's tokens, 4 latent channels, the
 * norms) is the same in all. A level's channels at 0 give the network's base width. */
typedef struct
{
  LoomSdFamily family;
  struct
  {
    guint    dim, layers, heads, ffn;
    gboolean quick_gelu;
  } text;
  struct
  {
    guint    levels, res_blocks, time_dim;
    guint    level_channels[LOOM_SD_MAX_LEVELS];
    gboolean level_attention[LOOM_SD_MAX_LEVELS];
    guint    level_heads[LOOM_SD_MAX_LEVELS];
    gboolean linear_proj;
  } unet;
  struct
  {
    guint levels, res_blocks;
    guint level_channels[LOOM_SD_MAX_LEVELS];
  } vae;
} Shape;

/* Small SD 1.x: attention at level 0 only, as SD 1.5 leaves its last level without: the
 * up level without attention then has its upsampler at index 1 in the LDM numbering. */
static const Shape small_sd1 = {
  LOOM_SD_FAMILY_SD1,
  { 64, 2, 1, 256, TRUE },
  { 2, 1, 128, { 32, 64 }, { TRUE, FALSE }, { 8, 8 }, FALSE },
  { 2, 1, { 32, 64 } },
};

/* Small SD 2.x: attention at both levels, so that the up level with attention and an
 * upsampler (index 2 in the LDM numbering) is covered; 64-wide heads: 1 and 2. */
static const Shape small_sd2 = {
  LOOM_SD_FAMILY_SD2,
  { 64, 2, 1, 256, FALSE },
  { 2, 1, 256, { 64, 128 }, { TRUE, TRUE }, { 1, 2 }, TRUE },
  { 2, 1, { 32, 64 } },
};

/* The published SD 1.5 architecture. */
static const Shape sd15 = {
  LOOM_SD_FAMILY_SD1,
  { 768, 12, 12, 3072, TRUE },
  { 4, 2, 1280, { 320, 640, 1280, 1280 }, { TRUE, TRUE, TRUE, FALSE }, { 8, 8, 8, 8 }, FALSE },
  { 4, 2, { 128, 256, 512, 512 } },
};

static void
config_init (LoomSdConfig *c,
             const Shape  *s)
{
  memset (c, 0, sizeof *c);
  c->family = s->family;
  c->text_vocab = 49408;
  c->text_positions = 77;
  c->text_eps = 1e-5f;
  c->text_dim = s->text.dim;
  c->text_layers = s->text.layers;
  c->text_heads = s->text.heads;
  c->text_ffn = s->text.ffn;
  c->text_quick_gelu = s->text.quick_gelu;

  c->unet_in_channels = 4;
  c->unet_out_channels = 4;
  c->unet_channels = s->unet.level_channels[0];
  c->unet_levels = s->unet.levels;
  memcpy (c->unet_level_channels, s->unet.level_channels, sizeof c->unet_level_channels);
  memcpy (c->unet_level_attention, s->unet.level_attention, sizeof c->unet_level_attention);
  memcpy (c->unet_level_heads, s->unet.level_heads, sizeof c->unet_level_heads);
  c->unet_res_blocks = s->unet.res_blocks;
  c->unet_time_dim = s->unet.time_dim;
  c->unet_context_dim = s->text.dim;
  c->unet_linear_proj = s->unet.linear_proj;
  c->unet_groups = 32;

  c->vae_latent_channels = 4;
  c->vae_channels = s->vae.level_channels[0];
  c->vae_levels = s->vae.levels;
  memcpy (c->vae_level_channels, s->vae.level_channels, sizeof c->vae_level_channels);
  c->vae_res_blocks = s->vae.res_blocks;
  c->vae_groups = 32;
  c->vae_scale = 0.18215f;

  c->native_size = 512;
  c->prediction = LOOM_SD_PREDICTION_EPSILON;
}

void
loom_sd_random_config_small_sd1 (LoomSdConfig *c)
{
  g_return_if_fail (c != NULL);

  config_init (c, &small_sd1);
}

void
loom_sd_random_config_small_sd2 (LoomSdConfig *c)
{
  g_return_if_fail (c != NULL);

  config_init (c, &small_sd2);
}

void
loom_sd_random_config_sd15 (LoomSdConfig *c)
{
  g_return_if_fail (c != NULL);

  config_init (c, &sd15);
}

/* Values. */

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* FNV-1a. */
static guint64
hash_name (const char *name)
{
  guint64 h = 0xCBF29CE484222325ull;

  for (const char *p = name; *p; p++)
    {
      h ^= (guint8) *p;
      h *= 0x100000001B3ull;
    }
  return h;
}

/* A source of a file's tensor: a spec's generated values, or fixed values. */
typedef struct
{
  const LoomSdSpec *spec;       /* or NULL */
  float             amplitude;  /* spec: u ∈ [−1, 1) times this … */
  float             offset;     /* … plus this */
  const float      *values;     /* no spec: these */
  gsize             n_values;
  guint64           state;
} Source;

static void
source_init (Source                    *src,
             const LoomSdSpec          *spec,
             const LoomSdRandomOptions *options)
{
  const LoomSdConfig *c = &options->config;

  memset (src, 0, sizeof *src);
  src->spec = spec;
  src->n_values = spec->n_elements;
  src->state = options->seed ^ hash_name (spec->name);
  switch (spec->init)
    {
    case LOOM_SD_INIT_WEIGHT:
      src->amplitude = (float) sqrt (3.0 / MAX (spec->fan_in, 1u));
      break;
    case LOOM_SD_INIT_BIAS:
      src->amplitude = 0.05f;
      break;
    case LOOM_SD_INIT_NORM_WEIGHT:
      src->amplitude = 0.1f;
      src->offset = 1.0f;
      break;
    case LOOM_SD_INIT_TOKEN_EMBEDDING:
      src->amplitude = 0.5f;
      break;
    case LOOM_SD_INIT_POSITION:
      src->amplitude = 0.1f;
      break;
    default:
      g_assert_not_reached ();
    }

  /* The norm1 bias that loom-sd-checkpoint.c's v-prediction heuristic looks at is spread
   * out (σ ≈ 0.17 > 0.09) in SD 2.x v models, as in the trained ones. */
  if (c->family == LOOM_SD_FAMILY_SD2 && c->prediction == LOOM_SD_PREDICTION_V)
    {
      g_autofree char *name =
        g_strdup_printf ("unet.up_blocks.%u.attentions.%u.transformer_blocks.0.norm1.bias",
                         c->unet_levels - 1, c->unet_res_blocks);

      if (strcmp (spec->name, name) == 0)
        src->amplitude = 0.3f;
    }
}

static void
source_fill (Source *src,
             float  *out,
             gsize   first,
             gsize   n)
{
  if (src->spec == NULL)
    {
      memcpy (out, src->values + first, n * sizeof *out);
      return;
    }
  /* Slices are asked for in order: the stream just continues. */
  for (gsize i = 0; i < n; i++)
    {
      double u = (double) (splitmix64 (&src->state) >> 11) * (1.0 / 9007199254740992.0);

      out[i] = src->offset + src->amplitude * (float) (2.0 * u - 1.0);
    }
}

/* A tensor of a file: one to three sources, concatenated. */
typedef struct
{
  char    *name;
  guint32  type;
  guint    n_dims;
  gint64   shape[4];
  gsize    n_elements;
  Source   sources[3];
  guint    n_sources;
} FileTensor;

static void
file_tensor_free (gpointer data)
{
  FileTensor *t = data;

  g_free (t->name);
  g_free (t);
}

static FileTensor *
file_tensor_new (GPtrArray  *tensors,
                 const char *name,
                 guint32     type,
                 guint       n_dims,
                 const gint64 *shape)
{
  FileTensor *t = g_new0 (FileTensor, 1);

  t->name = g_strdup (name);
  t->type = type;
  t->n_dims = n_dims;
  t->n_elements = 1;
  for (guint d = 0; d < n_dims; d++)
    {
      t->shape[d] = shape[d];
      t->n_elements *= (gsize) shape[d];
    }
  g_ptr_array_add (tensors, t);
  return t;
}

static const char *
dtype_name (guint32 type)
{
  switch (type)
    {
    case LOOM_TENSOR_F32:
      return "F32";
    case LOOM_TENSOR_F16:
      return "F16";
    case LOOM_TENSOR_BF16:
      return "BF16";
    default:
      g_return_val_if_reached ("F32");
    }
}

static gsize
type_size (guint32 type)
{
  return type == LOOM_TENSOR_F32 ? 4 : 2;
}

/* The safetensors header: JSON padded with spaces to a multiple of 8 bytes, so that the
 * data start 8-aligned. */
static GBytes *
build_header (GPtrArray *tensors)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  GString *header;
  guint64 offset = 0, length;
  gsize json_length;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "__metadata__");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, "pt");
  json_builder_end_object (builder);
  for (guint i = 0; i < tensors->len; i++)
    {
      FileTensor *t = g_ptr_array_index (tensors, i);
      guint64 bytes = (guint64) t->n_elements * type_size (t->type);

      json_builder_set_member_name (builder, t->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, dtype_name (t->type));
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

  header = g_string_sized_new (8 + json_length + 8);
  g_string_set_size (header, 8);
  g_string_append_len (header, json, json_length);
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  length = GUINT64_TO_LE ((guint64) header->len - 8);
  memcpy (header->str, &length, sizeof length);
  return g_string_free_to_bytes (header);
}

/* Writes @tensors to @path through a temporary file that replaces it when complete. */
static gboolean
write_safetensors (GPtrArray   *tensors,
                   const char  *path,
                   GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GBytes) header = build_header (tensors);
  g_autofree float *values = g_new (float, SLICE_VALUES);
  g_autofree guint8 *bytes = g_malloc (SLICE_VALUES * sizeof (float));
  GOutputStream *out;

  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, error);
  if (stream == NULL)
    return FALSE;
  out = G_OUTPUT_STREAM (stream);
  if (!g_output_stream_write_all (out, g_bytes_get_data (header, NULL), g_bytes_get_size (header),
                                  NULL, NULL, error))
    return FALSE;

  for (guint i = 0; i < tensors->len; i++)
    {
      FileTensor *t = g_ptr_array_index (tensors, i);

      for (guint s = 0; s < t->n_sources; s++)
        {
          Source *src = &t->sources[s];

          for (gsize first = 0; first < src->n_values; first += SLICE_VALUES)
            {
              gsize n = MIN (SLICE_VALUES, src->n_values - first);
              gsize size = n * type_size (t->type);

              source_fill (src, values, first, n);
              if (t->type == LOOM_TENSOR_F32)
                {
                  for (gsize k = 0; k < n; k++)
                    {
                      guint32 v;

                      memcpy (&v, &values[k], sizeof v);
                      v = GUINT32_TO_LE (v);
                      memcpy (bytes + 4 * k, &v, sizeof v);
                    }
                }
              else
                {
                  for (gsize k = 0; k < n; k++)
                    {
                      guint16 h = t->type == LOOM_TENSOR_F16 ? loom_float_to_half (values[k])
                                                             : loom_float_to_bf16 (values[k]);

                      h = GUINT16_TO_LE (h);
                      memcpy (bytes + 2 * k, &h, sizeof h);
                    }
                }
              if (!g_output_stream_write_all (out, bytes, size, NULL, NULL, error))
                return FALSE;
            }
        }
    }
  return g_output_stream_close (out, NULL, error);
}

/* The noise schedule buffers of an LDM file (scaled_linear, β from 0.00085 to 0.012):
 * real single files carry them; readers must ignore them. */
static float *
alphas_cumprod_new (void)
{
  float *a = g_new (float, TRAIN_STEPS);
  double product = 1;

  for (guint i = 0; i < TRAIN_STEPS; i++)
    {
      double s = sqrt (0.00085) + (sqrt (0.012) - sqrt (0.00085)) * i / (TRAIN_STEPS - 1);

      product *= 1 - s * s;
      a[i] = (float) product;
    }
  return a;
}

static gboolean
write_single_file (const LoomSdRandomOptions *options,
                   const char                *path,
                   GError                   **error)
{
  const LoomSdConfig *c = &options->config;
  gboolean sd2 = c->family == LOOM_SD_FAMILY_SD2;
  LoomSdComponents components = options->unet_only ? LOOM_SD_COMPONENT_UNET : LOOM_SD_COMPONENT_ALL;
  g_autoptr(GPtrArray) specs = loom_sd_spec_new (c, components, c->text_layers + (sd2 ? 1 : 0));
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func (file_tensor_free);
  g_autofree float *alphas = alphas_cumprod_new ();
  static const float logit_scale = 4.6052f;  /* ln 100, as trained */
  LoomSdSpec projection = { 0 };

  for (guint i = 0; i < specs->len; i++)
    {
      const LoomSdSpec *spec = g_ptr_array_index (specs, i);
      FileTensor *t;

      if (spec->ldm_part > 1)
        continue;  /* with its q part */
      if (spec->ldm_part == 1)
        {
          gint64 shape[4];

          memcpy (shape, spec->ldm_shape, sizeof shape);
          shape[0] *= 3;
          t = file_tensor_new (tensors, spec->ldm_name, options->weight_type, spec->ldm_n_dims, shape);
          /* k and v follow q in the spec list. */
          for (guint p = 0; p < 3; p++)
            {
              const LoomSdSpec *part = NULL;

              for (guint j = i; j < specs->len && part == NULL; j++)
                {
                  const LoomSdSpec *s = g_ptr_array_index (specs, j);

                  if (s->ldm_part == p + 1 && strcmp (s->ldm_name, spec->ldm_name) == 0)
                    part = s;
                }
              g_assert (part != NULL);
              source_init (&t->sources[t->n_sources++], part, options);
            }
          continue;
        }
      t = file_tensor_new (tensors, spec->ldm_name, options->weight_type, spec->ldm_n_dims, spec->ldm_shape);
      source_init (&t->sources[t->n_sources++], spec, options);
    }

  /* What real files also hold, and the reader must pass over. */
  {
    gint64 shape[1] = { TRAIN_STEPS };
    FileTensor *t = file_tensor_new (tensors, "alphas_cumprod", LOOM_TENSOR_F32, 1, shape);

    t->sources[0].values = alphas;
    t->sources[0].n_values = TRAIN_STEPS;
    t->n_sources = 1;
  }
  if (sd2 && !options->unet_only)
    {
      gint64 shape[2] = { c->text_dim, c->text_dim };
      FileTensor *t = file_tensor_new (tensors, "cond_stage_model.model.text_projection",
                                       options->weight_type, 2, shape);

      projection.name = (char *) "cond_stage_model.model.text_projection";
      projection.n_elements = (gsize) c->text_dim * c->text_dim;
      projection.init = LOOM_SD_INIT_WEIGHT;
      projection.fan_in = c->text_dim;
      source_init (&t->sources[t->n_sources++], &projection, options);

      t = file_tensor_new (tensors, "cond_stage_model.model.logit_scale", options->weight_type, 0, shape);
      t->sources[0].values = &logit_scale;
      t->sources[0].n_values = 1;
      t->n_sources = 1;
    }
  return write_safetensors (tensors, path, error);
}

/* Diffusers folders. */

static gboolean
write_json (JsonBuilder  *builder,
            const char   *dir,
            const char   *name,
            GError      **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_file (generator, path, error);
}

static void
member_int (JsonBuilder *b,
            const char  *name,
            gint64       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
member_double (JsonBuilder *b,
               const char  *name,
               double       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static void
member_string (JsonBuilder *b,
               const char  *name,
               const char  *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
member_bool (JsonBuilder *b,
             const char  *name,
             gboolean     value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

static void
member_uints (JsonBuilder *b,
              const char  *name,
              const guint *values,
              guint        n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    json_builder_add_int_value (b, values[i]);
  json_builder_end_array (b);
}

static void
member_pair (JsonBuilder *b,
             const char  *name,
             const char  *library,
             const char  *class_name)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  json_builder_add_string_value (b, library);
  json_builder_add_string_value (b, class_name);
  json_builder_end_array (b);
}

/* One block type a level: @with_attention at the levels with attention (@attention may
 * be NULL: none has), @plain elsewhere; levels from the last when @up (the up blocks). */
static void
member_block_types (JsonBuilder    *b,
                    const char     *name,
                    guint           levels,
                    const gboolean *attention,
                    gboolean        up,
                    const char     *with_attention,
                    const char     *plain)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < levels; i++)
    {
      guint l = up ? levels - 1 - i : i;

      json_builder_add_string_value (b, attention != NULL && attention[l] ? with_attention : plain);
    }
  json_builder_end_array (b);
}

static const char *
scheduler_class (const LoomSdConfig *c)
{
  if (c->turbo)
    return "EulerDiscreteScheduler";
  return c->family == LOOM_SD_FAMILY_SD1 ? "PNDMScheduler" : "DDIMScheduler";
}

static gboolean
write_unet_config (const LoomSdRandomOptions *options,
                   const char                *dir,
                   GError                   **error)
{
  const LoomSdConfig *c = &options->config;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gboolean same_heads = TRUE;

  for (guint l = 1; l < c->unet_levels; l++)
    same_heads = same_heads && c->unet_level_heads[l] == c->unet_level_heads[0];

  json_builder_begin_object (b);
  member_string (b, "_class_name", "UNet2DConditionModel");
  member_string (b, "_diffusers_version", "0.25.0");
  member_string (b, "act_fn", "silu");
  /* diffusers' SD configs give head counts under this name: 8, or [5, 10, 20, 20]. */
  if (same_heads && c->family == LOOM_SD_FAMILY_SD1)
    member_int (b, "attention_head_dim", c->unet_level_heads[0]);
  else
    member_uints (b, "attention_head_dim", c->unet_level_heads, c->unet_levels);
  member_uints (b, "block_out_channels", c->unet_level_channels, c->unet_levels);
  member_bool (b, "center_input_sample", FALSE);
  member_int (b, "cross_attention_dim", c->unet_context_dim);
  member_block_types (b, "down_block_types", c->unet_levels, c->unet_level_attention, FALSE,
                      "CrossAttnDownBlock2D", "DownBlock2D");
  member_int (b, "downsample_padding", 1);
  member_bool (b, "flip_sin_to_cos", TRUE);
  member_int (b, "freq_shift", 0);
  member_int (b, "in_channels", c->unet_in_channels);
  member_int (b, "layers_per_block", c->unet_res_blocks);
  member_int (b, "mid_block_scale_factor", 1);
  member_double (b, "norm_eps", 1e-5);
  member_int (b, "norm_num_groups", c->unet_groups);
  member_int (b, "out_channels", c->unet_out_channels);
  member_int (b, "sample_size", c->native_size / loom_sd_config_latent_factor (c));
  member_block_types (b, "up_block_types", c->unet_levels, c->unet_level_attention, TRUE,
                      "CrossAttnUpBlock2D", "UpBlock2D");
  member_bool (b, "use_linear_projection", c->unet_linear_proj);
  json_builder_end_object (b);
  return write_json (b, dir, "config.json", error);
}

static gboolean
write_vae_config (const LoomSdRandomOptions *options,
                  const char                *dir,
                  GError                   **error)
{
  const LoomSdConfig *c = &options->config;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  member_string (b, "_class_name", "AutoencoderKL");
  member_string (b, "_diffusers_version", "0.25.0");
  member_string (b, "act_fn", "silu");
  member_uints (b, "block_out_channels", c->vae_level_channels, c->vae_levels);
  member_block_types (b, "down_block_types", c->vae_levels, NULL, FALSE, NULL, "DownEncoderBlock2D");
  member_int (b, "in_channels", 3);
  member_int (b, "latent_channels", c->vae_latent_channels);
  member_int (b, "layers_per_block", c->vae_res_blocks);
  member_int (b, "norm_num_groups", c->vae_groups);
  member_int (b, "out_channels", 3);
  member_int (b, "sample_size", c->native_size);
  member_double (b, "scaling_factor", c->vae_scale);
  member_block_types (b, "up_block_types", c->vae_levels, NULL, FALSE, NULL, "UpDecoderBlock2D");
  json_builder_end_object (b);
  return write_json (b, dir, "config.json", error);
}

static gboolean
write_text_config (const LoomSdRandomOptions *options,
                   const char                *dir,
                   GError                   **error)
{
  const LoomSdConfig *c = &options->config;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "architectures");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "CLIPTextModel");
  json_builder_end_array (b);
  member_int (b, "bos_token_id", 0);
  member_int (b, "eos_token_id", 2);
  member_string (b, "hidden_act", c->text_quick_gelu ? "quick_gelu" : "gelu");
  member_int (b, "hidden_size", c->text_dim);
  member_int (b, "intermediate_size", c->text_ffn);
  member_double (b, "layer_norm_eps", c->text_eps);
  member_int (b, "max_position_embeddings", c->text_positions);
  member_string (b, "model_type", "clip_text_model");
  member_int (b, "num_attention_heads", c->text_heads);
  member_int (b, "num_hidden_layers", c->text_layers);
  member_int (b, "pad_token_id", 1);
  member_string (b, "torch_dtype", options->weight_type == LOOM_TENSOR_F16 ? "float16" : "float32");
  member_int (b, "vocab_size", c->text_vocab);
  json_builder_end_object (b);
  return write_json (b, dir, "config.json", error);
}

static gboolean
write_scheduler_config (const LoomSdRandomOptions *options,
                        const char                *dir,
                        GError                   **error)
{
  const LoomSdConfig *c = &options->config;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  member_string (b, "_class_name", scheduler_class (c));
  member_string (b, "_diffusers_version", "0.25.0");
  member_double (b, "beta_end", 0.012);
  member_string (b, "beta_schedule", "scaled_linear");
  member_double (b, "beta_start", 0.00085);
  member_bool (b, "clip_sample", FALSE);
  member_int (b, "num_train_timesteps", TRAIN_STEPS);
  member_string (b, "prediction_type", c->prediction == LOOM_SD_PREDICTION_V ? "v_prediction" : "epsilon");
  member_bool (b, "set_alpha_to_one", FALSE);
  member_bool (b, "skip_prk_steps", TRUE);
  member_int (b, "steps_offset", 1);
  /* SD-Turbo's scheduler starts at the last training step. */
  member_string (b, "timestep_spacing", c->turbo ? "trailing" : "leading");
  json_builder_end_object (b);
  return write_json (b, dir, "scheduler_config.json", error);
}

static gboolean
write_model_index (const LoomSdRandomOptions *options,
                   const char                *dir,
                   gboolean                   tokenizer,
                   GError                   **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  member_string (b, "_class_name", "StableDiffusionPipeline");
  member_string (b, "_diffusers_version", "0.25.0");
  json_builder_set_member_name (b, "feature_extractor");
  json_builder_add_null_value (b);
  member_bool (b, "requires_safety_checker", FALSE);
  json_builder_set_member_name (b, "safety_checker");
  json_builder_add_null_value (b);
  member_pair (b, "scheduler", "diffusers", scheduler_class (&options->config));
  if (!options->unet_only)
    member_pair (b, "text_encoder", "transformers", "CLIPTextModel");
  if (tokenizer)
    member_pair (b, "tokenizer", "transformers", "CLIPTokenizer");
  member_pair (b, "unet", "diffusers", "UNet2DConditionModel");
  if (!options->unet_only)
    member_pair (b, "vae", "diffusers", "AutoencoderKL");
  json_builder_end_object (b);
  return write_json (b, dir, "model_index.json", error);
}

/* The text of a merges file, gunzipped when it is compressed. */
static GBytes *
read_merges (const char  *path,
             GError     **error)
{
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GZlibDecompressor) decompressor = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GOutputStream) out = NULL;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  if (length < 2 || (guint8) contents[0] != 0x1f || (guint8) contents[1] != 0x8b)
    return g_bytes_new_take (g_steal_pointer (&contents), length);

  raw = g_memory_input_stream_new_from_data (g_steal_pointer (&contents), length, g_free);
  decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  stream = g_converter_input_stream_new (raw, G_CONVERTER (decompressor));
  out = g_memory_output_stream_new_resizable ();
  if (g_output_stream_splice (out, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                              | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error) < 0)
    {
      g_prefix_error (error, "Could not read %s: ", path);
      return NULL;
    }
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* GPT-2's bytes_to_unicode() in CLIP's vocabulary order: the printable bytes as
 * themselves ('!'..'~', '¡'..'¬', '®'..'ÿ'), then the others, in byte order, as
 * U+0100 onwards. */
static gboolean
byte_is_printable (guint b)
{
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static void
byte_symbols (gunichar symbols[256])
{
  guint n = 0, extra = 0;

  for (guint b = 0; b < 256; b++)
    if (byte_is_printable (b))
      symbols[n++] = b;
  for (guint b = 0; b < 256; b++)
    if (!byte_is_printable (b))
      symbols[n++] = 256 + extra++;
}

/**
 * loom_sd_random_merges_write:
 *
 * Writes a stand-in for CLIP's merges file to @path, for tests that download nothing: a
 * version line and CLIP's 48894 merges, here every pair of characters that byte-level
 * BPE maps to themselves (the printable Latin-1 ones), then the same pairs with an end
 * of word. The tokenizer builds a full-size vocabulary from it exactly as from CLIP's
 * file; only what the merges make of real words differs.
 */
gboolean
loom_sd_random_merges_write (const char  *path,
                             GError     **error)
{
  g_autoptr(GString) merges = g_string_new ("#version: 0.2\n");
  guint n = 0;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint end = 0; end < 2 && n < CLIP_MERGES; end++)
    for (guint a = 0; a < 256 && n < CLIP_MERGES; a++)
      for (guint b = 0; b < 256 && n < CLIP_MERGES; b++)
        if (byte_is_printable (a) && byte_is_printable (b))
          {
            g_string_append_unichar (merges, a);
            g_string_append_c (merges, ' ');
            g_string_append_unichar (merges, b);
            g_string_append (merges, end ? "</w>\n" : "\n");
            n++;
          }
  return g_file_set_contents (path, merges->str, (gssize) merges->len, error);
}

/* tokenizer/vocab.json and merges.txt as Hugging Face's CLIPTokenizer stores them: the
 * vocabulary CLIP builds (256 byte symbols, the same with "</w>", the 48894 merges
 * joined, <|startoftext|>, <|endoftext|>) and the merges with a version line. */
static gboolean
write_tokenizer (const LoomSdRandomOptions *options,
                 const char                *dir,
                 const char                *merges_path,
                 GError                   **error)
{
  g_autoptr(GBytes) text = read_merges (merges_path, error);
  g_autoptr(JsonBuilder) vocab = json_builder_new ();
  g_autoptr(JsonBuilder) config = json_builder_new ();
  g_autoptr(GString) merges = g_string_new ("#version: 0.2\n");
  g_auto(GStrv) lines = NULL;
  g_autofree char *merges_txt = NULL;
  gunichar symbols[256];
  guint id = 0, n_merges = 0;
  gsize size;
  const char *data;

  if (text == NULL)
    return FALSE;
  data = g_bytes_get_data (text, &size);
  {
    g_autofree char *copy = g_strndup (data, size);

    lines = g_strsplit (copy, "\n", -1);
  }

  byte_symbols (symbols);
  json_builder_begin_object (vocab);
  for (guint suffix = 0; suffix < 2; suffix++)
    for (guint i = 0; i < 256; i++)
      {
        char utf8[8] = { 0 };
        g_autofree char *token = NULL;

        g_unichar_to_utf8 (symbols[i], utf8);
        token = g_strconcat (utf8, suffix ? "</w>" : "", NULL);
        member_int (vocab, token, id++);
      }
  /* The first line is the file's version. */
  for (guint i = 1; lines[i] != NULL && n_merges < CLIP_MERGES; i++)
    {
      g_auto(GStrv) pair = g_strsplit (lines[i], " ", -1);
      g_autofree char *joined = NULL;

      if (g_strv_length (pair) != 2)
        continue;
      joined = g_strconcat (pair[0], pair[1], NULL);
      member_int (vocab, joined, id++);
      g_string_append_printf (merges, "%s %s\n", pair[0], pair[1]);
      n_merges++;
    }
  if (n_merges != CLIP_MERGES)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "%s holds %u merges, CLIP's vocabulary needs %u", merges_path,
                   n_merges, CLIP_MERGES);
      return FALSE;
    }
  member_int (vocab, "<|startoftext|>", id++);
  member_int (vocab, "<|endoftext|>", id++);
  json_builder_end_object (vocab);
  if (!write_json (vocab, dir, "vocab.json", error))
    return FALSE;

  merges_txt = g_build_filename (dir, "merges.txt", NULL);
  if (!g_file_set_contents (merges_txt, merges->str, (gssize) merges->len, error))
    return FALSE;

  json_builder_begin_object (config);
  member_string (config, "bos_token", "<|startoftext|>");
  member_bool (config, "do_lower_case", TRUE);
  member_string (config, "eos_token", "<|endoftext|>");
  member_int (config, "model_max_length", options->config.text_positions);
  /* SD 2.x's tokenizer pads with "!" (id 0), SD 1.x's with the end token. */
  member_string (config, "pad_token", options->config.family == LOOM_SD_FAMILY_SD2 ? "!" : "<|endoftext|>");
  member_string (config, "tokenizer_class", "CLIPTokenizer");
  member_string (config, "unk_token", "<|endoftext|>");
  json_builder_end_object (config);
  return write_json (config, dir, "tokenizer_config.json", error);
}

static gboolean
make_dir (const char  *path,
          GError     **error)
{
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* One component's weights under their names within the component. */
static gboolean
write_component (const LoomSdRandomOptions *options,
                 LoomSdComponents           component,
                 const char                *dir,
                 const char                *file_name,
                 GError                   **error)
{
  g_autoptr(GPtrArray) specs = loom_sd_spec_new (&options->config, component, options->config.text_layers);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func (file_tensor_free);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);

  if (!make_dir (dir, error))
    return FALSE;
  for (guint i = 0; i < specs->len; i++)
    {
      const LoomSdSpec *spec = g_ptr_array_index (specs, i);
      const char *name = strchr (spec->name, '.') + 1;  /* without the component */
      FileTensor *t = file_tensor_new (tensors, name, options->weight_type, spec->n_dims, spec->shape);

      source_init (&t->sources[t->n_sources++], spec, options);
    }
  return write_safetensors (tensors, path, error);
}

static gboolean
write_diffusers (const LoomSdRandomOptions *options,
                 const char                *path,
                 const char                *merges_path,
                 GError                   **error)
{
  g_autofree char *unet = g_build_filename (path, "unet", NULL);
  g_autofree char *vae = g_build_filename (path, "vae", NULL);
  g_autofree char *text = g_build_filename (path, "text_encoder", NULL);
  g_autofree char *scheduler = g_build_filename (path, "scheduler", NULL);
  g_autofree char *tokenizer = g_build_filename (path, "tokenizer", NULL);
  gboolean with_tokenizer = merges_path != NULL && !options->unet_only;

  if (!make_dir (path, error)
      || !write_component (options, LOOM_SD_COMPONENT_UNET, unet, "diffusion_pytorch_model.safetensors", error)
      || !write_unet_config (options, unet, error)
      || !make_dir (scheduler, error)
      || !write_scheduler_config (options, scheduler, error)
      || !write_model_index (options, path, with_tokenizer, error))
    return FALSE;
  if (options->unet_only)
    return TRUE;
  if (!write_component (options, LOOM_SD_COMPONENT_VAE, vae, "diffusion_pytorch_model.safetensors", error)
      || !write_vae_config (options, vae, error)
      || !write_component (options, LOOM_SD_COMPONENT_TEXT_ENCODER, text, "model.safetensors", error)
      || !write_text_config (options, text, error))
    return FALSE;
  if (with_tokenizer && (!make_dir (tokenizer, error)
                         || !write_tokenizer (options, tokenizer, merges_path, error)))
    return FALSE;
  return TRUE;
}

/**
 * loom_sd_random_model_write:
 *
 * Writes a checkpoint of @options->config with random weights to @path (a file for
 * LOOM_SD_LAYOUT_SINGLE_FILE, a folder created as needed for LOOM_SD_LAYOUT_DIFFUSERS).
 * What a single file cannot say (v-prediction, turbo, native size) is carried as the
 * checkpoint reader infers it: an SD 2.x v model gets a spread-out norm1 bias where the
 * heuristic looks; turbo comes from the file's name.
 */
gboolean
loom_sd_random_model_write (const LoomSdRandomOptions *options,
                            LoomSdLayout               layout,
                            const char                *path,
                            const char                *merges_path,
                            GError                   **error)
{
  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (options->weight_type == LOOM_TENSOR_F32 || options->weight_type == LOOM_TENSOR_F16,
                        FALSE);
  g_return_val_if_fail (options->config.unet_levels >= 1 && options->config.vae_levels >= 1, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (layout == LOOM_SD_LAYOUT_SINGLE_FILE)
    return write_single_file (options, path, error);
  return write_diffusers (options, path, merges_path, error);
}
