/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-layer-table.h"

G_BEGIN_DECLS

GtkColumnView *_lathe_layer_table_get_column_view (LatheLayerTable *self);

G_END_DECLS
