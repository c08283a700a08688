/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

#include "lathe-history.h"

static LathePlan *
plan_with_bits (int bits)
{
  LathePlan *plan = lathe_plan_new ();

  plan->defaults.bits = bits;
  return plan;
}

static void
test_plan_equal (void)
{
  g_autoptr(LathePlan) a = lathe_plan_new ();
  g_autoptr(LathePlan) b = lathe_plan_new ();
  LatheLayerSettings *s;

  g_assert_true (lathe_plan_equal (a, b));

  /* An override that repeats the default changes nothing. */
  s = lathe_plan_layer (b, "fc1.weight");
  s->bits = a->defaults.bits;
  s->set |= LATHE_FIELD_BITS;
  g_assert_true (lathe_plan_equal (a, b));
  g_assert_true (lathe_plan_equal (b, a));

  s->bits = 4;
  g_assert_false (lathe_plan_equal (a, b));
  g_assert_false (lathe_plan_equal (b, a));

  /* The same effect through the defaults plus an override back. */
  a->defaults.bits = 4;
  s = lathe_plan_layer (a, "conv1.weight");
  s->bits = 32;
  s->set |= LATHE_FIELD_BITS;
  b->defaults.bits = 4;
  g_assert_false (lathe_plan_equal (a, b));
  s = lathe_plan_layer (b, "conv1.weight");
  s->bits = 32;
  s->set |= LATHE_FIELD_BITS;
  g_assert_true (lathe_plan_equal (a, b));

  g_hash_table_insert (a->params, g_strdup ("palette.iterations"), g_strdup ("30"));
  g_assert_false (lathe_plan_equal (a, b));
  g_hash_table_insert (b->params, g_strdup ("palette.iterations"), g_strdup ("30"));
  g_assert_true (lathe_plan_equal (a, b));
  b->fold_bn = !a->fold_bn;
  g_assert_false (lathe_plan_equal (a, b));
}

static void
test_history (void)
{
  g_autoptr(LatheHistory) history = lathe_history_new ();
  g_autoptr(LathePlan) p32 = plan_with_bits (32);
  g_autoptr(LathePlan) p8 = plan_with_bits (8);
  g_autoptr(LathePlan) p4 = plan_with_bits (4);
  g_autoptr(LathePlan) p2 = plan_with_bits (2);

  lathe_history_reset (history, p32);
  g_assert_false (lathe_history_can_undo (history));
  g_assert_false (lathe_history_can_redo (history));
  g_assert_null (lathe_history_undo (history));

  /* Committing the same plan again (a drag that ended where it began) is no step. */
  g_assert_false (lathe_history_commit (history, p32));
  g_assert_true (lathe_history_commit (history, p8));
  g_assert_true (lathe_history_commit (history, p4));
  g_assert_false (lathe_history_commit (history, p4));
  g_assert_cmpuint (lathe_history_get_n_undo (history), ==, 2);

  g_assert_cmpint (lathe_history_undo (history)->defaults.bits, ==, 8);
  g_assert_cmpint (lathe_history_undo (history)->defaults.bits, ==, 32);
  g_assert_null (lathe_history_undo (history));
  g_assert_true (lathe_history_can_redo (history));
  g_assert_cmpint (lathe_history_redo (history)->defaults.bits, ==, 8);
  g_assert_cmpint (lathe_history_get_current (history)->defaults.bits, ==, 8);

  /* A new step after undoing drops what could have been redone. */
  g_assert_true (lathe_history_commit (history, p2));
  g_assert_false (lathe_history_can_redo (history));
  g_assert_null (lathe_history_redo (history));
  g_assert_cmpint (lathe_history_undo (history)->defaults.bits, ==, 8);

  lathe_history_reset (history, p4);
  g_assert_false (lathe_history_can_undo (history));
  g_assert_false (lathe_history_can_redo (history));
  g_assert_cmpint (lathe_history_get_current (history)->defaults.bits, ==, 4);
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static void
test_history_notify (void)
{
  g_autoptr(LatheHistory) history = lathe_history_new ();
  g_autoptr(LathePlan) p32 = plan_with_bits (32);
  g_autoptr(LathePlan) p8 = plan_with_bits (8);
  g_autoptr(LathePlan) p4 = plan_with_bits (4);
  guint undo_changes = 0, redo_changes = 0;

  g_signal_connect (history, "notify::can-undo", G_CALLBACK (count_notify), &undo_changes);
  g_signal_connect (history, "notify::can-redo", G_CALLBACK (count_notify), &redo_changes);
  lathe_history_reset (history, p32);
  g_assert_cmpuint (undo_changes, ==, 0);
  lathe_history_commit (history, p8);
  lathe_history_commit (history, p4);   /* still can undo: no second notify */
  g_assert_cmpuint (undo_changes, ==, 1);
  lathe_history_undo (history);
  g_assert_cmpuint (redo_changes, ==, 1);
  lathe_history_undo (history);
  g_assert_cmpuint (undo_changes, ==, 2);
  g_assert_cmpuint (redo_changes, ==, 1);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/app/plan-equal", test_plan_equal);
  g_test_add_func ("/lathe/app/history", test_history);
  g_test_add_func ("/lathe/app/history/notify", test_history_notify);
  return g_test_run ();
}
