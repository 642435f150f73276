/* loom-sd-ref.h — CPU reference forwards of the Stable Diffusion networks, in plain C.
 *
 * Written from the architecture's definition (LDM / diffusers), independently of the
 * Vulkan recordings in loom-clip-encoder.c, loom-unet.c and loom-vae.c, which the tests
 * compare against these. Straightforward loops with double accumulation; slow, meant
 * for the small test models. All tensors f32, feature maps [C][H][W].
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "image/loom-sd-checkpoint.h"

G_BEGIN_DECLS

/* tokens: n_chunks × 77; out: n_chunks × 77 × text_dim — the last layer's output after
 * the final layer norm (SD1), or the penultimate layer's output after the final layer
 * norm (SD2, which config->text_layers already counts). Causal self-attention. */
gboolean loom_sd_ref_text_encoder (LoomSdCheckpoint *checkpoint,
                                   const guint32    *tokens,
                                   guint             n_chunks,
                                   float            *out,
                                   GError          **error);
/* eps/v prediction [out_channels][h][w] for latent [in_channels][h][w] at @timestep,
 * with cross-attention context [n_context][context_dim]. h and w multiples of
 * 2^(levels−1). */
gboolean loom_sd_ref_unet         (LoomSdCheckpoint *checkpoint,
                                   const float      *latent,
                                   guint             h,
                                   guint             w,
                                   float             timestep,
                                   const float      *context,
                                   guint             n_context,
                                   float            *out,
                                   GError          **error);
/* latent [4][h][w] (already divided by vae_scale) → image [3][h·f][w·f] (f = loom_sd_config_latent_factor) in [-1, 1]
 * (not clamped): post_quant_conv, then the decoder. */
gboolean loom_sd_ref_vae_decode   (LoomSdCheckpoint *checkpoint,
                                   const float      *latent,
                                   guint             h,
                                   guint             w,
                                   float            *image,
                                   GError          **error);
/* image [3][H][W] in [-1, 1] → the mean of the latent distribution [4][H/f][W/f]
 * (not yet multiplied by vae_scale): the encoder, then quant_conv, first half. */
gboolean loom_sd_ref_vae_encode   (LoomSdCheckpoint *checkpoint,
                                   const float      *image,
                                   guint             height,
                                   guint             width,
                                   float            *latent,
                                   GError          **error);

G_END_DECLS
