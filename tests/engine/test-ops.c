/* test-ops.c — every GPU op against its CPU reference, on the real device.
 *
 * Shapes include 1, odd sizes, sizes just off the workgroup sizes (64, 128, 256), random
 * shapes, tensors at unaligned offsets inside their buffers, and tensors larger than one
 * storage-buffer binding (128 MiB on lavapipe), which the ops must split. The matrix
 * kernels and get-row also run with weights in every stored type (F16, BF16 and the
 * quantized types), aligned as GGUF files align them and at odd 2-byte offsets. The error
 * bound of each op is derived in engine/ops/loom-op-check.c; each result is reported
 * with its largest error and how close it came to the bound.
 */
#include "config.h"

#include "loom-test-util.h"

static void
run_case (const LoomOpCase *op_case,
          guint32           seed)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *what = loom_op_case_describe (op_case);
  g_autofree char *how = NULL;
  LoomCheck check;

  g_assert_true (loom_op_case_run (loom_test_get_device (), op_case, seed, &check, &error));
  g_assert_no_error (error);
  how = loom_check_describe (&check);
  g_test_message ("%s: %s", what, how);
  if (!check.passed)
    g_error ("%s: %s", what, how);
}

/* Element counts around every workgroup boundary the element-wise kernels have. */
static const gsize element_counts[] = { 1, 2, 3, 4, 5, 63, 64, 65, 255, 256, 257, 1000, 4097, 65537 };
static const gsize offsets[] = { 0, 1, 3, 4 };

static void
test_elementwise (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7 + kind);

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (element_counts); i++)
    for (guint o = 0; o < G_N_ELEMENTS (offsets); o++)
      {
        LoomOpCase c = { kind, 1, element_counts[i], 0, offsets[o] };
        run_case (&c, i * 10 + o);
      }
  for (guint r = 0; r < 5; r++)
    {
      LoomOpCase c = { kind, 1, g_rand_int_range (rand, 1, 300000), 0,
                       g_rand_int_range (rand, 0, 8) };
      run_case (&c, 1000 + r);
    }
}

static void
test_rows (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11 + kind);
  static const gsize shapes[][2] = {
    { 1, 1 }, { 1, 2 }, { 3, 1 }, { 5, 127 }, { 4, 128 }, { 3, 129 }, { 2, 1000 },
    { 17, 4096 }, { 2, 32000 }, { 70000, 3 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { kind, shapes[i][0], shapes[i][1], 0, i % 3 };
      run_case (&c, i);
    }
  for (guint r = 0; r < 5; r++)
    {
      LoomOpCase c = { kind, g_rand_int_range (rand, 1, 200), g_rand_int_range (rand, 1, 5000),
                       0, g_rand_int_range (rand, 0, 8) };
      run_case (&c, 100 + r);
    }
}

static void
test_matvec (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  static const gsize shapes[][2] = {
    { 1, 1 }, { 1, 5 }, { 7, 1 }, { 3, 127 }, { 3, 128 }, { 3, 129 }, { 64, 64 },
    { 257, 1000 }, { 1000, 4097 }, { 70000, 4 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { kind, 1, shapes[i][0], shapes[i][1], i % 5 };
      run_case (&c, i);
    }
  for (guint r = 0; r < 5; r++)
    {
      LoomOpCase c = { kind, 1, g_rand_int_range (rand, 1, 3000),
                       g_rand_int_range (rand, 1, 3000), g_rand_int_range (rand, 0, 8) };
      run_case (&c, 100 + r);
    }
}

static void
test_matmul (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  static const gsize shapes[][3] = {
    { 1, 1, 1 }, { 2, 3, 5 }, { 63, 65, 17 }, { 64, 64, 16 }, { 65, 63, 15 },
    { 128, 192, 256 }, { 100, 1, 300 }, { 1, 100, 300 }, { 129, 130, 1031 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { kind, shapes[i][0], shapes[i][1], shapes[i][2], i % 5 };
      run_case (&c, i);
    }
  for (guint r = 0; r < 5; r++)
    {
      LoomOpCase c = { kind, g_rand_int_range (rand, 1, 300),
                       g_rand_int_range (rand, 1, 300), g_rand_int_range (rand, 1, 700),
                       g_rand_int_range (rand, 0, 8) };
      run_case (&c, 100 + r);
    }
}

static void
test_rope (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  /* tokens × heads × head_dim: one token, odd head counts, head dims of real models
   * (64, 128), and small ones down to a single pair. */
  static const gsize shapes[][3] = {
    { 1, 1, 2 }, { 1, 8, 64 }, { 3, 5, 8 }, { 7, 4, 128 }, { 13, 3, 64 }, { 2, 32, 128 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { kind, shapes[i][0], shapes[i][1], shapes[i][2], i % 3 };
      run_case (&c, i);
    }
}

/* The KV cache in f16 (the default) and f32. */
static const guint32 cache_types[] = { LOOM_TENSOR_F16, LOOM_TENSOR_F32 };

static void
test_kv_store (void)
{
  /* tokens × row (n_kv_heads · head_dim). */
  static const gsize shapes[][2] = { { 1, 2 }, { 1, 256 }, { 7, 128 }, { 64, 512 }, { 3, 6 } };

  if (loom_test_skip_without_device ())
    return;
  for (guint t = 0; t < G_N_ELEMENTS (cache_types); t++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      {
        LoomOpCase c = { LOOM_OP_KV_STORE, shapes[i][0], shapes[i][1], 0, 4 * (i % 3),
                         cache_types[t] };
        run_case (&c, i);
      }
}

static void
test_attention (void)
{
  /* queries × heads × head_dim after 5 cached positions; even head counts use grouped
   * queries (two per KV head), odd ones one KV head per query head. */
  static const gsize shapes[][3] = {
    { 1, 1, 2 }, { 1, 8, 64 }, { 1, 3, 8 }, { 4, 16, 64 }, { 9, 4, 128 }, { 17, 2, 32 },
    { 3, 2, 256 }, { 40, 4, 64 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint t = 0; t < G_N_ELEMENTS (cache_types); t++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      {
        for (LoomOpKind kind = LOOM_OP_ATTENTION; kind <= LOOM_OP_ATTENTION_ONLINE; kind++)
          {
            LoomOpCase c = { kind, shapes[i][0], shapes[i][1], shapes[i][2], 4 * (i % 2),
                             cache_types[t] };
            run_case (&c, i);
          }
      }
}

static void
test_get_row (void)
{
  static const guint32 types[] = { LOOM_TENSOR_F32, LOOM_TENSOR_F16 };
  /* rows × row length, odd lengths (an f16 row then starts mid-word) included. */
  static const gsize shapes[][2] = { { 1, 1 }, { 5, 64 }, { 9, 33 }, { 32, 1000 }, { 3, 4097 } };

  if (loom_test_skip_without_device ())
    return;
  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      {
        LoomOpCase c = { LOOM_OP_GET_ROW, shapes[i][0], shapes[i][1], 0, i % 3, types[t] };
        run_case (&c, i);
      }
}

/* The stored types of weights and tables that typed kernels read. */
static const guint32 weight_types[] = {
  LOOM_TENSOR_F16, LOOM_TENSOR_BF16, LOOM_TENSOR_Q8_0, LOOM_TENSOR_Q4_0, LOOM_TENSOR_Q4_1,
  LOOM_TENSOR_Q5_0, LOOM_TENSOR_Q5_1, LOOM_TENSOR_Q4_K, LOOM_TENSOR_Q5_K, LOOM_TENSOR_Q6_K,
};

/* An op with weights of one stored type. */
typedef struct
{
  LoomOpKind kind;
  guint32    type;
} TypedTest;

static gboolean
is_k_quant (guint32 type)
{
  return loom_tensor_type_get_info (type)->block_elements == 256;
}

/* Offsets (in 2-byte units for the weights, floats for the activations): 0 and 8 keep
 * rows 16-byte aligned where their length allows (the kernels' fast paths), the odd
 * ones leave the weights 2-byte aligned and the activations unaligned for vec4s. */
static const gsize typed_offsets[] = { 0, 1, 8, 3, 5, 0, 7, 8 };

/* matvec: N rows × K. Row counts of 1, odd, and around the kernels' rows per workgroup
 * (1, 64); K of 32 and 64 for 32-value blocks, 256, 512 and 768 for all. */
static const gsize matvec_shapes[][2] = {
  { 1, 32 }, { 3, 64 }, { 65, 256 }, { 257, 512 }, { 7, 768 }, { 64, 256 }, { 130, 64 },
  { 2, 512 },
};
static const gsize matvec_k_shapes[][2] = {
  { 1, 256 }, { 3, 512 }, { 65, 768 }, { 257, 256 }, { 7, 512 }, { 64, 768 },
};

static void
test_typed_matvec (gconstpointer data)
{
  const TypedTest *test = data;
  gboolean k_quant = is_k_quant (test->type);
  const gsize (*shapes)[2] = k_quant ? matvec_k_shapes : matvec_shapes;
  gsize n_shapes = k_quant ? G_N_ELEMENTS (matvec_k_shapes) : G_N_ELEMENTS (matvec_shapes);

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < n_shapes; i++)
    {
      LoomOpCase c = { test->kind, 1, shapes[i][0], shapes[i][1], typed_offsets[i], test->type };
      run_case (&c, i);
    }
  /* Rows of F16 and BF16 need not be whole chunks of 8, nor start at an even half. */
  if (test->type == LOOM_TENSOR_F16 || test->type == LOOM_TENSOR_BF16)
    {
      static const gsize plain_shapes[][2] = { { 5, 1 }, { 3, 33 }, { 66, 127 } };
      for (guint i = 0; i < G_N_ELEMENTS (plain_shapes); i++)
        {
          LoomOpCase c = { test->kind, 1, plain_shapes[i][0], plain_shapes[i][1], i, test->type };
          run_case (&c, 100 + i);
        }
    }
}

/* matmul: M × N × K, with M and N odd, 1, and around the tiles (64, 16 × 64). */
static const gsize matmul_shapes[][3] = {
  { 1, 3, 32 }, { 3, 65, 64 }, { 65, 257, 256 }, { 17, 64, 512 }, { 16, 33, 768 },
  { 2, 128, 256 },
};
static const gsize matmul_k_shapes[][3] = {
  { 1, 3, 256 }, { 3, 65, 512 }, { 65, 257, 256 }, { 17, 64, 768 }, { 16, 33, 512 },
};

static void
test_typed_matmul (gconstpointer data)
{
  const TypedTest *test = data;
  gboolean k_quant = is_k_quant (test->type);
  const gsize (*shapes)[3] = k_quant ? matmul_k_shapes : matmul_shapes;
  gsize n_shapes = k_quant ? G_N_ELEMENTS (matmul_k_shapes) : G_N_ELEMENTS (matmul_shapes);

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < n_shapes; i++)
    {
      LoomOpCase c = { test->kind, shapes[i][0], shapes[i][1], shapes[i][2], typed_offsets[i],
                       test->type };
      run_case (&c, i);
    }
  if (test->type == LOOM_TENSOR_F16 || test->type == LOOM_TENSOR_BF16)
    {
      static const gsize plain_shapes[][3] = { { 3, 5, 1 }, { 5, 3, 33 }, { 66, 65, 127 } };
      for (guint i = 0; i < G_N_ELEMENTS (plain_shapes); i++)
        {
          LoomOpCase c = { test->kind, plain_shapes[i][0], plain_shapes[i][1], plain_shapes[i][2],
                           i, test->type };
          run_case (&c, 100 + i);
        }
    }
}

/* get-row: table rows × row length; odd lengths for F16 and BF16, whose rows then start
 * mid-word. */
static void
test_typed_get_row (gconstpointer data)
{
  const TypedTest *test = data;
  static const gsize shapes[][2] = {
    { 1, 32 }, { 5, 64 }, { 9, 256 }, { 4, 512 }, { 3, 768 }, { 2, 4096 },
  };
  static const gsize plain_shapes[][2] = { { 1, 1 }, { 9, 33 }, { 3, 4097 } };
  gboolean k_quant = is_k_quant (test->type);
  gboolean plain = test->type == LOOM_TENSOR_F16 || test->type == LOOM_TENSOR_BF16;

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_GET_ROW, shapes[i][0], shapes[i][1], 0, typed_offsets[i],
                       test->type };
      if (!k_quant || shapes[i][1] % 256 == 0)
        run_case (&c, i);
    }
  for (guint i = 0; plain && i < G_N_ELEMENTS (plain_shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_GET_ROW, plain_shapes[i][0], plain_shapes[i][1], 0, i,
                       test->type };
      run_case (&c, 100 + i);
    }
}

/* Convolutions: c_out × c_in, an h × w map, kernel, stride, pad (+ one at the end),
 * bias: the SD UNet's and VAE's shapes in small (3×3 stride 1 pad 1, 3×3 stride 2 pad 1
 * downsampling, the VAE encoder's 3×3 stride 2 with pad (0, 1, 0, 1), 1×1 shortcuts),
 * odd sizes around the 64 × 64 tiles and the steps of 16 along c_in·k², a 1×1 map, and
 * 160 × 24·24 input channels with 96 outputs, which test-ops-small-windows splits over
 * input and output channels (accumulating) and rows of W. */
typedef struct
{
  gsize    c_out, c_in, h, w;
  guint    kernel, stride, pad;
  gboolean pad_extra_end, bias;
} ConvShape;

static const ConvShape conv_shapes[] = {
  { 5, 3, 7, 5, 3, 1, 1, FALSE, TRUE },
  { 4, 2, 9, 11, 3, 1, 1, FALSE, FALSE },
  { 8, 6, 16, 16, 3, 2, 1, FALSE, TRUE },
  { 3, 5, 7, 9, 3, 2, 1, FALSE, FALSE },
  { 6, 4, 16, 16, 3, 2, 0, TRUE, TRUE },
  { 5, 3, 9, 7, 3, 2, 0, TRUE, FALSE },
  { 7, 5, 6, 6, 1, 1, 0, FALSE, TRUE },
  { 70, 130, 5, 3, 1, 1, 0, FALSE, FALSE },
  { 2, 1, 5, 5, 3, 1, 0, FALSE, TRUE },
  { 65, 17, 13, 13, 3, 1, 1, FALSE, TRUE },
  { 3, 2, 1, 1, 3, 1, 1, FALSE, TRUE },
  { 64, 64, 32, 32, 3, 1, 1, FALSE, TRUE },
  { 96, 160, 24, 24, 3, 1, 1, FALSE, TRUE },
};

/* Both kernels on every device, with weights F32 and F16. */
static const TypedTest conv_tests[] = {
  { LOOM_OP_CONV2D, LOOM_TENSOR_F32 }, { LOOM_OP_CONV2D, LOOM_TENSOR_F16 },
  { LOOM_OP_CONV2D_BLOCKED, LOOM_TENSOR_F32 }, { LOOM_OP_CONV2D_BLOCKED, LOOM_TENSOR_F16 },
};

static void
test_conv2d (gconstpointer data)
{
  const TypedTest *test = data;
  guint32 type = test->type;
  g_autoptr(GRand) rand = g_rand_new_with_seed (13 + type);

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (conv_shapes); i++)
    {
      const ConvShape *s = &conv_shapes[i];
      LoomOpCase c = {
        .kind = test->kind, .rows = s->c_out, .cols = s->c_in, .inner = s->h, .width = s->w,
        .offset = i % 4, .type = type, .kernel = s->kernel, .stride = s->stride, .pad = s->pad,
        .pad_extra_end = s->pad_extra_end, .bias = s->bias,
      };
      run_case (&c, i);
    }
  for (guint r = 0; r < 5; r++)
    {
      guint kernel = g_rand_boolean (rand) ? 3 : 1;
      guint pad = kernel == 3 ? (guint) g_rand_int_range (rand, 0, 2) : 0;
      LoomOpCase c = {
        .kind = test->kind, .rows = g_rand_int_range (rand, 1, 80),
        .cols = g_rand_int_range (rand, 1, 40), .inner = g_rand_int_range (rand, 3, 30),
        .width = g_rand_int_range (rand, 3, 30), .offset = g_rand_int_range (rand, 0, 8),
        .type = type, .kernel = kernel, .stride = g_rand_int_range (rand, 1, 3), .pad = pad,
        .bias = g_rand_boolean (rand),
      };
      run_case (&c, 100 + r);
    }
}

/* Feature maps: upsample (channels × h × w), add-channel (channels × h·w) and transpose
 * (rows × cols), in odd shapes, around the 32 × 32 tiles of transpose, and large enough
 * that test-ops-small-windows splits them (mid-plane for add-channel). */
static void
test_image_maps (void)
{
  static const gsize upsample_shapes[][3] = {
    { 1, 1, 1 }, { 3, 5, 7 }, { 4, 16, 16 }, { 2, 33, 65 }, { 5, 64, 64 },
  };
  static const gsize add_channel_shapes[][2] = {
    { 1, 1 }, { 3, 35 }, { 7, 257 }, { 20, 4096 }, { 1, 70000 },
  };
  static const gsize transpose_shapes[][2] = {
    { 1, 1 }, { 1, 7 }, { 7, 1 }, { 5, 33 }, { 33, 65 }, { 64, 64 }, { 100, 320 },
    { 300, 257 }, { 4096, 40 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (upsample_shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_UPSAMPLE, upsample_shapes[i][0], upsample_shapes[i][2],
                       upsample_shapes[i][1], i % 3 };
      run_case (&c, i);
    }
  for (guint i = 0; i < G_N_ELEMENTS (add_channel_shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_ADD_CHANNEL, add_channel_shapes[i][0], add_channel_shapes[i][1],
                       0, i % 3 };
      run_case (&c, i);
    }
  for (guint i = 0; i < G_N_ELEMENTS (transpose_shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_TRANSPOSE, transpose_shapes[i][0], transpose_shapes[i][1], 0,
                       i % 3 };
      run_case (&c, i);
    }
}

/* Group norm: channels × h·w in groups, SD's 32 groups over 64 and 320 channels, odd
 * planes (7×9), which take the kernel's scalar path, one group, one value per channel,
 * and groups of 32768 floats, at offsets that turn the vec4 path on and off. */
static void
test_group_norm (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  static const gsize shapes[][3] = {
    { 64, 64, 32 }, { 320, 256, 32 }, { 64, 63, 32 }, { 96, 63, 32 }, { 4, 1, 1 },
    { 6, 5, 3 }, { 32, 1, 32 }, { 128, 1024, 32 }, { 8, 8192, 2 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { kind, shapes[i][0], shapes[i][1], shapes[i][2], i % 5 };
      run_case (&c, i);
    }
}

/* Layer norm: rows × cols, CLIP's 77 × 768, the UNet's 4096 tokens × 320, and odd sizes
 * around the workgroup (128). */
static void
test_layer_norm (void)
{
  static const gsize shapes[][2] = {
    { 77, 768 }, { 1, 1 }, { 3, 5 }, { 5, 127 }, { 3, 129 }, { 2, 1280 }, { 4096, 320 },
  };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_LAYER_NORM, shapes[i][0], shapes[i][1], 0, i % 3 };
      run_case (&c, i);
    }
}

/* Flash attention: queries × heads × head_dim over n_kv keys (0: as many as queries),
 * with rows row_pad floats longer (q) and 2·row_pad longer (k, v). SD's head dims (40,
 * 80, 160 for SD 1.x, 64 for SD 2.x), 8, and the VAE's single head of 512; cross
 * attention over 77 keys; counts off every tile size; strided rows as in a fused
 * projection; a long sequence, whose 1024 queries test-ops-small-windows splits over
 * dispatches; and SD's 4096 keys (a 64 × 64 latent, the VAE's 512 × 512 mid-block), too
 * many for lavapipe's loop limit if a kernel looped per key and dimension. Keys that do
 * not fit one window (under test-ops-small-windows) fail the command instead, as
 * /engine/ops/flash-attention/keys-beyond-window checks. */
static void
test_flash_attention (gconstpointer data)
{
  LoomOpKind kind = GPOINTER_TO_UINT (data);
  static const gsize shapes[][5] = {
    { 5, 2, 8, 0, 0 }, { 33, 2, 40, 0, 0 }, { 70, 1, 64, 0, 0 }, { 17, 2, 80, 0, 3 },
    { 20, 1, 160, 0, 0 }, { 300, 2, 64, 77, 0 }, { 9, 1, 512, 13, 0 }, { 37, 3, 40, 50, 5 },
    { 1, 1, 1, 1, 0 }, { 3, 8, 40, 77, 2 }, { 1024, 1, 64, 1000, 0 }, { 19, 1, 40, 4096, 0 },
    { 5, 1, 512, 4096, 0 },
  };
  guint64 range;

  if (loom_test_skip_without_device ())
    return;
  range = loom_device_get_max_binding_range (loom_test_get_device ());
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      /* Offsets 1 and 2 take the rows kernel's scalar loads; heads of 512, whose
       * unrolled kernel is slow to compile on lavapipe, only its vec4 loads. */
      LoomOpCase c = {
        .kind = kind, .rows = shapes[i][0], .cols = shapes[i][1], .inner = shapes[i][2],
        .offset = shapes[i][2] == 512 ? 0 : i % 3, .n_kv = shapes[i][3], .row_pad = shapes[i][4],
      };
      gsize n_kv = c.n_kv != 0 ? c.n_kv : c.rows;
      gsize kv_bytes = ((n_kv - 1) * (c.cols * c.inner + 2 * c.row_pad) + c.cols * c.inner) * 4;

      /* Allowing for the window's alignment (at most 256 bytes). */
      if (kv_bytes + 256 <= range)
        run_case (&c, i);
      else
        g_test_message ("%" G_GSIZE_FORMAT " bytes of keys exceed one window: not run",
                        kv_bytes);
    }
}

/* Keys larger than one binding window fail the command with a message that says so
 * (a critical, hence the subprocess). Only under small windows (test-ops-small-windows):
 * elsewhere the keys would need a tensor of more than 128 MiB. */
static void
test_flash_attention_beyond_window (void)
{
  guint64 range;

  if (loom_test_skip_without_device ())
    return;
  range = loom_device_get_max_binding_range (loom_test_get_device ());
  if (!g_test_subprocess ())
    {
      if (range > (1 << 20))
        {
          g_test_skip ("Runs under LOOM_MAX_BINDING_RANGE=262144 (test-ops-small-windows)");
          return;
        }
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_failed ();
      g_test_trap_assert_stderr ("*Invalid GPU command (flash_attention)*exceed one binding*");
      return;
    }

  {
    /* One query over keys of 64 floats, one more row of them than a window holds. */
    LoomOpCase c = { .kind = LOOM_OP_FLASH_ATTENTION_ROWS, .rows = 1, .cols = 1, .inner = 64,
                     .n_kv = range / 256 + 1 };
    g_autoptr(GError) error = NULL;
    LoomCheck check;

    loom_op_case_run (loom_test_get_device (), &c, 0, &check, &error);
  }
}

/* GEGLU: rows × cols outputs, around the workgroup (64) and as in SD's feed-forward
 * (1280 of 2560). */
static void
test_geglu (void)
{
  static const gsize shapes[][2] = { { 1, 1 }, { 3, 5 }, { 5, 127 }, { 300, 7 }, { 64, 1280 } };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      LoomOpCase c = { LOOM_OP_GEGLU, shapes[i][0], shapes[i][1], 0, i % 3 };
      run_case (&c, i);
    }
}

/* The timestep embedding, against the formula: the UNet's 320 dimensions at t = 0 (all
 * cosines 1, sines 0, so the halves cannot be swapped), 1 and 999 (angles far beyond
 * 2π), and other sizes. */
static void
test_timestep_embedding (void)
{
  static const gsize cases[][2] = { { 320, 0 }, { 320, 1 }, { 320, 999 }, { 2, 500 }, { 1280, 421 } };

  if (loom_test_skip_without_device ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      LoomOpCase c = { LOOM_OP_TIMESTEP_EMBEDDING, 1, cases[i][0], cases[i][1], i % 3 };
      run_case (&c, i);
    }
}

/* Tensors larger than one binding window: each op must split its dispatches. */
static void
test_beyond_binding_range (void)
{
  LoomDeviceInfo *info;
  gsize window;

  if (loom_test_skip_without_device ())
    return;
  info = loom_device_get_info (loom_test_get_device ());
  window = info->max_storage_buffer_range / sizeof (float);
  if ((window + window / 8) * sizeof (float) + 4096 > info->max_allocation_size)
    {
      g_test_skip ("The device cannot allocate a tensor larger than one binding");
      return;
    }

  {
    const gsize big = window + window / 8 + 3;  /* floats: about 144 MiB on lavapipe */
    const gsize k = 4096;
    const LoomOpCase cases[] = {
      { LOOM_OP_ADD, 1, big, 0, 1 },
      { LOOM_OP_GELU_ERF, 1, big, 0, 0 },
      { LOOM_OP_SOFTMAX, big / 4099, 4099, 0, 3 },
      { LOOM_OP_RMS_NORM, big / 4099, 4099, 0, 0 },
      { LOOM_OP_MATVEC, 1, big / k, k, 2 },
      { LOOM_OP_MATVEC_ROWS, 1, big / k, k, 0 },
      { LOOM_OP_MATMUL_TILED, 3, big / k, k, 0 },
      { LOOM_OP_MATMUL_BLOCKED, 5, big / k, k, 1 },
      { LOOM_OP_ADD_CHANNEL, big / 4099, 4099, 0, 1 },
      { LOOM_OP_TRANSPOSE, big / 4099, 4099, 0, 2 },
      { LOOM_OP_UPSAMPLE, 3, 257, big / 4 / 3 / 257, 1 },
      { LOOM_OP_GROUP_NORM_SILU, (big / 4099) & ~(gsize) 1, 4099, (big / 4099) / 2, 3 },
      { LOOM_OP_LAYER_NORM, big / 4099, 4099, 0, 1 },
      { LOOM_OP_GEGLU, big / 8198, 4099, 0, 2 },
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      run_case (&cases[i], i);
  }

  /* Quantized weights of 136 MiB (Q8_0, 34 bytes per 32 values), as the CPU-shaped
   * kernels, which lavapipe runs, read them. */
  {
    const gsize k = 4096;
    const gsize rows = (info->max_storage_buffer_range + info->max_storage_buffer_range / 16)
                       / (k / 32 * 34) + 1;
    const LoomOpCase cases[] = {
      { LOOM_OP_MATVEC_ROWS, 1, rows, k, 1, LOOM_TENSOR_Q8_0 },
      { LOOM_OP_MATMUL_BLOCKED, 3, rows, k, 0, LOOM_TENSOR_Q8_0 },
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      run_case (&cases[i], 100 + i);
  }
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  for (LoomOpKind kind = LOOM_OP_ADD; kind <= LOOM_OP_SWIGLU; kind++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/ops/%s", loom_op_kind_to_string (kind));
      g_test_add_data_func (path, GUINT_TO_POINTER (kind), test_elementwise);
    }
  g_test_add_data_func ("/engine/ops/softmax", GUINT_TO_POINTER (LOOM_OP_SOFTMAX), test_rows);
  g_test_add_data_func ("/engine/ops/rms-norm", GUINT_TO_POINTER (LOOM_OP_RMS_NORM), test_rows);
  g_test_add_data_func ("/engine/ops/bias", GUINT_TO_POINTER (LOOM_OP_BIAS), test_rows);
  g_test_add_data_func ("/engine/ops/rope", GUINT_TO_POINTER (LOOM_OP_ROPE), test_rope);
  g_test_add_data_func ("/engine/ops/rope-neox", GUINT_TO_POINTER (LOOM_OP_ROPE_NEOX), test_rope);
  g_test_add_func ("/engine/ops/kv-store", test_kv_store);
  g_test_add_func ("/engine/ops/attention", test_attention);
  g_test_add_func ("/engine/ops/get-row", test_get_row);
  g_test_add_data_func ("/engine/ops/matvec", GUINT_TO_POINTER (LOOM_OP_MATVEC), test_matvec);
  g_test_add_data_func ("/engine/ops/matvec-rows", GUINT_TO_POINTER (LOOM_OP_MATVEC_ROWS),
                        test_matvec);
  g_test_add_data_func ("/engine/ops/matmul-tiled", GUINT_TO_POINTER (LOOM_OP_MATMUL_TILED),
                        test_matmul);
  g_test_add_data_func ("/engine/ops/matmul-blocked", GUINT_TO_POINTER (LOOM_OP_MATMUL_BLOCKED),
                        test_matmul);
  for (guint t = 0; t < G_N_ELEMENTS (weight_types); t++)
    {
      static TypedTest tests[G_N_ELEMENTS (weight_types)][5];
      static const LoomOpKind kinds[] = {
        LOOM_OP_MATVEC, LOOM_OP_MATVEC_ROWS, LOOM_OP_MATMUL_TILED, LOOM_OP_MATMUL_BLOCKED,
        LOOM_OP_GET_ROW,
      };
      const char *type_name = loom_tensor_type_get_info (weight_types[t])->name;

      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        {
          g_autofree char *path = g_strdup_printf ("/engine/ops/%s/%s",
                                                   loom_op_kind_to_string (kinds[i]), type_name);
          tests[t][i] = (TypedTest) { kinds[i], weight_types[t] };
          g_test_add_data_func (path, &tests[t][i],
                                kinds[i] == LOOM_OP_GET_ROW ? test_typed_get_row
                                : kinds[i] == LOOM_OP_MATVEC || kinds[i] == LOOM_OP_MATVEC_ROWS
                                ? test_typed_matvec : test_typed_matmul);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (conv_tests); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/ops/%s/%s",
                                               loom_op_kind_to_string (conv_tests[i].kind),
                                               loom_tensor_type_get_info (conv_tests[i].type)->name);
      g_test_add_data_func (path, &conv_tests[i], test_conv2d);
    }
  g_test_add_func ("/engine/ops/image-maps", test_image_maps);
  g_test_add_data_func ("/engine/ops/quick-gelu", GUINT_TO_POINTER (LOOM_OP_QUICK_GELU),
                        test_elementwise);
  g_test_add_data_func ("/engine/ops/group-norm", GUINT_TO_POINTER (LOOM_OP_GROUP_NORM),
                        test_group_norm);
  g_test_add_data_func ("/engine/ops/group-norm-silu", GUINT_TO_POINTER (LOOM_OP_GROUP_NORM_SILU),
                        test_group_norm);
  g_test_add_func ("/engine/ops/layer-norm", test_layer_norm);
  g_test_add_data_func ("/engine/ops/flash-attention", GUINT_TO_POINTER (LOOM_OP_FLASH_ATTENTION),
                        test_flash_attention);
  g_test_add_data_func ("/engine/ops/flash-attention-rows",
                        GUINT_TO_POINTER (LOOM_OP_FLASH_ATTENTION_ROWS), test_flash_attention);
  g_test_add_func ("/engine/ops/flash-attention/keys-beyond-window",
                   test_flash_attention_beyond_window);
  g_test_add_func ("/engine/ops/geglu", test_geglu);
  g_test_add_func ("/engine/ops/timestep-embedding", test_timestep_embedding);
  g_test_add_func ("/engine/ops/beyond-binding-range", test_beyond_binding_range);

  return loom_test_run ();
}
