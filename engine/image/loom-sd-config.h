/* loom-sd-config.h — the hyper-parameters of a Stable Diffusion 1.x / 2.x checkpoint.
 *
 * Everything a shape can tell is read from the tensors' shapes (channel counts, levels,
 * blocks per level, layers, vocabulary, context width), so that small test models of the
 * same architecture load through the same code; what shapes cannot tell (head counts,
 * group counts, activation, prediction type) follows the family's published
 * configuration, from a diffusers folder's config.json files when there is one.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define LOOM_SD_MAX_LEVELS 6

typedef enum
{
  LOOM_SD_FAMILY_SD1,    /* OpenAI CLIP ViT-L/14 text tower, 8 heads per UNet block */
  LOOM_SD_FAMILY_SD2,    /* OpenCLIP ViT-H/14 text tower (penultimate layer), 64-wide heads */
} LoomSdFamily;

typedef enum
{
  LOOM_SD_PREDICTION_EPSILON,
  LOOM_SD_PREDICTION_V,
} LoomSdPrediction;

typedef struct
{
  LoomSdFamily     family;
  LoomSdPrediction prediction;
  gboolean         turbo;              /* SD-Turbo: few steps, no guidance by default */
  guint            native_size;        /* pixels: 512, or 768 for SD 2.x v-prediction */

  /* CLIP text encoder */
  guint    text_vocab;                 /* 49408 */
  guint    text_positions;             /* 77 */
  guint    text_dim;                   /* 768 (SD1), 1024 (SD2) */
  guint    text_layers;                /* layers run: 12 (SD1), 23 of 24 (SD2, penultimate) */
  guint    text_heads;                 /* text_dim / 64 */
  guint    text_ffn;                   /* 3072, 4096 */
  gboolean text_quick_gelu;            /* SD1: x·σ(1.702x); SD2: erf GELU */
  float    text_eps;                   /* 1e-5 */

  /* UNet */
  guint    unet_in_channels;           /* 4 */
  guint    unet_out_channels;          /* 4 */
  guint    unet_channels;              /* 320: channels of level 0 */
  guint    unet_levels;                /* 4 */
  guint    unet_level_channels[LOOM_SD_MAX_LEVELS];  /* 320, 640, 1280, 1280 */
  gboolean unet_level_attention[LOOM_SD_MAX_LEVELS]; /* TRUE, TRUE, TRUE, FALSE */
  guint    unet_level_heads[LOOM_SD_MAX_LEVELS];     /* SD1: 8; SD2: channels / 64 */
  guint    unet_res_blocks;            /* 2 per down level; up levels have one more */
  guint    unet_time_dim;              /* 1280 = 4 · unet_channels */
  guint    unet_context_dim;           /* 768, 1024: the text encoder's width */
  gboolean unet_linear_proj;           /* SD2: proj_in/out are linear; SD1: 1×1 convs */
  guint    unet_groups;                /* 32 */

  /* VAE (the KL autoencoder, f = 8) */
  guint    vae_latent_channels;        /* 4 */
  guint    vae_channels;               /* 128 */
  guint    vae_levels;                 /* 4 */
  guint    vae_level_channels[LOOM_SD_MAX_LEVELS];   /* 128, 256, 512, 512 */
  guint    vae_res_blocks;             /* 2 per encoder level, 3 per decoder level */
  guint    vae_groups;                 /* 32 */
  float    vae_scale;                  /* 0.18215 */
} LoomSdConfig;

const char *loom_sd_family_to_string     (LoomSdFamily      family);
const char *loom_sd_prediction_to_string (LoomSdPrediction  prediction);
/* "SD 1.x", "SD 2.x", "SD 2.x (v)", "SD-Turbo": what the user is shown. */
const char *loom_sd_config_describe      (const LoomSdConfig *config);
/* The factor between pixels and latent cells (2^(vae_levels − 1), 8 for SD). */
guint       loom_sd_config_latent_factor (const LoomSdConfig *config);

G_END_DECLS
