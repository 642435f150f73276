/* loom-sd-random-model.h — random-weight Stable Diffusion checkpoints in the real
 * tensor layouts, for tests and benchmarks (nothing to download).
 *
 * The weights are drawn from a seeded generator with fan-in scaling (so activations stay
 * O(1) through the networks) and written either as one LDM-named .safetensors file or
 * as a diffusers folder (unet/, vae/, text_encoder/ with config.json and
 * diffusion_pytorch_model.safetensors / model.safetensors, scheduler/scheduler_config.json,
 * model_index.json, and tokenizer/ when a merges file is given). The same options and
 * seed give the same weights in both layouts.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "image/loom-sd-config.h"

G_BEGIN_DECLS

typedef enum
{
  LOOM_SD_LAYOUT_SINGLE_FILE,
  LOOM_SD_LAYOUT_DIFFUSERS,
} LoomSdLayout;

typedef struct
{
  LoomSdConfig config;       /* the architecture; see loom_sd_random_config_* */
  guint32      weight_type;  /* LOOM_TENSOR_F32 or LOOM_TENSOR_F16 (norms and biases too) */
  guint64      seed;
  gboolean     unet_only;    /* only the UNet (the full-size benchmark) */
} LoomSdRandomOptions;

/* Small models of the real architectures, small enough that the CPU reference runs a
 * 16×16 latent in seconds: SD1 (text 64 wide, 2 layers, 1 head, quick GELU; UNet
 * 32/64 channels, 2 levels, attention at level 0, 8 heads as SD1 has, 1 res block;
 * VAE 32/64 channels, 2 levels, 1 res block) and SD2 (OpenCLIP naming, erf GELU, linear
 * projections, 64-wide heads: UNet 64/128 channels). The VAE factor of these small
 * models is 2^(levels−1) = 2; loom_sd_config_latent_factor() says so. */
void     loom_sd_random_config_small_sd1 (LoomSdConfig *config);
void     loom_sd_random_config_small_sd2 (LoomSdConfig *config);
/* The full SD 1.5 architecture (860M-parameter UNet, ViT-L/14, 83M VAE). */
void     loom_sd_random_config_sd15      (LoomSdConfig *config);

/* @merges_path (nullable): CLIP merges to write tokenizer/vocab.json + merges.txt from,
 * for diffusers folders. */
gboolean loom_sd_random_model_write (const LoomSdRandomOptions *options,
                                     LoomSdLayout               layout,
                                     const char                *path,
                                     const char                *merges_path,
                                     GError                   **error);

/* A stand-in for CLIP's merges (bpe_simple_vocab_16e6.txt) of the same form and size,
 * for tests with no download: @merges_path above, or $LOOM_CLIP_MERGES. */
gboolean loom_sd_random_merges_write (const char                *path,
                                      GError                   **error);

G_END_DECLS
