/* loom-text-model.h — a language model loaded onto a device.
 *
 * A LoomTextModel holds the weights of a Llama-family GGUF model in device memory, in the
 * file's own tensor types (quantized weights stay quantized), its hyper-parameters and
 * its tokenizer. It is immutable once loaded and shared by any number of sessions.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <gio/gio.h>

#include "loom-types.h"

G_BEGIN_DECLS

#define LOOM_TYPE_TEXT_MODEL (loom_text_model_get_type ())

G_DECLARE_FINAL_TYPE (LoomTextModel, loom_text_model, LOOM, TEXT_MODEL, GObject)

void           loom_text_model_load_async          (LoomDevice          *device,
                                                    const char          *path,
                                                    LoomProgressFunc     progress_func,
                                                    gpointer             progress_data,
                                                    GDestroyNotify       progress_destroy,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
LoomTextModel *loom_text_model_load_finish         (GAsyncResult        *result,
                                                    GError             **error);

LoomDevice    *loom_text_model_get_device          (LoomTextModel       *self);
const char    *loom_text_model_get_path            (LoomTextModel       *self);
const char    *loom_text_model_get_name            (LoomTextModel       *self);
const char    *loom_text_model_get_architecture    (LoomTextModel       *self);
const char    *loom_text_model_get_license         (LoomTextModel       *self);
guint          loom_text_model_get_context_length  (LoomTextModel       *self);
guint          loom_text_model_get_n_vocab         (LoomTextModel       *self);
guint64        loom_text_model_get_n_parameters    (LoomTextModel       *self);
guint64        loom_text_model_get_weight_bytes    (LoomTextModel       *self);
guint          loom_text_model_count_tokens        (LoomTextModel       *self,
                                                    const char          *text);

G_END_DECLS
