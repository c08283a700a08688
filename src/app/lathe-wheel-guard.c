/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include "lathe-wheel-guard-private.h"

/* GtkScrolledWindow's own steps (gtkscrolledwindow.c, GTK 4.8): a wheel
 * detent moves page_size^(2/3) pixels, a touchpad's pixel 2.5. */
#define SURFACE_SCROLL_FACTOR 2.5

static gboolean
can_scroll (GtkAdjustment *adjustment)
{
  return gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_lower (adjustment) >
         gtk_adjustment_get_page_size (adjustment) + 0.5;
}

static void
scroll_adjustment (GtkAdjustment *adjustment,
                   double         delta,
                   GdkScrollUnit  unit)
{
  if (unit == GDK_SCROLL_UNIT_WHEEL)
    delta *= pow (gtk_adjustment_get_page_size (adjustment), 2.0 / 3.0);
  else
    delta *= SURFACE_SCROLL_FACTOR;
  /* set_value clamps to the content */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + delta);
}

/* The innermost scrolled window above `widget` that can move along the
 * axis, as GTK hands a scroll to the first one with a scrollbar. */
static GtkAdjustment *
scrollable_ancestor (GtkWidget      *widget,
                     GtkOrientation  orientation)
{
  for (GtkWidget *w = gtk_widget_get_parent (widget); w != NULL; w = gtk_widget_get_parent (w))
    {
      GtkAdjustment *adjustment;

      if (!GTK_IS_SCROLLED_WINDOW (w))
        continue;
      adjustment = orientation == GTK_ORIENTATION_VERTICAL
                 ? gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (w))
                 : gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (w));
      if (can_scroll (adjustment))
        return adjustment;
    }
  return NULL;
}

gboolean
_lathe_wheel_guard_scroll (GtkWidget     *range,
                           double         dx,
                           double         dy,
                           GdkScrollUnit  unit)
{
  GtkAdjustment *adjustment;

  g_return_val_if_fail (GTK_IS_RANGE (range), FALSE);

  /* A slider the user picked takes the wheel. */
  if (gtk_widget_is_focus (range))
    return FALSE;

  /* Otherwise the value never changes, even with nothing to scroll: the
   * wheel over a slider means the same thing in every list. */
  if (dy != 0 && (adjustment = scrollable_ancestor (range, GTK_ORIENTATION_VERTICAL)) != NULL)
    scroll_adjustment (adjustment, dy, unit);
  if (dx != 0 && (adjustment = scrollable_ancestor (range, GTK_ORIENTATION_HORIZONTAL)) != NULL)
    scroll_adjustment (adjustment, dx, unit);
  return TRUE;
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           gpointer                  user_data)
{
  GtkWidget *range = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));

  /* Shift turns the wheel sideways, as in a scrolled window. */
  if (gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller)) & GDK_SHIFT_MASK)
    {
      double t = dx;
      dx = dy;
      dy = t;
    }
  return _lathe_wheel_guard_scroll (range, dx, dy, gtk_event_controller_scroll_get_unit (controller));
}

void
lathe_wheel_guard_attach (GtkWidget *range)
{
  GtkEventController *controller;

  g_return_if_fail (GTK_IS_RANGE (range));

  /* Capture phase: this runs before the range's own scroll controller,
   * and a handled event goes no further, so the range never sees it. */
  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  gtk_event_controller_set_name (controller, "lathe-wheel-guard");
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), NULL);
  gtk_widget_add_controller (range, controller);
}
