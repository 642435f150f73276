/* test-spirv.c — reflection of every bundled shader, and of broken modules. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "loom-test-util.h"
#include "ops/loom-ops-weights.h"

/* The C side of each shader's interface, as the ops declare it. Pipeline creation checks
 * the same thing; this test checks it for every shader without a device. */
typedef struct
{
  const char *shader;
  guint32     n_bindings;
  guint32     push_size;
  guint32     n_spec;
} Interface;

static const Interface fixed_interfaces[] = {
  { "add_channel", 2, sizeof (LoomAddChannelPush), 0 },
  { "attn_online", 4, sizeof (LoomAttentionOnlinePush), 2 },
  { "attn_scores", 3, sizeof (LoomAttentionPush), 1 },
  { "attn_values", 3, sizeof (LoomAttentionPush), 1 },
  { "bias", 2, sizeof (LoomBiasPush), 0 },
  { "binary", 3, sizeof (LoomBinaryPush), 2 },
  { "conv2d_f16", 4, sizeof (LoomConv2dPush), 1 },
  { "conv2d_f16_blocked", 4, sizeof (LoomConv2dPush), 2 },
  { "conv2d_f32", 4, sizeof (LoomConv2dPush), 1 },
  { "conv2d_f32_blocked", 4, sizeof (LoomConv2dPush), 2 },
  { "flash_attn", 4, sizeof (LoomFlashAttentionPush), 3 },
  { "flash_attn_rows", 4, sizeof (LoomFlashAttentionPush), 3 },
  { "geglu", 2, sizeof (LoomGegluPush), 0 },
  { "get_rows_f32", 2, sizeof (LoomGetRowsPush), 0 },
  { "group_norm", 4, sizeof (LoomGroupNormPush), 2 },
  { "kv_store", 2, sizeof (LoomKvStorePush), 1 },
  { "layer_norm", 4, sizeof (LoomLayerNormPush), 0 },
  { "matmul_f32", 3, sizeof (LoomMatmulPush), 0 },
  { "matmul_f32_blocked", 3, sizeof (LoomMatmulPush), 1 },
  { "matvec_f32", 3, sizeof (LoomMatvecPush), 1 },
  { "matvec_f32_rows", 3, sizeof (LoomMatvecPush), 1 },
  { "rms_norm", 3, sizeof (LoomRowsPush), 0 },
  { "rope", 2, sizeof (LoomRopePush), 2 },
  { "softmax", 2, sizeof (LoomRowsPush), 0 },
  { "timestep_embedding", 1, sizeof (LoomTimestepPush), 0 },
  { "transpose", 2, sizeof (LoomTransposePush), 0 },
  { "unary", 2, sizeof (LoomUnaryPush), 2 },
  { "upsample_nearest", 2, sizeof (LoomUpsamplePush), 0 },
};

/* Shaders compiled once per stored weight type (shaders/meson.build): the name is
 * prefix, type, suffix, as loom_weights_shader() writes it. */
static const struct
{
  const char *prefix;
  const char *suffix;
  guint32     n_bindings;
  guint32     push_size;
  guint32     n_spec;
} typed_interfaces[] = {
  { "get_rows_", "", 2, sizeof (LoomGetRowsPush), 0 },
  { "matmul_", "", 3, sizeof (LoomMatmulPush), 0 },
  { "matmul_", "_blocked", 3, sizeof (LoomMatmulPush), 2 },
  { "matvec_", "", 3, sizeof (LoomMatvecPush), 1 },
  { "matvec_", "_rows", 3, sizeof (LoomMatvecPush), 2 },
};

static const guint32 weight_types[] = {
  LOOM_TENSOR_F16, LOOM_TENSOR_BF16, LOOM_TENSOR_Q8_0, LOOM_TENSOR_Q4_0, LOOM_TENSOR_Q4_1,
  LOOM_TENSOR_Q5_0, LOOM_TENSOR_Q5_1, LOOM_TENSOR_Q4_K, LOOM_TENSOR_Q5_K, LOOM_TENSOR_Q6_K,
};

static Interface interfaces[G_N_ELEMENTS (fixed_interfaces)
                            + G_N_ELEMENTS (typed_interfaces) * G_N_ELEMENTS (weight_types)];
static char typed_names[G_N_ELEMENTS (typed_interfaces) * G_N_ELEMENTS (weight_types)]
                       [LOOM_WEIGHTS_SHADER_MAX];

static int
compare_interfaces (gconstpointer a,
                    gconstpointer b)
{
  return strcmp (((const Interface *) a)->shader, ((const Interface *) b)->shader);
}

/* Fills interfaces[] with every shader's, sorted by name as loom_shader_list() is. */
static void
list_interfaces (void)
{
  guint n = 0, n_typed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (fixed_interfaces); i++)
    interfaces[n++] = fixed_interfaces[i];
  for (guint i = 0; i < G_N_ELEMENTS (typed_interfaces); i++)
    for (guint t = 0; t < G_N_ELEMENTS (weight_types); t++)
      {
        char *name = typed_names[n_typed++];
        loom_weights_shader (name, typed_interfaces[i].prefix, weight_types[t],
                             typed_interfaces[i].suffix);
        interfaces[n++] = (Interface) { name, typed_interfaces[i].n_bindings,
                                        typed_interfaces[i].push_size, typed_interfaces[i].n_spec };
      }
  qsort (interfaces, n, sizeof (Interface), compare_interfaces);
}

static guint32 *
load_words (const char *shader,
            gsize      *n_words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = loom_shader_lookup (shader, &error);
  gsize size;

  g_assert_no_error (error);
  size = g_bytes_get_size (bytes);
  g_assert_cmpuint (size % 4, ==, 0);
  *n_words = size / 4;
  return g_memdup2 (g_bytes_get_data (bytes, NULL), size);
}

static void
test_every_shader_has_an_interface (void)
{
  g_auto(GStrv) shaders = loom_shader_list ();

  g_assert_cmpuint (g_strv_length (shaders), ==, G_N_ELEMENTS (interfaces));
  for (guint i = 0; shaders[i] != NULL; i++)
    g_assert_cmpstr (shaders[i], ==, interfaces[i].shader);
}

static void
test_reflect_bundled (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (interfaces); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree guint32 *words = NULL;
      LoomSpirvInfo info;
      gsize n_words;

      words = load_words (interfaces[i].shader, &n_words);
      g_assert_true (loom_spirv_reflect (words, n_words, &info, &error));
      g_assert_no_error (error);
      g_test_message ("%s: %u bindings, %u bytes of push constants, %u spec constants, "
                      "local size %u×%u×%u", interfaces[i].shader, info.n_bindings,
                      info.push_constant_size, info.n_spec_constants, info.local_size[0],
                      info.local_size[1], info.local_size[2]);
      g_assert_cmpuint (info.n_bindings, ==, interfaces[i].n_bindings);
      g_assert_cmpuint (info.push_constant_size, ==, interfaces[i].push_size);
      g_assert_cmpuint (info.n_spec_constants, ==, interfaces[i].n_spec);
      /* No kernel runs single invocations; the smallest (attn_online, CPU-shaped) fills one
       * SIMD batch of lavapipe, 8. */
      g_assert_cmpuint (info.local_size[0] * info.local_size[1] * info.local_size[2], >=, 8);
    }
}

static void
test_reflect_rejects_garbage (void)
{
  g_autoptr(GError) error = NULL;
  guint32 zeros[16] = { 0 };
  guint32 header_only[5] = { 0x07230203, 0x00010500, 0, 5, 0 };
  guint32 bad_count[7] = { 0x07230203, 0x00010500, 0, 100, 0, (50u << 16) | 17, 0 };
  guint32 huge_bound[5] = { 0x07230203, 0x00010500, 0, 0xffffffff, 0 };
  LoomSpirvInfo info;

  g_assert_false (loom_spirv_reflect (zeros, G_N_ELEMENTS (zeros), &info, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
  g_clear_error (&error);

  g_assert_true (loom_spirv_reflect (header_only, G_N_ELEMENTS (header_only), &info, &error));
  g_assert_cmpuint (info.n_bindings, ==, 0);

  g_assert_false (loom_spirv_reflect (bad_count, G_N_ELEMENTS (bad_count), &info, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
  g_clear_error (&error);

  g_assert_false (loom_spirv_reflect (huge_bound, G_N_ELEMENTS (huge_bound), &info, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
}

/* Truncations and random corruption of a real module must never read out of bounds
 * (run under valgrind or ASan to see it) and never crash. */
static void
test_reflect_corrupted (void)
{
  g_autofree guint32 *words = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  gsize n_words;

  words = load_words ("matmul_f32", &n_words);
  for (gsize cut = 0; cut < n_words; cut += 7)
    {
      g_autofree guint32 *copy = g_memdup2 (words, cut * 4 + 4);
      LoomSpirvInfo info;
      g_autoptr(GError) error = NULL;
      if (!loom_spirv_reflect (copy, cut, &info, &error))
        g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
    }
  for (guint round = 0; round < 500; round++)
    {
      g_autofree guint32 *copy = g_memdup2 (words, n_words * 4);
      LoomSpirvInfo info;
      g_autoptr(GError) error = NULL;
      for (guint flips = 0; flips < 4; flips++)
        copy[g_rand_int_range (rand, 0, (gint32) n_words)] = g_rand_int (rand);
      if (!loom_spirv_reflect (copy, n_words, &info, &error))
        g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
    }
}

/* A C caller whose struct disagrees with the shader gets LOOM_ERROR_SHADER naming the
 * mismatch, before any GPU work. */
static void
test_pipeline_interface_mismatch (void)
{
  LoomDevice *device;
  g_autoptr(GError) error = NULL;
  LoomPipelineDesc desc = {
    .shader = "softmax",
    .n_bindings = 2,
    .push_size = sizeof (LoomRowsPush) - 4,
  };

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();

  g_assert_null (loom_device_get_pipeline (device, &desc, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
  g_assert_nonnull (strstr (error->message, "push constants"));
  g_clear_error (&error);

  desc.push_size = sizeof (LoomRowsPush);
  desc.n_bindings = 3;
  g_assert_null (loom_device_get_pipeline (device, &desc, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
  g_assert_nonnull (strstr (error->message, "storage buffers"));
  g_clear_error (&error);

  desc.shader = "no-such-shader";
  g_assert_null (loom_device_get_pipeline (device, &desc, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
}

/* Every bundled shader compiles into a pipeline on the device. */
static void
test_pipelines_compile (void)
{
  LoomDevice *device;

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();

  for (guint i = 0; i < G_N_ELEMENTS (interfaces); i++)
    {
      g_autoptr(GError) error = NULL;
      LoomPipelineDesc desc = {
        .shader = interfaces[i].shader,
        .n_bindings = interfaces[i].n_bindings,
        .push_size = interfaces[i].push_size,
        .n_spec = interfaces[i].n_spec,
      };
      LoomPipeline *pipeline;

      /* Spec constants of 1: switches on, and sizes (attn_online's head) non-zero, as the
       * ops pass them; a zero size would make arrays of no elements, invalid SPIR-V. */
      for (guint s = 0; s < desc.n_spec; s++)
        desc.spec[s] = 1;
      pipeline = loom_device_get_pipeline (device, &desc, &error);
      g_assert_no_error (error);
      g_assert_nonnull (pipeline);
      /* The device caches pipelines: the same description gives the same pipeline. */
      g_assert_true (loom_device_get_pipeline (device, &desc, NULL) == pipeline);
    }
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);
  list_interfaces ();

  g_test_add_func ("/engine/spirv/every-shader-has-an-interface",
                   test_every_shader_has_an_interface);
  g_test_add_func ("/engine/spirv/reflect-bundled", test_reflect_bundled);
  g_test_add_func ("/engine/spirv/reject-garbage", test_reflect_rejects_garbage);
  g_test_add_func ("/engine/spirv/corrupted", test_reflect_corrupted);
  g_test_add_func ("/engine/spirv/interface-mismatch", test_pipeline_interface_mismatch);
  g_test_add_func ("/engine/spirv/pipelines-compile", test_pipelines_compile);

  return loom_test_run ();
}
