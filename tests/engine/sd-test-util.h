/* sd-test-util.h — what the Stable Diffusion tests share: one temporary directory per
 * test program for the checkpoints they write, removed at the end.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void  sd_test_tmp_init    (const char *program);
char *sd_test_tmp_path    (const char *name);
void  sd_test_remove_tree (const char *path);
void  sd_test_tmp_clear   (void);

G_END_DECLS
