/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Runs ONNX's own backend conformance cases (Debian's libonnx-testdata)
 * through the engine. conformance-expected.txt records, for every case,
 * whether it must pass or why it is skipped; a case that should pass and
 * does not fails the suite, and so does a case the list does not know. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-onnx.h"
#include "lathe-config.h"
#include "../lathe-test-util.h"

#define CONFORMANCE_RTOL 1e-3
#define CONFORMANCE_ATOL 1e-7

static const char * const folders[] = { "node", "pytorch-converted", "pytorch-operator", "simple" };

typedef struct {
  char *id;          /* "node/test_abs" */
  char *expected;    /* "pass" or a skip reason */
  char *outcome;     /* "pass", a skip reason, or "fail: …" */
} Case;

static GPtrArray *cases;        /* Case* */
static GHashTable *expected;    /* id → reason */
static const char *data_dir;
static const char *generate_path;
static const char *only_pattern;
static gboolean verbose;

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
case_free (gpointer data)
{
  Case *c = data;
  g_free (c->id);
  g_free (c->expected);
  g_free (c->outcome);
  g_free (c);
}

/* Maps an engine error to one of the fixed skip reasons, or NULL when the
 * error is a real failure. */
static char *
skip_reason (const GError *error)
{
  const char *m;

  if (error->domain != LATHE_ONNX_ERROR)
    return NULL;
  switch (error->code)
    {
    case LATHE_ONNX_ERROR_UNSUPPORTED_OP:
      if ((m = strstr (error->message, "unsupported op ")) != NULL)
        {
          const char *s = m + strlen ("unsupported op ");
          gsize len = strcspn (s, " :,");
          return g_strdup_printf ("unsupported op %.*s", (int) len, s);
        }
      return g_strdup ("unsupported op");
    case LATHE_ONNX_ERROR_UNSUPPORTED_TYPE:
      if ((m = strstr (error->message, "unsupported data type ")) != NULL)
        {
          const char *s = m + strlen ("unsupported data type ");
          gsize len = strcspn (s, " :,(");
          return g_strdup_printf ("unsupported data type %.*s", (int) len, s);
        }
      return g_strdup ("unsupported data type");
    case LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE:
      return g_strdup ("unsupported attribute value");
    default:
      return NULL;
    }
}

static gboolean
compare (const LatheTensor *got,
         const LatheTensor *want,
         const char        *name,
         GString           *why)
{
  if (got->dtype != want->dtype || !lathe_tensor_same_shape (got, want))
    {
      g_autofree char *sg = lathe_shape_to_string (got->ndim, got->dims);
      g_autofree char *sw = lathe_shape_to_string (want->ndim, want->dims);
      g_string_append_printf (why, "output %s: got %s %s, expected %s %s", name,
                              lathe_dtype_name (got->dtype), sg,
                              lathe_dtype_name (want->dtype), sw);
      return FALSE;
    }
  if (got->dtype == LATHE_DTYPE_FLOAT || got->dtype == LATHE_DTYPE_DOUBLE ||
      got->dtype == LATHE_DTYPE_FLOAT16)
    {
      for (gsize i = 0; i < got->n; i++)
        {
          double g, w;
          if (got->dtype == LATHE_DTYPE_FLOAT)
            g = ((float *) got->data)[i], w = ((float *) want->data)[i];
          else if (got->dtype == LATHE_DTYPE_DOUBLE)
            g = ((double *) got->data)[i], w = ((double *) want->data)[i];
          else
            g = lathe_half_to_float (((guint16 *) got->data)[i]),
            w = lathe_half_to_float (((guint16 *) want->data)[i]);
          if (isnan (w) && isnan (g))
            continue;
          if (isinf (w) && g == w)
            continue;
          if (!(fabs (g - w) <= CONFORMANCE_ATOL + CONFORMANCE_RTOL * fabs (w)))
            {
              g_string_append_printf (why, "output %s[%" G_GSIZE_FORMAT "]: got %.9g, expected %.9g",
                                      name, i, g, w);
              return FALSE;
            }
        }
      return TRUE;
    }
  if (memcmp (got->data, want->data, lathe_tensor_nbytes (got)) != 0)
    {
      g_string_append_printf (why, "output %s: %s values differ", name, lathe_dtype_name (got->dtype));
      return FALSE;
    }
  return TRUE;
}

/* Runs one case; returns "pass", a skip reason or "fail: …". */
static char *
run_case (const char *dir)
{
  g_autofree char *model_path = g_build_filename (dir, "model.onnx", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheGraph) graph = NULL;
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(GDir) d = NULL;
  g_autoptr(GPtrArray) sets = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  char *reason;

  graph = lathe_onnx_load_file (model_path, &error);
  if (graph == NULL)
    {
      if ((reason = skip_reason (error)) != NULL)
        return reason;
      return g_strdup_printf ("fail: %s", error->message);
    }

  d = g_dir_open (dir, 0, NULL);
  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (entry, "test_data_set_"))
      g_ptr_array_add (sets, g_build_filename (dir, entry, NULL));
  g_ptr_array_sort (sets, compare_names);
  if (sets->len == 0)
    return g_strdup ("fail: no test data sets");

  exec = lathe_executor_new (graph);
  for (guint s = 0; s < sets->len; s++)
    {
      const char *set = g_ptr_array_index (sets, s);
      g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_tensor_unref);
      g_autoptr(GString) why = g_string_new (NULL);

      for (guint i = 0; i < graph->inputs->len; i++)
        {
          g_autofree char *p = g_strdup_printf ("%s/input_%u.pb", set, i);
          LatheTensor *t = lathe_onnx_load_tensor_file (p, NULL, &error);
          if (t == NULL)
            {
              if ((reason = skip_reason (error)) != NULL)
                return reason;
              return g_strdup_printf ("fail: %s", error->message);
            }
          g_ptr_array_add (inputs, t);
        }

      if (!lathe_executor_run (exec, inputs->len, (LatheTensor **) inputs->pdata, &error))
        {
          if ((reason = skip_reason (error)) != NULL)
            return reason;
          return g_strdup_printf ("fail: %s", error->message);
        }

      for (guint o = 0; o < graph->outputs->len; o++)
        {
          g_autofree char *p = g_strdup_printf ("%s/output_%u.pb", set, o);
          g_autoptr(LatheTensor) want = NULL;
          const char *name = lathe_graph_value (graph, g_array_index (graph->outputs, guint, o))->name;

          if (!g_file_test (p, G_FILE_TEST_EXISTS))
            continue;
          want = lathe_onnx_load_tensor_file (p, NULL, &error);
          if (want == NULL)
            {
              if ((reason = skip_reason (error)) != NULL)
                return reason;
              return g_strdup_printf ("fail: %s", error->message);
            }
          if (!compare (lathe_executor_get_output (exec, o), want, name, why))
            return g_strdup_printf ("fail: %s", why->str);
        }
    }
  return g_strdup ("pass");
}

static void
test_case (gconstpointer data)
{
  Case *c = (Case *) data;
  g_autofree char *dir = g_build_filename (data_dir, c->id, NULL);

  c->outcome = run_case (dir);
  if (verbose || only_pattern != NULL)
    g_test_message ("%s: %s", c->id, c->outcome);

  if (generate_path != NULL)
    return;

  if (c->expected == NULL)
    {
      g_test_message ("%s is not in conformance-expected.txt (outcome: %s)", c->id, c->outcome);
      g_test_fail ();
      return;
    }
  if (g_str_equal (c->expected, "pass"))
    {
      if (!g_str_equal (c->outcome, "pass"))
        {
          g_test_message ("%s should pass: %s", c->id, c->outcome);
          g_test_fail ();
        }
      return;
    }
  /* Expected to be skipped: it must still be skipped for that reason, so a
   * newly supported op shows up as a list to update. */
  if (!g_str_equal (c->outcome, c->expected))
    {
      g_test_message ("%s was expected to be skipped (%s) but: %s", c->id, c->expected, c->outcome);
      g_test_fail ();
      return;
    }
  g_test_skip (c->expected);
}

static void
test_summary (void)
{
  g_autoptr(GHashTable) reasons = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) keys = NULL;
  guint passed = 0, failed = 0, skipped = 0;
  g_autoptr(GString) report = g_string_new (NULL);

  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = g_ptr_array_index (cases, i);
      if (c->outcome == NULL)
        continue;
      if (g_str_equal (c->outcome, "pass"))
        passed++;
      else if (g_str_has_prefix (c->outcome, "fail"))
        failed++;
      else
        {
          skipped++;
          g_hash_table_insert (reasons, c->outcome,
                               GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (reasons, c->outcome)) + 1));
        }
    }

  g_string_append_printf (report, "conformance: %u passed, %u failed, %u skipped\n", passed, failed, skipped);
  keys = g_list_sort (g_hash_table_get_keys (reasons), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    g_string_append_printf (report, "  skipped %3u x %s\n",
                            GPOINTER_TO_UINT (g_hash_table_lookup (reasons, l->data)),
                            (const char *) l->data);
  g_test_message ("%s", report->str);
  if (g_getenv ("LATHE_CONFORMANCE_SUMMARY") != NULL)
    g_printerr ("%s", report->str);

  if (generate_path != NULL)
    {
      g_autoptr(GString) out = g_string_new ("# ONNX backend conformance cases (Debian libonnx-testdata 1.12)\n"
                                             "# <folder>/<case> pass | <skip reason>\n"
                                             "# Regenerate: test-conformance --generate=FILE; review every change.\n");
      g_autoptr(GError) error = NULL;
      for (guint i = 0; i < cases->len; i++)
        {
          Case *c = g_ptr_array_index (cases, i);
          /* A failing case is never written as expected. */
          g_string_append_printf (out, "%s %s\n", c->id,
                                  g_str_has_prefix (c->outcome, "fail") ? "FAIL" : c->outcome);
        }
      g_assert_true (g_file_set_contents (generate_path, out->str, -1, &error));
    }
}

static void
load_expected (const char *path)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      if (generate_path == NULL)
        g_error ("%s", error->message);
      return;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *sp;
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      sp = strchr (lines[i], ' ');
      if (sp == NULL)
        g_error ("%s:%u: expected '<case> <outcome>'", path, i + 1);
      *sp = '\0';
      g_hash_table_insert (expected, g_strdup (lines[i]), g_strdup (sp + 1));
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *list_path = NULL;
  g_autofree char *gen = NULL;
  g_autofree char *pattern = NULL;
  GOptionEntry entries[] = {
    { "generate", 0, 0, G_OPTION_ARG_FILENAME, &gen, "Write the outcomes as a new expectations list", "FILE" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &pattern, "Run only cases whose id contains TEXT", "TEXT" },
    { "verbose-cases", 0, 0, G_OPTION_ARG_NONE, &verbose, "Print every case's outcome", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = NULL;
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  ctx = g_option_context_new ("- ONNX conformance runner");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_ignore_unknown_options (ctx, TRUE);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    g_error ("%s", error->message);
  generate_path = gen;
  only_pattern = pattern;

  data_dir = g_getenv ("LATHE_ONNX_TESTDATA_DIR");
  if (data_dir == NULL)
    data_dir = LATHE_ONNX_TESTDATA_DIR;

  list_path = lathe_test_source_path ("tests", "onnx", "conformance-expected.txt", NULL);
  load_expected (list_path);

  cases = g_ptr_array_new_with_free_func (case_free);
  if (!g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      g_test_add_func ("/lathe/onnx/conformance/data", (GTestFunc) g_test_incomplete);
      g_printerr ("libonnx-testdata not found at %s\n", data_dir);
      return g_test_run ();
    }

  for (guint f = 0; f < G_N_ELEMENTS (folders); f++)
    {
      g_autofree char *path = g_build_filename (data_dir, folders[f], NULL);
      g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *entry;

      while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (names, g_strdup (entry));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          Case *c = g_new0 (Case, 1);
          g_autofree char *tpath = NULL;
          c->id = g_strdup_printf ("%s/%s", folders[f], (char *) g_ptr_array_index (names, i));
          if (pattern != NULL && strstr (c->id, pattern) == NULL)
            {
              case_free (c);
              continue;
            }
          c->expected = g_strdup (g_hash_table_lookup (expected, c->id));
          g_ptr_array_add (cases, c);
          tpath = g_strdup_printf ("/lathe/onnx/conformance/%s", c->id);
          g_test_add_data_func (tpath, c, test_case);
        }
    }
  g_test_add_func ("/lathe/onnx/summary/conformance", test_summary);

  return g_test_run ();
}
