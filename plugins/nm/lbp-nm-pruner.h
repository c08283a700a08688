/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "nm" pruner: lathe_prune_nm() on the view with the layer's N:M
 * (nm_n, nm_m in its settings; 1 ≤ N < M ≤ 16, the input axis a multiple
 * of M). No parameters of its own: N and M are per layer. */

#define LBP_TYPE_NM_PRUNER (lbp_nm_pruner_get_type ())
G_DECLARE_FINAL_TYPE (LbpNmPruner, lbp_nm_pruner, LBP, NM_PRUNER, GObject)

gboolean lbp_nm_register (GTypeModule         *module,
                          LathePluginRegistry *registry);

G_END_DECLS
