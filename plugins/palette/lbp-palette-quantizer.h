/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "palette" quantizer: lathe_quant_palette() for 1…8 bits (one
 * codebook per tensor, or per output unit with per-channel granularity),
 * lathe_quant_fp16() for 16, nothing for 32.
 *
 * Parameter: iterations (int, 0…1000, default 20): Lloyd iterations after
 * the linear initial codebook; 0 keeps the linear codebook. */

#define LBP_TYPE_PALETTE_QUANTIZER (lbp_palette_quantizer_get_type ())
G_DECLARE_FINAL_TYPE (LbpPaletteQuantizer, lbp_palette_quantizer, LBP, PALETTE_QUANTIZER, GObject)

gboolean lbp_palette_register (GTypeModule         *module,
                               LathePluginRegistry *registry);

G_END_DECLS
