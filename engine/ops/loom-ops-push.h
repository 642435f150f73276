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

G_END_DECLS
