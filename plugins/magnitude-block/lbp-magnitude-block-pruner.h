/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "magnitude-block" pruner: lbp_prune_blocks() on the view at the
 * layer's sparsity (LATHE_PRUNE_LAYOUT_VIEW).
 *
 * Parameter: block-size (int, 2…64, default 4): consecutive input-axis
 * weights per block. */

#define LBP_TYPE_MAGNITUDE_BLOCK_PRUNER (lbp_magnitude_block_pruner_get_type ())
G_DECLARE_FINAL_TYPE (LbpMagnitudeBlockPruner, lbp_magnitude_block_pruner, LBP, MAGNITUDE_BLOCK_PRUNER, GObject)

void lbp_magnitude_block_pruner_register (GTypeModule *module);

G_END_DECLS
