/* cli-devices.c — `candor-cli devices`: what Vulkan offers and what Loom picks. */
#include "config.h"

#include <json-glib/json-glib.h>

#include "candor-cli.h"
#include "loom-internal.h"

static char *
format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static const char *
yes_no (gboolean value)
{
  return value ? "yes" : "no";
}

static void
print_device (LoomDeviceInfo *info,
              gboolean        chosen)
{
  g_autofree char *api = loom_device_info_dup_api_version (info);
  g_autofree char *range = format_size (loom_device_info_get_max_storage_buffer_range (info));
  g_autofree char *allocation = format_size (loom_device_info_get_max_allocation_size (info));

  printf ("%s %u  %s\n", chosen ? "*" : " ", loom_device_info_get_index (info),
          loom_device_info_get_name (info));
  printf ("     type                       %s\n",
          loom_device_kind_to_string (loom_device_info_get_kind (info)));
  printf ("     vendor / device id         0x%04x / 0x%04x\n",
          loom_device_info_get_vendor_id (info), loom_device_info_get_device_id (info));
  printf ("     driver                     %s (%s)\n", loom_device_info_get_driver_name (info),
          loom_device_info_get_driver_info (info));
  printf ("     Vulkan                     %s\n", api);
  for (guint h = 0; h < loom_device_info_get_n_heaps (info); h++)
    {
      g_autofree char *size = format_size (loom_device_info_get_heap_size (info, h));
      printf ("     memory heap %u              %s%s\n", h, size,
              loom_device_info_get_heap_device_local (info, h) ? ", device-local" : "");
    }
  printf ("     unified memory             %s\n",
          yes_no (loom_device_info_get_unified_memory (info)));
  printf ("     subgroup size              %u\n", loom_device_info_get_subgroup_size (info));
  printf ("     max storage buffer range   %s\n", range);
  printf ("     max allocation             %s\n", allocation);
  printf ("     shared memory              %u KiB\n",
          loom_device_info_get_max_shared_memory (info) / 1024);
  printf ("     f16 / int8                 %s / %s\n",
          yes_no (loom_device_info_get_supports_f16 (info)),
          yes_no (loom_device_info_get_supports_int8 (info)));
  printf ("     timestamps                 %s\n",
          yes_no (loom_device_info_get_supports_timestamps (info)));
  if (!loom_device_info_get_usable (info))
    printf ("     unusable                   %s\n", loom_device_info_get_unusable_reason (info));
}

static JsonNode *
device_to_json (LoomDeviceInfo *info,
                gboolean        chosen)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *api = loom_device_info_dup_api_version (info);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "index");
  json_builder_add_int_value (builder, loom_device_info_get_index (info));
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, loom_device_info_get_name (info));
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder,
                                 loom_device_kind_to_string (loom_device_info_get_kind (info)));
  json_builder_set_member_name (builder, "driver");
  json_builder_add_string_value (builder, loom_device_info_get_driver_name (info));
  json_builder_set_member_name (builder, "driver_info");
  json_builder_add_string_value (builder, loom_device_info_get_driver_info (info));
  json_builder_set_member_name (builder, "vulkan");
  json_builder_add_string_value (builder, api);
  json_builder_set_member_name (builder, "heaps");
  json_builder_begin_array (builder);
  for (guint h = 0; h < loom_device_info_get_n_heaps (info); h++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, loom_device_info_get_heap_size (info, h));
      json_builder_set_member_name (builder, "device_local");
      json_builder_add_boolean_value (builder, loom_device_info_get_heap_device_local (info, h));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "unified_memory");
  json_builder_add_boolean_value (builder, loom_device_info_get_unified_memory (info));
  json_builder_set_member_name (builder, "subgroup_size");
  json_builder_add_int_value (builder, loom_device_info_get_subgroup_size (info));
  json_builder_set_member_name (builder, "max_storage_buffer_range");
  json_builder_add_int_value (builder, loom_device_info_get_max_storage_buffer_range (info));
  json_builder_set_member_name (builder, "max_allocation_size");
  json_builder_add_int_value (builder, loom_device_info_get_max_allocation_size (info));
  json_builder_set_member_name (builder, "f16");
  json_builder_add_boolean_value (builder, loom_device_info_get_supports_f16 (info));
  json_builder_set_member_name (builder, "int8");
  json_builder_add_boolean_value (builder, loom_device_info_get_supports_int8 (info));
  json_builder_set_member_name (builder, "timestamps");
  json_builder_add_boolean_value (builder, loom_device_info_get_supports_timestamps (info));
  json_builder_set_member_name (builder, "usable");
  json_builder_add_boolean_value (builder, loom_device_info_get_usable (info));
  if (!loom_device_info_get_usable (info))
    {
      json_builder_set_member_name (builder, "unusable_reason");
      json_builder_add_string_value (builder, loom_device_info_get_unusable_reason (info));
    }
  json_builder_set_member_name (builder, "chosen");
  json_builder_add_boolean_value (builder, chosen);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

typedef struct
{
  GMainLoop *loop;
  gboolean   passed;
  GError    *error;
} SelfTestRun;

static void
self_test_progress_cb (guint    done,
                       guint    total,
                       gpointer user_data)
{
  fprintf (stderr, "\rChecking ops on the device… %u/%u", done, total);
}

static void
self_test_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  SelfTestRun *run = user_data;

  run->passed = loom_device_self_test_finish (LOOM_DEVICE (source), result, &run->error);
  g_main_loop_quit (run->loop);
}

static int
run_self_test (const char *selector)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoomDevice) device = loom_device_new (selector, &error);
  g_autoptr(GMainLoop) loop = NULL;
  SelfTestRun run = { 0 };

  if (device == NULL)
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  loom_device_self_test_async (device, self_test_progress_cb, NULL, NULL, NULL,
                               self_test_done_cb, &run);
  g_main_loop_run (loop);
  fprintf (stderr, "\n");

  if (!run.passed)
    {
      fprintf (stderr, "candor-cli: %s\n", run.error->message);
      g_clear_error (&run.error);
      return 1;
    }
  printf ("Every op on “%s” matches its CPU reference.\n", loom_device_get_name (device));
  return 0;
}

int
candor_cli_devices (int    argc,
                    char **argv)
{
  gboolean json = FALSE, check = FALSE;
  g_autofree char *selector = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check,
      "Run every op on the chosen device against its CPU reference", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &selector,
      "Choose a device by index or name (default: $LOOM_DEVICE, else the best)", "DEVICE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— list Vulkan devices");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  guint chosen = G_MAXUINT;
  g_autoptr(GError) choose_error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "candor-cli devices: %s\n", error->message);
      return 2;
    }

  infos = loom_device_enumerate (&error);
  if (infos == NULL)
    {
      fprintf (stderr, "candor-cli: %s\n", error->message);
      return 1;
    }
  if (!loom_device_choose (infos, selector, &chosen, &choose_error))
    chosen = G_MAXUINT;

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "devices");
      json_builder_begin_array (builder);
      for (guint i = 0; i < infos->len; i++)
        json_builder_add_value (builder, device_to_json (g_ptr_array_index (infos, i), i == chosen));
      json_builder_end_array (builder);
      if (choose_error != NULL)
        {
          json_builder_set_member_name (builder, "error");
          json_builder_add_string_value (builder, choose_error->message);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      printf ("%s\n", text);
    }
  else
    {
      if (infos->len > 0)
        printf ("Vulkan devices (Loom uses the one marked *):\n");
      for (guint i = 0; i < infos->len; i++)
        print_device (g_ptr_array_index (infos, i), i == chosen);
      if (choose_error != NULL)
        fprintf (stderr, "%s\n", choose_error->message);
    }

  if (choose_error != NULL)
    return 1;
  if (check)
    return run_self_test (selector);
  return 0;
}
