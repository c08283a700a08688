/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>
#include <math.h>

#include "lathe-chart-draw-private.h"
#include "lathe-training-draw.h"

#define MARGIN 12.0
#define GAP    14.0    /* between the two plots */
#define DOT     3.5

typedef struct {
  double lo, hi, step;
} Scale;

static double
y_of (const LatheChartRect *plot,
      const Scale          *s,
      double                v)
{
  return plot->y + plot->height - (v - s->lo) / (s->hi - s->lo) * plot->height;
}

double
lathe_chart_training_x (const LatheChartRect *plot,
                        guint                 epochs,
                        double                x)
{
  return plot->x + x / MAX (epochs, 1) * plot->width;
}

/* A scale over [lo, hi] on nice steps, never empty. */
static Scale
scale_for (double lo,
           double hi,
           double floor_lo,
           double ceil_hi)
{
  Scale s;

  if (!(hi > lo))
    {
      double pad = fabs (hi) > 0 ? fabs (hi) * 0.05 : 0.5;
      lo -= pad;
      hi += pad;
    }
  s.step = _lathe_chart_nice_step (hi - lo, 3);
  s.lo = MAX (floor (lo / s.step) * s.step, floor_lo);
  s.hi = MIN (ceil (hi / s.step) * s.step, ceil_hi);
  if (!(s.hi > s.lo))
    s.hi = s.lo + s.step;
  return s;
}

static void
draw_frame (cairo_t                 *cr,
            const LatheChartPalette *p,
            const LatheChartRect    *plot,
            const Scale             *s,
            guint                    epochs,
            gboolean                 x_labels)
{
  double x_step = epochs <= 10 ? 1 : MAX (1, round (_lathe_chart_nice_step (epochs, 5)));

  cairo_save (cr);
  cairo_set_line_width (cr, 1);
  _lathe_chart_set_color (cr, &p->grid);
  for (double v = s->lo; v <= s->hi + s->step * 1e-6; v += s->step)
    {
      double y = y_of (plot, s, v);
      g_autofree char *label = _lathe_chart_format_step (v, s->step);

      _lathe_chart_crisp_line (cr, plot->x, y, plot->x + plot->width, y);
      _lathe_chart_draw_text (cr, p, &p->dim_text, 0.85, FALSE, label, plot->x - 6, y,
                              LATHE_CHART_ALIGN_END, LATHE_CHART_ALIGN_CENTER);
    }
  cairo_stroke (cr);
  for (double e = 0; e <= epochs + 1e-9; e += x_step)
    {
      double x = lathe_chart_training_x (plot, epochs, e);

      _lathe_chart_set_color (cr, &p->grid);
      _lathe_chart_crisp_line (cr, x, plot->y, x, plot->y + plot->height);
      cairo_stroke (cr);
      if (x_labels)
        {
          g_autofree char *label = g_strdup_printf ("%g", e);
          _lathe_chart_draw_text (cr, p, &p->dim_text, 0.85, FALSE, label, x, plot->y + plot->height + 4,
                                  LATHE_CHART_ALIGN_CENTER, LATHE_CHART_ALIGN_START);
        }
    }
  _lathe_chart_set_color (cr, &p->axis);
  _lathe_chart_crisp_line (cr, plot->x, plot->y + plot->height, plot->x + plot->width, plot->y + plot->height);
  _lathe_chart_crisp_line (cr, plot->x, plot->y, plot->x, plot->y + plot->height);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* A polyline through the finite points, with dots when `dots`. */
static void
draw_series (cairo_t               *cr,
             const LatheChartRect  *plot,
             const Scale           *s,
             guint                  epochs,
             const double          *x,
             const double          *y,
             guint                  n,
             const LatheChartColor *color,
             double                 line_width,
             gboolean               dots,
             gboolean               per_epoch)
{
  gboolean started = FALSE;
  double last_epoch = -1;

  cairo_save (cr);
  cairo_rectangle (cr, plot->x - DOT - 1, plot->y - DOT - 1, plot->width + 2 * DOT + 2, plot->height + 2 * DOT + 2);
  cairo_clip (cr);
  _lathe_chart_set_color (cr, color);
  cairo_set_line_width (cr, line_width);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint i = 0; i < n; i++)
    {
      double px, py;
      if (!isfinite (y[i]))
        continue;
      px = lathe_chart_training_x (plot, epochs, x[i]);
      py = y_of (plot, s, y[i]);
      /* each epoch's running mean starts afresh: no line across epochs */
      if (per_epoch && ceil (x[i] - 1e-9) != last_epoch)
        started = FALSE;
      last_epoch = ceil (x[i] - 1e-9);
      if (started)
        cairo_line_to (cr, px, py);
      else
        cairo_move_to (cr, px, py);
      started = TRUE;
    }
  cairo_stroke (cr);
  for (guint i = 0; dots && i < n; i++)
    if (isfinite (y[i]))
      {
        cairo_new_sub_path (cr);
        cairo_arc (cr, lathe_chart_training_x (plot, epochs, x[i]), y_of (plot, s, y[i]), DOT, 0, 2 * G_PI);
        cairo_fill (cr);
      }
  cairo_restore (cr);
}

void
lathe_chart_draw_training (cairo_t                  *cr,
                           int                       width,
                           int                       height,
                           const LatheChartPalette  *p,
                           const LatheTrainingCurve *c,
                           LatheChartRect           *loss_plot_out,
                           LatheChartRect           *accuracy_plot_out)
{
  g_autoptr(GArray) xs = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) acc = g_array_new (FALSE, FALSE, sizeof (double));
  LatheChartRect loss_plot, acc_plot;
  double th = _lathe_chart_text_height (cr, p, 0.9);
  double tick_h = _lathe_chart_text_height (cr, p, 0.85);
  double left, plots_h, lx, half_zero;
  double loss_lo = INFINITY, loss_hi = -INFINITY, acc_lo = INFINITY, acc_hi = -INFINITY;
  guint epochs = MAX (c->epochs, c->n_done);
  Scale ls, as;

  g_return_if_fail (cr != NULL && p != NULL && c != NULL);

  epochs = MAX (epochs, 1);
  _lathe_chart_fill_background (cr, width, height, p);

  for (guint i = 0; i < c->n_done; i++)
    if (isfinite (c->epoch_loss[i]))
      loss_lo = MIN (loss_lo, c->epoch_loss[i]), loss_hi = MAX (loss_hi, c->epoch_loss[i]);
  for (guint i = 0; i < c->n_steps; i++)
    if (isfinite (c->step_loss[i]))
      loss_lo = MIN (loss_lo, c->step_loss[i]), loss_hi = MAX (loss_hi, c->step_loss[i]);
  if (isfinite (c->untrained_accuracy))
    {
      double zero = 0;
      g_array_append_val (xs, zero);
      g_array_append_val (acc, c->untrained_accuracy);
    }
  for (guint i = 0; i < c->n_done; i++)
    {
      double x = i + 1;
      g_array_append_val (xs, x);
      g_array_append_val (acc, c->epoch_accuracy[i]);
    }
  for (guint i = 0; i < acc->len; i++)
    {
      double *a = &g_array_index (acc, double, i);
      *a *= 100;
      if (isfinite (*a))
        acc_lo = MIN (acc_lo, *a), acc_hi = MAX (acc_hi, *a);
    }

  /* Left gutter for the widest tick label, both plots aligned on it */
  half_zero = _lathe_chart_text_width (cr, p, 0.85, FALSE, "0") / 2;
  left = MARGIN + MAX (_lathe_chart_text_width (cr, p, 0.85, FALSE, "100.0"),
                       _lathe_chart_text_width (cr, p, 0.85, FALSE, _("Epoch")) + half_zero + 6) + 8;
  plots_h = height - 2 * MARGIN - 2 * (th + 6) - GAP - (tick_h + 6);
  loss_plot = (LatheChartRect) { left, MARGIN + th + 6, MAX (width - left - MARGIN, 10), MAX (plots_h / 2, 10) };
  acc_plot = loss_plot;
  acc_plot.y = loss_plot.y + loss_plot.height + GAP + th + 6;
  if (loss_plot_out)
    *loss_plot_out = loss_plot;
  if (accuracy_plot_out)
    *accuracy_plot_out = acc_plot;

  if (!isfinite (loss_lo) && !isfinite (acc_lo))
    {
      cairo_save (cr);
      _lathe_chart_set_color (cr, &p->axis);
      cairo_set_line_width (cr, 1);
      cairo_rectangle (cr, floor (loss_plot.x) + 0.5, floor (loss_plot.y) + 0.5, floor (loss_plot.width),
                       floor (acc_plot.y + acc_plot.height - loss_plot.y));
      cairo_stroke (cr);
      cairo_restore (cr);
      _lathe_chart_draw_text (cr, p, &p->dim_text, 1.0, FALSE, _("No training yet"),
                              loss_plot.x + loss_plot.width / 2, (loss_plot.y + acc_plot.y + acc_plot.height) / 2,
                              LATHE_CHART_ALIGN_CENTER, LATHE_CHART_ALIGN_CENTER);
      return;
    }

  /* Loss: from 0, so a fall reads as its true share */
  ls = scale_for (isfinite (loss_lo) ? MIN (0, loss_lo) : 0, isfinite (loss_hi) ? loss_hi * 1.05 : 1,
                  -INFINITY, INFINITY);
  as = scale_for (isfinite (acc_lo) ? acc_lo - 1 : 0, isfinite (acc_hi) ? acc_hi + 1 : 100, 0, 100);

  /* titles with the legend */
  lx = loss_plot.x;
  _lathe_chart_draw_text (cr, p, &p->text, 0.9, TRUE, _("Training loss"), lx, MARGIN,
                          LATHE_CHART_ALIGN_START, LATHE_CHART_ALIGN_START);
  lx += _lathe_chart_text_width (cr, p, 0.9, TRUE, _("Training loss")) + 16;
  _lathe_chart_legend_item (cr, p, &lx, MARGIN, width - MARGIN, &p->front, 0, _("epoch mean"));
  _lathe_chart_legend_item (cr, p, &lx, MARGIN, width - MARGIN, &p->point, 2, _("within the epoch"));
  lx = acc_plot.x;
  _lathe_chart_draw_text (cr, p, &p->text, 0.9, TRUE, _("Accuracy (%)"), lx, acc_plot.y - th - 6,
                          LATHE_CHART_ALIGN_START, LATHE_CHART_ALIGN_START);
  lx += _lathe_chart_text_width (cr, p, 0.9, TRUE, _("Accuracy (%)")) + 16;
  _lathe_chart_legend_item (cr, p, &lx, acc_plot.y - th - 6, width - MARGIN, &p->current, 0, _("after each epoch"));
  if (isfinite (c->untrained_accuracy))
    _lathe_chart_legend_item (cr, p, &lx, acc_plot.y - th - 6, width - MARGIN, &p->dim_text, 5, _("untrained"));

  draw_frame (cr, p, &loss_plot, &ls, epochs, FALSE);
  draw_frame (cr, p, &acc_plot, &as, epochs, TRUE);
  /* the axis name in the gutter, left of the "0" tick */
  _lathe_chart_draw_text (cr, p, &p->dim_text, 0.85, FALSE, _("Epoch"), acc_plot.x - half_zero - 6,
                          acc_plot.y + acc_plot.height + 4, LATHE_CHART_ALIGN_END, LATHE_CHART_ALIGN_START);

  /* the untrained figure as a dashed rule across */
  if (isfinite (c->untrained_accuracy))
    {
      static const double dash[] = { 4, 3 };
      double y = y_of (&acc_plot, &as, c->untrained_accuracy * 100);

      cairo_save (cr);
      _lathe_chart_set_color (cr, &p->dim_text);
      cairo_set_line_width (cr, 1);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      _lathe_chart_crisp_line (cr, acc_plot.x, y, acc_plot.x + acc_plot.width, y);
      cairo_stroke (cr);
      cairo_restore (cr);
    }

  draw_series (cr, &loss_plot, &ls, epochs, c->step_x, c->step_loss, c->n_steps, &p->point, 1.5, FALSE, TRUE);
  {
    g_autofree double *ex = g_new (double, MAX (c->n_done, 1));
    for (guint i = 0; i < c->n_done; i++)
      ex[i] = i + 1;
    draw_series (cr, &loss_plot, &ls, epochs, ex, c->epoch_loss, c->n_done, &p->front, 2, TRUE, FALSE);
  }
  draw_series (cr, &acc_plot, &as, epochs, (double *) xs->data, (double *) acc->data, acc->len, &p->current, 2, TRUE, FALSE);
}
