/* loom-image-model.h — a Stable Diffusion model loaded onto a device, and image
 * generation with it: txt2img, img2img and inpainting.
 *
 * A LoomImageModel holds the UNet, VAE and text encoder weights of an SD 1.x / 2.x /
 * SD-Turbo checkpoint in device memory (F16 stays F16) with its CLIP tokenizer. It is
 * immutable once loaded. Generation runs on the device's worker thread, reports progress
 * (step i of n) with a cheap preview per step on the caller's main context, is
 * cancellable between steps, and returns a LoomImage: RGBA8 pixels plus the full
 * generation record.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <gio/gio.h>

#include "loom-types.h"
#include "image/loom-image.h"

G_BEGIN_DECLS

#define LOOM_TYPE_IMAGE_MODEL (loom_image_model_get_type ())

G_DECLARE_FINAL_TYPE (LoomImageModel, loom_image_model, LOOM, IMAGE_MODEL, GObject)

typedef struct
{
  const char *prompt;
  const char *negative_prompt;   /* nullable */
  guint64     seed;
  guint       steps;             /* 0: the model's default (20, or 1 for SD-Turbo) */
  float       cfg_scale;         /* ≤ 1: no guidance (one UNet pass per step) */
  const char *sampler;           /* "euler", "euler_a", "dpmpp_2m_karras", "turbo"; NULL: default */
  guint       width;             /* pixels, multiples of the latent factor (8); 0: native */
  guint       height;
  /* img2img: an RGBA8 image of width × height; strength ∈ (0, 1] */
  GBytes     *init_image;
  float       strength;
  /* inpainting: an RGBA8 mask of width × height, regenerate where alpha (or grey) ≥ 128 */
  GBytes     *mask_image;
  gboolean    previews;          /* compute a preview per step */
} LoomImageRequest;

void loom_image_request_init (LoomImageRequest *request);

/**
 * LoomImageStepFunc:
 * @step: steps done (1-based)
 * @n_steps: steps in all
 * @preview: (nullable): a cheap preview of the current estimate, RGBA8, at latent size
 * @preview_width: its width
 * @preview_height: its height
 *
 * Called on the main context the generation was started from, coalesced.
 */
typedef void (*LoomImageStepFunc) (guint    step,
                                   guint    n_steps,
                                   GBytes  *preview,
                                   guint    preview_width,
                                   guint    preview_height,
                                   gpointer user_data);

void            loom_image_model_load_async     (LoomDevice          *device,
                                                 const char          *path,
                                                 LoomProgressFunc     progress_func,
                                                 gpointer             progress_data,
                                                 GDestroyNotify       progress_destroy,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
LoomImageModel *loom_image_model_load_finish    (GAsyncResult        *result,
                                                 GError             **error);

LoomDevice     *loom_image_model_get_device     (LoomImageModel      *self);
const char     *loom_image_model_get_path       (LoomImageModel      *self);
/* The file's (or the folder's UNet file's) name, e.g. "v1-5-pruned-emaonly". */
const char     *loom_image_model_get_name       (LoomImageModel      *self);
/* "SD 1.x", "SD 2.x", "SD 2.x (v)", "SD-Turbo" */
const char     *loom_image_model_get_kind       (LoomImageModel      *self);
/* SHA-256 (hex) of the checkpoint file, or of the diffusers folder's weight files. */
const char     *loom_image_model_get_sha256     (LoomImageModel      *self);
guint           loom_image_model_get_native_size (LoomImageModel     *self);
guint           loom_image_model_get_default_steps (LoomImageModel   *self);
float           loom_image_model_get_default_cfg   (LoomImageModel   *self);
const char     *loom_image_model_get_default_sampler (LoomImageModel *self);
guint64         loom_image_model_get_weight_bytes (LoomImageModel    *self);
/* Prompt tokens (without start/end), for a counter against the 75-token chunks. */
guint           loom_image_model_count_tokens   (LoomImageModel      *self,
                                                 const char          *prompt);

void            loom_image_model_generate_async  (LoomImageModel          *self,
                                                  const LoomImageRequest  *request,
                                                  LoomImageStepFunc        step_func,
                                                  gpointer                 step_data,
                                                  GDestroyNotify           step_destroy,
                                                  GCancellable            *cancellable,
                                                  GAsyncReadyCallback      callback,
                                                  gpointer                 user_data);
LoomImage      *loom_image_model_generate_finish (LoomImageModel          *self,
                                                  GAsyncResult            *result,
                                                  GError                 **error);

G_END_DECLS
