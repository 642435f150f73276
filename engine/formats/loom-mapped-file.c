/* loom-mapped-file.c — a model file mapped read-only. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "loom-mapped-file.h"

static void
set_open_error (GError     **error,
                int          saved_errno,
                const char  *display)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Could not open “%s”: %s",
               display, g_strerror (saved_errno));
}

GMappedFile *
loom_mapped_file_open (const char  *path,
                       const char  *display,
                       GError     **error)
{
  GMappedFile *mapped;
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      set_open_error (error, errno, display);
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      set_open_error (error, errno, display);
      g_close (fd, NULL);
      return NULL;
    }
  /* mmap() of a folder or a device fails with an unhelpful message, or not at all. */
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR,
                   S_ISDIR (st.st_mode) ? G_IO_ERROR_IS_DIRECTORY : G_IO_ERROR_NOT_REGULAR_FILE,
                   "Could not open “%s”: %s", display,
                   S_ISDIR (st.st_mode) ? "it is a folder" : "not a regular file");
      g_close (fd, NULL);
      return NULL;
    }

  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local_error);
  g_close (fd, NULL);
  if (mapped == NULL)
    g_set_error (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code),
                 "Could not map “%s” into memory: %s", display, local_error->message);
  return mapped;
}
