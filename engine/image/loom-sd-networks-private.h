/* loom-sd-networks-private.h — what loom-clip-encoder.c, loom-unet.c and loom-vae.c share:
 * the uploaded weights by name, recording helpers that look them up, and the transfers
 * of a run's input and result.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include "image/loom-sd-networks.h"
#include "ops/loom-ops.h"

G_BEGIN_DECLS

/* A tensor in device memory: a place in one of the weights' buffers. */
typedef struct
{
  LoomBuffer *buffer;    /* borrowed from the LoomSdWeights */
  gsize       offset;    /* bytes, a multiple of the device's storage alignment */
  guint32     type;      /* LOOM_TENSOR_F32 or LOOM_TENSOR_F16 */
  guint       n_dims;
  gint64      shape[4];  /* outermost first, as in the file */
  gsize       n_elements;
} LoomSdWeight;

static inline LoomView
loom_sd_weight_view (const LoomSdWeight *weight)
{
  return loom_view (weight->buffer, weight->offset);
}

LoomDevice         *loom_sd_weights_get_device (LoomSdWeights *self);
gboolean            loom_sd_weights_has_text_and_vae (LoomSdWeights *self,
                                                      GError       **error);
/* NULL when the weights hold no such tensor. */
const LoomSdWeight *loom_sd_weights_lookup     (LoomSdWeights *self,
                                                const char    *name);

/* Byte offsets of activations inside a buffer: kept at this alignment so that every op
 * can bind them, whatever element size it reads them in. */
#define LOOM_SD_ALIGN 256

static inline gsize
loom_sd_align (gsize bytes)
{
  return (bytes + LOOM_SD_ALIGN - 1) / LOOM_SD_ALIGN * LOOM_SD_ALIGN;
}

/* Recording helpers. Each looks up @prefix + ".weight" (and ".bias" where the layer has
 * one), checks the shape against the arguments and records the op; a missing or
 * misshapen tensor is kept as the command's error (LOOM_ERROR_INVALID_MODEL, returned by
 * loom_command_submit()) and nothing is recorded. */

/* out [m][n] = x [m][k] · Wᵀ (+ bias), W [n][k] or a 1×1 convolution [n][k][1][1]. */
gboolean loom_sd_record_linear     (LoomCommand   *cmd,
                                    LoomSdWeights *weights,
                                    const char    *prefix,
                                    LoomView       x,
                                    LoomView       out,
                                    gsize          m,
                                    gsize          n,
                                    gsize          k);
/* out [c_out][h'][w'] = conv(x [c_in][h][w]) + bias; the kernel size is the weight's. */
gboolean loom_sd_record_conv       (LoomCommand   *cmd,
                                    LoomSdWeights *weights,
                                    const char    *prefix,
                                    LoomView       x,
                                    LoomView       out,
                                    gsize          c_in,
                                    gsize          h,
                                    gsize          w,
                                    gsize          c_out,
                                    guint          stride,
                                    guint          pad,
                                    gboolean       pad_extra_end);
gboolean loom_sd_record_group_norm (LoomCommand   *cmd,
                                    LoomSdWeights *weights,
                                    const char    *prefix,
                                    LoomView       x,
                                    LoomView       out,
                                    gsize          channels,
                                    gsize          hw,
                                    gsize          groups,
                                    float          eps,
                                    gboolean       silu);
gboolean loom_sd_record_layer_norm (LoomCommand   *cmd,
                                    LoomSdWeights *weights,
                                    const char    *prefix,
                                    LoomView       x,
                                    LoomView       out,
                                    gsize          rows,
                                    gsize          cols,
                                    float          eps);

/* A run's input or result: a device buffer the ops use and, where the host cannot map
 * it (discrete GPUs), a host-visible staging buffer that a copy recorded in the same
 * command buffer fills from or empties into, so that a run stays one submission. */
typedef struct
{
  LoomBuffer *buffer;   /* owned */
  LoomBuffer *staging;  /* owned; NULL on unified memory */
  gsize       size;
} LoomSdIo;

gboolean loom_sd_io_init           (LoomSdIo       *io,
                                    LoomDevice     *device,
                                    gsize           size,
                                    gboolean        upload,
                                    GError        **error);
void     loom_sd_io_clear          (LoomSdIo       *io);
/* Copies @data into host-visible memory now and records its transfer to the device
 * buffer (if staged): the command must be submitted before the buffer is written again. */
void     loom_sd_io_record_write   (LoomSdIo       *io,
                                    LoomCommand    *cmd,
                                    gsize           offset,
                                    gconstpointer   data,
                                    gsize           size);
/* Records the transfer of a result to host-visible memory (if staged). */
void     loom_sd_io_record_read    (LoomSdIo       *io,
                                    LoomCommand    *cmd,
                                    gsize           offset,
                                    gsize           size);
/* After the submission: copies the result out. */
void     loom_sd_io_read           (LoomSdIo       *io,
                                    gsize           offset,
                                    gpointer        data,
                                    gsize           size);

G_END_DECLS
