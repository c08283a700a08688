/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-bench"

/* LatheSession benchmark (meson test --benchmark -v): on each sample, the
 * time of a full evaluation, of a re-evaluation after a change to the last
 * layer (activation cache warm), and the latency from a plan change to the
 * subset figure and to the full-set figure through the worker and the main
 * loop. Figures only. */

#include "session/lathe-session.h"
#include "../lathe-test-util.h"

#define REPEATS 5

typedef struct {
  GMainLoop *loop;
  gint64     t0;
  double     subset_ms;
  double     full_ms;
  guint64    generation;
} Timing;

static void
on_result (LatheSession *s, LatheSessionResult *r, Timing *t)
{
  if (r->generation != t->generation)
    return;
  if (r->stage == LATHE_STAGE_SUBSET)
    t->subset_ms = (g_get_monotonic_time () - t->t0) / 1e3;
  else
    {
      t->full_ms = (g_get_monotonic_time () - t->t0) / 1e3;
      g_main_loop_quit (t->loop);
    }
}

static LathePlan *
plan_bits (const char *layer, int bits)
{
  LathePlan *plan = lathe_plan_new ();
  LatheLayerSettings *s = lathe_plan_layer (plan, layer);
  s->bits = bits;
  s->set = LATHE_FIELD_BITS;
  return plan;
}

static void
bench (const char *name, const char *first_layer, const char *last_layer)
{
  g_autofree char *file = g_strdup_printf ("%s.onnx", name);
  g_autofree char *path = lathe_test_sample (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(LatheDataset) data = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  g_autoptr(GArray) mean = NULL, std = NULL;
  g_autoptr(LatheSession) session = NULL;
  g_autoptr(LatheSessionResult) base = NULL;
  double full = G_MAXDOUBLE, inc = G_MAXDOUBLE;
  Timing t = { 0 };
  double sub_last = G_MAXDOUBLE, full_last = G_MAXDOUBLE, sub_first = G_MAXDOUBLE, full_first = G_MAXDOUBLE;

  if (model == NULL || data == NULL)
    g_error ("%s", error->message);
  lathe_model_get_normalization (model, &mean, &std, NULL);
  session = lathe_session_new (model, data, (float *) mean->data, (float *) std->data, mean->len, &error);
  base = lathe_session_get_baseline (session, NULL, &error);

  for (int r = 0; r < REPEATS; r++)
    {
      g_autoptr(LathePlan) a = plan_bits (last_layer, 8);
      g_autoptr(LathePlan) b = plan_bits (last_layer, 4 - (r % 2));
      g_autoptr(LatheSessionResult) ra = NULL, rb = NULL, rc = NULL;

      lathe_session_set_use_cache (session, FALSE);
      rc = lathe_session_evaluate (session, a, LATHE_STAGE_FULL, NULL, &error);
      full = MIN (full, rc->seconds);
      lathe_session_set_use_cache (session, TRUE);
      ra = lathe_session_evaluate (session, a, LATHE_STAGE_FULL, NULL, &error);
      rb = lathe_session_evaluate (session, b, LATHE_STAGE_FULL, NULL, &error);
      g_assert (rb->from_cache);
      inc = MIN (inc, rb->seconds);
    }

  t.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (session, "result", G_CALLBACK (on_result), &t);
  for (int r = 0; r < REPEATS; r++)
    {
      /* warm: the subset and the full set were evaluated for a plan that
       * differs from the next one in the last layer only */
      g_autoptr(LathePlan) warm = plan_bits (last_layer, 8);
      g_autoptr(LathePlan) next = plan_bits (last_layer, 4 - (r % 2));
      g_autoptr(LathePlan) first = plan_bits (first_layer, 4 - (r % 2));

      t.generation = lathe_session_set_plan (session, warm);
      t.t0 = g_get_monotonic_time ();
      g_main_loop_run (t.loop);

      t.t0 = g_get_monotonic_time ();
      t.generation = lathe_session_set_plan (session, next);
      g_main_loop_run (t.loop);
      sub_last = MIN (sub_last, t.subset_ms);
      full_last = MIN (full_last, t.full_ms);

      t.t0 = g_get_monotonic_time ();
      t.generation = lathe_session_set_plan (session, first);
      g_main_loop_run (t.loop);
      sub_first = MIN (sub_first, t.subset_ms);
      full_first = MIN (full_first, t.full_ms);
    }
  g_signal_handlers_disconnect_by_data (session, &t);
  g_main_loop_unref (t.loop);

  g_print ("%s: 10000 test images, best of %d\n", name, REPEATS);
  g_print ("  full evaluation (apply + run, no cache)        %7.1f ms\n", full * 1e3);
  g_print ("  after a change to %-12s (cache warm)    %7.1f ms  = %.0f %% of a full evaluation\n",
           last_layer, inc * 1e3, 100 * inc / full);
  g_print ("  plan change -> subset figure / full figure, last layer  %6.1f ms / %6.1f ms\n", sub_last, full_last);
  g_print ("  plan change -> subset figure / full figure, first layer %6.1f ms / %6.1f ms\n", sub_first, full_first);
  g_print ("  activation cache: %.1f MB\n", lathe_session_get_cache_bytes (session) / 1e6);
}

int
main (int argc, char **argv)
{
  if (!g_file_test ("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    return 77;
  bench ("fashion-cnn", "conv1.weight", "fc3.weight");
  bench ("fashion-mlp", "fc1.weight", "fc3.weight");
  return 0;
}
