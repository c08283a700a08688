/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "channel" pruner: lathe_prune_channel() on the view at the layer's
 * sparsity; a removed unit's whole row is 0 in the mask.
 *
 * Parameter: norm (enum LbpChannelNorm, l1 | l2, default l2): the norm
 * units are ranked by. */

#define LBP_TYPE_CHANNEL_PRUNER (lbp_channel_pruner_get_type ())
G_DECLARE_FINAL_TYPE (LbpChannelPruner, lbp_channel_pruner, LBP, CHANNEL_PRUNER, GObject)

/* LatheNorm as a (dynamic) GEnum with nicks "l1", "l2". */
GType    lbp_channel_norm_get_type (void);
#define LBP_TYPE_CHANNEL_NORM (lbp_channel_norm_get_type ())

gboolean lbp_channel_register      (GTypeModule         *module,
                                    LathePluginRegistry *registry);

G_END_DECLS
