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

typedef struct
{
  LoomSdCheckpoint   *checkpoint;
  const LoomSdConfig *config;
} Ref;

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

/* Elementary operations. */

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

/* y [n][out] = x [n][in] · Wᵀ + b, W [out][in]; @b may be NULL. */
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

/* A convolution, weight [c_out][c_in][k][k], stride @stride, with @pad_before zero rows
 * and columns above and left of x and @pad_after below and right. */
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

/* GroupNorm of x [channels][hw] in @groups groups, then SiLU when @with_silu. */
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

/* LayerNorm of each row of x [rows][cols]. */
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

/* out [n_q][heads·d] = softmax(scale · q·kᵀ) · v per head; with @causal, query i sees
 * keys 0..i only. */
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
  g_autofree float *w = weight (r, out * in, error, "%s.weight", prefix);
  g_autofree float *b = NULL;

  if (w == NULL)
    return FALSE;
  if (bias && (b = weight (r, out, error, "%s.bias", prefix)) == NULL)
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
  g_autofree float *wt = weight (r, c_out * c_in * k * k, error, "%s.weight", prefix);
  g_autofree float *b = NULL;

  if (wt == NULL || (b = weight (r, c_out, error, "%s.bias", prefix)) == NULL)
    return FALSE;
  loom_sd_ref_conv2d (x, c_in, h, w, wt, b, c_out, k, stride, pad_before, pad_after, out);
  return TRUE;
}

static gboolean
apply_group_norm (Ref          *r,
                  const char   *prefix,
                  const float  *x,
                  gsize         channels,
                  gsize         hw,
                  gsize         groups,
                  float         eps,
                  gboolean      with_silu,
                  float        *out,
                  GError      **error)
{
  g_autofree float *g = weight (r, channels, error, "%s.weight", prefix);
  g_autofree float *b = NULL;

  if (g == NULL || (b = weight (r, channels, error, "%s.bias", prefix)) == NULL)
    return FALSE;
  if (groups == 0 || channels % groups != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s: %" G_GSIZE_FORMAT " channels in %" G_GSIZE_FORMAT " groups", prefix,
                   channels, groups);
      return FALSE;
    }
  loom_sd_ref_group_norm (x, g, b, channels, hw, groups, eps, with_silu, out);
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
  g_autofree float *g = weight (r, cols, error, "%s.weight", prefix);
  g_autofree float *b = NULL;

  if (g == NULL || (b = weight (r, cols, error, "%s.bias", prefix)) == NULL)
    return FALSE;
  loom_sd_ref_layer_norm (x, g, b, rows, cols, eps, out);
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
  Ref ref = { checkpoint, loom_sd_checkpoint_get_config (checkpoint) };
  Ref *r = &ref;
  const LoomSdConfig *c = r->config;
  gsize d = c->text_dim, T = TEXT_TOKENS, ffn = c->text_ffn;
  gsize heads = c->text_heads;
  g_autofree float *tok = NULL, *pos = NULL;
  g_autofree float *x = NULL, *h = NULL, *q = NULL, *k = NULL, *v = NULL, *a = NULL, *f = NULL;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
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
  q = g_new (float, T * d);
  k = g_new (float, T * d);
  v = g_new (float, T * d);
  a = g_new (float, T * d);
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
          g_autofree char *wq = g_strconcat (p, ".self_attn.q_proj", NULL);
          g_autofree char *wk = g_strconcat (p, ".self_attn.k_proj", NULL);
          g_autofree char *wv = g_strconcat (p, ".self_attn.v_proj", NULL);
          g_autofree char *wo = g_strconcat (p, ".self_attn.out_proj", NULL);
          g_autofree char *fc1 = g_strconcat (p, ".mlp.fc1", NULL);
          g_autofree char *fc2 = g_strconcat (p, ".mlp.fc2", NULL);

          /* x += out_proj(causal attention(layer_norm1(x))) */
          if (!apply_layer_norm (r, ln1, x, T, d, c->text_eps, h, error)
              || !apply_linear (r, wq, TRUE, h, T, d, d, q, error)
              || !apply_linear (r, wk, TRUE, h, T, d, d, k, error)
              || !apply_linear (r, wv, TRUE, h, T, d, d, v, error))
            return FALSE;
          loom_sd_ref_attention (q, k, v, T, T, heads, d / heads, 1.0 / sqrt ((double) (d / heads)), TRUE, a);
          if (!apply_linear (r, wo, TRUE, a, T, d, d, h, error))
            return FALSE;
          for (gsize i = 0; i < T * d; i++)
            x[i] += h[i];

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

/* UNet. */

/* x [c_in][h][w] → out [c_out][h][w]; @temb: silu(time embedding) [time_dim]. */
static gboolean
unet_resnet (Ref          *r,
             const char   *prefix,
             const float  *x,
             gsize         c_in,
             gsize         c_out,
             gsize         h,
             gsize         w,
             const float  *temb,
             float        *out,
             GError      **error)
{
  const LoomSdConfig *c = r->config;
  gsize hw = h * w;
  g_autofree float *a = g_new (float, MAX (c_in, c_out) * hw);
  g_autofree float *b = g_new (float, c_out * hw);
  g_autofree float *t = g_new (float, c_out);
  g_autofree char *norm1 = g_strconcat (prefix, ".norm1", NULL);
  g_autofree char *conv1 = g_strconcat (prefix, ".conv1", NULL);
  g_autofree char *proj = g_strconcat (prefix, ".time_emb_proj", NULL);
  g_autofree char *norm2 = g_strconcat (prefix, ".norm2", NULL);
  g_autofree char *conv2 = g_strconcat (prefix, ".conv2", NULL);
  g_autofree char *shortcut = g_strconcat (prefix, ".conv_shortcut", NULL);

  if (!apply_group_norm (r, norm1, x, c_in, hw, c->unet_groups, UNET_NORM_EPS, TRUE, a, error)
      || !apply_conv (r, conv1, a, c_in, h, w, c_out, 3, 1, 1, 1, b, error)
      || !apply_linear (r, proj, TRUE, temb, 1, c->unet_time_dim, c_out, t, error))
    return FALSE;
  for (gsize ch = 0; ch < c_out; ch++)
    for (gsize i = 0; i < hw; i++)
      b[ch * hw + i] += t[ch];
  if (!apply_group_norm (r, norm2, b, c_out, hw, c->unet_groups, UNET_NORM_EPS, TRUE, a, error)
      || !apply_conv (r, conv2, a, c_out, h, w, c_out, 3, 1, 1, 1, out, error))
    return FALSE;
  if (c_in != c_out)
    {
      if (!apply_conv (r, shortcut, x, c_in, h, w, c_out, 1, 1, 0, 0, b, error))
        return FALSE;
      for (gsize i = 0; i < c_out * hw; i++)
        out[i] += b[i];
    }
  else
    {
      for (gsize i = 0; i < c_out * hw; i++)
        out[i] += x[i];
    }
  return TRUE;
}

/* One attention of a transformer block: t += to_out(attention(to_q(a), to_k(kv),
 * to_v(kv))), a [n][ch], kv [n_kv][kv_dim]. */
static gboolean
unet_attention (Ref          *r,
                const char   *prefix,
                const float  *a,
                gsize         n,
                gsize         ch,
                const float  *kv,
                gsize         n_kv,
                gsize         kv_dim,
                gsize         heads,
                float        *t,
                GError      **error)
{
  g_autofree float *q = g_new (float, n * ch);
  g_autofree float *k = g_new (float, n_kv * ch);
  g_autofree float *v = g_new (float, n_kv * ch);
  g_autofree float *o = g_new (float, n * ch);
  g_autofree char *wq = g_strconcat (prefix, ".to_q", NULL);
  g_autofree char *wk = g_strconcat (prefix, ".to_k", NULL);
  g_autofree char *wv = g_strconcat (prefix, ".to_v", NULL);
  g_autofree char *wo = g_strconcat (prefix, ".to_out.0", NULL);
  gsize d = ch / heads;

  if (!apply_linear (r, wq, FALSE, a, n, ch, ch, q, error)
      || !apply_linear (r, wk, FALSE, kv, n_kv, kv_dim, ch, k, error)
      || !apply_linear (r, wv, FALSE, kv, n_kv, kv_dim, ch, v, error))
    return FALSE;
  loom_sd_ref_attention (q, k, v, n, n_kv, heads, d, 1.0 / sqrt ((double) d), FALSE, o);
  if (!apply_linear (r, wo, TRUE, o, n, ch, ch, q, error))
    return FALSE;
  for (gsize i = 0; i < n * ch; i++)
    t[i] += q[i];
  return TRUE;
}

/* The spatial transformer: x [ch][h][w] → out [ch][h][w], attending to @context
 * [n_context][context_dim]. */
static gboolean
unet_transformer (Ref          *r,
                  const char   *prefix,
                  const float  *x,
                  gsize         ch,
                  gsize         h,
                  gsize         w,
                  gsize         heads,
                  const float  *context,
                  gsize         n_context,
                  float        *out,
                  GError      **error)
{
  const LoomSdConfig *c = r->config;
  gsize n = h * w;
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

  if (heads == 0 || ch % heads != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_MODEL,
                   "%s: %" G_GSIZE_FORMAT " channels in %" G_GSIZE_FORMAT " heads", prefix, ch, heads);
      return FALSE;
    }
  /* GroupNorm, then tokens [hw][ch] and proj_in (a 1×1 convolution or a linear layer:
   * the same product). */
  if (!apply_group_norm (r, norm, x, ch, n, c->unet_groups, UNET_ATTN_EPS, FALSE, m, error))
    return FALSE;
  transpose (m, ch, n, a);
  if (!apply_linear (r, proj_in, TRUE, a, n, ch, ch, t, error))
    return FALSE;

  if (!apply_layer_norm (r, norm1, t, n, ch, LAYER_NORM_EPS, a, error)
      || !unet_attention (r, attn1, a, n, ch, a, n, ch, heads, t, error)
      || !apply_layer_norm (r, norm2, t, n, ch, LAYER_NORM_EPS, a, error)
      || !unet_attention (r, attn2, a, n, ch, context, n_context, c->unet_context_dim, heads, t, error)
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
  transpose (a, n, ch, out);
  for (gsize i = 0; i < ch * n; i++)
    out[i] += x[i];
  return TRUE;
}

typedef struct
{
  float *data;
  gsize  channels;
} Skip;

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
  Ref ref = { checkpoint, loom_sd_checkpoint_get_config (checkpoint) };
  Ref *r = &ref;
  const LoomSdConfig *c = r->config;
  guint L = c->unet_levels, R = c->unet_res_blocks;
  gsize c0 = c->unet_channels, half = c0 / 2;
  gsize h = height, w = width, ch;
  Skip skips[1 + LOOM_SD_MAX_LEVELS * 8];
  guint n_skips = 0;
  gboolean ok = FALSE;
  g_autofree float *t_emb = g_new (float, c0);
  g_autofree float *temb = g_new (float, c->unet_time_dim);
  g_autofree float *temb1 = g_new (float, c->unet_time_dim);
  float *x = NULL;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  g_return_val_if_fail (latent != NULL && context != NULL && out != NULL, FALSE);
  g_return_val_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS, FALSE);
  g_return_val_if_fail (height % (1u << (L - 1)) == 0 && width % (1u << (L - 1)) == 0, FALSE);

  /* The sinusoidal embedding of t (cos first), then linear_1, SiLU, linear_2; every
   * resnet takes SiLU of the result. */
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

  x = g_new (float, c0 * h * w);
  if (!apply_conv (r, "unet.conv_in", latent, c->unet_in_channels, h, w, c0, 3, 1, 1, 1, x, error))
    goto out;
  ch = c0;
  skips[n_skips++] = (Skip) { g_memdup2 (x, ch * h * w * sizeof (float)), ch };

  for (guint l = 0; l < L; l++)
    {
      gsize c_l = c->unet_level_channels[l];

      for (guint j = 0; j < R; j++)
        {
          g_autofree char *res = g_strdup_printf ("unet.down_blocks.%u.resnets.%u", l, j);
          float *y = g_new (float, c_l * h * w);

          if (!unet_resnet (r, res, x, ch, c_l, h, w, temb, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
          ch = c_l;
          if (c->unet_level_attention[l])
            {
              g_autofree char *attn = g_strdup_printf ("unet.down_blocks.%u.attentions.%u", l, j);

              y = g_new (float, ch * h * w);
              if (!unet_transformer (r, attn, x, ch, h, w, c->unet_level_heads[l], context,
                                     n_context, y, error))
                {
                  g_free (y);
                  goto out;
                }
              g_free (x);
              x = y;
            }
          skips[n_skips++] = (Skip) { g_memdup2 (x, ch * h * w * sizeof (float)), ch };
        }
      if (l + 1 < L)
        {
          g_autofree char *down = g_strdup_printf ("unet.down_blocks.%u.downsamplers.0.conv", l);
          float *y = g_new (float, ch * (h / 2) * (w / 2));

          if (!apply_conv (r, down, x, ch, h, w, ch, 3, 2, 1, 1, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
          h /= 2;
          w /= 2;
          skips[n_skips++] = (Skip) { g_memdup2 (x, ch * h * w * sizeof (float)), ch };
        }
    }

  {
    float *y = g_new (float, ch * h * w);
    float *z = g_new (float, ch * h * w);
    gboolean mid_ok =
      unet_resnet (r, "unet.mid_block.resnets.0", x, ch, ch, h, w, temb, y, error)
      && unet_transformer (r, "unet.mid_block.attentions.0", y, ch, h, w, c->unet_level_heads[L - 1],
                           context, n_context, z, error)
      && unet_resnet (r, "unet.mid_block.resnets.1", z, ch, ch, h, w, temb, x, error);

    g_free (y);
    g_free (z);
    if (!mid_ok)
      goto out;
  }

  for (guint k = 0; k < L; k++)
    {
      guint lv = L - 1 - k;
      gsize c_l = c->unet_level_channels[lv];

      for (guint j = 0; j <= R; j++)
        {
          g_autofree char *res = g_strdup_printf ("unet.up_blocks.%u.resnets.%u", k, j);
          Skip skip = skips[--n_skips];
          gsize cat_ch = ch + skip.channels;
          g_autofree float *cat = g_new (float, cat_ch * h * w);
          float *y = g_new (float, c_l * h * w);

          /* [h, skip] along channels. */
          memcpy (cat, x, ch * h * w * sizeof (float));
          memcpy (cat + ch * h * w, skip.data, skip.channels * h * w * sizeof (float));
          g_free (skip.data);
          if (!unet_resnet (r, res, cat, cat_ch, c_l, h, w, temb, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
          ch = c_l;
          if (c->unet_level_attention[lv])
            {
              g_autofree char *attn = g_strdup_printf ("unet.up_blocks.%u.attentions.%u", k, j);

              y = g_new (float, ch * h * w);
              if (!unet_transformer (r, attn, x, ch, h, w, c->unet_level_heads[lv], context,
                                     n_context, y, error))
                {
                  g_free (y);
                  goto out;
                }
              g_free (x);
              x = y;
            }
        }
      if (k + 1 < L)
        {
          g_autofree char *up = g_strdup_printf ("unet.up_blocks.%u.upsamplers.0.conv", k);
          g_autofree float *big = g_new (float, ch * 4 * h * w);
          float *y = g_new (float, ch * 4 * h * w);

          upsample_nearest (x, ch, h, w, big);
          h *= 2;
          w *= 2;
          if (!apply_conv (r, up, big, ch, h, w, ch, 3, 1, 1, 1, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
        }
    }

  {
    g_autofree float *a = g_new (float, ch * h * w);

    if (!apply_group_norm (r, "unet.conv_norm_out", x, ch, h * w, c->unet_groups, UNET_NORM_EPS,
                           TRUE, a, error)
        || !apply_conv (r, "unet.conv_out", a, ch, h, w, c->unet_out_channels, 3, 1, 1, 1, out, error))
      goto out;
  }
  ok = TRUE;

out:
  while (n_skips > 0)
    g_free (skips[--n_skips].data);
  g_free (x);
  return ok;
}

/* VAE. */

static gboolean
vae_resnet (Ref          *r,
            const char   *prefix,
            const float  *x,
            gsize         c_in,
            gsize         c_out,
            gsize         h,
            gsize         w,
            float        *out,
            GError      **error)
{
  const LoomSdConfig *c = r->config;
  gsize hw = h * w;
  g_autofree float *a = g_new (float, MAX (c_in, c_out) * hw);
  g_autofree float *b = g_new (float, c_out * hw);
  g_autofree char *norm1 = g_strconcat (prefix, ".norm1", NULL);
  g_autofree char *conv1 = g_strconcat (prefix, ".conv1", NULL);
  g_autofree char *norm2 = g_strconcat (prefix, ".norm2", NULL);
  g_autofree char *conv2 = g_strconcat (prefix, ".conv2", NULL);
  g_autofree char *shortcut = g_strconcat (prefix, ".conv_shortcut", NULL);

  if (!apply_group_norm (r, norm1, x, c_in, hw, c->vae_groups, VAE_EPS, TRUE, a, error)
      || !apply_conv (r, conv1, a, c_in, h, w, c_out, 3, 1, 1, 1, b, error)
      || !apply_group_norm (r, norm2, b, c_out, hw, c->vae_groups, VAE_EPS, TRUE, a, error)
      || !apply_conv (r, conv2, a, c_out, h, w, c_out, 3, 1, 1, 1, out, error))
    return FALSE;
  if (c_in != c_out)
    {
      if (!apply_conv (r, shortcut, x, c_in, h, w, c_out, 1, 1, 0, 0, b, error))
        return FALSE;
      for (gsize i = 0; i < c_out * hw; i++)
        out[i] += b[i];
    }
  else
    {
      for (gsize i = 0; i < c_out * hw; i++)
        out[i] += x[i];
    }
  return TRUE;
}

/* The mid block's single-head attention over all positions. */
static gboolean
vae_attention (Ref          *r,
               const char   *prefix,
               const float  *x,
               gsize         ch,
               gsize         hw,
               float        *out,
               GError      **error)
{
  const LoomSdConfig *c = r->config;
  g_autofree float *m = g_new (float, ch * hw);
  g_autofree float *t = g_new (float, hw * ch);
  g_autofree float *q = g_new (float, hw * ch);
  g_autofree float *k = g_new (float, hw * ch);
  g_autofree float *v = g_new (float, hw * ch);
  g_autofree char *norm = g_strconcat (prefix, ".group_norm", NULL);
  g_autofree char *wq = g_strconcat (prefix, ".to_q", NULL);
  g_autofree char *wk = g_strconcat (prefix, ".to_k", NULL);
  g_autofree char *wv = g_strconcat (prefix, ".to_v", NULL);
  g_autofree char *wo = g_strconcat (prefix, ".to_out.0", NULL);

  if (!apply_group_norm (r, norm, x, ch, hw, c->vae_groups, VAE_EPS, FALSE, m, error))
    return FALSE;
  transpose (m, ch, hw, t);
  if (!apply_linear (r, wq, TRUE, t, hw, ch, ch, q, error)
      || !apply_linear (r, wk, TRUE, t, hw, ch, ch, k, error)
      || !apply_linear (r, wv, TRUE, t, hw, ch, ch, v, error))
    return FALSE;
  loom_sd_ref_attention (q, k, v, hw, hw, 1, ch, 1.0 / sqrt ((double) ch), FALSE, m);
  if (!apply_linear (r, wo, TRUE, m, hw, ch, ch, t, error))
    return FALSE;
  transpose (t, hw, ch, out);
  for (gsize i = 0; i < ch * hw; i++)
    out[i] += x[i];
  return TRUE;
}

/* resnet, attention, resnet; x [ch][h][w] is replaced. */
static gboolean
vae_mid (Ref          *r,
            const char   *coder,
            float        *x,
            gsize         ch,
            gsize         h,
            gsize         w,
            GError      **error)
{
  g_autofree float *y = g_new (float, ch * h * w);
  g_autofree float *z = g_new (float, ch * h * w);
  g_autofree char *r0 = g_strdup_printf ("vae.%s.mid_block.resnets.0", coder);
  g_autofree char *a0 = g_strdup_printf ("vae.%s.mid_block.attentions.0", coder);
  g_autofree char *r1 = g_strdup_printf ("vae.%s.mid_block.resnets.1", coder);

  return vae_resnet (r, r0, x, ch, ch, h, w, y, error)
         && vae_attention (r, a0, y, ch, h * w, z, error)
         && vae_resnet (r, r1, z, ch, ch, h, w, x, error);
}

gboolean
loom_sd_ref_vae_decode (LoomSdCheckpoint *checkpoint,
                        const float      *latent,
                        guint             height,
                        guint             width,
                        float            *image,
                        GError          **error)
{
  Ref ref = { checkpoint, loom_sd_checkpoint_get_config (checkpoint) };
  Ref *r = &ref;
  const LoomSdConfig *c = r->config;
  guint L = c->vae_levels, R = c->vae_res_blocks;
  gsize lc = c->vae_latent_channels, h = height, w = width;
  gsize ch = c->vae_level_channels[L - 1];
  g_autofree float *z = g_new (float, lc * h * w);
  float *x = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  g_return_val_if_fail (latent != NULL && image != NULL, FALSE);
  g_return_val_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS, FALSE);

  x = g_new (float, ch * h * w);
  if (!apply_conv (r, "vae.post_quant_conv", latent, lc, h, w, lc, 1, 1, 0, 0, z, error)
      || !apply_conv (r, "vae.decoder.conv_in", z, lc, h, w, ch, 3, 1, 1, 1, x, error)
      || !vae_mid (r, "decoder", x, ch, h, w, error))
    goto out;

  for (guint k = 0; k < L; k++)
    {
      gsize c_l = c->vae_level_channels[L - 1 - k];

      for (guint j = 0; j <= R; j++)
        {
          g_autofree char *res = g_strdup_printf ("vae.decoder.up_blocks.%u.resnets.%u", k, j);
          float *y = g_new (float, c_l * h * w);

          if (!vae_resnet (r, res, x, ch, c_l, h, w, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
          ch = c_l;
        }
      if (k + 1 < L)
        {
          g_autofree char *up = g_strdup_printf ("vae.decoder.up_blocks.%u.upsamplers.0.conv", k);
          g_autofree float *big = g_new (float, ch * 4 * h * w);
          float *y = g_new (float, ch * 4 * h * w);

          upsample_nearest (x, ch, h, w, big);
          h *= 2;
          w *= 2;
          if (!apply_conv (r, up, big, ch, h, w, ch, 3, 1, 1, 1, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
        }
    }

  {
    g_autofree float *a = g_new (float, ch * h * w);

    if (!apply_group_norm (r, "vae.decoder.conv_norm_out", x, ch, h * w, c->vae_groups, VAE_EPS,
                           TRUE, a, error)
        || !apply_conv (r, "vae.decoder.conv_out", a, ch, h, w, 3, 3, 1, 1, 1, image, error))
      goto out;
  }
  ok = TRUE;

out:
  g_free (x);
  return ok;
}

gboolean
loom_sd_ref_vae_encode (LoomSdCheckpoint *checkpoint,
                        const float      *image,
                        guint             height,
                        guint             width,
                        float            *latent,
                        GError          **error)
{
  Ref ref = { checkpoint, loom_sd_checkpoint_get_config (checkpoint) };
  Ref *r = &ref;
  const LoomSdConfig *c = r->config;
  guint L = c->vae_levels, R = c->vae_res_blocks;
  gsize lc = c->vae_latent_channels, h = height, w = width;
  gsize ch = c->vae_channels;
  float *x = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (checkpoint != NULL, FALSE);
  g_return_val_if_fail (image != NULL && latent != NULL, FALSE);
  g_return_val_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS, FALSE);
  g_return_val_if_fail (height % (1u << (L - 1)) == 0 && width % (1u << (L - 1)) == 0, FALSE);

  x = g_new (float, ch * h * w);
  if (!apply_conv (r, "vae.encoder.conv_in", image, 3, h, w, ch, 3, 1, 1, 1, x, error))
    goto out;

  for (guint l = 0; l < L; l++)
    {
      gsize c_l = c->vae_level_channels[l];

      for (guint j = 0; j < R; j++)
        {
          g_autofree char *res = g_strdup_printf ("vae.encoder.down_blocks.%u.resnets.%u", l, j);
          float *y = g_new (float, c_l * h * w);

          if (!vae_resnet (r, res, x, ch, c_l, h, w, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
          ch = c_l;
        }
      if (l + 1 < L)
        {
          /* LDM pads right and bottom by one, then a 3×3 stride-2 convolution. */
          g_autofree char *down = g_strdup_printf ("vae.encoder.down_blocks.%u.downsamplers.0.conv", l);
          float *y = g_new (float, ch * (h / 2) * (w / 2));

          if (!apply_conv (r, down, x, ch, h, w, ch, 3, 2, 0, 1, y, error))
            {
              g_free (y);
              goto out;
            }
          g_free (x);
          x = y;
          h /= 2;
          w /= 2;
        }
    }
  if (!vae_mid (r, "encoder", x, ch, h, w, error))
    goto out;

  {
    g_autofree float *a = g_new (float, ch * h * w);
    g_autofree float *moments = g_new (float, 2 * lc * h * w);
    g_autofree float *quant = g_new (float, 2 * lc * h * w);

    if (!apply_group_norm (r, "vae.encoder.conv_norm_out", x, ch, h * w, c->vae_groups, VAE_EPS,
                           TRUE, a, error)
        || !apply_conv (r, "vae.encoder.conv_out", a, ch, h, w, 2 * lc, 3, 1, 1, 1, moments, error)
        || !apply_conv (r, "vae.quant_conv", moments, 2 * lc, h, w, 2 * lc, 1, 1, 0, 0, quant, error))
      goto out;
    /* The mean: the first half of the channels (the rest is the log-variance). */
    memcpy (latent, quant, lc * h * w * sizeof (float));
  }
  ok = TRUE;

out:
  g_free (x);
  return ok;
}
