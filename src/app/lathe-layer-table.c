/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include <glib/gi18n.h>

#include "lathe-app-format.h"
#include "lathe-layer-item.h"
#include "lathe-layer-table-private.h"
#include "lathe-wheel-guard.h"

struct _LatheLayerTable {
  GtkWidget           parent_instance;

  GtkScrolledWindow  *scrolled;
  GtkColumnView      *column_view;
  GtkSingleSelection *selection;
};

G_DEFINE_FINAL_TYPE (LatheLayerTable, lathe_layer_table, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_SELECTED_ITEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Heights of the column titles and of a row with sliders, in pixels. */
#define TABLE_HEADER_HEIGHT 32
#define TABLE_ROW_HEIGHT    45

/* A cell's widget remembers the item it shows while it is bound. */
#define CELL_ITEM "lathe-layer-item"

/* Which slider a scale cell is. */
typedef enum {
  SLIDER_BITS,
  SLIDER_SPARSITY,
  SLIDER_WIDTH,
} Slider;

/* ---------------------------------------------------------------------- */
/* Labels                                                                   */

static GtkWidget *
cell_label_new (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  return label;
}

static void
label_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  GtkWidget *label = cell_label_new ();

  gtk_label_set_width_chars (GTK_LABEL (label), 12);
  gtk_list_item_set_child (list_item, label);
}

static void
dim_label_setup_cb (GtkSignalListItemFactory *factory,
                    GtkListItem              *list_item,
                    LatheLayerTable          *self)
{
  GtkWidget *label = cell_label_new ();

  /* op names are short; never "C…" */
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_NONE);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_list_item_set_child (list_item, label);
}

static void
number_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item,
                 LatheLayerTable          *self)
{
  GtkWidget *label = cell_label_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
  gtk_label_set_width_chars (GTK_LABEL (label), 7);
  gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
shape_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  GtkWidget *label = cell_label_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
  /* room for "120 of 120 × 400" once width removes units: columns do not
   * grow after they were first measured */
  gtk_label_set_width_chars (GTK_LABEL (label), 13);
  gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
status_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item,
                 LatheLayerTable          *self)
{
  GtkWidget *label = cell_label_new ();

  /* One line, so every row keeps its height (the whole text is the
   * tooltip): the table is measured with no width to wrap to. */
  gtk_label_set_width_chars (GTK_LABEL (label), 12);
  gtk_widget_add_css_class (label, "caption");
  gtk_list_item_set_child (list_item, label);
}

static void
name_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              LatheLayerTable          *self)
{
  LatheLayerItem *item = gtk_list_item_get_item (list_item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (list_item));

  gtk_label_set_label (label, lathe_layer_item_get_name (item));
  gtk_widget_set_tooltip_text (GTK_WIDGET (label), lathe_layer_item_get_name (item));
}

static void
op_bind_cb (GtkSignalListItemFactory *factory,
            GtkListItem              *list_item,
            LatheLayerTable          *self)
{
  LatheLayerItem *item = gtk_list_item_get_item (list_item);

  gtk_label_set_label (GTK_LABEL (gtk_list_item_get_child (list_item)), lathe_layer_item_get_op_type (item));
}

static void
shape_changed_cb (LatheLayerItem *item,
                  GParamSpec     *pspec,
                  GtkLabel       *label)
{
  gtk_label_set_label (label, lathe_layer_item_get_shape (item));
}

static void
shape_bind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               LatheLayerTable          *self)
{
  LatheLayerItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);

  gtk_widget_set_tooltip_text (label, _("Output units × inputs per unit"));
  g_object_set_data (G_OBJECT (label), CELL_ITEM, item);
  g_signal_connect_object (item, "notify::shape", G_CALLBACK (shape_changed_cb), label, 0);
  shape_changed_cb (item, NULL, GTK_LABEL (label));
}

/* The stored size over a small bar: the share of its float32 size left. */
static void
stored_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item,
                 LatheLayerTable          *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *label = cell_label_new ();
  GtkWidget *bar = gtk_level_bar_new_for_interval (0.0, 1.0);

  gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
  gtk_label_set_width_chars (GTK_LABEL (label), 9);
  gtk_widget_add_css_class (label, "numeric");
  gtk_level_bar_set_mode (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_MODE_CONTINUOUS);
  /* one colour for every level: this bar is a size, not a warning */
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_widget_add_css_class (bar, "lathe-size-bar");
  /* the label says the size; the bar repeats it */
  gtk_accessible_update_state (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), bar);
  gtk_list_item_set_child (list_item, box);
}

static void
stored_changed_cb (LatheLayerItem *item,
                   GParamSpec     *pspec,
                   GtkWidget      *box)
{
  GtkWidget *label = gtk_widget_get_first_child (box);
  GtkWidget *bar = gtk_widget_get_next_sibling (label);

  gtk_label_set_label (GTK_LABEL (label), lathe_layer_item_get_stored (item));
  gtk_widget_set_tooltip_text (box, lathe_layer_item_get_stored_detail (item));
  gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (lathe_layer_item_get_stored_fraction (item), 0.0, 1.0));
}

static void
params_changed_cb (LatheLayerItem *item,
                   GParamSpec     *pspec,
                   GtkLabel       *label)
{
  gtk_label_set_label (label, lathe_layer_item_get_params (item));
}

typedef void (*LabelChanged) (LatheLayerItem *item,
                              GParamSpec     *pspec,
                              GtkLabel       *label);

/* Fills the cell's label through `changed` now and whenever `notify`
 * ("notify::<property>") fires; cell_unbind_cb() undoes it. */
static void
label_bind (GtkListItem  *list_item,
            const char   *notify,
            LabelChanged  changed)
{
  LatheLayerItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);

  g_object_set_data (G_OBJECT (label), CELL_ITEM, item);
  g_signal_connect_object (item, notify, G_CALLBACK (changed), label, 0);
  changed (item, NULL, GTK_LABEL (label));
}

static void
params_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  label_bind (list_item, "notify::params", params_changed_cb);
}

static void
stored_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  LatheLayerItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);

  g_object_set_data (G_OBJECT (label), CELL_ITEM, item);
  g_signal_connect_object (item, "notify::stored", G_CALLBACK (stored_changed_cb), label, 0);
  g_signal_connect_object (item, "notify::stored-detail", G_CALLBACK (stored_changed_cb), label, 0);
  g_signal_connect_object (item, "notify::stored-fraction", G_CALLBACK (stored_changed_cb), label, 0);
  stored_changed_cb (item, NULL, label);
}

static void
status_changed_cb (LatheLayerItem *item,
                   GParamSpec     *pspec,
                   GtkLabel       *label)
{
  gtk_label_set_label (label, lathe_layer_item_get_status (item));
  gtk_widget_set_tooltip_text (GTK_WIDGET (label), lathe_layer_item_get_status (item));
}

static void
sqnr_changed_cb (LatheLayerItem *item,
                 GParamSpec     *pspec,
                 GtkLabel       *label)
{
  gtk_label_set_label (label, lathe_layer_item_get_sqnr (item));
}

static void
sqnr_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              LatheLayerTable          *self)
{
  gtk_widget_set_tooltip_text (gtk_list_item_get_child (list_item),
                               _("Signal-to-noise ratio of the compressed weights against the original ones"));
  label_bind (list_item, "notify::sqnr", sqnr_changed_cb);
}

static void
status_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  label_bind (list_item, "notify::status", status_changed_cb);
}

/* Every bind that watches its item is undone the same way. */
static void
cell_unbind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  GtkWidget *child = gtk_list_item_get_child (list_item);
  LatheLayerItem *item;

  /* a slider cell keeps the item on its scale */
  if (GTK_IS_BOX (child))
    child = gtk_widget_get_first_child (child);
  if (child == NULL || (item = g_object_steal_data (G_OBJECT (child), CELL_ITEM)) == NULL)
    return;
  g_signal_handlers_disconnect_by_data (item, child);
}

/* ---------------------------------------------------------------------- */
/* Sliders                                                                  */

static double
slider_value (LatheLayerItem *item,
              Slider          slider)
{
  switch (slider)
    {
    case SLIDER_BITS:     return lathe_position_for_bits (lathe_layer_item_get_bits (item));
    case SLIDER_SPARSITY: return round (100.0 * lathe_layer_item_get_sparsity (item));
    case SLIDER_WIDTH:    return round (100.0 * lathe_layer_item_get_width (item));
    default:              g_assert_not_reached ();
    }
}

/* The value beside the scale and, for screen readers, as its value text
 * (a bits scale's position is not its value). */
static void
show_value (GtkRange *range,
            Slider    slider)
{
  GtkLabel *label = g_object_get_data (G_OBJECT (range), "lathe-value");
  double value = gtk_range_get_value (range);
  g_autofree char *shown = NULL;
  g_autofree char *spoken = NULL;

  if (slider == SLIDER_BITS)
    {
      int bits = lathe_bits_for_position (value);
      shown = g_strdup_printf ("%d", bits);
      /* translators: a bits slider's value as a screen reader says it */
      spoken = g_strdup_printf (ngettext ("%d bit", "%d bits", bits), bits);
    }
  else
    {
      /* translators: a slider's value in percent */
      shown = g_strdup_printf (_("%.0f %%"), value);
      spoken = g_strdup (shown);
    }
  gtk_label_set_label (label, shown);
  gtk_accessible_update_property (GTK_ACCESSIBLE (range), GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, spoken, -1);
  /* GTK 4.8's AT-SPI bridge does not export the value text: say it in the
   * description too, or a screen reader reads a bits scale's position */
  gtk_accessible_update_property (GTK_ACCESSIBLE (range), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, spoken, -1);
}

static void
scale_value_changed_cb (GtkRange *range,
                        gpointer  user_data)
{
  Slider slider = GPOINTER_TO_INT (user_data);
  LatheLayerItem *item = g_object_get_data (G_OBJECT (range), CELL_ITEM);
  double value = gtk_range_get_value (range);

  show_value (range, slider);
  if (item == NULL)
    return;
  switch (slider)
    {
    case SLIDER_BITS:     lathe_layer_item_set_bits (item, lathe_bits_for_position (value)); break;
    case SLIDER_SPARSITY: lathe_layer_item_set_sparsity (item, round (value) / 100.0); break;
    case SLIDER_WIDTH:    lathe_layer_item_set_width (item, round (value) / 100.0); break;
    default:              g_assert_not_reached ();
    }
}

static void
item_slider_changed_cb (LatheLayerItem *item,
                        GParamSpec     *pspec,
                        GtkRange       *range)
{
  Slider slider = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (range), "lathe-slider"));

  gtk_range_set_value (range, slider_value (item, slider));
}

/* A cell: the scale, then its value in a label of fixed width so every
 * row's trough has the same length. */
static void
slider_setup (GtkListItem *list_item,
              Slider       slider)
{
  GtkAdjustment *adjustment;
  GtkWidget *box;
  GtkWidget *scale;
  GtkWidget *value;

  switch (slider)
    {
    case SLIDER_BITS:
      adjustment = gtk_adjustment_new (LATHE_BITS_POSITIONS - 1, 0, LATHE_BITS_POSITIONS - 1, 1, 1, 0);
      break;
    case SLIDER_SPARSITY:
      adjustment = gtk_adjustment_new (0, 0, 99, 1, 10, 0);
      break;
    case SLIDER_WIDTH:
      adjustment = gtk_adjustment_new (100, 5, 100, 1, 10, 0);
      break;
    default:
      g_assert_not_reached ();
    }
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, adjustment);
  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_range_set_round_digits (GTK_RANGE (scale), 0);
  gtk_widget_set_hexpand (scale, TRUE);
  /* the wheel scrolls the table unless this slider has focus */
  lathe_wheel_guard_attach (scale);
  /* Ticks without labels at each bit width (1…8, 16, 32) and every 25 %:
   * the row stays one line high, the value beside it names the tick. */
  if (slider == SLIDER_BITS)
    for (int p = 0; p < LATHE_BITS_POSITIONS; p++)
      gtk_scale_add_mark (GTK_SCALE (scale), p, GTK_POS_BOTTOM, NULL);
  else
    for (int p = slider == SLIDER_WIDTH ? 25 : 0; p <= 100; p += 25)
      gtk_scale_add_mark (GTK_SCALE (scale), MIN (p, slider == SLIDER_SPARSITY ? 99 : 100), GTK_POS_BOTTOM, NULL);
  value = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (value), 1.0f);
  gtk_label_set_width_chars (GTK_LABEL (value), 4);
  gtk_widget_add_css_class (value, "numeric");
  /* the scale's own value text says the same to a screen reader */
  gtk_accessible_update_state (GTK_ACCESSIBLE (value), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
  gtk_box_append (GTK_BOX (box), scale);
  gtk_box_append (GTK_BOX (box), value);

  g_object_set_data (G_OBJECT (scale), "lathe-slider", GINT_TO_POINTER (slider));
  g_object_set_data (G_OBJECT (scale), "lathe-value", value);
  g_signal_connect (scale, "value-changed", G_CALLBACK (scale_value_changed_cb), GINT_TO_POINTER (slider));
  show_value (GTK_RANGE (scale), slider);
  gtk_list_item_set_child (list_item, box);
}

static void
slider_bind (GtkListItem *list_item,
             Slider       slider)
{
  static const char *notify[] = {
    [SLIDER_BITS] = "notify::bits",
    [SLIDER_SPARSITY] = "notify::sparsity",
    [SLIDER_WIDTH] = "notify::width",
  };
  LatheLayerItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *scale = gtk_widget_get_first_child (box);
  const char *name = lathe_layer_item_get_name (item);
  g_autofree char *label = NULL;

  switch (slider)
    {
    case SLIDER_BITS:
      /* translators: accessible name of a slider; %s is a layer's name */
      label = g_strdup_printf (_("Bits for %s"), name);
      break;
    case SLIDER_SPARSITY:
      /* translators: accessible name of a slider; %s is a layer's name */
      label = g_strdup_printf (_("Sparsity for %s"), name);
      break;
    case SLIDER_WIDTH:
      /* translators: accessible name of a slider; %s is a layer's name */
      label = g_strdup_printf (_("Width for %s"), name);
      gtk_widget_set_sensitive (box, lathe_layer_item_get_width_reason (item) == NULL);
      gtk_widget_set_tooltip_text (box, lathe_layer_item_get_width_reason (item));
      break;
    default:
      g_assert_not_reached ();
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);

  /* Show the item's value before listening, so binding changes nothing. */
  gtk_range_set_value (GTK_RANGE (scale), slider_value (item, slider));
  g_object_set_data (G_OBJECT (scale), CELL_ITEM, item);
  g_signal_connect_object (item, notify[slider], G_CALLBACK (item_slider_changed_cb), scale, 0);
}

static void
bits_setup_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               LatheLayerTable          *self)
{
  slider_setup (list_item, SLIDER_BITS);
}

static void
bits_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              LatheLayerTable          *self)
{
  slider_bind (list_item, SLIDER_BITS);
}

static void
sparsity_setup_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *list_item,
                   LatheLayerTable          *self)
{
  slider_setup (list_item, SLIDER_SPARSITY);
}

static void
sparsity_bind_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *list_item,
                  LatheLayerTable          *self)
{
  slider_bind (list_item, SLIDER_SPARSITY);
}

static void
width_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                LatheLayerTable          *self)
{
  slider_setup (list_item, SLIDER_WIDTH);
}

static void
width_bind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               LatheLayerTable          *self)
{
  slider_bind (list_item, SLIDER_WIDTH);
}

/* ---------------------------------------------------------------------- */

static void
lathe_layer_table_dispose (GObject *object)
{
  GtkWidget *child;

  g_clear_object (&LATHE_LAYER_TABLE (object)->selection);
  gtk_widget_dispose_template (GTK_WIDGET (object), LATHE_TYPE_LAYER_TABLE);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (lathe_layer_table_parent_class)->dispose (object);
}

static void
lathe_layer_table_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  LatheLayerTable *self = LATHE_LAYER_TABLE (object);

  switch (prop_id)
    {
    case PROP_SELECTED_ITEM: g_value_set_object (value, lathe_layer_table_get_selected_item (self)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
selection_changed_cb (LatheLayerTable *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ITEM]);
}

static void
lathe_layer_table_class_init (LatheLayerTableClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lathe_layer_table_dispose;
  object_class->get_property = lathe_layer_table_get_property;

  /* The row the charts describe. */
  properties[PROP_SELECTED_ITEM] =
    g_param_spec_object ("selected-item", NULL, NULL, G_TYPE_OBJECT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-layer-table.ui");
  gtk_widget_class_bind_template_child (widget_class, LatheLayerTable, scrolled);
  gtk_widget_class_bind_template_child (widget_class, LatheLayerTable, column_view);
  gtk_widget_class_bind_template_callback (widget_class, label_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, dim_label_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, number_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, status_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, shape_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, name_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, op_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, shape_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, stored_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, stored_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, params_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, status_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, sqnr_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, cell_unbind_cb);
  gtk_widget_class_bind_template_callback (widget_class, bits_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, bits_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, sparsity_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, sparsity_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, width_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, width_bind_cb);
  gtk_widget_class_set_css_name (widget_class, "layertable");
}

static void
lathe_layer_table_init (LatheLayerTable *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
lathe_layer_table_new (void)
{
  return g_object_new (LATHE_TYPE_LAYER_TABLE, NULL);
}

void
lathe_layer_table_set_model (LatheLayerTable *self,
                             GListModel      *layers)
{
  g_return_if_fail (LATHE_IS_LAYER_TABLE (self));
  g_return_if_fail (layers == NULL || G_IS_LIST_MODEL (layers));

  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  if (layers != NULL)
    {
      /* The first layer is selected until the user picks another. */
      self->selection = gtk_single_selection_new (g_object_ref (layers));
      gtk_single_selection_set_autoselect (self->selection, TRUE);
      g_signal_connect_object (self->selection, "selection-changed", G_CALLBACK (selection_changed_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->selection, "items-changed", G_CALLBACK (selection_changed_cb),
                               self, G_CONNECT_SWAPPED);
    }
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  /* A list view asks only for a row or two: room for up to ten rows, then
   * the table scrolls and the charts stay in reach. */
  gtk_scrolled_window_set_min_content_height (self->scrolled,
                                              TABLE_HEADER_HEIGHT +
                                              TABLE_ROW_HEIGHT * MIN (layers ? g_list_model_get_n_items (layers) : 0, 10));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ITEM]);
}

/* The selected LatheLayerItem, or NULL. */
gpointer
lathe_layer_table_get_selected_item (LatheLayerTable *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_TABLE (self), NULL);
  return self->selection ? gtk_single_selection_get_selected_item (self->selection) : NULL;
}

GListModel *
lathe_layer_table_get_model (LatheLayerTable *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_TABLE (self), NULL);
  return self->selection ? gtk_single_selection_get_model (self->selection) : NULL;
}

GtkColumnView *
_lathe_layer_table_get_column_view (LatheLayerTable *self)
{
  return self->column_view;
}
