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

G_END_DECLS
