/* loom-stream.c — coalesced text delivery. */
#include "config.h"

#include <string.h>

#include "loom-stream.h"

struct _LoomStream
{
  gatomicrefcount ref_count;
  GMainContext   *context;
  LoomTextFunc    func;
  gpointer        data;
  GDestroyNotify  destroy;

  GMutex          lock;     /* guards the fields below */
  GString        *pending;  /* appended, not yet delivered */
  gboolean        scheduled;
};

static LoomStream *
stream_ref (LoomStream *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

static gboolean
release_cb (gpointer user_data)
{
  LoomStream *self = user_data;

  if (self->destroy != NULL)
    self->destroy (self->data);
  self->destroy = NULL;
  self->func = NULL;
  return G_SOURCE_REMOVE;
}

void
loom_stream_unref (LoomStream *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  /* Reached only when finish was never called and no source holds a reference: the
   * context is then the only safe place left for the caller's data, too late to run on
   * it, so it is released here. */
  if (self->destroy != NULL)
    self->destroy (self->data);
  g_string_free (self->pending, TRUE);
  g_mutex_clear (&self->lock);
  g_main_context_unref (self->context);
  g_free (self);
}

LoomStream *
loom_stream_new (GMainContext  *context,
                 LoomTextFunc   func,
                 gpointer       data,
                 GDestroyNotify destroy)
{
  LoomStream *self = g_new0 (LoomStream, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref (context != NULL ? context : g_main_context_default ());
  self->func = func;
  self->data = data;
  self->destroy = destroy;
  self->pending = g_string_new (NULL);
  return self;
}

static void
attach (LoomStream *self,
        GSourceFunc func)
{
  GSource *source = g_idle_source_new ();

  /* The task's result comes at the default priority: text must not come after it. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[loom] stream");
  g_source_set_callback (source, func, stream_ref (self), (GDestroyNotify) loom_stream_unref);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* Runs on the caller's context. */
static gboolean
deliver_cb (gpointer user_data)
{
  LoomStream *self = user_data;
  g_autofree char *text = NULL;

  g_mutex_lock (&self->lock);
  text = g_strndup (self->pending->str, self->pending->len);
  g_string_truncate (self->pending, 0);
  self->scheduled = FALSE;
  g_mutex_unlock (&self->lock);

  if (self->func != NULL && *text != '\0')
    self->func (text, self->data);
  return G_SOURCE_REMOVE;
}

/* Any thread. */
void
loom_stream_append (LoomStream *self,
                    const char *text,
                    gssize      length)
{
  gboolean schedule;

  if (length < 0)
    length = strlen (text);
  if (length == 0)
    return;
  g_mutex_lock (&self->lock);
  g_string_append_len (self->pending, text, length);
  schedule = !self->scheduled;
  self->scheduled = TRUE;
  g_mutex_unlock (&self->lock);

  if (schedule)
    attach (self, deliver_cb);
}

/* After the last append: pending text is still delivered, then the data released. */
void
loom_stream_finish (LoomStream *self)
{
  attach (self, release_cb);
}
