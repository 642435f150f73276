/* test-buffer.c — GPU memory: round trips, sizes past one binding, allocation errors.
 *
 * Runs twice (see meson.build): on the device's own memory path, and with
 * LOOM_FORCE_STAGING=1, the staging path of a discrete GPU. */
#include "config.h"

#include <string.h>

#include "loom-test-util.h"

static void
test_round_trip (void)
{
  LoomDevice *device;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomBuffer) buffer = NULL;
  const gsize sizes[] = { 1, 3, 4, 1000, 65537, 3u << 20 };

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      gsize size = sizes[s];
      g_autofree guint8 *data = g_malloc (size);
      g_autofree guint8 *back = g_malloc0 (size);

      for (gsize i = 0; i < size; i++)
        data[i] = (guint8) (i * 131 + s);
      g_clear_pointer (&buffer, loom_buffer_free);
      buffer = loom_buffer_new (device, size, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (loom_buffer_get_size (buffer), >=, size);

      g_assert_true (loom_buffer_write (buffer, 0, data, size, &error));
      g_assert_no_error (error);
      g_assert_true (loom_buffer_read (buffer, 0, back, size, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (data, size, back, size);

      /* A partial write in the middle leaves the rest alone. */
      if (size >= 8)
        {
          const guint8 patch[3] = { 0xaa, 0xbb, 0xcc };
          g_assert_true (loom_buffer_write (buffer, size / 2, patch, sizeof patch, &error));
          memcpy (data + size / 2, patch, sizeof patch);
          g_assert_true (loom_buffer_read (buffer, 0, back, size, &error));
          g_assert_cmpmem (data, size, back, size);
        }
    }

  if (g_getenv ("LOOM_FORCE_STAGING") != NULL)
    g_assert_null (loom_buffer_get_mapped (buffer));
}

/* A buffer larger than one storage-buffer binding (128 MiB on lavapipe) and larger than
 * one staging chunk: written and read whole, and copied on the GPU. */
static void
test_beyond_binding_range (void)
{
  LoomDevice *device;
  LoomDeviceInfo *info;
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomBuffer) a = NULL, b = NULL;
  g_autoptr(LoomCommand) cmd = NULL;
  g_autofree guint32 *data = NULL, *back = NULL;
  gsize size, n;

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();
  info = loom_device_get_info (device);
  size = MIN (info->max_storage_buffer_range + (24u << 20), info->max_allocation_size);
  if (size <= info->max_storage_buffer_range)
    {
      g_test_skip ("The device cannot allocate more than one binding's range");
      return;
    }
  n = size / 4;
  data = g_new (guint32, n);
  back = g_new0 (guint32, n);
  for (gsize i = 0; i < n; i++)
    data[i] = (guint32) (i * 2654435761u);

  a = loom_buffer_new (device, size, &error);
  g_assert_no_error (error);
  b = loom_buffer_new (device, size, &error);
  g_assert_no_error (error);
  g_assert_true (loom_buffer_write (a, 0, data, size, &error));
  g_assert_no_error (error);

  cmd = loom_command_new (device, &error);
  g_assert_no_error (error);
  loom_command_copy (cmd, a, 0, b, 0, size);
  g_assert_true (loom_command_submit (cmd, &error));
  g_assert_no_error (error);

  g_assert_true (loom_buffer_read (b, 0, back, size, &error));
  g_assert_no_error (error);
  g_assert_true (memcmp (data, back, size) == 0);
}

static void
test_too_large (void)
{
  LoomDevice *device;
  LoomDeviceInfo *info;
  g_autoptr(GError) error = NULL;
  LoomBuffer *buffer;

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();
  info = loom_device_get_info (device);

  buffer = loom_buffer_new (device, info->max_allocation_size + 4096, &error);
  g_assert_null (buffer);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_DEVICE_MEMORY);
  g_test_message ("%s", error->message);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/buffer/round-trip", test_round_trip);
  g_test_add_func ("/engine/buffer/beyond-binding-range", test_beyond_binding_range);
  g_test_add_func ("/engine/buffer/too-large", test_too_large);

  return loom_test_run ();
}
