/* loom-image-model-private.h — what the engine's own tools reach inside an image model. */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "image/loom-clip-tokenizer.h"
#include "image/loom-image-model.h"
#include "image/loom-sd-networks.h"
#include "runtime/loom-progress.h"

G_BEGIN_DECLS

/* Loads synchronously (on the calling thread), as load_async does on the worker.
 * @progress (nullable) receives MiB hashed and uploaded. */
LoomImageModel     *loom_image_model_new           (LoomDevice       *device,
                                                    const char       *path,
                                                    LoomProgress     *progress,
                                                    GCancellable     *cancellable,
                                                    GError          **error);
const LoomSdConfig *loom_image_model_get_config    (LoomImageModel   *self);
LoomSdWeights      *loom_image_model_get_weights   (LoomImageModel   *self);
LoomClipTokenizer  *loom_image_model_get_tokenizer (LoomImageModel   *self);

/* Generates synchronously on the calling thread (the device's worker, or a tool's
 * thread that owns the device). @step_func is called on that thread. */
typedef gboolean (*LoomImageStepSyncFunc) (guint        step,
                                           guint        n_steps,
                                           const float *latent,
                                           guint        latent_width,
                                           guint        latent_height,
                                           gpointer     user_data);

/* Seconds spent in each phase of the last run, for benchmarks. */
typedef struct
{
  double text_seconds;      /* tokenizing and the text encoder */
  double encode_seconds;    /* VAE encoder (img2img, inpaint) */
  double sample_seconds;    /* all denoising steps */
  guint  unet_steps;
  double decode_seconds;    /* VAE decoder */
} LoomImageTimings;

LoomImage *loom_image_model_generate_sync (LoomImageModel         *self,
                                           const LoomImageRequest *request,
                                           LoomImageStepSyncFunc   step_func,
                                           gpointer                step_data,
                                           GCancellable           *cancellable,
                                           LoomImageTimings       *timings,
                                           GError                **error);

G_END_DECLS
