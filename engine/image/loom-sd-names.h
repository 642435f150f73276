/* loom-sd-names.h — the tensors of a Stable Diffusion configuration, under their
 * canonical (diffusers, component-prefixed) names and their single-file LDM names.
 *
 * The list of what a configuration needs (loom_sd_spec_new) drives both validation when
 * a checkpoint is opened and the random-model writer; the reverse mapping
 * (loom_sd_name_from_ldm) turns the names found in a single file into canonical ones.
 * The tests check the two against each other: a model written in both layouts must read
 * back the same tensors.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

#include "image/loom-sd-config.h"

G_BEGIN_DECLS

typedef enum
{
  LOOM_SD_COMPONENT_TEXT_ENCODER = 1 << 0,
  LOOM_SD_COMPONENT_UNET         = 1 << 1,
  LOOM_SD_COMPONENT_VAE          = 1 << 2,
  LOOM_SD_COMPONENT_ALL          = 0x7,
} LoomSdComponents;

/* How the random-model writer fills a tensor (see loom-sd-random-model.c). */
typedef enum
{
  LOOM_SD_INIT_WEIGHT,           /* uniform ±√(3/fan_in) */
  LOOM_SD_INIT_BIAS,             /* uniform ±0.05 */
  LOOM_SD_INIT_NORM_WEIGHT,      /* 1 ± 0.1 */
  LOOM_SD_INIT_TOKEN_EMBEDDING,  /* uniform ±0.5 */
  LOOM_SD_INIT_POSITION,         /* uniform ±0.1 */
} LoomSdInit;

typedef struct
{
  char            *name;          /* canonical: "unet.down_blocks.0.resnets.0.conv1.weight" */
  char            *ldm_name;      /* in a single file: "model.diffusion_model.input_blocks.1.0.in_layers.2.weight" */
  guint            ldm_part;      /* 0: all of ldm_name; 1, 2, 3: the q, k or v third of an
                                   * OpenCLIP in_proj (rows part−1 of 3) */
  LoomSdComponents component;
  guint            n_dims;        /* the diffusers shape */
  gint64           shape[4];
  guint            ldm_n_dims;    /* the single-file shape: [c][c][1][1] where diffusers has [c][c] */
  gint64           ldm_shape[4];
  gsize            n_elements;
  LoomSdInit       init;
  guint            fan_in;        /* LOOM_SD_INIT_WEIGHT: inputs per output */
} LoomSdSpec;

/* The tensors @config needs from @components, in a stable order (text encoder, UNet,
 * VAE; within each, the order of the forward pass). @text_layers_stored ≥
 * config->text_layers text-encoder layers are listed (SD 2.x files store one more than
 * is run). Returns: a new array of LoomSdSpec, freed with it. */
GPtrArray *loom_sd_spec_new          (const LoomSdConfig *config,
                                      LoomSdComponents    components,
                                      guint               text_layers_stored);

/* The canonical name of a tensor of a single-file checkpoint, or NULL for what is not
 * part of the architecture (model_ema.*, position_ids, text_projection, logit_scale,
 * schedule buffers, …). @unet_res_blocks and @vae_levels place the numbered LDM blocks.
 * An OpenCLIP fused in_proj weight or bias gives ".../self_attn.in_proj.weight|bias"
 * and sets @fused_qkv: its q, k and v thirds are loom_sd_name_split_qkv(). */
char      *loom_sd_name_from_ldm     (const char         *ldm_name,
                                      guint               unet_res_blocks,
                                      guint               vae_levels,
                                      gboolean           *fused_qkv);
/* @part 0, 1, 2: the q_proj, k_proj, v_proj name of an in_proj name. */
char      *loom_sd_name_split_qkv    (const char         *in_proj_name,
                                      guint               part);
/* The canonical name of tensor @name of a diffusers folder's @component file ("unet",
 * "vae", "text_encoder"): the component prefix, and the current names for the older
 * VAE attention names (query/key/value/proj_attn). */
char      *loom_sd_name_from_diffusers (const char       *component,
                                        const char       *name);

G_END_DECLS
