/* cli-common.c — what several subcommands share. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "candor-cli.h"

/* The process's peak resident memory (VmHWM), in bytes; 0 when unknown. */
guint64
candor_cli_peak_host_memory (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtoull (line + 6, NULL, 10) * 1024 : 0;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double
candor_cli_median (double *values,
                   int     n)
{
  qsort (values, (size_t) n, sizeof (double), compare_doubles);
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}
