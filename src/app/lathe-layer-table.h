/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LATHE_TYPE_LAYER_TABLE (lathe_layer_table_get_type ())
G_DECLARE_FINAL_TYPE (LatheLayerTable, lathe_layer_table, LATHE, LAYER_TABLE, GtkWidget)

/* The layers of a model, one row each: name, op, shape, stored bytes, a
 * bits, a sparsity and a width slider, and what the plan did. The sliders
 * edit the rows' LatheLayerItem properties. */
GtkWidget  *lathe_layer_table_new       (void);
/* A list of LatheLayerItem, or NULL. */
void        lathe_layer_table_set_model (LatheLayerTable *self,
                                         GListModel      *layers);
GListModel *lathe_layer_table_get_model (LatheLayerTable *self);
/* The selected row's LatheLayerItem ("selected-item"), or NULL. */
gpointer    lathe_layer_table_get_selected_item (LatheLayerTable *self);

G_END_DECLS
