/* loom-unet.c — the UNet of Stable Diffusion 1.x / 2.x (diffusers' UNet2DConditionModel)
 * recorded with the ops of loom-ops.h.
 *
 * A state holds the activations of one latent size, allocated once: the skip
 * connections each keep a slot of their own (the up blocks read them back), the rest
 * reuse a few buffers. The down blocks write each output into its skip slot directly;
 * the middle and up blocks keep their stream at the start of `cat`, so that
 * concatenating a skip is one copy behind it.
 */
#include "config.h"

#include <math.h>

#include "loom-error.h"
#include "loom-sd-networks-private.h"
#include "vk/loom-buffer.h"

#define NORM_EPS        1e-5f   /* the resnets' and the output's GroupNorm, LayerNorm */
#define ATTN_NORM_EPS   1e-6f   /* the transformers' GroupNorm */

/* A residual block of the plan, in the order blocks run. */
typedef struct
{
  char  *prefix;       /* "unet.down_blocks.0.resnets.0" */
  gsize  c_in;
  gsize  c_out;
  guint  level;        /* its resolution: level l works at (h >> l) × (w >> l) */
  gsize  temb_offset;  /* bytes into temb: its time projection [c_out] */
} Resnet;

/* A skip connection's slot in `skip`. */
typedef struct
{
  gsize channels;
  guint level;
  gsize offset;        /* bytes */
} Skip;

struct _LoomUnetState
{
  LoomSdWeights *weights;    /* borrowed: the weights outlive their states */
  LoomCommand   *cmd;        /* reused by every run */
  guint          h, w;       /* latent cells */
  guint          n_context;  /* context tokens */
  guint64        bytes;

  GArray        *resnets;    /* of Resnet, in running order */
  GArray        *skips;      /* of Skip, in pushing order */
  gsize          temb_proj;  /* bytes into temb where the time projections start */

  LoomBuffer    *skip;       /* every skip connection, [c][hw] at its slot */
  LoomBuffer    *cat;        /* [c_h + c_skip][hw]: the stream of the middle and up blocks,
                              * then a skip concatenated behind it */
  LoomBuffer    *a;          /* [max(c_in, c_out)][hw]: a resnet's scratch; upsampling's output */
  LoomBuffer    *b;          /* [c_out][hw]: a resnet's scratch; a transformer's result */
  LoomBuffer    *tokens;     /* [hw][C]: a transformer's token stream */
  LoomBuffer    *normed;     /* [hw][C]: normed tokens, then each projection's output */
  LoomBuffer    *qkvo;       /* q [hw][C], k and v [max(hw, n_context)][C], o [hw][C];
                              * GEGLU's output [hw][4C] */
  LoomBuffer    *ff;         /* [hw][8C]: the feed-forward's inner projection */
  LoomBuffer    *temb;       /* [C0], [time_dim], [time_dim], then each resnet's [c_out] */
  gsize          qkvo_k, qkvo_v, qkvo_o;  /* byte offsets in qkvo */

  guint          capacity;   /* contexts the context and output buffers hold */
  LoomSdIo       latent;     /* [in_channels][h][w] */
  LoomSdIo       contexts;   /* capacity × [n_context][context_dim], each at an aligned offset */
  LoomSdIo       outs;       /* capacity × [out_channels][h][w], each at an aligned offset */
};

static void
resnet_clear (gpointer data)
{
  g_free (((Resnet *) data)->prefix);
}

static gsize
level_hw (LoomUnetState *self,
          guint          level)
{
  return (gsize) (self->h >> level) * (self->w >> level);
}

static void
add_resnet (LoomUnetState *self,
            char          *prefix,
            gsize          c_in,
            gsize          c_out,
            guint          level,
            gsize         *temb_bytes)
{
  Resnet r = { prefix, c_in, c_out, level, *temb_bytes };

  *temb_bytes += loom_sd_align (c_out * sizeof (float));
  g_array_append_val (self->resnets, r);
}

static void
push_skip (LoomUnetState *self,
           gsize          channels,
           guint          level,
           gsize         *skip_bytes)
{
  Skip s = { channels, level, *skip_bytes };

  *skip_bytes += loom_sd_align (channels * level_hw (self, level) * sizeof (float));
  g_array_append_val (self->skips, s);
}

/* Lays out the blocks as they will run and sizes every buffer from them. */
static void
plan (LoomUnetState *self,
      gsize          sizes[],  /* floats or bytes per buffer, see below */
      gsize         *skip_bytes,
      gsize         *temb_bytes)
{
  const LoomSdConfig *c = loom_sd_weights_get_config (self->weights);
  const guint L = c->unet_levels, R = c->unet_res_blocks;
  const guint *ch = c->unet_level_channels;
  gsize cat = 0, a = 0, b = 0, tok = 0, qkvo = 0, ff = 0;
  guint n_skips;

  *skip_bytes = 0;
  *temb_bytes = 0;
  push_skip (self, ch[0], 0, skip_bytes);
  for (guint l = 0; l < L; l++)
    {
      for (guint j = 0; j < R; j++)
        {
          gsize c_in = j > 0 ? ch[l] : l > 0 ? ch[l - 1] : ch[0];
          add_resnet (self, g_strdup_printf ("unet.down_blocks.%u.resnets.%u", l, j), c_in, ch[l],
                      l, temb_bytes);
          push_skip (self, ch[l], l, skip_bytes);
        }
      if (l + 1 < L)
        push_skip (self, ch[l], l + 1, skip_bytes);
    }
  for (guint i = 0; i < 2; i++)
    add_resnet (self, g_strdup_printf ("unet.mid_block.resnets.%u", i), ch[L - 1], ch[L - 1],
                L - 1, temb_bytes);

  n_skips = self->skips->len;
  for (guint k = 0; k < L; k++)
    {
      guint level = L - 1 - k;
      gsize c_h = k > 0 ? ch[level + 1] : ch[L - 1];
      for (guint j = 0; j <= R; j++)
        {
          const Skip *s = &g_array_index (self->skips, Skip, --n_skips);
          add_resnet (self, g_strdup_printf ("unet.up_blocks.%u.resnets.%u", k, j),
                      c_h + s->channels, ch[level], level, temb_bytes);
          c_h = ch[level];
        }
    }

  /* The stream and the resnets' scratch. */
  cat = (gsize) ch[L - 1] * level_hw (self, L - 1);
  for (guint i = 0; i < self->resnets->len; i++)
    {
      const Resnet *r = &g_array_index (self->resnets, Resnet, i);
      gsize hw = level_hw (self, r->level);
      if (g_str_has_prefix (r->prefix, "unet.up_blocks."))
        cat = MAX (cat, r->c_in * hw);
      a = MAX (a, MAX (r->c_in, r->c_out) * hw);
      b = MAX (b, r->c_out * hw);
    }

  /* The transformers' tokens, at every level with attention and in the middle block. */
  for (guint l = 0; l < L; l++)
    if (c->unet_level_attention[l] || l == L - 1)
      {
        gsize hw = level_hw (self, l);
        tok = MAX (tok, ch[l] * hw);
        qkvo = MAX (qkvo, ch[l] * (2 * hw + 2 * MAX (hw, self->n_context)));
        ff = MAX (ff, 8 * ch[l] * hw);
      }

  sizes[0] = cat;
  sizes[1] = a;
  sizes[2] = b;
  sizes[3] = tok;
  sizes[4] = qkvo;
  sizes[5] = ff;
}

static LoomBuffer *
add_buffer (LoomUnetState *self,
            gsize          bytes,
            GError       **error)
{
  LoomBuffer *buffer = loom_buffer_new (loom_sd_weights_get_device (self->weights),
                                        MAX (bytes, 4), error);

  if (buffer != NULL)
    self->bytes += loom_buffer_get_size (buffer);
  return buffer;
}

/**
 * loom_unet_state_new:
 * @h: latent rows, a multiple of 2^(levels − 1)
 * @n_context: tokens of the contexts runs will be given (77 per prompt chunk)
 */
LoomUnetState *
loom_unet_state_new (LoomSdWeights *weights,
                     guint          h,
                     guint          w,
                     guint          n_context,
                     GError       **error)
{
  g_autoptr(LoomUnetState) self = NULL;
  const LoomSdConfig *c;
  gsize sizes[6], skip_bytes, temb_bytes, tok_c = 0, hw_c = 0;
  guint factor;

  g_return_val_if_fail (weights != NULL, NULL);
  c = loom_sd_weights_get_config (weights);
  factor = 1u << (c->unet_levels - 1);
  if (h == 0 || w == 0 || h % factor != 0 || w % factor != 0 || n_context == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "A latent of %u×%u cells cannot pass the UNet (it needs multiples of %u)",
                   h, w, factor);
      return NULL;
    }

  self = g_new0 (LoomUnetState, 1);
  self->weights = weights;
  self->h = h;
  self->w = w;
  self->n_context = n_context;
  self->resnets = g_array_new (FALSE, FALSE, sizeof (Resnet));
  g_array_set_clear_func (self->resnets, resnet_clear);
  self->skips = g_array_new (FALSE, FALSE, sizeof (Skip));
  plan (self, sizes, &skip_bytes, &temb_bytes);

  /* The largest of q's, k's, v's and o's parts, each at an aligned offset. */
  for (guint l = 0; l < c->unet_levels; l++)
    if (c->unet_level_attention[l] || l + 1 == c->unet_levels)
      {
        tok_c = MAX (tok_c, c->unet_level_channels[l] * MAX (level_hw (self, l), n_context));
        hw_c = MAX (hw_c, c->unet_level_channels[l] * level_hw (self, l));
      }
  self->qkvo_k = loom_sd_align (hw_c * sizeof (float));
  self->qkvo_v = self->qkvo_k + loom_sd_align (tok_c * sizeof (float));
  self->qkvo_o = self->qkvo_v + loom_sd_align (tok_c * sizeof (float));
  sizes[4] = MAX (sizes[4] * sizeof (float), self->qkvo_o + hw_c * sizeof (float));

  self->temb_proj = loom_sd_align (c->unet_channels * sizeof (float))
                    + 2 * loom_sd_align (c->unet_time_dim * sizeof (float));

  self->cmd = loom_command_new (loom_sd_weights_get_device (weights), error);
  if (self->cmd == NULL
      || !(self->skip = add_buffer (self, skip_bytes, error))
      || !(self->cat = add_buffer (self, sizes[0] * sizeof (float), error))
      || !(self->a = add_buffer (self, sizes[1] * sizeof (float), error))
      || !(self->b = add_buffer (self, sizes[2] * sizeof (float), error))
      || !(self->tokens = add_buffer (self, sizes[3] * sizeof (float), error))
      || !(self->normed = add_buffer (self, sizes[3] * sizeof (float), error))
      || !(self->qkvo = add_buffer (self, sizes[4], error))
      || !(self->ff = add_buffer (self, sizes[5] * sizeof (float), error))
      || !(self->temb = add_buffer (self, self->temb_proj + temb_bytes, error))
      || !loom_sd_io_init (&self->latent, loom_sd_weights_get_device (weights),
                           (gsize) c->unet_in_channels * h * w * sizeof (float), TRUE, error))
    return NULL;
  self->bytes += loom_buffer_get_size (self->latent.buffer);

  return g_steal_pointer (&self);
}

void
loom_unet_state_free (LoomUnetState *self)
{
  LoomBuffer **buffers[] = {
    &self->skip, &self->cat, &self->a, &self->b, &self->tokens, &self->normed, &self->qkvo,
    &self->ff, &self->temb,
  };

  if (self == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    g_clear_pointer (buffers[i], loom_buffer_free);
  loom_sd_io_clear (&self->latent);
  loom_sd_io_clear (&self->contexts);
  loom_sd_io_clear (&self->outs);
  g_clear_pointer (&self->cmd, loom_command_free);
  g_clear_pointer (&self->resnets, g_array_unref);
  g_clear_pointer (&self->skips, g_array_unref);
  g_free (self);
}

/* Device memory of the activations, inputs and outputs (the weights not counted). */
guint64
loom_unet_state_get_bytes (LoomUnetState *self)
{
  guint64 bytes;

  g_return_val_if_fail (self != NULL, 0);
  bytes = self->bytes;
  if (self->contexts.buffer != NULL)
    bytes += loom_buffer_get_size (self->contexts.buffer) + loom_buffer_get_size (self->outs.buffer);
  return bytes;
}

static gsize
context_stride (LoomUnetState *self)
{
  const LoomSdConfig *c = loom_sd_weights_get_config (self->weights);

  return loom_sd_align ((gsize) self->n_context * c->unet_context_dim * sizeof (float));
}

static gsize
out_stride (LoomUnetState *self)
{
  const LoomSdConfig *c = loom_sd_weights_get_config (self->weights);

  return loom_sd_align ((gsize) c->unet_out_channels * self->h * self->w * sizeof (float));
}

/* Makes room for @n contexts and their predictions. */
static gboolean
reserve (LoomUnetState *self,
         guint          n,
         GError       **error)
{
  LoomDevice *device = loom_sd_weights_get_device (self->weights);

  if (n <= self->capacity)
    return TRUE;
  loom_sd_io_clear (&self->contexts);
  loom_sd_io_clear (&self->outs);
  self->capacity = 0;
  if (!loom_sd_io_init (&self->contexts, device, n * context_stride (self), TRUE, error)
      || !loom_sd_io_init (&self->outs, device, n * out_stride (self), FALSE, error))
    {
      loom_sd_io_clear (&self->contexts);
      return FALSE;
    }
  self->capacity = n;
  return TRUE;
}

static LoomView
at (LoomBuffer *buffer,
    gsize       offset)
{
  return loom_view (buffer, offset);
}

/* What one evaluation records against. */
typedef struct
{
  LoomUnetState *self;
  LoomCommand   *cmd;
  LoomSdWeights *weights;
  const LoomSdConfig *config;
  LoomView       context;   /* [n_context][context_dim] */
} Run;

/* Y = X + conv2(silu(norm2(conv1(silu(norm1(X))) + time projection))), with X through the
 * 1×1 shortcut when the channels change. Y may be X. */
static void
record_resnet (Run          *run,
               const Resnet *r,
               LoomView      x,
               LoomView      y)
{
  LoomUnetState *self = run->self;
  LoomCommand *cmd = run->cmd;
  LoomSdWeights *weights = run->weights;
  gsize h = self->h >> r->level, w = self->w >> r->level, hw = h * w;
  gsize groups = run->config->unet_groups;
  g_autofree char *norm1 = g_strconcat (r->prefix, ".norm1", NULL);
  g_autofree char *conv1 = g_strconcat (r->prefix, ".conv1", NULL);
  g_autofree char *norm2 = g_strconcat (r->prefix, ".norm2", NULL);
  g_autofree char *conv2 = g_strconcat (r->prefix, ".conv2", NULL);
  g_autofree char *shortcut = g_strconcat (r->prefix, ".conv_shortcut", NULL);

  loom_sd_record_group_norm (cmd, weights, norm1, x, at (self->a, 0), r->c_in, hw, groups,
                             NORM_EPS, TRUE);
  loom_sd_record_conv (cmd, weights, conv1, at (self->a, 0), at (self->b, 0), r->c_in, h, w,
                       r->c_out, 1, 1, FALSE);
  loom_op_add_channel (cmd, at (self->b, 0), at (self->temb, self->temb_proj + r->temb_offset),
                       r->c_out, hw);
  loom_sd_record_group_norm (cmd, weights, norm2, at (self->b, 0), at (self->b, 0), r->c_out, hw,
                             groups, NORM_EPS, TRUE);
  loom_sd_record_conv (cmd, weights, conv2, at (self->b, 0), at (self->a, 0), r->c_out, h, w,
                       r->c_out, 1, 1, FALSE);
  if (r->c_in != r->c_out)
    {
      loom_sd_record_conv (cmd, weights, shortcut, x, at (self->b, 0), r->c_in, h, w, r->c_out,
                           1, 0, FALSE);
      loom_op_binary (cmd, LOOM_BINARY_ADD, at (self->a, 0), at (self->b, 0), y, r->c_out * hw);
    }
  else
    loom_op_binary (cmd, LOOM_BINARY_ADD, at (self->a, 0), x, y, r->c_out * hw);
}

/* t += attn(norm(t)) with queries from the tokens and keys and values from @kv
 * ([n_kv][kv_dim]: the tokens themselves, or the context). */
static void
record_attention (Run        *run,
                  const char *prefix,
                  LoomView    kv,
                  gsize       n_kv,
                  gsize       kv_dim,
                  gsize       channels,
                  gsize       hw,
                  guint       heads)
{
  LoomUnetState *self = run->self;
  LoomCommand *cmd = run->cmd;
  LoomSdWeights *weights = run->weights;
  g_autofree char *to_q = g_strconcat (prefix, ".to_q", NULL);
  g_autofree char *to_k = g_strconcat (prefix, ".to_k", NULL);
  g_autofree char *to_v = g_strconcat (prefix, ".to_v", NULL);
  g_autofree char *to_out = g_strconcat (prefix, ".to_out.0", NULL);
  LoomView q = at (self->qkvo, 0), k = at (self->qkvo, self->qkvo_k);
  LoomView v = at (self->qkvo, self->qkvo_v), o = at (self->qkvo, self->qkvo_o);
  const LoomFlashAttention attention = {
    .n_q = hw,
    .n_kv = n_kv,
    .n_heads = heads,
    .head_dim = channels / heads,
    .scale = (float) (1.0 / sqrt ((double) (channels / heads))),
  };

  loom_sd_record_linear (cmd, weights, to_q, at (self->normed, 0), q, hw, channels, channels);
  loom_sd_record_linear (cmd, weights, to_k, kv, k, n_kv, channels, kv_dim);
  loom_sd_record_linear (cmd, weights, to_v, kv, v, n_kv, channels, kv_dim);
  loom_op_flash_attention (cmd, q, k, v, o, &attention);
  loom_sd_record_linear (cmd, weights, to_out, o, at (self->normed, 0), hw, channels, channels);
  loom_op_binary (cmd, LOOM_BINARY_ADD, at (self->tokens, 0), at (self->normed, 0),
                  at (self->tokens, 0), hw * channels);
}

/* X += proj_out(block(proj_in(norm(X))ᵀ))ᵀ, in place on the feature map X [C][hw]. */
static void
record_transformer (Run        *run,
                    const char *prefix,
                    LoomView    x,
                    gsize       channels,
                    guint       level)
{
  LoomUnetState *self = run->self;
  LoomCommand *cmd = run->cmd;
  LoomSdWeights *weights = run->weights;
  const LoomSdConfig *c = run->config;
  gsize hw = level_hw (self, level), inner = 4 * channels;
  g_autofree char *norm = g_strconcat (prefix, ".norm", NULL);
  g_autofree char *proj_in = g_strconcat (prefix, ".proj_in", NULL);
  g_autofree char *proj_out = g_strconcat (prefix, ".proj_out", NULL);
  g_autofree char *block = g_strconcat (prefix, ".transformer_blocks.0", NULL);
  g_autofree char *norm1 = g_strconcat (block, ".norm1", NULL);
  g_autofree char *norm2 = g_strconcat (block, ".norm2", NULL);
  g_autofree char *norm3 = g_strconcat (block, ".norm3", NULL);
  g_autofree char *attn1 = g_strconcat (block, ".attn1", NULL);
  g_autofree char *attn2 = g_strconcat (block, ".attn2", NULL);
  g_autofree char *ff_in = g_strconcat (block, ".ff.net.0.proj", NULL);
  g_autofree char *ff_out = g_strconcat (block, ".ff.net.2", NULL);
  LoomView tokens = at (self->tokens, 0), normed = at (self->normed, 0);
  guint heads = c->unet_level_heads[level];

  /* proj_in as a 1×1 convolution (SD 1.x) and as a linear layer after the transpose
   * (SD 2.x) are the same product: tokens · Wᵀ + b. */
  loom_sd_record_group_norm (cmd, weights, norm, x, at (self->a, 0), channels, hw,
                             c->unet_groups, ATTN_NORM_EPS, FALSE);
  loom_op_transpose (cmd, at (self->a, 0), normed, channels, hw);
  loom_sd_record_linear (cmd, weights, proj_in, normed, tokens, hw, channels, channels);

  loom_sd_record_layer_norm (cmd, weights, norm1, tokens, normed, hw, channels, NORM_EPS);
  record_attention (run, attn1, normed, hw, channels, channels, hw, heads);
  loom_sd_record_layer_norm (cmd, weights, norm2, tokens, normed, hw, channels, NORM_EPS);
  record_attention (run, attn2, run->context, self->n_context, c->unet_context_dim, channels, hw,
                    heads);

  loom_sd_record_layer_norm (cmd, weights, norm3, tokens, normed, hw, channels, NORM_EPS);
  loom_sd_record_linear (cmd, weights, ff_in, normed, at (self->ff, 0), hw, 2 * inner, channels);
  loom_op_geglu (cmd, at (self->ff, 0), at (self->qkvo, 0), hw, inner);
  loom_sd_record_linear (cmd, weights, ff_out, at (self->qkvo, 0), normed, hw, channels, inner);
  loom_op_binary (cmd, LOOM_BINARY_ADD, tokens, normed, tokens, hw * channels);

  loom_sd_record_linear (cmd, weights, proj_out, tokens, normed, hw, channels, channels);
  loom_op_transpose (cmd, normed, at (self->b, 0), hw, channels);
  loom_op_binary (cmd, LOOM_BINARY_ADD, x, at (self->b, 0), x, channels * hw);
}

/* temb = linear_2(silu(linear_1(embedding(t)))), then every resnet's projection of
 * silu(temb): the same for every context, so recorded once per run. */
static void
record_time (LoomUnetState *self,
             float          timestep)
{
  const LoomSdConfig *c = loom_sd_weights_get_config (self->weights);
  LoomCommand *cmd = self->cmd;
  gsize e1 = loom_sd_align (c->unet_channels * sizeof (float));
  gsize e2 = e1 + loom_sd_align (c->unet_time_dim * sizeof (float));

  loom_op_timestep_embedding (cmd, at (self->temb, 0), c->unet_channels, timestep);
  loom_sd_record_linear (cmd, self->weights, "unet.time_embedding.linear_1", at (self->temb, 0),
                         at (self->temb, e1), 1, c->unet_time_dim, c->unet_channels);
  loom_op_unary (cmd, LOOM_UNARY_SILU, at (self->temb, e1), at (self->temb, e1), c->unet_time_dim,
                 1.0f);
  loom_sd_record_linear (cmd, self->weights, "unet.time_embedding.linear_2", at (self->temb, e1),
                         at (self->temb, e2), 1, c->unet_time_dim, c->unet_time_dim);
  loom_op_unary (cmd, LOOM_UNARY_SILU, at (self->temb, e2), at (self->temb, e2), c->unet_time_dim,
                 1.0f);
  for (guint i = 0; i < self->resnets->len; i++)
    {
      const Resnet *r = &g_array_index (self->resnets, Resnet, i);
      g_autofree char *proj = g_strconcat (r->prefix, ".time_emb_proj", NULL);
      loom_sd_record_linear (cmd, self->weights, proj, at (self->temb, e2),
                             at (self->temb, self->temb_proj + r->temb_offset), 1, r->c_out,
                             c->unet_time_dim);
    }
}

static LoomView
skip_view (LoomUnetState *self,
           guint          i)
{
  return at (self->skip, g_array_index (self->skips, Skip, i).offset);
}

/* One evaluation of the network for context @i, into output slot @i. */
static void
record_unet (LoomUnetState *self,
             guint          i)
{
  const LoomSdConfig *c = loom_sd_weights_get_config (self->weights);
  const guint L = c->unet_levels, R = c->unet_res_blocks;
  const guint *ch = c->unet_level_channels;
  Run run = {
    .self = self,
    .cmd = self->cmd,
    .weights = self->weights,
    .config = c,
    .context = at (self->contexts.buffer, i * context_stride (self)),
  };
  LoomCommand *cmd = self->cmd;
  guint r = 0, s = 0;
  LoomView cat = at (self->cat, 0);
  gsize c_h;

#define RESNET() (&g_array_index (self->resnets, Resnet, r++))

  /* Down: each block's output goes to its skip slot. */
  loom_sd_record_conv (cmd, self->weights, "unet.conv_in", at (self->latent.buffer, 0),
                       skip_view (self, s++), c->unet_in_channels, self->h, self->w, ch[0], 1, 1,
                       FALSE);
  for (guint l = 0; l < L; l++)
    {
      for (guint j = 0; j < R; j++)
        {
          record_resnet (&run, RESNET (), skip_view (self, s - 1), skip_view (self, s));
          if (c->unet_level_attention[l])
            {
              g_autofree char *prefix = g_strdup_printf ("unet.down_blocks.%u.attentions.%u", l, j);
              record_transformer (&run, prefix, skip_view (self, s), ch[l], l);
            }
          s++;
        }
      if (l + 1 < L)
        {
          g_autofree char *prefix = g_strdup_printf ("unet.down_blocks.%u.downsamplers.0.conv", l);
          loom_sd_record_conv (cmd, self->weights, prefix, skip_view (self, s - 1),
                               skip_view (self, s), ch[l], self->h >> l, self->w >> l, ch[l], 2,
                               1, FALSE);
          s++;
        }
    }

  /* Middle: from here on the stream stays at the start of cat. */
  record_resnet (&run, RESNET (), skip_view (self, s - 1), cat);
  record_transformer (&run, "unet.mid_block.attentions.0", cat, ch[L - 1], L - 1);
  record_resnet (&run, RESNET (), cat, cat);

  /* Up: each resnet takes the stream with the latest skip concatenated behind it. */
  c_h = ch[L - 1];
  for (guint k = 0; k < L; k++)
    {
      guint level = L - 1 - k;
      gsize hw = level_hw (self, level);

      for (guint j = 0; j <= R; j++)
        {
          const Skip *skip = &g_array_index (self->skips, Skip, --s);
          loom_command_copy (cmd, self->skip, skip->offset, self->cat, c_h * hw * sizeof (float),
                             skip->channels * hw * sizeof (float));
          record_resnet (&run, RESNET (), cat, cat);
          c_h = ch[level];
          if (c->unet_level_attention[level])
            {
              g_autofree char *prefix = g_strdup_printf ("unet.up_blocks.%u.attentions.%u", k, j);
              record_transformer (&run, prefix, cat, ch[level], level);
            }
        }
      if (k + 1 < L)
        {
          g_autofree char *prefix = g_strdup_printf ("unet.up_blocks.%u.upsamplers.0.conv", k);
          gsize h2 = 2 * (self->h >> level), w2 = 2 * (self->w >> level);
          loom_op_upsample_nearest (cmd, cat, at (self->a, 0), c_h, self->h >> level,
                                    self->w >> level);
          loom_sd_record_conv (cmd, self->weights, prefix, at (self->a, 0), cat, c_h, h2, w2, c_h,
                               1, 1, FALSE);
        }
    }
#undef RESNET

  loom_sd_record_group_norm (cmd, self->weights, "unet.conv_norm_out", cat, at (self->a, 0), ch[0],
                             level_hw (self, 0), c->unet_groups, NORM_EPS, TRUE);
  loom_sd_record_conv (cmd, self->weights, "unet.conv_out", at (self->a, 0),
                       at (self->outs.buffer, i * out_stride (self)), ch[0], self->h, self->w,
                       c->unet_out_channels, 1, 1, FALSE);
}

/**
 * loom_unet_run:
 *
 * Records the time embedding once and the network once per context into one command
 * buffer, submits it and reads back the predictions. Blocks until the device is done.
 */
gboolean
loom_unet_run (LoomUnetState       *self,
               const float         *latent,
               float                timestep,
               const float * const *contexts,
               guint                n_contexts,
               float * const       *outs,
               GError             **error)
{
  const LoomSdConfig *c;
  gsize out_bytes;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (latent != NULL && contexts != NULL && outs != NULL, FALSE);
  g_return_val_if_fail (n_contexts > 0, FALSE);

  c = loom_sd_weights_get_config (self->weights);
  out_bytes = (gsize) c->unet_out_channels * self->h * self->w * sizeof (float);
  if (!reserve (self, n_contexts, error))
    return FALSE;

  loom_sd_io_record_write (&self->latent, self->cmd, 0, latent, self->latent.size);
  for (guint i = 0; i < n_contexts; i++)
    loom_sd_io_record_write (&self->contexts, self->cmd, i * context_stride (self), contexts[i],
                             (gsize) self->n_context * c->unet_context_dim * sizeof (float));
  record_time (self, timestep);
  for (guint i = 0; i < n_contexts; i++)
    {
      record_unet (self, i);
      loom_sd_io_record_read (&self->outs, self->cmd, i * out_stride (self), out_bytes);
    }
  if (!loom_command_submit (self->cmd, error))
    {
      g_prefix_error (error, "Running the UNet: ");
      return FALSE;
    }
  for (guint i = 0; i < n_contexts; i++)
    loom_sd_io_read (&self->outs, i * out_stride (self), outs[i], out_bytes);
  return TRUE;
}
