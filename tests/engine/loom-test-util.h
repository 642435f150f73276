/* loom-test-util.h — what every engine test shares: set-up, the device, validation. */
#pragma once

#include "loom-internal.h"

G_BEGIN_DECLS

void        loom_test_init             (int        *argc,
                                        char     ***argv);
LoomDevice *loom_test_get_device       (void);
gboolean    loom_test_skip_without_device (void);
int         loom_test_run              (void);

G_END_DECLS
