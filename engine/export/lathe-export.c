/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-export"

#include "compress/lathe-layers.h"
#include "onnx/lathe-onnx-writer.h"
#include "lathe-export.h"

GHashTable *
lathe_export_weights_new (const LatheApplied *applied,
                          GPtrArray          *layers)
{
  GHashTable *weights = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_return_val_if_fail (applied != NULL, weights);
  g_return_val_if_fail (layers != NULL && layers->len == applied->results->len, weights);

  for (guint i = 0; i < applied->results->len; i++)
    {
      LatheLayerResult *r = g_ptr_array_index (applied->results, i);
      LatheLayer *layer = g_ptr_array_index (layers, i);
      LatheExportWeight *w;

      if (r->quantized == NULL && !r->fp16)
        continue;
      w = g_new0 (LatheExportWeight, 1);
      w->quantized = r->quantized;
      w->out_axis = layer->out_axis;
      w->fp16 = r->fp16;
      g_hash_table_insert (weights, r->name, w);
    }
  return weights;
}

GBytes *
lathe_export_onnx (const LatheApplied *applied,
                   GPtrArray          *layers,
                   GPtrArray          *notes,
                   int                *out_opset,
                   GError            **error)
{
  g_autoptr(GHashTable) weights = lathe_export_weights_new (applied, layers);
  LatheExportOptions options = { weights, notes, 0 };
  GBytes *bytes;

  bytes = lathe_onnx_serialize (applied->graph, &options, error);
  if (out_opset != NULL)
    *out_opset = options.out_opset;
  return bytes;
}
