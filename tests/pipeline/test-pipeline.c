/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-pipeline"

#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pipeline/lathe-pipeline.h"
#include "../lathe-test-util.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define SHA_C "00000000000000000000000000000000ffffffffffffffffffffffffffffffff"

/* The example of the format's description, digests filled in. */
static const char example[] =
  "{\"format\": \"lathe-pipeline\", \"version\": 1, \"tool\": \"lathe 0.x\", \"seed\": 0,\n"
  " \"model\": {\"path\": \"models/fashion-cnn.onnx\", \"sha256\": \"" SHA_A "\"},\n"
  " \"data\": {\"spec\": \"fashion-mnist\", \"mean\": [0.286], \"std\": [0.353], \"sha256\": \"" SHA_B "\","
  " \"subset\": {\"size\": 1000, \"seed\": 0}},\n"
  " \"defaults\": {\"quantizer\": \"uniform\", \"bits\": 8, \"granularity\": \"channel\", \"affine\": false,"
  " \"scale\": \"maxabs\", \"pruner\": \"magnitude\", \"sparsity\": 0.0, \"global_sparsity\": false,"
  " \"width\": 1.0, \"fold_bn\": true},\n"
  " \"layers\": {\"conv1.weight\": {\"bits\": 4, \"sparsity\": 0.5}, \"fc3.weight\": {\"skip\": true}},\n"
  " \"training\": null,\n"
  " \"results\": {\"accuracy\": 0.8912, \"baseline_accuracy\": 0.9012, \"fidelity\": 0.97, \"size_bytes\": 31234,"
  " \"baseline_size_bytes\": 247176, \"file_size_bytes\": 40210, \"model_sha256\": \"" SHA_C "\"}}\n";

/* What the writer makes of it. */
static const char example_written[] =
  "{\n"
  "  \"format\": \"lathe-pipeline\",\n"
  "  \"version\": 1,\n"
  "  \"tool\": \"lathe 0.x\",\n"
  "  \"seed\": 0,\n"
  "  \"model\": {\n"
  "    \"path\": \"models/fashion-cnn.onnx\",\n"
  "    \"sha256\": \"" SHA_A "\"\n"
  "  },\n"
  "  \"data\": {\n"
  "    \"spec\": \"fashion-mnist\",\n"
  "    \"mean\": [0.286],\n"
  "    \"std\": [0.353],\n"
  "    \"sha256\": \"" SHA_B "\",\n"
  "    \"subset\": {\n"
  "      \"size\": 1000,\n"
  "      \"seed\": 0\n"
  "    }\n"
  "  },\n"
  "  \"defaults\": {\n"
  "    \"quantizer\": \"uniform\",\n"
  "    \"bits\": 8,\n"
  "    \"granularity\": \"channel\",\n"
  "    \"affine\": false,\n"
  "    \"scale\": \"maxabs\",\n"
  "    \"pruner\": \"magnitude\",\n"
  "    \"pattern\": \"unstructured\",\n"
  "    \"sparsity\": 0.0,\n"
  "    \"global_sparsity\": false,\n"
  "    \"width\": 1.0,\n"
  "    \"fold_bn\": true\n"
  "  },\n"
  "  \"layers\": {\n"
  "    \"conv1.weight\": {\n"
  "      \"bits\": 4,\n"
  "      \"sparsity\": 0.5\n"
  "    },\n"
  "    \"fc3.weight\": {\n"
  "      \"skip\": true\n"
  "    }\n"
  "  },\n"
  "  \"training\": null,\n"
  "  \"results\": {\n"
  "    \"accuracy\": 0.8912,\n"
  "    \"baseline_accuracy\": 0.9012,\n"
  "    \"fidelity\": 0.97,\n"
  "    \"size_bytes\": 31234,\n"
  "    \"baseline_size_bytes\": 247176,\n"
  "    \"file_size_bytes\": 40210,\n"
  "    \"model_sha256\": \"" SHA_C "\"\n"
  "  }\n"
  "}\n";

/* Everything the format can say, with numbers that are hard to print. */
static const char rich[] =
  "{\"format\": \"lathe-pipeline\", \"version\": 1, \"tool\": \"lathe 0.1.0\", \"seed\": 9007199254740993,"
  " \"model\": {\"path\": \"../m \\\"quoted\\\" ü.onnx\", \"sha256\": null},"
  " \"data\": {\"spec\": \"npy:x.npy,y.npy\", \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225],"
  "          \"sha256\": null, \"subset\": null},"
  " \"defaults\": {\"quantizer\": \"palette\", \"bits\": 3, \"granularity\": \"group:128\", \"affine\": true,"
  "              \"scale\": \"mse\", \"pattern\": \"4:8\", \"sparsity\": 0.30000000000000004,"
  "              \"global_sparsity\": true, \"width\": 0.333333333333333314829616256247,"
  "              \"fold_bn\": false,"
  "              \"params\": {\"palette.iterations\": 20, \"palette.tol\": 1e-7, \"uniform.name\": \"x y\","
  "                         \"nm.flag\": true, \"a.b\": \"020\"}},"
  " \"layers\": {\"z\": {}, \"a/b\": {\"granularity\": \"tensor\", \"pattern\": \"channel\", \"pruner\": \"channel\","
  "              \"width\": 0.5, \"affine\": false, \"scale\": \"maxabs\", \"quantizer\": \"uniform\"},"
  "              \"conv\": {\"pruner\": \"nm\", \"bits\": 16, \"sparsity\": 0.9, \"skip\": false}},"
  " \"training\": {\"seed\": 3, \"method\": \"distill\", \"epochs\": 10.0, \"temperature\": 4, \"alpha\": 0.5,"
  "              \"lr\": 0.001, \"batch\": 64, \"data\": \"fashion-mnist:train\"},"
  " \"results\": null}";

static LathePipeline *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  LathePipeline *p = lathe_pipeline_parse (text, -1, "pipeline.json", &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

static void
test_example (void)
{
  g_autoptr(LathePipeline) p = parse_ok (example);
  LatheLayerSettings *conv1, *fc3;
  LatheLayerSettings resolved = { 0 };

  g_assert_cmpint (p->version, ==, 1);
  g_assert_cmpstr (p->tool, ==, "lathe 0.x");
  g_assert_cmpuint (p->seed, ==, 0);
  g_assert_cmpstr (p->model_path, ==, "models/fashion-cnn.onnx");
  g_assert_cmpstr (p->model_sha256, ==, SHA_A);
  g_assert_cmpstr (p->data_spec, ==, "fashion-mnist");
  g_assert_cmpuint (p->mean->len, ==, 1);
  g_assert_cmpuint (p->std->len, ==, 1);
  g_assert_true (g_array_index (p->mean, float, 0) == 0.286f);
  g_assert_true (g_array_index (p->std, float, 0) == 0.353f);
  g_assert_cmpstr (p->data_sha256, ==, SHA_B);
  g_assert_cmpuint (p->subset_size, ==, 1000);
  g_assert_cmpuint (p->subset_seed, ==, 0);

  g_assert_cmpstr (p->plan->defaults.quantizer, ==, "uniform");
  g_assert_cmpint (p->plan->defaults.bits, ==, 8);
  g_assert_cmpint (p->plan->defaults.granularity, ==, LATHE_GRANULARITY_CHANNEL);
  g_assert_false (p->plan->defaults.affine);
  g_assert_cmpint (p->plan->defaults.scale, ==, LATHE_SCALE_MAXABS);
  g_assert_cmpint (p->plan->defaults.pattern, ==, LATHE_PATTERN_UNSTRUCTURED);
  g_assert_cmpfloat (p->plan->defaults.sparsity, ==, 0.0);
  g_assert_cmpfloat (p->plan->defaults.width, ==, 1.0);
  g_assert_cmpuint (p->plan->defaults.set, ==, 0);
  g_assert_false (p->plan->global_sparsity);
  g_assert_true (p->plan->fold_bn);
  g_assert_cmpuint (g_hash_table_size (p->plan->params), ==, 0);

  g_assert_cmpuint (g_hash_table_size (p->plan->layers), ==, 2);
  conv1 = g_hash_table_lookup (p->plan->layers, "conv1.weight");
  g_assert_nonnull (conv1);
  g_assert_cmpuint (conv1->set, ==, LATHE_FIELD_BITS | LATHE_FIELD_SPARSITY);
  g_assert_cmpint (conv1->bits, ==, 4);
  g_assert_cmpfloat (conv1->sparsity, ==, 0.5);
  fc3 = g_hash_table_lookup (p->plan->layers, "fc3.weight");
  g_assert_nonnull (fc3);
  g_assert_cmpuint (fc3->set, ==, LATHE_FIELD_SKIP);
  g_assert_true (fc3->skip);

  lathe_plan_resolve (p->plan, "conv1.weight", &resolved);
  g_assert_cmpint (resolved.bits, ==, 4);
  g_assert_cmpfloat (resolved.sparsity, ==, 0.5);
  g_assert_cmpint (resolved.granularity, ==, LATHE_GRANULARITY_CHANNEL);
  g_assert_cmpstr (resolved.quantizer, ==, "uniform");
  lathe_layer_settings_clear (&resolved);

  g_assert_null (p->training);
  g_assert_true (p->has_results);
  g_assert_cmpfloat (p->results.accuracy, ==, 0.8912);
  g_assert_cmpfloat (p->results.baseline_accuracy, ==, 0.9012);
  g_assert_cmpfloat (p->results.fidelity, ==, 0.97);
  g_assert_cmpint (p->results.size_bytes, ==, 31234);
  g_assert_cmpint (p->results.baseline_size_bytes, ==, 247176);
  g_assert_cmpint (p->results.file_size_bytes, ==, 40210);
  g_assert_cmpstr (p->results.model_sha256, ==, SHA_C);
}

static void
test_written_text (void)
{
  g_autoptr(LathePipeline) p = parse_ok (example);
  g_autofree char *text = lathe_pipeline_to_json (p);

  g_assert_cmpstr (text, ==, example_written);
}

static void
assert_round_trip (const char *source)
{
  g_autoptr(LathePipeline) a = parse_ok (source);
  g_autofree char *text_a = lathe_pipeline_to_json (a);
  g_autoptr(LathePipeline) b = parse_ok (text_a);
  g_autofree char *text_b = lathe_pipeline_to_json (b);
  g_autoptr(LathePipeline) c = parse_ok (text_b);
  g_autofree char *text_c = lathe_pipeline_to_json (c);

  g_assert_cmpstr (text_a, ==, text_b);
  g_assert_cmpstr (text_b, ==, text_c);
}

static void
test_round_trip (void)
{
  assert_round_trip (example);
  assert_round_trip (rich);
  assert_round_trip ("{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m.onnx\"}}");
}

static void
test_rich (void)
{
  g_autoptr(LathePipeline) p = parse_ok (rich);
  g_autofree char *text = lathe_pipeline_to_json (p);
  g_autoptr(LathePipeline) q = parse_ok (text);
  LatheLayerSettings *s;
  JsonObject *t;

  /* exact values after a trip through text */
  g_assert_cmpuint (q->seed, ==, G_GUINT64_CONSTANT (9007199254740993));
  g_assert_cmpuint (q->plan->seed, ==, q->seed);
  g_assert_cmpstr (q->model_path, ==, "../m \"quoted\" ü.onnx");
  g_assert_null (q->model_sha256);
  g_assert_null (q->data_sha256);
  g_assert_cmpuint (q->subset_size, ==, 0);
  g_assert_cmpuint (q->mean->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (g_array_index (q->mean, float, i) == g_array_index (p->mean, float, i));
      g_assert_true (g_array_index (q->std, float, i) == g_array_index (p->std, float, i));
    }
  g_assert_true (g_array_index (q->mean, float, 1) == 0.456f);
  g_assert_true (q->plan->defaults.sparsity == 0.1 + 0.2);
  g_assert_true (q->plan->defaults.width == 1.0 / 3.0);
  g_assert_cmpstr (q->plan->defaults.quantizer, ==, "palette");
  g_assert_cmpint (q->plan->defaults.bits, ==, 3);
  g_assert_cmpint (q->plan->defaults.granularity, ==, LATHE_GRANULARITY_GROUP);
  g_assert_cmpint (q->plan->defaults.group_size, ==, 128);
  g_assert_true (q->plan->defaults.affine);
  g_assert_cmpint (q->plan->defaults.scale, ==, LATHE_SCALE_MSE);
  g_assert_cmpint (q->plan->defaults.pattern, ==, LATHE_PATTERN_NM);
  g_assert_cmpint (q->plan->defaults.nm_n, ==, 4);
  g_assert_cmpint (q->plan->defaults.nm_m, ==, 8);
  g_assert_true (q->plan->global_sparsity);
  g_assert_false (q->plan->fold_bn);

  g_assert_cmpstr (g_hash_table_lookup (q->plan->params, "palette.iterations"), ==, "20");
  g_assert_cmpstr (g_hash_table_lookup (q->plan->params, "palette.tol"), ==, "1e-07");
  g_assert_cmpstr (g_hash_table_lookup (q->plan->params, "uniform.name"), ==, "x y");
  g_assert_cmpstr (g_hash_table_lookup (q->plan->params, "nm.flag"), ==, "true");
  g_assert_cmpstr (g_hash_table_lookup (q->plan->params, "a.b"), ==, "020");

  s = g_hash_table_lookup (q->plan->layers, "z");
  g_assert_nonnull (s);
  g_assert_cmpuint (s->set, ==, 0);
  s = g_hash_table_lookup (q->plan->layers, "a/b");
  g_assert_cmpuint (s->set, ==, LATHE_FIELD_GRANULARITY | LATHE_FIELD_PATTERN | LATHE_FIELD_WIDTH |
                                LATHE_FIELD_AFFINE | LATHE_FIELD_SCALE | LATHE_FIELD_QUANTIZER);
  g_assert_cmpint (s->granularity, ==, LATHE_GRANULARITY_TENSOR);
  g_assert_cmpint (s->pattern, ==, LATHE_PATTERN_CHANNEL);
  g_assert_cmpfloat (s->width, ==, 0.5);
  /* "pruner" alone picks its usual pattern */
  s = g_hash_table_lookup (q->plan->layers, "conv");
  g_assert_cmpuint (s->set, ==, LATHE_FIELD_PATTERN | LATHE_FIELD_BITS | LATHE_FIELD_SPARSITY | LATHE_FIELD_SKIP);
  g_assert_cmpint (s->pattern, ==, LATHE_PATTERN_NM);
  g_assert_cmpint (s->nm_n, ==, 2);
  g_assert_cmpint (s->nm_m, ==, 4);
  g_assert_cmpint (s->bits, ==, 16);
  g_assert_false (s->skip);

  /* training: validated, normalised (documented key order, integers as integers) */
  g_assert_nonnull (q->training);
  t = json_node_get_object (q->training);
  g_assert_cmpstr (json_object_get_string_member (t, "method"), ==, "distill");
  g_assert_cmpint (json_object_get_int_member (t, "epochs"), ==, 10);
  g_assert_cmpfloat (json_object_get_double_member (t, "temperature"), ==, 4.0);
  g_assert_cmpfloat (json_object_get_double_member (t, "lr"), ==, 0.001);
  g_assert_cmpint (json_object_get_int_member (t, "seed"), ==, 3);
  g_assert_nonnull (strstr (text, "\"training\": {\n    \"method\": \"distill\",\n    \"epochs\": 10,\n"
                                  "    \"temperature\": 4.0,\n"));
  g_assert_false (q->has_results);
  g_assert_nonnull (strstr (text, "\"results\": null\n}\n"));

  /* layers sorted by name; an override lists only what it sets */
  g_assert_nonnull (strstr (text, "\"layers\": {\n    \"a/b\": {"));
  g_assert_true (strstr (text, "\"a/b\"") < strstr (text, "\"conv\"") &&
                 strstr (text, "\"conv\"") < strstr (text, "\"z\""));
  g_assert_nonnull (strstr (text, "\"z\": {}"));
  g_assert_nonnull (strstr (text, "\"mean\": [0.485, 0.456, 0.406]"));
  g_assert_nonnull (strstr (text, "\"sparsity\": 0.30000000000000004"));
  g_assert_nonnull (strstr (text, "\"width\": 0.3333333333333333,"));
  g_assert_nonnull (strstr (text, "\"params\": {\n      \"a.b\": \"020\",\n      \"nm.flag\": true,\n"
                                  "      \"palette.iterations\": 20,\n      \"palette.tol\": 1e-07,\n"
                                  "      \"uniform.name\": \"x y\"\n    }"));
}

/* A pipeline put together in code, as the CLI and GUI do. */
static void
test_built (void)
{
  g_autoptr(LathePipeline) p = lathe_pipeline_new ();
  g_autoptr(LathePipeline) q = NULL;
  g_autofree char *text = NULL;
  g_autofree char *again = NULL;
  LatheLayerSettings *s;
  float mean = 0.1307f, std = 0.3081f;

  g_assert_cmpstr (p->tool, ==, "lathe " LATHE_VERSION);
  p->model_path = g_strdup ("model.onnx");
  p->data_spec = g_strdup ("mnist");
  g_array_append_val (p->mean, mean);
  g_array_append_val (p->std, std);
  p->seed = 42;
  p->subset_size = 256;
  p->subset_seed = 7;
  p->plan->defaults.bits = 4;
  p->plan->defaults.granularity = LATHE_GRANULARITY_GROUP;
  p->plan->defaults.group_size = 32;
  s = lathe_plan_layer (p->plan, "fc.weight");
  s->bits = 2;
  s->set |= LATHE_FIELD_BITS;
  p->has_results = TRUE;
  p->results.accuracy = 2.0 / 3.0;
  p->results.size_bytes = 1;

  text = lathe_pipeline_to_json (p);
  q = parse_ok (text);
  again = lathe_pipeline_to_json (q);
  g_assert_cmpstr (text, ==, again);
  g_assert_true (g_array_index (q->mean, float, 0) == mean);
  g_assert_true (g_array_index (q->std, float, 0) == std);
  g_assert_nonnull (strstr (text, "\"mean\": [0.1307],"));
  g_assert_true (q->results.accuracy == 2.0 / 3.0);
  g_assert_null (q->results.model_sha256);
  g_assert_cmpint (q->plan->defaults.group_size, ==, 32);
  g_assert_cmpint (((LatheLayerSettings *) g_hash_table_lookup (q->plan->layers, "fc.weight"))->bits, ==, 2);
  g_assert_nonnull (strstr (text, "\"granularity\": \"group:32\""));
  g_assert_nonnull (strstr (text, "\"subset\": {\n      \"size\": 256,\n      \"seed\": 7\n    }"));
}

static void
test_minimal (void)
{
  g_autoptr(LathePipeline) p =
    parse_ok ("{\"format\": \"lathe-pipeline\", \"version\": 1.0, \"model\": {\"path\": \"m.onnx\"},"
              " \"defaults\": {\"bits\": 4.0}}");
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autofree char *text = lathe_pipeline_to_json (p);

  g_assert_null (p->tool);
  g_assert_null (p->data_spec);
  g_assert_null (p->training);
  g_assert_false (p->has_results);
  g_assert_cmpint (p->plan->defaults.bits, ==, 4);   /* 4.0 is an integer */
  plan->defaults.bits = 4;
  g_assert_true (lathe_layer_settings_equal (&p->plan->defaults, &plan->defaults));
  g_assert_cmpint (p->plan->fold_bn, ==, plan->fold_bn);
  g_assert_nonnull (strstr (text, "\"tool\": \"lathe " LATHE_VERSION "\""));
  g_assert_nonnull (strstr (text, "\"data\": null,"));
  g_assert_nonnull (strstr (text, "\"sha256\": null\n"));
}

#define DOC(extra) "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m.onnx\"}" extra "}"
#define RESULTS(inner) ", \"results\": {\"accuracy\": 0.5, \"baseline_accuracy\": 0.5, \"fidelity\": 1," \
  " \"size_bytes\": 1, \"baseline_size_bytes\": 2, \"file_size_bytes\": 3, \"model_sha256\": null" inner "}"

typedef struct {
  const char *text;
  int         code;
  const char *message;     /* the whole message, or its start when it ends with '*' */
} ErrorCase;

static const ErrorCase error_cases[] = {
  /* unknown keys */
  { DOC (", \"modle\": {}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.modle: unknown key (expected format, version, tool, seed, model, data, defaults, "
    "layers, training, results)" },
  { DOC (", \"defaults\": {\"bit\": 4}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.bit: unknown key (expected quantizer, bits, granularity, *" },
  { DOC (", \"defaults\": {\"skip\": true}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.skip: unknown key*" },
  { DOC (", \"layers\": {\"conv1.weight\": {\"bits\": 4, \"spars\": 0.5}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers[\"conv1.weight\"].spars: unknown key (expected bits, granularity, affine, "
    "scale, quantizer, sparsity, pattern, pruner, width, skip)" },
  { DOC (", \"layers\": {\"fc\": {\"fold_bn\": true}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers.fc.fold_bn: unknown key*" },
  { DOC (", \"data\": {\"spec\": \"fashion-mnist\", \"means\": [0.5]}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.means: unknown key (expected spec, mean, std, sha256, subset)" },
  { DOC (", \"data\": {\"spec\": \"x\", \"subset\": {\"size\": 10, \"count\": 1}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.subset.count: unknown key (expected size, seed)" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m\", \"size\": 1}}",
    LATHE_PIPELINE_ERROR_INVALID, "pipeline.json: $.model.size: unknown key (expected path, sha256)" },
  { DOC (RESULTS (", \"top5\": 0.9")), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.results.top5: unknown key (expected accuracy, baseline_accuracy, *" },
  { DOC (", \"training\": {\"method\": \"distill\", \"epoch\": 3}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.epoch: unknown key (expected method, epochs, temperature, alpha, lr, "
    "batch, seed, data, data_sha256, limit, optimizer, momentum, weight_decay, schedule)" },
  { DOC (", \"defaults\": {\"bits\": 4, \"bits\": 8}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.bits: the key appears twice" },

  /* wrong types */
  { DOC (", \"defaults\": {\"bits\": \"8\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.bits: expected a number, got \"8\"" },
  { DOC (", \"defaults\": {\"affine\": 1}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.affine: expected true or false, got 1" },
  { DOC (", \"defaults\": {\"fold_bn\": null}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.fold_bn: expected true or false, got null" },
  { DOC (", \"defaults\": []"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults: expected an object, got an array" },
  { DOC (", \"layers\": {\"fc\": 4}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers.fc: expected an object, got 4" },
  { DOC (", \"layers\": {\"\": {}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers[\"\"]: expected a layer name, got \"\"" },
  { DOC (", \"seed\": 1.5"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.seed: expected an integer, got 1.5" },
  { DOC (", \"seed\": -1"), LATHE_PIPELINE_ERROR_INVALID, "pipeline.json: $.seed: -1 is not ≥ 0" },
  { DOC (", \"tool\": 3"), LATHE_PIPELINE_ERROR_INVALID, "pipeline.json: $.tool: expected a string, got 3" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": 3}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.model.path: expected a non-empty string, got 3" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"\"}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.model.path: expected a non-empty string, got \"\"" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m\", \"sha256\": \"ABC\"}}",
    LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.model.sha256: \"ABC\" is not a SHA-256 digest (64 lowercase hex digits)" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": \"m.onnx\"}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.model: expected an object, got \"m.onnx\"" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $: \"model\" is missing*" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.model: \"path\" is missing*" },
  { DOC (", \"data\": {\"spec\": \"x\", \"mean\": 0.5, \"std\": [1]}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.mean: expected an array of numbers, got 0.5" },
  { DOC (", \"data\": {\"spec\": \"x\", \"mean\": [0.5, \"a\"], \"std\": [1, 1]}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.mean[1]: expected a number, got \"a\"" },
  { DOC (", \"data\": {\"spec\": \"x\", \"mean\": [0.5], \"std\": [0]}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.std[0]: 0 is not > 0" },
  { DOC (", \"data\": {\"spec\": \"x\", \"mean\": [0.5, 0.5], \"std\": [1]}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.std: has 1 value but \"mean\" has 2*" },
  { DOC (", \"data\": {\"mean\": [0.5]}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data: \"spec\" is missing*" },
  { DOC (", \"data\": {\"spec\": \"x\", \"subset\": {\"size\": 0}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data.subset.size: 0 is not ≥ 1" },
  { DOC (", \"data\": \"fashion-mnist\""), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.data: expected an object, got \"fashion-mnist\"" },
  { DOC (", \"defaults\": {\"params\": {\"iterations\": 20}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.params.iterations: not a parameter name*" },
  { DOC (", \"defaults\": {\"params\": {\"palette.iterations\": [20]}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.params[\"palette.iterations\"]: expected a string, a number or true/false, "
    "got an array" },

  /* out of range */
  { DOC (", \"defaults\": {\"bits\": 3.5}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.bits: 3.5 is not one of 1…8, 16, 32" },
  { DOC (", \"defaults\": {\"bits\": 0}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.bits: 0 is not one of 1…8, 16, 32" },
  { DOC (", \"defaults\": {\"bits\": 12}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.bits: 12 is not one of 1…8, 16, 32" },
  { DOC (", \"layers\": {\"conv1.weight\": {\"bits\": 64}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers[\"conv1.weight\"].bits: 64 is not one of 1…8, 16, 32" },
  { DOC (", \"defaults\": {\"sparsity\": 1.0}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.sparsity: 1.0 is not within 0…0.99" },
  { DOC (", \"layers\": {\"fc\": {\"sparsity\": -0.1}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers.fc.sparsity: -0.1 is not within 0…0.99" },
  { DOC (", \"defaults\": {\"width\": 0}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.width: 0 is not within 0.05…1" },
  { DOC (", \"layers\": {\"fc\": {\"width\": 1.5}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers.fc.width: 1.5 is not within 0.05…1" },
  { DOC (RESULTS ("") ", \"x\": 1"), LATHE_PIPELINE_ERROR_INVALID, "pipeline.json: $.x: unknown key*" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m\"}, \"results\": "
    "{\"accuracy\": 1.2}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.results.accuracy: 1.2 is not within 0…1" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m\"}, \"results\": "
    "{\"accuracy\": 1, \"baseline_accuracy\": 1}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.results: \"fidelity\" is missing (expected a number within 0…1)" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m\"}, \"results\": "
    "{\"accuracy\": 1, \"baseline_accuracy\": 1, \"fidelity\": 1, \"size_bytes\": -5}}",
    LATHE_PIPELINE_ERROR_INVALID, "pipeline.json: $.results.size_bytes: -5 is not ≥ 0" },

  /* granularity, pruner, pattern */
  { DOC (", \"defaults\": {\"granularity\": \"group:7\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.granularity: \"group:7\" is not \"tensor\", \"channel\" or \"group:G\" "
    "with G one of 16, 32, 64, 128, 256" },
  { DOC (", \"defaults\": {\"granularity\": \"group:016\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.granularity: \"group:016\" is not*" },
  { DOC (", \"defaults\": {\"granularity\": \"group:\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.granularity: \"group:\" is not*" },
  { DOC (", \"layers\": {\"fc\": {\"granularity\": \"Channel\"}}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers.fc.granularity: \"Channel\" is not*" },
  { DOC (", \"defaults\": {\"granularity\": 32}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.granularity: expected a string, got 32" },
  { DOC (", \"defaults\": {\"pruner\": \"channel\", \"pattern\": \"2:4\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.pruner: \"channel\" contradicts \"pattern\": \"2:4\" (pruned by \"nm\")" },
  { DOC (", \"layers\": {\"fc\": {\"pattern\": \"channel\", \"pruner\": \"magnitude\"}}"),
    LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.layers.fc.pruner: \"magnitude\" contradicts \"pattern\": \"channel\" (pruned by \"channel\")" },
  { DOC (", \"defaults\": {\"pattern\": \"3:4\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.pattern: \"3:4\" is not one of \"unstructured\", \"2:4\", \"4:8\" or \"channel\"" },
  { DOC (", \"defaults\": {\"pruner\": \"random\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.pruner: \"random\" is not one of \"magnitude\", \"nm\" or \"channel\"" },
  { DOC (", \"defaults\": {\"quantizer\": \"kmeans\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.quantizer: \"kmeans\" is not one of \"uniform\" or \"palette\"" },
  { DOC (", \"defaults\": {\"scale\": \"max\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.defaults.scale: \"max\" is not one of \"maxabs\" or \"mse\"" },

  /* format and version */
  { "{\"format\": \"lathe-plan\", \"version\": 1, \"model\": {\"path\": \"m\"}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.format: \"lathe-plan\" is not \"lathe-pipeline\"" },
  { "{\"format\": 1, \"version\": 1, \"model\": {\"path\": \"m\"}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.format: expected a string, got 1" },
  { "{\"version\": 1, \"model\": {\"path\": \"m\"}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $: \"format\" is missing*" },
  { "{\"format\": \"lathe-pipeline\", \"model\": {\"path\": \"m\"}}", LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $: \"version\" is missing*" },
  { "{\"format\": \"lathe-pipeline\", \"version\": \"1\", \"model\": {\"path\": \"m\"}}",
    LATHE_PIPELINE_ERROR_INVALID, "pipeline.json: $.version: expected an integer, got \"1\"" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 2, \"model\": {\"path\": \"m\"}}", LATHE_PIPELINE_ERROR_VERSION,
    "pipeline.json: $.version: version 2 is not supported (this Lathe reads version 1)" },
  { "{\"format\": \"lathe-pipeline\", \"version\": 0, \"model\": {\"path\": \"m\"}}", LATHE_PIPELINE_ERROR_VERSION,
    "pipeline.json: $.version: version 0 is not supported*" },
  /* a newer file's new keys: the version is what matters */
  { "{\"format\": \"lathe-pipeline\", \"version\": 3, \"recipe\": {}}", LATHE_PIPELINE_ERROR_VERSION,
    "pipeline.json: $.version: version 3 is not supported*" },

  /* training */
  { DOC (", \"training\": {\"epochs\": 3}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training: \"method\" is missing (expected \"distill\", \"finetune\" or \"qat\")" },
  { DOC (", \"training\": {\"method\": \"sgd\"}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.method: \"sgd\" is not one of \"distill\", \"finetune\" or \"qat\"" },
  { DOC (", \"training\": {\"method\": \"qat\", \"epochs\": 0}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.epochs: 0 is not ≥ 1" },
  { DOC (", \"training\": {\"method\": \"qat\", \"batch\": 2.5}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.batch: expected an integer, got 2.5" },
  { DOC (", \"training\": {\"method\": \"distill\", \"temperature\": 0}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.temperature: 0 is not > 0" },
  { DOC (", \"training\": {\"method\": \"distill\", \"alpha\": 1.5}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.alpha: 1.5 is not within 0…1" },
  { DOC (", \"training\": {\"method\": \"finetune\", \"lr\": -0.01}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.lr: -0.01 is not > 0" },
  { DOC (", \"training\": {\"method\": \"finetune\", \"seed\": -1}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.seed: -1 is not ≥ 0" },
  { DOC (", \"training\": {\"method\": \"finetune\", \"data\": 5}"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training.data: expected a non-empty string, got 5" },
  { DOC (", \"training\": true"), LATHE_PIPELINE_ERROR_INVALID,
    "pipeline.json: $.training: expected an object, got true" },

  /* not JSON, or not quite */
  { "", LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column 1: the text ends here, expected a value (truncated?)" },
  { "{\"format\": \"lathe-pipeline\",\n \"version\": 1,\n \"model\": {\"path\": \"m\"", LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 3, column 23: the text ends here, expected ‘,’ or ‘}’ (truncated?)" },
  { "[1, 2]", LATHE_PIPELINE_ERROR_PARSE, "pipeline.json: expected a JSON object, got an array" },
  { DOC (", \"seed\": 1,"), LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: unexpected character ‘}’, expected a key in double quotes" },
  { DOC (" /* comment */"), LATHE_PIPELINE_ERROR_PARSE, "pipeline.json: line 1, column *: unexpected character ‘/’*" },
  { DOC (", 'seed': 1"), LATHE_PIPELINE_ERROR_PARSE, "pipeline.json: line 1, column *: unexpected character ‘'’*" },
  { DOC (", \"seed\": 01"), LATHE_PIPELINE_ERROR_PARSE, "pipeline.json: line 1, column *: unexpected character ‘1’*" },
  { DOC (", \"seed\": 1.") , LATHE_PIPELINE_ERROR_PARSE, "pipeline.json: line 1, column *: unexpected character ‘}’, expected a digit" },
  { DOC (", \"seed\": 18446744073709551616"), LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: the integer 18446744073709551616 is too large" },
  { DOC (", \"seed\": 1e400"), LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: the number 1e400 is too large" },
  { DOC (", \"tool\": \"a\\u0000b\""), LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: \\u0000 is not allowed in a string" },
  { DOC (", \"tool\": \"\\ud800\""), LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: \\ud800 is a lone surrogate" },
  { DOC (", \"tool\": \"a\tb\""), LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: a control character in a string*" },
  { DOC ("") " {}", LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: line 1, column *: text after the end of the JSON value" },
  { "{\"format\": \"lathe-pipeline\", \"tool\": \"\xff\"}", LATHE_PIPELINE_ERROR_PARSE,
    "pipeline.json: not UTF-8 text" },
};

/* `pattern` may end with '*' (a prefix) and contain one "column *". */
static void
assert_message (const char *message,
                const char *pattern)
{
  g_assert_true (g_pattern_match_simple (pattern, message) || strcmp (pattern, message) == 0);
}

static void
test_errors (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      const ErrorCase *ec = &error_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(LathePipeline) p = lathe_pipeline_parse (ec->text, -1, "pipeline.json", &error);

      if (error == NULL || !g_pattern_match_simple (ec->message, error->message))
        g_test_message ("case %u: %s\n  got: %s\n  expected: %s", i, ec->text,
                        error ? error->message : "(no error)", ec->message);
      g_assert_null (p);
      g_assert_error (error, LATHE_PIPELINE_ERROR, ec->code);
      assert_message (error->message, ec->message);
    }
}

/* Every proper prefix of a valid file is a PARSE error, never a crash or
 * a half-read pipeline. */
static void
test_truncated (void)
{
  gsize full = strlen (example);

  while (full > 0 && g_ascii_isspace (example[full - 1]))
    full--;
  for (gsize len = 0; len < full; len++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LathePipeline) p = lathe_pipeline_parse (example, (gssize) len, "pipeline.json", &error);

      g_assert_null (p);
      g_assert_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_PARSE);
      g_assert_true (g_str_has_prefix (error->message, "pipeline.json: "));
    }
  {
    g_autoptr(LathePipeline) p = parse_ok (example);
    (void) p;
  }
}

static void
test_importance (void)
{
  g_autoptr(LathePipeline) p = NULL;
  g_autoptr(LathePipeline) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  const char *doc = "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m.onnx\"},"
                    " \"defaults\": {\"width\": 0.5, \"importance\": \"activation\","
                    " \"calibration\": \"fashion-mnist:train\", \"calibration_samples\": 256}}";
  const char *bad = "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m.onnx\"},"
                    " \"defaults\": {\"importance\": \"entropy\"}}";

  p = lathe_pipeline_parse (doc, -1, "p.json", &error);
  g_assert_no_error (error);
  g_assert_true (p->plan->activation_importance);
  g_assert_cmpstr (p->plan->calibration, ==, "fashion-mnist:train");
  g_assert_cmpuint (p->plan->calibration_samples, ==, 256);
  text = lathe_pipeline_to_json (p);
  again = lathe_pipeline_parse (text, -1, "again.json", &error);
  g_assert_no_error (error);
  text2 = lathe_pipeline_to_json (again);
  g_assert_cmpstr (text, ==, text2);

  g_clear_pointer (&p, lathe_pipeline_free);
  p = lathe_pipeline_parse (bad, -1, "p.json", &error);
  g_assert_null (p);
  g_assert_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "$.defaults.importance"));
}

static void
test_check_layers (void)
{
  g_autoptr(LathePipeline) p = parse_ok (example);
  g_autoptr(LathePipeline) empty = parse_ok (DOC (""));
  const char * const model[] = { "conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight", NULL };
  const char * const other[] = { "conv1.weight", "conv2.weight", "fc1.weight", NULL };
  const char * const none[] = { NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (lathe_pipeline_check_layers (p, model, &error));
  g_assert_no_error (error);
  g_assert_true (lathe_pipeline_check_layers (empty, none, &error));
  g_assert_no_error (error);

  g_assert_false (lathe_pipeline_check_layers (p, other, &error));
  g_assert_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "$.layers[\"fc3.weight\"]: the model has no layer named “fc3.weight” "
                   "(it has conv1.weight, conv2.weight, fc1.weight)");
  g_clear_error (&error);

  g_assert_false (lathe_pipeline_check_layers (p, none, &error));
  g_assert_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "$.layers[\"conv1.weight\"]"));
  g_assert_nonnull (strstr (error->message, "(it has none)"));
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static GPtrArray *
member_names (JsonObject *o)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GList) members = json_object_get_members (o);

  for (GList *l = members; l != NULL; l = l->next)
    g_ptr_array_add (names, g_strdup (l->data));
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void
assert_same_names (JsonObject *a,
                   JsonObject *b)
{
  g_autoptr(GPtrArray) na = member_names (a);
  g_autoptr(GPtrArray) nb = member_names (b);

  g_assert_cmpuint (na->len, ==, nb->len);
  for (guint i = 0; i < na->len; i++)
    g_assert_cmpstr (na->pdata[i], ==, nb->pdata[i]);
}

static JsonObject *
property (JsonObject *schema_object,
          const char *name)
{
  JsonObject *props = json_object_get_object_member (schema_object, "properties");

  g_assert_nonnull (props);
  return json_object_get_object_member (props, name);
}

/* The schema is JSON, draft 2020-12, and names exactly what the writer
 * emits (defaults with "params", results with everything). */
static void
test_schema (void)
{
  g_autofree char *path = lathe_test_source_path ("data", "lathe-pipeline.schema.json", NULL);
  g_autoptr(JsonParser) schema_parser = json_parser_new ();
  g_autoptr(JsonParser) written_parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePipeline) p = parse_ok (example);
  g_autofree char *text = NULL;
  JsonObject *schema, *written, *props, *defaults_schema;

  g_hash_table_insert (p->plan->params, g_strdup ("palette.iterations"), g_strdup ("20"));
  /* the importance keys are written only for activation importance */
  p->plan->activation_importance = TRUE;
  p->plan->calibration = g_strdup ("fashion-mnist:train");
    text = lathe_pipeline_to_json (p);

  json_parser_load_from_file (schema_parser, path, &error);
  g_assert_no_error (error);
  json_parser_load_from_data (written_parser, text, -1, &error);
  g_assert_no_error (error);

  schema = json_node_get_object (json_parser_get_root (schema_parser));
  written = json_node_get_object (json_parser_get_root (written_parser));
  g_assert_cmpstr (json_object_get_string_member (schema, "$schema"), ==,
                   "https://json-schema.org/draft/2020-12/schema");
  g_assert_false (json_object_get_boolean_member (schema, "additionalProperties"));

  props = json_object_get_object_member (schema, "properties");
  assert_same_names (props, written);
  assert_same_names (json_object_get_object_member (property (schema, "model"), "properties"),
                     json_object_get_object_member (written, "model"));
  defaults_schema = property (schema, "defaults");
  assert_same_names (json_object_get_object_member (defaults_schema, "properties"),
                     json_object_get_object_member (written, "defaults"));
  /* data and results are oneOf [null, object] */
  assert_same_names (json_object_get_object_member (
                       json_array_get_object_element (
                         json_object_get_array_member (property (schema, "data"), "oneOf"), 1),
                       "properties"),
                     json_object_get_object_member (written, "data"));
  assert_same_names (json_object_get_object_member (
                       json_array_get_object_element (
                         json_object_get_array_member (property (schema, "results"), "oneOf"), 1),
                       "properties"),
                     json_object_get_object_member (written, "results"));
}

/* Every training key: the schema names exactly what the reader accepts
 * and the writer writes back; the new keys are validated. */
static void
test_training_keys (void)
{
  static const char full[] =
    "{\"format\": \"lathe-pipeline\", \"version\": 1, \"model\": {\"path\": \"m.onnx\"},"
    " \"training\": {\"method\": \"qat\", \"epochs\": 2, \"temperature\": 2, \"alpha\": 1, \"lr\": 0.01,"
    " \"batch\": 32, \"seed\": 7, \"data\": \"fashion-mnist:train\","
    " \"data_sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    " \"limit\": 1000, \"optimizer\": \"sgd\", \"momentum\": 0.9, \"weight_decay\": 0.0001,"
    " \"schedule\": \"constant\"}}";
  const char *bad[][2] = {
    { "\"optimizer\": \"rmsprop\"", "$.training.optimizer" },
    { "\"schedule\": \"linear\"", "$.training.schedule" },
    { "\"momentum\": 1", "$.training.momentum" },
    { "\"data_sha256\": \"abc\"", "$.training.data_sha256" },
    { "\"limit\": -1", "$.training.limit" },
  };
  g_autofree char *path = lathe_test_source_path ("data", "lathe-pipeline.schema.json", NULL);
  g_autoptr(JsonParser) schema_parser = json_parser_new ();
  g_autoptr(JsonParser) written_parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePipeline) p = parse_ok (full);
  g_autofree char *text = lathe_pipeline_to_json (p);
  g_autoptr(LathePipeline) q = parse_ok (text);
  g_autofree char *again = lathe_pipeline_to_json (q);
  JsonObject *schema, *written;

  g_assert_cmpstr (text, ==, again);
  json_parser_load_from_file (schema_parser, path, &error);
  g_assert_no_error (error);
  json_parser_load_from_data (written_parser, text, -1, &error);
  g_assert_no_error (error);
  schema = json_node_get_object (json_parser_get_root (schema_parser));
  written = json_node_get_object (json_parser_get_root (written_parser));
  assert_same_names (json_object_get_object_member (
                       json_array_get_object_element (
                         json_object_get_array_member (property (schema, "training"), "oneOf"), 1),
                       "properties"),
                     json_object_get_object_member (written, "training"));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *doc = g_strdup_printf ("{\"format\": \"lathe-pipeline\", \"version\": 1, "
                                              "\"model\": {\"path\": \"m.onnx\"}, "
                                              "\"training\": {\"method\": \"distill\", %s}}", bad[i][0]);
      g_autoptr(GError) e = NULL;
      g_autoptr(LathePipeline) r = lathe_pipeline_parse (doc, -1, "pipeline.json", &e);
      g_assert_null (r);
      g_assert_error (e, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID);
      g_assert_nonnull (strstr (e->message, bad[i][1]));
    }
}

static void
test_resolve_path (void)
{
  g_autoptr(LathePipeline) p = lathe_pipeline_new ();
  g_autofree char *a = lathe_pipeline_resolve_path (p, "runs/one/pipeline.json", "model.onnx");
  g_autofree char *b = lathe_pipeline_resolve_path (p, "runs/one/pipeline.json", "../data/x.npy");
  g_autofree char *c = lathe_pipeline_resolve_path (p, "runs/one/pipeline.json", "/abs/model.onnx");
  g_autofree char *d = lathe_pipeline_resolve_path (p, "pipeline.json", "model.onnx");
  g_autofree char *e = lathe_pipeline_resolve_path (p, NULL, "model.onnx");
  g_autofree char *f = lathe_pipeline_resolve_path (p, "/srv/p/pipeline.json", "m/model.onnx");

  g_assert_cmpstr (a, ==, "runs/one/model.onnx");
  g_assert_cmpstr (b, ==, "runs/one/../data/x.npy");
  g_assert_cmpstr (c, ==, "/abs/model.onnx");
  g_assert_cmpstr (d, ==, "model.onnx");
  g_assert_cmpstr (e, ==, "model.onnx");
  g_assert_cmpstr (f, ==, "/srv/p/m/model.onnx");
}

static void
test_save_load (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lathe-pipeline-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *missing = NULL;
  g_autoptr(LathePipeline) p = parse_ok (rich);
  g_autoptr(LathePipeline) q = NULL;
  g_autoptr(LathePipeline) r = NULL;
  g_autofree char *text_p = NULL;
  g_autofree char *text_q = NULL;
  g_autofree char *on_disk = NULL;

  g_assert_no_error (error);
  path = g_build_filename (dir, "pipeline.json", NULL);
  g_assert_true (lathe_pipeline_save (p, path, &error));
  g_assert_no_error (error);
  q = lathe_pipeline_load (path, &error);
  g_assert_no_error (error);
  text_p = lathe_pipeline_to_json (p);
  text_q = lathe_pipeline_to_json (q);
  g_assert_cmpstr (text_p, ==, text_q);
  g_assert_true (g_file_get_contents (path, &on_disk, NULL, NULL));
  g_assert_cmpstr (on_disk, ==, text_p);

  /* errors name the file */
  bad = g_build_filename (dir, "bad.json", NULL);
  g_assert_true (g_file_set_contents (bad, DOC (", \"defaults\": {\"bits\": 3.5}"), -1, NULL));
  r = lathe_pipeline_load (bad, &error);
  g_assert_null (r);
  g_assert_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, bad));
  g_assert_true (g_str_has_suffix (error->message, ": $.defaults.bits: 3.5 is not one of 1…8, 16, 32"));
  g_clear_error (&error);

  missing = g_build_filename (dir, "missing.json", NULL);
  g_assert_null (lathe_pipeline_load (missing, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_unlink (bad), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/engine/pipeline/example", test_example);
  g_test_add_func ("/lathe/engine/pipeline/written-text", test_written_text);
  g_test_add_func ("/lathe/engine/pipeline/round-trip", test_round_trip);
  g_test_add_func ("/lathe/engine/pipeline/rich", test_rich);
  g_test_add_func ("/lathe/engine/pipeline/built", test_built);
  g_test_add_func ("/lathe/engine/pipeline/minimal", test_minimal);
  g_test_add_func ("/lathe/engine/pipeline/errors", test_errors);
  g_test_add_func ("/lathe/engine/pipeline/truncated", test_truncated);
  g_test_add_func ("/lathe/engine/pipeline/check-layers", test_check_layers);
  g_test_add_func ("/lathe/engine/pipeline/schema", test_schema);
  g_test_add_func ("/lathe/engine/pipeline/training-keys", test_training_keys);
  g_test_add_func ("/lathe/engine/pipeline/importance", test_importance);
  g_test_add_func ("/lathe/engine/pipeline/resolve-path", test_resolve_path);
  g_test_add_func ("/lathe/engine/pipeline/save-load", test_save_load);

  return g_test_run ();
}
