/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

#include "compress/lathe-compress-types.h"
#include "compress/lathe-plan.h"

G_BEGIN_DECLS

/* Extension point: a weight quantizer ("uniform", "palette" …).
 *
 * It reads from the layer's resolved settings what it needs — bits
 * (32 = leave as float32, 16 = float16, 8…1 = its own codes),
 * granularity, group size, affine, scale method — and takes its own
 * parameters from GObject properties. It replaces every weight of `view`
 * by the value a runtime would compute from what is stored (fake
 * quantization), in place.
 *
 * `keep` (nullable) is a rows × cols mask in view order, 0 = pruned:
 * pruned positions come out exactly 0.0f and take no part in scales or
 * codebooks. `out_codes` (nullable) receives the uniform codes when the
 * method stores LatheQuantized codes, else NULL.
 *
 * supports() refuses settings that do not apply to the method (palette and
 * affine, 1-bit affine …) with a LATHE_COMPRESS_ERROR_INVALID message that
 * names the method; lathe_quantizer_quantize() calls it first, so an
 * implementation's quantize() never sees settings it refused. */

#define LATHE_TYPE_QUANTIZER (lathe_quantizer_get_type ())
G_DECLARE_INTERFACE (LatheQuantizer, lathe_quantizer, LATHE, QUANTIZER, GObject)

struct _LatheQuantizerInterface
{
  GTypeInterface parent_iface;

  gboolean (*supports) (LatheQuantizer            *self,
                        const LatheLayerSettings  *settings,
                        GError                   **error);
  gboolean (*quantize) (LatheQuantizer            *self,
                        LatheWeightView           *view,
                        const LatheLayerSettings  *settings,
                        const guint8              *keep,
                        LatheQuantized           **out_codes,
                        GError                   **error);
};

gboolean lathe_quantizer_supports (LatheQuantizer            *self,
                                   const LatheLayerSettings  *settings,
                                   GError                   **error);
gboolean lathe_quantizer_quantize (LatheQuantizer            *self,
                                   LatheWeightView           *view,
                                   const LatheLayerSettings  *settings,
                                   const guint8              *keep,
                                   LatheQuantized           **out_codes,
                                   GError                   **error);

G_END_DECLS
