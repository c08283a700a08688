/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* A layer's status in words (lathe_layer_result_describe): every phrase the
 * plan can produce, in English; without a catalogue (the CLI, files) the
 * translated form is the same English, except a width note's reason, which
 * comes translated from the layer analysis (width_note_local). The German
 * of the app is checked by tests/app/test-i18n.c. */

#include <locale.h>
#include <math.h>

#include "compress/lathe-apply.h"

typedef struct {
  const char *expected;
  int         bits;
  const char *quantizer;
  LatheGranularity granularity;
  int         group_size;
  gboolean    affine;
  LatheScaleMethod scale;
  double      sparsity;
  LathePattern pattern;
  int         nm_n, nm_m;
  gsize       rows, rows_before;
  const char *width_note;
  const char *width_note_local;
  const char *expected_translated;   /* when it differs from `expected` */
  gboolean    folded;
  gboolean    skip;
} Case;

static const Case cases[] = {
  { "float32", .bits = 32, .rows = 8, .rows_before = 8 },
  { "float16; BatchNormalization folded in", .bits = 16, .rows = 8, .rows_before = 8, .folded = TRUE },
  { "4-bit uniform per channel", .bits = 4, .granularity = LATHE_GRANULARITY_CHANNEL, .rows = 8, .rows_before = 8 },
  { "8-bit uniform per tensor, affine, MSE scale", .bits = 8, .granularity = LATHE_GRANULARITY_TENSOR,
    .affine = TRUE, .scale = LATHE_SCALE_MSE, .rows = 8, .rows_before = 8 },
  { "3-bit uniform per group of 64", .bits = 3, .granularity = LATHE_GRANULARITY_GROUP, .group_size = 64,
    .rows = 8, .rows_before = 8 },
  { "2-bit palette per tensor", .bits = 2, .quantizer = "palette", .granularity = LATHE_GRANULARITY_TENSOR,
    .rows = 8, .rows_before = 8 },
  { "4-bit palette per channel; 50.0 % magnitude-pruned", .bits = 4, .quantizer = "palette",
    .granularity = LATHE_GRANULARITY_CHANNEL, .sparsity = 0.5, .pattern = LATHE_PATTERN_UNSTRUCTURED,
    .rows = 8, .rows_before = 8 },
  { "float32; 2:4 sparse", .bits = 32, .sparsity = 0.5, .pattern = LATHE_PATTERN_NM, .nm_n = 2, .nm_m = 4,
    .rows = 8, .rows_before = 8 },
  { "float32; 25.0 % channel-pruned; width 6/8 units; BatchNormalization folded in", .bits = 32,
    .sparsity = 0.25, .pattern = LATHE_PATTERN_CHANNEL, .rows = 6, .rows_before = 8, .folded = TRUE },
  { "float32; width not applied: the final classifier's output width is fixed", .bits = 32,
    .rows = 10, .rows_before = 10, .width_note = "the final classifier's output width is fixed" },
  /* the English status keeps the English reason; the app's reads the local one */
  { "float32; width not applied: in the width group of conv0.weight", .bits = 32,
    .rows = 8, .rows_before = 8, .width_note = "in the width group of conv0.weight",
    .width_note_local = "in der Breitengruppe von conv0.weight",
    .expected_translated = "float32; width not applied: in der Breitengruppe von conv0.weight" },
  /* skipped says only that, whatever else the settings hold */
  { "skipped: stays float32", .bits = 4, .sparsity = 0.5, .rows = 8, .rows_before = 8, .folded = TRUE,
    .skip = TRUE },
};

static void
test_describe (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      LatheLayerResult r = { 0 };
      g_autofree char *english = NULL;
      g_autofree char *translated = NULL;

      lathe_layer_settings_init_defaults (&r.settings);
      r.settings.bits = c->bits;
      if (c->quantizer != NULL)
        {
          g_free (r.settings.quantizer);
          r.settings.quantizer = g_strdup (c->quantizer);
        }
      r.settings.granularity = c->granularity;
      r.settings.group_size = c->group_size;
      r.settings.affine = c->affine;
      r.settings.scale = c->scale;
      r.settings.pattern = c->pattern;
      r.settings.nm_n = c->nm_n;
      r.settings.nm_m = c->nm_m;
      r.settings.skip = c->skip;
      r.sparsity = c->sparsity;
      r.rows = c->rows;
      r.rows_before = c->rows_before;
      r.width_note = (char *) c->width_note;
      r.width_note_local = (char *) c->width_note_local;
      r.bn_folded = c->folded;

      english = lathe_layer_result_describe (&r, FALSE);
      g_assert_cmpstr (english, ==, c->expected);
      /* the C locale has no catalogue: the msgids themselves */
      translated = lathe_layer_result_describe (&r, TRUE);
      g_assert_cmpstr (translated, ==, c->expected_translated != NULL ? c->expected_translated : c->expected);
      lathe_layer_settings_clear (&r.settings);
    }
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/engine/compress/status/describe", test_describe);
  return g_test_run ();
}
