/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include <adwaita.h>
#include <glib/gi18n.h>

#include "compress/lathe-layers.h"
#include "data/lathe-class-names.h"
#include "lathe-app-format.h"
#include "lathe-compare-pane-private.h"
#include "lathe-scoreboard-private.h"

/* Changes listed in the heatmap's accessible description. */
#define DESCRIBE_CHANGES 5

typedef struct {
  LathePlan          *plan;
  LatheSessionResult *result;
} Side;

struct _LatheComparePane {
  GtkWidget       parent_instance;

  GtkStack       *stack;
  AdwStatusPage  *empty_page;
  GtkWidget      *notice;
  GtkLabel       *notice_label;
  GtkLabel       *header[3][3];      /* size, accuracy, macs × pinned, current, change */
  GtkLabel       *accuracy_note[2];
  GtkGrid        *layer_grid;
  GtkLabel       *layers_same_label;
  GtkGrid        *class_grid;
  GtkWidget      *details_flow;
  GtkWidget      *heatmap;
  GtkLabel       *heatmap_note;
  GtkWidget      *swatch_better;
  GtkWidget      *swatch_worse;

  Side            pinned, current;
  GPtrArray      *layer_names;       /* char*, or NULL */
  char          **class_names;
  gint64         *delta;
  guint           delta_n;
  char           *font;              /* the heatmap's, from the widget's */
};

G_DEFINE_FINAL_TYPE (LatheComparePane, lathe_compare_pane, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_HAS_PINNED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum { ROW_SIZE, ROW_ACCURACY, ROW_MACS };

/* The template's ids of header[row][column] and accuracy_note[column]. */
static const char * const header_ids[3][3] = {
  [ROW_SIZE]     = { "pinned_size_label", "current_size_label", "size_change_label" },
  [ROW_ACCURACY] = { "pinned_accuracy_label", "current_accuracy_label", "accuracy_change_label" },
  [ROW_MACS]     = { "pinned_macs_label", "current_macs_label", "macs_change_label" },
};
static const char * const note_ids[2] = { "pinned_accuracy_note", "current_accuracy_note" };

/* ---------------------------------------------------------------------- */
/* Formatting                                                              */

/* "+28.7 kB" / "−28.7 kB" */
static char *
format_size_delta (guint64 before,
                   guint64 after)
{
  g_autofree char *size = g_format_size (after >= before ? after - before : before - after);

  if (after == before)
    return g_strdup (_("Same size"));
  return g_strdup_printf (after > before ? "+%s" : "\u2212%s", size);
}

/* "416.5 k", "4.1 G": multiply-accumulates are counted, not bytes. */
static char *
format_count (guint64 n)
{
  if (n < 1000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  if (n < 1000000)
    /* translators: thousands, "416.5 k" */
    return g_strdup_printf (_("%.1f\u00a0k"), n / 1e3);
  if (n < 1000000000)
    /* translators: millions */
    return g_strdup_printf (_("%.1f\u00a0M"), n / 1e6);
  /* translators: billions */
  return g_strdup_printf (_("%.2f\u00a0G"), n / 1e9);
}

static char *
format_count_ratio (guint64 before,
                    guint64 after)
{
  if (before == after)
    return g_strdup (_("Same"));
  if (after == 0 || before == 0)
    return g_strdup ("—");
  if (after < before)
    /* translators: multiply-accumulates, "3.12× fewer" */
    return g_strdup_printf (_("%.2f× fewer"), (double) before / after);
  /* translators: multiply-accumulates, "1.50× more" */
  return g_strdup_printf (_("%.2f× more"), (double) after / before);
}

/* A change of accuracy, compact for the per-class table: "+1.2", "−0.5", "0.0". */
static char *
format_points_short (double delta)
{
  double p = 100.0 * delta;

  if (fabs (p) < 0.05)
    return g_strdup ("0.0");
  return p < 0 ? g_strdup_printf ("\u2212%.1f", -p) : g_strdup_printf ("+%.1f", p);
}

static char *
format_percent (double share)
{
  /* translators: a share, "50 %" */
  return g_strdup_printf (_("%g\u00a0%%"), round (1000.0 * share) / 10.0);
}

static char *
format_bits (const LatheLayerSettings *s)
{
  if (s->skip)
    /* translators: the layer is left as it is */
    return g_strdup (_("Skipped"));
  if (s->bits >= 32)
    /* translators: 32-bit floating point weights: no quantization */
    return g_strdup (_("32 (float)"));
  if (s->bits == 16)
    return g_strdup (_("16 (float)"));
  return g_strdup_printf ("%d", s->bits);
}

static char *
format_granularity (const LatheLayerSettings *s)
{
  switch (s->granularity)
    {
    case LATHE_GRANULARITY_TENSOR:
      /* translators: one quantization scale for the whole layer */
      return g_strdup (_("Tensor"));
    case LATHE_GRANULARITY_CHANNEL:
      /* translators: one quantization scale per output channel */
      return g_strdup (_("Channel"));
    case LATHE_GRANULARITY_GROUP:
    default:
      /* translators: one quantization scale per group of this many weights */
      return g_strdup_printf (_("Groups of %d"), s->group_size);
    }
}

/* ---------------------------------------------------------------------- */
/* The widget                                                              */

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->plan, lathe_plan_free);
  g_clear_pointer (&side->result, lathe_session_result_unref);
}

static void
heatmap_style (LatheComparePane  *self,
               LatheHeatmapStyle *style)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();
  PangoFontDescription *desc;

  lathe_heatmap_style_init (style, adw_style_manager_get_dark (manager));
  /* the widget's own font, a little smaller */
  desc = pango_font_description_copy (pango_context_get_font_description (
                                        gtk_widget_get_pango_context (GTK_WIDGET (self))));
  if (pango_font_description_get_size (desc) > 0 && pango_font_description_get_size_is_absolute (desc))
    pango_font_description_set_absolute_size (desc, pango_font_description_get_size (desc) * 0.9);
  else if (pango_font_description_get_size (desc) > 0)
    pango_font_description_set_size (desc, pango_font_description_get_size (desc) * 9 / 10);
  g_free (self->font);
  self->font = pango_font_description_to_string (desc);
  pango_font_description_free (desc);
  style->font = self->font;
}

static void
draw_heatmap (GtkDrawingArea *area,
              cairo_t        *cr,
              int             width,
              int             height,
              gpointer        data)
{
  LatheComparePane *self = data;
  LatheHeatmapStyle style;

  if (self->delta == NULL)
    return;
  heatmap_style (self, &style);
  lathe_heatmap_draw (cr, width, height, self->delta_n, self->delta,
                      (const char * const *) self->class_names, &style, NULL);
}

static void
draw_swatch (GtkDrawingArea *area,
             cairo_t        *cr,
             int             width,
             int             height,
             gpointer        data)
{
  LatheComparePane *self = data;
  LatheHeatmapStyle style;
  const double *rgb;

  heatmap_style (self, &style);
  rgb = GTK_WIDGET (area) == self->swatch_better ? style.better : style.worse;
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
}

static void update (LatheComparePane *self);

static void
dark_changed_cb (LatheComparePane *self)
{
  gtk_widget_queue_draw (self->heatmap);
  gtk_widget_queue_draw (self->swatch_better);
  gtk_widget_queue_draw (self->swatch_worse);
}

static void
lathe_compare_pane_dispose (GObject *object)
{
  LatheComparePane *self = LATHE_COMPARE_PANE (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), LATHE_TYPE_COMPARE_PANE);
  side_clear (&self->pinned);
  side_clear (&self->current);
  g_clear_pointer (&self->layer_names, g_ptr_array_unref);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_clear_pointer (&self->delta, g_free);
  g_clear_pointer (&self->font, g_free);
  G_OBJECT_CLASS (lathe_compare_pane_parent_class)->dispose (object);
}

static void
lathe_compare_pane_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  LatheComparePane *self = LATHE_COMPARE_PANE (object);

  switch (prop_id)
    {
    case PROP_HAS_PINNED:
      g_value_set_boolean (value, lathe_compare_pane_get_has_pinned (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_compare_pane_class_init (LatheComparePaneClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lathe_compare_pane_dispose;
  object_class->get_property = lathe_compare_pane_get_property;

  properties[PROP_HAS_PINNED] =
    g_param_spec_boolean ("has-pinned", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-compare-pane.ui");
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, stack);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, empty_page);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, notice);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, notice_label);
  for (guint r = 0; r < G_N_ELEMENTS (header_ids); r++)
    for (guint c = 0; c < G_N_ELEMENTS (header_ids[r]); c++)
      gtk_widget_class_bind_template_child_full (widget_class, header_ids[r][c], FALSE,
                                                 G_STRUCT_OFFSET (LatheComparePane, header[0][0]) +
                                                 (r * G_N_ELEMENTS (header_ids[r]) + c) * sizeof (GtkLabel *));
  for (guint c = 0; c < G_N_ELEMENTS (note_ids); c++)
    gtk_widget_class_bind_template_child_full (widget_class, note_ids[c], FALSE,
                                               G_STRUCT_OFFSET (LatheComparePane, accuracy_note[0]) +
                                               c * sizeof (GtkLabel *));
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, layer_grid);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, layers_same_label);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, class_grid);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, details_flow);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, heatmap);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, heatmap_note);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, swatch_better);
  gtk_widget_class_bind_template_child (widget_class, LatheComparePane, swatch_worse);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "comparepane");
}

static void
lathe_compare_pane_init (LatheComparePane *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->heatmap), draw_heatmap, self, NULL);
  /* the flow box only lays out: its children are not things to focus */
  for (GtkWidget *child = gtk_widget_get_first_child (self->details_flow); child;
       child = gtk_widget_get_next_sibling (child))
    gtk_widget_set_focusable (child, FALSE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->swatch_better), draw_swatch, self, NULL);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->swatch_worse), draw_swatch, self, NULL);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
  update (self);
}

GtkWidget *
lathe_compare_pane_new (void)
{
  return g_object_new (LATHE_TYPE_COMPARE_PANE, NULL);
}

/* ---------------------------------------------------------------------- */
/* Filling it in                                                           */

static GtkWidget *
cell_label (const char *text,
            float       xalign,
            const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_widget_add_css_class (label, "numeric");
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

/* Removes every row after the heading (row 0). */
static void
grid_clear_rows (GtkGrid *grid)
{
  GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (grid));

  while (child != NULL)
    {
      GtkWidget *next = gtk_widget_get_next_sibling (child);
      int row;

      gtk_grid_query_child (grid, child, NULL, &row, NULL, NULL);
      if (row > 0)
        gtk_grid_remove (grid, child);
      child = next;
    }
}

/* The settings a side applies to a layer. */
static void
resolve (const Side         *side,
         const char         *name,
         LatheLayerSettings *out)
{
  if (side->plan != NULL)
    {
      lathe_plan_resolve (side->plan, name, out);
      return;
    }
  if (side->result != NULL && side->result->applied != NULL)
    for (guint i = 0; i < side->result->applied->results->len; i++)
      {
        LatheLayerResult *r = g_ptr_array_index (side->result->applied->results, i);
        if (g_str_equal (r->name, name))
          {
            lathe_layer_settings_copy (out, &r->settings);
            return;
          }
      }
  /* the source model: nothing applied */
  lathe_layer_settings_init_defaults (out);
}

static GPtrArray *
layer_names (LatheComparePane *self)
{
  GPtrArray *names = g_ptr_array_new ();
  const Side *sides[2] = { &self->pinned, &self->current };

  if (self->layer_names != NULL)
    {
      for (guint i = 0; i < self->layer_names->len; i++)
        g_ptr_array_add (names, self->layer_names->pdata[i]);
      return names;
    }
  for (guint s = 0; s < 2 && names->len == 0; s++)
    if (sides[s]->result != NULL && sides[s]->result->applied != NULL)
      for (guint i = 0; i < sides[s]->result->applied->results->len; i++)
        g_ptr_array_add (names, ((LatheLayerResult *) g_ptr_array_index (sides[s]->result->applied->results, i))->name);
  return names;
}

/* One column of the layer table: the value, or "pinned → current" in
 * bold when it changed. */
static void
attach_setting (GtkGrid    *grid,
                int         column,
                int         row,
                const char *before,
                const char *after)
{
  GtkWidget *label;

  if (g_strcmp0 (before, after) == 0)
    label = cell_label (after, 0, "dim-label");
  else
    {
      /* translators: a layer setting, pinned → current */
      g_autofree char *text = g_strdup_printf (_("%s → %s"), before, after);
      label = cell_label (text, 0, "heading");
    }
  /* a narrow pane wraps the settings rather than cutting them */
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_grid_attach (grid, label, column, row, 1, 1);
}

static void
update_layers (LatheComparePane *self)
{
  g_autoptr(GPtrArray) names = layer_names (self);
  int row = 1;

  grid_clear_rows (self->layer_grid);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_auto(LatheLayerSettings) a = { 0 };
      g_auto(LatheLayerSettings) b = { 0 };
      g_autofree char *bits_a = NULL, *bits_b = NULL;
      g_autofree char *sp_a = NULL, *sp_b = NULL;
      g_autofree char *w_a = NULL, *w_b = NULL;
      g_autofree char *g_a = NULL, *g_b = NULL;
      GtkWidget *name_label;

      resolve (&self->pinned, name, &a);
      resolve (&self->current, name, &b);
      bits_a = format_bits (&a), bits_b = format_bits (&b);
      sp_a = format_percent (a.sparsity), sp_b = format_percent (b.sparsity);
      w_a = format_percent (a.width), w_b = format_percent (b.width);
      g_a = format_granularity (&a), g_b = format_granularity (&b);
      if (g_str_equal (bits_a, bits_b) && g_str_equal (sp_a, sp_b) &&
          g_str_equal (w_a, w_b) && g_str_equal (g_a, g_b))
        continue;

      name_label = cell_label (name, 0, NULL);
      gtk_label_set_ellipsize (GTK_LABEL (name_label), PANGO_ELLIPSIZE_MIDDLE);
      /* long names may shorten, short ones stay whole */
      gtk_label_set_width_chars (GTK_LABEL (name_label), (int) MIN (g_utf8_strlen (name, -1), 16));
      gtk_widget_set_hexpand (name_label, TRUE);
      gtk_grid_attach (self->layer_grid, name_label, 0, row, 1, 1);
      attach_setting (self->layer_grid, 1, row, bits_a, bits_b);
      attach_setting (self->layer_grid, 2, row, sp_a, sp_b);
      attach_setting (self->layer_grid, 3, row, w_a, w_b);
      attach_setting (self->layer_grid, 4, row, g_a, g_b);
      row++;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->layer_grid), row > 1);
  gtk_widget_set_visible (GTK_WIDGET (self->layers_same_label), row == 1);
}

static void
update_classes (LatheComparePane *self)
{
  LatheSessionResult *p = self->pinned.result, *c = self->current.result;
  guint n = MIN (p->n_classes, c->n_classes);

  grid_clear_rows (self->class_grid);
  for (guint k = 0; k < n; k++)
    {
      g_autofree char *name = lathe_class_name ((const char * const *) self->class_names, k);
      g_autofree char *before = lathe_format_accuracy (p->class_accuracy[k]);
      g_autofree char *after = lathe_format_accuracy (c->class_accuracy[k]);
      double d = c->class_accuracy[k] - p->class_accuracy[k];
      g_autofree char *change = format_points_short (d);
      GtkWidget *change_label = cell_label (change, 1, NULL);
      GtkWidget *name_label = cell_label (name, 0, NULL);

      gtk_widget_set_hexpand (name_label, TRUE);
      _lathe_delta_style (change_label, d);
      gtk_grid_attach (self->class_grid, name_label, 0, (int) k + 1, 1, 1);
      gtk_grid_attach (self->class_grid, cell_label (before, 1, NULL), 1, (int) k + 1, 1, 1);
      gtk_grid_attach (self->class_grid, cell_label (after, 1, NULL), 2, (int) k + 1, 1, 1);
      gtk_grid_attach (self->class_grid, change_label, 3, (int) k + 1, 1, 1);
    }
}

static void
update_heatmap (LatheComparePane *self)
{
  LatheSessionResult *p = self->pinned.result, *c = self->current.result;
  g_autofree char *description = NULL;

  GtkWidget *legend = gtk_widget_get_parent (self->swatch_better);

  g_clear_pointer (&self->delta, g_free);
  self->delta_n = 0;
  gtk_widget_set_visible (self->heatmap, FALSE);
  gtk_widget_set_visible (legend, FALSE);
  if (p->n_classes != c->n_classes || p->n_classes == 0)
    {
      gtk_label_set_label (self->heatmap_note,
                           _("The two results count different classes, so their confusions do not compare."));
      return;
    }
  /* Counts over different samples differ by the samples themselves. */
  if (p->stage != c->stage || p->n_samples != c->n_samples)
    {
      gtk_label_set_label (self->heatmap_note,
                           _("Shown once both plans are measured on the same samples."));
      return;
    }
  self->delta = lathe_heatmap_delta (p->confusion, c->confusion, p->n_classes);
  self->delta_n = p->n_classes;
  gtk_widget_set_visible (self->heatmap, TRUE);
  gtk_widget_set_visible (legend, TRUE);
  gtk_label_set_label (self->heatmap_note,
                       _("Rows are the true classes, columns the predicted ones; each cell counts the samples "
                         "more (+) or fewer (−) than with the pinned plan."));

  /* small matrices at a comfortable cell size, large ones fitted */
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (self->heatmap),
                                      (int) MIN (110 + 28 * self->delta_n, 720));
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->heatmap),
                                       (int) MIN (30 + 30 * self->delta_n, 640));
  description = lathe_heatmap_describe (self->delta_n, self->delta,
                                        (const char * const *) self->class_names, DESCRIBE_CHANGES);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->heatmap),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
  gtk_widget_queue_draw (self->heatmap);
}

static char *
subset_sentence (const char         *who,
                 LatheSessionResult *r)
{
  g_autofree char *acc = lathe_format_accuracy (r->accuracy);
  g_autofree char *lo = lathe_format_accuracy (r->lo);
  g_autofree char *hi = lathe_format_accuracy (r->hi);

  /* translators: "Pinned: 88.70 % on a subset of 1,000 samples; 95 % interval 86.59 % to 90.50 %." */
  return g_strdup_printf (_("%s: %s on a subset of %'u samples; 95\u00a0%% interval %s to %s."),
                          who, acc, r->n_samples, lo, hi);
}

static void
update_notice (LatheComparePane *self)
{
  LatheSessionResult *p = self->pinned.result, *c = self->current.result;
  g_autoptr(GString) text = g_string_new (NULL);

  if (p->stage == LATHE_STAGE_SUBSET)
    {
      g_autofree char *s = subset_sentence (_("Pinned"), p);
      g_string_append (text, s);
    }
  if (c->stage == LATHE_STAGE_SUBSET)
    {
      g_autofree char *s = subset_sentence (_("Current"), c);
      if (text->len)
        g_string_append_c (text, '\n');
      g_string_append (text, s);
    }
  if (p->stage != c->stage)
    {
      if (text->len)
        g_string_append_c (text, '\n');
      g_string_append (text, _("The two were measured on different samples: compare them once both cover the full set."));
    }
  gtk_label_set_label (self->notice_label, text->str);
  gtk_widget_set_visible (self->notice, text->len > 0);
}

static void
set_accuracy_note (GtkLabel           *label,
                   LatheSessionResult *r)
{
  if (r->stage == LATHE_STAGE_SUBSET)
    {
      /* translators: half the 95 % interval in points, on a subset of N samples */
      g_autofree char *note = g_strdup_printf (_("± %.1f points, subset of %'u"),
                                               50.0 * (r->hi - r->lo), r->n_samples);
      gtk_label_set_label (label, note);
    }
  else
    {
      g_autofree char *note = g_strdup_printf (_("All %'u samples"), r->n_samples);
      gtk_label_set_label (label, note);
    }
}

static char *
macs_tooltip (LatheSessionResult *r)
{
  g_autofree char *all = g_strdup_printf ("%'" G_GUINT64_FORMAT, r->macs);
  g_autofree char *nonzero = g_strdup_printf ("%'" G_GUINT64_FORMAT, r->macs_nonzero);

  /* translators: multiply-accumulates per sample: all of them, and those with a non-zero weight */
  return g_strdup_printf (_("%s per sample, %s with a non-zero weight"), all, nonzero);
}

static void
update_header (LatheComparePane *self)
{
  LatheSessionResult *p = self->pinned.result, *c = self->current.result;
  g_autofree char *size_p = g_format_size (p->packed_bytes);
  g_autofree char *size_c = g_format_size (c->packed_bytes);
  g_autofree char *size_d = format_size_delta (p->packed_bytes, c->packed_bytes);
  g_autofree char *size_r = lathe_format_size_ratio (p->packed_bytes, c->packed_bytes);
  g_autofree char *size_change = p->packed_bytes == c->packed_bytes ? g_strdup (size_d)
                                 : g_strdup_printf ("%s · %s", size_d, size_r);
  g_autofree char *acc_p = lathe_format_accuracy (p->accuracy);
  g_autofree char *acc_c = lathe_format_accuracy (c->accuracy);
  g_autofree char *acc_d = lathe_format_points (c->accuracy - p->accuracy);
  g_autofree char *macs_p = format_count (p->macs);
  g_autofree char *macs_c = format_count (c->macs);
  g_autofree char *macs_d = format_count_ratio (p->macs, c->macs);
  g_autofree char *tip_p = NULL, *tip_c = NULL;

  gtk_label_set_label (self->header[ROW_SIZE][0], size_p);
  gtk_label_set_label (self->header[ROW_SIZE][1], size_c);
  gtk_label_set_label (self->header[ROW_SIZE][2], size_change);
  gtk_label_set_label (self->header[ROW_ACCURACY][0], acc_p);
  gtk_label_set_label (self->header[ROW_ACCURACY][1], acc_c);
  gtk_label_set_label (self->header[ROW_ACCURACY][2], acc_d);
  _lathe_delta_style (GTK_WIDGET (self->header[ROW_ACCURACY][2]), c->accuracy - p->accuracy);
  set_accuracy_note (self->accuracy_note[0], p);
  set_accuracy_note (self->accuracy_note[1], c);
  gtk_label_set_label (self->header[ROW_MACS][0], macs_p);
  gtk_label_set_label (self->header[ROW_MACS][1], macs_c);
  gtk_label_set_label (self->header[ROW_MACS][2], macs_d);
  tip_p = macs_tooltip (p);
  tip_c = macs_tooltip (c);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->header[ROW_MACS][0]), tip_p);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->header[ROW_MACS][1]), tip_c);
}

static void
update (LatheComparePane *self)
{
  if (self->pinned.result == NULL)
    {
      adw_status_page_set_title (self->empty_page, _("Nothing Pinned"));
      adw_status_page_set_description (self->empty_page,
                                       _("Pin a plan to compare it with the one you are changing: size, accuracy, "
                                         "each class and the answers that changed."));
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  if (self->current.result == NULL)
    {
      adw_status_page_set_title (self->empty_page, _("Waiting for the Current Plan"));
      adw_status_page_set_description (self->empty_page,
                                       _("The comparison appears once the current plan has been measured."));
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  update_notice (self);
  update_header (self);
  update_layers (self);
  update_classes (self);
  update_heatmap (self);
  gtk_stack_set_visible_child_name (self->stack, "compare");
}

static void
side_set (Side               *side,
          const LathePlan    *plan,
          LatheSessionResult *result)
{
  LathePlan *copy = plan ? lathe_plan_copy (plan) : NULL;
  LatheSessionResult *ref = result ? lathe_session_result_ref (result) : NULL;

  side_clear (side);
  side->plan = copy;
  side->result = ref;
}

void
lathe_compare_pane_set_pinned (LatheComparePane   *self,
                               const LathePlan    *plan,
                               LatheSessionResult *result)
{
  gboolean had;

  g_return_if_fail (LATHE_IS_COMPARE_PANE (self));

  had = self->pinned.result != NULL;
  side_set (&self->pinned, plan, result);
  update (self);
  if (had != (result != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_PINNED]);
}

void
lathe_compare_pane_set_current (LatheComparePane   *self,
                                const LathePlan    *plan,
                                LatheSessionResult *result)
{
  g_return_if_fail (LATHE_IS_COMPARE_PANE (self));

  side_set (&self->current, plan, result);
  update (self);
}

gboolean
lathe_compare_pane_get_has_pinned (LatheComparePane *self)
{
  g_return_val_if_fail (LATHE_IS_COMPARE_PANE (self), FALSE);
  return self->pinned.result != NULL;
}

void
lathe_compare_pane_set_layers (LatheComparePane *self,
                               GPtrArray        *layers)
{
  g_return_if_fail (LATHE_IS_COMPARE_PANE (self));

  g_clear_pointer (&self->layer_names, g_ptr_array_unref);
  if (layers != NULL)
    {
      self->layer_names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < layers->len; i++)
        g_ptr_array_add (self->layer_names, g_strdup (((LatheLayer *) g_ptr_array_index (layers, i))->name));
    }
  update (self);
}

void
lathe_compare_pane_set_class_names (LatheComparePane   *self,
                                    const char * const *names)
{
  g_return_if_fail (LATHE_IS_COMPARE_PANE (self));

  g_clear_pointer (&self->class_names, g_strfreev);
  self->class_names = g_strdupv ((char **) names);
  update (self);
}

void
lathe_compare_pane_set_session (LatheComparePane *self,
                                LatheSession     *session)
{
  LatheDataset *data;
  guint n;
  g_auto(GStrv) names = NULL;

  g_return_if_fail (LATHE_IS_COMPARE_PANE (self));
  g_return_if_fail (LATHE_IS_SESSION (session));

  data = lathe_session_get_dataset (session);
  n = lathe_dataset_get_n_classes (data);
  names = lathe_class_names_for_dataset (data, n);
  if (names == NULL)
    {
      names = lathe_model_dup_labels (lathe_session_get_model (session));
      if (names != NULL && g_strv_length (names) < n)
        g_clear_pointer (&names, g_strfreev);
    }
  g_clear_pointer (&self->class_names, g_strfreev);
  self->class_names = g_steal_pointer (&names);
  lathe_compare_pane_set_layers (self, lathe_session_get_layers (session));
}

/* ---------------------------------------------------------------------- */
/* For tests                                                               */

const char *
_lathe_compare_pane_get_page (LatheComparePane *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
_lathe_compare_pane_get_notice (LatheComparePane *self)
{
  return gtk_widget_get_visible (self->notice) ? gtk_label_get_label (self->notice_label) : NULL;
}

GtkLabel *
_lathe_compare_pane_get_header_label (LatheComparePane *self,
                                      const char       *row,
                                      guint             column)
{
  int r = g_str_equal (row, "size") ? ROW_SIZE : g_str_equal (row, "accuracy") ? ROW_ACCURACY : ROW_MACS;

  g_return_val_if_fail (column < 3, NULL);
  return self->header[r][column];
}

GtkGrid *
_lathe_compare_pane_get_layer_grid (LatheComparePane *self)
{
  return self->layer_grid;
}

GtkGrid *
_lathe_compare_pane_get_class_grid (LatheComparePane *self)
{
  return self->class_grid;
}

GtkWidget *
_lathe_compare_pane_get_heatmap (LatheComparePane *self)
{
  return self->heatmap;
}

const gint64 *
_lathe_compare_pane_get_delta (LatheComparePane *self,
                               guint            *n)
{
  *n = self->delta_n;
  return self->delta;
}

void
_lathe_compare_pane_get_style (LatheComparePane  *self,
                               LatheHeatmapStyle *style)
{
  heatmap_style (self, style);
}
