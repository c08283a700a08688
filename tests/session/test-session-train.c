/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Training in LatheSession: progress on the main context, one epoch end per
 * epoch; the trained student beats the untrained one and is cached under
 * its plan and options; cancelling answers "train-cancelled" and leaves
 * the session working; errors answer "train-failed". Kept small: the
 * sample MLP, a third of its units, one epoch on 5000 training samples. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "session/lathe-session.h"
#include "../lathe-test-util.h"

typedef struct {
  LatheModel   *model;
  LatheDataset *data;
  LatheSession *session;
  /* what the signals delivered */
  GArray       *progress;        /* LatheTrainProgress */
  guint64       progress_job;
  guint64       done_job, failed_job, cancelled_job;
  LatheSessionResult *done;
  char         *message;
  guint         n_done, n_failed, n_cancelled;
  LatheSessionResult *result;    /* "result", full stage */
  GThread      *main_thread;
  gboolean      off_main;
} Fixture;

static void
on_progress (LatheSession *session, guint64 job, gpointer p, Fixture *f)
{
  f->off_main |= g_thread_self () != f->main_thread;
  f->progress_job = job;
  g_array_append_val (f->progress, *(const LatheTrainProgress *) p);
}

static void
on_done (LatheSession *session, guint64 job, LatheSessionResult *r, Fixture *f)
{
  f->off_main |= g_thread_self () != f->main_thread;
  f->done_job = job;
  f->n_done++;
  g_clear_pointer (&f->done, lathe_session_result_unref);
  f->done = lathe_session_result_ref (r);
}

static void
on_failed (LatheSession *session, guint64 job, const char *message, Fixture *f)
{
  f->failed_job = job;
  f->n_failed++;
  g_free (f->message);
  f->message = g_strdup (message);
}

static void
on_cancelled (LatheSession *session, guint64 job, Fixture *f)
{
  f->cancelled_job = job;
  f->n_cancelled++;
}

static void
on_result (LatheSession *session, LatheSessionResult *r, Fixture *f)
{
  if (r->stage == LATHE_STAGE_FULL)
    {
      g_clear_pointer (&f->result, lathe_session_result_unref);
      f->result = lathe_session_result_ref (r);
    }
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) mean = NULL, std = NULL;

  f->main_thread = g_thread_self ();
  f->progress = g_array_new (FALSE, FALSE, sizeof (LatheTrainProgress));
  f->model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  f->data = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  if (f->data == NULL)
    return;
  g_assert_true (lathe_model_get_normalization (f->model, &mean, &std, &error));
  f->session = lathe_session_new (f->model, f->data, (float *) mean->data, (float *) std->data, mean->len, &error);
  g_assert_no_error (error);
  lathe_session_set_subset_size (f->session, 200);
  g_signal_connect (f->session, "train-progress", G_CALLBACK (on_progress), f);
  g_signal_connect (f->session, "train-done", G_CALLBACK (on_done), f);
  g_signal_connect (f->session, "train-failed", G_CALLBACK (on_failed), f);
  g_signal_connect (f->session, "train-cancelled", G_CALLBACK (on_cancelled), f);
  g_signal_connect (f->session, "result", G_CALLBACK (on_result), f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (f->session)
    {
      lathe_session_wait_training (f->session);
      lathe_session_wait_idle (f->session);
      /* the last deliveries hold references */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_signal_handlers_disconnect_by_data (f->session, f);
      g_assert_finalize_object (f->session);
    }
  g_clear_pointer (&f->done, lathe_session_result_unref);
  g_clear_pointer (&f->result, lathe_session_result_unref);
  g_free (f->message);
  g_array_unref (f->progress);
  g_clear_object (&f->data);
  g_clear_object (&f->model);
}

#define REQUIRE_DATA(f) \
  if ((f)->session == NULL) { g_test_skip ("dataset-fashion-mnist is not installed"); return; }

static LathePlan *
width_plan (double width)
{
  LathePlan *plan = lathe_plan_new ();
  plan->defaults.width = width;
  return plan;
}

static void
small_options (LatheTrainOptions *o)
{
  lathe_train_options_init (o);
  o->epochs = 1;
  o->train_limit = 5000;
  o->eval_samples = 500;
}

static void
wait_for (Fixture *f, guint *counter, guint want)
{
  lathe_test_iterate_until (*counter >= want);
}

static void
test_train_done (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.34);
  g_autoptr(LathePlan) other = width_plan (0.5);
  g_autoptr(LatheSessionResult) untrained = NULL;
  g_autoptr(LatheSessionResult) again = NULL;
  g_autoptr(GError) error = NULL;
  LatheTrainOptions o, o2;
  guint64 job, last_step = 0;
  guint n_ends = 0;
  gint64 t0;

  REQUIRE_DATA (f);
  small_options (&o);
  o.epochs = 2;
  untrained = lathe_session_evaluate (f->session, plan, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (untrained->trained);
  g_assert_null (untrained->epoch_loss);
  g_assert_null (lathe_session_lookup_trained (f->session, plan, &o, NULL));

  job = lathe_session_train (f->session, plan, &o, NULL);
  g_assert_cmpuint (job, >, 0);
  /* the evaluation worker keeps answering meanwhile */
  lathe_session_set_plan (f->session, other);
  wait_for (f, &f->n_done, 1);
  g_assert_cmpuint (f->n_failed, ==, 0);
  g_assert_cmpuint (f->n_cancelled, ==, 0);
  g_assert_cmpuint (f->done_job, ==, job);
  g_assert_false (f->off_main);

  /* progress: steps increase, one epoch end per epoch, the newest job */
  g_assert_cmpuint (f->progress->len, >=, 2);
  g_assert_cmpuint (f->progress_job, ==, job);
  for (guint i = 0; i < f->progress->len; i++)
    {
      const LatheTrainProgress *p = &g_array_index (f->progress, LatheTrainProgress, i);
      /* an epoch's end repeats its last step, with the accuracy */
      if (p->epoch_end)
        g_assert_cmpuint (p->global_step, >=, last_step);
      else
        g_assert_cmpuint (p->global_step, >, last_step);
      last_step = p->global_step;
      g_assert_cmpuint (p->epochs, ==, 2);
      g_assert_true (isfinite (p->loss));
      if (p->epoch_end)
        {
          n_ends++;
          g_assert_cmpuint (p->epoch, ==, n_ends);
          g_assert_cmpuint (p->step, ==, p->steps_per_epoch);
          g_assert_true (p->accuracy >= 0 && p->accuracy <= 1);
        }
    }
  g_assert_cmpuint (n_ends, ==, 2);
  g_assert_cmpuint (last_step, ==, 2 * (5000 / LATHE_TRAIN_BATCH_DEFAULT));

  /* the result: trained, with its curve, better than untrained */
  g_assert_true (f->done->trained);
  g_assert_cmpint (f->done->stage, ==, LATHE_STAGE_FULL);
  g_assert_cmpuint (f->done->n_samples, ==, lathe_dataset_get_n_samples (f->data));
  g_assert_nonnull (f->done->epoch_loss);
  g_assert_cmpuint (f->done->epoch_loss->len, ==, 2);
  g_assert_cmpuint (f->done->epoch_accuracy->len, ==, 2);
  g_assert_cmpfloat (g_array_index (f->done->epoch_loss, double, 1), <, g_array_index (f->done->epoch_loss, double, 0));
  g_assert_true (isfinite (f->done->untrained_accuracy));
  g_test_message ("width 0.34: untrained %.4f, trained 2 epochs on 5000 samples %.4f (curve %.4f, %.4f; untrained on the subset %.4f)",
                  untrained->accuracy, f->done->accuracy, g_array_index (f->done->epoch_accuracy, double, 0),
                  g_array_index (f->done->epoch_accuracy, double, 1), f->done->untrained_accuracy);
  g_assert_cmpfloat (f->done->accuracy, >, untrained->accuracy);
  g_assert_cmpuint (f->done->packed_bytes, ==, untrained->packed_bytes);
  g_assert_cmpuint (f->done->baseline_bytes, ==, untrained->baseline_bytes);
  g_assert_cmpuint (f->done->macs, ==, untrained->macs);
  g_assert_nonnull (f->done->applied);

  /* what exporting it takes: the options (no datasets), the data, the
   * student's own layers and the loop's figures */
  g_assert_cmpint (f->done->train_options.mode, ==, LATHE_TRAIN_DISTILL);
  g_assert_cmpuint (f->done->train_options.epochs, ==, 2);
  g_assert_cmpuint (f->done->train_options.train_limit, ==, 5000);
  g_assert_cmpuint (f->done->train_options.eval_samples, ==, 500);
  g_assert_null (f->done->train_options.train);
  g_assert_null (f->done->train_options.evaluation);
  g_assert_null (f->done->train_options.mean);
  g_assert_cmpstr (f->done->train_spec, ==, "fashion-mnist:train");
  g_assert_cmpuint (strlen (f->done->train_sha256), ==, 64);
  g_assert_nonnull (f->done->layers);
  g_assert_cmpuint (f->done->layers->len, ==, f->done->applied->results->len);
  g_assert_cmpuint (f->done->train_steps, ==, last_step);
  g_assert_cmpfloat (f->done->train_seconds, >, 0);
  g_assert_cmpfloat (f->done->train_samples_per_second, >, 0);
  g_assert_null (untrained->layers);
  g_assert_null (untrained->train_spec);

  /* cached: the same plan and options at once, nothing for others */
  t0 = g_get_monotonic_time ();
  again = lathe_session_lookup_trained (f->session, plan, &o, NULL);
  g_test_message ("lookup took %" G_GINT64_FORMAT " µs", g_get_monotonic_time () - t0);
  g_assert_true (again == f->done);
  g_assert_null (lathe_session_lookup_trained (f->session, other, &o, NULL));
  o2 = o;
  o2.epochs = 3;
  g_assert_null (lathe_session_lookup_trained (f->session, plan, &o2, NULL));
  g_assert_null (lathe_session_lookup_trained (f->session, plan, &o, "fashion-mnist:train[0:100]"));

  /* the evaluation worker answered the other plan meanwhile */
  lathe_session_wait_idle (f->session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_nonnull (f->result);
  g_assert_false (f->result->trained);
}

static void
test_train_sync_same (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.34);
  g_autoptr(LatheSessionResult) a = NULL, cached = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  LatheTrainOptions o;

  REQUIRE_DATA (f);
  small_options (&o);
  o.train_limit = 2000;

  /* the sync form matches what the worker computes */
  a = lathe_session_train_sync (f->session, plan, &o, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (a->trained);
  lathe_session_train (f->session, plan, &o, NULL);
  wait_for (f, &f->n_done, 1);
  g_assert_cmpuint (f->done->correct, ==, a->correct);
  g_assert_cmpmem (f->done->confusion, a->n_classes * a->n_classes * sizeof (guint64),
                   a->confusion, a->n_classes * a->n_classes * sizeof (guint64));
  cached = lathe_session_lookup_trained (f->session, plan, &o, NULL);
  g_assert_true (cached == f->done);

  g_cancellable_cancel (cancelled);
  g_assert_null (lathe_session_train_sync (f->session, plan, &o, NULL, NULL, NULL, cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_train_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.34);
  g_autoptr(LathePlan) other = width_plan (0.5);
  LatheTrainOptions o;
  guint64 job, job2;

  REQUIRE_DATA (f);
  small_options (&o);
  o.epochs = 50;

  job = lathe_session_train (f->session, plan, &o, NULL);
  lathe_test_iterate_until (f->progress->len > 0);
  lathe_session_cancel_training (f->session);
  wait_for (f, &f->n_cancelled, 1);
  g_assert_cmpuint (f->cancelled_job, ==, job);
  lathe_session_wait_training (f->session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (f->n_done, ==, 0);
  g_assert_cmpuint (f->n_failed, ==, 0);
  g_assert_cmpuint (f->n_cancelled, ==, 1);
  g_assert_null (lathe_session_lookup_trained (f->session, plan, &o, NULL));

  /* a newer job supersedes a running one */
  job = lathe_session_train (f->session, plan, &o, NULL);
  g_array_set_size (f->progress, 0);
  lathe_test_iterate_until (f->progress->len > 0);
  o.epochs = 1;
  job2 = lathe_session_train (f->session, plan, &o, NULL);
  wait_for (f, &f->n_done, 1);
  g_assert_cmpuint (f->n_cancelled, ==, 2);
  g_assert_cmpuint (f->cancelled_job, ==, job);
  g_assert_cmpuint (f->done_job, ==, job2);
  g_assert_true (f->done->trained);

  /* the session still evaluates plans */
  lathe_session_set_plan (f->session, other);
  lathe_test_iterate_until (f->result != NULL);
  g_assert_false (f->result->trained);
  g_assert_cmpuint (f->result->n_samples, ==, lathe_dataset_get_n_samples (f->data));
}

/* Cancelling a job before the worker has picked it up, from the main
 * thread: its answer still arrives, later, on the main context (this used
 * to deadlock: the answer was delivered at once, under the session's lock). */
static void
test_train_cancel_pending (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.34);
  LatheTrainOptions o;
  guint64 job, job2;

  REQUIRE_DATA (f);
  small_options (&o);

  job = lathe_session_train (f->session, plan, &o, NULL);
  lathe_session_cancel_training (f->session);
  /* delivered later, never inside the call */
  g_assert_cmpuint (f->n_cancelled, ==, 0);
  wait_for (f, &f->n_cancelled, 1);
  g_assert_cmpuint (f->cancelled_job, ==, job);

  /* a job superseded while still waiting */
  job = lathe_session_train (f->session, plan, &o, NULL);
  job2 = lathe_session_train (f->session, plan, &o, NULL);
  g_assert_cmpuint (f->n_cancelled, ==, 1);
  wait_for (f, &f->n_cancelled, 2);
  g_assert_cmpuint (f->cancelled_job, ==, job);
  lathe_session_cancel_training (f->session);
  wait_for (f, &f->n_cancelled, 3);
  g_assert_cmpuint (f->cancelled_job, ==, job2);
  lathe_session_wait_training (f->session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (f->n_done, ==, 0);
  g_assert_cmpuint (f->n_failed, ==, 0);
  g_assert_cmpuint (f->n_cancelled, ==, 3);
}

static void
test_train_failed (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.34);
  LatheTrainOptions o;
  guint64 job;

  REQUIRE_DATA (f);
  small_options (&o);
  o.lr = 0;
  job = lathe_session_train (f->session, plan, &o, NULL);
  wait_for (f, &f->n_failed, 1);
  g_assert_cmpuint (f->failed_job, ==, job);
  g_assert_nonnull (strstr (f->message, "learning rate"));

  /* hard labels from data without labels */
  small_options (&o);
  o.train = lathe_dataset_new_take (LATHE_DTYPE_UINT8, 256, 3,
                                    (gint64[]) { 1, 28, 28 }, lathe_aligned_alloc0 (256 * 784), NULL, "unlabelled");
  job = lathe_session_train (f->session, plan, &o, NULL);
  g_clear_object (&o.train);  /* the session holds its own reference */
  wait_for (f, &f->n_failed, 2);
  g_assert_cmpuint (f->failed_job, ==, job);
  g_assert_nonnull (strstr (f->message, "no labels"));

  /* a missing training split, by spec */
  small_options (&o);
  job = lathe_session_train (f->session, plan, &o, "no-such-dataset:train");
  wait_for (f, &f->n_failed, 3);
  g_assert_cmpuint (f->failed_job, ==, job);
  g_assert_nonnull (strstr (f->message, "no-such-dataset"));
  g_assert_cmpuint (f->n_done, ==, 0);
  g_assert_cmpuint (f->n_cancelled, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/lathe/engine/session/train/done", test_train_done);
  ADD ("/lathe/engine/session/train/sync", test_train_sync_same);
  ADD ("/lathe/engine/session/train/cancel", test_train_cancel);
  ADD ("/lathe/engine/session/train/cancel-pending", test_train_cancel_pending);
  ADD ("/lathe/engine/session/train/failed", test_train_failed);
  return g_test_run ();
}
