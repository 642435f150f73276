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

G_END_DECLS
