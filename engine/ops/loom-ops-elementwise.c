/* loom-ops-elementwise.c — binary and unary element-wise ops. */
#include "config.h"

#include "loom-ops-private.h"

/* binary.comp and unary.comp: 64 invocations of four elements each. */
#define ELEMENTS_PER_GROUP 256

void
loom_op_binary (LoomCommand *cmd,
                LoomBinaryOp op,
                LoomView     a,
                LoomView     b,
                LoomView     out,
                gsize        n)
{
  LoomPipelineDesc desc = {
    .shader = "binary",
    .n_bindings = 3,
    .push_size = sizeof (LoomBinaryPush),
    .n_spec = 2,
    .spec = { op, FALSE },
  };
  gsize chunk = loom_ops_max_window_elements (cmd, sizeof (float));

  for (gsize first = 0; first < n; first += chunk)
    {
      gsize count = MIN (n - first, chunk);
      LoomBinding bindings[3];
      LoomBinaryPush push = { .n = (guint32) count };
      guint32 gx, gy;

      push.a_base = loom_ops_bind (cmd, &bindings[0], a, first, count, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.b_base = loom_ops_bind (cmd, &bindings[1], b, first, count, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[2], out, first, count, sizeof (float),
                                     LOOM_ACCESS_WRITE);
      desc.spec[1] = (push.a_base | push.b_base | push.out_base) % 4 == 0;
      if (!loom_ops_fold_groups (cmd, (count + ELEMENTS_PER_GROUP - 1) / ELEMENTS_PER_GROUP,
                                 &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

void
loom_op_unary (LoomCommand *cmd,
               LoomUnaryOp  op,
               LoomView     x,
               LoomView     out,
               gsize        n,
               float        scale)
{
  LoomPipelineDesc desc = {
    .shader = "unary",
    .n_bindings = 2,
    .push_size = sizeof (LoomUnaryPush),
    .n_spec = 2,
    .spec = { op, FALSE },
  };
  gsize chunk = loom_ops_max_window_elements (cmd, sizeof (float));

  for (gsize first = 0; first < n; first += chunk)
    {
      gsize count = MIN (n - first, chunk);
      LoomBinding bindings[2];
      LoomUnaryPush push = { .n = (guint32) count, .scale = scale };
      guint32 gx, gy;

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first, count, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[1], out, first, count, sizeof (float),
                                     LOOM_ACCESS_WRITE);
      desc.spec[1] = (push.x_base | push.out_base) % 4 == 0;
      if (!loom_ops_fold_groups (cmd, (count + ELEMENTS_PER_GROUP - 1) / ELEMENTS_PER_GROUP,
                                 &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}
