/* loom-worker.c — one thread, one FIFO of jobs. */
#include "config.h"

#include "loom-worker.h"

struct _LoomWorker
{
  gatomicrefcount ref_count;
  GAsyncQueue    *jobs;    /* of Job; a Job without a task asks the thread to exit */
  GThread        *thread;  /* NULL once stopped */
};

typedef struct
{
  GTask          *task;
  GTaskThreadFunc func;
} Job;

static gboolean
unref_task_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

/* Gives the worker's reference to a finished task back to the task's own context. The
 * task holds its source object, the device: had the worker dropped the last reference,
 * the device would be finalized here, on a thread that no one joins, possibly while the
 * process exits. On the caller's context it is finalized where the worker can be
 * joined. */
static void
release_task (GTask *task)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[loom] release task");
  g_source_set_callback (source, unref_task_cb, task, NULL);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static LoomWorker *
worker_ref (LoomWorker *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
loom_worker_unref (LoomWorker *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_async_queue_unref (self->jobs);
  g_free (self);
}

/* Runs on the worker thread; holds its own reference to the worker. */
static gpointer
worker_main (gpointer data)
{
  LoomWorker *self = data;

  for (;;)
    {
      Job *job = g_async_queue_pop (self->jobs);
      GTask *task = job->task;

      if (task == NULL)
        {
          g_free (job);
          break;
        }
      /* Even a job cancelled while it waited runs: its function sees the cancellable
       * before its first step and returns, releasing what it holds the usual way. */
      job->func (task, g_task_get_source_object (task), g_task_get_task_data (task),
                 g_task_get_cancellable (task));
      release_task (task);
      g_free (job);
    }

  loom_worker_unref (self);
  return NULL;
}

LoomWorker *
loom_worker_new (const char *name)
{
  LoomWorker *self = g_new0 (LoomWorker, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->jobs = g_async_queue_new ();
  self->thread = g_thread_new (name, worker_main, worker_ref (self));
  return self;
}

/* Queues @task (a new reference is taken); callable from any thread. */
void
loom_worker_push (LoomWorker     *self,
                  GTask          *task,
                  GTaskThreadFunc func)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (self->thread != NULL);
  job->task = g_object_ref (task);
  job->func = func;
  g_async_queue_push (self->jobs, job);
}

gboolean
loom_worker_is_current_thread (LoomWorker *self)
{
  return self->thread != NULL && g_thread_self () == self->thread;
}

/* Asks the thread to exit once the queued jobs are done and waits for it, unless called
 * from the worker thread itself (a finalizer running there), which cannot wait for
 * itself: then the thread exits when the current job returns. */
void
loom_worker_stop (LoomWorker *self)
{
  GThread *thread = g_steal_pointer (&self->thread);

  if (thread == NULL)
    return;
  g_async_queue_push (self->jobs, g_new0 (Job, 1));
  if (thread == g_thread_self ())
    g_thread_unref (thread);
  else
    g_thread_join (thread);
}
