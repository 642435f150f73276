/* loom-sd-names.c — the tensors of a Stable Diffusion configuration and the mapping of
 * the original LDM names (CompVis/Stability single files) to the diffusers names.
 *
 * The LDM UNet numbers its blocks flatly: input_blocks.0 is conv_in; then each down
 * level l holds R blocks (resnet, then transformer at attention levels) and, but for
 * the last level, one downsampler: input_blocks.(1 + l·(R+1) + j) and
 * input_blocks.((l+1)·(R+1)). output_blocks.(k·(R+1) + j), j ≤ R, are the up levels'
 * blocks; the upsampler of up level k is the last element of its last block (index 1
 * without attention, 2 with). The VAE numbers its decoder levels from the bottom:
 * decoder.up.i is diffusers' up_blocks.(L−1−i).
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "image/loom-sd-names.h"

/* Building the list. */

typedef struct
{
  GPtrArray          *specs;
  const LoomSdConfig *config;
  LoomSdComponents    component;
} Builder;

static void
spec_free (gpointer data)
{
  LoomSdSpec *spec = data;

  g_free (spec->name);
  g_free (spec->ldm_name);
  g_free (spec);
}

static LoomSdSpec *
add (Builder    *b,
     const char *name,
     const char *ldm_name,
     LoomSdInit  init,
     guint       fan_in,
     guint       n_dims,
     gint64      d0,
     gint64      d1,
     gint64      d2,
     gint64      d3)
{
  LoomSdSpec *spec = g_new0 (LoomSdSpec, 1);
  gint64 dims[4] = { d0, d1, d2, d3 };

  spec->name = g_strdup (name);
  spec->ldm_name = g_strdup (ldm_name);
  spec->component = b->component;
  spec->n_dims = n_dims;
  spec->ldm_n_dims = n_dims;
  spec->n_elements = 1;
  for (guint d = 0; d < n_dims; d++)
    {
      spec->shape[d] = dims[d];
      spec->ldm_shape[d] = dims[d];
      spec->n_elements *= (gsize) dims[d];
    }
  spec->init = init;
  spec->fan_in = fan_in;
  g_ptr_array_add (b->specs, spec);
  return spec;
}

/* "<canon>.weight" ↔ "<ldm>.weight" of [out][in], and its bias [out] when @bias. */
static void
add_linear (Builder    *b,
            const char *canon,
            const char *ldm,
            guint       out,
            guint       in,
            gboolean    bias)
{
  g_autofree char *cw = g_strconcat (canon, ".weight", NULL);
  g_autofree char *lw = g_strconcat (ldm, ".weight", NULL);

  add (b, cw, lw, LOOM_SD_INIT_WEIGHT, in, 2, out, in, 0, 0);
  if (bias)
    {
      g_autofree char *cb = g_strconcat (canon, ".bias", NULL);
      g_autofree char *lb = g_strconcat (ldm, ".bias", NULL);

      add (b, cb, lb, LOOM_SD_INIT_BIAS, 0, 1, out, 0, 0, 0);
    }
}

/* A linear layer [out][in] with bias that a layout may store as a 1×1 convolution
 * [out][in][1][1] (same data): SD 1.x proj_in/proj_out in both layouts, the VAE's
 * attention only in the single file (diffusers converts those to linear layers). */
static void
add_linear_1x1 (Builder    *b,
                const char *canon,
                const char *ldm,
                guint       out,
                guint       in,
                gboolean    conv_in_diffusers,
                gboolean    conv_in_ldm)
{
  LoomSdSpec *w;

  add_linear (b, canon, ldm, out, in, TRUE);
  w = g_ptr_array_index (b->specs, b->specs->len - 2);
  if (conv_in_ldm)
    {
      w->ldm_n_dims = 4;
      w->ldm_shape[2] = w->ldm_shape[3] = 1;
    }
  if (conv_in_diffusers)
    {
      w->n_dims = 4;
      w->shape[2] = w->shape[3] = 1;
    }
}

static void
add_conv (Builder    *b,
          const char *canon,
          const char *ldm,
          guint       out,
          guint       in,
          guint       k)
{
  g_autofree char *cw = g_strconcat (canon, ".weight", NULL);
  g_autofree char *lw = g_strconcat (ldm, ".weight", NULL);
  g_autofree char *cb = g_strconcat (canon, ".bias", NULL);
  g_autofree char *lb = g_strconcat (ldm, ".bias", NULL);

  add (b, cw, lw, LOOM_SD_INIT_WEIGHT, in * k * k, 4, out, in, k, k);
  add (b, cb, lb, LOOM_SD_INIT_BIAS, 0, 1, out, 0, 0, 0);
}

static void
add_norm (Builder    *b,
          const char *canon,
          const char *ldm,
          guint       channels)
{
  g_autofree char *cw = g_strconcat (canon, ".weight", NULL);
  g_autofree char *lw = g_strconcat (ldm, ".weight", NULL);
  g_autofree char *cb = g_strconcat (canon, ".bias", NULL);
  g_autofree char *lb = g_strconcat (ldm, ".bias", NULL);

  add (b, cw, lw, LOOM_SD_INIT_NORM_WEIGHT, 0, 1, channels, 0, 0, 0);
  add (b, cb, lb, LOOM_SD_INIT_BIAS, 0, 1, channels, 0, 0, 0);
}

/* g_strdup_printf of two names at once, for the canonical/LDM pairs. */
typedef struct
{
  char *canon;
  char *ldm;
} Pair;

static void
pair_clear (Pair *p)
{
  g_clear_pointer (&p->canon, g_free);
  g_clear_pointer (&p->ldm, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pair, pair_clear)

static Pair
pair (const char *canon,
      const char *ldm)
{
  Pair p = { g_strdup (canon), g_strdup (ldm) };

  return p;
}

/* Takes both strings. */
static Pair
pair_take (char *canon,
           char *ldm)
{
  Pair p = { canon, ldm };

  return p;
}

static Pair G_GNUC_PRINTF (2, 3)
pair_child (const Pair *parent,
            const char *format,
            ...)
{
  va_list args;
  g_autofree char *suffix = NULL;
  Pair p;

  va_start (args, format);
  suffix = g_strdup_vprintf (format, args);
  va_end (args);
  p.canon = g_strconcat (parent->canon, ".", suffix, NULL);
  p.ldm = g_strconcat (parent->ldm, ".", suffix, NULL);
  return p;
}

static Pair G_GNUC_PRINTF (3, 4)
pair_child2 (const Pair *parent,
             const char *ldm_suffix,
             const char *canon_format,
             ...)
{
  va_list args;
  g_autofree char *suffix = NULL;
  Pair p;

  va_start (args, canon_format);
  suffix = g_strdup_vprintf (canon_format, args);
  va_end (args);
  p.canon = g_strconcat (parent->canon, ".", suffix, NULL);
  p.ldm = g_strconcat (parent->ldm, ".", ldm_suffix, NULL);
  return p;
}

/* Text encoder. */

static void
add_text_encoder (Builder *b,
                  guint    layers)
{
  const LoomSdConfig *c = b->config;
  gboolean open_clip = c->family == LOOM_SD_FAMILY_SD2;
  guint d = c->text_dim;
  const char *ldm = open_clip ? "cond_stage_model.model" : "cond_stage_model.transformer.text_model";
  g_auto(Pair) root = pair ("text_encoder.text_model", ldm);

  b->component = LOOM_SD_COMPONENT_TEXT_ENCODER;
  {
    g_auto(Pair) tok = pair_child2 (&root, open_clip ? "token_embedding.weight"
                                                     : "embeddings.token_embedding.weight",
                                    "embeddings.token_embedding.weight");
    g_auto(Pair) pos = pair_child2 (&root, open_clip ? "positional_embedding"
                                                     : "embeddings.position_embedding.weight",
                                    "embeddings.position_embedding.weight");

    add (b, tok.canon, tok.ldm, LOOM_SD_INIT_TOKEN_EMBEDDING, 0, 2, c->text_vocab, d, 0, 0);
    add (b, pos.canon, pos.ldm, LOOM_SD_INIT_POSITION, 0, 2, c->text_positions, d, 0, 0);
  }

  for (guint i = 0; i < layers; i++)
    {
      g_autofree char *canon = g_strdup_printf ("text_encoder.text_model.encoder.layers.%u", i);
      g_autofree char *lp = open_clip ? g_strdup_printf ("cond_stage_model.model.transformer.resblocks.%u", i)
                                      : g_strdup_printf ("%s.encoder.layers.%u", ldm, i);
      g_auto(Pair) layer = pair (canon, lp);
      g_auto(Pair) ln1 = pair_child2 (&layer, open_clip ? "ln_1" : "layer_norm1", "layer_norm1");
      g_auto(Pair) ln2 = pair_child2 (&layer, open_clip ? "ln_2" : "layer_norm2", "layer_norm2");
      g_auto(Pair) out = pair_child2 (&layer, open_clip ? "attn.out_proj" : "self_attn.out_proj",
                                      "self_attn.out_proj");
      g_auto(Pair) fc1 = pair_child2 (&layer, open_clip ? "mlp.c_fc" : "mlp.fc1", "mlp.fc1");
      g_auto(Pair) fc2 = pair_child2 (&layer, open_clip ? "mlp.c_proj" : "mlp.fc2", "mlp.fc2");
      static const char * const qkv[] = { "q_proj", "k_proj", "v_proj" };

      add_norm (b, ln1.canon, ln1.ldm, d);
      for (guint p = 0; p < 3; p++)
        {
          g_autofree char *self_qkv = g_strconcat ("self_attn.", qkv[p], NULL);
          g_auto(Pair) proj = pair_child2 (&layer, self_qkv, "%s", self_qkv);

          if (!open_clip)
            add_linear (b, proj.canon, proj.ldm, d, d, TRUE);
          else
            {
              /* OpenCLIP: in_proj_weight [3d][d] and in_proj_bias [3d], q, k, v in order. */
              g_autofree char *cw = g_strconcat (proj.canon, ".weight", NULL);
              g_autofree char *cb = g_strconcat (proj.canon, ".bias", NULL);
              g_autofree char *lw = g_strconcat (lp, ".attn.in_proj_weight", NULL);
              g_autofree char *lb = g_strconcat (lp, ".attn.in_proj_bias", NULL);
              LoomSdSpec *s;

              s = add (b, cw, lw, LOOM_SD_INIT_WEIGHT, d, 2, d, d, 0, 0);
              s->ldm_part = p + 1;
              s = add (b, cb, lb, LOOM_SD_INIT_BIAS, 0, 1, d, 0, 0, 0);
              s->ldm_part = p + 1;
            }
        }
      add_linear (b, out.canon, out.ldm, d, d, TRUE);
      add_norm (b, ln2.canon, ln2.ldm, d);
      add_linear (b, fc1.canon, fc1.ldm, c->text_ffn, d, TRUE);
      add_linear (b, fc2.canon, fc2.ldm, d, c->text_ffn, TRUE);
    }

  {
    g_auto(Pair) fin = pair_child2 (&root, open_clip ? "ln_final" : "final_layer_norm",
                                    "final_layer_norm");

    add_norm (b, fin.canon, fin.ldm, d);
  }
}

/* UNet. */

static void
add_unet_resnet (Builder    *b,
                 const Pair *p,
                 guint       in,
                 guint       out)
{
  g_auto(Pair) norm1 = pair_child2 (p, "in_layers.0", "norm1");
  g_auto(Pair) conv1 = pair_child2 (p, "in_layers.2", "conv1");
  g_auto(Pair) temb = pair_child2 (p, "emb_layers.1", "time_emb_proj");
  g_auto(Pair) norm2 = pair_child2 (p, "out_layers.0", "norm2");
  g_auto(Pair) conv2 = pair_child2 (p, "out_layers.3", "conv2");

  add_norm (b, norm1.canon, norm1.ldm, in);
  add_conv (b, conv1.canon, conv1.ldm, out, in, 3);
  add_linear (b, temb.canon, temb.ldm, out, b->config->unet_time_dim, TRUE);
  add_norm (b, norm2.canon, norm2.ldm, out);
  add_conv (b, conv2.canon, conv2.ldm, out, out, 3);
  if (in != out)
    {
      g_auto(Pair) skip = pair_child2 (p, "skip_connection", "conv_shortcut");

      add_conv (b, skip.canon, skip.ldm, out, in, 1);
    }
}

static void
add_unet_transformer (Builder    *b,
                      const Pair *p,
                      guint       channels)
{
  const LoomSdConfig *c = b->config;
  gboolean conv = !c->unet_linear_proj;
  g_auto(Pair) norm = pair_child (p, "norm");
  g_auto(Pair) proj_in = pair_child (p, "proj_in");
  g_auto(Pair) proj_out = pair_child (p, "proj_out");
  g_auto(Pair) block = pair_child (p, "transformer_blocks.0");

  add_norm (b, norm.canon, norm.ldm, channels);
  add_linear_1x1 (b, proj_in.canon, proj_in.ldm, channels, channels, conv, conv);
  for (guint a = 1; a <= 2; a++)
    {
      g_auto(Pair) norm_a = pair_child (&block, "norm%u", a);
      g_auto(Pair) q = pair_child (&block, "attn%u.to_q", a);
      g_auto(Pair) k = pair_child (&block, "attn%u.to_k", a);
      g_auto(Pair) v = pair_child (&block, "attn%u.to_v", a);
      g_auto(Pair) o = pair_child (&block, "attn%u.to_out.0", a);
      guint kv_in = a == 1 ? channels : c->unet_context_dim;

      add_norm (b, norm_a.canon, norm_a.ldm, channels);
      add_linear (b, q.canon, q.ldm, channels, channels, FALSE);
      add_linear (b, k.canon, k.ldm, channels, kv_in, FALSE);
      add_linear (b, v.canon, v.ldm, channels, kv_in, FALSE);
      add_linear (b, o.canon, o.ldm, channels, channels, TRUE);
    }
  {
    g_auto(Pair) norm3 = pair_child (&block, "norm3");
    g_auto(Pair) ff0 = pair_child (&block, "ff.net.0.proj");
    g_auto(Pair) ff2 = pair_child (&block, "ff.net.2");

    add_norm (b, norm3.canon, norm3.ldm, channels);
    add_linear (b, ff0.canon, ff0.ldm, 8 * channels, channels, TRUE);
    add_linear (b, ff2.canon, ff2.ldm, channels, 4 * channels, TRUE);
  }
  add_linear_1x1 (b, proj_out.canon, proj_out.ldm, channels, channels, conv, conv);
}

static void
add_unet (Builder *b)
{
  const LoomSdConfig *c = b->config;
  guint L = c->unet_levels, R = c->unet_res_blocks;
  guint skips[1 + LOOM_SD_MAX_LEVELS * 8];
  guint n_skips = 0, ch;
  g_auto(Pair) root = pair ("unet", "model.diffusion_model");

  b->component = LOOM_SD_COMPONENT_UNET;
  g_return_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS && R >= 1 && R <= 7);

  {
    g_auto(Pair) l1 = pair_child2 (&root, "time_embed.0", "time_embedding.linear_1");
    g_auto(Pair) l2 = pair_child2 (&root, "time_embed.2", "time_embedding.linear_2");
    g_auto(Pair) conv_in = pair_child2 (&root, "input_blocks.0.0", "conv_in");

    add_linear (b, l1.canon, l1.ldm, c->unet_time_dim, c->unet_channels, TRUE);
    add_linear (b, l2.canon, l2.ldm, c->unet_time_dim, c->unet_time_dim, TRUE);
    add_conv (b, conv_in.canon, conv_in.ldm, c->unet_channels, c->unet_in_channels, 3);
  }
  ch = c->unet_channels;
  skips[n_skips++] = ch;

  for (guint l = 0; l < L; l++)
    {
      guint out = c->unet_level_channels[l];

      for (guint j = 0; j < R; j++)
        {
          guint n = 1 + l * (R + 1) + j;
          g_auto(Pair) res = pair_take (g_strdup_printf ("unet.down_blocks.%u.resnets.%u", l, j),
                                        g_strdup_printf ("model.diffusion_model.input_blocks.%u.0", n));

          add_unet_resnet (b, &res, ch, out);
          ch = out;
          if (c->unet_level_attention[l])
            {
              g_auto(Pair) attn = pair_take (g_strdup_printf ("unet.down_blocks.%u.attentions.%u", l, j),
                                             g_strdup_printf ("model.diffusion_model.input_blocks.%u.1", n));

              add_unet_transformer (b, &attn, ch);
            }
          skips[n_skips++] = ch;
        }
      if (l + 1 < L)
        {
          g_auto(Pair) down = pair_take (g_strdup_printf ("unet.down_blocks.%u.downsamplers.0.conv", l),
                                         g_strdup_printf ("model.diffusion_model.input_blocks.%u.0.op", (l + 1) * (R + 1)));

          add_conv (b, down.canon, down.ldm, ch, ch, 3);
          skips[n_skips++] = ch;
        }
    }

  {
    g_auto(Pair) r0 = pair_child2 (&root, "middle_block.0", "mid_block.resnets.0");
    g_auto(Pair) a0 = pair_child2 (&root, "middle_block.1", "mid_block.attentions.0");
    g_auto(Pair) r1 = pair_child2 (&root, "middle_block.2", "mid_block.resnets.1");

    add_unet_resnet (b, &r0, ch, ch);
    add_unet_transformer (b, &a0, ch);
    add_unet_resnet (b, &r1, ch, ch);
  }

  for (guint k = 0; k < L; k++)
    {
      guint lv = L - 1 - k;
      guint out = c->unet_level_channels[lv];
      gboolean attention = c->unet_level_attention[lv];

      for (guint j = 0; j <= R; j++)
        {
          guint n = k * (R + 1) + j;
          guint skip;
          g_auto(Pair) res = pair_take (g_strdup_printf ("unet.up_blocks.%u.resnets.%u", k, j),
                                        g_strdup_printf ("model.diffusion_model.output_blocks.%u.0", n));

          g_assert (n_skips > 0);
          skip = skips[--n_skips];
          add_unet_resnet (b, &res, ch + skip, out);
          ch = out;
          if (attention)
            {
              g_auto(Pair) attn = pair_take (g_strdup_printf ("unet.up_blocks.%u.attentions.%u", k, j),
                                             g_strdup_printf ("model.diffusion_model.output_blocks.%u.1", n));

              add_unet_transformer (b, &attn, ch);
            }
        }
      if (k + 1 < L)
        {
          g_auto(Pair) up = pair_take (g_strdup_printf ("unet.up_blocks.%u.upsamplers.0.conv", k),
                                       g_strdup_printf ("model.diffusion_model.output_blocks.%u.%u.conv",
                                                        k * (R + 1) + R, attention ? 2 : 1));

          add_conv (b, up.canon, up.ldm, ch, ch, 3);
        }
    }
  g_assert (n_skips == 0);

  {
    g_auto(Pair) norm = pair_child2 (&root, "out.0", "conv_norm_out");
    g_auto(Pair) conv = pair_child2 (&root, "out.2", "conv_out");

    add_norm (b, norm.canon, norm.ldm, ch);
    add_conv (b, conv.canon, conv.ldm, c->unet_out_channels, ch, 3);
  }
}

/* VAE. */

static void
add_vae_resnet (Builder    *b,
                const Pair *p,
                guint       in,
                guint       out)
{
  g_auto(Pair) norm1 = pair_child (p, "norm1");
  g_auto(Pair) conv1 = pair_child (p, "conv1");
  g_auto(Pair) norm2 = pair_child (p, "norm2");
  g_auto(Pair) conv2 = pair_child (p, "conv2");

  add_norm (b, norm1.canon, norm1.ldm, in);
  add_conv (b, conv1.canon, conv1.ldm, out, in, 3);
  add_norm (b, norm2.canon, norm2.ldm, out);
  add_conv (b, conv2.canon, conv2.ldm, out, out, 3);
  if (in != out)
    {
      g_auto(Pair) skip = pair_child2 (p, "nin_shortcut", "conv_shortcut");

      add_conv (b, skip.canon, skip.ldm, out, in, 1);
    }
}

static void
add_vae_mid (Builder    *b,
             const Pair *coder,
             guint       ch)
{
  g_auto(Pair) r0 = pair_child2 (coder, "mid.block_1", "mid_block.resnets.0");
  g_auto(Pair) attn = pair_child2 (coder, "mid.attn_1", "mid_block.attentions.0");
  g_auto(Pair) r1 = pair_child2 (coder, "mid.block_2", "mid_block.resnets.1");
  g_auto(Pair) norm = pair_child2 (&attn, "norm", "group_norm");
  g_auto(Pair) q = pair_child2 (&attn, "q", "to_q");
  g_auto(Pair) k = pair_child2 (&attn, "k", "to_k");
  g_auto(Pair) v = pair_child2 (&attn, "v", "to_v");
  g_auto(Pair) o = pair_child2 (&attn, "proj_out", "to_out.0");

  add_vae_resnet (b, &r0, ch, ch);
  add_norm (b, norm.canon, norm.ldm, ch);
  add_linear_1x1 (b, q.canon, q.ldm, ch, ch, FALSE, TRUE);
  add_linear_1x1 (b, k.canon, k.ldm, ch, ch, FALSE, TRUE);
  add_linear_1x1 (b, v.canon, v.ldm, ch, ch, FALSE, TRUE);
  add_linear_1x1 (b, o.canon, o.ldm, ch, ch, FALSE, TRUE);
  add_vae_resnet (b, &r1, ch, ch);
}

static void
add_vae (Builder *b)
{
  const LoomSdConfig *c = b->config;
  guint L = c->vae_levels, R = c->vae_res_blocks, lc = c->vae_latent_channels;
  guint ch;
  g_auto(Pair) root = pair ("vae", "first_stage_model");
  g_auto(Pair) enc = pair_child (&root, "encoder");
  g_auto(Pair) dec = pair_child (&root, "decoder");

  b->component = LOOM_SD_COMPONENT_VAE;
  g_return_if_fail (L >= 1 && L <= LOOM_SD_MAX_LEVELS && R >= 1);

  {
    g_auto(Pair) conv_in = pair_child (&enc, "conv_in");

    add_conv (b, conv_in.canon, conv_in.ldm, c->vae_channels, 3, 3);
  }
  ch = c->vae_channels;
  for (guint l = 0; l < L; l++)
    {
      guint out = c->vae_level_channels[l];

      for (guint j = 0; j < R; j++)
        {
          g_auto(Pair) res = pair_take (g_strdup_printf ("vae.encoder.down_blocks.%u.resnets.%u", l, j),
                                        g_strdup_printf ("%s.down.%u.block.%u", enc.ldm, l, j));

          add_vae_resnet (b, &res, ch, out);
          ch = out;
        }
      if (l + 1 < L)
        {
          g_auto(Pair) down = pair_take (g_strdup_printf ("vae.encoder.down_blocks.%u.downsamplers.0.conv", l),
                                         g_strdup_printf ("%s.down.%u.downsample.conv", enc.ldm, l));

          add_conv (b, down.canon, down.ldm, ch, ch, 3);
        }
    }
  add_vae_mid (b, &enc, ch);
  {
    g_auto(Pair) norm = pair_child2 (&enc, "norm_out", "conv_norm_out");
    g_auto(Pair) conv = pair_child (&enc, "conv_out");
    g_auto(Pair) quant = pair_child (&root, "quant_conv");

    add_norm (b, norm.canon, norm.ldm, ch);
    add_conv (b, conv.canon, conv.ldm, 2 * lc, ch, 3);
    add_conv (b, quant.canon, quant.ldm, 2 * lc, 2 * lc, 1);
  }

  {
    g_auto(Pair) post = pair_child (&root, "post_quant_conv");
    g_auto(Pair) conv_in = pair_child (&dec, "conv_in");

    ch = c->vae_level_channels[L - 1];
    add_conv (b, post.canon, post.ldm, lc, lc, 1);
    add_conv (b, conv_in.canon, conv_in.ldm, ch, lc, 3);
  }
  add_vae_mid (b, &dec, ch);
  for (guint k = 0; k < L; k++)
    {
      guint out = c->vae_level_channels[L - 1 - k];

      for (guint j = 0; j <= R; j++)
        {
          g_auto(Pair) res = pair_take (g_strdup_printf ("vae.decoder.up_blocks.%u.resnets.%u", k, j),
                                        g_strdup_printf ("%s.up.%u.block.%u", dec.ldm, L - 1 - k, j));

          add_vae_resnet (b, &res, ch, out);
          ch = out;
        }
      if (k + 1 < L)
        {
          g_auto(Pair) up = pair_take (g_strdup_printf ("vae.decoder.up_blocks.%u.upsamplers.0.conv", k),
                                       g_strdup_printf ("%s.up.%u.upsample.conv", dec.ldm, L - 1 - k));

          add_conv (b, up.canon, up.ldm, ch, ch, 3);
        }
    }
  {
    g_auto(Pair) norm = pair_child2 (&dec, "norm_out", "conv_norm_out");
    g_auto(Pair) conv = pair_child (&dec, "conv_out");

    add_norm (b, norm.canon, norm.ldm, ch);
    add_conv (b, conv.canon, conv.ldm, 3, ch, 3);
  }
}

GPtrArray *
loom_sd_spec_new (const LoomSdConfig *config,
                  LoomSdComponents    components,
                  guint               text_layers_stored)
{
  Builder b = { g_ptr_array_new_with_free_func (spec_free), config, 0 };

  g_return_val_if_fail (config != NULL, NULL);

  if (components & LOOM_SD_COMPONENT_TEXT_ENCODER)
    add_text_encoder (&b, MAX (text_layers_stored, config->text_layers));
  if (components & LOOM_SD_COMPONENT_UNET)
    add_unet (&b);
  if (components & LOOM_SD_COMPONENT_VAE)
    add_vae (&b);
  return b.specs;
}

/* Reading single-file names. */

static gboolean
eat (const char **p,
     const char  *prefix)
{
  gsize n = strlen (prefix);

  if (strncmp (*p, prefix, n) != 0)
    return FALSE;
  *p += n;
  return TRUE;
}

/* A decimal index followed by a dot. */
static gboolean
eat_index (const char **p,
           guint       *index)
{
  const char *s = *p;
  guint64 v = 0;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  while (g_ascii_isdigit (*s))
    {
      v = v * 10 + (guint64) (*s - '0');
      if (v > 100000)
        return FALSE;
      s++;
    }
  if (*s != '.')
    return FALSE;
  *index = (guint) v;
  *p = s + 1;
  return TRUE;
}

/* The diffusers name of an LDM resnet's inner tensor (@rest, after the block). */
static const char *
unet_resnet_inner (const char **rest)
{
  static const char * const map[][2] = {
    { "in_layers.0.", "norm1." },
    { "in_layers.2.", "conv1." },
    { "emb_layers.1.", "time_emb_proj." },
    { "out_layers.0.", "norm2." },
    { "out_layers.3.", "conv2." },
    { "skip_connection.", "conv_shortcut." },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (eat (rest, map[i][0]))
      return map[i][1];
  return NULL;
}

static char *
unet_from_ldm (const char *p,
               guint       R)
{
  guint n, m;
  const char *inner;

  if (eat (&p, "time_embed.0."))
    return g_strconcat ("unet.time_embedding.linear_1.", p, NULL);
  if (eat (&p, "time_embed.2."))
    return g_strconcat ("unet.time_embedding.linear_2.", p, NULL);
  if (eat (&p, "out.0."))
    return g_strconcat ("unet.conv_norm_out.", p, NULL);
  if (eat (&p, "out.2."))
    return g_strconcat ("unet.conv_out.", p, NULL);

  if (eat (&p, "input_blocks.") && eat_index (&p, &n) && eat_index (&p, &m))
    {
      if (n == 0)
        return m == 0 ? g_strconcat ("unet.conv_in.", p, NULL) : NULL;
      if (n % (R + 1) == 0)
        return m == 0 && eat (&p, "op.")
               ? g_strdup_printf ("unet.down_blocks.%u.downsamplers.0.conv.%s", n / (R + 1) - 1, p)
               : NULL;
      if (m == 0 && (inner = unet_resnet_inner (&p)) != NULL)
        return g_strdup_printf ("unet.down_blocks.%u.resnets.%u.%s%s",
                                (n - 1) / (R + 1), (n - 1) % (R + 1), inner, p);
      if (m == 1)
        return g_strdup_printf ("unet.down_blocks.%u.attentions.%u.%s",
                                (n - 1) / (R + 1), (n - 1) % (R + 1), p);
      return NULL;
    }

  if (eat (&p, "middle_block.") && eat_index (&p, &m))
    {
      if ((m == 0 || m == 2) && (inner = unet_resnet_inner (&p)) != NULL)
        return g_strdup_printf ("unet.mid_block.resnets.%u.%s%s", m / 2, inner, p);
      if (m == 1)
        return g_strconcat ("unet.mid_block.attentions.0.", p, NULL);
      return NULL;
    }

  if (eat (&p, "output_blocks.") && eat_index (&p, &n) && eat_index (&p, &m))
    {
      guint k = n / (R + 1), j = n % (R + 1);

      if (m == 0 && (inner = unet_resnet_inner (&p)) != NULL)
        return g_strdup_printf ("unet.up_blocks.%u.resnets.%u.%s%s", k, j, inner, p);
      /* The upsampler follows the resnet (no attention) or the transformer. */
      if ((m == 1 || m == 2) && j == R && eat (&p, "conv."))
        return g_strdup_printf ("unet.up_blocks.%u.upsamplers.0.conv.%s", k, p);
      if (m == 1)
        return g_strdup_printf ("unet.up_blocks.%u.attentions.%u.%s", k, j, p);
      return NULL;
    }
  return NULL;
}

static const char *
vae_resnet_inner (const char **rest)
{
  static const char * const map[][2] = {
    { "norm1.", "norm1." },
    { "conv1.", "conv1." },
    { "norm2.", "norm2." },
    { "conv2.", "conv2." },
    { "nin_shortcut.", "conv_shortcut." },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (eat (rest, map[i][0]))
      return map[i][1];
  return NULL;
}

/* The mid block and the ends, common to encoder and decoder. */
static char *
vae_coder_common (const char *coder,
                  const char *p)
{
  const char *inner;

  if (eat (&p, "conv_in."))
    return g_strdup_printf ("vae.%s.conv_in.%s", coder, p);
  if (eat (&p, "conv_out."))
    return g_strdup_printf ("vae.%s.conv_out.%s", coder, p);
  if (eat (&p, "norm_out."))
    return g_strdup_printf ("vae.%s.conv_norm_out.%s", coder, p);
  if (eat (&p, "mid.block_1.") && (inner = vae_resnet_inner (&p)) != NULL)
    return g_strdup_printf ("vae.%s.mid_block.resnets.0.%s%s", coder, inner, p);
  if (eat (&p, "mid.block_2.") && (inner = vae_resnet_inner (&p)) != NULL)
    return g_strdup_printf ("vae.%s.mid_block.resnets.1.%s%s", coder, inner, p);
  if (eat (&p, "mid.attn_1."))
    {
      static const char * const map[][2] = {
        { "norm.", "group_norm." },
        { "q.", "to_q." },
        { "k.", "to_k." },
        { "v.", "to_v." },
        { "proj_out.", "to_out.0." },
      };

      for (guint i = 0; i < G_N_ELEMENTS (map); i++)
        if (eat (&p, map[i][0]))
          return g_strdup_printf ("vae.%s.mid_block.attentions.0.%s%s", coder, map[i][1], p);
    }
  return NULL;
}

static char *
vae_from_ldm (const char *p,
              guint       L)
{
  guint l, j;
  const char *inner;

  if (eat (&p, "quant_conv."))
    return g_strconcat ("vae.quant_conv.", p, NULL);
  if (eat (&p, "post_quant_conv."))
    return g_strconcat ("vae.post_quant_conv.", p, NULL);
  if (eat (&p, "encoder."))
    {
      if (eat (&p, "down.") && eat_index (&p, &l))
        {
          if (eat (&p, "block.") && eat_index (&p, &j) && (inner = vae_resnet_inner (&p)) != NULL)
            return g_strdup_printf ("vae.encoder.down_blocks.%u.resnets.%u.%s%s", l, j, inner, p);
          if (eat (&p, "downsample.conv."))
            return g_strdup_printf ("vae.encoder.down_blocks.%u.downsamplers.0.conv.%s", l, p);
          return NULL;
        }
      return vae_coder_common ("encoder", p);
    }
  if (eat (&p, "decoder."))
    {
      if (eat (&p, "up.") && eat_index (&p, &l))
        {
          if (l >= L)
            return NULL;
          if (eat (&p, "block.") && eat_index (&p, &j) && (inner = vae_resnet_inner (&p)) != NULL)
            return g_strdup_printf ("vae.decoder.up_blocks.%u.resnets.%u.%s%s", L - 1 - l, j, inner, p);
          if (eat (&p, "upsample.conv."))
            return g_strdup_printf ("vae.decoder.up_blocks.%u.upsamplers.0.conv.%s", L - 1 - l, p);
          return NULL;
        }
      return vae_coder_common ("decoder", p);
    }
  return NULL;
}

static char *
open_clip_from_ldm (const char *p,
                    gboolean   *fused_qkv)
{
  static const char * const layer_map[][2] = {
    { "ln_1.", "layer_norm1." },
    { "ln_2.", "layer_norm2." },
    { "attn.out_proj.", "self_attn.out_proj." },
    { "mlp.c_fc.", "mlp.fc1." },
    { "mlp.c_proj.", "mlp.fc2." },
  };
  guint i;

  if (strcmp (p, "token_embedding.weight") == 0)
    return g_strdup ("text_encoder.text_model.embeddings.token_embedding.weight");
  if (strcmp (p, "positional_embedding") == 0)
    return g_strdup ("text_encoder.text_model.embeddings.position_embedding.weight");
  if (eat (&p, "ln_final."))
    return g_strconcat ("text_encoder.text_model.final_layer_norm.", p, NULL);
  if (!eat (&p, "transformer.resblocks.") || !eat_index (&p, &i))
    return NULL;
  if (strcmp (p, "attn.in_proj_weight") == 0 || strcmp (p, "attn.in_proj_bias") == 0)
    {
      *fused_qkv = TRUE;
      return g_strdup_printf ("text_encoder.text_model.encoder.layers.%u.self_attn.in_proj.%s", i,
                              g_str_has_suffix (p, "weight") ? "weight" : "bias");
    }
  for (guint k = 0; k < G_N_ELEMENTS (layer_map); k++)
    if (eat (&p, layer_map[k][0]))
      return g_strdup_printf ("text_encoder.text_model.encoder.layers.%u.%s%s", i, layer_map[k][1], p);
  return NULL;
}

char *
loom_sd_name_from_ldm (const char *ldm_name,
                       guint       unet_res_blocks,
                       guint       vae_levels,
                       gboolean   *fused_qkv)
{
  const char *p = ldm_name;

  g_return_val_if_fail (ldm_name != NULL, NULL);
  g_return_val_if_fail (fused_qkv != NULL, NULL);

  *fused_qkv = FALSE;
  if (eat (&p, "model.diffusion_model."))
    return unet_res_blocks > 0 ? unet_from_ldm (p, unet_res_blocks) : NULL;
  if (eat (&p, "first_stage_model."))
    return vae_levels > 0 ? vae_from_ldm (p, vae_levels) : NULL;
  if (eat (&p, "cond_stage_model.transformer."))
    {
      /* Some SD 1.x files were saved from an older transformers without "text_model.". */
      eat (&p, "text_model.");
      if (g_str_has_suffix (p, "position_ids"))
        return NULL;
      return g_strconcat ("text_encoder.text_model.", p, NULL);
    }
  if (eat (&p, "cond_stage_model.model."))
    return open_clip_from_ldm (p, fused_qkv);
  return NULL;
}

char *
loom_sd_name_split_qkv (const char *in_proj_name,
                        guint       part)
{
  static const char * const parts[] = { "q_proj", "k_proj", "v_proj" };
  const char *at;

  g_return_val_if_fail (in_proj_name != NULL, NULL);
  g_return_val_if_fail (part < 3, NULL);

  at = strstr (in_proj_name, "in_proj");
  g_return_val_if_fail (at != NULL, NULL);
  return g_strdup_printf ("%.*s%s%s", (int) (at - in_proj_name), in_proj_name, parts[part],
                          at + strlen ("in_proj"));
}

char *
loom_sd_name_from_diffusers (const char *component,
                             const char *name)
{
  g_return_val_if_fail (component != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (strcmp (component, "vae") == 0)
    {
      static const char * const map[][2] = {
        { ".attentions.0.query.", ".attentions.0.to_q." },
        { ".attentions.0.key.", ".attentions.0.to_k." },
        { ".attentions.0.value.", ".attentions.0.to_v." },
        { ".attentions.0.proj_attn.", ".attentions.0.to_out.0." },
      };

      for (guint i = 0; i < G_N_ELEMENTS (map); i++)
        {
          const char *at = strstr (name, map[i][0]);

          if (at != NULL)
            return g_strdup_printf ("vae.%.*s%s%s", (int) (at - name), name, map[i][1],
                                    at + strlen (map[i][0]));
        }
    }
  if (strcmp (component, "text_encoder") == 0 && !g_str_has_prefix (name, "text_model."))
    return g_strconcat ("text_encoder.text_model.", name, NULL);
  return g_strconcat (component, ".", name, NULL);
}
