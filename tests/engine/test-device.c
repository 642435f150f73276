/* test-device.c — enumeration, selection, the missing-driver error, async creation and
 * the on-disk pipeline cache. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "loom-test-util.h"

/* A made-up device description, for selection tests that must not depend on what the
 * machine has. */
static LoomDeviceInfo *
fake_info (guint          index,
           const char    *name,
           LoomDeviceKind kind,
           guint64        memory,
           gboolean       usable)
{
  LoomDeviceInfo *info = g_new0 (LoomDeviceInfo, 1);
  LoomHeapInfo heap = { memory, TRUE };

  g_atomic_ref_count_init (&info->ref_count);
  info->index = index;
  info->name = g_strdup (name);
  info->kind = kind;
  info->driver_name = g_strdup ("fake");
  info->driver_info = g_strdup ("");
  info->heaps = g_array_new (FALSE, TRUE, sizeof (LoomHeapInfo));
  g_array_append_val (info->heaps, heap);
  info->usable = usable;
  info->unusable_reason = usable ? NULL : g_strdup ("it is made up");
  return info;
}

static GPtrArray *
fake_machine (void)
{
  GPtrArray *infos = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_device_info_unref);

  g_ptr_array_add (infos, fake_info (0, "llvmpipe (LLVM 15)", LOOM_DEVICE_KIND_CPU, 2u << 30, TRUE));
  g_ptr_array_add (infos, fake_info (1, "Intel(R) UHD Graphics 620", LOOM_DEVICE_KIND_INTEGRATED,
                                     4u << 30, TRUE));
  g_ptr_array_add (infos, fake_info (2, "AMD Radeon RX 7600", LOOM_DEVICE_KIND_DISCRETE,
                                     8ull << 30, TRUE));
  g_ptr_array_add (infos, fake_info (3, "Old Card", LOOM_DEVICE_KIND_DISCRETE, 16ull << 30, FALSE));
  return infos;
}

static void
test_choose_prefers_discrete (void)
{
  g_autoptr(GPtrArray) infos = fake_machine ();
  g_autoptr(GError) error = NULL;
  guint chosen = G_MAXUINT;

  g_unsetenv ("LOOM_DEVICE");
  g_assert_true (loom_device_choose (infos, NULL, &chosen, &error));
  g_assert_no_error (error);
  /* Discrete beats integrated and CPU; the unusable card with more memory is skipped. */
  g_assert_cmpuint (chosen, ==, 2);

  g_ptr_array_remove_index (infos, 2);
  g_assert_true (loom_device_choose (infos, NULL, &chosen, &error));
  g_assert_cmpstr (loom_device_info_get_name (g_ptr_array_index (infos, chosen)), ==,
                   "Intel(R) UHD Graphics 620");
}

static void
test_choose_by_selector (void)
{
  g_autoptr(GPtrArray) infos = fake_machine ();
  g_autoptr(GError) error = NULL;
  guint chosen = G_MAXUINT;

  g_assert_true (loom_device_choose (infos, "0", &chosen, &error));
  g_assert_cmpuint (chosen, ==, 0);
  g_assert_true (loom_device_choose (infos, "uhd", &chosen, &error));
  g_assert_cmpuint (chosen, ==, 1);
  g_assert_true (loom_device_choose (infos, "LLVMPIPE", &chosen, &error));
  g_assert_cmpuint (chosen, ==, 0);

  /* The environment variable is read when no selector is given. */
  g_setenv ("LOOM_DEVICE", "radeon", TRUE);
  g_assert_true (loom_device_choose (infos, NULL, &chosen, &error));
  g_assert_cmpuint (chosen, ==, 2);
  g_unsetenv ("LOOM_DEVICE");
  g_assert_no_error (error);
}

static void
test_choose_errors (void)
{
  g_autoptr(GPtrArray) infos = fake_machine ();
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  guint chosen = G_MAXUINT;

  g_assert_false (loom_device_choose (infos, "nvidia", &chosen, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  /* The message lists what exists, so the user can correct the selector. */
  g_assert_nonnull (strstr (error->message, "AMD Radeon RX 7600"));
  g_clear_error (&error);

  g_assert_false (loom_device_choose (infos, "7", &chosen, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  g_clear_error (&error);

  g_assert_false (loom_device_choose (infos, "old card", &chosen, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "it is made up"));
  g_clear_error (&error);

  g_assert_false (loom_device_choose (none, NULL, &chosen, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "mesa-vulkan-drivers"));
}

static void
test_enumerate (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  LoomDevice *device;
  LoomDeviceInfo *info;

  if (loom_test_skip_without_device ())
    return;
  device = loom_test_get_device ();
  info = loom_device_get_info (device);

  infos = loom_device_enumerate (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, >=, 1);

  g_assert_true (loom_device_info_get_usable (info));
  g_assert_cmpuint (loom_device_info_get_n_heaps (info), >=, 1);
  g_assert_cmpuint (loom_device_info_get_subgroup_size (info), >=, 1);
  g_assert_cmpuint (loom_device_info_get_max_storage_buffer_range (info), >=, 1u << 20);
  g_assert_cmpstr (loom_device_get_name (device), ==, loom_device_info_get_name (info));
  g_test_message ("Device: %s (%s), subgroup %u", loom_device_info_get_name (info),
                  loom_device_kind_to_string (loom_device_info_get_kind (info)),
                  loom_device_info_get_subgroup_size (info));
}

/* The test suite promises to run with validation layers when they are installed. */
static void
test_validation_active (void)
{
  LoomInstance *instance;
  g_autoptr(GError) error = NULL;

  if (loom_test_skip_without_device ())
    return;
  instance = loom_instance_get (&error);
  g_assert_no_error (error);
  if (g_strcmp0 (g_getenv ("LOOM_VALIDATION"), "require") == 0)
    g_assert_true (loom_instance_get_validation (instance));
  else if (!loom_instance_get_validation (instance))
    g_test_skip ("The Vulkan validation layers are not installed");
}

/* Misusing Vulkan behind Loom's back must produce a validation message, and that must
 * fail the test: this is what makes every other test a validation test. */
static void
test_validation_message_fails (void)
{
  if (loom_test_skip_without_device ())
    return;
  if (g_test_subprocess ())
    {
      LoomDevice *device = loom_test_get_device ();
      VkBuffer buffer = VK_NULL_HANDLE;
      VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 0,  /* invalid: VUID-VkBufferCreateInfo-size-00912 */
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
      };
      vkCreateBuffer (loom_device_get_handle (device), &info, NULL, &buffer);
      if (buffer != VK_NULL_HANDLE)
        vkDestroyBuffer (loom_device_get_handle (device), buffer, NULL);
      return;
    }
  {
    LoomInstance *instance = loom_instance_get (NULL);
    if (!loom_instance_get_validation (instance))
      {
        g_test_skip ("The Vulkan validation layers are not installed");
        return;
      }
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*Vulkan validation*");
}

/* Without any driver, the error says what to install. */
static void
test_no_driver (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LoomDevice) device = NULL;

      g_setenv ("VK_ICD_FILENAMES", "/nonexistent/icd.json", TRUE);
      g_setenv ("VK_DRIVER_FILES", "/nonexistent/icd.json", TRUE);
      g_unsetenv ("LOOM_VALIDATION");
      device = loom_device_new (NULL, &error);
      g_assert_null (device);
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
      g_assert_nonnull (strstr (error->message, "mesa-vulkan-drivers"));
      g_printerr ("%s\n", error->message);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*Vulkan*");
}

static void
device_new_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  LoomDevice **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = loom_device_new_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_new_async (void)
{
  LoomDevice *device = NULL;

  if (loom_test_skip_without_device ())
    return;
  loom_device_new_async (NULL, NULL, device_new_cb, &device);
  while (device == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (LOOM_IS_DEVICE (device));
  g_assert_finalize_object (device);
}

/* Pipelines compiled in one run are found on disk by the next; a damaged or foreign
 * cache file is ignored rather than trusted. Runs in a subprocess with its own cache
 * directory. */
static void
test_pipeline_cache (void)
{
  g_autofree char *cache_dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  static const LoomPipelineDesc desc = {
    .shader = "softmax",
    .n_bindings = 2,
    .push_size = sizeof (LoomRowsPush),
  };

  if (!g_test_subprocess ())
    {
      if (loom_test_skip_without_device ())
        return;
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  /* Before anything asks GLib for the cache directory, which it remembers. */
  cache_dir = g_dir_make_tmp ("loom-cache-XXXXXX", NULL);
  g_assert_nonnull (cache_dir);
  g_setenv ("XDG_CACHE_HOME", cache_dir, TRUE);

  /* Run 0 finds no file; run 1 loads what run 0 saved; runs 2 and 3 find the file
   * truncated, then written for another device, and ignore it. */
  for (guint run = 0; run < 4; run++)
    {
      static const LoomPipelineCacheState expected[] = {
        LOOM_PIPELINE_CACHE_EMPTY, LOOM_PIPELINE_CACHE_LOADED,
        LOOM_PIPELINE_CACHE_IGNORED, LOOM_PIPELINE_CACHE_IGNORED,
      };
      g_autoptr(GError) error = NULL;
      LoomDevice *device = loom_device_new (NULL, &error);

      g_assert_no_error (error);
      g_clear_pointer (&path, g_free);
      path = loom_device_dup_pipeline_cache_path (device);
      g_assert_true (g_str_has_prefix (path, cache_dir));
      g_assert_cmpint (loom_device_get_pipeline_cache_state (device), ==, expected[run]);
      g_assert_nonnull (loom_device_get_pipeline (device, &desc, &error));
      g_assert_no_error (error);
      g_assert_finalize_object (device);

      if (!g_file_get_contents (path, &contents, &length, NULL))
        {
          /* Some drivers return no cache data at all; nothing more to check then. */
          g_test_message ("The driver wrote no pipeline cache");
          break;
        }
      g_assert_cmpuint (length, >=, 32);
      g_clear_pointer (&contents, g_free);

      if (run == 1)
        g_assert_true (g_file_set_contents (path, "Loom", 4, NULL));
      else if (run == 2)
        {
          guint8 foreign[64] = { 32, 0, 0, 0, 1, 0, 0, 0, 0xde, 0xc0, 0xad, 0xde };
          g_assert_true (g_file_set_contents (path, (char *) foreign, sizeof foreign, NULL));
        }
    }

  g_remove (path);
  {
    g_autofree char *dir = g_path_get_dirname (path);
    g_autofree char *parent = g_path_get_dirname (dir);
    g_rmdir (dir);
    g_rmdir (parent);
    g_rmdir (cache_dir);
  }
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/device/choose/prefers-discrete", test_choose_prefers_discrete);
  g_test_add_func ("/engine/device/choose/selector", test_choose_by_selector);
  g_test_add_func ("/engine/device/choose/errors", test_choose_errors);
  g_test_add_func ("/engine/device/enumerate", test_enumerate);
  g_test_add_func ("/engine/device/validation/active", test_validation_active);
  g_test_add_func ("/engine/device/validation/message-fails", test_validation_message_fails);
  g_test_add_func ("/engine/device/no-driver", test_no_driver);
  g_test_add_func ("/engine/device/new-async", test_new_async);
  g_test_add_func ("/engine/device/pipeline-cache", test_pipeline_cache);

  return loom_test_run ();
}
