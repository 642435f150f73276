/* loom-test-util.c — shared set-up for the engine tests.
 *
 * The device is opened once per test program. Tests run with LOOM_VALIDATION=1 (set by
 * tests/meson.build): every validation message is a critical, fatal under
 * G_DEBUG=fatal-warnings, and loom_test_run() also fails if any was counted.
 */
#include "config.h"

#include "loom-test-util.h"

static LoomDevice *test_device;
static GError     *test_device_error;
static gboolean    test_device_tried;

void
loom_test_init (int    *argc,
                char ***argv)
{
  g_test_init (argc, argv, NULL);
}

/* Returns: (transfer none) (nullable): the device every test in this program shares. */
LoomDevice *
loom_test_get_device (void)
{
  if (!test_device_tried)
    {
      test_device_tried = TRUE;
      test_device = loom_device_new (NULL, &test_device_error);
    }
  return test_device;
}

/* Returns TRUE (and marks the test skipped) when there is no Vulkan device. CI always
 * has one (lavapipe), so there every test runs. */
gboolean
loom_test_skip_without_device (void)
{
  if (loom_test_get_device () != NULL)
    return FALSE;
  {
    g_autofree char *message = g_strdup_printf ("No Vulkan device: %s",
                                                test_device_error->message);
    g_test_skip (message);
  }
  return TRUE;
}

int
loom_test_run (void)
{
  int status = g_test_run ();

  if (test_device != NULL)
    {
      /* A worker drops its reference to a finished job's task just after returning
       * it, so the last reference may go a moment after the last callback. */
      g_object_add_weak_pointer (G_OBJECT (test_device), (gpointer *) &test_device);
      g_object_unref (test_device);
      for (guint tries = 0; test_device != NULL && tries < 5000; tries++)
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (1000);
        }
      g_assert_null (test_device);
    }
  g_clear_error (&test_device_error);
  g_assert_cmpuint (loom_instance_get_validation_message_count (), ==, 0);
  return status;
}
