/* loom-text-model.c — load a Llama-family GGUF model onto a device. */
#include "config.h"

#include <string.h>

#include "formats/loom-quant.h"
#include "loom-error.h"
#include "loom-text-model-private.h"
#include "ops/loom-ops.h"
#include "runtime/loom-progress.h"
#include "runtime/loom-load-task.h"
#include "vk/loom-device-private.h"

struct _LoomTextModel
{
  GObject          parent_instance;

  LoomDevice      *device;
  char            *path;
  char            *name;
  char            *license;
  LoomLlamaConfig  config;
  LoomTokenizer   *tokenizer;

  LoomWeight       token_embd;    /* [n_vocab][dim] */
  LoomWeight       output_norm;   /* [dim] */
  LoomWeight       output;        /* [n_vocab][dim]; token_embd's buffer when tied */
  gboolean         tied_output;   /* output borrows token_embd's buffer */
  LoomWeight       rope_factors;  /* [rope_dim/2], Llama 3; optional */
  LoomLlamaLayer  *layers;        /* [n_layers] */

  guint64          n_parameters;
  guint64          weight_bytes;
};

G_DEFINE_FINAL_TYPE (LoomTextModel, loom_text_model, G_TYPE_OBJECT)

static void
weight_clear (LoomWeight *weight)
{
  g_clear_pointer (&weight->buffer, loom_buffer_free);
}

static void
loom_text_model_finalize (GObject *object)
{
  LoomTextModel *self = LOOM_TEXT_MODEL (object);

  for (guint l = 0; self->layers != NULL && l < self->config.n_layers; l++)
    {
      LoomLlamaLayer *layer = &self->layers[l];
      LoomWeight *weights[] = {
        &layer->attn_norm, &layer->wq, &layer->wk, &layer->wv, &layer->wo, &layer->bq,
        &layer->bk, &layer->bv, &layer->ffn_norm, &layer->w_gate, &layer->w_up, &layer->w_down,
      };
      for (guint w = 0; w < G_N_ELEMENTS (weights); w++)
        weight_clear (weights[w]);
    }
  g_free (self->layers);
  if (self->tied_output)
    self->output.buffer = NULL;
  weight_clear (&self->output);
  weight_clear (&self->token_embd);
  weight_clear (&self->output_norm);
  weight_clear (&self->rope_factors);
  g_clear_pointer (&self->tokenizer, loom_tokenizer_unref);
  loom_llama_config_clear (&self->config);
  g_free (self->path);
  g_free (self->name);
  g_free (self->license);
  g_clear_object (&self->device);

  G_OBJECT_CLASS (loom_text_model_parent_class)->finalize (object);
}

static void
loom_text_model_class_init (LoomTextModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = loom_text_model_finalize;
}

static void
loom_text_model_init (LoomTextModel *self)
{
}

/* What loading needs while it walks the file's tensors. */
typedef struct
{
  LoomTextModel *model;
  LoomGguf      *gguf;
  LoomProgress  *progress;     /* nullable */
  GCancellable  *cancellable;  /* nullable */
  guint64        done;         /* bytes uploaded */
  guint64        total;        /* bytes of all tensors in the file */
} Loader;

typedef enum
{
  ROLE_MATRIX,     /* multiplied with: any type the matrix kernels read */
  ROLE_EMBEDDING,  /* rows looked up: any type the row kernel reads */
  ROLE_VECTOR,     /* norms, biases, factors: stored as f32 on the device */
} Role;

static gboolean
upload (Loader        *loader,
        LoomWeight    *weight,
        gconstpointer  data,
        gsize          size,
        GError       **error)
{
  weight->buffer = loom_buffer_new (loader->model->device, size, error);
  if (weight->buffer == NULL || !loom_buffer_write (weight->buffer, 0, data, size, error))
    return FALSE;
  loader->model->weight_bytes += size;
  return TRUE;
}

/* Uploads tensor @name, checking it has @rows rows of @cols values (@rows = 0: a
 * vector of @cols). An absent tensor is an error unless @optional. */
static gboolean
load_weight (Loader     *loader,
             LoomWeight *weight,
             const char *name,
             guint64     cols,
             guint64     rows,
             Role        role,
             gboolean    optional,
             GError    **error)
{
  const LoomGgufTensor *tensor = loom_gguf_find_tensor (loader->gguf, name);
  const LoomTensorTypeInfo *info;
  gboolean shape_ok;

  if (g_cancellable_set_error_if_cancelled (loader->cancellable, error))
    return FALSE;
  if (tensor == NULL)
    {
      if (optional)
        return TRUE;
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL, "The model lacks the tensor %s",
                   name);
      return FALSE;
    }
  if (tensor->data == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The file has a vocabulary but no weights");
      return FALSE;
    }

  shape_ok = rows == 0 ? tensor->n_dims == 1 && tensor->ne[0] == cols
                       : tensor->n_dims == 2 && tensor->ne[0] == cols && tensor->ne[1] == rows;
  if (!shape_ok)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The tensor %s is %" G_GUINT64_FORMAT "×%" G_GUINT64_FORMAT " in %u "
                   "dimensions; the model's metadata calls for %" G_GUINT64_FORMAT "×%"
                   G_GUINT64_FORMAT, name, tensor->ne[0], tensor->ne[1], tensor->n_dims, cols,
                   MAX (rows, 1));
      return FALSE;
    }

  info = loom_tensor_type_get_info (tensor->type);
  weight->type = tensor->type;
  weight->cols = cols;
  weight->rows = MAX (rows, 1);
  loader->model->n_parameters += tensor->n_elements;

  if (role == ROLE_VECTOR)
    {
      g_autofree float *values = NULL;
      if (tensor->type != LOOM_TENSOR_F32 && tensor->type != LOOM_TENSOR_F16
          && tensor->type != LOOM_TENSOR_BF16)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                       "The tensor %s is stored as %s; Loom reads vectors in F32, F16 or BF16",
                       name, info->name);
          return FALSE;
        }
      values = g_new (float, cols);
      loom_dequantize (tensor->type, tensor->data, values, cols);
      weight->type = LOOM_TENSOR_F32;
      if (!upload (loader, weight, values, cols * sizeof (float), error))
        return FALSE;
    }
  else
    {
      gboolean readable = role == ROLE_MATRIX ? loom_op_linear_supports (tensor->type)
                                              : loom_op_get_row_supports (tensor->type);
      if (!readable)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                       "The tensor %s is stored as %s, which Loom cannot compute with yet",
                       name, info->name);
          return FALSE;
        }
      if (!upload (loader, weight, tensor->data, tensor->size, error))
        return FALSE;
      loom_gguf_release_tensor (loader->gguf, tensor);
    }

  loader->done += tensor->size;
  if (loader->progress != NULL)
    loom_progress_update (loader->progress, (guint) (loader->done >> 20),
                          (guint) (loader->total >> 20));
  return TRUE;
}

static gboolean
load_layer (Loader         *loader,
            guint           l,
            LoomLlamaLayer *layer,
            GError        **error)
{
  const LoomLlamaConfig *c = &loader->model->config;
  guint64 q_dim = (guint64) c->n_heads * c->head_dim;
  guint64 kv_dim = (guint64) c->n_kv_heads * c->head_dim;
  g_autofree char *prefix = g_strdup_printf ("blk.%u.", l);
#define NAME(suffix) (g_strconcat (prefix, suffix, NULL))
  g_autofree char *attn_norm = NAME ("attn_norm.weight");
  g_autofree char *wq = NAME ("attn_q.weight");
  g_autofree char *wk = NAME ("attn_k.weight");
  g_autofree char *wv = NAME ("attn_v.weight");
  g_autofree char *wo = NAME ("attn_output.weight");
  g_autofree char *bq = NAME ("attn_q.bias");
  g_autofree char *bk = NAME ("attn_k.bias");
  g_autofree char *bv = NAME ("attn_v.bias");
  g_autofree char *ffn_norm = NAME ("ffn_norm.weight");
  g_autofree char *w_gate = NAME ("ffn_gate.weight");
  g_autofree char *w_up = NAME ("ffn_up.weight");
  g_autofree char *w_down = NAME ("ffn_down.weight");
#undef NAME

  return load_weight (loader, &layer->attn_norm, attn_norm, c->dim, 0, ROLE_VECTOR, FALSE, error)
         && load_weight (loader, &layer->wq, wq, c->dim, q_dim, ROLE_MATRIX, FALSE, error)
         && load_weight (loader, &layer->wk, wk, c->dim, kv_dim, ROLE_MATRIX, FALSE, error)
         && load_weight (loader, &layer->wv, wv, c->dim, kv_dim, ROLE_MATRIX, FALSE, error)
         && load_weight (loader, &layer->wo, wo, q_dim, c->dim, ROLE_MATRIX, FALSE, error)
         && load_weight (loader, &layer->bq, bq, q_dim, 0, ROLE_VECTOR, !c->qkv_bias, error)
         && load_weight (loader, &layer->bk, bk, kv_dim, 0, ROLE_VECTOR, !c->qkv_bias, error)
         && load_weight (loader, &layer->bv, bv, kv_dim, 0, ROLE_VECTOR, !c->qkv_bias, error)
         && load_weight (loader, &layer->ffn_norm, ffn_norm, c->dim, 0, ROLE_VECTOR, FALSE, error)
         && load_weight (loader, &layer->w_gate, w_gate, c->dim, c->ffn_dim, ROLE_MATRIX, FALSE,
                         error)
         && load_weight (loader, &layer->w_up, w_up, c->dim, c->ffn_dim, ROLE_MATRIX, FALSE, error)
         && load_weight (loader, &layer->w_down, w_down, c->ffn_dim, c->dim, ROLE_MATRIX, FALSE,
                         error);
}

static gboolean
load_weights (Loader  *loader,
              GError **error)
{
  LoomTextModel *self = loader->model;
  const LoomLlamaConfig *c = &self->config;

  for (guint i = 0; i < loom_gguf_get_n_tensors (loader->gguf); i++)
    loader->total += loom_gguf_get_tensor (loader->gguf, i)->size;

  if (!load_weight (loader, &self->token_embd, "token_embd.weight", c->dim, c->n_vocab,
                    ROLE_EMBEDDING, FALSE, error)
      || !load_weight (loader, &self->output_norm, "output_norm.weight", c->dim, 0, ROLE_VECTOR,
                       FALSE, error)
      || !load_weight (loader, &self->output, "output.weight", c->dim, c->n_vocab, ROLE_MATRIX,
                       TRUE, error)
      || !load_weight (loader, &self->rope_factors, "rope_freqs.weight", c->rope_dim / 2, 0,
                       ROLE_VECTOR, TRUE, error))
    return FALSE;

  /* Without output.weight the model ties its output projection to the embedding. */
  if (self->output.buffer == NULL)
    {
      if (!loom_op_linear_supports (self->token_embd.type))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                       "The tied embedding is stored as %s, which Loom cannot multiply with yet",
                       loom_tensor_type_get_info (self->token_embd.type)->name);
          return FALSE;
        }
      self->output = self->token_embd;
      self->tied_output = TRUE;
    }

  self->layers = g_new0 (LoomLlamaLayer, c->n_layers);
  for (guint l = 0; l < c->n_layers; l++)
    if (!load_layer (loader, l, &self->layers[l], error))
      return FALSE;
  return TRUE;
}

LoomTextModel *
loom_text_model_new (LoomDevice   *device,
                     const char   *path,
                     LoomProgress *progress,
                     GCancellable *cancellable,
                     GError      **error)
{
  g_autoptr(LoomTextModel) self = g_object_new (LOOM_TYPE_TEXT_MODEL, NULL);
  g_autoptr(LoomGguf) gguf = NULL;
  Loader loader = { 0 };
  const char *name, *license;

  g_return_val_if_fail (LOOM_IS_DEVICE (device), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  self->device = g_object_ref (device);
  self->path = g_strdup (path);

  gguf = loom_gguf_open (path, error);
  if (gguf == NULL)
    return NULL;
  if (!loom_llama_config_init (&self->config, gguf, error))
    return NULL;
  self->tokenizer = loom_tokenizer_new_from_gguf (gguf, error);
  if (self->tokenizer == NULL)
    return NULL;
  if (loom_tokenizer_get_n_vocab (self->tokenizer) != self->config.n_vocab)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The tokenizer has %u tokens, the model %u",
                   loom_tokenizer_get_n_vocab (self->tokenizer), self->config.n_vocab);
      return NULL;
    }

  name = loom_gguf_get_string (gguf, "general.name");
  license = loom_gguf_get_string (gguf, "general.license");
  self->name = name != NULL ? g_strdup (name) : g_path_get_basename (path);
  self->license = g_strdup (license);

  loader.model = self;
  loader.gguf = gguf;
  loader.progress = progress;
  loader.cancellable = cancellable;
  if (!load_weights (&loader, error))
    {
      g_prefix_error (error, "%s: ", loom_gguf_get_name (gguf));
      return NULL;
    }

  /* The weights now live on the device; dropping the mapping here keeps them from being
   * held twice in memory. */
  return g_steal_pointer (&self);
}

/**
 * loom_text_model_load_async:
 * @progress_func: (nullable): called with MiB loaded and MiB in all, on the caller's
 *   main context
 *
 * Loads @path onto @device as a job of the device's worker: the file is read, checked
 * and its weights uploaded in their stored types. Cancelling stops between tensors.
 */
void
loom_text_model_load_async (LoomDevice         *device,
                            const char         *path,
                            LoomProgressFunc    progress_func,
                            gpointer            progress_data,
                            GDestroyNotify      progress_destroy,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  g_return_if_fail (LOOM_IS_DEVICE (device));
  g_return_if_fail (path != NULL);

  loom_load_task_run (device, path, (LoomLoadFunc) loom_text_model_new, loom_text_model_load_async,
                      progress_func, progress_data, progress_destroy, cancellable, callback,
                      user_data);
}

LoomTextModel *
loom_text_model_load_finish (GAsyncResult *result,
                             GError      **error)
{
  return loom_load_task_finish (result, loom_text_model_load_async, error);
}

LoomDevice *
loom_text_model_get_device (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), NULL);
  return self->device;
}

const char *
loom_text_model_get_path (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), NULL);
  return self->path;
}

const char *
loom_text_model_get_name (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), NULL);
  return self->name;
}

const char *
loom_text_model_get_architecture (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), NULL);
  return self->config.architecture;
}

/* Returns: (nullable): general.license, when the file says */
const char *
loom_text_model_get_license (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), NULL);
  return self->license;
}

guint
loom_text_model_get_context_length (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), 0);
  return self->config.context_length;
}

guint
loom_text_model_get_n_vocab (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), 0);
  return self->config.n_vocab;
}

guint64
loom_text_model_get_n_parameters (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), 0);
  return self->n_parameters;
}

/* Bytes of device memory the weights take, in their stored types. */
guint64
loom_text_model_get_weight_bytes (LoomTextModel *self)
{
  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), 0);
  return self->weight_bytes;
}

/* The tokens @text becomes, without BOS: what it costs of a context. */
guint
loom_text_model_count_tokens (LoomTextModel *self,
                              const char    *text)
{
  g_autoptr(GArray) tokens = NULL;

  g_return_val_if_fail (LOOM_IS_TEXT_MODEL (self), 0);
  tokens = loom_tokenizer_encode (self->tokenizer, text, -1, LOOM_TOKENIZE_NONE);
  return tokens->len;
}

const LoomLlamaConfig *
loom_text_model_get_config (LoomTextModel *self)
{
  return &self->config;
}

LoomTokenizer *
loom_text_model_get_tokenizer (LoomTextModel *self)
{
  return self->tokenizer;
}

const LoomWeight *
loom_text_model_get_token_embd (LoomTextModel *self)
{
  return &self->token_embd;
}

const LoomWeight *
loom_text_model_get_output_norm (LoomTextModel *self)
{
  return &self->output_norm;
}

const LoomWeight *
loom_text_model_get_output (LoomTextModel *self)
{
  return &self->output;
}

/* Returns: the Llama 3 frequency factors; their buffer is NULL when the model has none */
const LoomWeight *
loom_text_model_get_rope_factors (LoomTextModel *self)
{
  return &self->rope_factors;
}

const LoomLlamaLayer *
loom_text_model_get_layer (LoomTextModel *self,
                           guint          layer)
{
  g_return_val_if_fail (layer < self->config.n_layers, NULL);
  return &self->layers[layer];
}
