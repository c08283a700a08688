/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "magnitude" pruner: lathe_prune_magnitude() over the tensor in its
 * own flat order (LATHE_PRUNE_LAYOUT_FLAT), at the layer's sparsity. No
 * parameters. A plan's global ranking over all layers
 * (lathe_prune_magnitude_global) is the caller's, not a per-layer method. */

#define LBP_TYPE_MAGNITUDE_PRUNER (lbp_magnitude_pruner_get_type ())
G_DECLARE_FINAL_TYPE (LbpMagnitudePruner, lbp_magnitude_pruner, LBP, MAGNITUDE_PRUNER, GObject)

gboolean lbp_magnitude_register (GTypeModule         *module,
                                 LathePluginRegistry *registry);

G_END_DECLS
