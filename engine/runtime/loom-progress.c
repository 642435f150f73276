/* loom-progress.c — coalesced progress delivery. */
#include "config.h"

#include "loom-progress.h"

struct _LoomProgress
{
  gatomicrefcount  ref_count;
  GMainContext    *context;   /* where func and destroy run */
  LoomProgressFunc func;
  gpointer         data;
  GDestroyNotify   destroy;

  GMutex           lock;      /* guards the fields below */
  guint            done;
  guint            total;
  gboolean         pending;   /* a delivery is attached to context */
  gboolean         finished;  /* no further updates are accepted */
};

static LoomProgress *
progress_ref (LoomProgress *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

typedef struct
{
  gpointer       data;
  GDestroyNotify destroy;
} Release;

static gboolean
late_release_cb (gpointer user_data)
{
  Release *release = user_data;

  release->destroy (release->data);
  return G_SOURCE_REMOVE;
}

void
loom_progress_unref (LoomProgress *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  /* A job that never called loom_progress_finish(): the caller's data is still released
   * on the caller's context, as promised. */
  if (self->destroy != NULL)
    {
      GSource *source = g_idle_source_new ();
      Release *release = g_new (Release, 1);

      release->data = self->data;
      release->destroy = self->destroy;
      g_source_set_static_name (source, "[loom] progress release");
      g_source_set_callback (source, late_release_cb, release, g_free);
      g_source_attach (source, self->context);
      g_source_unref (source);
    }
  g_mutex_clear (&self->lock);
  g_main_context_unref (self->context);
  g_free (self);
}

/* @context is the caller's, usually g_task_get_context(); @func may be NULL. */
LoomProgress *
loom_progress_new (GMainContext    *context,
                   LoomProgressFunc func,
                   gpointer         data,
                   GDestroyNotify   destroy)
{
  LoomProgress *self = g_new0 (LoomProgress, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref (context != NULL ? context : g_main_context_default ());
  self->func = func;
  self->data = data;
  self->destroy = destroy;
  return self;
}

/* Always attach a source rather than g_main_context_invoke(): invoke would run the
 * callback right here, on the worker, when nobody owns the caller's context. */
static void
attach_idle (LoomProgress *self,
             GSourceFunc   func)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[loom] progress");
  g_source_set_callback (source, func, progress_ref (self), (GDestroyNotify) loom_progress_unref);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* Runs on the caller's context. */
static gboolean
deliver_cb (gpointer user_data)
{
  LoomProgress *self = user_data;
  guint done, total;

  g_mutex_lock (&self->lock);
  done = self->done;
  total = self->total;
  self->pending = FALSE;
  g_mutex_unlock (&self->lock);

  if (self->func != NULL)
    self->func (done, total, self->data);
  return G_SOURCE_REMOVE;
}

/* Runs on the caller's context, after every delivery attached before it. */
static gboolean
release_cb (gpointer user_data)
{
  LoomProgress *self = user_data;

  if (self->destroy != NULL)
    self->destroy (self->data);
  self->func = NULL;
  self->data = NULL;
  self->destroy = NULL;
  return G_SOURCE_REMOVE;
}

/* Any thread. */
void
loom_progress_update (LoomProgress *self,
                      guint         done,
                      guint         total)
{
  gboolean attach;

  g_mutex_lock (&self->lock);
  if (self->finished)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->done = done;
  self->total = total;
  attach = !self->pending;
  self->pending = TRUE;
  g_mutex_unlock (&self->lock);

  if (attach)
    attach_idle (self, deliver_cb);
}

/* Call once, before returning the task: deliveries already pending still run, then the
 * caller's data is released on its context, before the task's callback. */
void
loom_progress_finish (LoomProgress *self)
{
  g_mutex_lock (&self->lock);
  if (self->finished)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->finished = TRUE;
  g_mutex_unlock (&self->lock);

  attach_idle (self, release_cb);
}
