/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>
#include <math.h>

#include "lathe-app-format.h"
#include "lathe-chart-style-private.h"
#include "lathe-plane-chart-private.h"

struct _LathePlaneChart {
  GtkWidget  parent_instance;

  GArray    *points;        /* LathePlanePoint */
  int        current;
  int        selected;
  LatheChartHover hover;    /* hits: a LatheChartRect per point */
  char      *description;
};

G_DEFINE_FINAL_TYPE (LathePlaneChart, lathe_plane_chart, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_CURRENT,
  PROP_SELECTED,
  N_PROPS
};

enum {
  POINT_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* A saved image has no hover, selection or focus. */
static void
paint (GtkWidget               *widget,
       cairo_t                 *cr,
       int                      width,
       int                      height,
       const LatheChartPalette *palette,
       gboolean                 live)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (widget);
  /* focused with nothing selected yet: the keys start from the current one */
  int selected = self->selected >= 0 ? self->selected : self->current;

  lathe_chart_draw_plane (cr, width, height, palette,
                          (const LathePlanePoint *) self->points->data, self->points->len,
                          self->current, live ? selected : -1, live && gtk_widget_has_focus (widget),
                          live ? self->hover.hover : -1, NULL, live ? self->hover.hits : NULL);
}

static void
lathe_plane_chart_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  _lathe_chart_snapshot (widget, snapshot, paint);
}

static void
lathe_plane_chart_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 260 : 200;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 520 : 320;
}

static char *
describe_point (const LathePlanePoint *pt)
{
  g_autofree char *size = g_format_size (pt->bytes);
  g_autofree char *acc = lathe_format_accuracy (pt->accuracy);

  if (pt->trained)
    /* translators: a trained student's packed size and accuracy */
    return g_strdup_printf (_("%s, %s (trained student)"), size, acc);
  /* translators: a configuration's packed size and accuracy */
  return g_strdup_printf (_("%s, %s"), size, acc);
}

static void
update_description (LathePlaneChart *self)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint n = self->points->len;

  g_string_append_printf (out, ngettext ("%u configuration measured", "%u configurations measured", n), n);
  if (self->current >= 0)
    {
      g_autofree char *pt = describe_point (&g_array_index (self->points, LathePlanePoint, self->current));
      g_string_append (out, "; ");
      g_string_append_printf (out, _("current: %s"), pt);
    }
  if (n > 0)
    {
      g_autoptr(GArray) front = lathe_chart_pareto_front ((const LathePlanePoint *) self->points->data, n);
      g_string_append (out, "; ");
      g_string_append (out, _("Pareto front:"));
      for (guint k = 0; k < front->len; k++)
        {
          const LathePlanePoint *pt = &g_array_index (self->points, LathePlanePoint, g_array_index (front, guint, k));
          g_autofree char *size = g_format_size (pt->bytes);
          g_autofree char *acc = lathe_format_accuracy (pt->accuracy);
          g_string_append (out, k ? ", " : " ");
          /* translators: a point of the Pareto front: size at accuracy */
          g_string_append_printf (out, _("%s at %s"), size, acc);
        }
    }
  _lathe_chart_set_description (GTK_WIDGET (self), &self->description, g_steal_pointer (&out));
}

static void
changed (LathePlaneChart *self)
{
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
activate_point (LathePlaneChart *self,
                int              index)
{
  if (index < 0 || (guint) index >= self->points->len)
    return;
  g_signal_emit (self, signals[POINT_ACTIVATED], 0, (guint) index);
}

/* The point whose centre is nearest to (x, y), within its hit square. */
static int
point_at (GArray *hits,
          double  x,
          double  y)
{
  double best = INFINITY;
  int found = -1;

  for (guint i = 0; i < hits->len; i++)
    {
      const LatheChartRect *r = &g_array_index (hits, LatheChartRect, i);
      double dx = x - (r->x + r->width / 2), dy = y - (r->y + r->height / 2);
      if (x >= r->x && x < r->x + r->width && y >= r->y && y < r->y + r->height && dx * dx + dy * dy < best)
        best = dx * dx + dy * dy, found = (int) i;
    }
  return found;
}

void
_lathe_plane_chart_press (LathePlaneChart *self,
                          double           x,
                          double           y)
{
  int index = point_at (self->hover.hits, x, y);

  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (index < 0)
    return;
  lathe_plane_chart_set_selected (self, index);
  activate_point (self, index);
}

gboolean
_lathe_plane_chart_get_point_position (LathePlaneChart *self,
                                       guint            index,
                                       double          *x,
                                       double          *y)
{
  const LatheChartRect *r;

  if (index >= self->hover.hits->len)
    return FALSE;
  r = &g_array_index (self->hover.hits, LatheChartRect, index);
  *x = r->x + r->width / 2;
  *y = r->y + r->height / 2;
  return TRUE;
}

static void
pressed (GtkGestureClick *gesture,
         int              n_press,
         double           x,
         double           y,
         LathePlaneChart *self)
{
  _lathe_plane_chart_press (self, x, y);
}

static gboolean
query_tooltip (GtkWidget  *widget,
               int         x,
               int         y,
               gboolean    keyboard,
               GtkTooltip *tooltip,
               gpointer    data)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (widget);
  int index = keyboard ? self->selected : point_at (self->hover.hits, x, y);
  const LathePlanePoint *pt;
  g_autofree char *size = NULL, *acc = NULL, *lo = NULL, *hi = NULL, *text = NULL;

  if (index < 0 || (guint) index >= self->points->len)
    return FALSE;
  pt = &g_array_index (self->points, LathePlanePoint, index);
  size = g_format_size (pt->bytes);
  acc = lathe_format_accuracy (pt->accuracy);
  lo = lathe_format_accuracy (pt->lo);
  hi = lathe_format_accuracy (pt->hi);
  /* translators: plan number, size, accuracy, its 95 % interval, and which data measured it */
  text = g_strdup_printf (_("Plan %u: %s, %s (95 %% interval %s – %s), %s"), pt->plan_id, size, acc, lo, hi,
                          pt->full_set ? _("full evaluation set") : _("subset only"));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

typedef struct {
  const LathePlanePoint *points;
  gboolean               by_accuracy;
} Order;

/* Indices by size or by accuracy, ties by index. */
static int
compare_order (gconstpointer a,
               gconstpointer b,
               gpointer      data)
{
  const Order *o = data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  double x = o->by_accuracy ? o->points[i].accuracy : (double) o->points[i].bytes;
  double y = o->by_accuracy ? o->points[j].accuracy : (double) o->points[j].bytes;

  if (x != y)
    return x < y ? -1 : 1;
  return (i > j) - (i < j);
}

static void
move_selection (LathePlaneChart *self,
                gboolean         by_accuracy,
                int              step)
{
  g_autoptr(GArray) order = g_array_sized_new (FALSE, FALSE, sizeof (guint), self->points->len);
  int start = self->selected >= 0 ? self->selected : self->current;
  guint pos = 0;

  if (self->points->len == 0)
    return;
  for (guint i = 0; i < self->points->len; i++)
    g_array_append_val (order, i);
  g_array_sort_with_data (order, compare_order,
                          &(Order) { (const LathePlanePoint *) self->points->data, by_accuracy });
  if (start < 0)
    {
      lathe_plane_chart_set_selected (self, (int) g_array_index (order, guint, 0));
      return;
    }
  for (guint k = 0; k < order->len; k++)
    if ((int) g_array_index (order, guint, k) == start)
      pos = k;
  pos = (guint) CLAMP ((int) pos + step, 0, (int) order->len - 1);
  lathe_plane_chart_set_selected (self, (int) g_array_index (order, guint, pos));
}

static void
select_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (widget);

  if (g_str_equal (action_name, "chart.select-left"))
    move_selection (self, FALSE, -1);
  else if (g_str_equal (action_name, "chart.select-right"))
    move_selection (self, FALSE, +1);
  else if (g_str_equal (action_name, "chart.select-down"))
    move_selection (self, TRUE, -1);
  else if (g_str_equal (action_name, "chart.select-up"))
    move_selection (self, TRUE, +1);
}

static void
activate_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (widget);
  activate_point (self, self->selected);
}

static void
focus_changed (GtkEventControllerFocus *controller,
               LathePlaneChart         *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
lathe_plane_chart_finalize (GObject *object)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (object);

  g_clear_pointer (&self->points, g_array_unref);
  _lathe_chart_hover_clear (&self->hover);
  g_clear_pointer (&self->description, g_free);
  G_OBJECT_CLASS (lathe_plane_chart_parent_class)->finalize (object);
}

static void
lathe_plane_chart_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (object);

  switch (prop_id)
    {
    case PROP_CURRENT:
      g_value_set_int (value, self->current);
      break;
    case PROP_SELECTED:
      g_value_set_int (value, self->selected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_plane_chart_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  LathePlaneChart *self = LATHE_PLANE_CHART (object);

  switch (prop_id)
    {
    case PROP_CURRENT:
      lathe_plane_chart_set_current (self, g_value_get_int (value));
      break;
    case PROP_SELECTED:
      lathe_plane_chart_set_selected (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_plane_chart_class_init (LathePlaneChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = lathe_plane_chart_finalize;
  object_class->get_property = lathe_plane_chart_get_property;
  object_class->set_property = lathe_plane_chart_set_property;
  widget_class->snapshot = lathe_plane_chart_snapshot;
  widget_class->measure = lathe_plane_chart_measure;

  properties[PROP_CURRENT] =
    g_param_spec_int ("current", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] =
    g_param_spec_int ("selected", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);

  /* Left/Right walk the points by size, Up/Down by accuracy; Enter
   * restores the selected one. */
  gtk_widget_class_install_action (widget_class, "chart.select-left", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "chart.select-right", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "chart.select-up", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "chart.select-down", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "chart.activate-selected", NULL, activate_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "chart.select-left", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Left, 0, "chart.select-left", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "chart.select-right", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Right, 0, "chart.select-right", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "chart.select-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Up, 0, "chart.select-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "chart.select-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Down, 0, "chart.select-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "chart.activate-selected", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0, "chart.activate-selected", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_ISO_Enter, 0, "chart.activate-selected", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "chart.activate-selected", NULL);

  gtk_widget_class_set_css_name (widget_class, "planechart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lathe_plane_chart_init (LathePlaneChart *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *focus = gtk_event_controller_focus_new ();

  self->points = g_array_new (FALSE, FALSE, sizeof (LathePlanePoint));
  self->current = self->selected = -1;

  gtk_widget_set_focusable (widget, TRUE);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));
  _lathe_chart_init (widget, &self->hover, point_at, G_CALLBACK (query_tooltip));
  g_signal_connect (focus, "enter", G_CALLBACK (focus_changed), self);
  g_signal_connect (focus, "leave", G_CALLBACK (focus_changed), self);
  gtk_widget_add_controller (widget, focus);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Size and accuracy of the measured configurations"), -1);
  update_description (self);
}

LathePlaneChart *
lathe_plane_chart_new (void)
{
  return g_object_new (LATHE_TYPE_PLANE_CHART, NULL);
}

guint
lathe_plane_chart_add_point (LathePlaneChart *self,
                             guint            plan_id,
                             guint64          bytes,
                             double           accuracy,
                             double           lo,
                             double           hi,
                             gboolean         full_set)
{
  LathePlanePoint pt = { plan_id, bytes, accuracy, lo, hi, full_set, FALSE };
  int index;

  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), 0);

  index = lathe_plane_chart_find_plan (self, plan_id);
  if (index >= 0)
    g_array_index (self->points, LathePlanePoint, index) = pt;
  else
    {
      g_array_append_val (self->points, pt);
      index = (int) self->points->len - 1;
    }
  changed (self);
  return (guint) index;
}

void
lathe_plane_chart_clear (LathePlaneChart *self)
{
  g_return_if_fail (LATHE_IS_PLANE_CHART (self));

  g_array_set_size (self->points, 0);
  _lathe_chart_hover_reset (&self->hover);
  lathe_plane_chart_set_current (self, -1);
  lathe_plane_chart_set_selected (self, -1);
  changed (self);
}

guint
lathe_plane_chart_get_n_points (LathePlaneChart *self)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), 0);
  return self->points->len;
}

const LathePlanePoint *
lathe_plane_chart_get_point (LathePlaneChart *self,
                             guint            index)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), NULL);
  g_return_val_if_fail (index < self->points->len, NULL);
  return &g_array_index (self->points, LathePlanePoint, index);
}

int
lathe_plane_chart_find_plan (LathePlaneChart *self,
                             guint            plan_id)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), -1);

  for (guint i = 0; i < self->points->len; i++)
    if (g_array_index (self->points, LathePlanePoint, i).plan_id == plan_id)
      return (int) i;
  return -1;
}

void
lathe_plane_chart_set_current (LathePlaneChart *self,
                               int              index)
{
  g_return_if_fail (LATHE_IS_PLANE_CHART (self));
  g_return_if_fail (index >= -1 && index < (int) self->points->len);

  if (self->current == index)
    return;
  self->current = index;
  changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT]);
}

int
lathe_plane_chart_get_current (LathePlaneChart *self)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), -1);
  return self->current;
}

void
lathe_plane_chart_set_selected (LathePlaneChart *self,
                                int              index)
{
  g_return_if_fail (LATHE_IS_PLANE_CHART (self));
  g_return_if_fail (index >= -1 && index < (int) self->points->len);

  if (self->selected == index)
    return;
  self->selected = index;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

int
lathe_plane_chart_get_selected (LathePlaneChart *self)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), -1);
  return self->selected;
}

const char *
lathe_plane_chart_get_description (LathePlaneChart *self)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), NULL);
  return self->description;
}

gboolean
lathe_plane_chart_save (LathePlaneChart  *self,
                        GFile            *file,
                        LatheChartFormat  format,
                        GError          **error)
{
  g_return_val_if_fail (LATHE_IS_PLANE_CHART (self), FALSE);
  return _lathe_chart_save (GTK_WIDGET (self), file, format, 640, 400, paint, error);
}

/* Marks a point as a trained student's figures. */
void
lathe_plane_chart_set_trained (LathePlaneChart *self,
                               guint            index,
                               gboolean         trained)
{
  g_return_if_fail (LATHE_IS_PLANE_CHART (self));
  g_return_if_fail (index < self->points->len);

  g_array_index (self->points, LathePlanePoint, index).trained = trained;
  changed (self);
}
