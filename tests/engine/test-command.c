/* test-command.c — recording, hazard-tracked barriers, descriptor growth, sticky
 * errors and the profiler. Synchronization validation (on in tests) would report any
 * barrier the tracker wrongly leaves out; these tests also check it adds no needless
 * ones. */
#include "config.h"

#include <string.h>

#include "loom-test-util.h"

#define N 1000

static LoomBuffer *
upload (LoomDevice  *device,
        const float *values,
        gsize        n)
{
  g_autoptr(GError) error = NULL;
  LoomBuffer *buffer = loom_buffer_new (device, n * sizeof (float), &error);

  g_assert_no_error (error);
  if (values != NULL)
    g_assert_true (loom_buffer_write (buffer, 0, values, n * sizeof (float), &error));
  g_assert_no_error (error);
  return buffer;
}

static void
download (LoomBuffer *buffer,
          gsize       offset,
          float      *values,
          gsize       n)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (loom_buffer_read (buffer, offset * sizeof (float), values, n * sizeof (float),
                                   &error));
  g_assert_no_error (error);
}

static void
scale (LoomCommand *cmd,
       LoomBuffer  *x,
       gsize        x_offset,
       LoomBuffer  *y,
       gsize        y_offset,
       float        s)
{
  loom_op_unary (cmd, LOOM_UNARY_SCALE, loom_view (x, x_offset * sizeof (float)),
                 loom_view (y, y_offset * sizeof (float)), N, s);
}

static void
ramp (float *values,
      gsize  n,
      float  start)
{
  for (gsize i = 0; i < n; i++)
    values[i] = start + (float) i;
}

static void
test_barriers (void)
{
  LoomDevice *device;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomCommand) cmd = NULL;
  g_autoptr(LoomBuffer) x = NULL, y = NULL, z = NULL, wide = NULL;
  float host[N], got[N];

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();
  ramp (host, N, 1.0f);
  x = upload (device, host, N);
  y = upload (device, NULL, N);
  z = upload (device, NULL, N);
  wide = upload (device, NULL, 2 * N);
  cmd = loom_command_new (device, &error);
  g_assert_no_error (error);

  /* Two reads of x writing different buffers: independent, no barrier. */
  scale (cmd, x, 0, y, 0, 2.0f);
  scale (cmd, x, 0, z, 0, 3.0f);
  g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, 0);
  /* Read after write: z = y · 5 must see y. */
  scale (cmd, y, 0, z, 0, 5.0f);
  g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, 1);
  /* Write after read: overwriting y, which the last dispatch reads. */
  scale (cmd, x, 0, y, 0, 7.0f);
  g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, 2);
  /* Disjoint halves of one buffer: no barrier between them. */
  scale (cmd, x, 0, wide, 0, 1.0f);
  scale (cmd, x, 0, wide, N, -1.0f);
  g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, 2);
  g_assert_cmpuint (loom_command_get_n_recorded (cmd), ==, 6);
  g_assert_true (loom_command_submit (cmd, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (loom_command_get_n_recorded (cmd), ==, 0);

  download (z, 0, got, N);
  for (gsize i = 0; i < N; i++)
    g_assert_cmpfloat (got[i], ==, host[i] * 2.0f * 5.0f);
  download (y, 0, got, N);
  for (gsize i = 0; i < N; i++)
    g_assert_cmpfloat (got[i], ==, host[i] * 7.0f);
  download (wide, N, got, N);
  for (gsize i = 0; i < N; i++)
    g_assert_cmpfloat (got[i], ==, -host[i]);

  /* A fill, then a dispatch reading what it filled. */
  loom_command_fill (cmd, y, 0, N * sizeof (float), 0x40000000u);  /* 2.0f */
  scale (cmd, y, 0, z, 0, 0.5f);
  g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, 1);
  g_assert_true (loom_command_submit (cmd, &error));
  download (z, 0, got, N);
  for (gsize i = 0; i < N; i++)
    g_assert_cmpfloat (got[i], ==, 1.0f);
}

/* Far more dispatches than one descriptor pool holds, in one command buffer, each
 * depending on the one before. */
static void
test_long_chain (void)
{
  const guint steps = 1000;
  LoomDevice *device;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomCommand) cmd = NULL;
  g_autoptr(LoomBuffer) acc = NULL, one = NULL;
  float host[N], ones[N], got[N];

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();
  ramp (host, N, 0.0f);
  for (gsize i = 0; i < N; i++)
    ones[i] = 1.0f;
  acc = upload (device, host, N);
  one = upload (device, ones, N);
  cmd = loom_command_new (device, &error);
  g_assert_no_error (error);

  for (guint s = 0; s < steps; s++)
    loom_op_binary (cmd, LOOM_BINARY_ADD, loom_view (acc, 0), loom_view (one, 0),
                    loom_view (acc, 0), N);
  g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, steps - 1);
  g_assert_true (loom_command_submit (cmd, &error));
  g_assert_no_error (error);

  download (acc, 0, got, N);
  for (gsize i = 0; i < N; i++)
    g_assert_cmpfloat (got[i], ==, host[i] + steps);

  /* The command is reusable after a submit. */
  loom_op_binary (cmd, LOOM_BINARY_ADD, loom_view (acc, 0), loom_view (one, 0),
                  loom_view (acc, 0), N);
  g_assert_true (loom_command_submit (cmd, &error));
  download (acc, 0, got, 1);
  g_assert_cmpfloat (got[0], ==, steps + 1);
}

/* A recording error (here a shader that does not exist) is kept and returned by the
 * submit; nothing runs, and the command works again afterwards. */
static void
test_sticky_error (void)
{
  LoomDevice *device;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomCommand) cmd = NULL;
  g_autoptr(LoomBuffer) x = NULL, y = NULL;
  float host[N], got[N];
  const LoomPipelineDesc missing = { .shader = "missing", .n_bindings = 2, .push_size = 16 };
  guint32 push[4] = { 0 };
  LoomBinding bindings[2];

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();
  ramp (host, N, 1.0f);
  x = upload (device, host, N);
  y = upload (device, host, N);
  cmd = loom_command_new (device, &error);
  g_assert_no_error (error);

  bindings[0] = (LoomBinding) { x, 0, N * sizeof (float), LOOM_ACCESS_READ };
  bindings[1] = (LoomBinding) { y, 0, N * sizeof (float), LOOM_ACCESS_WRITE };
  scale (cmd, x, 0, y, 0, 0.0f);
  loom_command_dispatch (cmd, &missing, bindings, push, 1, 1, 1);
  scale (cmd, x, 0, y, 0, 0.0f);
  g_assert_false (loom_command_submit (cmd, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_SHADER);
  g_clear_error (&error);

  /* Nothing of the failed recording ran: y still holds its upload. */
  download (y, 0, got, N);
  g_assert_cmpmem (got, sizeof got, host, sizeof host);

  scale (cmd, x, 0, y, 0, 2.0f);
  g_assert_true (loom_command_submit (cmd, &error));
  g_assert_no_error (error);
  download (y, 0, got, N);
  g_assert_cmpfloat (got[N - 1], ==, 2.0f * host[N - 1]);
}

/* Binding a window at an offset the device does not allow is a programmer error: a
 * critical (fatal in tests, so the subprocess aborts; elsewhere the next submit would
 * return the error, as test_sticky_error shows for recording errors). */
static void
test_misaligned_binding (void)
{
  if (loom_test_skip_without_device ())
    return;
  if (loom_device_get_info (loom_test_get_device ())->min_storage_offset_alignment == 1)
    {
      g_test_skip ("The device accepts bindings at any offset");
      return;
    }
  if (g_test_subprocess ())
    {
      LoomDevice *device = loom_test_get_device ();
      g_autoptr(LoomBuffer) x = upload (device, NULL, N);
      g_autoptr(LoomCommand) cmd = loom_command_new (device, NULL);
      const LoomPipelineDesc desc = {
        .shader = "unary", .n_bindings = 2, .push_size = sizeof (LoomUnaryPush),
        .n_spec = 2,
      };
      LoomUnaryPush push = { .n = 4 };
      LoomBinding bindings[2] = {
        { x, 2, 16, LOOM_ACCESS_READ },  /* alignments are powers of two, here at least 2 */
        { x, 0, 16, LOOM_ACCESS_WRITE },
      };
      loom_command_dispatch (cmd, &desc, bindings, &push, 1, 1, 1);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*Invalid GPU command*not a multiple*");
}

/* With LOOM_PROFILE=1 each operation is timed and serialized, and the device reports a
 * table by operation. */
static void
test_profiler (void)
{
  if (!g_test_subprocess ())
    {
      if (loom_test_skip_without_device ())
        return;
      if (!loom_device_info_get_supports_timestamps (loom_device_get_info (loom_test_get_device ())))
        {
          g_test_skip ("The device has no timestamps");
          return;
        }
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stderr ("*Loom GPU profile*unary[0,1]*copy*");
      return;
    }

  g_setenv ("LOOM_PROFILE", "1", TRUE);
  {
    g_autoptr(GError) error = NULL;
    LoomDevice *device = loom_device_new (NULL, &error);
    g_autoptr(LoomCommand) cmd = NULL;
    g_autoptr(LoomBuffer) x = NULL, y = NULL, z = NULL;
    g_autofree char *table = NULL;
    float host[N];

    g_assert_no_error (error);
    ramp (host, N, 0.0f);
    x = upload (device, host, N);
    y = upload (device, NULL, N);
    z = upload (device, NULL, N);
    cmd = loom_command_new (device, &error);

    scale (cmd, x, 0, y, 0, 2.0f);
    scale (cmd, x, 0, z, 0, 3.0f);
    loom_command_copy (cmd, x, 0, z, 0, 16);
    /* Independent as these are, profiling puts a barrier between each. */
    g_assert_cmpuint (loom_command_get_n_barriers (cmd), ==, 2);
    g_assert_true (loom_command_submit (cmd, &error));

    table = loom_device_dup_profile_table (device);
    g_assert_nonnull (strstr (table, "unary[0,1]"));
    g_assert_nonnull (strstr (table, "copy"));

    g_clear_pointer (&cmd, loom_command_free);
    g_clear_pointer (&x, loom_buffer_free);
    g_clear_pointer (&y, loom_buffer_free);
    g_clear_pointer (&z, loom_buffer_free);
    /* Closing the device prints the table. */
    g_assert_finalize_object (device);
  }
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/command/barriers", test_barriers);
  g_test_add_func ("/engine/command/long-chain", test_long_chain);
  g_test_add_func ("/engine/command/sticky-error", test_sticky_error);
  g_test_add_func ("/engine/command/misaligned-binding", test_misaligned_binding);
  g_test_add_func ("/engine/command/profiler", test_profiler);

  return loom_test_run ();
}
