/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-eval"

#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "eval/lathe-executor.h"

#define DEFAULT_BATCH 256

void
lathe_eval_result_clear (LatheEvalResult *result)
{
  g_clear_pointer (&result->metrics, lathe_metrics_free);
  g_clear_pointer (&result->predictions, g_free);
  memset (result, 0, sizeof *result);
}

static char *
declared_shape (LatheValue *value)
{
  GString *s = g_string_new ("[");

  for (int d = 0; d < value->ndim; d++)
    {
      if (d > 0)
        g_string_append_c (s, ',');
      if (value->dims[d] >= 0)
        g_string_append_printf (s, "%" G_GINT64_FORMAT, value->dims[d]);
      else
        g_string_append (s, d == 0 && value->dim_param0 ? value->dim_param0 : "?");
    }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
lathe_eval_check_data (LatheGraph    *graph,
                       LatheDataset  *data,
                       guint          n_norm,
                       guint         *n_channels,
                       GError       **error)
{
  LatheValue *input;
  gsize per_sample = 1;
  gsize data_size = lathe_dataset_get_sample_size (data);
  g_autofree char *want = NULL;

  if (graph->inputs->len != 1)
    {
      g_set_error (error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                   "the model takes %u inputs; evaluation feeds exactly one", graph->inputs->len);
      return FALSE;
    }
  input = lathe_graph_value (graph, g_array_index (graph->inputs, guint, 0));
  want = declared_shape (input);
  if (input->ndim < 1)
    {
      g_set_error (error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                   "model input '%s' has no declared shape", input->name);
      return FALSE;
    }
  if (input->dtype != LATHE_DTYPE_FLOAT && input->dtype != LATHE_DTYPE_UNDEFINED)
    {
      g_set_error (error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                   "model input '%s' is %s; evaluation feeds float data",
                   input->name, lathe_dtype_name (input->dtype));
      return FALSE;
    }
  for (int d = 1; d < input->ndim; d++)
    {
      if (input->dims[d] < 0)
        {
          g_set_error (error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                       "model input '%s' %s has a free dimension besides the batch",
                       input->name, want);
          return FALSE;
        }
      per_sample *= (gsize) input->dims[d];
    }
  if (per_sample != data_size)
    {
      g_autofree char *have = lathe_shape_to_string (lathe_dataset_get_sample_ndim (data),
                                                      lathe_dataset_get_sample_dims (data));
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                   "data '%s' has samples of %s (%" G_GSIZE_FORMAT " values); model input '%s' %s takes %"
                   G_GSIZE_FORMAT " values per sample",
                   lathe_dataset_get_spec (data), have, data_size, input->name, want, per_sample);
      return FALSE;
    }

  /* NCHW models normalise per channel; anything else has one channel. */
  *n_channels = input->ndim >= 3 ? (guint) input->dims[1] : 1;
  if (n_norm > 1 && n_norm != *n_channels)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                   "%u mean/std values given; model input '%s' %s has %u channels",
                   n_norm, input->name, want, *n_channels);
      return FALSE;
    }
  return TRUE;
}

gboolean
lathe_evaluate (LatheGraph             *graph,
                LatheDataset           *data,
                const LatheEvalOptions *options,
                const gint32           *reference_pred,
                LatheProgressFunc       progress,
                gpointer                progress_data,
                GCancellable           *cancellable,
                LatheEvalResult        *result,
                GError                **error)
{
  g_autoptr(LatheExecutor) exec = NULL;
  guint n_channels = 1;
  guint total = lathe_dataset_get_n_samples (data);
  guint batch = options->batch ? options->batch : DEFAULT_BATCH;
  const gint32 *labels = lathe_dataset_get_labels (data);
  g_autofree float *mean = NULL;
  g_autofree float *std = NULL;
  gint64 elapsed = 0;
  guint n_outputs = 0;

  memset (result, 0, sizeof *result);

  if (!lathe_eval_check_data (graph, data, options->n_norm, &n_channels, error))
    return FALSE;
  if (options->limit > 0 && options->limit < total)
    total = options->limit;
  if (total == 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                   "data '%s' has no samples", lathe_dataset_get_spec (data));
      return FALSE;
    }

  mean = g_new (float, n_channels);
  std = g_new (float, n_channels);
  for (guint c = 0; c < n_channels; c++)
    {
      guint k = options->n_norm > 1 ? c : 0;
      mean[c] = options->mean && options->n_norm ? options->mean[k] : 0.f;
      std[c] = options->std && options->n_norm ? options->std[k] : 1.f;
    }

  exec = lathe_executor_new (graph);
  result->predictions = g_new0 (gint32, total);
  result->n_samples = total;

  for (guint start = 0; start < total; start += batch)
    {
      guint count = MIN (batch, total - start);
      g_autoptr(LatheTensor) meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);
      LatheTensor *in, *out;
      gint64 t0;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto fail;
      if (!lathe_graph_input_shape_for_batch (graph, 0, count, meta, error) ||
          !lathe_executor_prepare (exec, 1, &meta, error))
        goto fail;
      in = lathe_executor_get_input (exec, 0);
      lathe_dataset_fill_batch (data, start, count, n_channels, mean, std, in->data);

      t0 = g_get_monotonic_time ();
      if (!lathe_executor_execute (exec, error))
        goto fail;
      elapsed += g_get_monotonic_time () - t0;

      out = lathe_executor_get_output (exec, 0);
      if (out->dtype != LATHE_DTYPE_FLOAT || out->ndim != 2 || out->dims[0] != count)
        {
          g_autofree char *s = lathe_shape_to_string (out->ndim, out->dims);
          g_set_error (error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                       "the model's first output is %s %s; evaluation needs float scores [batch, classes]",
                       lathe_dtype_name (out->dtype), s);
          goto fail;
        }
      if (result->metrics == NULL)
        {
          guint n_classes = MAX ((guint) out->dims[1], lathe_dataset_get_n_classes (data));
          n_outputs = (guint) out->dims[1];
          if (labels != NULL && lathe_dataset_get_n_classes (data) > n_outputs)
            {
              g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                           "data '%s' has labels up to %u; the model scores %u classes",
                           lathe_dataset_get_spec (data), lathe_dataset_get_n_classes (data) - 1,
                           n_outputs);
              goto fail;
            }
          result->metrics = lathe_metrics_new (n_classes);
          result->n_outputs = n_outputs;
        }
      lathe_metrics_add_batch (result->metrics, out->data, count, n_outputs,
                               labels ? labels + start : NULL,
                               reference_pred ? reference_pred + start : NULL,
                               result->predictions + start);
      if (progress != NULL)
        progress (start + count, total, progress_data);
    }

  result->seconds = elapsed / 1e6;
  return TRUE;

fail:
  lathe_eval_result_clear (result);
  return FALSE;
}
