/* test-sd-checkpoint.c — Stable Diffusion checkpoints: the tensor list of the published
 * architectures, the LDM name mapping, random models written in both layouts and read
 * back, and the files Loom must refuse.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "loom-test-util.h"
#include "sd-test-util.h"
#include "formats/loom-safetensors.h"
#include "image/loom-sd-checkpoint.h"
#include "image/loom-sd-names.h"
#include "image/loom-sd-random-model.h"

static char *
merges_path (void)
{
  const char *root = g_getenv ("CANDOR_TESTDATA");
  g_autofree char *path = NULL;

  if (root == NULL)
    return NULL;
  path = g_build_filename (root, "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer (&path) : NULL;
}

static char *
write_model (const LoomSdConfig *config,
             guint32             weight_type,
             gboolean            unet_only,
             LoomSdLayout        layout,
             const char         *name,
             const char         *merges)
{
  LoomSdRandomOptions options = { 0 };
  g_autoptr(GError) error = NULL;
  char *path = sd_test_tmp_path (name);

  options.config = *config;
  options.weight_type = weight_type;
  options.seed = 1234;
  options.unet_only = unet_only;
  sd_test_remove_tree (path);
  g_assert_true (loom_sd_random_model_write (&options, layout, path, merges, &error));
  g_assert_no_error (error);
  return path;
}

static void
assert_config_equal (const LoomSdConfig *a,
                     const LoomSdConfig *b)
{
  g_assert_cmpint (a->family, ==, b->family);
  g_assert_cmpint (a->prediction, ==, b->prediction);
  g_assert_cmpint (a->turbo, ==, b->turbo);
  g_assert_cmpuint (a->native_size, ==, b->native_size);
  g_assert_cmpuint (a->text_vocab, ==, b->text_vocab);
  g_assert_cmpuint (a->text_positions, ==, b->text_positions);
  g_assert_cmpuint (a->text_dim, ==, b->text_dim);
  g_assert_cmpuint (a->text_layers, ==, b->text_layers);
  g_assert_cmpuint (a->text_heads, ==, b->text_heads);
  g_assert_cmpuint (a->text_ffn, ==, b->text_ffn);
  g_assert_cmpint (a->text_quick_gelu, ==, b->text_quick_gelu);
  g_assert_cmpfloat (a->text_eps, ==, b->text_eps);
  g_assert_cmpuint (a->unet_in_channels, ==, b->unet_in_channels);
  g_assert_cmpuint (a->unet_out_channels, ==, b->unet_out_channels);
  g_assert_cmpuint (a->unet_channels, ==, b->unet_channels);
  g_assert_cmpuint (a->unet_levels, ==, b->unet_levels);
  for (guint l = 0; l < a->unet_levels; l++)
    {
      g_assert_cmpuint (a->unet_level_channels[l], ==, b->unet_level_channels[l]);
      g_assert_cmpint (a->unet_level_attention[l], ==, b->unet_level_attention[l]);
      g_assert_cmpuint (a->unet_level_heads[l], ==, b->unet_level_heads[l]);
    }
  g_assert_cmpuint (a->unet_res_blocks, ==, b->unet_res_blocks);
  g_assert_cmpuint (a->unet_time_dim, ==, b->unet_time_dim);
  g_assert_cmpuint (a->unet_context_dim, ==, b->unet_context_dim);
  g_assert_cmpint (a->unet_linear_proj, ==, b->unet_linear_proj);
  g_assert_cmpuint (a->unet_groups, ==, b->unet_groups);
  g_assert_cmpuint (a->vae_latent_channels, ==, b->vae_latent_channels);
  g_assert_cmpuint (a->vae_channels, ==, b->vae_channels);
  g_assert_cmpuint (a->vae_levels, ==, b->vae_levels);
  for (guint l = 0; l < a->vae_levels; l++)
    g_assert_cmpuint (a->vae_level_channels[l], ==, b->vae_level_channels[l]);
  g_assert_cmpuint (a->vae_res_blocks, ==, b->vae_res_blocks);
  g_assert_cmpuint (a->vae_groups, ==, b->vae_groups);
  g_assert_cmpfloat_with_epsilon (a->vae_scale, b->vae_scale, 1e-6);
}

static LoomSdCheckpoint *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  LoomSdCheckpoint *checkpoint = loom_sd_checkpoint_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (checkpoint);
  return checkpoint;
}

/* Opening @path fails with LOOM_ERROR @code and a message holding @needle. */
static void
assert_open_fails (const char *path,
                   LoomError   code,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomSdCheckpoint) checkpoint = loom_sd_checkpoint_open (path, &error);

  g_assert_null (checkpoint);
  g_assert_error (error, LOOM_ERROR, (gint) code);
  if (strstr (error->message, needle) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, needle);
}

/* The published parameter counts of the SD 1.5 and SD 2.x networks (diffusers'
 * UNet2DConditionModel, AutoencoderKL, transformers' CLIPTextModel). */
static gsize
count_parameters (const LoomSdConfig *config,
                  LoomSdComponents    component,
                  guint               text_layers)
{
  g_autoptr(GPtrArray) specs = loom_sd_spec_new (config, component, text_layers);
  gsize n = 0;

  for (guint i = 0; i < specs->len; i++)
    n += ((LoomSdSpec *) g_ptr_array_index (specs, i))->n_elements;
  return n;
}

static void
config_sd21 (LoomSdConfig *c)
{
  static const guint heads[] = { 5, 10, 20, 20 };

  loom_sd_random_config_sd15 (c);
  c->family = LOOM_SD_FAMILY_SD2;
  c->text_dim = 1024;
  c->text_layers = 23;
  c->text_heads = 16;
  c->text_ffn = 4096;
  c->text_quick_gelu = FALSE;
  c->unet_context_dim = 1024;
  c->unet_linear_proj = TRUE;
  for (guint l = 0; l < 4; l++)
    c->unet_level_heads[l] = heads[l];
}

static void
test_parameter_counts (void)
{
  LoomSdConfig c;

  loom_sd_random_config_sd15 (&c);
  g_assert_cmpuint (count_parameters (&c, LOOM_SD_COMPONENT_UNET, 0), ==, 859520964);
  g_assert_cmpuint (count_parameters (&c, LOOM_SD_COMPONENT_VAE, 0), ==, 83653863);
  g_assert_cmpuint (count_parameters (&c, LOOM_SD_COMPONENT_TEXT_ENCODER, 12), ==, 123060480);

  config_sd21 (&c);
  g_assert_cmpuint (count_parameters (&c, LOOM_SD_COMPONENT_UNET, 0), ==, 865910724);
  g_assert_cmpuint (count_parameters (&c, LOOM_SD_COMPONENT_TEXT_ENCODER, 23), ==, 340387840);
}

/* Names as they are in the released v1-5-pruned-emaonly and v2-1_768-ema-pruned files. */
static void
test_ldm_names (void)
{
  static const char * const cases[][2] = {
    { "model.diffusion_model.input_blocks.0.0.weight", "unet.conv_in.weight" },
    { "model.diffusion_model.time_embed.2.weight", "unet.time_embedding.linear_2.weight" },
    { "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight",
      "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight" },
    { "model.diffusion_model.input_blocks.2.0.emb_layers.1.bias",
      "unet.down_blocks.0.resnets.1.time_emb_proj.bias" },
    { "model.diffusion_model.input_blocks.3.0.op.weight", "unet.down_blocks.0.downsamplers.0.conv.weight" },
    { "model.diffusion_model.input_blocks.4.0.skip_connection.weight",
      "unet.down_blocks.1.resnets.0.conv_shortcut.weight" },
    { "model.diffusion_model.input_blocks.11.0.in_layers.2.weight", "unet.down_blocks.3.resnets.1.conv1.weight" },
    { "model.diffusion_model.middle_block.1.proj_in.weight", "unet.mid_block.attentions.0.proj_in.weight" },
    { "model.diffusion_model.middle_block.2.out_layers.3.bias", "unet.mid_block.resnets.1.conv2.bias" },
    { "model.diffusion_model.output_blocks.2.1.conv.weight", "unet.up_blocks.0.upsamplers.0.conv.weight" },
    { "model.diffusion_model.output_blocks.3.1.norm.weight", "unet.up_blocks.1.attentions.0.norm.weight" },
    { "model.diffusion_model.output_blocks.5.2.conv.bias", "unet.up_blocks.1.upsamplers.0.conv.bias" },
    { "model.diffusion_model.output_blocks.8.2.conv.weight", "unet.up_blocks.2.upsamplers.0.conv.weight" },
    { "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias",
      "unet.up_blocks.3.attentions.2.transformer_blocks.0.norm1.bias" },
    { "model.diffusion_model.out.0.weight", "unet.conv_norm_out.weight" },
    { "model.diffusion_model.out.2.bias", "unet.conv_out.bias" },
    { "first_stage_model.encoder.down.1.block.0.nin_shortcut.weight",
      "vae.encoder.down_blocks.1.resnets.0.conv_shortcut.weight" },
    { "first_stage_model.encoder.down.2.downsample.conv.weight",
      "vae.encoder.down_blocks.2.downsamplers.0.conv.weight" },
    { "first_stage_model.encoder.mid.attn_1.proj_out.weight",
      "vae.encoder.mid_block.attentions.0.to_out.0.weight" },
    { "first_stage_model.encoder.norm_out.bias", "vae.encoder.conv_norm_out.bias" },
    { "first_stage_model.decoder.mid.attn_1.norm.weight", "vae.decoder.mid_block.attentions.0.group_norm.weight" },
    { "first_stage_model.decoder.mid.block_2.conv1.weight", "vae.decoder.mid_block.resnets.1.conv1.weight" },
    { "first_stage_model.decoder.up.0.block.0.nin_shortcut.weight",
      "vae.decoder.up_blocks.3.resnets.0.conv_shortcut.weight" },
    { "first_stage_model.decoder.up.3.upsample.conv.weight", "vae.decoder.up_blocks.0.upsamplers.0.conv.weight" },
    { "first_stage_model.decoder.up.3.block.2.norm2.bias", "vae.decoder.up_blocks.0.resnets.2.norm2.bias" },
    { "first_stage_model.post_quant_conv.weight", "vae.post_quant_conv.weight" },
    { "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.bias",
      "text_encoder.text_model.encoder.layers.11.mlp.fc2.bias" },
    { "cond_stage_model.transformer.text_model.final_layer_norm.weight",
      "text_encoder.text_model.final_layer_norm.weight" },
    { "cond_stage_model.model.positional_embedding", "text_encoder.text_model.embeddings.position_embedding.weight" },
    { "cond_stage_model.model.transformer.resblocks.22.mlp.c_fc.weight",
      "text_encoder.text_model.encoder.layers.22.mlp.fc1.weight" },
    { "cond_stage_model.model.ln_final.bias", "text_encoder.text_model.final_layer_norm.bias" },
  };
  static const char * const ignored[] = {
    "model_ema.decay",
    "model_ema.diffusion_modelinput_blocks00weight",
    "alphas_cumprod",
    "cond_stage_model.transformer.text_model.embeddings.position_ids",
    "cond_stage_model.model.text_projection",
    "cond_stage_model.model.logit_scale",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean fused = TRUE;
      g_autofree char *name = loom_sd_name_from_ldm (cases[i][0], 2, 4, &fused);

      g_assert_cmpstr (name, ==, cases[i][1]);
      g_assert_false (fused);
    }
  for (guint i = 0; i < G_N_ELEMENTS (ignored); i++)
    {
      gboolean fused;
      g_autofree char *name = loom_sd_name_from_ldm (ignored[i], 2, 4, &fused);

      g_assert_null (name);
    }

  {
    gboolean fused = FALSE;
    g_autofree char *name = loom_sd_name_from_ldm ("cond_stage_model.model.transformer.resblocks.22.attn.in_proj_weight",
                                                   2, 4, &fused);
    g_autofree char *k = NULL;

    g_assert_true (fused);
    k = loom_sd_name_split_qkv (name, 1);
    g_assert_cmpstr (k, ==, "text_encoder.text_model.encoder.layers.22.self_attn.k_proj.weight");
  }
  {
    g_autofree char *name = loom_sd_name_from_diffusers ("vae", "decoder.mid_block.attentions.0.proj_attn.bias");

    g_assert_cmpstr (name, ==, "vae.decoder.mid_block.attentions.0.to_out.0.bias");
  }
}

/* Every tensor of the full SD 1.5 and 2.1 architectures maps back from its LDM name. */
static void
test_ldm_round_trip (void)
{
  LoomSdConfig configs[2];

  loom_sd_random_config_sd15 (&configs[0]);
  config_sd21 (&configs[1]);
  for (guint c = 0; c < G_N_ELEMENTS (configs); c++)
    {
      g_autoptr(GPtrArray) specs = loom_sd_spec_new (&configs[c], LOOM_SD_COMPONENT_ALL,
                                                     configs[c].text_layers + 1);
      g_autoptr(GHashTable) ldm_names = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < specs->len; i++)
        {
          const LoomSdSpec *spec = g_ptr_array_index (specs, i);
          gboolean fused;
          g_autofree char *name = loom_sd_name_from_ldm (spec->ldm_name, configs[c].unet_res_blocks,
                                                         configs[c].vae_levels, &fused);

          g_assert_cmpint (fused, ==, spec->ldm_part > 0);
          if (fused)
            {
              g_autofree char *part = loom_sd_name_split_qkv (name, spec->ldm_part - 1);

              g_assert_cmpstr (part, ==, spec->name);
            }
          else
            {
              g_assert_cmpstr (name, ==, spec->name);
              /* No two tensors share a file name. */
              g_assert_true (g_hash_table_add (ldm_names, spec->ldm_name));
            }
        }
    }
}

/* Both layouts of a small model: the configuration as written, and the same values
 * under every canonical name. */
static void
check_small_model (const LoomSdConfig *config,
                   guint32             weight_type,
                   const char         *stem)
{
  g_autofree char *single_name = g_strconcat (stem, ".safetensors", NULL);
  g_autofree char *merges = merges_path ();
  g_autofree char *single_path = write_model (config, weight_type, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE,
                                              single_name, NULL);
  g_autofree char *folder_path = write_model (config, weight_type, FALSE, LOOM_SD_LAYOUT_DIFFUSERS,
                                              stem, merges);
  g_autoptr(LoomSdCheckpoint) single = open_ok (single_path);
  g_autoptr(LoomSdCheckpoint) folder = open_ok (folder_path);
  g_autoptr(GPtrArray) single_list = loom_sd_checkpoint_list (single);
  g_autoptr(GPtrArray) folder_list = loom_sd_checkpoint_list (folder);
  g_autoptr(GPtrArray) specs = loom_sd_spec_new (config, LOOM_SD_COMPONENT_ALL, config->text_layers);

  assert_config_equal (loom_sd_checkpoint_get_config (single), config);
  assert_config_equal (loom_sd_checkpoint_get_config (folder), config);
  g_assert_cmpstr (loom_sd_checkpoint_get_layout (single), ==, "single-file");
  g_assert_cmpstr (loom_sd_checkpoint_get_layout (folder), ==, "diffusers");
  g_assert_cmpstr (loom_sd_checkpoint_get_path (single), ==, single_path);
  g_assert_true (loom_sd_checkpoint_has_component (single, "text_encoder"));
  g_assert_true (loom_sd_checkpoint_has_component (folder, "vae"));
  g_assert_null (loom_sd_checkpoint_get_vocab_path (single));
  if (merges != NULL)
    g_assert_nonnull (loom_sd_checkpoint_get_merges_path (folder));

  /* Only what the architecture uses is listed: SD 2.x files store one more text layer. */
  g_assert_cmpuint (single_list->len, ==, specs->len);
  g_assert_cmpuint (folder_list->len, ==, specs->len);
  g_assert_null (loom_sd_checkpoint_lookupf (single, "text_encoder.text_model.encoder.layers.%u.layer_norm1.weight",
                                             config->text_layers));
  g_assert_nonnull (loom_sd_checkpoint_lookupf (single, "text_encoder.text_model.encoder.layers.%u.layer_norm1.weight",
                                                config->text_layers - 1));
  g_assert_cmpstr (((LoomSdTensor *) g_ptr_array_index (single_list, 0))->name, ==,
                   "text_encoder.text_model.embeddings.token_embedding.weight");

  for (guint i = 0; i < single_list->len; i++)
    {
      const LoomSdTensor *a = g_ptr_array_index (single_list, i);
      const LoomSdTensor *b = loom_sd_checkpoint_lookup (folder, a->name);
      const LoomSdSpec *spec = g_ptr_array_index (specs, i);

      g_assert_cmpstr (a->name, ==, spec->name);
      g_assert_true (loom_sd_checkpoint_lookup (single, a->name) == a);
      g_assert_nonnull (b);
      g_assert_cmpuint (a->type, ==, weight_type);
      g_assert_cmpuint (b->type, ==, weight_type);
      g_assert_cmpuint (a->n_elements, ==, spec->n_elements);
      g_assert_cmpuint (b->n_elements, ==, a->n_elements);
      g_assert_cmpuint (a->bytes, ==, b->bytes);
      g_assert_cmpuint (a->bytes, ==, a->n_elements * (weight_type == LOOM_TENSOR_F32 ? 4 : 2));
      if (memcmp (a->data, b->data, a->bytes) != 0)
        g_error ("%s differs between the layouts", a->name);
    }
}

static void
test_small_sd1 (void)
{
  LoomSdConfig config;

  loom_sd_random_config_small_sd1 (&config);
  check_small_model (&config, LOOM_TENSOR_F16, "small-sd1");
}

static void
test_small_sd2 (void)
{
  LoomSdConfig config;

  loom_sd_random_config_small_sd2 (&config);
  check_small_model (&config, LOOM_TENSOR_F32, "small-sd2");
}

/* OpenCLIP's fused in_proj is seen as three views of its rows. */
static void
test_open_clip_views (void)
{
  LoomSdConfig config;
  g_autofree char *path = NULL;
  g_autoptr(LoomSdCheckpoint) checkpoint = NULL;
  g_autoptr(LoomSafetensors) file = NULL;
  g_autoptr(GError) error = NULL;
  static const char * const parts[] = { "q_proj", "k_proj", "v_proj" };

  loom_sd_random_config_small_sd2 (&config);
  path = write_model (&config, LOOM_TENSOR_F32, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE, "views.safetensors", NULL);
  checkpoint = open_ok (path);
  file = loom_safetensors_open (path, &error);
  g_assert_no_error (error);

  for (guint layer = 0; layer < config.text_layers; layer++)
    for (guint bias = 0; bias < 2; bias++)
      {
        g_autofree char *fused_name =
          g_strdup_printf ("cond_stage_model.model.transformer.resblocks.%u.attn.in_proj_%s", layer,
                           bias ? "bias" : "weight");
        const LoomSafetensor *fused = loom_safetensors_lookup (file, fused_name);
        const LoomSdTensor *previous = NULL;
        gsize d = config.text_dim;

        g_assert_nonnull (fused);
        g_assert_cmpint (fused->shape[0], ==, 3 * d);
        for (guint p = 0; p < 3; p++)
          {
            const LoomSdTensor *view =
              loom_sd_checkpoint_lookupf (checkpoint, "text_encoder.text_model.encoder.layers.%u.self_attn.%s.%s",
                                          layer, parts[p], bias ? "bias" : "weight");

            g_assert_nonnull (view);
            g_assert_cmpuint (view->n_dims, ==, bias ? 1 : 2);
            g_assert_cmpint (view->shape[0], ==, d);
            g_assert_cmpuint (view->n_elements, ==, bias ? d : d * d);
            g_assert_cmpuint (3 * view->bytes, ==, fused->bytes);
            g_assert_cmpint (memcmp (view->data, fused->data + p * view->bytes, view->bytes), ==, 0);
            /* A view into the checkpoint's own mapping, right after the previous third. */
            if (p > 0)
              g_assert_true (view->data == previous->data + previous->bytes);
            previous = view;
          }
      }
}

/* What shapes cannot say: v-prediction (the scheduler, or the norm1 heuristic for a
 * single file), SD-Turbo (the name, or the scheduler's trailing spacing), overrides. */
static void
test_prediction_and_turbo (void)
{
  LoomSdConfig config;

  loom_sd_random_config_small_sd2 (&config);
  config.prediction = LOOM_SD_PREDICTION_V;
  config.native_size = 768;
  for (guint layout = 0; layout < 2; layout++)
    {
      g_autofree char *path = write_model (&config, LOOM_TENSOR_F16, FALSE, layout,
                                           layout ? "v-folder" : "v.safetensors", NULL);
      g_autoptr(LoomSdCheckpoint) checkpoint = open_ok (path);

      assert_config_equal (loom_sd_checkpoint_get_config (checkpoint), &config);
      g_assert_cmpstr (loom_sd_config_describe (loom_sd_checkpoint_get_config (checkpoint)), ==, "SD 2.x (v)");
    }

  loom_sd_random_config_small_sd2 (&config);
  {
    g_autofree char *path = write_model (&config, LOOM_TENSOR_F16, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE,
                                         "My-SD-TURBO.safetensors", NULL);
    g_autoptr(LoomSdCheckpoint) checkpoint = open_ok (path);
    const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);

    g_assert_true (c->turbo);
    g_assert_cmpint (c->prediction, ==, LOOM_SD_PREDICTION_EPSILON);
    g_assert_cmpuint (c->native_size, ==, 512);
    g_assert_cmpstr (loom_sd_config_describe (c), ==, "SD-Turbo");
  }
  config.turbo = TRUE;
  {
    g_autofree char *path = write_model (&config, LOOM_TENSOR_F16, FALSE, LOOM_SD_LAYOUT_DIFFUSERS,
                                         "fast-folder", NULL);
    g_autoptr(LoomSdCheckpoint) checkpoint = open_ok (path);
    LoomSdConfig changed;

    assert_config_equal (loom_sd_checkpoint_get_config (checkpoint), &config);

    /* Overrides take what files cannot tell, and leave the architecture. */
    changed = *loom_sd_checkpoint_get_config (checkpoint);
    changed.turbo = FALSE;
    changed.prediction = LOOM_SD_PREDICTION_V;
    changed.native_size = 768;
    changed.unet_levels = 5;
    loom_sd_checkpoint_set_config (checkpoint, &changed);
    g_assert_false (loom_sd_checkpoint_get_config (checkpoint)->turbo);
    g_assert_cmpint (loom_sd_checkpoint_get_config (checkpoint)->prediction, ==, LOOM_SD_PREDICTION_V);
    g_assert_cmpuint (loom_sd_checkpoint_get_config (checkpoint)->native_size, ==, 768);
    g_assert_cmpuint (loom_sd_checkpoint_get_config (checkpoint)->unet_levels, ==, 2);
  }

  loom_sd_random_config_small_sd1 (&config);
  g_assert_cmpstr (loom_sd_config_describe (&config), ==, "SD 1.x");
  g_assert_cmpuint (loom_sd_config_latent_factor (&config), ==, 2);
  loom_sd_random_config_sd15 (&config);
  g_assert_cmpuint (loom_sd_config_latent_factor (&config), ==, 8);
}

/* The tokenizer folder: the vocabulary CLIP builds, with ids as published. */
static void
test_tokenizer_files (void)
{
  g_autofree char *merges = merges_path ();
  g_autofree char *path = NULL;
  g_autoptr(LoomSdCheckpoint) checkpoint = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  JsonObject *vocab;
  LoomSdConfig config;
  static const struct { const char *token; gint64 id; } known[] = {
    { "!", 0 },
    { "a</w>", 320 },        /* "a photo of a cat": 320 1125 539 320 2368 */
    { "photo</w>", 1125 },
    { "of</w>", 539 },
    { "cat</w>", 2368 },
    { "<|startoftext|>", 49406 },
    { "<|endoftext|>", 49407 },
  };

  if (merges == NULL)
    {
      g_test_skip ("CLIP's merges (CANDOR_TESTDATA/clip-bpe) are missing");
      return;
    }
  loom_sd_random_config_small_sd1 (&config);
  path = write_model (&config, LOOM_TENSOR_F16, FALSE, LOOM_SD_LAYOUT_DIFFUSERS, "tokenizer-folder", merges);
  checkpoint = open_ok (path);
  g_assert_nonnull (loom_sd_checkpoint_get_vocab_path (checkpoint));

  g_assert_true (json_parser_load_from_file (parser, loom_sd_checkpoint_get_vocab_path (checkpoint), &error));
  g_assert_no_error (error);
  vocab = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpuint (json_object_get_size (vocab), ==, 49408);
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    g_assert_cmpint (json_object_get_int_member (vocab, known[i].token), ==, known[i].id);

  g_assert_true (g_file_get_contents (loom_sd_checkpoint_get_merges_path (checkpoint), &text, NULL, &error));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "#version: 0.2");
  g_assert_cmpstr (lines[1], ==, "i n");
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 48894 + 1);
}

static void
test_unet_only (void)
{
  LoomSdConfig config;

  loom_sd_random_config_small_sd1 (&config);
  for (guint layout = 0; layout < 2; layout++)
    {
      g_autofree char *path = write_model (&config, LOOM_TENSOR_F16, TRUE, layout,
                                           layout ? "unet-only" : "unet-only.safetensors", NULL);
      g_autoptr(LoomSdCheckpoint) checkpoint = open_ok (path);
      const LoomSdConfig *c = loom_sd_checkpoint_get_config (checkpoint);

      g_assert_true (loom_sd_checkpoint_has_component (checkpoint, "unet"));
      g_assert_false (loom_sd_checkpoint_has_component (checkpoint, "vae"));
      g_assert_false (loom_sd_checkpoint_has_component (checkpoint, "text_encoder"));
      g_assert_cmpint (c->family, ==, LOOM_SD_FAMILY_SD1);
      g_assert_cmpuint (c->unet_levels, ==, 2);
      g_assert_cmpuint (c->unet_context_dim, ==, 64);
      g_assert_null (loom_sd_checkpoint_lookup (checkpoint, "vae.decoder.conv_in.weight"));
    }
}

/* Hand-made safetensors files, with any dtype. */

typedef struct
{
  char   *name;
  char   *dtype;
  guint   n_dims;
  gint64  shape[4];
  GBytes *data;
} Entry;

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_free (e->name);
  g_free (e->dtype);
  g_bytes_unref (e->data);
  g_free (e);
}

static void
entries_add (GPtrArray    *entries,
             const char   *name,
             const char   *dtype,
             guint         n_dims,
             const gint64 *shape,
             GBytes       *data)
{
  Entry *e = g_new0 (Entry, 1);

  e->name = g_strdup (name);
  e->dtype = g_strdup (dtype);
  e->n_dims = n_dims;
  memcpy (e->shape, shape, n_dims * sizeof *shape);
  e->data = g_bytes_ref (data);
  g_ptr_array_add (entries, e);
}

/* A tensor of zeros. */
static void
entries_add_zeros (GPtrArray    *entries,
                   const char   *name,
                   guint         n_dims,
                   const gint64 *shape)
{
  gsize n = 1;
  g_autoptr(GBytes) data = NULL;

  for (guint d = 0; d < n_dims; d++)
    n *= (gsize) shape[d];
  data = g_bytes_new_take (g_malloc0 (n * 4), n * 4);
  entries_add (entries, name, "F32", n_dims, shape, data);
}

static void
entries_write (GPtrArray  *entries,
               const char *path)
{
  g_autoptr(GString) json = g_string_new ("{");
  g_autoptr(GByteArray) file = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  guint64 offset = 0, length;

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = g_ptr_array_index (entries, i);
      gsize size = g_bytes_get_size (e->data);

      g_string_append_printf (json, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", e->name, e->dtype);
      for (guint d = 0; d < e->n_dims; d++)
        g_string_append_printf (json, "%s%" G_GINT64_FORMAT, d ? "," : "", e->shape[d]);
      g_string_append_printf (json, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              offset, offset + size);
      offset += size;
    }
  g_string_append_c (json, '}');
  while (json->len % 8 != 0)
    g_string_append_c (json, ' ');
  length = GUINT64_TO_LE ((guint64) json->len);
  g_byte_array_append (file, (const guint8 *) &length, 8);
  g_byte_array_append (file, (const guint8 *) json->str, json->len);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = g_ptr_array_index (entries, i);
      gsize size;
      const guint8 *data = g_bytes_get_data (e->data, &size);

      g_byte_array_append (file, data, size);
    }
  g_assert_true (g_file_set_contents (path, (const char *) file->data, file->len, &error));
  g_assert_no_error (error);
}

/* The tensors of @path except @skip (nullable). */
static GPtrArray *
entries_from_file (const char *path,
                   const char *skip)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func (entry_free);
  g_autoptr(LoomSafetensors) file = NULL;
  g_autoptr(GError) error = NULL;

  file = loom_safetensors_open (path, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < loom_safetensors_get_n_tensors (file); i++)
    {
      const LoomSafetensor *t = loom_safetensors_get_tensor (file, i);
      g_autoptr(GBytes) data = NULL;
      gint64 shape[4];

      if (g_strcmp0 (t->name, skip) == 0)
        continue;
      g_assert_cmpuint (t->n_dims, <=, 4);
      memcpy (shape, t->shape, t->n_dims * sizeof *shape);
      data = g_bytes_new (t->data, t->bytes);
      entries_add (entries, t->name, t->dtype, t->n_dims, shape, data);
    }
  return entries;
}

static void
test_unsupported (void)
{
  static const struct
  {
    const char *file;
    const char *tensor;
    const char *needle;
  } families[] = {
    { "sdxl.safetensors", "conditioner.embedders.1.model.ln_final.weight", "SDXL" },
    { "sdxl-label.safetensors", "model.diffusion_model.label_emb.0.0.weight", "SDXL" },
    { "sd3.safetensors", "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight", "Stable Diffusion 3" },
    { "flux.safetensors", "double_blocks.0.img_attn.qkv.weight", "Flux" },
    { "flux-ldm.safetensors", "model.diffusion_model.double_blocks.0.img_attn.qkv.weight", "Flux" },
  };
  LoomSdConfig config;
  g_autofree char *base = NULL;

  loom_sd_random_config_small_sd1 (&config);
  base = write_model (&config, LOOM_TENSOR_F32, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE, "base.safetensors", NULL);

  /* A real SD UNet with another family's marker tensor added. */
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    {
      g_autoptr(GPtrArray) entries = entries_from_file (base, NULL);
      g_autofree char *path = sd_test_tmp_path (families[i].file);
      gint64 shape[1] = { 8 };

      entries_add_zeros (entries, families[i].tensor, 1, shape);
      entries_write (entries, path);
      assert_open_fails (path, LOOM_ERROR_UNSUPPORTED_MODEL, families[i].needle);
    }

  /* An inpainting UNet: conv_in takes the latent, the mask and the masked image. */
  {
    g_autoptr(GPtrArray) entries = entries_from_file (base, "model.diffusion_model.input_blocks.0.0.weight");
    g_autofree char *path = sd_test_tmp_path ("inpainting.safetensors");
    gint64 shape[4] = { 32, 9, 3, 3 };

    entries_add_zeros (entries, "model.diffusion_model.input_blocks.0.0.weight", 4, shape);
    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_UNSUPPORTED_MODEL, "inpainting");
  }

  /* An SDXL-sized cross-attention context. */
  {
    g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
    g_autofree char *path = sd_test_tmp_path ("sdxl-context.safetensors");
    g_autofree char *folder = sd_test_tmp_path ("sdxl-context");
    g_autofree char *unet = g_build_filename (folder, "unet", NULL);
    g_autofree char *weights = g_build_filename (unet, "diffusion_pytorch_model.safetensors", NULL);
    static const gint64 conv_in[4] = { 32, 4, 3, 3 }, conv1[4] = { 32, 32, 3, 3 };
    static const gint64 linear[2] = { 128, 32 }, conv_out[4] = { 4, 32, 3, 3 };
    static const gint64 to_k[2] = { 32, 2048 }, proj[2] = { 32, 32 };

    entries_add_zeros (entries, "conv_in.weight", 4, conv_in);
    entries_add_zeros (entries, "down_blocks.0.resnets.0.conv1.weight", 4, conv1);
    entries_add_zeros (entries, "time_embedding.linear_1.weight", 2, linear);
    entries_add_zeros (entries, "conv_out.weight", 4, conv_out);
    entries_add_zeros (entries, "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", 2, to_k);
    entries_add_zeros (entries, "mid_block.attentions.0.proj_in.weight", 2, proj);
    g_assert_cmpint (g_mkdir_with_parents (unet, 0755), ==, 0);
    entries_write (entries, weights);
    assert_open_fails (folder, LOOM_ERROR_UNSUPPORTED_MODEL, "SDXL");

    /* The same UNet file on its own is a part of a folder. */
    g_assert_true (g_file_test (weights, G_FILE_TEST_EXISTS));
    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_UNSUPPORTED_MODEL, "diffusers folder");
  }

  /* Diffusers folders of other pipelines. */
  {
    g_autofree char *folder = sd_test_tmp_path ("flux-folder");
    g_autofree char *transformer = g_build_filename (folder, "transformer", NULL);
    g_autofree char *xl = sd_test_tmp_path ("xl-folder");
    g_autofree char *xl_text = g_build_filename (xl, "text_encoder_2", NULL);
    g_autofree char *xl_unet = g_build_filename (xl, "unet", NULL);

    g_assert_cmpint (g_mkdir_with_parents (transformer, 0755), ==, 0);
    assert_open_fails (folder, LOOM_ERROR_UNSUPPORTED_MODEL, "transformer");
    g_assert_cmpint (g_mkdir_with_parents (xl_text, 0755), ==, 0);
    g_assert_cmpint (g_mkdir_with_parents (xl_unet, 0755), ==, 0);
    assert_open_fails (xl, LOOM_ERROR_UNSUPPORTED_MODEL, "SDXL");
  }

  /* Something else altogether. */
  {
    g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
    g_autofree char *path = sd_test_tmp_path ("llm.safetensors");
    g_autofree char *empty = sd_test_tmp_path ("empty-folder");
    static const gint64 shape[2] = { 16, 8 };

    entries_add_zeros (entries, "model.embed_tokens.weight", 2, shape);
    entries_add_zeros (entries, "lm_head.weight", 2, shape);
    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_UNSUPPORTED_MODEL, "not a Stable Diffusion checkpoint");
    g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
    assert_open_fails (empty, LOOM_ERROR_UNSUPPORTED_MODEL, "not a Stable Diffusion checkpoint");
  }
}

static void
test_invalid (void)
{
  LoomSdConfig config;
  g_autofree char *base = NULL;
  g_autofree char *base2 = NULL;
  static const char *missing = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_v.weight";
  static const char *missing_vae = "first_stage_model.decoder.up.0.block.1.conv2.bias";
  static const char *reshaped = "first_stage_model.decoder.mid.attn_1.q.weight";

  loom_sd_random_config_small_sd1 (&config);
  base = write_model (&config, LOOM_TENSOR_F32, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE, "base.safetensors", NULL);
  loom_sd_random_config_small_sd2 (&config);
  base2 = write_model (&config, LOOM_TENSOR_F16, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE, "base2.safetensors", NULL);

  /* A tensor missing: the message names it as the file does. */
  {
    g_autoptr(GPtrArray) entries = entries_from_file (base, missing);
    g_autofree char *path = sd_test_tmp_path ("missing.safetensors");

    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_INVALID_MODEL, missing);
  }
  {
    g_autoptr(GPtrArray) entries = entries_from_file (base, missing_vae);
    g_autofree char *path = sd_test_tmp_path ("missing-vae.safetensors");

    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_INVALID_MODEL, missing_vae);
  }
  {
    g_autoptr(GPtrArray) entries = entries_from_file (base2, "cond_stage_model.model.transformer.resblocks.1.attn.in_proj_bias");
    g_autofree char *path = sd_test_tmp_path ("missing-in-proj.safetensors");

    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_INVALID_MODEL, "cond_stage_model.model.transformer.resblocks.1.attn.in_proj_bias");
  }

  /* A tensor of the wrong shape: named, with what was expected. */
  {
    g_autoptr(GPtrArray) entries = entries_from_file (base, reshaped);
    g_autofree char *path = sd_test_tmp_path ("reshaped.safetensors");
    gint64 shape[4] = { 64, 32, 1, 1 };

    entries_add_zeros (entries, reshaped, 4, shape);
    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_INVALID_MODEL, reshaped);
    assert_open_fails (path, LOOM_ERROR_INVALID_MODEL, "expected [64, 64, 1, 1]");
  }

  /* A weight in a type Loom does not compute with (an fp8 checkpoint). */
  {
    g_autoptr(GPtrArray) entries = entries_from_file (base, "model.diffusion_model.out.2.weight");
    g_autofree char *path = sd_test_tmp_path ("fp8.safetensors");
    static const gint64 shape[4] = { 4, 32, 3, 3 };
    g_autoptr(GBytes) data = g_bytes_new_take (g_malloc0 (4 * 32 * 9), 4 * 32 * 9);

    entries_add (entries, "model.diffusion_model.out.2.weight", "F8_E4M3", 4, shape, data);
    entries_write (entries, path);
    assert_open_fails (path, LOOM_ERROR_UNSUPPORTED_MODEL, "F8_E4M3");
  }

  /* A diffusers folder without unet weights, or with .bin weights only. */
  {
    g_autofree char *folder = sd_test_tmp_path ("bin-folder");
    g_autofree char *unet = g_build_filename (folder, "unet", NULL);
    g_autofree char *bin = g_build_filename (unet, "diffusion_pytorch_model.bin", NULL);

    g_assert_cmpint (g_mkdir_with_parents (unet, 0755), ==, 0);
    g_assert_true (g_file_set_contents (bin, "PK", 2, NULL));
    assert_open_fails (folder, LOOM_ERROR_UNSUPPORTED_MODEL, "safetensors");
  }
}

/* Real files hold tensors Loom has no use for, in types it does not compute with. */
static void
test_extra_tensors (void)
{
  LoomSdConfig config;
  g_autofree char *base = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *path = sd_test_tmp_path ("extras.safetensors");
  g_autoptr(LoomSdCheckpoint) checkpoint = NULL;
  gint64 ids[77];
  static const gint64 shape[2] = { 1, 77 };
  static const gint64 scalar[1] = { 0 };
  g_autoptr(GBytes) ids_bytes = NULL;

  loom_sd_random_config_small_sd1 (&config);
  base = write_model (&config, LOOM_TENSOR_F32, FALSE, LOOM_SD_LAYOUT_SINGLE_FILE, "base.safetensors", NULL);
  entries = entries_from_file (base, NULL);
  for (guint i = 0; i < 77; i++)
    ids[i] = GINT64_TO_LE (i);
  ids_bytes = g_bytes_new (ids, sizeof ids);
  entries_add (entries, "cond_stage_model.transformer.text_model.embeddings.position_ids", "I64", 2, shape,
               ids_bytes);
  entries_add_zeros (entries, "model_ema.decay", 0, scalar);
  entries_add_zeros (entries, "model_ema.num_updates", 0, scalar);
  entries_write (entries, path);

  checkpoint = open_ok (path);
  assert_config_equal (loom_sd_checkpoint_get_config (checkpoint), &config);
}

int
main (int    argc,
      char **argv)
{
  int status;

  loom_test_init (&argc, &argv);
  sd_test_tmp_init ("test-sd-checkpoint");

  g_test_add_func ("/engine/sd-checkpoint/parameter-counts", test_parameter_counts);
  g_test_add_func ("/engine/sd-checkpoint/ldm-names", test_ldm_names);
  g_test_add_func ("/engine/sd-checkpoint/ldm-round-trip", test_ldm_round_trip);
  g_test_add_func ("/engine/sd-checkpoint/small-sd1", test_small_sd1);
  g_test_add_func ("/engine/sd-checkpoint/small-sd2", test_small_sd2);
  g_test_add_func ("/engine/sd-checkpoint/open-clip-views", test_open_clip_views);
  g_test_add_func ("/engine/sd-checkpoint/prediction-and-turbo", test_prediction_and_turbo);
  g_test_add_func ("/engine/sd-checkpoint/tokenizer-files", test_tokenizer_files);
  g_test_add_func ("/engine/sd-checkpoint/unet-only", test_unet_only);
  g_test_add_func ("/engine/sd-checkpoint/unsupported", test_unsupported);
  g_test_add_func ("/engine/sd-checkpoint/invalid", test_invalid);
  g_test_add_func ("/engine/sd-checkpoint/extra-tensors", test_extra_tensors);

  status = loom_test_run ();
  sd_test_tmp_clear ();
  return status;
}
