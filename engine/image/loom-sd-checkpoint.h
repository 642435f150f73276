/* loom-sd-checkpoint.h — a Stable Diffusion checkpoint opened for reading: its
 * configuration and its tensors under one canonical naming.
 *
 * Two layouts are read: a single-file `.safetensors` with the original LDM names
 * (model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.* for
 * SD 1.x, cond_stage_model.model.* for SD 2.x) and a diffusers folder (unet/, vae/,
 * text_encoder/, tokenizer/, scheduler/). Either way, tensors are found under the
 * diffusers names with a component prefix:
 *
 *   unet.down_blocks.0.resnets.0.conv1.weight
 *   vae.decoder.up_blocks.3.resnets.2.norm1.bias
 *   vae.decoder.mid_block.attentions.0.to_q.weight        (also for query/key/value files)
 *   text_encoder.text_model.encoder.layers.11.self_attn.q_proj.weight
 *
 * OpenCLIP's fused in_proj_weight/bias is exposed as q_proj/k_proj/v_proj views into
 * it; 1×1 convolution weights [c][c][1][1] where diffusers has linear [c][c] (VAE
 * attention, SD1 proj_in/proj_out) keep their 4-D shape (same data). The data are
 * views into the mmapped files; F32, F16 and BF16 are accepted.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <gio/gio.h>

#include "image/loom-sd-config.h"

G_BEGIN_DECLS

typedef struct
{
  const char   *name;      /* canonical */
  guint32       type;      /* LOOM_TENSOR_F32, LOOM_TENSOR_F16 or LOOM_TENSOR_BF16 */
  guint         n_dims;
  gint64        shape[4];  /* outermost first, as in the file */
  gsize         n_elements;
  const guint8 *data;      /* n_elements values of @type, inside the mapped file */
  gsize         bytes;
} LoomSdTensor;

typedef struct _LoomSdCheckpoint LoomSdCheckpoint;

/* Opens @path (a .safetensors file or a diffusers folder), validates every tensor the
 * architecture needs (present, right shape and type) and derives the configuration.
 * Other families (SDXL, SD3, Flux, inpainting UNets with 9 input channels) fail with
 * LOOM_ERROR_UNSUPPORTED_MODEL naming what was found. */
LoomSdCheckpoint   *loom_sd_checkpoint_open        (const char         *path,
                                                    GError            **error);
void                loom_sd_checkpoint_free        (LoomSdCheckpoint   *self);
const LoomSdConfig *loom_sd_checkpoint_get_config  (LoomSdCheckpoint   *self);
/* Overrides what the files cannot tell for sure (prediction type, turbo). */
void                loom_sd_checkpoint_set_config  (LoomSdCheckpoint   *self,
                                                    const LoomSdConfig *config);
const char         *loom_sd_checkpoint_get_path    (LoomSdCheckpoint   *self);
/* "single-file" or "diffusers" */
const char         *loom_sd_checkpoint_get_layout  (LoomSdCheckpoint   *self);
/* Whether @component ("unet", "vae", "text_encoder") is in the checkpoint: the UNet
 * always is; a file without the text encoder or the VAE (a UNet-only benchmark model)
 * opens, with those fields of the configuration 0. */
gboolean            loom_sd_checkpoint_has_component (LoomSdCheckpoint *self,
                                                      const char       *component);
/* NULL when absent. */
const LoomSdTensor *loom_sd_checkpoint_lookup      (LoomSdCheckpoint   *self,
                                                    const char         *name);
/* printf-style lookup: loom_sd_checkpoint_lookupf (c, "unet.down_blocks.%u.resnets.%u.conv1.weight", i, j) */
const LoomSdTensor *loom_sd_checkpoint_lookupf     (LoomSdCheckpoint   *self,
                                                    const char         *format,
                                                    ...) G_GNUC_PRINTF (2, 3);
/* Every canonical tensor, in a stable order (for uploading). */
GPtrArray          *loom_sd_checkpoint_list        (LoomSdCheckpoint   *self);
/* The tokenizer's files when the checkpoint brings them (diffusers tokenizer/vocab.json
 * and merges.txt), else NULL: the bundled CLIP merges are used. */
const char         *loom_sd_checkpoint_get_vocab_path  (LoomSdCheckpoint *self);
const char         *loom_sd_checkpoint_get_merges_path (LoomSdCheckpoint *self);
/* Values of a tensor as f32 (converted from F16/BF16), newly allocated: for the CPU
 * reference and for small tensors (norms, biases). */
float              *loom_sd_tensor_to_f32          (const LoomSdTensor *tensor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomSdCheckpoint, loom_sd_checkpoint_free)

G_END_DECLS
