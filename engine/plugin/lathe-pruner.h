/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

#include "compress/lathe-compress-types.h"
#include "compress/lathe-plan.h"

G_BEGIN_DECLS

/* Extension point: a pruner ("magnitude", "nm", "channel" …).
 *
 * It zeroes the weights it removes and fills `keep` (1 = kept, 0 = pruned),
 * reading the target from the layer's settings (sparsity, nm_n/nm_m) and
 * its own parameters from GObject properties.
 *
 * The caller passes the same weights twice: `view` (units × input axis,
 * rows × cols) and `flat`, the tensor in its own order (n = rows × cols
 * elements). Which one a pruner ranks and edits is its layout:
 *
 * - LATHE_PRUNE_LAYOUT_VIEW (structured pruners, and the default): `view`
 *   is pruned in place, `keep` is rows × cols bytes in view order; `flat`
 *   is not touched.
 * - LATHE_PRUNE_LAYOUT_FLAT (unstructured magnitude: ties go to the lower
 *   index of the tensor's own order): `flat` is pruned in place, `keep` is
 *   n bytes in flat order; `view` is not touched. With `flat` NULL the
 *   view's data is used as the flat order.
 *
 * The caller maps the result back to the other representation. `keep` is
 * nullable. supports() refuses settings that do not apply (an N:M that is
 * not 1 ≤ N < M ≤ 16 …); lathe_pruner_prune() calls it first. Errors are
 * LATHE_COMPRESS_ERROR_INVALID and name the method; the caller prefixes the
 * layer. */

typedef enum {
  LATHE_PRUNE_LAYOUT_VIEW,
  LATHE_PRUNE_LAYOUT_FLAT,
} LathePruneLayout;

#define LATHE_TYPE_PRUNER (lathe_pruner_get_type ())
G_DECLARE_INTERFACE (LathePruner, lathe_pruner, LATHE, PRUNER, GObject)

struct _LathePrunerInterface
{
  GTypeInterface parent_iface;

  LathePruneLayout (*get_layout) (LathePruner               *self);
  gboolean         (*supports)   (LathePruner               *self,
                                  const LatheLayerSettings  *settings,
                                  GError                   **error);
  gboolean         (*prune)      (LathePruner               *self,
                                  LatheWeightView           *view,
                                  float                     *flat,
                                  gsize                      n,
                                  const LatheLayerSettings  *settings,
                                  guint8                    *keep,
                                  GError                   **error);
};

LathePruneLayout lathe_pruner_get_layout (LathePruner               *self);
gboolean         lathe_pruner_supports   (LathePruner               *self,
                                          const LatheLayerSettings  *settings,
                                          GError                   **error);
gboolean         lathe_pruner_prune      (LathePruner               *self,
                                          LatheWeightView           *view,
                                          float                     *flat,
                                          gsize                      n,
                                          const LatheLayerSettings  *settings,
                                          guint8                    *keep,
                                          GError                   **error);

G_END_DECLS
