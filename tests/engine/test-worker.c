/* test-worker.c — the device worker: order, progress on the caller's context,
 * coalescing, cancellation between steps, and closing everything mid-job. */
#include "config.h"

#include "loom-test-util.h"

/* A job of numbered steps for driving the worker deterministically: after each step
 * it reports progress and, when gated, waits for the main thread to let it go on. */
typedef struct
{
  LoomProgress *progress;  /* owned */
  guint         steps;
  gboolean      gated;

  GMutex        lock;
  GCond         cond;
  guint         allowed;   /* steps the main thread has let through */
  gboolean      done;      /* the job has returned its task */
  gboolean      hold;      /* keep the task after returning it until released */
  gboolean      released;
} StepJob;

static void
step_job_free (gpointer data)
{
  StepJob *job = data;

  g_clear_pointer (&job->progress, loom_progress_unref);
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->cond);
  g_free (job);
}

/* Runs on the device's worker thread. */
static void
step_job_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  StepJob *job = task_data;
  GError *error = NULL;

  for (guint i = 0; i < job->steps; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        break;
      loom_progress_update (job->progress, i + 1, job->steps);
      if (job->gated)
        {
          g_mutex_lock (&job->lock);
          while (job->allowed < i + 1)
            g_cond_wait (&job->cond, &job->lock);
          g_mutex_unlock (&job->lock);
        }
    }

  loom_progress_finish (job->progress);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, job->steps);

  g_mutex_lock (&job->lock);
  job->done = TRUE;
  g_cond_broadcast (&job->cond);
  while (job->hold && !job->released)
    g_cond_wait (&job->cond, &job->lock);
  g_mutex_unlock (&job->lock);
}

static void
allow (StepJob *job,
       guint    steps)
{
  g_mutex_lock (&job->lock);
  job->allowed = steps;
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);
}

typedef struct
{
  GThread      *main_thread;
  guint         deliveries;
  guint         last_done;
  guint         last_total;
  gboolean      destroyed;
  gboolean      finished;
  GError       *error;
  gssize        value;
  GCancellable *cancel_at_step_3;  /* cancelled by the progress callback, when set */
  StepJob      *job;
  gboolean      hold_job;          /* the job keeps its task until released */
  GPtrArray    *order;             /* completion order, for several jobs */
  const char   *name;
} Observer;

static void
progress_cb (guint    done,
             guint    total,
             gpointer user_data)
{
  Observer *obs = user_data;

  g_assert_true (g_thread_self () == obs->main_thread);
  g_assert_false (obs->finished);
  obs->deliveries++;
  obs->last_done = done;
  obs->last_total = total;
  if (obs->cancel_at_step_3 != NULL && done == 3)
    g_cancellable_cancel (obs->cancel_at_step_3);
  if (obs->job != NULL && obs->job->gated)
    allow (obs->job, done);
}

static void
progress_destroy_cb (gpointer user_data)
{
  Observer *obs = user_data;

  g_assert_true (g_thread_self () == obs->main_thread);
  g_assert_false (obs->destroyed);
  g_assert_false (obs->finished);
  obs->destroyed = TRUE;
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Observer *obs = user_data;

  g_assert_true (g_thread_self () == obs->main_thread);
  obs->value = g_task_propagate_int (G_TASK (result), &obs->error);
  obs->finished = TRUE;
  if (obs->order != NULL)
    g_ptr_array_add (obs->order, (gpointer) obs->name);
}

static StepJob *
start_step_job (LoomDevice   *device,
                guint         steps,
                gboolean      gated,
                GCancellable *cancellable,
                Observer     *obs)
{
  g_autoptr(GTask) task = g_task_new (device, cancellable, done_cb, obs);
  StepJob *job = g_new0 (StepJob, 1);

  job->steps = steps;
  job->gated = gated;
  job->hold = obs->hold_job;
  g_mutex_init (&job->lock);
  g_cond_init (&job->cond);
  job->progress = loom_progress_new (g_task_get_context (task), progress_cb, obs,
                                     progress_destroy_cb);
  g_task_set_task_data (task, job, step_job_free);
  obs->job = job;
  obs->main_thread = g_thread_self ();
  loom_device_run_in_worker (device, task, step_job_worker);
  return job;
}

static void
wait_finished (Observer *obs)
{
  while (!obs->finished)
    g_main_context_iteration (NULL, TRUE);
}

/* Progress arrives on the caller's context, the last step included, then the caller's
 * data is released, then the result. */
static void
test_progress_and_result (void)
{
  Observer obs = { 0 };

  if (loom_test_skip_without_device ())
    return;
  start_step_job (loom_test_get_device (), 5, TRUE, NULL, &obs);
  wait_finished (&obs);

  g_assert_no_error (obs.error);
  g_assert_cmpint (obs.value, ==, 5);
  g_assert_cmpuint (obs.deliveries, ==, 5);  /* gated: every step was seen */
  g_assert_cmpuint (obs.last_done, ==, 5);
  g_assert_cmpuint (obs.last_total, ==, 5);
  g_assert_true (obs.destroyed);
}

/* Updates posted while the caller's main loop is busy collapse into one delivery of
 * the latest step. */
static void
test_progress_coalesced (void)
{
  Observer obs = { 0 };
  StepJob *job;

  if (loom_test_skip_without_device ())
    return;
  job = start_step_job (loom_test_get_device (), 1000, FALSE, NULL, &obs);

  /* Do not iterate the main context until the job has returned. */
  g_mutex_lock (&job->lock);
  while (!job->done)
    g_cond_wait (&job->cond, &job->lock);
  g_mutex_unlock (&job->lock);

  wait_finished (&obs);
  g_assert_cmpuint (obs.deliveries, ==, 1);
  g_assert_cmpuint (obs.last_done, ==, 1000);
  g_assert_true (obs.destroyed);
}

static void
test_cancel_before_start (void)
{
  Observer obs = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  if (loom_test_skip_without_device ())
    return;
  g_cancellable_cancel (cancellable);
  start_step_job (loom_test_get_device (), 5, FALSE, cancellable, &obs);
  wait_finished (&obs);

  g_assert_error (obs.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&obs.error);
  g_assert_cmpuint (obs.deliveries, ==, 0);
  /* The job never ran, yet the caller's data is released. */
  g_assert_true (obs.destroyed);
}

/* Cancelling during step 3 stops the job before step 4. */
static void
test_cancel_between_steps (void)
{
  Observer obs = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  if (loom_test_skip_without_device ())
    return;
  obs.cancel_at_step_3 = cancellable;
  start_step_job (loom_test_get_device (), 10, TRUE, cancellable, &obs);
  wait_finished (&obs);

  g_assert_error (obs.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&obs.error);
  g_assert_cmpuint (obs.last_done, ==, 3);
  g_assert_true (obs.destroyed);
}

/* Jobs run one at a time, in the order they were queued: while the first is blocked in
 * its first step, the second does not start. */
static void
test_order (void)
{
  Observer first = { .name = "first" }, second = { .name = "second" };
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  StepJob *blocked;

  if (loom_test_skip_without_device ())
    return;
  first.order = second.order = order;
  blocked = start_step_job (loom_test_get_device (), 2, TRUE, NULL, &first);
  /* Keep it blocked: the progress callback would let it go on. */
  first.job = NULL;
  start_step_job (loom_test_get_device (), 1, FALSE, NULL, &second);

  for (guint i = 0; i < 100; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (first.deliveries, ==, 1);
  g_assert_cmpuint (second.deliveries, ==, 0);
  g_assert_false (second.finished);

  allow (blocked, 2);
  wait_finished (&first);
  wait_finished (&second);
  g_assert_cmpuint (order->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (order, 0), ==, "first");
  g_assert_cmpstr (g_ptr_array_index (order, 1), ==, "second");
}

static LoomDevice *
new_device (void)
{
  g_autoptr(GError) error = NULL;
  LoomDevice *device = loom_device_new (NULL, &error);

  g_assert_no_error (error);
  return device;
}

/* The caller drops the device and cancels while a job runs: the job still ends, the
 * callback still comes, and then the device is gone. */
static void
test_close_mid_job (void)
{
  for (guint cancel = 0; cancel < 2; cancel++)
    {
      Observer obs = { 0 };
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      LoomDevice *device;
      StepJob *job;

      if (loom_test_skip_without_device ())
        return;
      device = new_device ();
      g_object_add_weak_pointer (G_OBJECT (device), (gpointer *) &device);
      job = start_step_job (device, 10, TRUE, cancellable, &obs);

      /* Step 1 is under way; the caller closes everything. */
      g_object_unref (device);
      g_assert_nonnull (device);  /* the job keeps it alive */
      if (cancel)
        g_cancellable_cancel (cancellable);
      allow (job, 1000);
      wait_finished (&obs);

      if (cancel)
        g_assert_error (obs.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      else
        g_assert_no_error (obs.error);
      g_clear_error (&obs.error);
      g_assert_true (obs.destroyed);

      /* The worker drops its reference to the task right after returning it. */
      for (guint tries = 0; device != NULL && tries < 500; tries++)
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (1000);
        }
      g_assert_null (device);
    }
}

static gint finalized_where;  /* 0: not yet, 1: on another thread, 2: on the main thread */

static void
device_finalized_cb (gpointer  data,
                     GObject  *where_the_object_was)
{
  GThread *main_thread = data;

  g_atomic_int_set (&finalized_where, g_thread_self () == main_thread ? 2 : 1);
}

/* When a finished job's task holds the last reference to its device, the device is
 * finalized on the caller's context, where its worker can be joined — not on the
 * worker itself, a thread nobody would join, perhaps while the process exits. */
static void
test_finalize_on_caller (void)
{
  Observer obs = { .hold_job = TRUE };
  LoomDevice *device;
  StepJob *job;

  if (loom_test_skip_without_device ())
    return;
  device = new_device ();
  g_object_weak_ref (G_OBJECT (device), device_finalized_cb, g_thread_self ());
  job = start_step_job (device, 2, FALSE, NULL, &obs);
  g_object_unref (device);

  wait_finished (&obs);
  g_assert_no_error (obs.error);
  /* The main context has let go of the task; now let the worker let go of it too. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_mutex_lock (&job->lock);
  job->released = TRUE;
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);

  for (guint tries = 0; g_atomic_int_get (&finalized_where) == 0 && tries < 5000; tries++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpint (g_atomic_int_get (&finalized_where), ==, 2);
}

/* The public job of this issue: every op checked on the device, with progress. */
static void
self_test_progress_cb (guint    done,
                       guint    total,
                       gpointer user_data)
{
  Observer *obs = user_data;

  g_assert_true (g_thread_self () == obs->main_thread);
  obs->deliveries++;
  obs->last_done = done;
  obs->last_total = total;
}

static void
self_test_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Observer *obs = user_data;

  obs->value = loom_device_self_test_finish (LOOM_DEVICE (source), result, &obs->error);
  obs->finished = TRUE;
}

static void
test_self_test (void)
{
  Observer obs = { .main_thread = g_thread_self () };

  if (loom_test_skip_without_device ())
    return;
  loom_device_self_test_async (loom_test_get_device (), self_test_progress_cb, &obs, NULL, NULL,
                               self_test_done_cb, &obs);
  wait_finished (&obs);
  g_assert_no_error (obs.error);
  g_assert_true (obs.value);
  g_assert_cmpuint (obs.deliveries, >=, 1);
  g_assert_cmpuint (obs.last_done, ==, obs.last_total);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/worker/progress-and-result", test_progress_and_result);
  g_test_add_func ("/engine/worker/progress-coalesced", test_progress_coalesced);
  g_test_add_func ("/engine/worker/cancel-before-start", test_cancel_before_start);
  g_test_add_func ("/engine/worker/cancel-between-steps", test_cancel_between_steps);
  g_test_add_func ("/engine/worker/order", test_order);
  g_test_add_func ("/engine/worker/close-mid-job", test_close_mid_job);
  g_test_add_func ("/engine/worker/finalize-on-caller", test_finalize_on_caller);
  g_test_add_func ("/engine/worker/self-test", test_self_test);

  return loom_test_run ();
}
