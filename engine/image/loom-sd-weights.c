/* loom-sd-weights.c — a Stable Diffusion checkpoint's tensors uploaded once into device
 * memory, and the helpers the networks record with.
 *
 * Tensors are packed at aligned offsets into a few large buffers (a network's tensors
 * share buffers of up to a GiB) rather than one allocation each: drivers limit the
 * number of allocations and each costs a page-sized granule. Ops bind windows of these
 * buffers themselves, so a buffer may exceed the device's binding range.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "formats/loom-tensor-type.h"
#include "loom-error.h"
#include "loom-sd-networks-private.h"
#include "vk/loom-buffer.h"
#include "vk/loom-device-private.h"

/* The largest buffer the weights are packed into, below the device's own limit. */
#define PACK_LIMIT ((gsize) 1 << 30)
/* Uploads that go through staging are gathered into writes of up to this much. */
#define BATCH_BYTES ((gsize) 32 << 20)

struct _LoomSdWeights
{
  LoomDevice   *device;      /* owned reference */
  LoomSdConfig  config;
  gboolean      unet_only;
  GPtrArray    *buffers;     /* of LoomBuffer, owned */
  GHashTable   *tensors;     /* canonical name (owned) → LoomSdWeight (owned) */
  guint64       bytes;       /* device memory of the buffers */
};

/* Whether the networks read @tensor; the rest of a checkpoint stays on disk. */
static gboolean
is_needed (const LoomSdConfig *config,
           const char         *name,
           gboolean            unet_only)
{
  guint layer;

  if (g_str_has_prefix (name, "unet."))
    return TRUE;
  if (unet_only)
    return FALSE;
  if (g_str_has_prefix (name, "vae."))
    return TRUE;
  if (!g_str_has_prefix (name, "text_encoder."))
    return FALSE;
  /* SD 2.x runs the penultimate layer; OpenCLIP's projection and logit scale belong to
   * its image-text matching, not to conditioning. */
  if (sscanf (name, "text_encoder.text_model.encoder.layers.%u.", &layer) == 1)
    return layer < config->text_layers;
  return g_str_has_prefix (name, "text_encoder.text_model.");
}

/* The type a tensor is kept in on the device: F16 matrices and convolution kernels stay
 * F16 (the kernels read it); norms, biases and the position embedding, which element-wise
 * ops read, become F32, as does everything in BF16. */
static guint32
device_type (const LoomSdTensor *tensor)
{
  if (tensor->type != LOOM_TENSOR_F16)
    return LOOM_TENSOR_F32;
  if (tensor->n_dims < 2 || g_str_has_suffix (tensor->name, "position_embedding.weight"))
    return LOOM_TENSOR_F32;
  return LOOM_TENSOR_F16;
}

static const char *
component (const char *name)
{
  if (g_str_has_prefix (name, "unet."))
    return "unet";
  if (g_str_has_prefix (name, "vae."))
    return "vae";
  return "text_encoder";
}

typedef struct
{
  const LoomSdTensor *tensor;
  guint               buffer;   /* index into the packing's buffer sizes */
  gsize               offset;
  guint32             type;
  gsize               bytes;    /* on the device */
} Placement;

/* Copies gathered for a staged upload: bytes [start, start + data->len) of @buffer. */
typedef struct
{
  LoomBuffer *buffer;
  gsize       start;
  GByteArray *data;
} Batch;

static gboolean
batch_flush (Batch   *batch,
             GError **error)
{
  gboolean ok = TRUE;

  if (batch->buffer != NULL && batch->data->len > 0)
    ok = loom_buffer_write (batch->buffer, batch->start, batch->data->data, batch->data->len,
                            error);
  batch->buffer = NULL;
  g_byte_array_set_size (batch->data, 0);
  return ok;
}

/* Writes @size bytes at @offset of @buffer: in place where the host maps it, else
 * gathered with neighbouring tensors into one staged write. */
static gboolean
put (Batch         *batch,
     LoomBuffer    *buffer,
     gsize          offset,
     gconstpointer  data,
     gsize          size,
     GError       **error)
{
  guint8 *mapped = loom_buffer_get_mapped (buffer);
  gsize end;

  if (mapped != NULL)
    {
      memcpy (mapped + offset, data, size);
      return TRUE;
    }
  if (size >= BATCH_BYTES)
    return batch_flush (batch, error) && loom_buffer_write (buffer, offset, data, size, error);

  end = batch->start + batch->data->len;
  if (batch->buffer != buffer || offset < end || offset + size - batch->start > BATCH_BYTES)
    {
      if (!batch_flush (batch, error))
        return FALSE;
      batch->buffer = buffer;
      batch->start = offset;
      end = offset;
    }
  /* The alignment gap before the tensor is written as zeros. */
  g_byte_array_set_size (batch->data, (guint) (offset - batch->start));
  memset (batch->data->data + (end - batch->start), 0, offset - end);
  g_byte_array_append (batch->data, data, (guint) size);
  return TRUE;
}

static gboolean
upload_tensor (LoomSdWeights      *self,
               const Placement    *place,
               Batch              *batch,
               GError            **error)
{
  const LoomSdTensor *tensor = place->tensor;
  LoomBuffer *buffer = g_ptr_array_index (self->buffers, place->buffer);
  g_autofree float *converted = NULL;
  LoomSdWeight *weight;
  gconstpointer data = tensor->data;

  if (place->type != tensor->type)
    {
      converted = loom_sd_tensor_to_f32 (tensor);
      data = converted;
    }
  if (!put (batch, buffer, place->offset, data, place->bytes, error))
    return FALSE;

  weight = g_new0 (LoomSdWeight, 1);
  weight->buffer = buffer;
  weight->offset = place->offset;
  weight->type = place->type;
  weight->n_dims = tensor->n_dims;
  memcpy (weight->shape, tensor->shape, sizeof weight->shape);
  weight->n_elements = tensor->n_elements;
  g_hash_table_insert (self->tensors, g_strdup (tensor->name), weight);
  return TRUE;
}

/**
 * loom_sd_weights_upload:
 * @unet_only: upload only the UNet (benchmarks)
 *
 * Uploads the tensors the networks read, in their stored type where a kernel reads it.
 * Runs on a worker: it blocks on the device when uploads are staged. Cancelling stops
 * between tensors.
 */
LoomSdWeights *
loom_sd_weights_upload (LoomDevice           *device,
                        LoomSdCheckpoint     *checkpoint,
                        gboolean              unet_only,
                        LoomSdUploadProgress  progress,
                        gpointer              progress_data,
                        GCancellable         *cancellable,
                        GError              **error)
{
  LoomDeviceInfo *info;
  g_autoptr(LoomSdWeights) self = NULL;
  g_autoptr(GPtrArray) tensors = NULL;
  g_autoptr(GArray) places = NULL;
  g_autoptr(GArray) sizes = NULL;
  Batch batch = { 0 };
  const char *packing = NULL;
  gsize limit, align;
  guint64 total = 0, done = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (LOOM_IS_DEVICE (device), NULL);
  g_return_val_if_fail (checkpoint != NULL, NULL);

  info = loom_device_get_info (device);
  limit = MIN (PACK_LIMIT, info->max_allocation_size);
  align = MAX (LOOM_SD_ALIGN, info->min_storage_offset_alignment);

  self = g_new0 (LoomSdWeights, 1);
  self->device = g_object_ref (device);
  self->config = *loom_sd_checkpoint_get_config (checkpoint);
  self->unet_only = unet_only;
  self->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_buffer_free);
  self->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  /* Places every tensor first, a network's tensors together, so that the buffers are
   * allocated at their final sizes before anything is copied. */
  tensors = loom_sd_checkpoint_list (checkpoint);
  places = g_array_new (FALSE, FALSE, sizeof (Placement));
  sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (guint i = 0; i < tensors->len; i++)
    {
      const LoomSdTensor *tensor = g_ptr_array_index (tensors, i);
      Placement place = { .tensor = tensor };
      gsize *size;

      if (!is_needed (&self->config, tensor->name, unet_only))
        continue;
      if (tensor->type != LOOM_TENSOR_F32 && tensor->type != LOOM_TENSOR_F16
          && tensor->type != LOOM_TENSOR_BF16)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                       "The tensor %s is of a type Loom cannot compute with", tensor->name);
          return NULL;
        }
      place.type = device_type (tensor);
      place.bytes = tensor->n_elements * (place.type == LOOM_TENSOR_F16 ? 2 : 4);
      if (place.bytes > info->max_allocation_size)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_DEVICE_MEMORY,
                       "The tensor %s (%" G_GSIZE_FORMAT " MiB) is larger than the device "
                       "can allocate at once", tensor->name, place.bytes >> 20);
          return NULL;
        }

      size = sizes->len > 0 ? &g_array_index (sizes, gsize, sizes->len - 1) : NULL;
      if (size == NULL || packing != component (tensor->name)
          || (*size + align - 1) / align * align + place.bytes > limit)
        {
          gsize zero = 0;
          g_array_append_val (sizes, zero);
          size = &g_array_index (sizes, gsize, sizes->len - 1);
          packing = component (tensor->name);
        }
      place.buffer = sizes->len - 1;
      place.offset = (*size + align - 1) / align * align;
      *size = place.offset + place.bytes;
      g_array_append_val (places, place);
      total += tensor->bytes;
    }

  for (guint i = 0; i < sizes->len; i++)
    {
      LoomBuffer *buffer = loom_buffer_new (device, g_array_index (sizes, gsize, i), error);
      if (buffer == NULL)
        {
          g_prefix_error (error, "Uploading the weights: ");
          return NULL;
        }
      g_ptr_array_add (self->buffers, buffer);
      self->bytes += loom_buffer_get_size (buffer);
    }

  batch.data = g_byte_array_new ();
  for (guint i = 0; ok && i < places->len; i++)
    {
      const Placement *place = &g_array_index (places, Placement, i);

      ok = !g_cancellable_set_error_if_cancelled (cancellable, error)
           && upload_tensor (self, place, &batch, error);
      done += place->tensor->bytes;
      if (ok && progress != NULL)
        progress (done, total, progress_data);
    }
  ok = ok && batch_flush (&batch, error);
  g_byte_array_unref (batch.data);
  if (!ok)
    return NULL;

  return g_steal_pointer (&self);
}

void
loom_sd_weights_free (LoomSdWeights *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->tensors, g_hash_table_unref);
  g_clear_pointer (&self->buffers, g_ptr_array_unref);
  g_clear_object (&self->device);
  g_free (self);
}

/* Bytes of device memory the weights take. */
guint64
loom_sd_weights_get_bytes (LoomSdWeights *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->bytes;
}

const LoomSdConfig *
loom_sd_weights_get_config (LoomSdWeights *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return &self->config;
}

LoomDevice *
loom_sd_weights_get_device (LoomSdWeights *self)
{
  return self->device;
}

gboolean
loom_sd_weights_has_text_and_vae (LoomSdWeights *self,
                                  GError       **error)
{
  if (self->unet_only)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "Only the UNet of this model was uploaded");
      return FALSE;
    }
  return TRUE;
}

const LoomSdWeight *
loom_sd_weights_lookup (LoomSdWeights *self,
                        const char    *name)
{
  return g_hash_table_lookup (self->tensors, name);
}

/* Looks up @prefix.@suffix; when absent and not @optional, keeps an error in @cmd. */
static const LoomSdWeight *
find (LoomCommand   *cmd,
      LoomSdWeights *weights,
      const char    *prefix,
      const char    *suffix,
      gboolean       optional)
{
  g_autofree char *name = g_strconcat (prefix, ".", suffix, NULL);
  const LoomSdWeight *weight = loom_sd_weights_lookup (weights, name);

  if (weight == NULL && !optional)
    loom_command_set_error (cmd, g_error_new (LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                                              "The model lacks the tensor %s", name));
  return weight;
}

static gboolean
shape_error (LoomCommand *cmd,
             const char  *prefix,
             const char  *expected)
{
  loom_command_set_error (cmd, g_error_new (LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                                            "The tensor %s.weight is not %s", prefix, expected));
  return FALSE;
}

/* An F32 vector of @n values (a bias or a norm's scale), or NULL after an error. */
static const LoomSdWeight *
find_vector (LoomCommand   *cmd,
             LoomSdWeights *weights,
             const char    *prefix,
             const char    *suffix,
             gsize          n,
             gboolean       optional)
{
  const LoomSdWeight *weight = find (cmd, weights, prefix, suffix, optional);

  if (weight != NULL && (weight->n_elements != n || weight->type != LOOM_TENSOR_F32))
    {
      loom_command_set_error (cmd, g_error_new (LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                                                "The tensor %s.%s does not hold %" G_GSIZE_FORMAT
                                                " values", prefix, suffix, n));
      return NULL;
    }
  return weight;
}

gboolean
loom_sd_record_linear (LoomCommand   *cmd,
                       LoomSdWeights *weights,
                       const char    *prefix,
                       LoomView       x,
                       LoomView       out,
                       gsize          m,
                       gsize          n,
                       gsize          k)
{
  const LoomSdWeight *w = find (cmd, weights, prefix, "weight", FALSE);
  g_autofree char *bias_name = g_strconcat (prefix, ".bias", NULL);
  gboolean has_bias = loom_sd_weights_lookup (weights, bias_name) != NULL;
  const LoomSdWeight *b = has_bias ? find_vector (cmd, weights, prefix, "bias", n, FALSE) : NULL;

  if (w == NULL || (has_bias && b == NULL))
    return FALSE;
  /* A 1×1 convolution's kernel [n][k][1][1] is the same data as a linear layer's. */
  if (w->shape[0] != (gint64) n || w->n_elements != n * k
      || (w->n_dims != 2 && w->n_dims != 4))
    return shape_error (cmd, prefix, "a linear layer of the expected size");

  loom_op_linear (cmd, x, loom_sd_weight_view (w), w->type, out, m, n, k);
  if (b != NULL)
    loom_op_bias (cmd, out, loom_sd_weight_view (b), m, n);
  return TRUE;
}

gboolean
loom_sd_record_conv (LoomCommand   *cmd,
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
                     gboolean       pad_extra_end)
{
  const LoomSdWeight *kernel = find (cmd, weights, prefix, "weight", FALSE);
  const LoomSdWeight *bias = find_vector (cmd, weights, prefix, "bias", c_out, TRUE);
  LoomView bias_view = { 0 };
  LoomConv2d conv = {
    .c_in = c_in,
    .h = h,
    .w = w,
    .c_out = c_out,
    .stride = stride,
    .pad = pad,
    .pad_extra_end = pad_extra_end,
  };

  if (kernel == NULL)
    return FALSE;
  if (kernel->n_dims != 4 || kernel->shape[0] != (gint64) c_out
      || kernel->shape[1] != (gint64) c_in || kernel->shape[2] != kernel->shape[3])
    return shape_error (cmd, prefix, "a convolution of the expected size");
  conv.kernel = (guint) kernel->shape[2];
  conv.w_type = kernel->type;

  if (bias != NULL)
    bias_view = loom_sd_weight_view (bias);
  loom_op_conv2d (cmd, x, loom_sd_weight_view (kernel), bias != NULL ? &bias_view : NULL, out,
                  &conv);
  return TRUE;
}

gboolean
loom_sd_record_group_norm (LoomCommand   *cmd,
                           LoomSdWeights *weights,
                           const char    *prefix,
                           LoomView       x,
                           LoomView       out,
                           gsize          channels,
                           gsize          hw,
                           gsize          groups,
                           float          eps,
                           gboolean       silu)
{
  const LoomSdWeight *scale = find_vector (cmd, weights, prefix, "weight", channels, FALSE);
  const LoomSdWeight *shift = find_vector (cmd, weights, prefix, "bias", channels, FALSE);

  if (scale == NULL || shift == NULL)
    return FALSE;
  loom_op_group_norm (cmd, x, loom_sd_weight_view (scale), loom_sd_weight_view (shift), out,
                      channels, hw, groups, eps, silu);
  return TRUE;
}

gboolean
loom_sd_record_layer_norm (LoomCommand   *cmd,
                           LoomSdWeights *weights,
                           const char    *prefix,
                           LoomView       x,
                           LoomView       out,
                           gsize          rows,
                           gsize          cols,
                           float          eps)
{
  const LoomSdWeight *scale = find_vector (cmd, weights, prefix, "weight", cols, FALSE);
  const LoomSdWeight *shift = find_vector (cmd, weights, prefix, "bias", cols, FALSE);

  if (scale == NULL || shift == NULL)
    return FALSE;
  loom_op_layer_norm (cmd, x, loom_sd_weight_view (scale), loom_sd_weight_view (shift), out,
                      rows, cols, eps);
  return TRUE;
}

gboolean
loom_sd_io_init (LoomSdIo   *io,
                 LoomDevice *device,
                 gsize       size,
                 gboolean    upload,
                 GError    **error)
{
  *io = (LoomSdIo) { .size = size };
  io->buffer = loom_buffer_new (device, MAX (size, 4), error);
  if (io->buffer == NULL)
    return FALSE;
  if (loom_buffer_get_mapped (io->buffer) == NULL)
    {
      io->staging = loom_buffer_new_for_use (device, MAX (size, 4),
                                             upload ? LOOM_MEMORY_UPLOAD : LOOM_MEMORY_READBACK,
                                             error);
      if (io->staging == NULL)
        {
          loom_sd_io_clear (io);
          return FALSE;
        }
    }
  return TRUE;
}

void
loom_sd_io_clear (LoomSdIo *io)
{
  g_clear_pointer (&io->buffer, loom_buffer_free);
  g_clear_pointer (&io->staging, loom_buffer_free);
  io->size = 0;
}

void
loom_sd_io_record_write (LoomSdIo      *io,
                         LoomCommand   *cmd,
                         gsize          offset,
                         gconstpointer  data,
                         gsize          size)
{
  LoomBuffer *host = io->staging != NULL ? io->staging : io->buffer;

  g_return_if_fail (offset + size <= io->size);
  memcpy ((guint8 *) loom_buffer_get_mapped (host) + offset, data, size);
  if (io->staging != NULL)
    loom_command_copy (cmd, io->staging, offset, io->buffer, offset, size);
}

void
loom_sd_io_record_read (LoomSdIo    *io,
                        LoomCommand *cmd,
                        gsize        offset,
                        gsize        size)
{
  g_return_if_fail (offset + size <= io->size);
  if (io->staging != NULL)
    loom_command_copy (cmd, io->buffer, offset, io->staging, offset, size);
}

void
loom_sd_io_read (LoomSdIo *io,
                 gsize     offset,
                 gpointer  data,
                 gsize     size)
{
  LoomBuffer *host = io->staging != NULL ? io->staging : io->buffer;

  g_return_if_fail (offset + size <= io->size);
  memcpy (data, (const guint8 *) loom_buffer_get_mapped (host) + offset, size);
}
