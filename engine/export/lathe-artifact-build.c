/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-export"

#include <math.h>
#include <string.h>

#include "compress/lathe-layers.h"
#include "export/lathe-artifact.h"
#include "lathe-artifact-build.h"

char *
lathe_artifact_relative_path (const char *from_dir,
                              const char *to)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_auto(GStrv) pa = NULL;
  g_auto(GStrv) pb = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  guint common = 0;

  g_return_val_if_fail (from_dir != NULL && to != NULL, NULL);

  a = g_canonicalize_filename (from_dir, NULL);
  b = g_canonicalize_filename (to, NULL);
  pa = g_strsplit (a, G_DIR_SEPARATOR_S, -1);
  pb = g_strsplit (b, G_DIR_SEPARATOR_S, -1);
  while (pa[common] && pb[common] && g_str_equal (pa[common], pb[common]))
    common++;
  for (guint i = common; pa[i]; i++)
    if (*pa[i] != '\0')
      g_ptr_array_add (parts, "..");
  for (guint i = common; pb[i]; i++)
    g_ptr_array_add (parts, pb[i]);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

LathePipeline *
lathe_artifact_pipeline_new (const LatheArtifactSource  *source,
                             const LatheArtifactMeasure *measure)
{
  LathePipeline *p;

  g_return_val_if_fail (source != NULL && measure != NULL, NULL);
  g_return_val_if_fail (source->mean->len == source->std->len, NULL);

  p = lathe_pipeline_new ();
  lathe_plan_free (p->plan);
  p->plan = lathe_plan_copy (source->plan);
  p->seed = source->plan->seed;
  p->model_path = lathe_artifact_relative_path (source->outdir, source->model_path);
  p->model_sha256 = g_strdup (source->model_sha256);
  p->data_spec = g_strdup (lathe_dataset_get_spec (source->data));
  for (guint i = 0; i < source->mean->len; i++)
    {
      g_array_append_val (p->mean, g_array_index (source->mean, float, i));
      g_array_append_val (p->std, g_array_index (source->std, float, i));
    }
  p->data_sha256 = g_strdup (lathe_dataset_get_sha256 (source->data));
  /* results are measured on the whole evaluation set */
  p->subset_size = 0;
  if (source->training != NULL)
    p->training = json_node_copy (source->training);
  p->has_results = TRUE;
  p->results.accuracy = measure->accuracy;
  p->results.baseline_accuracy = measure->baseline_accuracy;
  p->results.fidelity = measure->fidelity;
  p->results.size_bytes = (gint64) measure->applied->packed_bytes;
  p->results.baseline_size_bytes = (gint64) measure->baseline_bytes;
  p->results.file_size_bytes = (gint64) g_bytes_get_size (measure->model_bytes);
  p->results.model_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, measure->model_bytes);
  return p;
}

/* The table both reports open with: sizes, accuracy, fidelity. */
static void
append_summary (GString                    *s,
                const char                 *column,
                const LatheArtifactMeasure *m)
{
  guint64 packed = m->applied->packed_bytes;

  g_string_append_printf (s, "| | original | %s |\n|---|---:|---:|\n", column);
  g_string_append_printf (s, "| weights (packed layout) | %" G_GUINT64_FORMAT " B | %" G_GUINT64_FORMAT " B (%.2f× smaller) |\n",
                          m->baseline_bytes, packed, packed ? (double) m->baseline_bytes / packed : 0);
  g_string_append_printf (s, "| %s | | %" G_GSIZE_FORMAT " B", m->model_file, g_bytes_get_size (m->model_bytes));
  if (m->opset > 0)
    g_string_append_printf (s, " (opset %d)", m->opset);
  g_string_append (s, " |\n");
  g_string_append_printf (s, "| top-1 accuracy | %.4f | %.4f (%+.2f points) |\n",
                          m->baseline_accuracy, m->accuracy, 100 * (m->accuracy - m->baseline_accuracy));
  g_string_append_printf (s, "| fidelity to the original | | %.4f |\n\n", m->fidelity);
}

static void
append_notes (GString                    *s,
              const LatheArtifactMeasure *m)
{
  if (m->notes == NULL || m->notes->len == 0)
    return;
  g_string_append (s, "\n## Export notes\n\n");
  for (guint i = 0; i < m->notes->len; i++)
    g_string_append_printf (s, "- %s\n", (char *) g_ptr_array_index (m->notes, i));
}

/* Ends the report's first sentence. */
static void
append_exporter (GString    *s,
                 const char *exporter)
{
  if (exporter != NULL)
    g_string_append_printf (s, "; exported by Lathe with the `%s` exporter", exporter);
  g_string_append (s, ".\n\n");
}

char *
lathe_artifact_report (const LatheArtifactSource  *source,
                       const LatheArtifactMeasure *measure,
                       const char                 *exporter)
{
  GString *s;
  const LatheApplied *a;

  g_return_val_if_fail (source != NULL && measure != NULL, NULL);
  g_return_val_if_fail (measure->layers != NULL && measure->layers->len == measure->applied->results->len, NULL);

  s = g_string_new ("# Lathe compression report\n\n");
  a = measure->applied;
  g_string_append_printf (s, "Model `%s`, evaluated on `%s` (%u samples)", source->model_path,
                          lathe_dataset_get_spec (source->data), measure->n_samples);
  append_exporter (s, exporter);
  append_summary (s, "compressed", measure);

  g_string_append (s, "## Layers\n\n| layer | op | units | applied | original | packed | SQNR |\n"
                      "|---|---|---:|---|---:|---:|---:|\n");
  for (guint i = 0; i < a->results->len; i++)
    {
      LatheLayerResult *r = g_ptr_array_index (a->results, i);
      LatheLayer *layer = g_ptr_array_index (measure->layers, i);
      g_string_append_printf (s, "| `%s` | %s | %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " | %s | %" G_GUINT64_FORMAT
                              " B | %" G_GUINT64_FORMAT " B | ",
                              r->name, layer->op_type, r->rows, r->rows_before, r->status,
                              r->original_bytes, r->packed_bytes);
      if (isfinite (r->sqnr_db))
        g_string_append_printf (s, "%.1f dB |\n", r->sqnr_db);
      else
        g_string_append (s, "exact |\n");
    }
  g_string_append (s, "\nThe packed layout counts every stored byte: n-bit codes, float32 scales, zero points, "
                      "codebooks and the sparse index, plus every tensor no plan touches. ");
  /* a plugin exporter's file need not be ONNX */
  if (exporter != NULL)
    g_string_append (s, "The model file cannot hold every packing, so it may be larger.\n");
  else
    g_string_append_printf (s, "ONNX cannot hold every packing, so %s may be larger.\n", measure->model_file);
  append_notes (s, measure);
  return g_string_free (s, FALSE);
}

char *
lathe_artifact_training_report (const LatheArtifactSource  *source,
                                const LatheArtifactMeasure *measure,
                                const char                 *train_spec,
                                const LatheTrainOptions    *o,
                                const LatheTrainResult     *r,
                                const char                 *exporter)
{
  GString *s;
  const LatheApplied *a;

  g_return_val_if_fail (source != NULL && measure != NULL && o != NULL && r != NULL, NULL);

  s = g_string_new ("# Lathe training report\n\n");
  a = measure->applied;
  g_string_append_printf (s, "Model `%s`, trained (%s) on `%s`, evaluated on `%s`",
                          source->model_path, lathe_train_mode_to_string (o->mode), train_spec,
                          lathe_dataset_get_spec (source->data));
  append_exporter (s, exporter);
  g_string_append_printf (s, "%u epochs, batch %u, %s at learning rate %g with a %s schedule, "
                             "temperature %g, alpha %g, seed %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT
                             " steps in %.1f s (%.0f samples/s).\n\n",
                          o->epochs, o->batch, lathe_optimizer_to_string (o->optimizer), o->lr,
                          lathe_schedule_to_string (o->schedule), o->temperature, o->alpha, o->seed,
                          r->steps, r->seconds, r->samples_per_second);
  append_summary (s, "trained student", measure);

  g_string_append (s, "## Training\n\n| epoch | mean loss | accuracy (evaluation subset) |\n|---:|---:|---:|\n");
  if (!isnan (r->untrained_accuracy))
    g_string_append_printf (s, "| 0 (untrained) | | %.4f |\n", r->untrained_accuracy);
  for (guint i = 0; i < r->epoch_loss->len; i++)
    {
      double acc = g_array_index (r->epoch_accuracy, double, i);
      g_string_append_printf (s, "| %u | %.4f | ", i + 1, g_array_index (r->epoch_loss, double, i));
      if (isnan (acc))
        g_string_append (s, "|\n");
      else
        g_string_append_printf (s, "%.4f |\n", acc);
    }

  g_string_append (s, "\n## Layers\n\n| layer | units | applied | packed |\n|---|---:|---|---:|\n");
  for (guint i = 0; i < a->results->len; i++)
    {
      LatheLayerResult *lr = g_ptr_array_index (a->results, i);
      g_string_append_printf (s, "| `%s` | %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " | %s | %" G_GUINT64_FORMAT " B |\n",
                              lr->name, lr->rows, lr->rows_before, lr->status, lr->packed_bytes);
    }
  append_notes (s, measure);
  return g_string_free (s, FALSE);
}

JsonNode *
lathe_artifact_training_section (const char              *outdir,
                                 const LatheTrainOptions *o,
                                 const char              *train_spec,
                                 const char              *train_sha256)
{
  const char *colon;
  g_auto(GStrv) files = NULL;
  g_autoptr(GString) spec = NULL;

  g_return_val_if_fail (outdir != NULL && o != NULL && train_spec != NULL, NULL);

  if (g_str_has_prefix (train_spec, "fashion-mnist"))
    return lathe_train_options_to_json (o, train_spec, train_sha256);
  /* "format:file,file" or "file,file": only the files move */
  colon = strchr (train_spec, ':');
  files = g_strsplit (colon ? colon + 1 : train_spec, ",", -1);
  spec = g_string_new_len (train_spec, colon ? colon - train_spec + 1 : 0);
  for (guint i = 0; files[i]; i++)
    {
      g_autofree char *rel = lathe_artifact_relative_path (outdir, files[i]);
      g_string_append_printf (spec, "%s%s", i ? "," : "", rel);
    }
  return lathe_train_options_to_json (o, spec->str, train_sha256);
}

gboolean
lathe_artifact_build_write (const char                 *outdir,
                            gboolean                    force,
                            const char * const         *protected_paths,
                            const char                 *pipeline_json,
                            const LatheArtifactMeasure *measure,
                            const char                 *report,
                            GError                    **error)
{
  const char *names[] = { "pipeline.json", measure->model_file, "report.md" };
  g_autoptr(GBytes) b_pipeline = g_bytes_new (pipeline_json, strlen (pipeline_json));
  g_autoptr(GBytes) b_report = g_bytes_new (report, strlen (report));
  GBytes *contents[] = { b_pipeline, measure->model_bytes, b_report };

  return lathe_artifact_write (outdir, force, protected_paths, names, contents, G_N_ELEMENTS (names), error);
}
