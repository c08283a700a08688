/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-compress-types.h"

G_BEGIN_DECLS

/* What to do to one layer. A plan holds one set of defaults and, per
 * layer, the fields a user overrode; `set` says which fields a per-layer
 * entry carries so defaults still flow into the rest. */

typedef enum {
  LATHE_FIELD_BITS        = 1 << 0,
  LATHE_FIELD_GRANULARITY = 1 << 1,   /* granularity and group_size */
  LATHE_FIELD_AFFINE      = 1 << 2,
  LATHE_FIELD_SCALE       = 1 << 3,
  LATHE_FIELD_QUANTIZER   = 1 << 4,
  LATHE_FIELD_SPARSITY    = 1 << 5,
  LATHE_FIELD_PATTERN     = 1 << 6,   /* pattern, nm_n, nm_m; implies the pruner */
  LATHE_FIELD_WIDTH       = 1 << 7,
  LATHE_FIELD_SKIP        = 1 << 8,
} LatheField;

typedef struct {
  guint32           set;           /* LatheField bits (per-layer entries only) */
  int               bits;          /* 32 = off, 16 = float16, 8…1 */
  char             *quantizer;     /* "uniform" or "palette" (a plugin name) */
  LatheGranularity  granularity;
  int               group_size;    /* G for LATHE_GRANULARITY_GROUP */
  gboolean          affine;
  LatheScaleMethod  scale;
  double            sparsity;      /* 0 … 0.99 */
  LathePattern      pattern;
  int               nm_n, nm_m;    /* for LATHE_PATTERN_NM */
  double            width;         /* 0.05 … 1 */
  gboolean          skip;          /* stays float32, untouched */
} LatheLayerSettings;

/* "magnitude", "nm" or "channel" for a pattern. */
const char *lathe_pattern_pruner (LathePattern pattern);

void        lathe_layer_settings_init_defaults (LatheLayerSettings *s);
void        lathe_layer_settings_copy          (LatheLayerSettings *dst,
                                                const LatheLayerSettings *src);
void        lathe_layer_settings_clear         (LatheLayerSettings *s);
/* Fields of `over` whose bit is in over->set replace those of `base`;
 * `dst` must be zeroed or hold settings (it is cleared first). */
void        lathe_layer_settings_overlay       (LatheLayerSettings *dst,
                                                const LatheLayerSettings *base,
                                                const LatheLayerSettings *over);
gboolean    lathe_layer_settings_equal         (const LatheLayerSettings *a,
                                                const LatheLayerSettings *b);

typedef struct _LathePlan LathePlan;
struct _LathePlan {
  LatheLayerSettings  defaults;
  GHashTable         *layers;          /* weight name → LatheLayerSettings* (overrides) */
  gboolean            global_sparsity; /* one magnitude ranking over all layers */
  gboolean            fold_bn;         /* fold BatchNormalization into Conv/Gemm first */
  GHashTable         *params;          /* "method.param" → value string (--set) */
  guint64             seed;
  /* Width importance: FALSE ranks units by their weights' L2 norm, TRUE by
   * mean |activation| over `calibration_samples` samples of `calibration`
   * (a data spec from the training split, never the evaluation set). */
  gboolean            activation_importance;
  char               *calibration;
  guint               calibration_samples;
};

LathePlan  *lathe_plan_new            (void);
LathePlan  *lathe_plan_copy           (const LathePlan *plan);
void        lathe_plan_free           (LathePlan *plan);
/* The override entry for a layer, created empty on first use. */
LatheLayerSettings *lathe_plan_layer  (LathePlan  *plan,
                                       const char *name);
/* Defaults with the layer's overrides on top. */
void        lathe_plan_resolve        (const LathePlan    *plan,
                                       const char         *name,
                                       LatheLayerSettings *out);
/* Same effect on every layer: an override equal to the default counts as
 * no override. */
gboolean    lathe_plan_equal          (const LathePlan    *a,
                                       const LathePlan    *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LathePlan, lathe_plan_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LatheLayerSettings, lathe_layer_settings_clear)

G_END_DECLS
