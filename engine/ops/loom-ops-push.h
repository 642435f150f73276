/* loom-ops-push.h — push-constant structs, field for field as in the GLSL blocks.
 *
 * Pipeline creation reflects each shader and compares its block size with the size
 * given here (see loom-spirv.c); the static asserts pin the layouts on the C side.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* shaders/binary.comp */
typedef struct
{
  guint32 n;
  guint32 a_base;
  guint32 b_base;
  guint32 out_base;
} LoomBinaryPush;
G_STATIC_ASSERT (sizeof (LoomBinaryPush) == 16);

/* shaders/unary.comp */
typedef struct
{
  guint32 n;
  guint32 x_base;
  guint32 out_base;
  float   scale;
} LoomUnaryPush;
G_STATIC_ASSERT (sizeof (LoomUnaryPush) == 16);

/* shaders/softmax.comp and shaders/rms_norm.comp */
typedef struct
{
  guint32 rows;
  guint32 cols;
  guint32 x_base;
  guint32 w_base;
  guint32 out_base;
  float   eps;
} LoomRowsPush;
G_STATIC_ASSERT (sizeof (LoomRowsPush) == 24);

/* shaders/matvec_f32.comp */
typedef struct
{
  guint32 n;
  guint32 k;
  guint32 w_base;
  guint32 x_base;
  guint32 out_base;
} LoomMatvecPush;
G_STATIC_ASSERT (sizeof (LoomMatvecPush) == 20);

/* shaders/matmul_f32.comp */
typedef struct
{
  guint32 m;
  guint32 n;
  guint32 k;
  guint32 ldc;
  guint32 a_base;
  guint32 w_base;
  guint32 c_base;
} LoomMatmulPush;
G_STATIC_ASSERT (sizeof (LoomMatmulPush) == 28);

/* shaders/rope.comp */
typedef struct
{
  guint32 n_tokens;
  guint32 n_heads;
  guint32 head_dim;
  guint32 rope_dim;
  guint32 pos0;
  guint32 x_base;
  guint32 factors_base;
  float   freq_base;
  float   freq_scale;
} LoomRopePush;
G_STATIC_ASSERT (sizeof (LoomRopePush) == 36);

/* shaders/kv_store.comp */
typedef struct
{
  guint32 n_pairs;
  guint32 row_pairs;
  guint32 pos0;
  guint32 src_base;
  guint32 cache_base;
} LoomKvStorePush;
G_STATIC_ASSERT (sizeof (LoomKvStorePush) == 20);

/* shaders/attn_scores.comp and shaders/attn_values.comp */
typedef struct
{
  guint32 n_q;
  guint32 n_heads;
  guint32 n_kv_heads;
  guint32 head_dim;
  guint32 n_keys;
  guint32 pos0;
  guint32 a_base;    /* q (scores) or p (values) */
  guint32 kv_base;
  guint32 out_base;
  float   scale;
} LoomAttentionPush;
G_STATIC_ASSERT (sizeof (LoomAttentionPush) == 40);

/* shaders/attn_online.comp */
typedef struct
{
  guint32 n_q;
  guint32 n_heads;
  guint32 n_kv_heads;
  guint32 pos0;
  guint32 q_base;
  guint32 k_base;
  guint32 v_base;
  guint32 out_base;
  float   scale;
} LoomAttentionOnlinePush;
G_STATIC_ASSERT (sizeof (LoomAttentionOnlinePush) == 36);

/* shaders/get_rows.comp */
typedef struct
{
  guint32 n;
  guint32 src_base;
  guint32 out_base;
} LoomGetRowsPush;
G_STATIC_ASSERT (sizeof (LoomGetRowsPush) == 12);

/* shaders/bias.comp */
typedef struct
{
  guint32 rows;
  guint32 cols;
  guint32 x_base;
  guint32 b_base;
} LoomBiasPush;
G_STATIC_ASSERT (sizeof (LoomBiasPush) == 16);

/* shaders/conv2d.comp */
typedef struct
{
  guint32 c_in;
  guint32 h;
  guint32 w;
  guint32 c_out;
  guint32 h_out;
  guint32 w_out;
  guint32 stride;
  guint32 pad;
  guint32 w_ld;
  guint32 x_base;
  guint32 w_base;
  guint32 b_base;
  guint32 out_base;
  guint32 flags;  /* LOOM_CONV2D_PUSH_BIAS, LOOM_CONV2D_PUSH_ACCUMULATE */
} LoomConv2dPush;
G_STATIC_ASSERT (sizeof (LoomConv2dPush) == 56);

#define LOOM_CONV2D_PUSH_BIAS       1u
#define LOOM_CONV2D_PUSH_ACCUMULATE 2u

/* shaders/upsample_nearest.comp */
typedef struct
{
  guint32 rows;
  guint32 w;
  guint32 x_base;
  guint32 out_base;
} LoomUpsamplePush;
G_STATIC_ASSERT (sizeof (LoomUpsamplePush) == 16);

/* shaders/add_channel.comp */
typedef struct
{
  guint32 n;
  guint32 hw;
  guint32 start;
  guint32 x_base;
  guint32 b_base;
} LoomAddChannelPush;
G_STATIC_ASSERT (sizeof (LoomAddChannelPush) == 20);

/* shaders/transpose.comp */
typedef struct
{
  guint32 rows;
  guint32 cols;
  guint32 x_ld;
  guint32 out_ld;
  guint32 x_base;
  guint32 out_base;
} LoomTransposePush;
G_STATIC_ASSERT (sizeof (LoomTransposePush) == 24);

/* shaders/group_norm.comp */
typedef struct
{
  guint32 groups;
  guint32 group_size;
  guint32 hw;
  guint32 x_base;
  guint32 w_base;
  guint32 b_base;
  guint32 out_base;
  float   eps;
} LoomGroupNormPush;
G_STATIC_ASSERT (sizeof (LoomGroupNormPush) == 32);

/* shaders/layer_norm.comp */
typedef struct
{
  guint32 rows;
  guint32 cols;
  guint32 x_base;
  guint32 w_base;
  guint32 b_base;
  guint32 out_base;
  float   eps;
} LoomLayerNormPush;
G_STATIC_ASSERT (sizeof (LoomLayerNormPush) == 28);

/* shaders/flash_attn.comp and shaders/flash_attn_rows.comp */
typedef struct
{
  guint32 n_q;
  guint32 n_kv;
  guint32 n_heads;
  guint32 q_stride;
  guint32 kv_stride;
  guint32 out_stride;
  guint32 q_base;
  guint32 k_base;
  guint32 v_base;
  guint32 out_base;
  float   scale;
} LoomFlashAttentionPush;
G_STATIC_ASSERT (sizeof (LoomFlashAttentionPush) == 44);

/* shaders/geglu.comp */
typedef struct
{
  guint32 rows;
  guint32 cols;
  guint32 x_base;
  guint32 out_base;
} LoomGegluPush;
G_STATIC_ASSERT (sizeof (LoomGegluPush) == 16);

/* shaders/timestep_embedding.comp */
typedef struct
{
  guint32 half_dim;
  guint32 out_base;
  float   timestep;
} LoomTimestepPush;
G_STATIC_ASSERT (sizeof (LoomTimestepPush) == 12);

G_END_DECLS
