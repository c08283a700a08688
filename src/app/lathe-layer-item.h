/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

#include "compress/lathe-apply.h"
#include "compress/lathe-layers.h"

G_BEGIN_DECLS

#define LATHE_TYPE_LAYER_ITEM (lathe_layer_item_get_type ())
G_DECLARE_FINAL_TYPE (LatheLayerItem, lathe_layer_item, LATHE, LAYER_ITEM, GObject)

/* One row of the layer table: a compressible layer, the settings the user
 * chose for it (bits, sparsity, width) and what the last measured plan did
 * to it (shape, stored bytes, status). */
LatheLayerItem *lathe_layer_item_new              (const LatheLayer        *layer);

const char     *lathe_layer_item_get_name         (LatheLayerItem          *self);
const char     *lathe_layer_item_get_op_type      (LatheLayerItem          *self);
/* Why width cannot apply to this layer, in the user's language, or NULL. */
const char     *lathe_layer_item_get_width_reason (LatheLayerItem          *self);

int             lathe_layer_item_get_bits         (LatheLayerItem          *self);
void            lathe_layer_item_set_bits         (LatheLayerItem          *self,
                                                   int                      bits);
/* 0 … 0.99 */
double          lathe_layer_item_get_sparsity     (LatheLayerItem          *self);
void            lathe_layer_item_set_sparsity     (LatheLayerItem          *self,
                                                   double                   sparsity);
/* 0.05 … 1; stays 1 where width cannot apply. */
double          lathe_layer_item_get_width        (LatheLayerItem          *self);
void            lathe_layer_item_set_width        (LatheLayerItem          *self,
                                                   double                   width);

const char     *lathe_layer_item_get_shape        (LatheLayerItem          *self);
const char     *lathe_layer_item_get_stored       (LatheLayerItem          *self);
const char     *lathe_layer_item_get_stored_detail (LatheLayerItem         *self);
double          lathe_layer_item_get_stored_fraction (LatheLayerItem    *self);
const char     *lathe_layer_item_get_params       (LatheLayerItem          *self);
const char     *lathe_layer_item_get_status       (LatheLayerItem          *self);
/* The weights' signal-to-noise ratio after compression: "22.8 dB", "Exact",
 * or "" before the first result. */
const char     *lathe_layer_item_get_sqnr         (LatheLayerItem          *self);
/* What a measured plan did to this layer. */
void            lathe_layer_item_set_result       (LatheLayerItem          *self,
                                                   const LatheLayerResult  *result);

G_END_DECLS
