/* loom-pipeline.h — a compute pipeline made from one bundled shader.
 *
 * A LoomPipelineDesc names the shader, its specialization constants (ids 0..n-1, all
 * 32-bit) and the interface the C side expects: how many storage buffers it binds and
 * the size of its push-constant struct. Pipelines are created on first use and cached by
 * the device; the interface is checked against the compiled SPIR-V.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <vulkan/vulkan.h>

#include "loom-types.h"

G_BEGIN_DECLS

#define LOOM_MAX_SPEC_CONSTANTS 8
#define LOOM_MAX_BINDINGS       8

typedef struct
{
  const char *shader;                          /* bundled name, e.g. "softmax" */
  guint32     n_bindings;                      /* storage buffers, bindings 0..n-1 */
  guint32     push_size;                       /* sizeof the C push-constant struct */
  guint32     n_spec;
  guint32     spec[LOOM_MAX_SPEC_CONSTANTS];   /* specialization constant values */
} LoomPipelineDesc;

LoomPipeline          *loom_pipeline_new            (LoomDevice             *device,
                                                     const LoomPipelineDesc *desc,
                                                     GError                **error);
void                   loom_pipeline_free           (LoomPipeline           *self);
const LoomPipelineDesc *loom_pipeline_get_desc      (LoomPipeline           *self);
const char            *loom_pipeline_get_label      (LoomPipeline           *self);
VkPipeline             loom_pipeline_get_handle     (LoomPipeline           *self);
VkPipelineLayout       loom_pipeline_get_layout     (LoomPipeline           *self);
VkDescriptorSetLayout  loom_pipeline_get_set_layout (LoomPipeline           *self);

guint                  loom_pipeline_desc_hash      (gconstpointer           desc);
gboolean               loom_pipeline_desc_equal     (gconstpointer           a,
                                                     gconstpointer           b);

GBytes                *loom_shader_lookup           (const char             *shader,
                                                     GError                **error);
char                 **loom_shader_list             (void);

G_END_DECLS
