/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* lathe-cli's compressing commands as a user runs them: eval with plan
 * flags, apply and its artifact folder, check (passing and failing),
 * sweep, and bad input that must be refused with exit 2, one line on
 * stderr naming what is wrong, and nothing written.
 *
 * Assertions are non-fatal so that one wrong exit status does not hide
 * the others: every case reports, and the test fails if any did. */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "../lathe-test-util.h"
#include "cli-test-util.h"

#define DATASET_FILE "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

/* ---- helpers ---- */

/* NULL (and the test marked failed) when text is not a JSON object. */
static JsonObject *
parse_object (JsonParser *parser,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    {
      fail_printf ("not JSON: %s: %s", error->message, text);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      fail_printf ("not a JSON object: %s", text);
      return NULL;
    }
  return json_node_get_object (json_parser_get_root (parser));
}

/* Exit status, exactly one line on stderr starting "lathe-cli: ", and
 * each needle in it. */
static void
expect_one_line_error (const Run  *r,
                       int         status,
                       const char *what,
                       const char *needle1,
                       const char *needle2)
{
  const char *needles[] = { needle1, needle2 };
  const char *nl;

  if (!expect_status (r, status, what))
    return;
  nl = strchr (r->err, '\n');
  if (!g_str_has_prefix (r->err, "lathe-cli: ") || nl == NULL || nl[1] != '\0')
    fail_printf ("%s: stderr is not one 'lathe-cli: ' line: '%s'", what, r->err);
  for (guint i = 0; i < G_N_ELEMENTS (needles); i++)
    if (needles[i] != NULL && strstr (r->err, needles[i]) == NULL)
      fail_printf ("%s: stderr '%s' does not mention '%s'", what, r->err, needles[i]);
}

static gboolean
dataset_missing (void)
{
  if (g_file_test (DATASET_FILE, G_FILE_TEST_EXISTS))
    return FALSE;
  g_test_skip ("dataset-fashion-mnist is not installed");
  return TRUE;
}

/* The names in a folder, sorted and joined by spaces ("" when empty or
 * absent). */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  for (guint i = 1; i < names->len; i++)
    for (guint j = i; j > 0 && strcmp (names->pdata[j - 1], names->pdata[j]) > 0; j--)
      {
        gpointer t = names->pdata[j];
        names->pdata[j] = names->pdata[j - 1];
        names->pdata[j - 1] = t;
      }
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fail_printf ("cannot read %s: %s", path, error->message);
      return g_bytes_new (NULL, 0);
    }
  return g_bytes_new_take (contents, len);
}

/* A pipeline file as a JSON tree, to edit and write elsewhere. */
static JsonNode *
load_json (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_file (parser, path, &error))
    {
      fail_printf ("%s: %s", path, error->message);
      return NULL;
    }
  return json_node_copy (json_parser_get_root (parser));
}

/* Writes root as pretty JSON to dir/name (dir is created) and returns the
 * path. */
static char *
write_json (JsonNode   *root,
            const char *dir,
            const char *name)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_assert_true (json_generator_to_file (gen, path, &error));
  g_assert_no_error (error);
  return path;
}

static JsonObject *
member_object (JsonObject *o,
               const char *name)
{
  return json_object_get_object_member (o, name);
}

/* Applies the plan these tests use (--bits 4 --sparsity 0.5) to model,
 * writing the artifact folder outdir. */
static gboolean
apply_artifact (const char *model,
                const char *outdir)
{
  g_auto(Run) r = { 0 };

  run_cli (&r, "apply", model, "--bits", "4", "--sparsity", "0.5", "-o", outdir, NULL);
  return expect_status (&r, 0, "apply --bits 4 --sparsity 0.5");
}

/* ---- eval with plan flags ---- */

static void
test_eval_plan_json (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_auto(Run) r = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *keys[] = { "accuracy", "correct", "total", "seconds", "load_seconds", "size_bytes",
                         "baseline_accuracy", "baseline_size_bytes", "fidelity" };
  JsonObject *o;
  double fidelity;
  gint64 size, baseline_size;

  if (dataset_missing ())
    return;
  run_cli (&r, "eval", model, "--bits", "8", "--json", "--limit", "1000", NULL);
  if (!expect_status (&r, 0, "eval --bits 8 --json") || !(o = parse_object (parser, r.out)))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!json_object_has_member (o, keys[i]))
      {
        fail_printf ("eval --bits 8 --json has no '%s': %s", keys[i], r.out);
        return;
      }
  g_assert_cmpint (json_object_get_int_member (o, "total"), ==, 1000);
  g_assert_cmpfloat (json_object_get_double_member (o, "accuracy"), ==,
                     json_object_get_int_member (o, "correct") / 1000.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "accuracy"), >, 0.8);
  g_assert_cmpfloat (json_object_get_double_member (o, "baseline_accuracy"), >, 0.8);
  g_assert_cmpfloat (json_object_get_double_member (o, "seconds"), >, 0);
  g_assert_cmpfloat (json_object_get_double_member (o, "load_seconds"), >, 0);
  fidelity = json_object_get_double_member (o, "fidelity");
  g_assert_cmpfloat (fidelity, >=, 0.9);
  g_assert_cmpfloat (fidelity, <=, 1.0);
  size = json_object_get_int_member (o, "size_bytes");
  baseline_size = json_object_get_int_member (o, "baseline_size_bytes");
  g_assert_cmpint (size, >, 0);
  g_assert_cmpint (size, <, baseline_size / 3);
  g_assert_true (json_object_has_member (o, "layers"));
}

/* --layer NAME:key=value,… splits at the last ':' before the keys, so a
 * value such as 2:4 may hold a ':'. */
static void
test_eval_layer_split (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_auto(Run) r = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  JsonArray *layers;
  gboolean seen_fc1 = FALSE;

  if (dataset_missing ())
    return;
  run_cli (&r, "eval", model, "--layer", "fc1.weight:bits=4,pattern=2:4", "--json", "--limit", "500", NULL);
  if (!expect_status (&r, 0, "eval --layer fc1.weight:bits=4,pattern=2:4") || !(o = parse_object (parser, r.out)))
    return;
  layers = json_object_get_array_member (o, "layers");
  g_assert_cmpuint (json_array_get_length (layers), ==, 3);
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *l = json_array_get_object_element (layers, i);
      const char *name = json_object_get_string_member (l, "name");
      if (g_str_equal (name, "fc1.weight"))
        {
          seen_fc1 = TRUE;
          g_assert_cmpfloat (json_object_get_double_member (l, "sparsity"), ==, 0.5);
          g_assert_nonnull (strstr (json_object_get_string_member (l, "status"), "4-bit"));
        }
      else
        g_assert_cmpfloat (json_object_get_double_member (l, "sparsity"), ==, 0.0);
    }
  g_assert_true (seen_fc1);
}

/* ---- apply and check on an artifact ---- */

static void
test_apply (gconstpointer sample)
{
  g_autofree char *model = lathe_test_sample ((const char *) sample);
  g_autofree char *tmp = g_dir_make_tmp ("lathe-cli-apply-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "art", NULL);
  g_autofree char *pipeline = g_build_filename (dir, "pipeline.json", NULL);
  g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *report = g_build_filename (dir, "report.md", NULL);
  g_autofree char *listing = NULL;
  g_autofree char *onnx_sha = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) eval_parser = json_parser_new ();
  g_autoptr(GBytes) first_onnx = NULL, again_onnx = NULL;
  GBytes *before[3] = { NULL, NULL, NULL };
  g_autofree char *pipeline_text = NULL;
  g_auto(Run) ev = { 0 }, chk = { 0 }, tol = { 0 }, tol_bad = { 0 }, tol_range = { 0 };
  g_auto(Run) forced = { 0 }, again = { 0 };
  const char *files[] = { pipeline, onnx, report };
  JsonObject *p, *results, *e;
  double recorded;

  if (dataset_missing ())
    goto out;
  if (!apply_artifact (model, dir))
    goto out;

  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "model.onnx pipeline.json report.md");
  before[0] = read_bytes (pipeline);
  g_assert_true (g_file_get_contents (pipeline, &pipeline_text, NULL, NULL));
  if (pipeline_text == NULL || !(p = parse_object (parser, pipeline_text)))
    goto out;
  results = member_object (p, "results");
  recorded = json_object_get_double_member (results, "accuracy");
  g_assert_cmpfloat (recorded, >, 0.5);
  onnx_sha = lathe_test_file_sha256 (onnx);
  g_assert_cmpstr (json_object_get_string_member (results, "model_sha256"), ==, onnx_sha);

  /* The exported model reloads with exactly the recorded accuracy. */
  run_cli (&ev, "eval", onnx, "--json", NULL);
  if (expect_status (&ev, 0, "eval DIR/model.onnx") && (e = parse_object (eval_parser, ev.out)))
    {
      g_assert_cmpint (json_object_get_int_member (e, "total"), ==, 10000);
      g_assert_cmpfloat (json_object_get_double_member (e, "accuracy"), ==, recorded);
      /* the model keeps lathe.mean/lathe.std: no warning about defaults */
      g_assert_cmpstr (ev.err, ==, "");
    }

  run_cli (&chk, "check", pipeline, NULL);
  if (expect_status (&chk, 0, "check DIR/pipeline.json"))
    g_assert_nonnull (strstr (chk.out, "passed"));
  run_cli (&tol, "check", pipeline, "--tolerance", "0.01", NULL);
  if (expect_status (&tol, 0, "check --tolerance 0.01"))
    g_assert_nonnull (strstr (tol.out, "tolerance 0.01"));
  run_cli (&tol_bad, "check", pipeline, "--tolerance", "much", NULL);
  expect_one_line_error (&tol_bad, 2, "check --tolerance much", "--tolerance", NULL);
  run_cli (&tol_range, "check", pipeline, "--tolerance", "2", NULL);
  expect_status (&tol_range, 2, "check --tolerance 2");
  g_assert_nonnull (strstr (tol_range.err, "--tolerance"));

  /* Without --force an existing folder is refused and left as it was. */
  before[1] = read_bytes (onnx);
  before[2] = read_bytes (report);
  run_cli (&again, "apply", model, "--bits", "4", "--sparsity", "0.5", "-o", dir, NULL);
  expect_one_line_error (&again, 2, "apply onto an existing folder", dir, "--force");
  g_assert_cmpstr (again.out, ==, "");
  {
    g_autofree char *listing2 = list_dir (dir);
    g_autofree char *siblings = list_dir (tmp);
    g_assert_cmpstr (listing2, ==, "model.onnx pipeline.json report.md");
    g_assert_cmpstr (siblings, ==, "art");
  }
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GBytes) now = read_bytes (files[i]);
      if (!g_bytes_equal (now, before[i]))
        fail_printf ("%s changed after a refused apply", files[i]);
    }

  /* With --force the same plan gives a byte-identical model.onnx. */
  first_onnx = g_bytes_ref (before[1]);
  run_cli (&forced, "apply", model, "--bits", "4", "--sparsity", "0.5", "-o", dir, "--force", NULL);
  if (expect_status (&forced, 0, "apply --force"))
    {
      g_autofree char *listing3 = list_dir (dir);
      g_assert_cmpstr (listing3, ==, "model.onnx pipeline.json report.md");
      again_onnx = read_bytes (onnx);
      if (!g_bytes_equal (first_onnx, again_onnx))
        fail_printf ("%s: a second apply gave a different model.onnx", (const char *) sample);
    }

out:
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    g_clear_pointer (&before[i], g_bytes_unref);
  lathe_test_remove_tree (tmp);
}

/* A pipeline copy in a sibling folder of the artifact, so its relative
 * model path still resolves. */
typedef struct {
  char     *tmp;
  char     *artifact;
  char     *pipeline;
  JsonNode *root;
} Artifact;

static gboolean
artifact_setup (Artifact   *a,
                const char *sample)
{
  g_autofree char *model = lathe_test_sample (sample);

  a->tmp = g_dir_make_tmp ("lathe-cli-check-XXXXXX", NULL);
  a->artifact = g_build_filename (a->tmp, "art", NULL);
  a->pipeline = g_build_filename (a->artifact, "pipeline.json", NULL);
  return apply_artifact (model, a->artifact) && (a->root = load_json (a->pipeline)) != NULL;
}

static void
artifact_clear (Artifact *a)
{
  if (a->tmp)
    lathe_test_remove_tree (a->tmp);
  g_clear_pointer (&a->tmp, g_free);
  g_clear_pointer (&a->artifact, g_free);
  g_clear_pointer (&a->pipeline, g_free);
  g_clear_pointer (&a->root, json_node_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Artifact, artifact_clear)

/* A fresh copy of the artifact's pipeline to edit. */
static JsonObject *
edit_copy (Artifact  *a,
           JsonNode **out_root)
{
  /* re-read: json_node_copy() shares the object, and edits must not leak
   * from one copy into the next */
  *out_root = load_json (a->pipeline);
  return json_node_get_object (*out_root);
}

static char *
write_copy (Artifact   *a,
            JsonNode   *root,
            const char *folder)
{
  g_autofree char *dir = g_build_filename (a->tmp, folder, NULL);
  return write_json (root, dir, "pipeline.json");
}

static void
test_check_accuracy (void)
{
  g_auto(Artifact) a = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = NULL;
  g_auto(Run) r = { 0 }, tolerant = { 0 };
  JsonObject *results;

  if (dataset_missing () || !artifact_setup (&a, "fashion-mlp.onnx"))
    return;
  results = member_object (edit_copy (&a, &root), "results");
  json_object_set_double_member (results, "accuracy", json_object_get_double_member (results, "accuracy") + 0.05);
  path = write_copy (&a, root, "edited-accuracy");

  run_cli (&r, "check", path, NULL);
  if (expect_status (&r, 1, "check with results.accuracy + 0.05"))
    {
      g_assert_true (g_str_has_prefix (r.err, "lathe-cli: "));
      g_assert_nonnull (strstr (r.err, "accuracy"));
      g_assert_null (strstr (r.err, "sha256"));
    }
  /* the same file passes with a tolerance larger than the edit */
  run_cli (&tolerant, "check", path, "--tolerance", "0.06", NULL);
  expect_status (&tolerant, 0, "check --tolerance 0.06 with results.accuracy + 0.05");
}

static void
test_check_model_sha256 (void)
{
  g_auto(Artifact) a = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = NULL;
  g_autofree char *corrupt = NULL;
  g_auto(Run) r = { 0 };
  JsonObject *results;

  if (dataset_missing () || !artifact_setup (&a, "fashion-cnn.onnx"))
    return;
  results = member_object (edit_copy (&a, &root), "results");
  corrupt = g_strdup (json_object_get_string_member (results, "model_sha256"));
  corrupt[0] = corrupt[0] == '0' ? '1' : '0';
  json_object_set_string_member (results, "model_sha256", corrupt);
  path = write_copy (&a, root, "edited-sha");

  run_cli (&r, "check", path, NULL);
  if (expect_status (&r, 1, "check with a corrupt results.model_sha256"))
    g_assert_nonnull (strstr (r.err, "sha256"));
}

/* The pipeline names one model but records another's sha256. */
static void
test_check_wrong_model (void)
{
  g_auto(Artifact) a = { 0 };
  g_autoptr(JsonNode) root1 = NULL, root2 = NULL;
  g_autofree char *other = lathe_test_sample ("fashion-cnn.onnx");
  g_autofree char *path1 = NULL, *path2 = NULL;
  g_auto(Run) r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
  g_autofree char *out3 = NULL;
  JsonObject *m;

  if (dataset_missing () || !artifact_setup (&a, "fashion-mlp.onnx"))
    return;
  /* the MLP's pipeline pointed at the CNN */
  m = member_object (edit_copy (&a, &root1), "model");
  json_object_set_string_member (m, "path", other);
  path1 = write_copy (&a, root1, "other-model");
  /* the recorded sha256 of the source model edited */
  m = member_object (edit_copy (&a, &root2), "model");
  json_object_set_string_member (m, "sha256", "0000000000000000000000000000000000000000000000000000000000000000");
  path2 = write_copy (&a, root2, "other-sha");

  run_cli (&r1, "check", path1, NULL);
  expect_one_line_error (&r1, 2, "check on a pipeline for a different model", "sha256", NULL);
  run_cli (&r2, "check", path2, NULL);
  expect_one_line_error (&r2, 2, "check with a wrong $.model.sha256", "sha256", NULL);
  /* apply refuses it too, and writes nothing */
  out3 = g_build_filename (a.tmp, "out", NULL);
  run_cli (&r3, "apply", path1, "-o", out3, NULL);
  expect_one_line_error (&r3, 2, "apply on a pipeline for a different model", "sha256", NULL);
  g_assert_false (g_file_test (out3, G_FILE_TEST_EXISTS));
}

static void
test_check_unknown_key (void)
{
  g_auto(Artifact) a = { 0 };
  g_autoptr(JsonNode) root1 = NULL, root2 = NULL;
  g_autofree char *path1 = NULL, *path2 = NULL;
  g_auto(Run) r1 = { 0 }, r2 = { 0 };

  if (dataset_missing () || !artifact_setup (&a, "fashion-mlp.onnx"))
    return;
  json_object_set_int_member (edit_copy (&a, &root1), "bogus", 1);
  path1 = write_copy (&a, root1, "unknown-top");
  json_object_set_int_member (member_object (edit_copy (&a, &root2), "defaults"), "bitz", 4);
  path2 = write_copy (&a, root2, "unknown-defaults");

  run_cli (&r1, "check", path1, NULL);
  expect_one_line_error (&r1, 2, "check with $.bogus", "$.bogus", NULL);
  run_cli (&r2, "check", path2, NULL);
  expect_one_line_error (&r2, 2, "check with $.defaults.bitz", "$.defaults.bitz", NULL);
}

static void
test_check_unknown_layer (void)
{
  g_auto(Artifact) a = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = NULL;
  g_auto(Run) r = { 0 };
  JsonObject *layers, *entry = json_object_new ();

  if (dataset_missing () || !artifact_setup (&a, "fashion-mlp.onnx"))
    {
      json_object_unref (entry);
      return;
    }
  layers = member_object (edit_copy (&a, &root), "layers");
  json_object_set_int_member (entry, "bits", 8);
  json_object_set_object_member (layers, "nope.weight", entry);
  path = write_copy (&a, root, "unknown-layer");

  run_cli (&r, "check", path, NULL);
  expect_one_line_error (&r, 2, "check with $.layers[\"nope.weight\"]", "nope.weight", NULL);
}

/* ---- bad input: exit 2, one line naming it, nothing written ---- */

typedef struct {
  const char *sample;
  const char *args[6];
  const char *needle1;
  const char *needle2;
} BadCase;

static void
test_bad_plan (void)
{
  static const BadCase cases[] = {
    { "fashion-mlp.onnx", { "--bits", "12" }, "--bits", "12" },
    { "fashion-mlp.onnx", { "--sparsity", "1.5" }, "--sparsity", "1.5" },
    { "fashion-mlp.onnx", { "--width", "0" }, "--width", NULL },
    { "fashion-mlp.onnx", { "--layer", "nope.weight:bits=4" }, "nope.weight", NULL },
    { "fashion-cnn.onnx", { "--layer", "conv1.weight:pattern=2:4" }, "conv1.weight", "25" },
    { "fashion-mlp.onnx", { "--pattern", "2:4", "--sparsity", "0.3" }, "2:4", "0.3" },
    { "fashion-mlp.onnx", { "--layer", "fc3.weight:width=0.5" }, "fc3.weight", "width" },
    { "fashion-mlp.onnx", { "--set", "unknown.param=1" }, "unknown.param", NULL },
    { "fashion-mlp.onnx", { "--layer", "fc1.weight:bitz=4" }, "fc1.weight", "bitz" },
    { "fashion-mlp.onnx", { "--granularity", "group:7" }, "--granularity", "group:7" },
  };
  g_autofree char *tmp = g_dir_make_tmp ("lathe-cli-bad-XXXXXX", NULL);
  g_autofree char *outdir = g_build_filename (tmp, "out", NULL);

  if (dataset_missing ())
    goto out;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const BadCase *c = &cases[i];
      g_autofree char *model = lathe_test_sample (c->sample);
      const char *commands[] = { "eval", "apply" };

      for (guint k = 0; k < G_N_ELEMENTS (commands); k++)
        {
          g_autoptr(GPtrArray) args = g_ptr_array_new ();
          g_autofree char *joined = NULL;
          g_autofree char *what = NULL;
          g_autofree char *left = NULL;
          g_auto(Run) r = { 0 };

          g_ptr_array_add (args, (gpointer) commands[k]);
          g_ptr_array_add (args, model);
          for (guint j = 0; j < G_N_ELEMENTS (c->args) && c->args[j]; j++)
            g_ptr_array_add (args, (gpointer) c->args[j]);
          if (k == 0)
            {
              g_ptr_array_add (args, "--limit");
              g_ptr_array_add (args, "100");
            }
          else
            {
              g_ptr_array_add (args, "-o");
              g_ptr_array_add (args, outdir);
            }
          g_ptr_array_add (args, NULL);
          joined = g_strjoinv (" ", (char **) args->pdata);
          what = g_strdup_printf ("'%s'", joined);

          run_cli_argv (&r, (const char * const *) args->pdata);
          expect_one_line_error (&r, 2, what, c->needle1, c->needle2);
          if (*r.out != '\0')
            fail_printf ("%s printed on stdout: %s", what, r.out);
          left = list_dir (tmp);
          if (*left != '\0')
            {
              fail_printf ("%s left files behind: %s", what, left);
              lathe_test_remove_tree (outdir);
            }
        }
    }

out:
  lathe_test_remove_tree (tmp);
}

static void
test_bad_output_dir (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_autofree char *tmp = g_dir_make_tmp ("lathe-cli-bad-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (tmp, "file", NULL);
  g_autofree char *under = g_build_filename (file, "out", NULL);
  g_autofree char *listing = NULL;
  g_auto(Run) r = { 0 }, onto = { 0 };
  gsize len = 1;
  g_autofree char *contents = NULL;

  if (dataset_missing ())
    goto out;
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  run_cli (&r, "apply", model, "--bits", "8", "-o", under, NULL);
  expect_one_line_error (&r, 2, "apply -o FILE/out", file, NULL);
  g_assert_cmpstr (r.out, ==, "");
  /* even --force does not replace a regular file */
  run_cli (&onto, "apply", model, "--bits", "8", "-o", file, "--force", NULL);
  expect_one_line_error (&onto, 2, "apply -o FILE --force", file, NULL);

  listing = list_dir (tmp);
  g_assert_cmpstr (listing, ==, "file");
  g_assert_true (g_file_get_contents (file, &contents, &len, NULL));
  g_assert_cmpuint (len, ==, 0);

out:
  lathe_test_remove_tree (tmp);
}

/* ---- sweep ---- */

static void
test_sweep_json (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-cnn.onnx");
  const char *keys[] = { "bits", "sparsity", "width", "accuracy", "size_bytes", "file_size_bytes" };
  const int want_bits[] = { 8, 8, 4, 4 };
  const double want_sparsity[] = { 0, 0.5, 0, 0.5 };
  g_auto(Run) r = { 0 };
  g_auto(GStrv) lines = NULL;
  guint n;

  if (dataset_missing ())
    return;
  run_cli (&r, "sweep", model, "--bits", "8,4", "--sparsity", "0,0.5", "--json", "--limit", "500", NULL);
  if (!expect_status (&r, 0, "sweep --json"))
    return;
  g_assert_true (g_str_has_suffix (r.out, "\n"));
  lines = g_strsplit (r.out, "\n", -1);
  n = g_strv_length (lines);
  /* four lines and the empty string after the last newline */
  g_assert_cmpuint (n, ==, 5);
  if (n != 5)
    return;
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o = parse_object (parser, lines[i]);

      if (o == NULL)
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        if (!json_object_has_member (o, keys[k]))
          fail_printf ("sweep line %u has no '%s': %s", i + 1, keys[k], lines[i]);
      if (!json_object_has_member (o, "file_size_bytes"))
        continue;
      g_assert_cmpint (json_object_get_int_member (o, "bits"), ==, want_bits[i]);
      g_assert_cmpfloat (json_object_get_double_member (o, "sparsity"), ==, want_sparsity[i]);
      g_assert_cmpfloat (json_object_get_double_member (o, "width"), ==, 1.0);
      g_assert_cmpfloat (json_object_get_double_member (o, "accuracy"), >, 0.5);
      g_assert_cmpint (json_object_get_int_member (o, "size_bytes"), >, 0);
      g_assert_cmpint (json_object_get_int_member (o, "file_size_bytes"), >, 0);
      g_assert_cmpint (json_object_get_int_member (o, "total"), ==, 500);
    }
}

static void
test_sweep_text (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-cnn.onnx");
  g_auto(Run) r = { 0 };
  g_auto(GStrv) lines = NULL;

  if (dataset_missing ())
    return;
  run_cli (&r, "sweep", model, "--bits", "8,4", "--sparsity", "0,0.5", "--limit", "500", NULL);
  if (!expect_status (&r, 0, "sweep"))
    return;
  lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  if (g_strv_length (lines) != 6)
    return;
  g_assert_nonnull (strstr (lines[0], "bits"));
  g_assert_nonnull (strstr (lines[0], "sparsity"));
  g_assert_nonnull (strstr (lines[0], "accuracy"));
  for (guint i = 1; i <= 4; i++)
    {
      g_auto(GStrv) cols = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_assert_cmpstr (cols[0], ==, i <= 2 ? "8" : "4");
      g_assert_nonnull (strstr (lines[i], (i % 2) ? "0.00" : "0.50"));
    }
  g_assert_cmpstr (lines[5], ==, "");
}

/* Width ranked by activations on training data: recorded in the pipeline,
 * replayed by check; the evaluation set is refused as calibration data. */
static void
test_importance (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_autofree char *dir = g_dir_make_tmp ("lathe-cli-importance-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "art", NULL);
  g_autofree char *pipeline = g_build_filename (out, "pipeline.json", NULL);
  g_autofree char *text = NULL;
  g_auto(Run) a = { 0 }, c = { 0 }, bad = { 0 }, lonely = { 0 };

  if (!g_file_test (DATASET_FILE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  run_cli (&a, "apply", model, "--width", "0.5", "--importance", "activation",
           "--calibration-samples", "128", "-o", out, NULL);
  if (!expect_status (&a, 0, "apply --importance activation"))
    return;
  g_assert_true (g_file_get_contents (pipeline, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"importance\": \"activation\""));
  g_assert_nonnull (strstr (text, "\"calibration_samples\": 128"));
  run_cli (&c, "check", pipeline, NULL);
  expect_status (&c, 0, "check of an activation-importance artifact");

  run_cli (&bad, "eval", model, "--width", "0.5", "--importance", "activation",
           "--calibration", "fashion-mnist:test", "--limit", "100", NULL);
  expect_one_line_error (&bad, 2, "calibration on the evaluation set", "evaluation set", NULL);
  run_cli (&lonely, "eval", model, "--calibration", "fashion-mnist:train", "--limit", "100", NULL);
  expect_one_line_error (&lonely, 2, "--calibration without --importance", "--importance", NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  g_test_add_func ("/lathe/cli-compress/eval/plan-json", test_eval_plan_json);
  g_test_add_func ("/lathe/cli-compress/eval/layer-split", test_eval_layer_split);
  g_test_add_data_func ("/lathe/cli-compress/apply/mlp", "fashion-mlp.onnx", test_apply);
  g_test_add_data_func ("/lathe/cli-compress/apply/cnn", "fashion-cnn.onnx", test_apply);
  g_test_add_func ("/lathe/cli-compress/check/accuracy", test_check_accuracy);
  g_test_add_func ("/lathe/cli-compress/check/model-sha256", test_check_model_sha256);
  g_test_add_func ("/lathe/cli-compress/check/wrong-model", test_check_wrong_model);
  g_test_add_func ("/lathe/cli-compress/check/unknown-key", test_check_unknown_key);
  g_test_add_func ("/lathe/cli-compress/check/unknown-layer", test_check_unknown_layer);
  g_test_add_func ("/lathe/cli-compress/bad-input/plan", test_bad_plan);
  g_test_add_func ("/lathe/cli-compress/bad-input/output-dir", test_bad_output_dir);
  g_test_add_func ("/lathe/cli-compress/sweep/json", test_sweep_json);
  g_test_add_func ("/lathe/cli-compress/sweep/text", test_sweep_text);
  g_test_add_func ("/lathe/cli-compress/apply/importance", test_importance);
  return g_test_run ();
}
