/* loom-vae.c — the KL autoencoder of Stable Diffusion (diffusers' AutoencoderKL): the
 * decoder, latent → image, and the encoder's mean, image → latent, recorded with the ops
 * of loom-ops.h.
 *
 * Its feature maps are large (a 256-channel 512×512 map is 256 MiB), so each run keeps
 * just three of them: the stream `x`, which blocks update in place, and two scratch maps
 * that lie back to back in `p`, so that together they hold an upsampled map. They are
 * allocated for the run and freed after it.
 */
#include "config.h"

#include <math.h>

#include "loom-error.h"
#include "loom-sd-networks-private.h"
#include "vk/loom-buffer.h"

#define NORM_EPS 1e-6f  /* every GroupNorm of the VAE */

typedef struct
{
  LoomSdWeights      *weights;
  const LoomSdConfig *config;
  LoomCommand        *cmd;
  LoomBuffer         *x;      /* the stream, [c][h][w] */
  LoomBuffer         *p;      /* scratch: halves p1 = [0, half) and p2 = [half, 2·half) */
  gsize               half;   /* bytes, aligned */
} Vae;

static LoomView
x_view (Vae *vae)
{
  return loom_view (vae->x, 0);
}

static LoomView
p1 (Vae *vae)
{
  return loom_view (vae->p, 0);
}

static LoomView
p2 (Vae *vae)
{
  return loom_view (vae->p, vae->half);
}

/* The stream x [c_in][h][w] becomes x + conv2(silu(norm2(conv1(silu(norm1(x)))))) with
 * c_out channels, x taken through the 1×1 shortcut when the channels change. In place:
 * with a shortcut, x is normalised over itself once the shortcut has read it. */
static void
record_resnet (Vae        *vae,
               const char *prefix,
               gsize       c_in,
               gsize       c_out,
               gsize       h,
               gsize       w)
{
  LoomCommand *cmd = vae->cmd;
  LoomSdWeights *weights = vae->weights;
  gsize groups = vae->config->vae_groups, hw = h * w;
  g_autofree char *norm1 = g_strconcat (prefix, ".norm1", NULL);
  g_autofree char *conv1 = g_strconcat (prefix, ".conv1", NULL);
  g_autofree char *norm2 = g_strconcat (prefix, ".norm2", NULL);
  g_autofree char *conv2 = g_strconcat (prefix, ".conv2", NULL);
  g_autofree char *shortcut = g_strconcat (prefix, ".conv_shortcut", NULL);

  if (c_in != c_out)
    {
      loom_sd_record_conv (cmd, weights, shortcut, x_view (vae), p1 (vae), c_in, h, w, c_out, 1,
                           0, FALSE);
      loom_sd_record_group_norm (cmd, weights, norm1, x_view (vae), x_view (vae), c_in, hw,
                                 groups, NORM_EPS, TRUE);
      loom_sd_record_conv (cmd, weights, conv1, x_view (vae), p2 (vae), c_in, h, w, c_out, 1, 1,
                           FALSE);
      loom_sd_record_group_norm (cmd, weights, norm2, p2 (vae), p2 (vae), c_out, hw, groups,
                                 NORM_EPS, TRUE);
      loom_sd_record_conv (cmd, weights, conv2, p2 (vae), x_view (vae), c_out, h, w, c_out, 1, 1,
                           FALSE);
    }
  else
    {
      loom_sd_record_group_norm (cmd, weights, norm1, x_view (vae), p1 (vae), c_in, hw, groups,
                                 NORM_EPS, TRUE);
      loom_sd_record_conv (cmd, weights, conv1, p1 (vae), p2 (vae), c_in, h, w, c_out, 1, 1,
                           FALSE);
      loom_sd_record_group_norm (cmd, weights, norm2, p2 (vae), p2 (vae), c_out, hw, groups,
                                 NORM_EPS, TRUE);
      loom_sd_record_conv (cmd, weights, conv2, p2 (vae), p1 (vae), c_out, h, w, c_out, 1, 1,
                           FALSE);
    }
  loom_op_binary (cmd, LOOM_BINARY_ADD, x_view (vae), p1 (vae), x_view (vae), c_out * hw);
}

/* Bytes of scratch the mid-block attention needs at C channels and hw cells: the normed
 * map, its tokens, q, k, v and the attention's output, each [hw][C]. */
static gsize
attention_bytes (gsize channels,
                 gsize hw)
{
  return 6 * loom_sd_align (channels * hw * sizeof (float));
}

/* x += to_out(attention(q, k, v))ᵀ of the normed map's tokens: one head of C. */
static void
record_attention (Vae        *vae,
                  const char *prefix,
                  gsize       channels,
                  gsize       hw)
{
  LoomCommand *cmd = vae->cmd;
  LoomSdWeights *weights = vae->weights;
  gsize slot = loom_sd_align (channels * hw * sizeof (float));
  LoomView normed = loom_view (vae->p, 0), tokens = loom_view (vae->p, slot);
  LoomView q = loom_view (vae->p, 2 * slot), k = loom_view (vae->p, 3 * slot);
  LoomView v = loom_view (vae->p, 4 * slot), o = loom_view (vae->p, 5 * slot);
  g_autofree char *norm = g_strconcat (prefix, ".group_norm", NULL);
  g_autofree char *to_q = g_strconcat (prefix, ".to_q", NULL);
  g_autofree char *to_k = g_strconcat (prefix, ".to_k", NULL);
  g_autofree char *to_v = g_strconcat (prefix, ".to_v", NULL);
  g_autofree char *to_out = g_strconcat (prefix, ".to_out.0", NULL);
  const LoomFlashAttention attention = {
    .n_q = hw,
    .n_kv = hw,
    .n_heads = 1,
    .head_dim = channels,
    .scale = (float) (1.0 / sqrt ((double) channels)),
  };

  loom_sd_record_group_norm (cmd, weights, norm, x_view (vae), normed, channels, hw,
                             vae->config->vae_groups, NORM_EPS, FALSE);
  loom_op_transpose (cmd, normed, tokens, channels, hw);
  loom_sd_record_linear (cmd, weights, to_q, tokens, q, hw, channels, channels);
  loom_sd_record_linear (cmd, weights, to_k, tokens, k, hw, channels, channels);
  loom_sd_record_linear (cmd, weights, to_v, tokens, v, hw, channels, channels);
  loom_op_flash_attention (cmd, q, k, v, o, &attention);
  loom_sd_record_linear (cmd, weights, to_out, o, normed, hw, channels, channels);
  loom_op_transpose (cmd, normed, tokens, hw, channels);
  loom_op_binary (cmd, LOOM_BINARY_ADD, x_view (vae), tokens, x_view (vae), channels * hw);
}

static void
record_mid (Vae        *vae,
            const char *coder,   /* "vae.encoder" or "vae.decoder" */
            gsize       channels,
            gsize       h,
            gsize       w)
{
  g_autofree char *resnet0 = g_strconcat (coder, ".mid_block.resnets.0", NULL);
  g_autofree char *attention = g_strconcat (coder, ".mid_block.attentions.0", NULL);
  g_autofree char *resnet1 = g_strconcat (coder, ".mid_block.resnets.1", NULL);

  record_resnet (vae, resnet0, channels, channels, h, w);
  record_attention (vae, attention, channels, h * w);
  record_resnet (vae, resnet1, channels, channels, h, w);
}

/* x [c][h][w] → @out: conv_out(silu(conv_norm_out(x))). */
static void
record_tail (Vae        *vae,
             const char *coder,
             gsize       channels,
             gsize       h,
             gsize       w,
             gsize       c_out,
             LoomView    out)
{
  g_autofree char *norm = g_strconcat (coder, ".conv_norm_out", NULL);
  g_autofree char *conv = g_strconcat (coder, ".conv_out", NULL);

  loom_sd_record_group_norm (vae->cmd, vae->weights, norm, x_view (vae), p1 (vae), channels,
                             h * w, vae->config->vae_groups, NORM_EPS, TRUE);
  loom_sd_record_conv (vae->cmd, vae->weights, conv, p1 (vae), out, channels, h, w, c_out, 1, 1,
                       FALSE);
}

static gboolean
vae_init (Vae            *vae,
          LoomSdWeights  *weights,
          gsize           x_floats,
          gsize           half_floats,
          gsize           p_bytes,
          GError        **error)
{
  LoomDevice *device = loom_sd_weights_get_device (weights);

  vae->weights = weights;
  vae->config = loom_sd_weights_get_config (weights);
  vae->half = loom_sd_align (half_floats * sizeof (float));
  vae->cmd = loom_command_new (device, error);
  if (vae->cmd == NULL)
    return FALSE;
  vae->x = loom_buffer_new (device, x_floats * sizeof (float), error);
  if (vae->x == NULL)
    return FALSE;
  vae->p = loom_buffer_new (device, MAX (2 * vae->half, p_bytes), error);
  return vae->p != NULL;
}

static void
vae_clear (Vae *vae)
{
  g_clear_pointer (&vae->x, loom_buffer_free);
  g_clear_pointer (&vae->p, loom_buffer_free);
  g_clear_pointer (&vae->cmd, loom_command_free);
}

static gboolean
check_size (guint        h,
            guint        w,
            guint        multiple,
            const char  *what,
            GError     **error)
{
  if (h == 0 || w == 0 || h % multiple != 0 || w % multiple != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "%s of %u×%u cannot pass the VAE (it needs multiples of %u)", what, w, h,
                   multiple);
      return FALSE;
    }
  return TRUE;
}

/**
 * loom_vae_decode:
 *
 * post_quant_conv, then the decoder: mid block at the latent's size, then each up level
 * doubling it. One submission; blocks until the device is done.
 */
gboolean
loom_vae_decode (LoomSdWeights  *weights,
                 const float    *latent,
                 guint           h,
                 guint           w,
                 float          *image,
                 GError        **error)
{
  const LoomSdConfig *c;
  const guint *ch;
  guint L, R, f;
  gsize lc, x_floats, half_floats, hw, H, W;
  Vae vae = { 0 };
  LoomSdIo in = { 0 }, out = { 0 };
  gboolean ok;

  g_return_val_if_fail (weights != NULL && latent != NULL && image != NULL, FALSE);
  if (!loom_sd_weights_has_text_and_vae (weights, error))
    return FALSE;
  c = loom_sd_weights_get_config (weights);
  if (!check_size (h, w, 1, "A latent", error))
    return FALSE;
  ch = c->vae_level_channels;
  L = c->vae_levels;
  R = c->vae_res_blocks;
  f = loom_sd_config_latent_factor (c);
  lc = c->vae_latent_channels;
  H = (gsize) h * f;
  W = (gsize) w * f;

  /* x holds the widest map the stream becomes (an upsampled one, or the first resnet's
   * input at each level); each half of p a resnet's output, and both an upsampled map. */
  x_floats = (gsize) ch[L - 1] * h * w;
  half_floats = MAX (lc, ch[L - 1]) * (gsize) h * w;
  for (guint k = 0; k < L; k++)
    {
      guint level = L - 1 - k;
      hw = (gsize) (h << k) * (w << k);
      x_floats = MAX (x_floats, (k > 0 ? ch[level + 1] : ch[L - 1]) * hw);
      half_floats = MAX (half_floats, ch[level] * hw);
      if (k + 1 < L)
        {
          x_floats = MAX (x_floats, ch[level] * 4 * hw);
          half_floats = MAX (half_floats, (ch[level] * 4 * hw + 1) / 2 + LOOM_SD_ALIGN);
        }
    }

  if (!vae_init (&vae, weights, x_floats, half_floats, attention_bytes (ch[L - 1], (gsize) h * w),
                 error)
      || !loom_sd_io_init (&in, loom_sd_weights_get_device (weights), lc * h * w * sizeof (float),
                           TRUE, error)
      || !loom_sd_io_init (&out, loom_sd_weights_get_device (weights), 3 * H * W * sizeof (float),
                           FALSE, error))
    {
      vae_clear (&vae);
      loom_sd_io_clear (&in);
      loom_sd_io_clear (&out);
      g_prefix_error (error, "Decoding the image: ");
      return FALSE;
    }

  loom_sd_io_record_write (&in, vae.cmd, 0, latent, in.size);
  loom_sd_record_conv (vae.cmd, weights, "vae.post_quant_conv", loom_view (in.buffer, 0), p1 (&vae),
                       lc, h, w, lc, 1, 0, FALSE);
  loom_sd_record_conv (vae.cmd, weights, "vae.decoder.conv_in", p1 (&vae), x_view (&vae), lc, h, w,
                       ch[L - 1], 1, 1, FALSE);
  record_mid (&vae, "vae.decoder", ch[L - 1], h, w);

  for (guint k = 0; k < L; k++)
    {
      guint level = L - 1 - k;
      gsize lh = (gsize) h << k, lw = (gsize) w << k;
      gsize c_in = k > 0 ? ch[level + 1] : ch[L - 1];

      for (guint j = 0; j <= R; j++)
        {
          g_autofree char *prefix = g_strdup_printf ("vae.decoder.up_blocks.%u.resnets.%u", k, j);
          record_resnet (&vae, prefix, j == 0 ? c_in : ch[level], ch[level], lh, lw);
        }
      if (k + 1 < L)
        {
          g_autofree char *prefix = g_strdup_printf ("vae.decoder.up_blocks.%u.upsamplers.0.conv",
                                                     k);
          loom_op_upsample_nearest (vae.cmd, x_view (&vae), p1 (&vae), ch[level], lh, lw);
          loom_sd_record_conv (vae.cmd, weights, prefix, p1 (&vae), x_view (&vae), ch[level],
                               2 * lh, 2 * lw, ch[level], 1, 1, FALSE);
        }
    }
  record_tail (&vae, "vae.decoder", ch[0], H, W, 3, loom_view (out.buffer, 0));
  loom_sd_io_record_read (&out, vae.cmd, 0, out.size);

  ok = loom_command_submit (vae.cmd, error);
  if (ok)
    loom_sd_io_read (&out, 0, image, out.size);
  else
    g_prefix_error (error, "Decoding the image: ");
  vae_clear (&vae);
  loom_sd_io_clear (&in);
  loom_sd_io_clear (&out);
  return ok;
}

/**
 * loom_vae_encode:
 *
 * The encoder, then quant_conv; the first half of its channels is the mean of the
 * latent distribution. One submission; blocks until the device is done.
 */
gboolean
loom_vae_encode (LoomSdWeights  *weights,
                 const float    *image,
                 guint           height,
                 guint           width,
                 float          *latent,
                 GError        **error)
{
  const LoomSdConfig *c;
  const guint *ch;
  guint L, R, f;
  gsize lc, x_floats, half_floats, h, w;
  Vae vae = { 0 };
  LoomSdIo in = { 0 }, out = { 0 };
  gboolean ok;

  g_return_val_if_fail (weights != NULL && image != NULL && latent != NULL, FALSE);
  if (!loom_sd_weights_has_text_and_vae (weights, error))
    return FALSE;
  c = loom_sd_weights_get_config (weights);
  f = loom_sd_config_latent_factor (c);
  if (!check_size (height, width, f, "An image", error))
    return FALSE;
  ch = c->vae_level_channels;
  L = c->vae_levels;
  R = c->vae_res_blocks;
  lc = c->vae_latent_channels;
  h = height / f;
  w = width / f;

  /* Every map of the encoder is at most as large as its first level's. */
  x_floats = 2 * lc * h * w;
  half_floats = 2 * lc * h * w;
  for (guint l = 0; l < L; l++)
    {
      gsize hw = (gsize) (height >> l) * (width >> l);
      x_floats = MAX (x_floats, MAX (l > 0 ? ch[l - 1] : ch[0], ch[l]) * hw);
      half_floats = MAX (half_floats, ch[l] * hw);
    }

  if (!vae_init (&vae, weights, x_floats, half_floats, attention_bytes (ch[L - 1], h * w), error)
      || !loom_sd_io_init (&in, loom_sd_weights_get_device (weights),
                           3 * (gsize) height * width * sizeof (float), TRUE, error)
      || !loom_sd_io_init (&out, loom_sd_weights_get_device (weights),
                           2 * lc * h * w * sizeof (float), FALSE, error))
    {
      vae_clear (&vae);
      loom_sd_io_clear (&in);
      loom_sd_io_clear (&out);
      g_prefix_error (error, "Encoding the image: ");
      return FALSE;
    }

  loom_sd_io_record_write (&in, vae.cmd, 0, image, in.size);
  loom_sd_record_conv (vae.cmd, weights, "vae.encoder.conv_in", loom_view (in.buffer, 0),
                       x_view (&vae), 3, height, width, ch[0], 1, 1, FALSE);
  for (guint l = 0; l < L; l++)
    {
      gsize lh = height >> l, lw = width >> l;

      for (guint j = 0; j < R; j++)
        {
          g_autofree char *prefix = g_strdup_printf ("vae.encoder.down_blocks.%u.resnets.%u", l, j);
          record_resnet (&vae, prefix, j > 0 ? ch[l] : l > 0 ? ch[l - 1] : ch[0], ch[l], lh, lw);
        }
      if (l + 1 < L)
        {
          g_autofree char *prefix = NULL;

          prefix = g_strdup_printf ("vae.encoder.down_blocks.%u.downsamplers.0.conv", l);
          /* Pad one zero row and column at the bottom and right, then stride 2 without
           * padding; the halved map comes back into x. */
          loom_sd_record_conv (vae.cmd, weights, prefix, x_view (&vae), p1 (&vae), ch[l], lh, lw,
                               ch[l], 2, 0, TRUE);
          loom_command_copy (vae.cmd, vae.p, 0, vae.x, 0,
                             ch[l] * (lh / 2) * (lw / 2) * sizeof (float));
        }
    }
  record_mid (&vae, "vae.encoder", ch[L - 1], h, w);
  record_tail (&vae, "vae.encoder", ch[L - 1], h, w, 2 * lc, p2 (&vae));
  loom_sd_record_conv (vae.cmd, weights, "vae.quant_conv", p2 (&vae), loom_view (out.buffer, 0),
                       2 * lc, h, w, 2 * lc, 1, 0, FALSE);
  loom_sd_io_record_read (&out, vae.cmd, 0, lc * h * w * sizeof (float));

  ok = loom_command_submit (vae.cmd, error);
  if (ok)
    loom_sd_io_read (&out, 0, latent, lc * h * w * sizeof (float));
  else
    g_prefix_error (error, "Encoding the image: ");
  vae_clear (&vae);
  loom_sd_io_clear (&in);
  loom_sd_io_clear (&out);
  return ok;
}
