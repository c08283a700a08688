/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

#include <string.h>

#include "lathe-cli.h"

static char *
value_shape (LatheValue *value)
{
  GString *s;

  if (value->ndim < 0)
    return g_strdup ("?");
  s = g_string_new ("[");
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

static void
add_value_json (JsonBuilder *b,
                LatheValue  *value)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, value->name);
  json_builder_set_member_name (b, "dtype");
  json_builder_add_string_value (b, lathe_dtype_name (value->dtype));
  json_builder_set_member_name (b, "shape");
  json_builder_begin_array (b);
  for (int d = 0; d < value->ndim; d++)
    {
      if (value->dims[d] >= 0)
        json_builder_add_int_value (b, value->dims[d]);
      else
        json_builder_add_string_value (b, d == 0 && value->dim_param0 ? value->dim_param0 : "?");
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* Op types with their counts, in order of first appearance. */
static GPtrArray *
count_ops (LatheGraph *graph,
           GHashTable *counts)
{
  GPtrArray *order = g_ptr_array_new ();

  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, node->op_type));
      if (n == 0)
        g_ptr_array_add (order, node->op_type);
      g_hash_table_insert (counts, node->op_type, GUINT_TO_POINTER (n + 1));
    }
  return order;
}

int
lathe_cli_info (int    argc,
                char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) order = NULL;
  LatheGraph *graph;
  guint64 n_params = 0, n_bytes = 0;
  int status;

  g_option_context_set_summary (context, "Show a model's inputs, outputs, opset, op counts and every weight tensor.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!lathe_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return lathe_cli_usage_error (context, "expected one MODEL.onnx");

  model = lathe_model_new_from_file (argv[1], NULL, &error);
  if (model == NULL)
    return lathe_cli_fail (error);
  graph = lathe_model_get_graph (model);
  lathe_model_count_parameters (model, &n_params, &n_bytes);
  order = count_ops (graph, counts);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "file_size_bytes");
      json_builder_add_int_value (b, lathe_model_get_file_size (model));
      json_builder_set_member_name (b, "ir_version");
      json_builder_add_int_value (b, graph->ir_version);
      json_builder_set_member_name (b, "opset");
      json_builder_add_int_value (b, graph->opset);
      json_builder_set_member_name (b, "producer");
      json_builder_add_string_value (b, graph->producer_name ? graph->producer_name : "");
      json_builder_set_member_name (b, "inputs");
      json_builder_begin_array (b);
      for (guint i = 0; i < graph->inputs->len; i++)
        add_value_json (b, lathe_graph_value (graph, g_array_index (graph->inputs, guint, i)));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "outputs");
      json_builder_begin_array (b);
      for (guint i = 0; i < graph->outputs->len; i++)
        add_value_json (b, lathe_graph_value (graph, g_array_index (graph->outputs, guint, i)));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "ops");
      json_builder_begin_object (b);
      for (guint i = 0; i < order->len; i++)
        {
          json_builder_set_member_name (b, g_ptr_array_index (order, i));
          json_builder_add_int_value (b, GPOINTER_TO_UINT (g_hash_table_lookup (counts, g_ptr_array_index (order, i))));
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "metadata");
      json_builder_begin_object (b);
      for (guint i = 0; i < graph->metadata_keys->len; i++)
        {
          json_builder_set_member_name (b, g_ptr_array_index (graph->metadata_keys, i));
          json_builder_add_string_value (b, g_ptr_array_index (graph->metadata_values, i));
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "weights");
      json_builder_begin_array (b);
      for (guint v = 0; v < graph->values->len; v++)
        {
          LatheValue *value = lathe_graph_value (graph, v);
          if (value->kind != LATHE_VALUE_INITIALIZER)
            continue;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, value->name);
          json_builder_set_member_name (b, "dtype");
          json_builder_add_string_value (b, lathe_dtype_name (value->initializer->dtype));
          json_builder_set_member_name (b, "shape");
          json_builder_begin_array (b);
          for (guint d = 0; d < value->initializer->ndim; d++)
            json_builder_add_int_value (b, value->initializer->dims[d]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "parameters");
          json_builder_add_int_value (b, (gint64) value->initializer->n);
          json_builder_set_member_name (b, "bytes");
          json_builder_add_int_value (b, (gint64) lathe_tensor_nbytes (value->initializer));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "total_parameters");
      json_builder_add_int_value (b, (gint64) n_params);
      json_builder_set_member_name (b, "total_bytes");
      json_builder_add_int_value (b, (gint64) n_bytes);
      json_builder_end_object (b);
      lathe_cli_print_json (b);
      return LATHE_EXIT_OK;
    }

  {
    g_autofree char *size = lathe_cli_format_bytes ((guint64) lathe_model_get_file_size (model));
    g_autofree char *wbytes = lathe_cli_format_bytes (n_bytes);
    g_autoptr(GString) ops = g_string_new (NULL);
    guint name_width = 4;

    g_print ("Model     %s (%s)\n", argv[1], size);
    g_print ("Producer  %s %s, IR version %" G_GINT64_FORMAT ", opset %" G_GINT64_FORMAT "\n",
             graph->producer_name ? graph->producer_name : "unknown",
             graph->producer_version ? graph->producer_version : "",
             graph->ir_version, graph->opset);
    for (guint i = 0; i < graph->inputs->len; i++)
      {
        LatheValue *value = lathe_graph_value (graph, g_array_index (graph->inputs, guint, i));
        g_autofree char *s = value_shape (value);
        g_print ("%s %s %s %s\n", i == 0 ? "Input    " : "         ", value->name,
                 lathe_dtype_name (value->dtype), s);
      }
    for (guint i = 0; i < graph->outputs->len; i++)
      {
        LatheValue *value = lathe_graph_value (graph, g_array_index (graph->outputs, guint, i));
        g_autofree char *s = value_shape (value);
        g_print ("%s %s %s %s\n", i == 0 ? "Output   " : "         ", value->name,
                 lathe_dtype_name (value->dtype), s);
      }
    for (guint i = 0; i < order->len; i++)
      g_string_append_printf (ops, "%s%s ×%u", i ? ", " : "", (char *) g_ptr_array_index (order, i),
                              GPOINTER_TO_UINT (g_hash_table_lookup (counts, g_ptr_array_index (order, i))));
    g_print ("Ops       %u nodes: %s\n", graph->nodes->len, ops->str);
    for (guint i = 0; i < graph->metadata_keys->len; i++)
      g_print ("%s %s = %s\n", i == 0 ? "Metadata " : "         ",
               (char *) g_ptr_array_index (graph->metadata_keys, i),
               (char *) g_ptr_array_index (graph->metadata_values, i));

    for (guint v = 0; v < graph->values->len; v++)
      {
        LatheValue *value = lathe_graph_value (graph, v);
        if (value->kind == LATHE_VALUE_INITIALIZER)
          name_width = MAX (name_width, (guint) strlen (value->name));
      }
    g_print ("\nWeights\n  %-*s  %-7s  %-16s %10s %12s\n", name_width, "name", "dtype", "shape", "parameters", "bytes");
    for (guint v = 0; v < graph->values->len; v++)
      {
        LatheValue *value = lathe_graph_value (graph, v);
        g_autofree char *s = NULL;
        if (value->kind != LATHE_VALUE_INITIALIZER)
          continue;
        s = lathe_shape_to_string (value->initializer->ndim, value->initializer->dims);
        g_print ("  %-*s  %-7s  %-16s %10" G_GSIZE_FORMAT " %12" G_GSIZE_FORMAT "\n", name_width, value->name,
                 lathe_dtype_name (value->initializer->dtype), s,
                 value->initializer->n, lathe_tensor_nbytes (value->initializer));
      }
    g_print ("  %-*s  %-7s  %-16s %10" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT "  (%s)\n", name_width, "total", "", "",
             n_params, n_bytes, wbytes);
  }
  return LATHE_EXIT_OK;
}
