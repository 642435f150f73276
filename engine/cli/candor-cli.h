/* candor-cli.h — the subcommands of candor-cli, one file each. */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

/* Each takes the arguments after the subcommand name (argv[0] is the subcommand) and
 * returns the process exit status. */
int candor_cli_devices   (int    argc,
                          char **argv);
int candor_cli_bench_ops (int    argc,
                          char **argv);
int candor_cli_generate  (int    argc,
                          char **argv);
int candor_cli_bench     (int    argc,
                          char **argv);
int candor_cli_make_model (int   argc,
                           char **argv);
int candor_cli_info      (int    argc,
                          char **argv);
int candor_cli_tokenize  (int    argc,
                          char **argv);

int candor_cli_image      (int    argc,
                          char **argv);
int candor_cli_bench_image (int  argc,
                            char **argv);
int candor_cli_make_image_model (int    argc,
                                 char **argv);

/* Shared by the benchmarks (cli-common.c). */
guint64 candor_cli_peak_host_memory (void);
/* Sorts @values. */
double  candor_cli_median           (double *values,
                                     int     n);

G_END_DECLS
