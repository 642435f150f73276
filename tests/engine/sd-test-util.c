/* sd-test-util.c — the temporary directory of the Stable Diffusion tests. */
#include "config.h"

#include <glib/gstdio.h>

#include "sd-test-util.h"

static char *tmp_dir;

/* Makes the directory, named after @program, that sd_test_tmp_path() points into. */
void
sd_test_tmp_init (const char *program)
{
  g_autofree char *template = g_strconcat (program, "-XXXXXX", NULL);

  g_assert_null (tmp_dir);
  tmp_dir = g_dir_make_tmp (template, NULL);
  g_assert_nonnull (tmp_dir);
}

char *
sd_test_tmp_path (const char *name)
{
  g_assert_nonnull (tmp_dir);
  return g_build_filename (tmp_dir, name, NULL);
}

/* Removes @path, a file or a folder with all it holds (models are written as either). */
void
sd_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          sd_test_remove_tree (child);
        }
    }
  g_remove (path);
}

void
sd_test_tmp_clear (void)
{
  if (tmp_dir == NULL)
    return;
  sd_test_remove_tree (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
}
