/* loom-sd-networks.h — the Stable Diffusion networks on a Vulkan device: weights
 * uploaded once (F16 stays F16; BF16 becomes F32), and the CLIP text encoder, UNet and
 * VAE recorded with the ops of loom-ops.h.
 *
 * Every run records its whole network into one command buffer, submits it once and
 * reads back only its result. These are called on the engine's worker thread; each
 * call blocks until the device is done.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "image/loom-sd-checkpoint.h"
#include "vk/loom-device.h"

G_BEGIN_DECLS

typedef struct _LoomSdWeights LoomSdWeights;

/* @progress (nullable) is called with done/total bytes as tensors are uploaded. */
typedef void (*LoomSdUploadProgress) (guint64 done, guint64 total, gpointer user_data);

LoomSdWeights *loom_sd_weights_upload         (LoomDevice           *device,
                                               LoomSdCheckpoint     *checkpoint,
                                               gboolean              unet_only,
                                               LoomSdUploadProgress  progress,
                                               gpointer              progress_data,
                                               GCancellable         *cancellable,
                                               GError              **error);
void           loom_sd_weights_free           (LoomSdWeights        *self);
guint64        loom_sd_weights_get_bytes      (LoomSdWeights        *self);
const LoomSdConfig *loom_sd_weights_get_config (LoomSdWeights       *self);

/* The text encoder: @tokens n_chunks × 77 → @out n_chunks × 77 × text_dim (as
 * loom_sd_ref_text_encoder). */
gboolean loom_sd_encode_text   (LoomSdWeights  *weights,
                                const guint32  *tokens,
                                guint           n_chunks,
                                float          *out,
                                GError        **error);

/* A UNet evaluation context for one latent size and context length: the activations,
 * allocated once and reused by every step. */
typedef struct _LoomUnetState LoomUnetState;

LoomUnetState *loom_unet_state_new   (LoomSdWeights  *weights,
                                      guint           h,
                                      guint           w,
                                      guint           n_context,
                                      GError        **error);
void           loom_unet_state_free  (LoomUnetState  *self);
guint64        loom_unet_state_get_bytes (LoomUnetState *self);
/* Predictions for one latent [in_ch][h][w] at @timestep under @n_contexts contexts
 * (cond, and uncond for guidance), recorded into one command buffer: @outs[i] receives
 * [out_ch][h][w] for @contexts[i] ([n_context][context_dim]). */
gboolean       loom_unet_run         (LoomUnetState  *self,
                                      const float    *latent,
                                      float           timestep,
                                      const float * const *contexts,
                                      guint           n_contexts,
                                      float * const  *outs,
                                      GError        **error);

/* latent [4][h][w] (divided by vae_scale) → image [3][f·h][f·w] in [-1, 1], f = loom_sd_config_latent_factor(). */
gboolean loom_vae_decode       (LoomSdWeights  *weights,
                                const float    *latent,
                                guint           h,
                                guint           w,
                                float          *image,
                                GError        **error);
/* image [3][H][W] in [-1, 1] → latent mean [4][H/f][W/f] (not scaled). */
gboolean loom_vae_encode       (LoomSdWeights  *weights,
                                const float    *image,
                                guint           height,
                                guint           width,
                                float          *latent,
                                GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomSdWeights, loom_sd_weights_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomUnetState, loom_unet_state_free)

G_END_DECLS
