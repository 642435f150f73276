/* loom-ops-image.c — ops on feature maps: convolution, upsampling, per-channel addition
 * and transposition.
 *
 * Feature maps are [C][H][W] f32 and may exceed one binding window (a 128-channel
 * 512×512 map is 128 MiB), so every op here splits its work over windows: by channels,
 * by rows, or by blocks, never assuming that a tensor fits one binding.
 */
#include "config.h"

#include "formats/loom-tensor-type.h"
#include "loom-ops-private.h"
#include "loom-ops-weights.h"
#include "vk/loom-device-private.h"

#define CONV_CHANNELS   64   /* output channels per workgroup, both conv2d kernels */
#define CONV_TILE       64   /* conv2d_<type>: output pixels per workgroup */
#define CONV_SEGMENT    16   /* conv2d_<type>_blocked: output pixels per workgroup, in a row */
#define SIMPLE_GROUP    256  /* upsample_nearest, add_channel: values per workgroup */
#define TRANSPOSE_TILE  32

/* Splits the convolution over windows and records one dispatch per block:
 *   - input channels in chunks of ci_step whose planes fit one window; the chunks after
 *     the first accumulate into out (the bias is added by the first);
 *   - output channels in chunks of co_step whose planes fit one window and whose rows of
 *     W (the chunk's c_in·k² values of each, w_ld = C_in·k² apart) fit one weights window.
 * A single plane of x or of out must fit a window (a 512×512 plane is 1 MiB). */
static void
record_conv2d (LoomCommand      *cmd,
               gboolean          blocked,
               LoomView          x,
               LoomView          weight,
               LoomView         *bias,
               LoomView          out,
               const LoomConv2d *conv)
{
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  gboolean f16 = conv->w_type == LOOM_TENSOR_F16;
  LoomPipelineDesc desc = {
    .shader = blocked ? (f16 ? "conv2d_f16_blocked" : "conv2d_f32_blocked")
                      : (f16 ? "conv2d_f16" : "conv2d_f32"),
    .n_bindings = 4,
    .push_size = sizeof (LoomConv2dPush),
    .n_spec = blocked ? 2 : 1,
    .spec = { conv->kernel, FALSE },
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize w_window = f16 ? loom_weights_max_window (cmd) / 2 : window;  /* values of W */
  gsize kk = (gsize) conv->kernel * conv->kernel;
  gsize k_total = conv->c_in * kk;
  gsize hw = conv->h * conv->w;
  gsize h_out, w_out, hw_out, ci_step, co_step, pixel_groups;

  if (conv->w_type != LOOM_TENSOR_F32 && !f16)
    {
      loom_command_fail (cmd, "conv2d", "no kernel reads weights of type %u", conv->w_type);
      return;
    }
  if (blocked && !loom_weights_cpu_kernels_usable (loom_command_get_device (cmd)))
    {
      loom_command_fail (cmd, "conv2d", "the device lacks subgroups of 8 with ballot");
      return;
    }
  if (conv->kernel == 0 || conv->stride == 0
      || conv->h + 2 * conv->pad + (conv->pad_extra_end ? 1 : 0) < conv->kernel
      || conv->w + 2 * conv->pad + (conv->pad_extra_end ? 1 : 0) < conv->kernel)
    {
      loom_command_fail (cmd, "conv2d", "a %u×%u kernel does not fit a %" G_GSIZE_FORMAT "×%"
                         G_GSIZE_FORMAT " map padded by %u", conv->kernel, conv->kernel,
                         conv->h, conv->w, conv->pad);
      return;
    }
  h_out = loom_conv2d_out_h (conv);
  w_out = loom_conv2d_out_w (conv);
  hw_out = h_out * w_out;
  if (conv->c_in == 0 || conv->c_out == 0 || hw == 0)
    return;
  if (hw > window || hw_out > window || kk > w_window)
    {
      loom_command_fail (cmd, "conv2d", "planes of %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                         " floats exceed one binding", conv->h, conv->w);
      return;
    }
  /* Tiles of pixels: of the map, or of its rows. */
  pixel_groups = blocked ? h_out * ((w_out + CONV_SEGMENT - 1) / CONV_SEGMENT)
                         : (hw_out + CONV_TILE - 1) / CONV_TILE;
  if (!blocked && pixel_groups > info->max_workgroup_count[0])
    {
      loom_command_fail (cmd, "conv2d", "%" G_GSIZE_FORMAT " output pixels do not fit the "
                         "device's grid", hw_out);
      return;
    }

  ci_step = MIN (conv->c_in, MIN (window / hw, w_window / kk));
  if (ci_step > 8 && ci_step < conv->c_in)
    ci_step -= ci_step % 8;  /* chunks of W keep the alignment of its rows (see ALIGNED) */
  co_step = MIN (conv->c_out, window / hw_out);
  co_step = MIN (co_step, (w_window - ci_step * kk) / k_total + 1);
  co_step = MIN (co_step, CONV_CHANNELS * (gsize) info->max_workgroup_count[1]);
  if (co_step > CONV_CHANNELS)
    co_step -= co_step % CONV_CHANNELS;

  for (gsize ci0 = 0; ci0 < conv->c_in; ci0 += ci_step)
    for (gsize co0 = 0; co0 < conv->c_out; co0 += co_step)
      {
        gsize cn = MIN (conv->c_in - ci0, ci_step);
        gsize cc = MIN (conv->c_out - co0, co_step);
        gsize w_first = co0 * k_total + ci0 * kk;
        gsize w_count = (cc - 1) * k_total + cn * kk;
        gsize channel_groups = (cc + CONV_CHANNELS - 1) / CONV_CHANNELS;
        LoomBinding bindings[4];
        guint32 gx, gy;
        LoomConv2dPush push = {
          .c_in = (guint32) cn,
          .h = (guint32) conv->h,
          .w = (guint32) conv->w,
          .c_out = (guint32) cc,
          .h_out = (guint32) h_out,
          .w_out = (guint32) w_out,
          .stride = conv->stride,
          .pad = conv->pad,
          .w_ld = (guint32) k_total,
        };

        push.x_base = loom_ops_bind (cmd, &bindings[0], x, ci0 * hw, cn * hw, sizeof (float),
                                     LOOM_ACCESS_READ);
        if (f16)
          push.w_base = loom_weights_bind (cmd, &bindings[1], weight, w_first * 2, w_count * 2);
        else
          push.w_base = loom_ops_bind (cmd, &bindings[1], weight, w_first, w_count,
                                       sizeof (float), LOOM_ACCESS_READ);
        /* ALIGNED (conv2d_<type>_blocked): every row of W starts on 16 bytes. */
        desc.spec[1] = (push.w_base % (f16 ? 8 : 4)) == 0 && (k_total % (f16 ? 8 : 4)) == 0;
        if (bias != NULL && ci0 == 0)
          {
            push.b_base = loom_ops_bind (cmd, &bindings[2], *bias, co0, cc, sizeof (float),
                                         LOOM_ACCESS_READ);
            push.flags |= LOOM_CONV2D_PUSH_BIAS;
          }
        else
          bindings[2] = bindings[0];  /* unread: the shader declares the binding */
        if (ci0 > 0)
          push.flags |= LOOM_CONV2D_PUSH_ACCUMULATE;
        push.out_base = loom_ops_bind (cmd, &bindings[3], out, co0 * hw_out, cc * hw_out,
                                       sizeof (float),
                                       ci0 > 0 ? LOOM_ACCESS_READ_WRITE : LOOM_ACCESS_WRITE);
        /* conv2d_<type>_blocked takes a folded grid of pixel × channel groups. */
        if (blocked && !loom_ops_fold_groups (cmd, pixel_groups * channel_groups, &gx, &gy))
          return;
        if (!blocked)
          {
            gx = (guint32) pixel_groups;
            gy = (guint32) channel_groups;
          }
        loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
      }
}

void
loom_op_conv2d_tiled (LoomCommand      *cmd,
                      LoomView          x,
                      LoomView          weight,
                      LoomView         *bias,
                      LoomView          out,
                      const LoomConv2d *conv)
{
  record_conv2d (cmd, FALSE, x, weight, bias, out, conv);
}

void
loom_op_conv2d_blocked (LoomCommand      *cmd,
                        LoomView          x,
                        LoomView          weight,
                        LoomView         *bias,
                        LoomView          out,
                        const LoomConv2d *conv)
{
  record_conv2d (cmd, TRUE, x, weight, bias, out, conv);
}

/* The kernel in the device's style: CPU-shaped on lavapipe, shared-memory tiles on GPUs
 * (and on CPU devices without the subgroup operations the CPU-shaped one needs). */
void
loom_op_conv2d (LoomCommand      *cmd,
                LoomView          x,
                LoomView          weight,
                LoomView         *bias,
                LoomView          out,
                const LoomConv2d *conv)
{
  LoomDevice *device = loom_command_get_device (cmd);
  gboolean cpu = loom_device_get_kernel_style (device) == LOOM_KERNELS_CPU
                 && loom_weights_cpu_kernels_usable (device);

  record_conv2d (cmd, cpu, x, weight, bias, out, conv);
}

/* The map as channels·h rows of w values, split at any row: each input row becomes two
 * output rows of 2w. */
void
loom_op_upsample_nearest (LoomCommand *cmd,
                          LoomView     x,
                          LoomView     out,
                          gsize        channels,
                          gsize        h,
                          gsize        w)
{
  const LoomPipelineDesc desc = {
    .shader = "upsample_nearest",
    .n_bindings = 2,
    .push_size = sizeof (LoomUpsamplePush),
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize rows = channels * h;
  gsize rows_per_dispatch;

  if (rows == 0 || w == 0)
    return;
  if (4 * w > window)
    {
      loom_command_fail (cmd, "upsample_nearest", "rows of %" G_GSIZE_FORMAT
                         " floats exceed one binding", 4 * w);
      return;
    }
  rows_per_dispatch = window / (4 * w);

  for (gsize first = 0; first < rows; first += rows_per_dispatch)
    {
      gsize count = MIN (rows - first, rows_per_dispatch);
      LoomBinding bindings[2];
      LoomUpsamplePush push = { .rows = (guint32) count, .w = (guint32) w };
      guint32 gx, gy;

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first * w, count * w, sizeof (float),
                                   LOOM_ACCESS_READ);
      push.out_base = loom_ops_bind (cmd, &bindings[1], out, first * 4 * w, count * 4 * w,
                                     sizeof (float), LOOM_ACCESS_WRITE);
      if (!loom_ops_fold_groups (cmd, (count * 4 * w + SIMPLE_GROUP - 1) / SIMPLE_GROUP, &gx,
                                 &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

/* Split at any value: each dispatch binds the values of b of the planes it touches. */
void
loom_op_add_channel (LoomCommand *cmd,
                     LoomView     x,
                     LoomView     b,
                     gsize        channels,
                     gsize        hw)
{
  const LoomPipelineDesc desc = {
    .shader = "add_channel",
    .n_bindings = 2,
    .push_size = sizeof (LoomAddChannelPush),
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize n = channels * hw;

  for (gsize first = 0; first < n; first += window)
    {
      gsize count = MIN (n - first, window);
      gsize c_first = first / hw, c_last = (first + count - 1) / hw;
      LoomBinding bindings[2];
      LoomAddChannelPush push = {
        .n = (guint32) count,
        .hw = (guint32) hw,
        .start = (guint32) (first - c_first * hw),
      };
      guint32 gx, gy;

      push.x_base = loom_ops_bind (cmd, &bindings[0], x, first, count, sizeof (float),
                                   LOOM_ACCESS_READ_WRITE);
      push.b_base = loom_ops_bind (cmd, &bindings[1], b, c_first, c_last - c_first + 1,
                                   sizeof (float), LOOM_ACCESS_READ);
      if (!loom_ops_fold_groups (cmd, (count + SIMPLE_GROUP - 1) / SIMPLE_GROUP, &gx, &gy))
        return;
      loom_command_dispatch (cmd, &desc, bindings, &push, gx, gy, 1);
    }
}

/* Block sizes along a dimension of a transpose: all of it when the whole matrix fits a
 * window, else at most half a window's worth of whole strides of the other dimension
 * (@other values each) plus one, in whole tiles where that leaves any, and within the
 * device's grid. A block of rn × cn then spans (rn − 1)·cols + cn ≤ window values of x
 * and (cn − 1)·rows + rn of out. */
static gsize
transpose_step (gsize n,
                gsize other,
                gsize window,
                gsize max_groups)
{
  gsize step = MIN (n, (window / 2) / other + 1);

  if (n * other <= window)
    step = n;
  step = MIN (step, TRANSPOSE_TILE * max_groups);
  if (step > TRANSPOSE_TILE)
    step -= step % TRANSPOSE_TILE;
  return step;
}

void
loom_op_transpose (LoomCommand *cmd,
                   LoomView     x,
                   LoomView     out,
                   gsize        rows,
                   gsize        cols)
{
  LoomDeviceInfo *info = loom_device_get_info (loom_command_get_device (cmd));
  const LoomPipelineDesc desc = {
    .shader = "transpose",
    .n_bindings = 2,
    .push_size = sizeof (LoomTransposePush),
  };
  gsize window = loom_ops_max_window_elements (cmd, sizeof (float));
  gsize r_step, c_step;

  if (rows == 0 || cols == 0)
    return;
  if (rows > window / 2 || cols > window / 2)
    {
      loom_command_fail (cmd, "transpose", "rows of %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT
                         " floats exceed one binding", rows, cols);
      return;
    }
  r_step = transpose_step (rows, cols, window, info->max_workgroup_count[1]);
  c_step = transpose_step (cols, rows, window, info->max_workgroup_count[0]);

  for (gsize r0 = 0; r0 < rows; r0 += r_step)
    for (gsize c0 = 0; c0 < cols; c0 += c_step)
      {
        gsize rn = MIN (rows - r0, r_step);
        gsize cn = MIN (cols - c0, c_step);
        LoomBinding bindings[2];
        LoomTransposePush push = {
          .rows = (guint32) rn,
          .cols = (guint32) cn,
          .x_ld = (guint32) cols,
          .out_ld = (guint32) rows,
        };

        push.x_base = loom_ops_bind (cmd, &bindings[0], x, r0 * cols + c0, (rn - 1) * cols + cn,
                                     sizeof (float), LOOM_ACCESS_READ);
        push.out_base = loom_ops_bind (cmd, &bindings[1], out, c0 * rows + r0,
                                       (cn - 1) * rows + rn, sizeof (float), LOOM_ACCESS_WRITE);
        loom_command_dispatch (cmd, &desc, bindings, &push,
                               (guint32) ((cn + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE),
                               (guint32) ((rn + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE), 1);
      }
}
