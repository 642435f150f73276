/* loom-image-model.c — a Stable Diffusion model on a device, and image jobs with it.
 *
 * A generation is one job of the device's worker: the prompts are tokenized and encoded,
 * the starting latent is made (noise, or the init image's latent noised to the first
 * step), the sampler calls the UNet once per step (twice in one command buffer with
 * guidance), and the VAE decodes the result. Between steps the job checks its
 * cancellable and posts the step and a preview to the caller's main context.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "formats/loom-tensor-type.h"
#include "image/loom-image-model-private.h"
#include "image/loom-sd-checkpoint.h"
#include "image/loom-sd-sampler.h"
#include "loom-error.h"
#include "runtime/loom-load-task.h"
#include "vk/loom-device-private.h"

#define DEFAULT_STEPS        20
#define DEFAULT_CFG          7.0f
#define TURBO_STEPS          1
#define CLIP_MERGES_NAME     "bpe_simple_vocab_16e6.txt.gz"
#define HASH_CHUNK           (4u << 20)

struct _LoomImageModel
{
  GObject            parent_instance;

  LoomDevice        *device;
  char              *path;
  char              *name;
  char              *sha256;
  LoomSdConfig       config;
  LoomSdWeights     *weights;
  LoomClipTokenizer *tokenizer;
  guint32            pad_token;

  /* The UNet's activations of the last size used; touched on the worker thread only. */
  LoomUnetState     *unet_state;
  guint              unet_h, unet_w, unet_n_context;
};

G_DEFINE_FINAL_TYPE (LoomImageModel, loom_image_model, G_TYPE_OBJECT)

static void
loom_image_model_finalize (GObject *object)
{
  LoomImageModel *self = LOOM_IMAGE_MODEL (object);

  g_clear_pointer (&self->unet_state, loom_unet_state_free);
  g_clear_pointer (&self->weights, loom_sd_weights_free);
  g_clear_pointer (&self->tokenizer, loom_clip_tokenizer_free);
  g_clear_object (&self->device);
  g_free (self->path);
  g_free (self->name);
  g_free (self->sha256);

  G_OBJECT_CLASS (loom_image_model_parent_class)->finalize (object);
}

static void
loom_image_model_class_init (LoomImageModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = loom_image_model_finalize;
}

static void
loom_image_model_init (LoomImageModel *self)
{
}

void
loom_image_request_init (LoomImageRequest *request)
{
  g_return_if_fail (request != NULL);

  *request = (LoomImageRequest) {
    .prompt = "",
    .cfg_scale = -1.0f,   /* the model's default */
    .strength = 0.75f,
  };
}

/* ---- Loading ---- */

static gint
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The files a model's identity is computed over: the checkpoint, or the weight files of
 * a diffusers folder (unet, vae, text_encoder), in that order. */
static GPtrArray *
identity_files (const char *path,
                GError    **error)
{
  static const char *const parts[] = { "unet", "vae", "text_encoder" };
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return g_steal_pointer (&files);
    }

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *folder = g_build_filename (path, parts[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL)
        continue;
      while ((name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".safetensors"))
          g_ptr_array_add (names, g_build_filename (folder, name, NULL));
      g_ptr_array_sort (names, compare_paths);
      for (guint j = 0; j < names->len; j++)
        g_ptr_array_add (files, g_strdup (g_ptr_array_index (names, j)));
    }
  if (files->len == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s: no .safetensors weights in unet/, vae/ or text_encoder/", path);
      return NULL;
    }
  return g_steal_pointer (&files);
}

/* Loading reads the files twice, to hash them and to upload their tensors: progress is
 * counted in MiB of both passes. */
typedef struct
{
  LoomProgress *progress;
  guint64       done;
  guint64       total;
  guint64       upload_base;   /* done when the upload began */
  guint64       upload_share;  /* of total */
} LoadProgress;

static void
load_progress_report (LoadProgress *p)
{
  if (p->progress != NULL)
    loom_progress_update (p->progress, (guint) (p->done >> 20), (guint) (p->total >> 20));
}

/* SHA-256 of @path, streamed. */
static char *
hash_file (const char   *path,
           LoadProgress *p,
           GCancellable *cancellable,
           GError      **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, cancellable, error);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *chunk = NULL;
  gssize n;

  if (in == NULL)
    return NULL;
  chunk = g_malloc (HASH_CHUNK);
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), chunk, HASH_CHUNK, cancellable,
                                   error)) > 0)
    {
      g_checksum_update (sum, chunk, n);
      p->done += (guint64) n;
      load_progress_report (p);
    }
  if (n < 0)
    return NULL;
  return g_strdup (g_checksum_get_string (sum));
}

/* One file: its SHA-256. Several (a diffusers folder): the SHA-256 of their digests,
 * one per line in the order of identity_files(). */
static char *
hash_model (GPtrArray    *files,
            LoadProgress *p,
            GCancellable *cancellable,
            GError      **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *digest = hash_file (g_ptr_array_index (files, i), p, cancellable, error);

      if (digest == NULL)
        return NULL;
      if (files->len == 1)
        return g_steal_pointer (&digest);
      g_checksum_update (sum, (const guint8 *) digest, -1);
      g_checksum_update (sum, (const guint8 *) "\n", 1);
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* The CLIP vocabulary: the diffusers folder's tokenizer/, else CLIP's merges file beside
 * the checkpoint, in $LOOM_CLIP_MERGES, or in a data directory (…/candor/clip/). */
static LoomClipTokenizer *
open_tokenizer (LoomSdCheckpoint *checkpoint,
                const char       *path,
                GError          **error)
{
  const char *vocab = loom_sd_checkpoint_get_vocab_path (checkpoint);
  const char *merges = loom_sd_checkpoint_get_merges_path (checkpoint);
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = NULL;
  const char *env = g_getenv ("LOOM_CLIP_MERGES");
  const char *const *data_dirs = g_get_system_data_dirs ();

  if (vocab != NULL && merges != NULL)
    return loom_clip_tokenizer_new_from_files (vocab, merges, error);

  dir = g_path_get_dirname (path);
  if (env != NULL && *env != '\0')
    g_ptr_array_add (candidates, g_strdup (env));
  g_ptr_array_add (candidates, g_build_filename (dir, CLIP_MERGES_NAME, NULL));
  g_ptr_array_add (candidates, g_build_filename (g_get_user_data_dir (), "candor", "clip",
                                                 CLIP_MERGES_NAME, NULL));
  for (guint i = 0; data_dirs[i] != NULL; i++)
    g_ptr_array_add (candidates, g_build_filename (data_dirs[i], "candor", "clip",
                                                   CLIP_MERGES_NAME, NULL));

  for (guint i = 0; i < candidates->len; i++)
    if (g_file_test (g_ptr_array_index (candidates, i), G_FILE_TEST_IS_REGULAR))
      return loom_clip_tokenizer_new_from_merges (g_ptr_array_index (candidates, i), error);

  g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
               "%s has no tokenizer, and CLIP's vocabulary (%s) was found neither beside it "
               "nor in %s/candor/clip/; put it there or set LOOM_CLIP_MERGES",
               path, CLIP_MERGES_NAME, g_get_user_data_dir ());
  return NULL;
}

static void
upload_progress_cb (guint64  done,
                    guint64  total,
                    gpointer user_data)
{
  LoadProgress *p = user_data;

  if (total > 0)
    p->done = p->upload_base + (guint64) ((double) p->upload_share * done / total);
  load_progress_report (p);
}

static char *
model_name (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = g_str_has_suffix (base, ".safetensors") ? strrchr (base, '.') : NULL;

  if (dot != NULL)
    *dot = '\0';
  return g_steal_pointer (&base);
}

LoomImageModel *
loom_image_model_new (LoomDevice   *device,
                      const char   *path,
                      LoomProgress *progress,
                      GCancellable *cancellable,
                      GError      **error)
{
  g_autoptr(LoomImageModel) self = NULL;
  g_autoptr(LoomSdCheckpoint) checkpoint = NULL;
  g_autoptr(GPtrArray) files = NULL;
  LoadProgress p = { .progress = progress };

  g_return_val_if_fail (LOOM_IS_DEVICE (device), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  checkpoint = loom_sd_checkpoint_open (path, error);
  if (checkpoint == NULL)
    return NULL;
  if (!loom_sd_checkpoint_has_component (checkpoint, "text_encoder")
      || !loom_sd_checkpoint_has_component (checkpoint, "vae"))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                   "%s holds only a UNet: generating images needs the text encoder and the "
                   "VAE too (a full checkpoint, or a diffusers folder with text_encoder/ and "
                   "vae/)", path);
      return NULL;
    }

  self = g_object_new (LOOM_TYPE_IMAGE_MODEL, NULL);
  self->device = g_object_ref (device);
  self->path = g_strdup (path);
  self->name = model_name (path);
  self->config = *loom_sd_checkpoint_get_config (checkpoint);
  /* SD 2.x's tokenizer pads with "!" (0), SD 1.x's with the end token. */
  self->tokenizer = open_tokenizer (checkpoint, path, error);
  if (self->tokenizer == NULL)
    return NULL;
  self->pad_token = self->config.family == LOOM_SD_FAMILY_SD2
                      ? 0 : loom_clip_tokenizer_get_end (self->tokenizer);

  files = identity_files (path, error);
  if (files == NULL)
    return NULL;
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (g_ptr_array_index (files, i));
      g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                     G_FILE_QUERY_INFO_NONE, NULL, NULL);

      if (info != NULL)
        p.total += 2 * (guint64) g_file_info_get_size (info);  /* hashed, then uploaded */
    }
  self->sha256 = hash_model (files, &p, cancellable, error);
  if (self->sha256 == NULL)
    return NULL;
  p.upload_base = p.done;
  p.upload_share = p.total - p.done;

  self->weights = loom_sd_weights_upload (device, checkpoint, FALSE, upload_progress_cb, &p,
                                          cancellable, error);
  if (self->weights == NULL)
    return NULL;
  /* The weights now live on the device; the mapping is dropped with the checkpoint. */
  return g_steal_pointer (&self);
}

/**
 * loom_image_model_load_async:
 * @progress_func: (nullable): called with MiB done and MiB in all (the files are hashed
 *   for the model's identity, then their tensors uploaded), on the caller's main context
 *
 * Loads the checkpoint or diffusers folder @path onto @device as a job of the device's
 * worker. Cancelling stops between chunks and tensors.
 */
void
loom_image_model_load_async (LoomDevice         *device,
                             const char         *path,
                             LoomProgressFunc    progress_func,
                             gpointer            progress_data,
                             GDestroyNotify      progress_destroy,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_return_if_fail (LOOM_IS_DEVICE (device));
  g_return_if_fail (path != NULL);

  loom_load_task_run (device, path, (LoomLoadFunc) loom_image_model_new, loom_image_model_load_async,
                      progress_func, progress_data, progress_destroy, cancellable, callback,
                      user_data);
}

LoomImageModel *
loom_image_model_load_finish (GAsyncResult *result,
                              GError      **error)
{
  return loom_load_task_finish (result, loom_image_model_load_async, error);
}

/* ---- Properties ---- */

LoomDevice *
loom_image_model_get_device (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return self->device;
}

const char *
loom_image_model_get_path (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return self->path;
}

const char *
loom_image_model_get_name (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return self->name;
}

const char *
loom_image_model_get_kind (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return loom_sd_config_describe (&self->config);
}

const char *
loom_image_model_get_sha256 (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return self->sha256;
}

guint
loom_image_model_get_native_size (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), 0);
  return self->config.native_size;
}

guint
loom_image_model_get_default_steps (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), 0);
  return self->config.turbo ? TURBO_STEPS : DEFAULT_STEPS;
}

float
loom_image_model_get_default_cfg (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), 0);
  /* SD-Turbo was distilled to work without guidance. */
  return self->config.turbo ? 1.0f : DEFAULT_CFG;
}

const char *
loom_image_model_get_default_sampler (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return loom_sd_sampler_to_string (self->config.turbo ? LOOM_SD_SAMPLER_TURBO
                                                       : LOOM_SD_SAMPLER_EULER_ANCESTRAL);
}

guint64
loom_image_model_get_weight_bytes (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), 0);
  return loom_sd_weights_get_bytes (self->weights);
}

guint
loom_image_model_count_tokens (LoomImageModel *self,
                               const char     *prompt)
{
  g_autoptr(LoomClipPrompt) parsed = NULL;

  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), 0);

  parsed = loom_clip_prompt_parse (self->tokenizer, prompt != NULL ? prompt : "",
                                   self->pad_token, NULL);
  return parsed != NULL ? parsed->n_prompt_tokens : 0;
}

const LoomSdConfig *
loom_image_model_get_config (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return &self->config;
}

LoomSdWeights *
loom_image_model_get_weights (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return self->weights;
}

LoomClipTokenizer *
loom_image_model_get_tokenizer (LoomImageModel *self)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  return self->tokenizer;
}

/* ---- Generation ---- */

#define MAX_SIDE   2048
#define MAX_STEPS  150

/* What one denoising call needs: the UNet at the sampler's σ, with guidance. */
typedef struct
{
  LoomUnetState *unet;
  const float   *contexts[2];   /* cond, uncond */
  guint          n_contexts;
  float          cfg_scale;
  gboolean       v_prediction;
  float         *input;         /* c_in · x */
  float         *predictions[2];
} Denoiser;

static gboolean
denoise_cb (const float *x,
            double       sigma,
            float       *denoised,
            gsize        n,
            gpointer     user_data,
            GError     **error)
{
  Denoiser *d = user_data;
  float c_in = (float) loom_sd_c_in (sigma);

  for (gsize i = 0; i < n; i++)
    d->input[i] = x[i] * c_in;
  if (!loom_unet_run (d->unet, d->input, (float) loom_sd_timestep_at (sigma), d->contexts,
                      d->n_contexts, d->predictions, error))
    return FALSE;
  if (d->n_contexts == 2)
    loom_sd_apply_guidance (d->predictions[0], d->predictions[1], d->cfg_scale,
                            d->predictions[0], n);
  loom_sd_prediction_to_denoised (d->v_prediction, x, d->predictions[0], sigma, denoised, n);
  return TRUE;
}

typedef struct
{
  LoomImageStepSyncFunc func;
  gpointer              data;
  GCancellable         *cancellable;
  guint                 latent_w, latent_h;
} StepRelay;

static gboolean
step_cb (guint        step,
         guint        n_steps,
         const float *denoised,
         gsize        n,
         gpointer     user_data)
{
  StepRelay *relay = user_data;

  if (relay->func != NULL
      && !relay->func (step, n_steps, denoised, relay->latent_w, relay->latent_h, relay->data))
    return FALSE;
  return !g_cancellable_is_cancelled (relay->cancellable);
}

static char *
sha256_of_bytes (GBytes *bytes)
{
  return bytes != NULL ? g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes) : NULL;
}

/* RGBA8 → [3][h][w] in [-1, 1]. */
static float *
rgba_to_planes (const guint8 *rgba,
                guint         width,
                guint         height)
{
  gsize plane = (gsize) width * height;
  float *out = g_new (float, 3 * plane);

  for (gsize i = 0; i < plane; i++)
    for (guint c = 0; c < 3; c++)
      out[c * plane + i] = rgba[4 * i + c] / 127.5f - 1.0f;
  return out;
}

/* A mask pixel asks to be regenerated when it is opaque and light (white on black, or a
 * brush's painted alpha over nothing). */
static gboolean
mask_pixel_set (const guint8 *px)
{
  return px[3] >= 128 && (px[0] + px[1] + px[2]) >= 3 * 128;
}

/* One value per latent cell: 1 when any pixel of the cell is masked, so that the
 * regenerated region covers the mask entirely. */
static float *
mask_to_latent (const guint8 *rgba,
                guint         width,
                guint         height,
                guint         factor)
{
  guint lw = width / factor, lh = height / factor;
  float *cells = g_new0 (float, (gsize) lw * lh);

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      if (mask_pixel_set (rgba + 4 * ((gsize) y * width + x)))
        cells[(y / factor) * lw + x / factor] = 1.0f;
  return cells;
}

static float *
encode_prompt (LoomImageModel       *self,
               const LoomClipPrompt *prompt,
               GError              **error)
{
  gsize n = (gsize) prompt->n_chunks * LOOM_CLIP_CONTEXT * self->config.text_dim;
  g_autofree float *hidden = g_new (float, n);

  if (!loom_sd_encode_text (self->weights, prompt->tokens, prompt->n_chunks, hidden, error))
    return NULL;
  loom_clip_prompt_apply_weights (prompt, hidden, self->config.text_dim);
  return g_steal_pointer (&hidden);
}

/* The encoder's output for the prompt and, with guidance, the negative prompt, which
 * must then have as many 77-token chunks. */
static gboolean
encode_prompts (LoomImageModel         *self,
                const LoomImageRequest *request,
                gboolean                guidance,
                float                 **cond_hidden,
                float                 **uncond_hidden,
                guint                  *n_chunks,
                GError                **error)
{
  g_autoptr(LoomClipPrompt) cond = NULL;
  g_autoptr(LoomClipPrompt) uncond = NULL;

  cond = loom_clip_prompt_parse (self->tokenizer, request->prompt != NULL ? request->prompt : "",
                                 self->pad_token, error);
  if (cond == NULL)
    return FALSE;
  if (guidance)
    {
      uncond = loom_clip_prompt_parse (self->tokenizer,
                                       request->negative_prompt != NULL
                                         ? request->negative_prompt : "",
                                       self->pad_token, error);
      if (uncond == NULL)
        return FALSE;
      *n_chunks = MAX (cond->n_chunks, uncond->n_chunks);
      loom_clip_prompt_pad_to (cond, self->tokenizer, self->pad_token, *n_chunks);
      loom_clip_prompt_pad_to (uncond, self->tokenizer, self->pad_token, *n_chunks);
    }
  *n_chunks = cond->n_chunks;
  *cond_hidden = encode_prompt (self, cond, error);
  if (*cond_hidden == NULL)
    return FALSE;
  if (guidance && (*uncond_hidden = encode_prompt (self, uncond, error)) == NULL)
    return FALSE;
  return TRUE;
}

static LoomUnetState *
unet_state_for (LoomImageModel *self,
                guint           h,
                guint           w,
                guint           n_context,
                GError        **error)
{
  if (self->unet_state != NULL
      && (self->unet_h != h || self->unet_w != w || self->unet_n_context != n_context))
    g_clear_pointer (&self->unet_state, loom_unet_state_free);
  if (self->unet_state == NULL)
    {
      self->unet_state = loom_unet_state_new (self->weights, h, w, n_context, error);
      if (self->unet_state == NULL)
        return NULL;
      self->unet_h = h;
      self->unet_w = w;
      self->unet_n_context = n_context;
    }
  return self->unet_state;
}

static gboolean
check_request (LoomImageModel         *self,
               const LoomImageRequest *request,
               guint                   width,
               guint                   height,
               GError                **error)
{
  const LoomSdConfig *config = &self->config;
  /* The UNet halves the latent levels − 1 times. */
  guint multiple = loom_sd_config_latent_factor (config) << (config->unet_levels - 1);
  gsize bytes = (gsize) width * height * 4;

  if (width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE
      || width % multiple != 0 || height % multiple != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "The size %u×%u is not supported: width and height must be multiples of "
                   "%u up to %u", width, height, multiple, MAX_SIDE);
      return FALSE;
    }
  if (request->steps > MAX_STEPS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%u steps are too many (at most %u)", request->steps, MAX_STEPS);
      return FALSE;
    }
  if (request->init_image != NULL && g_bytes_get_size (request->init_image) != bytes)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "The init image must be %u×%u RGBA pixels", width, height);
      return FALSE;
    }
  if (request->mask_image != NULL
      && (request->init_image == NULL || g_bytes_get_size (request->mask_image) != bytes))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Inpainting needs an init image and a mask of %u×%u RGBA pixels",
                   width, height);
      return FALSE;
    }
  if (request->init_image != NULL && !(request->strength > 0.0f && request->strength <= 1.0f))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "The strength must be in (0, 1], not %g", request->strength);
      return FALSE;
    }
  return TRUE;
}

/* Pixels out of [-1, 1] planes; with a mask, the pixels outside it are the init image's
 * own, untouched by the VAE's round trip. */
static GBytes *
planes_to_rgba (const float  *planes,
                guint         width,
                guint         height,
                const guint8 *init,
                const guint8 *mask)
{
  gsize plane = (gsize) width * height;
  guint8 *rgba = g_malloc (4 * plane);

  for (gsize i = 0; i < plane; i++)
    {
      if (mask != NULL && !mask_pixel_set (mask + 4 * i))
        {
          memcpy (rgba + 4 * i, init + 4 * i, 3);
        }
      else
        {
          for (guint c = 0; c < 3; c++)
            {
              float v = (planes[c * plane + i] + 1.0f) * 127.5f;

              rgba[4 * i + c] = (guint8) CLAMP (lrintf (v), 0, 255);
            }
        }
      rgba[4 * i + 3] = 255;
    }
  return g_bytes_new_take (rgba, 4 * plane);
}

/* What the image's provenance keeps of its making; the strings are borrowed, except the
 * two digests. */
static void
fill_record (LoomImageModel         *self,
             const LoomImageRequest *request,
             LoomSdSamplerKind       sampler,
             guint                   steps,
             float                   cfg_scale,
             guint                   width,
             guint                   height,
             LoomImageRecord        *record)
{
  record->model_name = self->name;
  record->model_kind = (char *) loom_sd_config_describe (&self->config);
  record->model_sha256 = self->sha256;
  record->prompt = (char *) (request->prompt != NULL ? request->prompt : "");
  record->negative_prompt = (char *) (request->negative_prompt != NULL
                                        ? request->negative_prompt : "");
  record->seed = request->seed;
  record->steps = steps;
  record->sampler = (char *) loom_sd_sampler_to_string (sampler);
  record->cfg_scale = cfg_scale;
  record->width = width;
  record->height = height;
  record->mode = (char *) (request->mask_image != NULL ? "inpaint"
                           : request->init_image != NULL ? "img2img" : "txt2img");
  record->strength = request->init_image != NULL ? request->strength : 1.0f;
  record->init_sha256 = sha256_of_bytes (request->init_image);
  record->mask_sha256 = sha256_of_bytes (request->mask_image);
}

LoomImage *
loom_image_model_generate_sync (LoomImageModel         *self,
                                const LoomImageRequest *request,
                                LoomImageStepSyncFunc   step_func,
                                gpointer                step_data,
                                GCancellable           *cancellable,
                                LoomImageTimings       *timings,
                                GError                **error)
{
  const LoomSdConfig *config;
  LoomImageTimings t = { 0 };
  LoomSdSamplerKind sampler;
  LoomSdSampleParams params = { 0 };
  LoomImageRecord record = { 0 };
  g_autofree float *cond_hidden = NULL;
  g_autofree float *uncond_hidden = NULL;
  g_autofree float *x = NULL;
  g_autofree float *init_latent = NULL;
  g_autofree float *latent_mask = NULL;
  g_autofree float *input = NULL;
  g_autofree float *pred0 = NULL;
  g_autofree float *pred1 = NULL;
  g_autofree float *pixels = NULL;
  g_autoptr(GBytes) rgba = NULL;
  Denoiser denoiser = { 0 };
  StepRelay relay = { step_func, step_data, cancellable };
  gint64 start = g_get_monotonic_time (), mark;
  guint width, height, factor, lw, lh, steps, n_chunks;
  gsize n;
  gboolean guidance;
  float cfg;
  LoomImage *image;

  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);

  config = &self->config;
  width = request->width != 0 ? request->width : config->native_size;
  height = request->height != 0 ? request->height : config->native_size;
  if (!check_request (self, request, width, height, error))
    return NULL;
  if (request->sampler == NULL)
    sampler = config->turbo ? LOOM_SD_SAMPLER_TURBO : LOOM_SD_SAMPLER_EULER_ANCESTRAL;
  else if (!loom_sd_sampler_from_string (request->sampler, &sampler))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Unknown sampler “%s” (euler, euler_a, dpmpp_2m_karras or turbo)",
                   request->sampler);
      return NULL;
    }
  steps = request->steps != 0 ? request->steps : loom_image_model_get_default_steps (self);
  cfg = request->cfg_scale >= 0.0f ? request->cfg_scale : loom_image_model_get_default_cfg (self);
  guidance = cfg > 1.0f;
  factor = loom_sd_config_latent_factor (config);
  lw = width / factor;
  lh = height / factor;
  n = (gsize) config->unet_in_channels * lw * lh;

  /* The prompts. */
  mark = g_get_monotonic_time ();
  if (!encode_prompts (self, request, guidance, &cond_hidden, &uncond_hidden, &n_chunks, error))
    return NULL;
  t.text_seconds = (g_get_monotonic_time () - mark) / 1e6;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* The starting latent. */
  x = g_new (float, n);
  params.kind = sampler;
  params.n_steps = steps;
  params.seed = request->seed;
  params.channels = config->unet_in_channels;
  if (request->init_image != NULL)
    {
      g_autofree float *planes = rgba_to_planes (g_bytes_get_data (request->init_image, NULL),
                                                 width, height);

      mark = g_get_monotonic_time ();
      init_latent = g_new (float, n);
      if (!loom_vae_encode (self->weights, planes, height, width, init_latent, error))
        return NULL;
      for (gsize i = 0; i < n; i++)
        init_latent[i] *= config->vae_scale;
      t.encode_seconds = (g_get_monotonic_time () - mark) / 1e6;
      params.first_step = loom_sd_img2img_first_step (steps, request->strength);
      loom_sd_prepare_img2img (sampler, steps, params.first_step, request->seed, init_latent,
                               x, n);
      if (request->mask_image != NULL)
        {
          latent_mask = mask_to_latent (g_bytes_get_data (request->mask_image, NULL), width,
                                        height, factor);
          params.keep_latent = init_latent;
          params.mask = latent_mask;
        }
    }
  else
    {
      loom_sd_prepare_txt2img (sampler, steps, request->seed, x, n);
    }

  /* Denoising. */
  denoiser.unet = unet_state_for (self, lh, lw, n_chunks * LOOM_CLIP_CONTEXT, error);
  if (denoiser.unet == NULL)
    return NULL;
  denoiser.contexts[0] = cond_hidden;
  denoiser.contexts[1] = uncond_hidden;
  denoiser.n_contexts = guidance ? 2 : 1;
  denoiser.cfg_scale = cfg;
  denoiser.v_prediction = config->prediction == LOOM_SD_PREDICTION_V;
  denoiser.input = input = g_new (float, n);
  denoiser.predictions[0] = pred0 = g_new (float, n);
  denoiser.predictions[1] = pred1 = guidance ? g_new (float, n) : NULL;
  relay.latent_w = lw;
  relay.latent_h = lh;
  mark = g_get_monotonic_time ();
  if (!loom_sd_sample (&params, x, n, denoise_cb, &denoiser, step_cb, &relay, error))
    return NULL;
  t.sample_seconds = (g_get_monotonic_time () - mark) / 1e6;
  t.unet_steps = steps - params.first_step;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* Pixels. */
  mark = g_get_monotonic_time ();
  for (gsize i = 0; i < n; i++)
    x[i] /= config->vae_scale;
  pixels = g_new (float, (gsize) 3 * width * height);
  if (!loom_vae_decode (self->weights, x, lh, lw, pixels, error))
    return NULL;
  rgba = planes_to_rgba (pixels, width, height,
                         request->init_image != NULL
                           ? g_bytes_get_data (request->init_image, NULL) : NULL,
                         request->mask_image != NULL
                           ? g_bytes_get_data (request->mask_image, NULL) : NULL);
  t.decode_seconds = (g_get_monotonic_time () - mark) / 1e6;

  fill_record (self, request, sampler, steps, guidance ? cfg : 1.0f, width, height, &record);
  record.seconds = (g_get_monotonic_time () - start) / 1e6;
  image = loom_image_new (rgba, width, height, &record);
  g_free (record.init_sha256);
  g_free (record.mask_sha256);
  if (timings != NULL)
    *timings = t;
  return image;
}

/* ---- Asynchronous generation ----
 *
 * Steps reach the caller through a LoomProgress (coalesced on its main context); the
 * latest preview waits beside it under a lock, so a busy main loop sees the latest step
 * with the latest preview, never a queue of stale ones. */

typedef struct
{
  gatomicrefcount   ref_count;
  GMutex            lock;
  GBytes           *preview;
  guint             preview_w, preview_h;
  LoomImageStepFunc func;
  gpointer          data;
  GDestroyNotify    destroy;
} StepPost;

static StepPost *
step_post_ref (StepPost *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

static void
step_post_unref (gpointer data)
{
  StepPost *self = data;

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  if (self->destroy != NULL)
    self->destroy (self->data);
  g_clear_pointer (&self->preview, g_bytes_unref);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* On the caller's main context. */
static void
step_post_deliver (guint    done,
                   guint    total,
                   gpointer user_data)
{
  StepPost *self = user_data;
  g_autoptr(GBytes) preview = NULL;
  guint w, h;

  g_mutex_lock (&self->lock);
  preview = self->preview != NULL ? g_bytes_ref (self->preview) : NULL;
  w = self->preview_w;
  h = self->preview_h;
  g_mutex_unlock (&self->lock);
  if (self->func != NULL)
    self->func (done, total, preview, w, h, self->data);
}

typedef struct
{
  LoomImageRequest request;      /* strings and bytes owned by this copy */
  LoomProgress    *progress;
  StepPost        *post;
} GenerateData;

static void
generate_data_free (gpointer data)
{
  GenerateData *self = data;

  g_free ((char *) self->request.prompt);
  g_free ((char *) self->request.negative_prompt);
  g_free ((char *) self->request.sampler);
  g_clear_pointer (&self->request.init_image, g_bytes_unref);
  g_clear_pointer (&self->request.mask_image, g_bytes_unref);
  g_clear_pointer (&self->progress, loom_progress_unref);
  g_clear_pointer (&self->post, step_post_unref);
  g_free (self);
}

/* On the worker thread. */
static gboolean
generate_step_cb (guint        step,
                  guint        n_steps,
                  const float *latent,
                  guint        latent_w,
                  guint        latent_h,
                  gpointer     user_data)
{
  GenerateData *data = user_data;

  if (data->request.previews && latent != NULL)
    {
      gsize bytes = (gsize) latent_w * latent_h * 4;
      guint8 *rgba = g_malloc (bytes);
      GBytes *preview;

      loom_sd_latent_preview (latent, latent_h, latent_w, rgba);
      preview = g_bytes_new_take (rgba, bytes);
      g_mutex_lock (&data->post->lock);
      g_clear_pointer (&data->post->preview, g_bytes_unref);
      data->post->preview = preview;
      data->post->preview_w = latent_w;
      data->post->preview_h = latent_h;
      g_mutex_unlock (&data->post->lock);
    }
  loom_progress_update (data->progress, step, n_steps);
  return TRUE;
}

static void
generate_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GenerateData *data = task_data;
  GError *error = NULL;
  LoomImage *image;

  image = loom_image_model_generate_sync (source_object, &data->request, generate_step_cb, data,
                                          cancellable, NULL, &error);
  loom_progress_finish (data->progress);
  if (image == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, image, g_object_unref);
}

/**
 * loom_image_model_generate_async:
 * @request: what to generate; copied, so it may be freed at once
 * @step_func: (nullable): called after each denoising step, with a preview when
 *   @request asks for previews, on the caller's main context
 *
 * Generates an image as a job of the device's worker. Cancelling stops between steps;
 * the result is then G_IO_ERROR_CANCELLED.
 */
void
loom_image_model_generate_async (LoomImageModel         *self,
                                 const LoomImageRequest *request,
                                 LoomImageStepFunc       step_func,
                                 gpointer                step_data,
                                 GDestroyNotify          step_destroy,
                                 GCancellable           *cancellable,
                                 GAsyncReadyCallback     callback,
                                 gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  GenerateData *data;
  StepPost *post;

  g_return_if_fail (LOOM_IS_IMAGE_MODEL (self));
  g_return_if_fail (request != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, loom_image_model_generate_async);

  post = g_new0 (StepPost, 1);
  g_atomic_ref_count_init (&post->ref_count);
  g_mutex_init (&post->lock);
  post->func = step_func;
  post->data = step_data;
  post->destroy = step_destroy;

  data = g_new0 (GenerateData, 1);
  data->request = *request;
  data->request.prompt = g_strdup (request->prompt != NULL ? request->prompt : "");
  data->request.negative_prompt = g_strdup (request->negative_prompt);
  data->request.sampler = g_strdup (request->sampler);
  if (request->init_image != NULL)
    data->request.init_image = g_bytes_ref (request->init_image);
  if (request->mask_image != NULL)
    data->request.mask_image = g_bytes_ref (request->mask_image);
  data->post = post;
  /* The progress owns a reference to the post and drops it on the caller's context. */
  data->progress = loom_progress_new (g_task_get_context (task), step_post_deliver,
                                      step_post_ref (post), step_post_unref);
  g_task_set_task_data (task, data, generate_data_free);
  loom_device_run_in_worker (self->device, task, generate_worker);
}

LoomImage *
loom_image_model_generate_finish (LoomImageModel *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (LOOM_IS_IMAGE_MODEL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == loom_image_model_generate_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
