/* loom-llama-config.c — read and check the hyper-parameters. */
#include "config.h"

#include <string.h>

#include "loom-error.h"
#include "loom-llama-config.h"

static gboolean
get_dimension (LoomGguf   *gguf,
               const char *arch,
               const char *name,
               guint64     fallback,
               guint      *out,
               GError    **error)
{
  g_autofree char *key = g_strconcat (arch, ".", name, NULL);
  guint64 value = fallback;

  if (loom_gguf_get_key_type (gguf, key) != LOOM_GGUF_INVALID
      && !loom_gguf_get_uint (gguf, key, &value))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s is not a non-negative integer", key);
      return FALSE;
    }
  /* Sizes beyond a million are not a model, they are a corrupt file. */
  if (value == 0 || value > (1u << 24))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   value == 0 && fallback == 0 ? "The model lacks %s"
                                               : "%s = %" G_GUINT64_FORMAT " is out of range",
                   key, value);
      return FALSE;
    }
  *out = (guint) value;
  return TRUE;
}

static double
get_float (LoomGguf   *gguf,
           const char *arch,
           const char *name,
           double      fallback)
{
  g_autofree char *key = g_strconcat (arch, ".", name, NULL);
  double value = fallback;

  loom_gguf_get_float (gguf, key, &value);
  return value;
}

gboolean
loom_llama_config_init (LoomLlamaConfig *self,
                        LoomGguf        *gguf,
                        GError         **error)
{
  const char *arch = loom_gguf_get_string (gguf, "general.architecture");
  LoomGgufArray tokens;
  g_autofree char *scaling_key = NULL;
  const char *scaling;

  memset (self, 0, sizeof *self);
  if (arch == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The file has no general.architecture: it is not a model");
      return FALSE;
    }
  if (strcmp (arch, "llama") != 0 && strcmp (arch, "qwen2") != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                   "Loom runs Llama-family models (architectures “llama” and “qwen2”); this "
                   "one is “%s”", arch);
      return FALSE;
    }
  self->architecture = g_strdup (arch);
  self->rope_neox = strcmp (arch, "qwen2") == 0;
  self->qkv_bias = strcmp (arch, "qwen2") == 0;

  if (!get_dimension (gguf, arch, "embedding_length", 0, &self->dim, error)
      || !get_dimension (gguf, arch, "block_count", 0, &self->n_layers, error)
      || !get_dimension (gguf, arch, "feed_forward_length", 0, &self->ffn_dim, error)
      || !get_dimension (gguf, arch, "attention.head_count", 0, &self->n_heads, error)
      || !get_dimension (gguf, arch, "attention.head_count_kv", self->n_heads,
                         &self->n_kv_heads, error)
      || !get_dimension (gguf, arch, "attention.key_length", self->dim / self->n_heads,
                         &self->head_dim, error)
      || !get_dimension (gguf, arch, "context_length", 2048, &self->context_length, error)
      || !get_dimension (gguf, arch, "rope.dimension_count", self->head_dim, &self->rope_dim,
                         error))
    return FALSE;

  if (self->n_heads % self->n_kv_heads != 0 || self->head_dim % 2 != 0
      || self->rope_dim % 2 != 0 || self->rope_dim > self->head_dim)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "Inconsistent attention shape: %u heads, %u KV heads, head size %u, "
                   "%u rotated dimensions", self->n_heads, self->n_kv_heads, self->head_dim,
                   self->rope_dim);
      return FALSE;
    }

  self->norm_eps = get_float (gguf, arch, "attention.layer_norm_rms_epsilon", 1e-5);
  self->rope_freq_base = get_float (gguf, arch, "rope.freq_base", 10000.0);
  self->rope_freq_scale = 1.0f;
  scaling_key = g_strconcat (arch, ".rope.scaling.type", NULL);
  scaling = loom_gguf_get_string (gguf, scaling_key);
  if (scaling != NULL && strcmp (scaling, "none") != 0)
    {
      double factor = get_float (gguf, arch, "rope.scaling.factor", 1.0);
      /* Llama 3's scaling arrives as the rope_freqs tensor; its type says "llama3". */
      if (strcmp (scaling, "linear") == 0 && factor > 0.0)
        self->rope_freq_scale = (float) (1.0 / factor);
      else if (strcmp (scaling, "llama3") != 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED_MODEL,
                       "Loom does not support RoPE scaling “%s” yet", scaling);
          return FALSE;
        }
    }
  if (!(self->rope_freq_base > 0.0f) || !(self->norm_eps > 0.0f))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "rope.freq_base and the norm epsilon must be positive");
      return FALSE;
    }

  if (!loom_gguf_get_array (gguf, "tokenizer.ggml.tokens", &tokens) || tokens.n == 0
      || tokens.n > (1u << 24))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The model has no vocabulary (tokenizer.ggml.tokens)");
      return FALSE;
    }
  self->n_vocab = (guint) tokens.n;
  return TRUE;
}

void
loom_llama_config_clear (LoomLlamaConfig *self)
{
  g_clear_pointer (&self->architecture, g_free);
}
