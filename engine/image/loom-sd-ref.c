/* loom-sd-ref.c — CPU reference forwards of the CLIP text encoder, the UNet and the VAE.
 *
 * Written from the published architecture (LDM's openaimodel.py and model.py, diffusers'
 * UNet2DConditionModel and AutoencoderKL, CLIP's text transformer), one plain loop per
 * operation, sums in double precision. Weights are converted to f32 when used and freed
 * after. Feature maps are [C][H][W], token sequences [tokens][features].
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "loom-error.h"
#include "image/loom-sd-ref.h"
#include "image/loom-sd-ref-private.h"

#define TEXT_TOKENS      77     /* per chunk */
#define UNET_NORM_EPS    1e-5f  /* the UNet's resnets and output GroupNorm */
#define UNET_ATTN_EPS    1e-6f  /* the GroupNorm before a transformer */
#define LAYER_NORM_EPS   1e-5f
#define VAE_EPS          1e-6f

/* The network being run. The UNet and the VAE's halves are walked by the same code
 * (resnets, attention, down and up blocks, mid block): what tells them apart is here. */
typedef struct
{
  LoomSdCheckpoint   *checkpoint;
  const LoomSdConfig *config;
  const char         *prefix;           /* "unet", "vae.encoder", "vae.decoder" */
  gsize               groups;           /* of every GroupNorm */
  float               eps;              /* of the resnets' and the output's GroupNorms */
  guint               levels;
  guint               res_blocks;       /* per down level; the up levels have one more */
  const guint        *level_channels;
  const gboolean     *level_attention;  /* NULL: no level has attention (VAE) */
  const guint        *level_heads;
  guint               down_pad_before;  /* LDM's VAE pads only right and bottom */
  /* UNet only, NULL in the VAE: silu(time embedding) [time_dim], which every resnet adds,
   * and the context [n_context][context_dim] the transformers attend to. A VAE's
   * attention is a single-head self-attention instead. */
  const float        *temb;
  const float        *context;
  gsize               n_context;
} Ref;

static void
ref_init (Ref              *r,
          LoomSdCheckpoint *checkpoint)
{
  memset (r, 0, sizeof *r);
  r->checkpoint = checkpoint;
  r->config = loom_sd_checkpoint_get_config (checkpoint);
}

static void
ref_init_unet (Ref              *r,
               LoomSdCheckpoint *checkpoint)
{
  const LoomSdConfig *c;

  ref_init (r, checkpoint);
  c = r->config;
  r->prefix = "unet";
  r->groups = c->unet_groups;
  r->eps = UNET_NORM_EPS;
  r->levels = c->unet_levels;
  r->res_blocks = c->unet_res_blocks;
  r->level_channels = c->unet_level_channels;
  r->level_attention = c->unet_level_attention;
  r->level_heads = c->unet_level_heads;
  r->down_pad_before = 1;
}

static void
ref_init_vae (Ref              *r,
              LoomSdCheckpoint *checkpoint,
              const char       *prefix)
{
  const LoomSdConfig *c;

  ref_init (r, checkpoint);
  c = r->config;
  r->prefix = prefix;
  r->groups = c->vae_groups;
  r->eps = VAE_EPS;
  r->levels = c->vae_levels;
  r->res_blocks = c->vae_res_blocks;
  r->level_channels = c->vae_level_channels;
  r->down_pad_before = 0;
}

/* The f32 values of tensor @format…, which must hold @n values; NULL (with @error set)
 * when the checkpoint lacks it. */
static float * G_GNUC_PRINTF (4, 5)
weight (Ref         *r,
        gsize        n,
        GError     **error,
        const char  *format,
        ...)
{
  va_list args;
  g_autofree char *name = NULL;
  const LoomSdTensor *t;

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);
  t = loom_sd_checkpoint_lookup (r->checkpoint, name);
  if (t == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The checkpoint has no tensor %s", name);
      return NULL;
    }
  if (t->n_elements != n)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "Tensor %s has %" G_GSIZE_FORMAT " values, expected %" G_GSIZE_FORMAT,
                   name, t->n_elements, n);
      return NULL;
    }
  return loom_sd_tensor_to_f32 (t);
}

/* Elementary operations (documented in loom-sd-ref-private.h). */

static float
silu (float x)
{
  return (float) (x / (1.0 + exp (-(double) x)));
}

static float
gelu_erf (float x)
{
  return (float) (0.5 * x * (1.0 + erf (x / sqrt (2.0))));
}

static float
quick_gelu (float x)
{
  return (float) (x / (1.0 + exp (-1.702 * x)));
}

void
loom_sd_ref_linear (const float *x,
                    const float *w,
                    const float *b,
                    gsize        n,
                    gsize        in,
                    gsize        out,
                    float       *y)
{
  for (gsize r = 0; r < n; r++)
    for (gsize o = 0; o < out; o++)
      {
        double acc = b != NULL ? b[o] : 0.0;
        const float *xr = x + r * in, *wr = w + o * in;

        for (gsize i = 0; i < in; i++)
          acc += (double) xr[i] * wr[i];
        y[r * out + o] = (float) acc;
      }
}

void
loom_sd_ref_conv2d (const float *x,
                    gsize        c_in,
                    gsize        h,
                    gsize        w,
                    const float *kernel,
                    const float *bias,
                    gsize        c_out,
                    guint        k,
                    guint        stride,
                    guint        pad_before,
                    guint        pad_after,
                    float       *out)
{
  gsize oh = (h + pad_before + pad_after - k) / stride + 1;
  gsize ow = (w + pad_before + pad_after - k) / stride + 1;
  g_autofree double *acc = g_new (double, oh * ow);

  for (gsize o = 0; o < c_out; o++)
    {
      for (gsize p = 0; p < oh * ow; p++)
        acc[p] = bias != NULL ? bias[o] : 0.0;
      for (gsize i = 0; i < c_in; i++)
        for (guint ky = 0; ky < k; ky++)
          for (guint kx = 0; kx < k; kx++)
            {
              double wv = kernel[((o * c_in + i) * k + ky) * k + kx];
              const float *plane = x + i * h * w;

              for (gsize oy = 0; oy < oh; oy++)
                {
                  gssize iy = (gssize) (oy * stride + ky) - (gssize) pad_before;

                  if (iy < 0 || iy >= (gssize) h)
                    continue;
                  for (gsize ox = 0; ox < ow; ox++)
                    {
                      gssize ix = (gssize) (ox * stride + kx) - (gssize) pad_before;

                      if (ix < 0 || ix >= (gssize) w)
                        continue;
                      acc[oy * ow + ox] += wv * plane[iy * (gssize) w + ix];
                    }
                }
            }
      for (gsize p = 0; p < oh * ow; p++)
        out[o * oh * ow + p] = (float) acc[p];
    }
}

void
loom_sd_ref_group_norm (const float *x,
                        const float *gamma,
                        const float *beta,
                        gsize        channels,
                        gsize        hw,
                        gsize        groups,
                        float        eps,
                        gboolean     with_silu,
                        float       *out)
{
  gsize per = channels / groups;

  for (gsize g = 0; g < groups; g++)
    {
      const float *xg = x + g * per * hw;
      gsize n = per * hw;
      double mean = 0, var = 0, inv;

      for (gsize i = 0; i < n; i++)
        mean += xg[i];
      mean /= (double) n;
      for (gsize i = 0; i < n; i++)
        var += (xg[i] - mean) * (xg[i] - mean);
      var /= (double) n;
      inv = 1.0 / sqrt (var + eps);
      for (gsize c = g * per; c < (g + 1) * per; c++)
        for (gsize i = 0; i < hw; i++)
          {
            float v = (float) ((x[c * hw + i] - mean) * inv * gamma[c] + beta[c]);

            out[c * hw + i] = with_silu ? silu (v) : v;
          }
    }
}

void
loom_sd_ref_layer_norm (const float *x,
                        const float *gamma,
                        const float *beta,
                        gsize        rows,
                        gsize        cols,
                        float        eps,
                        float       *out)
{
  for (gsize r = 0; r < rows; r++)
    {
      const float *xr = x + r * cols;
      double mean = 0, var = 0, inv;

      for (gsize i = 0; i < cols; i++)
        mean += xr[i];
      mean /= (double) cols;
      for (gsize i = 0; i < cols; i++)
        var += (xr[i] - mean) * (xr[i] - mean);
      var /= (double) cols;
      inv = 1.0 / sqrt (var + eps);
      for (gsize i = 0; i < cols; i++)
        out[r * cols + i] = (float) ((xr[i] - mean) * inv * gamma[i] + beta[i]);
    }
}

void
loom_sd_ref_attention (const float *q,
                       const float *k,
                       const float *v,
                       gsize        n_q,
                       gsize        n_kv,
                       gsize        heads,
                       gsize        d,
                       double       scale,
                       gboolean     causal,
                       float       *out)
{
  gsize width = heads * d;
  g_autofree double *p = g_new (double, n_kv);
  g_autofree double *acc = g_new (double, d);

  for (gsize hd = 0; hd < heads; hd++)
    for (gsize i = 0; i < n_q; i++)
      {
        gsize n = causal ? MIN (i + 1, n_kv) : n_kv;
        double max = -INFINITY, sum = 0;

        for (gsize j = 0; j < n; j++)
          {
            double s = 0;

            for (gsize e = 0; e < d; e++)
              s += (double) q[i * width + hd * d + e] * k[j * width + hd * d + e];
            p[j] = s * scale;
            max = MAX (max, p[j]);
          }
        for (gsize j = 0; j < n; j++)
          {
            p[j] = exp (p[j] - max);
            sum += p[j];
          }
        memset (acc, 0, d * sizeof *acc);
        for (gsize j = 0; j < n; j++)
          for (gsize e = 0; e < d; e++)
            acc[e] += p[j] * v[j * width + hd * d + e];
        for (gsize e = 0; e < d; e++)
          out[i * width + hd * d + e] = (float) (acc[e] / sum);
      }
}

/* out [cols][rows] = xᵀ, x [rows][cols]. */
static void
transpose (const float *x,
           gsize        rows,
           gsize        cols,
           float       *out)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      out[c * rows + r] = x[r * cols + c];
}

static void
upsample_nearest (const float *x,
                  gsize        channels,
                  gsize        h,
                  gsize        w,
                  float       *out)
{
  for (gsize c = 0; c < channels; c++)
    for (gsize y = 0; y < 2 * h; y++)
      for (gsize xx = 0; xx < 2 * w; xx++)
        out[(c * 2 * h + y) * 2 * w + xx] = x[(c * h + y / 2) * w + xx / 2];
}

/* Layers with weights. */

/* @prefix.weight (@n_weight values) into *@w and, unless @n_bias is 0, @prefix.bias into
 * *@b; FALSE when either is missing, with nothing to free. */
static gboolean
weight_and_bias (Ref          *r,
                 const char   *prefix,
                 gsize         n_weight,
                 gsize         n_bias,
                 float       **w,
                 float       **b,
                 GError      **error)
{
  *b = NULL;
  if ((*w = weight (r, n_weight, error, "%s.weight", prefix)) == NULL)
    return FALSE;
  if (n_bias > 0 && (*b = weight (r, n_bias, error, "%s.bias", prefix)) == NULL)
    {
      g_clear_pointer (w, g_free);
      return FALSE;
    }
  return TRUE;
}

/* y [n][out] = linear layer @prefix (".weight" [out][in], ".bias" when @bias) of x. */
static gboolean
apply_linear (Ref          *r,
              const char   *prefix,
              gboolean      bias,
              const float  *x,
              gsize         n,
              gsize         in,
              gsize         out,
              float        *y,
              GError      **error)
{
  g_autofree float *w = NULL, *b = NULL;

  if (!weight_and_bias (r, prefix, out * in, bias ? out : 0, &w, &b, error))
    return FALSE;
  loom_sd_ref_linear (x, w, b, n, in, out, y);
  return TRUE;
}

static gboolean
apply_conv (Ref          *r,
            const char   *prefix,
            const float  *x,
            gsize         c_in,
            gsize         h,
            gsize         w,
            gsize         c_out,
            guint         k,
            guint         stride,
            guint         pad_before,
            guint         pad_after,
            float        *out,
            GError      **error)
{
  g_autofree float *wt = NULL, *b = NULL;

  if (!weight_and_bias (r, prefix, c_out * c_in * k * k, c_out, &wt, &b, error))
    return FALSE;
  loom_sd_ref_conv2d (x, c_in, h, w, wt, b, c_out, k, stride, pad_before, pad_after, out);
  return TRUE;
}

/* GroupNorm of the network being run (r->groups), with @eps. */
static gboolean
apply_group_norm (Ref          *r,
                  const char   *prefix,
                  const float  *x,
                  gsize         channels,
                  gsize         hw,
                  float         eps,
                  gboolean      with_silu,
                  float        *out,
                  GError      **error)
{
  g_autofree float *g = NULL, *b = NULL;

  if (!weight_and_bias (r, prefix, channels, channels, &g, &b, error))
    return FALSE;
  if (r->groups == 0 || channels % r->groups != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s: %" G_GSIZE_FORMAT " channels in %" G_GSIZE_FORMAT " groups", prefix,
                   channels, r->groups);
      return FALSE;
    }
  loom_sd_ref_group_norm (x, g, b, channels, hw, r->groups, eps, with_silu, out);
  return TRUE;
}

static gboolean
apply_layer_norm (Ref          *r,
                  const char   *prefix,
                  const float  *x,
                  gsize         rows,
                  gsize         cols,
                  float         eps,
                  float        *out,
                  GError      **error)
{
  g_autofree float *g = NULL, *b = NULL;

  if (!weight_and_bias (r, prefix, cols, cols, &g, &b, error))
    return FALSE;
  loom_sd_ref_layer_norm (x, g, b, rows, cols, eps, out);
  return TRUE;
}

/* *x [c_in][h][w] is replaced by the convolution @prefix of it, [c_out][h_out][w_out]. */
static gboolean
conv_in_place (Ref          *r,
               const char   *prefix,
               float       **x,
               gsize         c_in,
               gsize         h,
               gsize         w,
               gsize         c_out,
               guint         stride,
               guint         pad_before,
               GError      **error)
{
  gsize oh = (h + pad_before + 1 - 3) / stride + 1, ow = (w + pad_before + 1 - 3) / stride + 1;
  g_autofree float *y = g_new (float, c_out * oh * ow);

  if (!apply_conv (r, prefix, *x, c_in, h, w, c_out, 3, stride, pad_before, 1, y, error))
    return FALSE;
  g_free (*x);
  *x = g_steal_pointer (&y);
  return TRUE;
}

/* Attention. */

/* The names of an attention's projections after its prefix. */
typedef struct
{
  const char *q, *k, *v, *out;
} AttentionNames;

static const AttentionNames clip_attention = { "q_proj", "k_proj", "v_proj", "out_proj" };
static const AttentionNames diffusers_attention = { "to_q", "to_k", "to_v", "to_out.0" };

/* t += out(attention(q(a), k(kv), v(kv))), a [n][ch], kv [n_kv][kv_dim], t [n][ch]: the
 * attention of CLIP's layers, of the UNet's transformer blocks and of the VAE's mid
 * block. The q, k and v projections have biases where @qkv_bias. */
static gboolean
attention (Ref                  *r,
           const char           *prefix,
           const AttentionNames *names,
           gboolean              qkv_bias,
           gboolean              causal,
           const float          *a,
           gsize                 n,
           gsize                 ch,
           const float          *kv,
           gsize                 n_kv,
           gsize                 kv_dim,
           gsize                 heads,
           float                *t,
           GError              **error)
{
  g_autofree float *q = g_new (float, n * ch);
  g_autofree float *k = g_new (float, n_kv * ch);
  g_autofree float *v = g_new (float, n_kv * ch);
  g_autofree float *o = g_new (float, n * ch);
  g_autofree char *wq = g_strconcat (prefix, ".", names->q, NULL);
  g_autofree char *wk = g_strconcat (prefix, ".", names->k, NULL);
  g_autofree char *wv = g_strconcat (prefix, ".", names->v, NULL);
  g_autofree char *wo = g_strconcat (prefix, ".", names->out, NULL);
  gsize d = ch / heads;

  if (!apply_linear (r, wq, qkv_bias, a, n, ch, ch, q, error)
      || !apply_linear (r, wk, qkv_bias, kv, n_kv, kv_dim, ch, k, error)
      || !apply_linear (r, wv, qkv_bias, kv, n_kv, kv_dim, ch, v, error))
    return FALSE;
  loom_sd_ref_attention (q, k, v, n, n_kv, heads, d, 1.0 / sqrt ((double) d), causal, o);
  if (!apply_linear (r, wo, TRUE, o, n, ch, ch, q, error))
    return FALSE;
  for (gsize i = 0; i < n * ch; i++)
    t[i] += q[i];
  return TRUE;
}

/* Text encoder. */

gboolean
loom_sd_ref_text_encoder (LoomSdCheckpoint *checkpoint,
                          const guint32    *tokens,
                          guint             n_chunks,
                          float            *out,
                          GError          **error)
{
  Ref ref;
  Ref *r = &ref;
  const LoomSdConfig *c;
  gsize d, T = TEXT_TOKENS, ffn, heads;
  g_autofree float *tok = NULL, *pos = NULL;
  g_autofree float *x = NULL, *h = NULL, *f = NULL;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  ref_init (r, checkpoint);
  c = r->config;
  d = c->text_dim;
  ffn = c->text_ffn;
  heads = c->text_heads;

  g_return_val_if_fail (tokens != NULL && out != NULL, FALSE);

  if (d == 0 || heads == 0 || d % heads != 0 || c->text_positions < T)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "The checkpoint has no usable text encoder");
      return FALSE;
    }
  if ((tok = weight (r, (gsize) c->text_vocab * d, error,
                     "text_encoder.text_model.embeddings.token_embedding.weight")) == NULL
      || (pos = weight (r, (gsize) c->text_positions * d, error,
                        "text_encoder.text_model.embeddings.position_embedding.weight")) == NULL)
    return FALSE;

  x = g_new (float, T * d);
  h = g_new (float, T * d);
  f = g_new (float, T * ffn);

  for (guint chunk = 0; chunk < n_chunks; chunk++)
    {
      const guint32 *ids = tokens + (gsize) chunk * T;

      for (gsize t = 0; t < T; t++)
        {
          if (ids[t] >= c->text_vocab)
            {
              g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                           "Token %u is outside the vocabulary of %u", ids[t], c->text_vocab);
              return FALSE;
            }
          for (gsize e = 0; e < d; e++)
            x[t * d + e] = tok[(gsize) ids[t] * d + e] + pos[t * d + e];
        }

      for (guint layer = 0; layer < c->text_layers; layer++)
        {
          g_autofree char *p = g_strdup_printf ("text_encoder.text_model.encoder.layers.%u", layer);
          g_autofree char *ln1 = g_strconcat (p, ".layer_norm1", NULL);
          g_autofree char *ln2 = g_strconcat (p, ".layer_norm2", NULL);
          g_autofree char *attn = g_strconcat (p, ".self_attn", NULL);
          g_autofree char *fc1 = g_strconcat (p, ".mlp.fc1", NULL);
          g_autofree char *fc2 = g_strconcat (p, ".mlp.fc2", NULL);

          /* x += out_proj(causal attention(layer_norm1(x))) */
          if (!apply_layer_norm (r, ln1, x, T, d, c->text_eps, h, error)
              || !attention (r, attn, &clip_attention, TRUE, TRUE, h, T, d, h, T, d, heads, x,
                             error))
            return FALSE;

          /* x += fc2(act(fc1(layer_norm2(x)))) */
          if (!apply_layer_norm (r, ln2, x, T, d, c->text_eps, h, error)
              || !apply_linear (r, fc1, TRUE, h, T, d, ffn, f, error))
            return FALSE;
          for (gsize i = 0; i < T * ffn; i++)
            f[i] = c->text_quick_gelu ? quick_gelu (f[i]) : gelu_erf (f[i]);
          if (!apply_linear (r, fc2, TRUE, f, T, ffn, d, h, error))
            return FALSE;
          for (gsize i = 0; i < T * d; i++)
            x[i] += h[i];
        }

      if (!apply_layer_norm (r, "text_encoder.text_model.final_layer_norm", x, T, d, c->text_eps,
                             out + (gsize) chunk * T * d, error))
        return FALSE;
    }
  return TRUE;
}

/* The blocks of the UNet and the VAE. Each replaces the feature map *x [ch][h][w]. */

/* A resnet to @c_out channels: norm1, SiLU, conv1, (+ the projected time embedding in
 * the UNet), norm2, SiLU, conv2, plus x (through a 1×1 conv_shortcut when the channels
 * change). */
static gboolean
resnet (Ref          *r,
        const char   *prefix,
        float       **x,
        gsize        *ch,
        gsize         c_out,
        gsize         h,
        gsize         w,
        GError      **error)
{
  gsize c_in = *ch, hw = h * w;
  g_autofree float *a = g_new (float, MAX (c_in, c_out) * hw);
  g_autofree float *b = g_new (float, c_out * hw);
  g_autofree float *out = g_new (float, c_out * hw);
  g_autofree char *norm1 = g_strconcat (prefix, ".norm1", NULL);
  g_autofree char *conv1 = g_strconcat (prefix, ".conv1", NULL);
  g_autofree char *norm2 = g_strconcat (prefix, ".norm2", NULL);
  g_autofree char *conv2 = g_strconcat (prefix, ".conv2", NULL);
  g_autofree char *shortcut = g_strconcat (prefix, ".conv_shortcut", NULL);

  if (!apply_group_norm (r, norm1, *x, c_in, hw, r->eps, TRUE, a, error)
      || !apply_conv (r, conv1, a, c_in, h, w, c_out, 3, 1, 1, 1, b, error))
    return FALSE;
  if (r->temb != NULL)
    {
      g_autofree float *t = g_new (float, c_out);
      g_autofree char *proj = g_strconcat (prefix, ".time_emb_proj", NULL);

      if (!apply_linear (r, proj, TRUE, r->temb, 1, r->config->unet_time_dim, c_out, t, error))
        return FALSE;
      for (gsize o = 0; o < c_out; o++)
        for (gsize i = 0; i < hw; i++)
          b[o * hw + i] += t[o];
    }
  if (!apply_group_norm (r, norm2, b, c_out, hw, r->eps, TRUE, a, error)
      || !apply_conv (r, conv2, a, c_out, h, w, c_out, 3, 1, 1, 1, out, error))
    return FALSE;
  if (c_in != c_out)
    {
      if (!apply_conv (r, shortcut, *x, c_in, h, w, c_out, 1, 1, 0, 0, b, error))
        return FALSE;
      for (gsize i = 0; i < c_out * hw; i++)
        out[i] += b[i];
    }
  else
    {
      for (gsize i = 0; i < c_out * hw; i++)
        out[i] += (*x)[i];
    }
  g_free (*x);
  *x = g_steal_pointer (&out);
  *ch = c_out;
  return TRUE;
}

/* The UNet's spatial transformer, attending to r->context: tokens [hw][ch] of a
 * GroupNorm of x, proj_in (a 1×1 convolution or a linear layer: the same product), self-
 * then cross-attention and a GEGLU feed-forward, each behind a LayerNorm, proj_out, plus
 * x. */
static gboolean
transformer (Ref          *r,
             const char   *prefix,
             float        *x,
             gsize         ch,
             gsize         n,
             gsize         heads,
             GError      **error)
{
  const LoomSdConfig *c = r->config;
  g_autofree float *m = g_new (float, ch * n);
  g_autofree float *t = g_new (float, n * ch);
  g_autofree float *a = g_new (float, n * ch);
  g_autofree float *ff = g_new (float, n * 8 * ch);
  g_autofree float *g = g_new (float, n * 4 * ch);
  g_autofree char *norm = g_strconcat (prefix, ".norm", NULL);
  g_autofree char *proj_in = g_strconcat (prefix, ".proj_in", NULL);
  g_autofree char *proj_out = g_strconcat (prefix, ".proj_out", NULL);
  g_autofree char *norm1 = g_strconcat (prefix, ".transformer_blocks.0.norm1", NULL);
  g_autofree char *norm2 = g_strconcat (prefix, ".transformer_blocks.0.norm2", NULL);
  g_autofree char *norm3 = g_strconcat (prefix, ".transformer_blocks.0.norm3", NULL);
  g_autofree char *attn1 = g_strconcat (prefix, ".transformer_blocks.0.attn1", NULL);
  g_autofree char *attn2 = g_strconcat (prefix, ".transformer_blocks.0.attn2", NULL);
  g_autofree char *ff0 = g_strconcat (prefix, ".transformer_blocks.0.ff.net.0.proj", NULL);
  g_autofree char *ff2 = g_strconcat (prefix, ".transformer_blocks.0.ff.net.2", NULL);

  if (!apply_group_norm (r, norm, x, ch, n, UNET_ATTN_EPS, FALSE, m, error))
    return FALSE;
  transpose (m, ch, n, a);
  if (!apply_linear (r, proj_in, TRUE, a, n, ch, ch, t, error))
    return FALSE;

  if (!apply_layer_norm (r, norm1, t, n, ch, LAYER_NORM_EPS, a, error)
      || !attention (r, attn1, &diffusers_attention, FALSE, FALSE, a, n, ch, a, n, ch, heads, t,
                     error)
      || !apply_layer_norm (r, norm2, t, n, ch, LAYER_NORM_EPS, a, error)
      || !attention (r, attn2, &diffusers_attention, FALSE, FALSE, a, n, ch, r->context,
                     r->n_context, c->unet_context_dim, heads, t, error)
      || !apply_layer_norm (r, norm3, t, n, ch, LAYER_NORM_EPS, a, error)
      || !apply_linear (r, ff0, TRUE, a, n, ch, 8 * ch, ff, error))
    return FALSE;
  /* GEGLU: the first half times GELU of the second. */
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < 4 * ch; j++)
      g[i * 4 * ch + j] = ff[i * 8 * ch + j] * gelu_erf (ff[i * 8 * ch + 4 * ch + j]);
  if (!apply_linear (r, ff2, TRUE, g, n, 4 * ch, ch, a, error))
    return FALSE;
  for (gsize i = 0; i < n * ch; i++)
    t[i] += a[i];

  if (!apply_linear (r, proj_out, TRUE, t, n, ch, ch, a, error))
    return FALSE;
  transpose (a, n, ch, m);
  for (gsize i = 0; i < ch * n; i++)
    x[i] += m[i];
  return TRUE;
}

/* The VAE's single-head self-attention over all positions of a GroupNorm of x, plus x. */
static gboolean
vae_attention (Ref          *r,
               const char   *prefix,
               float        *x,
               gsize         ch,
               gsize         n,
               GError      **error)
{
  g_autofree float *m = g_new (float, ch * n);
  g_autofree float *t = g_new (float, n * ch);
  g_autofree float *o = g_new0 (float, n * ch);
  g_autofree char *norm = g_strconcat (prefix, ".group_norm", NULL);

  if (!apply_group_norm (r, norm, x, ch, n, VAE_EPS, FALSE, m, error))
    return FALSE;
  transpose (m, ch, n, t);
  /* Into zeros: o is the attention's output alone, the residual being added below. */
  if (!attention (r, prefix, &diffusers_attention, TRUE, FALSE, t, n, ch, t, n, ch, 1, o, error))
    return FALSE;
  transpose (o, n, ch, m);
  for (gsize i = 0; i < ch * n; i++)
    x[i] += m[i];
  return TRUE;
}

/* The attention after a resnet: a transformer in the UNet, self-attention in the VAE. */
static gboolean
spatial_attention (Ref          *r,
                   const char   *prefix,
                   float        *x,
                   gsize         ch,
                   gsize         hw,
                   gsize         heads,
                   GError      **error)
{
  if (heads == 0 || ch % heads != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s: %" G_GSIZE_FORMAT " channels in %" G_GSIZE_FORMAT " heads", prefix, ch, heads);
      return FALSE;
    }
  return r->context != NULL ? transformer (r, prefix, x, ch, hw, heads, error)
                            : vae_attention (r, prefix, x, ch, hw, error);
}

/* The activations the UNet's down half keeps for its up half, last in first out. */
typedef struct
{
  struct
  {
    float *data;
    gsize  channels;
  } items[1 + LOOM_SD_MAX_LEVELS * 8];
  guint n;
} Skips;

/* Keeps a copy of x [ch][hw] when @skips is not NULL (the UNet). */
static void
skips_push (Skips       *skips,
            const float *x,
            gsize        ch,
            gsize        hw)
{
  if (skips == NULL)
    return;
  g_assert (skips->n < G_N_ELEMENTS (skips->items));
  skips->items[skips->n].data = g_memdup2 (x, ch * hw * sizeof (float));
  skips->items[skips->n].channels = ch;
  skips->n++;
}

/* *x [ch][hw] becomes [x, the last skip] along channels. */
static void
skips_pop_concat (Skips  *skips,
                  float **x,
                  gsize  *ch,
                  gsize   hw)
{
  guint i = --skips->n;
  gsize cat_ch = *ch + skips->items[i].channels;
  float *cat = g_new (float, cat_ch * hw);

  memcpy (cat, *x, *ch * hw * sizeof (float));
  memcpy (cat + *ch * hw, skips->items[i].data, skips->items[i].channels * hw * sizeof (float));
  g_free (skips->items[i].data);
  g_free (*x);
  *x = cat;
  *ch = cat_ch;
}

static void
skips_clear (Skips *skips)
{
  while (skips->n > 0)
    g_free (skips->items[--skips->n].data);
}

/* The down half: per level, res_blocks resnets to the level's channels, each followed by
 * the level's attention where it has one, then, but at the last level, a 3×3 stride-2
 * convolution. Every output is kept in @skips (NULL in the VAE). */
static gboolean
down_blocks (Ref          *r,
             float       **x,
             gsize        *ch,
             gsize        *h,
             gsize        *w,
             Skips        *skips,
             GError      **error)
{
  for (guint l = 0; l < r->levels; l++)
    {
      for (guint j = 0; j < r->res_blocks; j++)
        {
          g_autofree char *res = g_strdup_printf ("%s.down_blocks.%u.resnets.%u", r->prefix, l, j);
          g_autofree char *attn = g_strdup_printf ("%s.down_blocks.%u.attentions.%u", r->prefix, l, j);

          if (!resnet (r, res, x, ch, r->level_channels[l], *h, *w, error))
            return FALSE;
          if (r->level_attention != NULL && r->level_attention[l]
              && !spatial_attention (r, attn, *x, *ch, *h * *w, r->level_heads[l], error))
            return FALSE;
          skips_push (skips, *x, *ch, *h * *w);
        }
      if (l + 1 < r->levels)
        {
          g_autofree char *down = g_strdup_printf ("%s.down_blocks.%u.downsamplers.0.conv",
                                                   r->prefix, l);

          if (!conv_in_place (r, down, x, *ch, *h, *w, *ch, 2, r->down_pad_before, error))
            return FALSE;
          *h /= 2;
          *w /= 2;
          skips_push (skips, *x, *ch, *h * *w);
        }
    }
  return TRUE;
}

/* resnet, attention, resnet at the lowest resolution. */
static gboolean
mid_block (Ref          *r,
           float       **x,
           gsize         ch,
           gsize         h,
           gsize         w,
           GError      **error)
{
  g_autofree char *r0 = g_strdup_printf ("%s.mid_block.resnets.0", r->prefix);
  g_autofree char *a0 = g_strdup_printf ("%s.mid_block.attentions.0", r->prefix);
  g_autofree char *r1 = g_strdup_printf ("%s.mid_block.resnets.1", r->prefix);
  gsize heads = r->level_heads != NULL ? r->level_heads[r->levels - 1] : 1;

  return resnet (r, r0, x, &ch, ch, h, w, error)
         && spatial_attention (r, a0, *x, ch, h * w, heads, error)
         && resnet (r, r1, x, &ch, ch, h, w, error);
}

/* The up half, levels in reverse: res_blocks + 1 resnets (each taking the last skip
 * along, in the UNet) to the level's channels, each followed by the level's attention
 * where it has one, then, but at the last level, a nearest ×2 upsampling and a 3×3
 * convolution. */
static gboolean
up_blocks (Ref          *r,
           float       **x,
           gsize        *ch,
           gsize        *h,
           gsize        *w,
           Skips        *skips,
           GError      **error)
{
  for (guint k = 0; k < r->levels; k++)
    {
      guint lv = r->levels - 1 - k;

      for (guint j = 0; j <= r->res_blocks; j++)
        {
          g_autofree char *res = g_strdup_printf ("%s.up_blocks.%u.resnets.%u", r->prefix, k, j);
          g_autofree char *attn = g_strdup_printf ("%s.up_blocks.%u.attentions.%u", r->prefix, k, j);

          if (skips != NULL)
            skips_pop_concat (skips, x, ch, *h * *w);
          if (!resnet (r, res, x, ch, r->level_channels[lv], *h, *w, error))
            return FALSE;
          if (r->level_attention != NULL && r->level_attention[lv]
              && !spatial_attention (r, attn, *x, *ch, *h * *w, r->level_heads[lv], error))
            return FALSE;
        }
      if (k + 1 < r->levels)
        {
          g_autofree char *up = g_strdup_printf ("%s.up_blocks.%u.upsamplers.0.conv", r->prefix, k);
          float *big = g_new (float, *ch * 4 * *h * *w);

          upsample_nearest (*x, *ch, *h, *w, big);
          g_free (*x);
          *x = big;
          *h *= 2;
          *w *= 2;
          if (!conv_in_place (r, up, x, *ch, *h, *w, *ch, 1, 1, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* out [c_out][h][w] = conv_out(SiLU(conv_norm_out(x))). */
static gboolean
norm_out (Ref          *r,
          const float  *x,
          gsize         ch,
          gsize         h,
          gsize         w,
          gsize         c_out,
          float        *out,
          GError      **error)
{
  g_autofree float *a = g_new (float, ch * h * w);
  g_autofree char *norm = g_strdup_printf ("%s.conv_norm_out", r->prefix);
  g_autofree char *conv = g_strdup_printf ("%s.conv_out", r->prefix);

  return apply_group_norm (r, norm, x, ch, h * w, r->eps, TRUE, a, error)
         && apply_conv (r, conv, a, ch, h, w, c_out, 3, 1, 1, 1, out, error);
}

/* UNet. */

/* temb [time_dim] = SiLU(linear_2(SiLU(linear_1(the sinusoidal embedding of t, cos
 * first)))): every resnet takes SiLU of the time embedding. */
static gboolean
time_embedding (Ref          *r,
                float         timestep,
                float        *temb,
                GError      **error)
{
  const LoomSdConfig *c = r->config;
  gsize c0 = c->unet_channels, half = c0 / 2;
  g_autofree float *t_emb = g_new (float, c0);
  g_autofree float *temb1 = g_new (float, c->unet_time_dim);

  for (gsize i = 0; i < half; i++)
    {
      double f = exp (-log (10000.0) * (double) i / (double) half);

      t_emb[i] = (float) cos (timestep * f);
      t_emb[half + i] = (float) sin (timestep * f);
    }
  if (!apply_linear (r, "unet.time_embedding.linear_1", TRUE, t_emb, 1, c0, c->unet_time_dim, temb1, error))
    return FALSE;
  for (gsize i = 0; i < c->unet_time_dim; i++)
    temb1[i] = silu (temb1[i]);
  if (!apply_linear (r, "unet.time_embedding.linear_2", TRUE, temb1, 1, c->unet_time_dim,
                     c->unet_time_dim, temb, error))
    return FALSE;
  for (gsize i = 0; i < c->unet_time_dim; i++)
    temb[i] = silu (temb[i]);
  return TRUE;
}

gboolean
loom_sd_ref_unet (LoomSdCheckpoint *checkpoint,
                  const float      *latent,
                  guint             height,
                  guint             width,
                  float             timestep,
                  const float      *context,
                  guint             n_context,
                  float            *out,
                  GError          **error)
{
  Ref ref;
  Ref *r = &ref;
  const LoomSdConfig *c;
  guint L;
  gsize h = height, w = width, ch;
  Skips skips = { 0 };
  gboolean ok = FALSE;
  g_autofree float *temb = NULL;
  g_autofree float *x = NULL;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  ref_init_unet (r, checkpoint);
  c = r->config;
  L = c->unet_levels;

  g_return_val_if_fail (latent != NULL && context != NULL && out != NULL, FALSE);
  g_return_val_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS, FALSE);
  g_return_val_if_fail (height % (1u << (L - 1)) == 0 && width % (1u << (L - 1)) == 0, FALSE);

  temb = g_new (float, c->unet_time_dim);
  if (!time_embedding (r, timestep, temb, error))
    return FALSE;
  r->temb = temb;
  r->context = context;
  r->n_context = n_context;

  ch = c->unet_channels;
  x = g_new (float, ch * h * w);
  if (apply_conv (r, "unet.conv_in", latent, c->unet_in_channels, h, w, ch, 3, 1, 1, 1, x, error))
    {
      skips_push (&skips, x, ch, h * w);
      ok = down_blocks (r, &x, &ch, &h, &w, &skips, error)
           && mid_block (r, &x, ch, h, w, error)
           && up_blocks (r, &x, &ch, &h, &w, &skips, error)
           && norm_out (r, x, ch, h, w, c->unet_out_channels, out, error);
    }
  skips_clear (&skips);
  return ok;
}

/* VAE. */

gboolean
loom_sd_ref_vae_decode (LoomSdCheckpoint *checkpoint,
                        const float      *latent,
                        guint             height,
                        guint             width,
                        float            *image,
                        GError          **error)
{
  Ref ref;
  Ref *r = &ref;
  const LoomSdConfig *c;
  guint L;
  gsize lc, h = height, w = width, ch;
  g_autofree float *z = NULL;
  g_autofree float *x = NULL;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  ref_init_vae (r, checkpoint, "vae.decoder");
  c = r->config;
  L = c->vae_levels;

  g_return_val_if_fail (latent != NULL && image != NULL, FALSE);
  g_return_val_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS, FALSE);

  lc = c->vae_latent_channels;
  ch = c->vae_level_channels[L - 1];
  z = g_new (float, lc * h * w);
  x = g_new (float, ch * h * w);
  return apply_conv (r, "vae.post_quant_conv", latent, lc, h, w, lc, 1, 1, 0, 0, z, error)
         && apply_conv (r, "vae.decoder.conv_in", z, lc, h, w, ch, 3, 1, 1, 1, x, error)
         && mid_block (r, &x, ch, h, w, error)
         && up_blocks (r, &x, &ch, &h, &w, NULL, error)
         && norm_out (r, x, ch, h, w, 3, image, error);
}

gboolean
loom_sd_ref_vae_encode (LoomSdCheckpoint *checkpoint,
                        const float      *image,
                        guint             height,
                        guint             width,
                        float            *latent,
                        GError          **error)
{
  Ref ref;
  Ref *r = &ref;
  const LoomSdConfig *c;
  guint L;
  gsize lc, h = height, w = width, ch;
  g_autofree float *x = NULL;
  g_autofree float *moments = NULL;
  g_autofree float *quant = NULL;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  ref_init_vae (r, checkpoint, "vae.encoder");
  c = r->config;
  L = c->vae_levels;

  g_return_val_if_fail (image != NULL && latent != NULL, FALSE);
  g_return_val_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS, FALSE);
  g_return_val_if_fail (height % (1u << (L - 1)) == 0 && width % (1u << (L - 1)) == 0, FALSE);

  lc = c->vae_latent_channels;
  ch = c->vae_channels;
  x = g_new (float, ch * h * w);
  if (!apply_conv (r, "vae.encoder.conv_in", image, 3, h, w, ch, 3, 1, 1, 1, x, error)
      || !down_blocks (r, &x, &ch, &h, &w, NULL, error)
      || !mid_block (r, &x, ch, h, w, error))
    return FALSE;

  moments = g_new (float, 2 * lc * h * w);
  quant = g_new (float, 2 * lc * h * w);
  if (!norm_out (r, x, ch, h, w, 2 * lc, moments, error)
      || !apply_conv (r, "vae.quant_conv", moments, 2 * lc, h, w, 2 * lc, 1, 1, 0, 0, quant, error))
    return FALSE;
  /* The mean: the first half of the channels (the rest is the log-variance). */
  memcpy (latent, quant, lc * h * w * sizeof (float));
  return TRUE;
}
