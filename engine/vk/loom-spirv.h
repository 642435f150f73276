/* loom-spirv.h — just enough SPIR-V reflection to check a shader against its C caller.
 *
 * Push-constant structs in C mirror the GLSL blocks field for field; reflecting the
 * compiled module lets pipeline creation verify the sizes and binding counts agree, so
 * a block edited on one side only fails loudly instead of reading garbage.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint32 push_constant_size;  /* bytes; 0 when the shader has no push constants */
  guint32 n_bindings;          /* storage buffers in descriptor set 0 */
  guint32 binding_mask;        /* bit i set when binding i is used */
  guint32 n_spec_constants;    /* highest SpecId + 1 */
  guint32 local_size[3];       /* from LocalSize; 0 when given by specialization */
} LoomSpirvInfo;

gboolean loom_spirv_reflect (const guint32 *words,
                             gsize          n_words,
                             LoomSpirvInfo *info,
                             GError       **error);

G_END_DECLS
