/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* The plugin registry (engine/plugin/) and the plugins (plugins/):
 *
 * - the six built-ins and the build tree's magnitude-block load as OK,
 *   the latter with no LATHE_PLUGIN_PATH pointing at it;
 * - each method works through its extension point exactly as the kernel
 *   it wraps, parameters are properties with ranges, set_param refuses
 *   what is out of range;
 * - deliberately broken plugins, written at run time into a temporary
 *   directory given through LATHE_PLUGIN_PATH (broken modules are built by
 *   tests/plugin/meson.build), are each listed as unusable with the reason,
 *   and nothing crashes; one of them aborts if it is ever opened;
 * - magnitude-block's kernel against its _ref twin, directly and through
 *   the loaded module;
 * - `lathe-cli plugins [--json]` over the same directory. */

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "compress/lathe-prune.h"
#include "compress/lathe-quant.h"
#include "core/lathe-error.h"
#include "../lathe-test-util.h"
#include "lbp-block-prune.h"
#include "onnx/lathe-onnx-writer.h"
#include "onnx/lathe-onnx.h"
#include "plugin/lathe-plugin-registry.h"

/* Pruning is a selection: fast and ref agree on every bit. */
#define BLOCK_PRUNE_EXACT TRUE

static const char * const builtins[] = { "uniform", "palette", "magnitude", "nm", "channel", "onnx" };

static char *broken_dir;

/* The broken plugins and what their reason must say. */
static const struct {
  const char *name;
  const char *reason;
} broken[] = {
  { "abi-keyfile",     "ABI 99, this Lathe needs 1" },
  { "in-subdir",       "ABI 2, this Lathe needs 1" },
  { "abi-text",        "ABI=one: expected a whole number (this Lathe needs 1)" },
  { "no-abi",          "no ABI key (this Lathe needs ABI=1)" },
  { "missing-module",  "does not exist" },
  { "not-a-module",    "cannot open" },
  { "broken-noquery",  "has no lathe_plugin_query()" },
  { "broken-abi",      "built for ABI 2, this Lathe needs 1" },
  { "broken-name",     "calls itself 'broken-register', its keyfile 'broken-name'" },
  { "broken-register", "lathe_plugin_register() of 'broken-register' failed" },
  { "broken-kind",     "does not implement LatheQuantizer" },
  { "broken-undefined", "undefined symbol: lathe_engine_function_from_the_future" },
  { "malformed",       "malformed.plugin" },
  { "no-kind",         "no Kind key" },
  { "bad-kind",        "Kind=sharpener: expected quantizer, pruner or exporter" },
  { "no-module",       "no Module key" },
  { "fake-embedded",   "Embedded=true, but this Lathe has no built-in plugin 'fake-embedded'" },
};

static void
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
write_keyfile (const char *dir,
               const char *name,
               const char *kind,
               const char *abi,
               const char *module)
{
  g_autofree char *file = g_strconcat (name, ".plugin", NULL);
  g_autofree char *text = g_strdup_printf ("[Plugin]\nName=%s\nDescription=test fixture\nKind=%s\nABI=%s\nModule=%s\n",
                                           name, kind, abi, module);
  write_file (dir, file, text);
}

static void
make_broken_dir (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sub = NULL;

  broken_dir = g_dir_make_tmp ("lathe-plugins-XXXXXX", &error);
  g_assert_no_error (error);
  sub = g_build_filename (broken_dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);

  /* Refused from the keyfile: the module would abort the test if opened. */
  write_keyfile (broken_dir, "abi-keyfile", "pruner", "99", BROKEN_ABORT_MODULE);
  write_keyfile (sub, "in-subdir", "pruner", "2", BROKEN_ABORT_MODULE);
  write_keyfile (broken_dir, "abi-text", "pruner", "one", BROKEN_ABORT_MODULE);
  /* A duplicate is refused before its module is opened, too. */
  write_keyfile (broken_dir, "uniform", "quantizer", "1", BROKEN_ABORT_MODULE);

  write_keyfile (broken_dir, "missing-module", "pruner", "1", "missing-module");
  write_keyfile (broken_dir, "not-a-module", "pruner", "1", "libnot-a-module.so");
  write_file (broken_dir, "libnot-a-module.so", "this is not an ELF file\n");
  write_keyfile (broken_dir, "broken-noquery", "pruner", "1", BROKEN_NOQUERY_MODULE);
  write_keyfile (broken_dir, "broken-abi", "pruner", "1", BROKEN_ABI_MODULE);
  write_keyfile (broken_dir, "broken-name", "pruner", "1", BROKEN_REGISTER_MODULE);
  write_keyfile (broken_dir, "broken-register", "pruner", "1", BROKEN_REGISTER_MODULE);
  write_keyfile (broken_dir, "broken-kind", "quantizer", "1", BROKEN_KIND_MODULE);
  write_keyfile (broken_dir, "broken-undefined", "pruner", "1", BROKEN_UNDEFINED_MODULE);

  write_file (broken_dir, "malformed.plugin", "this is not a key file\n[Plugin\n");
  write_file (broken_dir, "no-kind.plugin", "[Plugin]\nName=no-kind\nABI=1\nModule=x\n");
  write_keyfile (broken_dir, "bad-kind", "sharpener", "1", "x");
  write_file (broken_dir, "no-abi.plugin", "[Plugin]\nName=no-abi\nKind=pruner\nModule=x\n");
  write_file (broken_dir, "no-module.plugin", "[Plugin]\nName=no-module\nKind=pruner\nABI=1\n");
  write_file (broken_dir, "fake-embedded.plugin",
              "[Plugin]\nName=fake-embedded\nKind=pruner\nABI=1\nModule=x\nEmbedded=true\n");
}

static void
assert_str_take (char       *got,
                 const char *expected)
{
  g_assert_cmpstr (got, ==, expected);
  g_free (got);
}

static const LathePluginInfo *
lookup (const char *name)
{
  return lathe_plugin_registry_lookup (lathe_plugin_registry_get_default (), name);
}

static float *
random_weights (gsize n,
                int   distinct)
{
  float *w = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    w[i] = distinct > 0 ? (float) (g_test_rand_int_range (-distinct, distinct + 1) * 0.25)
                        : (float) g_test_rand_double_range (-1.0, 1.0);
  return w;
}

/* Registry */

static void
test_builtins (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GPtrArray) list = lathe_plugin_registry_list (registry);
  g_auto(GStrv) quantizers = lathe_plugin_registry_list_names (registry, LATHE_PLUGIN_KIND_QUANTIZER);
  g_auto(GStrv) exporters = lathe_plugin_registry_list_names (registry, LATHE_PLUGIN_KIND_EXPORTER);
  static const LathePluginKind kinds[] = {
    LATHE_PLUGIN_KIND_QUANTIZER, LATHE_PLUGIN_KIND_QUANTIZER, LATHE_PLUGIN_KIND_PRUNER,
    LATHE_PLUGIN_KIND_PRUNER, LATHE_PLUGIN_KIND_PRUNER, LATHE_PLUGIN_KIND_EXPORTER,
  };
  const LathePluginInfo *block;

  g_assert_true (registry == lathe_plugin_registry_get_default ());
  /* Built-ins come first, in plugins/meson.build's order. */
  g_assert_cmpuint (list->len, >=, G_N_ELEMENTS (builtins) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    {
      const LathePluginInfo *info = g_ptr_array_index (list, i);
      g_autofree char *keyfile = g_strdup_printf ("resource:///org/lathe/plugins/%s/%s.plugin",
                                                  builtins[i], builtins[i]);

      g_assert_cmpstr (info->name, ==, builtins[i]);
      g_assert_cmpint (info->status, ==, LATHE_PLUGIN_STATUS_OK);
      g_assert_null (info->reason);
      g_assert_cmpint (info->kind, ==, kinds[i]);
      g_assert_cmpstr (info->module, ==, "built-in");
      g_assert_cmpstr (info->keyfile, ==, keyfile);
      g_assert_cmpint (info->abi, ==, LATHE_PLUGIN_ABI);
      g_assert_cmpstr (info->description, !=, "");
      g_assert_true (g_type_is_a (info->type, lathe_plugin_kind_interface (info->kind)));
      g_assert_true (lookup (builtins[i]) == info);
    }

  /* Found in the build tree without LATHE_PLUGIN_PATH naming it. */
  block = lookup ("magnitude-block");
  g_assert_nonnull (block);
  g_assert_cmpint (block->status, ==, LATHE_PLUGIN_STATUS_OK);
  g_assert_cmpint (block->kind, ==, LATHE_PLUGIN_KIND_PRUNER);
  g_assert_true (g_str_has_suffix (block->module, "libmagnitude-block." G_MODULE_SUFFIX));
  g_assert_true (g_str_has_prefix (block->keyfile, MAGNITUDE_BLOCK_BUILD_DIR));
  g_assert_null (strstr (g_getenv ("LATHE_PLUGIN_PATH"), MAGNITUDE_BLOCK_BUILD_DIR));
  g_assert_cmpstr (g_type_name (block->type), ==, "LbpMagnitudeBlockPruner");

  g_assert_cmpuint (g_strv_length (quantizers), ==, 2);
  g_assert_cmpstr (quantizers[0], ==, "uniform");
  g_assert_cmpstr (quantizers[1], ==, "palette");
  g_assert_cmpuint (g_strv_length (exporters), ==, 1);
  g_assert_cmpstr (exporters[0], ==, "onnx");

  /* The search path: the variable's folders first, then the build tree. */
  {
    const char * const *path = lathe_plugin_registry_get_search_path (registry);
    g_assert_cmpstr (path[0], ==, broken_dir);
    g_assert_cmpstr (path[1], ==, "/nonexistent/lathe-plugins");
    g_assert_true (g_strv_contains (path, PLUGINS_BUILD_DIR));
  }
}

static void
test_instantiate (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (builtins) + 1; i++)
    {
      const char *name = i < G_N_ELEMENTS (builtins) ? builtins[i] : "magnitude-block";
      const LathePluginInfo *info = lookup (name);
      g_autoptr(GObject) a = lathe_plugin_registry_create (registry, info->kind, name, &error);
      g_autoptr(GObject) b = lathe_plugin_registry_create (registry, info->kind, name, &error);

      g_assert_no_error (error);
      g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (a, lathe_plugin_kind_interface (info->kind)));
      g_assert_true (a != b);   /* a new instance each time */
      g_assert_true (lathe_plugin_registry_lookup_type (registry, G_OBJECT_TYPE (a)) == info);
    }

  {
    g_autoptr(LatheQuantizer) q = lathe_plugin_registry_get_quantizer (registry, "palette", &error);
    g_autoptr(LathePruner) p = lathe_plugin_registry_get_pruner (registry, "magnitude", &error);
    g_autoptr(LathePruner) n = lathe_plugin_registry_get_pruner (registry, "nm", &error);
    g_autoptr(LatheExporter) e = lathe_plugin_registry_get_exporter (registry, "onnx", &error);

    g_assert_no_error (error);
    g_assert_true (LATHE_IS_QUANTIZER (q));
    g_assert_cmpint (lathe_pruner_get_layout (p), ==, LATHE_PRUNE_LAYOUT_FLAT);
    g_assert_cmpint (lathe_pruner_get_layout (n), ==, LATHE_PRUNE_LAYOUT_VIEW);
    g_assert_cmpstr (lathe_exporter_get_extension (e), ==, "onnx");
  }

  /* Not found: the message names what is available. */
  g_assert_null (lathe_plugin_registry_get_quantizer (registry, "nope", &error));
  g_assert_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "no quantizer plugin named 'nope' (available: uniform, palette)");
  g_clear_error (&error);

  g_assert_null (lathe_plugin_registry_get_quantizer (registry, "magnitude", &error));
  g_assert_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "no quantizer plugin named 'magnitude': it is a pruner (available: uniform, palette)");
  g_clear_error (&error);

  g_assert_null (lathe_plugin_registry_get_exporter (registry, "tflite", &error));
  g_assert_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "(available: onnx)"));
  g_clear_error (&error);

  /* Unusable: the message carries the reason. */
  g_assert_null (lathe_plugin_registry_get_pruner (registry, "broken-abi", &error));
  g_assert_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_UNUSABLE);
  g_assert_nonnull (strstr (error->message, "the pruner plugin 'broken-abi' is unusable: "));
  g_assert_nonnull (strstr (error->message, "built for ABI 2, this Lathe needs 1"));
  g_clear_error (&error);

  /* A keyfile too broken to say its kind is still reported as unusable. */
  g_assert_null (lathe_plugin_registry_get_pruner (registry, "malformed", &error));
  g_assert_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_UNUSABLE);
  g_assert_true (g_str_has_prefix (error->message, "the pruner plugin 'malformed' is unusable: "));
  g_clear_error (&error);
}

static void
test_broken (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GPtrArray) list = lathe_plugin_registry_list (registry);
  const LathePluginInfo *dup = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      const LathePluginInfo *info = lookup (broken[i].name);

      if (info == NULL)
        g_error ("%s: not listed", broken[i].name);
      if (info->status != LATHE_PLUGIN_STATUS_UNUSABLE || info->reason == NULL ||
          strstr (info->reason, broken[i].reason) == NULL)
        g_error ("%s: status %d, reason '%s'; expected UNUSABLE with '%s'", broken[i].name, info->status,
                 info->reason ? info->reason : "(none)", broken[i].reason);
      g_assert_cmpint (info->type, ==, G_TYPE_INVALID);
      g_test_message ("%s: %s", info->name, info->reason);
    }

  /* The keyfile ABI is what the entry reports; a wrong one is never opened
   * (the module behind abi-keyfile aborts when loaded). */
  g_assert_cmpint (lookup ("abi-keyfile")->abi, ==, 99);
  g_assert_cmpstr (lookup ("abi-keyfile")->module, ==, BROKEN_ABORT_MODULE);
  g_assert_cmpint (lookup ("abi-text")->abi, ==, -1);
  g_assert_cmpint (lookup ("malformed")->kind, ==, LATHE_PLUGIN_KIND_UNKNOWN);
  assert_str_take (g_build_filename (broken_dir, "libmissing-module." G_MODULE_SUFFIX, NULL),
                   lookup ("missing-module")->module);

  /* The second "uniform" is listed, the built-in one is what lookup finds. */
  for (guint i = 0; i < list->len; i++)
    {
      const LathePluginInfo *info = g_ptr_array_index (list, i);
      if (g_str_equal (info->name, "uniform") && info != lookup ("uniform"))
        dup = info;
    }
  g_assert_nonnull (dup);
  g_assert_cmpint (dup->status, ==, LATHE_PLUGIN_STATUS_UNUSABLE);
  g_assert_cmpstr (dup->reason, ==, "duplicate: a plugin named 'uniform' was found first (built-in)");
  g_assert_cmpint (lookup ("uniform")->status, ==, LATHE_PLUGIN_STATUS_OK);

  /* None of them is offered. */
  {
    g_auto(GStrv) pruners = lathe_plugin_registry_list_names (registry, LATHE_PLUGIN_KIND_PRUNER);
    g_autofree char *joined = g_strjoinv (",", pruners);
    g_assert_cmpstr (joined, ==, "magnitude,nm,channel,magnitude-block");
  }
}

static void
test_add_method_outside_register (void)
{
  if (g_test_subprocess ())
    {
      lathe_plugin_registry_add_method (lathe_plugin_registry_get_default (), "x", G_TYPE_OBJECT);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*self->loading != NULL*");
}

/* Parameters */

static void
assert_param_error (GObject    *method,
                    const char *param,
                    const char *value,
                    const char *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (lathe_plugin_registry_set_param (method, param, value, &error));
  g_assert_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_PARAM);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_params (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) palette = G_OBJECT (lathe_plugin_registry_get_quantizer (registry, "palette", &error));
  g_autoptr(GObject) channel = G_OBJECT (lathe_plugin_registry_get_pruner (registry, "channel", &error));
  g_autoptr(GObject) block = G_OBJECT (lathe_plugin_registry_get_pruner (registry, "magnitude-block", &error));
  g_autoptr(GObject) uniform = G_OBJECT (lathe_plugin_registry_get_quantizer (registry, "uniform", &error));
  GParamSpec *pspec;
  int iterations, norm, block_size;
  guint n = 99;
  g_autofree GParamSpec **specs = NULL;

  g_assert_no_error (error);

  /* Defaults, types and ranges as a form would show them. */
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (palette), "iterations");
  g_assert_cmpstr (lathe_plugin_param_type_name (pspec), ==, "int");
  assert_str_take (lathe_plugin_param_format_range (pspec), "0 … 1000");
  assert_str_take (lathe_plugin_param_format_default (pspec), "20");
  g_assert_true (pspec->flags & G_PARAM_STATIC_STRINGS);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (channel), "norm");
  g_assert_cmpstr (lathe_plugin_param_type_name (pspec), ==, "enum");
  assert_str_take (lathe_plugin_param_format_range (pspec), "l1 | l2");
  assert_str_take (lathe_plugin_param_format_default (pspec), "l2");
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (block), "block-size");
  assert_str_take (lathe_plugin_param_format_range (pspec), "2 … 64");
  assert_str_take (lathe_plugin_param_format_default (pspec), "4");

  specs = lathe_plugin_info_list_params (lookup ("uniform"), &n);
  g_assert_cmpuint (n, ==, 0);
  g_clear_pointer (&specs, g_free);
  specs = lathe_plugin_info_list_params (lookup ("palette"), &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (specs[0]->name, ==, "iterations");
  g_clear_pointer (&specs, g_free);
  g_assert_null (lathe_plugin_info_list_params (lookup ("broken-abi"), &n));
  g_assert_cmpuint (n, ==, 0);

  /* In range. */
  g_assert_true (lathe_plugin_registry_set_param (palette, "iterations", "50", &error));
  g_assert_true (lathe_plugin_registry_set_param (channel, "norm", "l1", &error));
  g_assert_true (lathe_plugin_registry_set_param (block, "block-size", "64", &error));
  g_assert_no_error (error);
  g_object_get (palette, "iterations", &iterations, NULL);
  g_object_get (channel, "norm", &norm, NULL);
  g_object_get (block, "block-size", &block_size, NULL);
  g_assert_cmpint (iterations, ==, 50);
  g_assert_cmpint (norm, ==, LATHE_NORM_L1);
  g_assert_cmpint (block_size, ==, 64);
  g_assert_true (lathe_plugin_registry_set_param (palette, "iterations", "0", &error));
  g_assert_true (lathe_plugin_registry_set_param (palette, "iterations", "1000", &error));
  g_assert_no_error (error);

  /* Out of range, malformed, unknown: the value is untouched. */
  assert_param_error (palette, "iterations", "1001", "palette.iterations=1001: expected a whole number from 0 to 1000");
  assert_param_error (palette, "iterations", "-1", "palette.iterations=-1: expected a whole number from 0 to 1000");
  assert_param_error (palette, "iterations", "ten", "palette.iterations=ten: expected a whole number from 0 to 1000");
  assert_param_error (palette, "iterations", "", "palette.iterations=: expected a whole number from 0 to 1000");
  assert_param_error (palette, "iterations", "5.5", "palette.iterations=5.5: expected a whole number from 0 to 1000");
  g_object_get (palette, "iterations", &iterations, NULL);
  g_assert_cmpint (iterations, ==, 1000);
  assert_param_error (channel, "norm", "l3", "channel.norm=l3: expected one of l1, l2");
  assert_param_error (block, "block-size", "1", "magnitude-block.block-size=1: expected a whole number from 2 to 64");
  assert_param_error (block, "block-size", "65", "magnitude-block.block-size=65: expected a whole number from 2 to 64");
  assert_param_error (palette, "clusters", "4", "palette has no parameter 'clusters' (its parameters: iterations)");
  assert_param_error (uniform, "bits", "4", "uniform has no parameter 'bits' (it has none)");
}

/* Methods through their extension points, against the kernels. */

static void
test_quantizers (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheQuantizer) uniform = lathe_plugin_registry_get_quantizer (registry, "uniform", &error);
  g_autoptr(LatheQuantizer) palette = lathe_plugin_registry_get_quantizer (registry, "palette", &error);
  g_auto(LatheLayerSettings) s = { 0 };
  const gsize rows = 12, cols = 40, n = rows * cols;
  g_autofree float *w = random_weights (n, 0);
  g_autofree float *a = g_memdup2 (w, n * sizeof (float));
  g_autofree float *b = g_memdup2 (w, n * sizeof (float));
  g_autofree guint8 *keep = g_malloc (n);
  LatheWeightView va = { a, rows, cols, 1 }, vb = { b, rows, cols, 1 };
  g_autoptr(LatheQuantized) qa = NULL;
  g_autoptr(LatheQuantized) qb = NULL;

  g_assert_no_error (error);
  lathe_layer_settings_init_defaults (&s);
  for (gsize i = 0; i < n; i++)
    keep[i] = (i % 7) != 0;

  /* uniform 4-bit per channel, affine, MSE scale: the plugin is the kernel. */
  s.bits = 4;
  s.granularity = LATHE_GRANULARITY_CHANNEL;
  s.affine = TRUE;
  s.scale = LATHE_SCALE_MSE;
  g_assert_true (lathe_quantizer_quantize (uniform, &va, &s, keep, &qa, &error));
  g_assert_no_error (error);
  g_assert_true (lathe_quant_uniform (&vb, 4, LATHE_GRANULARITY_CHANNEL, 0, TRUE, LATHE_SCALE_MSE, keep, &qb, &error));
  g_assert_nonnull (qa);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  g_assert_cmpmem (qa->codes, n * sizeof (gint32), qb->codes, n * sizeof (gint32));
  g_assert_cmpmem (qa->scales, qa->n_scales * sizeof (float), qb->scales, qb->n_scales * sizeof (float));

  /* 16 bits: float16; 32: untouched but pruned positions are 0. */
  memcpy (a, w, n * sizeof (float));
  memcpy (b, w, n * sizeof (float));
  s.bits = 16;
  g_clear_pointer (&qa, lathe_quantized_free);
  g_assert_true (lathe_quantizer_quantize (uniform, &va, &s, NULL, &qa, &error));
  g_assert_null (qa);
  lathe_quant_fp16 (&vb);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  memcpy (a, w, n * sizeof (float));
  s.bits = 32;
  g_assert_true (lathe_quantizer_quantize (uniform, &va, &s, keep, NULL, &error));
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (a[i], ==, keep[i] ? w[i] : 0.0f);

  /* palette with iterations = 3, per channel. */
  memcpy (a, w, n * sizeof (float));
  memcpy (b, w, n * sizeof (float));
  g_assert_true (lathe_plugin_registry_set_param (G_OBJECT (palette), "iterations", "3", &error));
  lathe_layer_settings_clear (&s);
  lathe_layer_settings_init_defaults (&s);
  s.bits = 3;
  s.granularity = LATHE_GRANULARITY_CHANNEL;
  g_clear_pointer (&qa, lathe_quantized_free);
  g_assert_true (lathe_quantizer_quantize (palette, &va, &s, keep, &qa, &error));
  g_assert_no_error (error);
  g_assert_null (qa);   /* codebooks are not uniform codes */
  g_assert_true (lathe_quant_palette (&vb, 3, TRUE, 3, keep, NULL, &error));
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));

  /* What does not apply is refused, and the weights are left alone. */
  memcpy (a, w, n * sizeof (float));
  s.affine = TRUE;
  g_assert_false (lathe_quantizer_quantize (palette, &va, &s, keep, NULL, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "palette: affine does not apply to a codebook");
  g_clear_error (&error);
  g_assert_cmpmem (a, n * sizeof (float), w, n * sizeof (float));
  s.affine = FALSE;
  s.granularity = LATHE_GRANULARITY_GROUP;
  s.group_size = 32;
  g_assert_false (lathe_quantizer_supports (palette, &s, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (lathe_quantizer_supports (uniform, &s, &error));
  s.group_size = 48;
  g_assert_false (lathe_quantizer_supports (uniform, &s, &error));
  g_assert_cmpstr (error->message, ==, "uniform: group size 48: expected 16, 32, 64, 128 or 256");
  g_clear_error (&error);
  s.granularity = LATHE_GRANULARITY_TENSOR;
  s.bits = 1;
  s.affine = TRUE;
  g_assert_false (lathe_quantizer_supports (uniform, &s, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_clear_error (&error);
  s.affine = FALSE;
  s.bits = 12;
  g_assert_false (lathe_quantizer_supports (uniform, &s, &error));
  g_assert_cmpstr (error->message, ==, "uniform: 12 bits: expected 1 to 8, 16 or 32");
  g_clear_error (&error);
}

static void
test_pruners (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePruner) magnitude = lathe_plugin_registry_get_pruner (registry, "magnitude", &error);
  g_autoptr(LathePruner) nm = lathe_plugin_registry_get_pruner (registry, "nm", &error);
  g_autoptr(LathePruner) channel = lathe_plugin_registry_get_pruner (registry, "channel", &error);
  g_auto(LatheLayerSettings) s = { 0 };
  const gsize rows = 16, cols = 24, n = rows * cols;
  g_autofree float *w = random_weights (n, 3);
  g_autofree float *a = g_memdup2 (w, n * sizeof (float));
  g_autofree float *b = g_memdup2 (w, n * sizeof (float));
  g_autofree float *flat = g_memdup2 (w, n * sizeof (float));
  g_autofree guint8 *ka = g_malloc (n);
  g_autofree guint8 *kb = g_malloc (n);
  g_autofree guint8 *row_keep = g_malloc (rows);
  LatheWeightView va = { a, rows, cols, 1 }, vb = { b, rows, cols, 1 };

  g_assert_no_error (error);
  lathe_layer_settings_init_defaults (&s);

  /* magnitude ranks `flat`, leaves the view alone. */
  s.sparsity = 0.6;
  g_assert_true (lathe_pruner_prune (magnitude, &va, flat, n, &s, ka, &error));
  g_assert_no_error (error);
  lathe_prune_magnitude (b, n, 0.6, kb);
  g_assert_cmpmem (flat, n * sizeof (float), b, n * sizeof (float));
  g_assert_cmpmem (ka, n, kb, n);
  g_assert_cmpmem (a, n * sizeof (float), w, n * sizeof (float));

  /* nm 2:4 on the view. */
  memcpy (b, w, n * sizeof (float));
  s.pattern = LATHE_PATTERN_NM;
  s.nm_n = 2;
  s.nm_m = 4;
  g_assert_true (lathe_pruner_prune (nm, &va, NULL, 0, &s, ka, &error));
  g_assert_true (lathe_prune_nm (&vb, 2, 4, kb, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  g_assert_cmpmem (ka, n, kb, n);
  s.nm_n = 4;
  g_assert_false (lathe_pruner_prune (nm, &va, NULL, 0, &s, ka, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "nm: 4:4 is not an N:M pattern (1 ≤ N < M ≤ 16)");
  g_clear_error (&error);
  s.nm_n = 3;
  s.nm_m = 7;   /* 24 is not a multiple of 7: the kernel's error, named */
  g_assert_false (lathe_pruner_prune (nm, &va, NULL, 0, &s, ka, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "nm: "));
  g_clear_error (&error);

  /* channel with norm = l1: whole rows in the mask. */
  memcpy (a, w, n * sizeof (float));
  memcpy (b, w, n * sizeof (float));
  g_assert_true (lathe_plugin_registry_set_param (G_OBJECT (channel), "norm", "l1", &error));
  s.pattern = LATHE_PATTERN_CHANNEL;
  s.sparsity = 0.25;
  g_assert_true (lathe_pruner_prune (channel, &va, NULL, 0, &s, ka, &error));
  g_assert_no_error (error);
  lathe_prune_channel (&vb, 0.25, LATHE_NORM_L1, row_keep);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      g_assert_cmpint (ka[r * cols + c], ==, row_keep[r]);
}

static void
test_exporter (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheExporter) onnx = lathe_plugin_registry_get_exporter (registry, "onnx", &error);
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(LatheGraph) graph = lathe_onnx_load_file (path, &error);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  LatheExportOptions options = { 0 };
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) b = NULL;
  int opset = -1;

  g_assert_no_error (error);
  a = lathe_exporter_export (onnx, graph, NULL, notes, &opset, &error);
  g_assert_no_error (error);
  b = lathe_onnx_serialize (graph, &options, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (a, b));
  g_assert_cmpint (opset, ==, options.out_opset);
  g_assert_cmpint (opset, >, 0);
}

/* magnitude-block */

static void
assert_same (const float  *a,
             const float  *b,
             const guint8 *ka,
             const guint8 *kb,
             gsize         n,
             const char   *what)
{
  g_assert_true (BLOCK_PRUNE_EXACT);
  for (gsize i = 0; i < n; i++)
    if (memcmp (&a[i], &b[i], sizeof (float)) != 0 || ka[i] != kb[i])
      g_error ("%s: element %" G_GSIZE_FORMAT ": fast %g keep %d, ref %g keep %d",
               what, i, a[i], ka[i], b[i], kb[i]);
}

static void
test_block_ref (void)
{
  static const gsize blocks[] = { 1, 2, 3, 4, 7, 16, 64 };
  static const double sparsities[] = { 0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0 };
  static const gsize shapes[][2] = { { 1, 1 }, { 1, 8 }, { 3, 10 }, { 16, 64 }, { 7, 100 }, { 0, 5 } };

  for (guint sh = 0; sh < G_N_ELEMENTS (shapes); sh++)
    for (int distinct = 0; distinct <= 2; distinct += 2)
      {
        gsize rows = shapes[sh][0], cols = shapes[sh][1], n = rows * cols;
        g_autofree float *w = random_weights (n, distinct);
        g_autofree float *a = g_new (float, MAX (n, 1));
        g_autofree float *b = g_new (float, MAX (n, 1));
        g_autofree guint8 *ka = g_malloc (MAX (n, 1));
        g_autofree guint8 *kb = g_malloc (MAX (n, 1));

        for (guint bl = 0; bl < G_N_ELEMENTS (blocks); bl++)
          for (guint sp = 0; sp < G_N_ELEMENTS (sparsities); sp++)
            {
              LatheWeightView va = { a, rows, cols, 1 }, vb = { b, rows, cols, 1 };
              g_autofree char *what = g_strdup_printf ("%" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT ", block %"
                                                       G_GSIZE_FORMAT ", s %g, %s", rows, cols, blocks[bl],
                                                       sparsities[sp], distinct ? "ties" : "random");
              gsize zeros = 0;

              memcpy (a, w, n * sizeof (float));
              memcpy (b, w, n * sizeof (float));
              lbp_prune_blocks (&va, blocks[bl], sparsities[sp], ka);
              lbp_prune_blocks_ref (&vb, blocks[bl], sparsities[sp], kb);
              assert_same (a, b, ka, kb, n, what);

              /* Every pruned position is 0 and the mask counts whole blocks. */
              for (gsize i = 0; i < n; i++)
                {
                  g_assert_true (ka[i] || a[i] == 0.0f);
                  zeros += ka[i] == 0;
                }
              if (cols % blocks[bl] == 0)
                g_assert_cmpuint (zeros, ==,
                                  lathe_prune_count (sparsities[sp], rows * (cols / blocks[bl])) * blocks[bl]);
            }
      }
}

static void
test_block_by_hand (void)
{
  /* Two rows of 6 with blocks of 3 (4 blocks). Energies: row 0 {1+1+1,
   * 0.25·3}, row 1 {4·3, 0.25·3}: the two 0.75 blocks tie; s = 0.5 prunes
   * two blocks: both of them (lower index first would matter at s = 0.25). */
  float w[12] = { 1, -1, 1, 0.5f, -0.5f, 0.5f,
                  2, 2, -2, 0.5f, 0.5f, -0.5f };
  float w2[12];
  guint8 keep[12];
  LatheWeightView v = { w, 2, 6, 1 };
  LatheWeightView v2 = { w2, 2, 6, 1 };
  static const guint8 expect_half[12] = { 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0 };
  static const guint8 expect_quarter[12] = { 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1 };

  memcpy (w2, w, sizeof w);
  lbp_prune_blocks (&v, 3, 0.5, keep);
  g_assert_cmpmem (keep, sizeof keep, expect_half, sizeof expect_half);
  g_assert_cmpfloat (w[3], ==, 0.0f);
  g_assert_cmpfloat (w[11], ==, 0.0f);
  g_assert_cmpfloat (w[6], ==, 2.0f);

  /* round(0.25 · 4) = 1: the tie goes to the lower index, row 0. */
  lbp_prune_blocks (&v2, 3, 0.25, keep);
  g_assert_cmpmem (keep, sizeof keep, expect_quarter, sizeof expect_quarter);
  g_assert_cmpfloat (w2[9], ==, 0.5f);
}

static void
test_block_plugin_vs_ref (void)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePruner) pruner = lathe_plugin_registry_get_pruner (registry, "magnitude-block", &error);
  g_auto(LatheLayerSettings) s = { 0 };
  const gsize rows = 32, cols = 100, n = rows * cols;
  g_autofree float *w = random_weights (n, 0);
  g_autofree float *a = g_memdup2 (w, n * sizeof (float));
  g_autofree float *b = g_memdup2 (w, n * sizeof (float));
  g_autofree guint8 *ka = g_malloc (n);
  g_autofree guint8 *kb = g_malloc (n);
  LatheWeightView va = { a, rows, cols, 1 }, vb = { b, rows, cols, 1 };

  g_assert_no_error (error);
  g_assert_cmpint (lathe_pruner_get_layout (pruner), ==, LATHE_PRUNE_LAYOUT_VIEW);
  lathe_layer_settings_init_defaults (&s);

  for (int size = 2; size <= 64; size *= 2)
    for (double sparsity = 0.0; sparsity <= 1.0; sparsity += 0.3)
      {
        g_autofree char *value = g_strdup_printf ("%d", size);
        g_autofree char *what = g_strdup_printf ("plugin, block %d, s %g", size, sparsity);

        memcpy (a, w, n * sizeof (float));
        memcpy (b, w, n * sizeof (float));
        g_assert_true (lathe_plugin_registry_set_param (G_OBJECT (pruner), "block-size", value, &error));
        s.sparsity = sparsity;
        g_assert_true (lathe_pruner_prune (pruner, &va, NULL, 0, &s, ka, &error));
        g_assert_no_error (error);
        lbp_prune_blocks_ref (&vb, size, sparsity, kb);
        assert_same (a, b, ka, kb, n, what);
      }

  s.sparsity = 1.5;
  g_assert_false (lathe_pruner_prune (pruner, &va, NULL, 0, &s, ka, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "magnitude-block: sparsity 1.5: expected 0 to 1");
}

/* lathe-cli plugins */

static char *
run_cli (const char  *arg,
         int         *status)
{
  const char *cli = g_getenv ("LATHE_CLI");
  const char *argv[] = { cli, "plugins", arg, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int wait_status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &wait_status, &error);
  g_assert_no_error (error);
  *status = 0;
  if (!g_spawn_check_wait_status (wait_status, &error))
    {
      g_assert_error (error, G_SPAWN_EXIT_ERROR, error->code);   /* exited, not killed */
      *status = error->code;
    }
  if (err != NULL && err[0] != '\0')
    g_test_message ("stderr: %s", err);
  return out;
}

static void
test_cli (void)
{
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *array;
  int status;

  if (g_getenv ("LATHE_CLI") == NULL)
    {
      g_test_skip ("LATHE_CLI is not set");
      return;
    }

  json = run_cli ("--json", &status);
  g_assert_cmpint (status, ==, 0);
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      const char *name = json_object_get_string_member (o, "name");
      const char *status_text = json_object_get_string_member (o, "status");
      gboolean ok = g_str_equal (status_text, "OK");

      g_assert_true (json_object_has_member (o, "kind"));
      g_assert_true (json_object_has_member (o, "keyfile"));
      g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "parameters")));
      g_assert_cmpint (ok, ==, JSON_NODE_HOLDS_NULL (json_object_get_member (o, "reason")));
      if (!g_hash_table_contains (seen, name))
        g_hash_table_insert (seen, (gpointer) name, GINT_TO_POINTER (ok));

      if (g_str_equal (name, "palette"))
        {
          JsonObject *p = json_array_get_object_element (json_object_get_array_member (o, "parameters"), 0);
          g_assert_cmpstr (json_object_get_string_member (p, "name"), ==, "iterations");
          g_assert_cmpint (json_object_get_int_member (p, "minimum"), ==, 0);
          g_assert_cmpint (json_object_get_int_member (p, "maximum"), ==, 1000);
          g_assert_cmpint (json_object_get_int_member (p, "default"), ==, 20);
        }
      if (g_str_equal (name, "channel"))
        {
          JsonObject *p = json_array_get_object_element (json_object_get_array_member (o, "parameters"), 0);
          g_assert_cmpstr (json_object_get_string_member (p, "default"), ==, "l2");
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (p, "values")), ==, 2);
        }
      if (g_str_equal (name, "abi-keyfile"))
        g_assert_cmpstr (json_object_get_string_member (o, "reason"), ==, "ABI 99, this Lathe needs 1");
    }
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    g_assert_true (GPOINTER_TO_INT (g_hash_table_lookup (seen, builtins[i])));
  g_assert_true (GPOINTER_TO_INT (g_hash_table_lookup (seen, "magnitude-block")));
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_assert_true (g_hash_table_contains (seen, broken[i].name));
      g_assert_false (GPOINTER_TO_INT (g_hash_table_lookup (seen, broken[i].name)));
    }

  text = run_cli (NULL, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (text, "uniform (quantizer): OK\n"));
  g_assert_nonnull (strstr (text, "magnitude-block (pruner): OK\n"));
  g_assert_nonnull (strstr (text, "    block-size  int, 2 … 64, default 4\n"));
  g_assert_nonnull (strstr (text, "abi-keyfile (pruner): UNUSABLE — ABI 99, this Lathe needs 1\n"));
  g_test_message ("%s", text);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *path = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* Before the registry exists: it reads the variable once. A subprocess
   * inherits the variable (and the folder) from its parent. */
  if (!g_test_subprocess ())
    {
      make_broken_dir ();
      path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, broken_dir, "/nonexistent/lathe-plugins", "", NULL);
      g_setenv ("LATHE_PLUGIN_PATH", path, TRUE);
    }

  g_test_add_func ("/lathe/plugins/registry/builtins", test_builtins);
  g_test_add_func ("/lathe/plugins/registry/instantiate", test_instantiate);
  g_test_add_func ("/lathe/plugins/registry/broken", test_broken);
  g_test_add_func ("/lathe/plugins/registry/add-method-outside-register", test_add_method_outside_register);
  g_test_add_func ("/lathe/plugins/params", test_params);
  g_test_add_func ("/lathe/plugins/methods/quantizers", test_quantizers);
  g_test_add_func ("/lathe/plugins/methods/pruners", test_pruners);
  g_test_add_func ("/lathe/plugins/methods/exporter", test_exporter);
  g_test_add_func ("/lathe/plugins/magnitude-block/ref", test_block_ref);
  g_test_add_func ("/lathe/plugins/magnitude-block/by-hand", test_block_by_hand);
  g_test_add_func ("/lathe/plugins/magnitude-block/plugin-vs-ref", test_block_plugin_vs_ref);
  g_test_add_func ("/lathe/plugins/cli", test_cli);

  status = g_test_run ();
  if (broken_dir != NULL)
    lathe_test_remove_tree (broken_dir);
  return status;
}
