/* loom-spirv.c — a bounds-checked walk over a SPIR-V module.
 *
 * Only what pipeline creation checks is extracted: the push-constant block size, the
 * storage-buffer bindings of set 0, the specialization constant ids and the local size.
 * Layout rules follow the SPIR-V specification, section 2.3 (physical layout).
 */
#include "config.h"

#include "loom-error.h"
#include "loom-spirv.h"

#define SPIRV_MAGIC 0x07230203u

enum
{
  OP_EXECUTION_MODE = 16,
  OP_TYPE_BOOL = 20,
  OP_TYPE_INT = 21,
  OP_TYPE_FLOAT = 22,
  OP_TYPE_VECTOR = 23,
  OP_TYPE_ARRAY = 28,
  OP_TYPE_RUNTIME_ARRAY = 29,
  OP_TYPE_STRUCT = 30,
  OP_TYPE_POINTER = 32,
  OP_CONSTANT = 43,
  OP_VARIABLE = 59,
  OP_DECORATE = 71,
  OP_MEMBER_DECORATE = 72,
};

enum
{
  DECORATION_SPEC_ID = 1,
  DECORATION_ARRAY_STRIDE = 6,
  DECORATION_BINDING = 33,
  DECORATION_DESCRIPTOR_SET = 34,
  DECORATION_OFFSET = 35,
};

enum
{
  STORAGE_CLASS_UNIFORM = 2,
  STORAGE_CLASS_PUSH_CONSTANT = 9,
  STORAGE_CLASS_STORAGE_BUFFER = 12,
};

enum
{
  EXECUTION_MODE_LOCAL_SIZE = 17,
};

/* What the walk records per result id. Ids are bounded by the module's header. */
typedef struct
{
  guint16 opcode;
  guint16 count;        /* words in the instruction */
  guint32 offset;       /* word index of the instruction */
  guint32 binding;      /* G_MAXUINT32 when undecorated */
  guint32 set;
  guint32 array_stride;
  gint32  spec_id;      /* -1 when undecorated */
} IdInfo;

/* Word @index of the instruction defining @id, or G_MAXUINT32 when it has no such
 * word: a corrupt module must not make us read past its instruction. */
static guint32
word_of (const guint32 *words,
         const IdInfo  *ids,
         guint32        id,
         guint          index)
{
  if (index >= ids[id].count)
    return G_MAXUINT32;
  return words[ids[id].offset + index];
}

static gboolean
fail (GError   **error,
      const char *message)
{
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_SHADER, "Invalid SPIR-V module: %s", message);
  return FALSE;
}

/* Size in bytes of a type used in a push-constant block, or 0 when unsupported. */
static guint32
type_size (const guint32 *words,
           const IdInfo  *ids,
           guint32        bound,
           guint32        type_id,
           guint          depth)
{
  if (type_id >= bound || ids[type_id].offset == 0 || depth > 8)
    return 0;

  switch (ids[type_id].opcode)
    {
    case OP_TYPE_BOOL:
      return 4;
    case OP_TYPE_INT:
    case OP_TYPE_FLOAT:
      {
        guint32 width = word_of (words, ids, type_id, 2);
        return width == 16 || width == 32 || width == 64 ? width / 8 : 0;
      }
    case OP_TYPE_VECTOR:
      {
        guint32 n = word_of (words, ids, type_id, 3);
        return n >= 2 && n <= 4 ? type_size (words, ids, bound, word_of (words, ids, type_id, 2),
                                             depth + 1) * n
                                : 0;
      }
    case OP_TYPE_ARRAY:
      {
        guint32 length_id = word_of (words, ids, type_id, 3);
        guint32 length;
        if (length_id >= bound || ids[length_id].opcode != OP_CONSTANT)
          return 0;
        length = word_of (words, ids, length_id, 3);
        if (length == G_MAXUINT32 || length > 4096 || ids[type_id].array_stride > 4096)
          return 0;
        return ids[type_id].array_stride * length;
      }
    default:
      return 0;
    }
}

gboolean
loom_spirv_reflect (const guint32 *words,
                    gsize          n_words,
                    LoomSpirvInfo *info,
                    GError       **error)
{
  g_autofree IdInfo *ids = NULL;
  g_autofree guint32 *member_offsets = NULL;
  guint32 bound;
  gsize pos;
  guint32 push_struct = 0;

  *info = (LoomSpirvInfo) { 0 };

  if (n_words < 5 || words[0] != SPIRV_MAGIC)
    return fail (error, "bad header");
  bound = words[3];
  /* Every id is defined by an instruction of at least two words, but optimizers leave
   * gaps: glslc -O's unrolled kernels have bounds up to twice their word count. */
  if (bound == 0 || bound / 8 > n_words || bound > (1u << 22))
    return fail (error, "implausible id bound");

  ids = g_new0 (IdInfo, bound);
  for (guint32 i = 0; i < bound; i++)
    {
      ids[i].binding = G_MAXUINT32;
      ids[i].set = G_MAXUINT32;
      ids[i].spec_id = -1;
    }

  /* First pass: record where each result id is defined, and decorations. */
  for (pos = 5; pos < n_words;)
    {
      guint16 opcode = words[pos] & 0xffff;
      guint16 count = words[pos] >> 16;
      const guint32 *inst = words + pos;
      guint32 result = G_MAXUINT32;

      if (count == 0 || pos + count > n_words)
        return fail (error, "truncated instruction");

      switch (opcode)
        {
        case OP_TYPE_BOOL:
        case OP_TYPE_INT:
        case OP_TYPE_FLOAT:
        case OP_TYPE_VECTOR:
        case OP_TYPE_ARRAY:
        case OP_TYPE_RUNTIME_ARRAY:
        case OP_TYPE_STRUCT:
        case OP_TYPE_POINTER:
          if (count >= 2)
            result = inst[1];
          break;
        case OP_CONSTANT:
        case OP_VARIABLE:
          if (count >= 3)
            result = inst[2];
          break;
        case OP_DECORATE:
          if (count >= 4 && inst[1] < bound)
            {
              switch (inst[2])
                {
                case DECORATION_BINDING:
                  ids[inst[1]].binding = inst[3];
                  break;
                case DECORATION_DESCRIPTOR_SET:
                  ids[inst[1]].set = inst[3];
                  break;
                case DECORATION_ARRAY_STRIDE:
                  ids[inst[1]].array_stride = inst[3];
                  break;
                case DECORATION_SPEC_ID:
                  ids[inst[1]].spec_id = (gint32) MIN (inst[3], (guint32) G_MAXINT32);
                  break;
                default:
                  break;
                }
            }
          break;
        case OP_EXECUTION_MODE:
          if (count >= 6 && inst[2] == EXECUTION_MODE_LOCAL_SIZE)
            {
              info->local_size[0] = inst[3];
              info->local_size[1] = inst[4];
              info->local_size[2] = inst[5];
            }
          break;
        default:
          break;
        }

      if (result != G_MAXUINT32)
        {
          if (result >= bound)
            return fail (error, "result id out of bounds");
          ids[result].opcode = opcode;
          ids[result].count = count;
          ids[result].offset = (guint32) pos;
        }
      pos += count;
    }

  /* Second pass: variables in the interfaces we check. */
  for (guint32 id = 0; id < bound; id++)
    {
      guint32 pointer_type, storage_class;

      if (ids[id].spec_id >= 0)
        {
          if (ids[id].spec_id >= 64)
            return fail (error, "specialization constant id out of range");
          info->n_spec_constants = MAX (info->n_spec_constants, (guint32) ids[id].spec_id + 1);
        }

      if (ids[id].opcode != OP_VARIABLE)
        continue;
      pointer_type = word_of (words, ids, id, 1);
      storage_class = word_of (words, ids, id, 3);

      if (storage_class == STORAGE_CLASS_PUSH_CONSTANT)
        {
          if (pointer_type >= bound || ids[pointer_type].opcode != OP_TYPE_POINTER)
            return fail (error, "push constant variable without a pointer type");
          push_struct = word_of (words, ids, pointer_type, 3);
          if (push_struct >= bound || ids[push_struct].opcode != OP_TYPE_STRUCT)
            return fail (error, "push constant block is not a struct");
        }
      else if (storage_class == STORAGE_CLASS_UNIFORM)
        return fail (error, "uniform blocks are not supported; Loom binds storage buffers");
      else if (storage_class == STORAGE_CLASS_STORAGE_BUFFER)
        {
          if (ids[id].set != 0)
            return fail (error, "Loom shaders use descriptor set 0 only");
          if (ids[id].binding >= 32)
            return fail (error, "binding number out of range");
          info->binding_mask |= 1u << ids[id].binding;
        }
    }

  if (info->binding_mask != 0)
    {
      info->n_bindings = 32 - (guint32) __builtin_clz (info->binding_mask);
      if (info->binding_mask != (info->n_bindings == 32 ? G_MAXUINT32
                                                        : (1u << info->n_bindings) - 1))
        return fail (error, "bindings are not numbered 0..n-1 without gaps");
    }

  if (push_struct != 0)
    {
      const guint32 *st = words + ids[push_struct].offset;
      guint32 n_members = ids[push_struct].count - 2;

      member_offsets = g_new0 (guint32, MAX (n_members, 1));
      for (guint32 m = 0; m < n_members; m++)
        member_offsets[m] = G_MAXUINT32;

      for (pos = 5; pos < n_words; pos += words[pos] >> 16)
        {
          const guint32 *inst = words + pos;
          if ((inst[0] & 0xffff) == OP_MEMBER_DECORATE && (inst[0] >> 16) >= 5
              && inst[1] == push_struct && inst[3] == DECORATION_OFFSET && inst[2] < n_members)
            member_offsets[inst[2]] = inst[4];
        }

      for (guint32 m = 0; m < n_members; m++)
        {
          guint32 size = type_size (words, ids, bound, st[2 + m], 0);
          if (size == 0 || member_offsets[m] > 4096)
            return fail (error, "push constant member of an unsupported type or offset");
          info->push_constant_size = MAX (info->push_constant_size, member_offsets[m] + size);
        }
    }

  return TRUE;
}
