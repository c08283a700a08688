/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "uniform" quantizer: lathe_quant_uniform() for 1…8 bits,
 * lathe_quant_fp16() for 16, nothing for 32. No parameters of its own:
 * everything it needs is per layer in the plan (bits, granularity, group
 * size, affine, scale method). */

#define LBP_TYPE_UNIFORM_QUANTIZER (lbp_uniform_quantizer_get_type ())
G_DECLARE_FINAL_TYPE (LbpUniformQuantizer, lbp_uniform_quantizer, LBP, UNIFORM_QUANTIZER, GObject)

gboolean lbp_uniform_register (GTypeModule         *module,
                               LathePluginRegistry *registry);

G_END_DECLS
