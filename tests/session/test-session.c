/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* LatheSession: the same figures with and without the activation cache and
 * in any order of changes; the subset is stratified; the worker answers the
 * newest plan, subset first, on the main context. */

#include <string.h>

#include "core/lathe-error.h"
#include "session/lathe-session.h"
#include "../lathe-test-util.h"

typedef struct {
  LatheModel   *model;
  LatheDataset *data;
  LatheSession *session;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer name)
{
  g_autofree char *path = lathe_test_sample ((const char *) name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) mean = NULL, std = NULL;

  f->model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  f->data = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  if (f->data == NULL)
    return;
  g_assert_true (lathe_model_get_normalization (f->model, &mean, &std, &error));
  f->session = lathe_session_new (f->model, f->data, (float *) mean->data, (float *) std->data, mean->len, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer name)
{
  if (f->session)
    g_assert_finalize_object (f->session);
  g_clear_object (&f->data);
  g_clear_object (&f->model);
}

#define REQUIRE_DATA(f) \
  if ((f)->session == NULL) { g_test_skip ("dataset-fashion-mnist is not installed"); return; }

static LathePlan *
plan_with (const char *layer, int bits, double sparsity, double width)
{
  LathePlan *plan = lathe_plan_new ();
  if (layer != NULL)
    {
      LatheLayerSettings *s = lathe_plan_layer (plan, layer);
      s->bits = bits;
      s->sparsity = sparsity;
      s->width = width;
      s->set = LATHE_FIELD_BITS | LATHE_FIELD_SPARSITY | LATHE_FIELD_WIDTH;
    }
  return plan;
}

static void
assert_same (const LatheSessionResult *a,
             const LatheSessionResult *b)
{
  g_assert_cmpuint (a->n_samples, ==, b->n_samples);
  g_assert_cmpuint (a->correct, ==, b->correct);
  g_assert_cmpfloat (a->fidelity, ==, b->fidelity);
  g_assert_cmpuint (a->n_classes, ==, b->n_classes);
  g_assert_cmpmem (a->confusion, a->n_classes * a->n_classes * sizeof (guint64),
                   b->confusion, b->n_classes * b->n_classes * sizeof (guint64));
  g_assert_cmpuint (a->packed_bytes, ==, b->packed_bytes);
}

static void
test_stratified_subset (Fixture *f, gconstpointer name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheSessionResult) r = NULL;
  guint64 per_class[10] = { 0 };

  REQUIRE_DATA (f);
  r = lathe_session_evaluate (f->session, plan, LATHE_STAGE_SUBSET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->n_samples, ==, 1000);
  /* Fashion-MNIST's test set has 1000 images per class: 100 each */
  for (guint l = 0; l < 10; l++)
    for (guint p = 0; p < 10; p++)
      per_class[l] += r->confusion[l * r->n_classes + p];
  for (guint c = 0; c < 10; c++)
    g_assert_cmpuint (per_class[c], ==, 100);
  g_assert_cmpfloat (r->lo, <=, r->accuracy);
  g_assert_cmpfloat (r->hi, >=, r->accuracy);
  g_assert_cmpfloat (r->hi - r->lo, <, 0.06);
}

/* The preference for the subset's size, set before and after the cache
 * filled: still stratified, and the cache dropped with the old subset. */
static void
test_subset_size (Fixture *f, gconstpointer name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePlan) plan = plan_with ("fc2.weight", 4, 0.0, 1.0);
  g_autoptr(LatheSessionResult) before = NULL;
  g_autoptr(LatheSessionResult) r = NULL;
  g_autoptr(LatheSessionResult) full = NULL;

  REQUIRE_DATA (f);
  lathe_session_set_subset_size (f->session, 500);
  before = lathe_session_evaluate (f->session, plan, LATHE_STAGE_SUBSET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (before->n_samples, ==, 500);
  full = lathe_session_evaluate (f->session, plan, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);

  lathe_session_set_subset_size (f->session, 2000);
  r = lathe_session_evaluate (f->session, plan, LATHE_STAGE_SUBSET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->n_samples, ==, 2000);
  for (guint c = 0; c < 10; c++)
    {
      guint64 n = 0;
      for (guint p = 0; p < 10; p++)
        n += r->confusion[c * r->n_classes + p];
      g_assert_cmpuint (n, ==, 200);
    }
  g_assert_cmpuint (r->packed_bytes, ==, full->packed_bytes);
}

/* Every order of changes gives the figures a fresh, uncached evaluation
 * gives. */
static void
test_cache_is_exact (Fixture *f, gconstpointer name)
{
  const char *last = strstr ((const char *) name, "cnn") ? "fc3.weight" : "fc3.weight";
  const char *mid = "fc2.weight";
  g_autoptr(LathePlan) p_last = plan_with (last, 4, 0.5, 1.0);
  g_autoptr(LathePlan) p_mid = plan_with (mid, 3, 0.0, 0.5);
  g_autoptr(LathePlan) p_none = lathe_plan_new ();
  LathePlan *order[] = { p_none, p_last, p_mid, p_last, p_none, p_mid };
  g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_session_result_unref);
  g_autoptr(GError) error = NULL;
  gboolean any_cached = FALSE;

  REQUIRE_DATA (f);
  lathe_session_set_use_cache (f->session, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      LatheSessionResult *r = lathe_session_evaluate (f->session, order[i], LATHE_STAGE_FULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_false (r->from_cache);
      g_ptr_array_add (fresh, r);
    }
  lathe_session_set_use_cache (f->session, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      g_autoptr(LatheSessionResult) r = lathe_session_evaluate (f->session, order[i], LATHE_STAGE_FULL, NULL, &error);
      g_assert_no_error (error);
      assert_same (r, g_ptr_array_index (fresh, i));
      any_cached |= r->from_cache;
    }
  g_assert_true (any_cached);
  g_assert_cmpuint (lathe_session_get_cache_bytes (f->session), >, 0);
}

/* A change to the last layer re-runs only that layer. */
static void
test_last_layer_uses_cache (Fixture *f, gconstpointer name)
{
  g_autoptr(LathePlan) a = plan_with ("fc3.weight", 8, 0, 1.0);
  g_autoptr(LathePlan) b = plan_with ("fc3.weight", 2, 0, 1.0);
  g_autoptr(LatheSessionResult) ra = NULL, rb = NULL;
  g_autoptr(GError) error = NULL;

  REQUIRE_DATA (f);
  ra = lathe_session_evaluate (f->session, a, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  rb = lathe_session_evaluate (f->session, b, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rb->from_cache);
  g_assert_cmpuint (rb->n_samples, ==, 10000);
}

static void
test_budget (Fixture *f, gconstpointer name)
{
  g_autoptr(LathePlan) a = plan_with ("fc3.weight", 8, 0, 1.0);
  g_autoptr(LatheSessionResult) r = NULL;
  g_autoptr(GError) error = NULL;

  REQUIRE_DATA (f);
  lathe_session_set_cache_budget (f->session, 1 << 20);
  r = lathe_session_evaluate (f->session, a, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lathe_session_get_cache_bytes (f->session), <=, 1 << 20);
}

typedef struct {
  GPtrArray *results;
  char      *failure;
} Collected;

static void
on_result (LatheSession *session, LatheSessionResult *r, Collected *c)
{
  g_ptr_array_add (c->results, lathe_session_result_ref (r));
}

static void
on_failed (LatheSession *session, guint64 generation, const char *message, Collected *c)
{
  g_free (c->failure);
  c->failure = g_strdup (message);
}

static void
drain (LatheSession *session)
{
  lathe_session_wait_idle (session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_async_newest_wins (Fixture *f, gconstpointer name)
{
  g_autoptr(LathePlan) a = plan_with ("fc1.weight", 4, 0, 1.0);
  g_autoptr(LathePlan) b = plan_with ("fc1.weight", 2, 0, 1.0);
  g_autoptr(LathePlan) bad = plan_with ("no.such.weight", 4, 0, 1.0);
  Collected c = { g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_session_result_unref), NULL };
  guint64 gb;
  LatheSessionResult *last;

  REQUIRE_DATA (f);
  g_signal_connect (f->session, "result", G_CALLBACK (on_result), &c);
  g_signal_connect (f->session, "failed", G_CALLBACK (on_failed), &c);
  lathe_session_set_plan (f->session, a);
  gb = lathe_session_set_plan (f->session, b);
  drain (f->session);

  g_assert_cmpuint (c.results->len, >=, 2);
  last = g_ptr_array_index (c.results, c.results->len - 1);
  g_assert_cmpuint (last->generation, ==, gb);
  g_assert_cmpint (last->stage, ==, LATHE_STAGE_FULL);
  /* the newest plan's subset figure came before its full figure */
  g_assert_cmpint (((LatheSessionResult *) g_ptr_array_index (c.results, c.results->len - 2))->stage, ==,
                   LATHE_STAGE_SUBSET);
  for (guint i = 0; i < c.results->len; i++)
    g_assert_cmpuint (((LatheSessionResult *) g_ptr_array_index (c.results, i))->generation, <=, gb);

  lathe_session_set_plan (f->session, bad);
  drain (f->session);
  g_assert_nonnull (c.failure);
  g_assert_nonnull (strstr (c.failure, "no.such.weight"));

  g_signal_handlers_disconnect_by_data (f->session, &c);
  g_ptr_array_unref (c.results);
  g_free (c.failure);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, model, fn) \
  g_test_add (path, Fixture, model, fixture_set_up, fn, fixture_tear_down)
  ADD ("/lathe/session/stratified-subset", "fashion-mlp.onnx", test_stratified_subset);
  ADD ("/lathe/session/subset-size", "fashion-mlp.onnx", test_subset_size);
  ADD ("/lathe/session/cache-is-exact/mlp", "fashion-mlp.onnx", test_cache_is_exact);
  ADD ("/lathe/session/cache-is-exact/cnn", "fashion-cnn.onnx", test_cache_is_exact);
  ADD ("/lathe/session/last-layer-uses-cache", "fashion-cnn.onnx", test_last_layer_uses_cache);
  ADD ("/lathe/session/budget", "fashion-cnn.onnx", test_budget);
  ADD ("/lathe/session/async-newest-wins", "fashion-cnn.onnx", test_async_newest_wins);
#undef ADD
  return g_test_run ();
}
