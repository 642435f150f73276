/* loom-pipeline.c — shader module, layouts and compute pipeline for one LoomPipelineDesc. */
#include "config.h"

#include <string.h>

#include "loom-device-private.h"
#include "loom-pipeline.h"
#include "loom-shaders.h"
#include "loom-spirv.h"
#include "loom-vk-error.h"

#define SHADER_RESOURCE_PATH "/io/github/candorapp/Loom/shaders/"

struct _LoomPipeline
{
  LoomDevice           *device;   /* unowned: the device owns its pipelines */
  LoomPipelineDesc      desc;     /* desc.shader points at shader_name */
  char                 *shader_name;
  char                 *label;    /* for the profiler, e.g. "unary[2]" */
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout      layout;
  VkPipeline            handle;
};

/* Returns the SPIR-V of a bundled shader. */
GBytes *
loom_shader_lookup (const char *shader,
                    GError    **error)
{
  g_autofree char *path = g_strconcat (SHADER_RESOURCE_PATH, shader, ".spv", NULL);
  GBytes *bytes = g_resource_lookup_data (loom_shaders_get_resource (), path,
                                          G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  if (bytes == NULL)
    g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER,
                 "The shader “%s” is not bundled with this build of Loom", shader);
  return bytes;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Returns the names of every bundled shader, sorted; free with g_strfreev(). */
char **
loom_shader_list (void)
{
  g_auto(GStrv) files = g_resource_enumerate_children (loom_shaders_get_resource (),
                                                       SHADER_RESOURCE_PATH,
                                                       G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; files != NULL && files[i] != NULL; i++)
    if (g_str_has_suffix (files[i], ".spv"))
      g_ptr_array_add (names, g_strndup (files[i], strlen (files[i]) - 4));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static char *
make_label (const LoomPipelineDesc *desc)
{
  GString *label = g_string_new (desc->shader);

  if (desc->n_spec > 0)
    {
      g_string_append_c (label, '[');
      for (guint i = 0; i < desc->n_spec; i++)
        g_string_append_printf (label, "%s%u", i > 0 ? "," : "", desc->spec[i]);
      g_string_append_c (label, ']');
    }
  return g_string_free (label, FALSE);
}

static gboolean
check_interface (const LoomPipelineDesc *desc,
                 const LoomSpirvInfo    *info,
                 GError                **error)
{
  if (info->push_constant_size != desc->push_size)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER,
                   "Shader “%s” declares %u bytes of push constants, but its C struct has %u",
                   desc->shader, info->push_constant_size, desc->push_size);
      return FALSE;
    }
  if (info->n_bindings != desc->n_bindings)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER,
                   "Shader “%s” binds %u storage buffers, but its caller passes %u",
                   desc->shader, info->n_bindings, desc->n_bindings);
      return FALSE;
    }
  if (info->n_spec_constants != desc->n_spec)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER,
                   "Shader “%s” has %u specialization constants, but its caller sets %u",
                   desc->shader, info->n_spec_constants, desc->n_spec);
      return FALSE;
    }
  return TRUE;
}

LoomPipeline *
loom_pipeline_new (LoomDevice             *device,
                   const LoomPipelineDesc *desc,
                   GError                **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree guint32 *words = NULL;
  LoomPipeline *self;
  LoomSpirvInfo info;
  VkDevice vk_device = loom_device_get_handle (device);
  VkDescriptorSetLayoutBinding bindings[LOOM_MAX_BINDINGS];
  VkSpecializationMapEntry entries[LOOM_MAX_SPEC_CONSTANTS];
  VkShaderModule module = VK_NULL_HANDLE;
  gsize size;
  VkResult result;

  g_return_val_if_fail (desc->n_bindings <= LOOM_MAX_BINDINGS, NULL);
  g_return_val_if_fail (desc->n_spec <= LOOM_MAX_SPEC_CONSTANTS, NULL);

  bytes = loom_shader_lookup (desc->shader, error);
  if (bytes == NULL)
    return NULL;
  size = g_bytes_get_size (bytes);
  if (size % 4 != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER,
                   "The SPIR-V of shader “%s” is not a whole number of words", desc->shader);
      return NULL;
    }
  /* A copy guarantees the 4-byte alignment Vulkan requires of pCode. */
  words = g_memdup2 (g_bytes_get_data (bytes, NULL), size);

  if (!loom_spirv_reflect (words, size / 4, &info, error))
    {
      g_prefix_error (error, "Shader “%s”: ", desc->shader);
      return NULL;
    }
  if (!check_interface (desc, &info, error))
    return NULL;
  if (desc->push_size > loom_device_get_info (device)->max_push_constants_size)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER,
                   "Shader “%s” needs %u bytes of push constants; the device offers %u",
                   desc->shader, desc->push_size,
                   loom_device_get_info (device)->max_push_constants_size);
      return NULL;
    }

  self = g_new0 (LoomPipeline, 1);
  self->device = device;
  self->shader_name = g_strdup (desc->shader);
  self->desc = *desc;
  self->desc.shader = self->shader_name;
  self->label = make_label (desc);

  for (guint i = 0; i < desc->n_bindings; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  result = vkCreateDescriptorSetLayout (vk_device, &(VkDescriptorSetLayoutCreateInfo) {
                                          .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = desc->n_bindings,
                                          .pBindings = bindings,
                                        }, NULL, &self->set_layout);
  if (!loom_vk_check (result, "Creating a descriptor set layout", error))
    goto fail;

  result = vkCreatePipelineLayout (vk_device, &(VkPipelineLayoutCreateInfo) {
                                     .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &self->set_layout,
                                     .pushConstantRangeCount = desc->push_size > 0 ? 1 : 0,
                                     .pPushConstantRanges = &(VkPushConstantRange) {
                                       .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
                                       .offset = 0,
                                       .size = desc->push_size,
                                     },
                                   }, NULL, &self->layout);
  if (!loom_vk_check (result, "Creating a pipeline layout", error))
    goto fail;

  result = vkCreateShaderModule (vk_device, &(VkShaderModuleCreateInfo) {
                                   .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = size,
                                   .pCode = words,
                                 }, NULL, &module);
  if (!loom_vk_check (result, "Creating a shader module", error))
    goto fail;

  for (guint i = 0; i < desc->n_spec; i++)
    entries[i] = (VkSpecializationMapEntry) {
      .constantID = i,
      .offset = i * sizeof (guint32),
      .size = sizeof (guint32),
    };

  result = vkCreateComputePipelines (vk_device, loom_device_get_pipeline_cache (device), 1,
                                     &(VkComputePipelineCreateInfo) {
                                       .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                                       .stage = {
                                         .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                                         .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                                         .module = module,
                                         .pName = "main",
                                         .pSpecializationInfo = &(VkSpecializationInfo) {
                                           .mapEntryCount = desc->n_spec,
                                           .pMapEntries = entries,
                                           .dataSize = desc->n_spec * sizeof (guint32),
                                           .pData = desc->spec,
                                         },
                                       },
                                       .layout = self->layout,
                                     }, NULL, &self->handle);
  vkDestroyShaderModule (vk_device, module, NULL);
  if (!loom_vk_check (result, "Compiling a compute pipeline", error))
    {
      g_prefix_error (error, "Shader “%s”: ", desc->shader);
      goto fail;
    }

  return self;

fail:
  loom_pipeline_free (self);
  return NULL;
}

void
loom_pipeline_free (LoomPipeline *self)
{
  VkDevice vk_device;

  if (self == NULL)
    return;
  vk_device = loom_device_get_handle (self->device);
  if (self->handle != VK_NULL_HANDLE)
    vkDestroyPipeline (vk_device, self->handle, NULL);
  if (self->layout != VK_NULL_HANDLE)
    vkDestroyPipelineLayout (vk_device, self->layout, NULL);
  if (self->set_layout != VK_NULL_HANDLE)
    vkDestroyDescriptorSetLayout (vk_device, self->set_layout, NULL);
  g_free (self->label);
  g_free (self->shader_name);
  g_free (self);
}

const LoomPipelineDesc *
loom_pipeline_get_desc (LoomPipeline *self)
{
  return &self->desc;
}

const char *
loom_pipeline_get_label (LoomPipeline *self)
{
  return self->label;
}

VkPipeline
loom_pipeline_get_handle (LoomPipeline *self)
{
  return self->handle;
}

VkPipelineLayout
loom_pipeline_get_layout (LoomPipeline *self)
{
  return self->layout;
}

VkDescriptorSetLayout
loom_pipeline_get_set_layout (LoomPipeline *self)
{
  return self->set_layout;
}

guint
loom_pipeline_desc_hash (gconstpointer data)
{
  const LoomPipelineDesc *desc = data;
  guint hash = g_str_hash (desc->shader);

  hash = hash * 31 + desc->n_spec;
  for (guint i = 0; i < desc->n_spec; i++)
    hash = hash * 31 + desc->spec[i];
  return hash;
}

gboolean
loom_pipeline_desc_equal (gconstpointer a,
                          gconstpointer b)
{
  const LoomPipelineDesc *x = a, *y = b;

  return strcmp (x->shader, y->shader) == 0
         && x->n_bindings == y->n_bindings
         && x->push_size == y->push_size
         && x->n_spec == y->n_spec
         && memcmp (x->spec, y->spec, x->n_spec * sizeof (guint32)) == 0;
}
