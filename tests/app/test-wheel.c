/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-wheel"

/* The mouse wheel over sliders in a scrolled area: it scrolls the area and
 * leaves the slider alone unless the slider has keyboard focus. First the
 * guard's decision on a plain widget tree, then real wheel clicks (XTest,
 * through xdotool) over the window's layer table and "Every Layer"
 * sliders. Runs under Xvfb like test-window. */

#include <math.h>

#include <gdk/x11/gdkx.h>

#include "lathe-app-format.h"
#include "lathe-wheel-guard-private.h"

#include "app-test-util.h"

/* ---------------------------------------------------------------------- */
/* The decision, on a scrolled box of sliders                               */

typedef struct {
  GtkWidget *window;
  GtkWidget *outer;        /* scrolls: 40 sliders in 200 px */
  GtkWidget *inner;        /* inside `outer`, fits its 2 sliders */
  GtkWidget *scales[40];
  GtkWidget *inner_scale;
} Tree;

static void
tree_setup (Tree          *t,
            gconstpointer  data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *inner_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  for (guint i = 0; i < G_N_ELEMENTS (t->scales); i++)
    {
      t->scales[i] = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0, 100, 1);
      gtk_range_set_value (GTK_RANGE (t->scales[i]), 50);
      lathe_wheel_guard_attach (t->scales[i]);
      gtk_box_append (GTK_BOX (box), t->scales[i]);
    }
  t->inner_scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0, 100, 1);
  lathe_wheel_guard_attach (t->inner_scale);
  gtk_box_append (GTK_BOX (inner_box), t->inner_scale);
  gtk_box_append (GTK_BOX (inner_box), gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0, 100, 1));
  t->inner = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (t->inner), 150);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (t->inner), inner_box);
  gtk_box_append (GTK_BOX (box), t->inner);

  t->outer = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (t->outer), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (t->outer), box);
  t->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (t->window), 300, 200);
  gtk_window_set_child (GTK_WINDOW (t->window), t->outer);
  gtk_window_present (GTK_WINDOW (t->window));
  gtk_test_widget_wait_for_draw (t->window);
}

static void
tree_teardown (Tree          *t,
               gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (t->window));
  drain ();
}

static double
vscroll (GtkWidget *scrolled)
{
  return gtk_adjustment_get_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled)));
}

static void
test_guard_unfocused (Tree          *t,
                      gconstpointer  data)
{
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (t->outer));
  double step = pow (gtk_adjustment_get_page_size (v), 2.0 / 3.0);

  g_assert_cmpfloat (gtk_adjustment_get_upper (v), >, gtk_adjustment_get_page_size (v));
  g_assert_cmpfloat (vscroll (t->outer), ==, 0);

  /* one detent down: the box scrolls by GtkScrolledWindow's own step */
  g_assert_true (_lathe_wheel_guard_scroll (t->scales[1], 0, 1, GDK_SCROLL_UNIT_WHEEL));
  g_assert_cmpfloat_with_epsilon (vscroll (t->outer), step, 1e-9);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (t->scales[1])), ==, 50);

  /* touchpad pixels, and back up past the top: clamped */
  g_assert_true (_lathe_wheel_guard_scroll (t->scales[1], 0, 4, GDK_SCROLL_UNIT_SURFACE));
  g_assert_cmpfloat_with_epsilon (vscroll (t->outer), step + 10, 1e-9);
  g_assert_true (_lathe_wheel_guard_scroll (t->scales[1], 0, -50, GDK_SCROLL_UNIT_WHEEL));
  g_assert_cmpfloat (vscroll (t->outer), ==, 0);

  /* sideways: nothing scrolls that way, and the slider still keeps its value */
  g_assert_true (_lathe_wheel_guard_scroll (t->scales[1], 1, 0, GDK_SCROLL_UNIT_WHEEL));
  g_assert_cmpfloat (vscroll (t->outer), ==, 0);

  /* a scrolled window that fits its content passes the wheel outwards */
  g_assert_true (_lathe_wheel_guard_scroll (t->inner_scale, 0, 2, GDK_SCROLL_UNIT_WHEEL));
  g_assert_cmpfloat_with_epsilon (vscroll (t->outer), 2 * step, 1e-9);
  g_assert_cmpfloat (vscroll (t->inner), ==, 0);
}

static void
test_guard_focused (Tree          *t,
                    gconstpointer  data)
{
  g_assert_true (gtk_widget_grab_focus (t->scales[2]));
  g_assert_true (gtk_widget_is_focus (t->scales[2]));

  /* the focused slider takes the wheel; its neighbours still do not */
  g_assert_false (_lathe_wheel_guard_scroll (t->scales[2], 0, 1, GDK_SCROLL_UNIT_WHEEL));
  g_assert_cmpfloat (vscroll (t->outer), ==, 0);
  g_assert_true (_lathe_wheel_guard_scroll (t->scales[3], 0, 1, GDK_SCROLL_UNIT_WHEEL));
  g_assert_cmpfloat (vscroll (t->outer), >, 0);
}

/* ---------------------------------------------------------------------- */
/* Real wheel clicks over the window                                        */

static char *xdotool;

/* Moves the pointer to the middle of `widget` and clicks `button` (4 is
 * the wheel up, 5 down), through XTest as a mouse would. */
static void
wheel (GtkWidget *widget,
       int        button)
{
  GtkNative *native = gtk_widget_get_native (widget);
  GdkSurface *surface = gtk_native_get_surface (native);
  double nx, ny, x, y;
  g_autofree char *xid = NULL;
  g_autofree char *sx = NULL;
  g_autofree char *sy = NULL;
  g_autofree char *sb = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_true (GDK_IS_X11_SURFACE (surface));
  gtk_native_get_surface_transform (native, &nx, &ny);
  g_assert_true (gtk_widget_translate_coordinates (widget, GTK_WIDGET (native),
                                                   gtk_widget_get_width (widget) / 2.0,
                                                   gtk_widget_get_height (widget) / 2.0, &x, &y));
  xid = g_strdup_printf ("%lu", (unsigned long) gdk_x11_surface_get_xid (surface));
  sx = g_strdup_printf ("%d", (int) (x + nx));
  sy = g_strdup_printf ("%d", (int) (y + ny));
  sb = g_strdup_printf ("%d", button);
  {
    const char *argv[] = { xdotool, "mousemove", "--sync", "--window", xid, sx, sy, "click", sb, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 NULL, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
}

typedef struct {
  GtkAdjustment *adjustment;
  double         from;
} Moved;

static gboolean
moved (gpointer data)
{
  Moved *m = data;
  return gtk_adjustment_get_value (m->adjustment) != m->from;
}

/* Runs the main loop until `adjustment` leaves its value, or 5 s passed. */
static gboolean
wait_moved (GtkAdjustment *adjustment,
            double         from)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  Moved m = { adjustment, from };
  guint wake = g_timeout_add (20, wake_cb, NULL);
  gboolean ok;

  while (!(ok = moved (&m)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  return ok;
}

static GtkWidget *
find_scale_for (GtkWidget     *root,
                GtkAdjustment *adjustment)
{
  if (GTK_IS_SCALE (root) && gtk_range_get_adjustment (GTK_RANGE (root)) == adjustment)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_scale_for (child, adjustment);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Brings `widget` into the page's view, so the pointer can reach it. */
static void
scroll_to (GtkAdjustment *page,
           GtkWidget     *widget)
{
  GtkWidget *viewport = gtk_widget_get_ancestor (widget, GTK_TYPE_VIEWPORT);
  double x, y;

  while (gtk_widget_get_ancestor (gtk_widget_get_parent (viewport), GTK_TYPE_VIEWPORT) != NULL)
    viewport = gtk_widget_get_ancestor (gtk_widget_get_parent (viewport), GTK_TYPE_VIEWPORT);
  g_assert_true (gtk_widget_translate_coordinates (widget, gtk_widget_get_first_child (viewport), 0, 0, &x, &y));
  gtk_adjustment_set_value (page, y - 40);
  gtk_test_widget_wait_for_draw (gtk_widget_get_ancestor (widget, GTK_TYPE_WINDOW));
}

static void
test_window_wheel (void)
{
  LatheWindow *window;
  GtkWidget *table;
  GtkWidget *scale;
  GtkWidget *global;
  GtkAdjustment *page;
  LatheLayerItem *conv2;
  double before;

  if (xdotool == NULL)
    {
      g_test_skip ("xdotool is not installed");
      return;
    }
  if (!GDK_IS_X11_DISPLAY (gdk_display_get_default ()))
    {
      g_test_skip ("needs an X11 display for XTest");
      return;
    }

  window = window_new ();
  /* short, so the model page scrolls */
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 480);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-sample", NULL));
  g_assert_true (wait_until (window, model_shown));
  g_assert_null (_lathe_window_get_error (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));

  table = GTK_WIDGET (_lathe_window_get_layer_table (window));
  /* the table's own scrolled window, then the page's */
  page = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (
           gtk_widget_get_ancestor (gtk_widget_get_parent (table), GTK_TYPE_SCROLLED_WINDOW)));
  g_assert_cmpfloat (gtk_adjustment_get_upper (page), >, gtk_adjustment_get_page_size (page));
  conv2 = find_item (window, "conv2.weight");
  g_assert_nonnull (conv2);

  /* -- a layer's bits slider, not focused: the wheel scrolls the page */
  scale = find_scale (table, "Bits for conv2.weight");
  g_assert_nonnull (scale);
  scroll_to (page, scale);
  g_assert_false (gtk_widget_is_focus (scale));
  before = gtk_adjustment_get_value (page);
  wheel (scale, 5);
  g_assert_true (wait_moved (page, before));
  g_assert_cmpfloat (gtk_adjustment_get_value (page), >, before);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (scale)), ==, lathe_position_for_bits (32));
  g_assert_cmpint (lathe_layer_item_get_bits (conv2), ==, 32);

  /* focused (clicked or tabbed to), it takes the wheel: down is one mark
   * lower, as GtkScale turns a vertical wheel on a horizontal scale */
  scroll_to (page, scale);
  g_assert_true (gtk_widget_grab_focus (scale));
  before = gtk_adjustment_get_value (page);
  wheel (scale, 5);
  g_assert_true (wait_moved (gtk_range_get_adjustment (GTK_RANGE (scale)), lathe_position_for_bits (32)));
  g_assert_cmpint (lathe_layer_item_get_bits (conv2), ==, 16);
  g_assert_cmpfloat (gtk_adjustment_get_value (page), ==, before);

  /* -- the "Every Layer" bits slider, not focused */
  global = find_scale_for (GTK_WIDGET (window), _lathe_window_get_bits_adjustment (window));
  g_assert_nonnull (global);
  scroll_to (page, global);
  g_assert_false (gtk_widget_is_focus (global));
  before = gtk_adjustment_get_value (page);
  wheel (global, 5);
  g_assert_true (wait_moved (page, before));
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (global)), ==, lathe_position_for_bits (32));
  g_assert_cmpint (lathe_layer_item_get_bits (conv2), ==, 16);

  g_assert_true (wait_until (window, measured));
  window_free (window);
}

int
main (int   argc,
      char *argv[])
{
  app_test_init (&argc, &argv);
  xdotool = g_find_program_in_path ("xdotool");

  g_test_add ("/lathe/app/wheel/guard/unfocused", Tree, NULL, tree_setup, test_guard_unfocused, tree_teardown);
  g_test_add ("/lathe/app/wheel/guard/focused", Tree, NULL, tree_setup, test_guard_focused, tree_teardown);
  g_test_add_func ("/lathe/app/wheel/window", test_window_wheel);
  return g_test_run ();
}
