/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-session"

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "eval/lathe-executor.h"
#include "eval/lathe-macs.h"
#include "export/lathe-export.h"
#include "eval/lathe-metrics.h"
#include "session/lathe-session.h"

#define SESSION_BATCH 1000
#define WILSON_Z95    1.959963984540054

/* ---------------------------------------------------------------------- */
/* Results                                                                 */

G_DEFINE_BOXED_TYPE (LatheSessionResult, lathe_session_result,
                     lathe_session_result_ref, lathe_session_result_unref)

LatheSessionResult *
lathe_session_result_ref (LatheSessionResult *r)
{
  g_atomic_int_inc (&r->ref_count);
  return r;
}

void
lathe_session_result_unref (LatheSessionResult *r)
{
  if (g_atomic_int_dec_and_test (&r->ref_count))
    {
      g_free (r->class_accuracy);
      g_free (r->confusion);
      g_clear_pointer (&r->applied, lathe_applied_free);
      g_free (r);
    }
}

static LatheSessionResult *
result_new (const LatheMetrics *m,
            LatheStage          stage,
            guint64             generation)
{
  LatheSessionResult *r = g_new0 (LatheSessionResult, 1);

  r->ref_count = 1;
  r->generation = generation;
  r->stage = stage;
  r->n_samples = (guint) m->total;
  r->correct = m->correct;
  r->accuracy = lathe_metrics_accuracy (m);
  lathe_wilson_interval (m->correct, m->total, WILSON_Z95, &r->lo, &r->hi);
  r->top5 = lathe_metrics_top5 (m);
  r->fidelity = m->fidelity_total ? lathe_metrics_fidelity (m) : 1.0;
  r->n_classes = m->n_classes;
  r->class_accuracy = g_new0 (double, MAX (m->n_classes, 1));
  for (guint c = 0; c < m->n_classes; c++)
    r->class_accuracy[c] = lathe_metrics_class_accuracy (m, c);
  r->confusion = g_memdup2 (m->confusion, (gsize) m->n_classes * m->n_classes * sizeof (guint64));
  return r;
}

/* ---------------------------------------------------------------------- */
/* The session                                                             */

/* Activations entering one layer for every sample of a set, valid for the
 * plans whose layers before it are set as `key` says. */
typedef struct {
  char  *key;
  float *data;
  gsize  per_sample;
} Cut;

typedef struct {
  guint   n;
  guint  *indices;          /* into the dataset, ascending */
  gboolean contiguous;      /* indices are 0 … n−1 */
  gint32 *labels;
  gint32 *baseline_pred;    /* NULL until the baseline ran */
  Cut    *cuts;             /* one per layer */
} SampleSet;

struct _LatheSession {
  GObject             parent_instance;

  LatheModel         *model;
  LatheDataset       *data;
  float              *mean, *std;
  guint               n_norm;
  guint               n_channels;
  GPtrArray          *layers;
  guint               subset_size;
  gsize               cache_budget;
  gsize               cache_bytes;
  gboolean            use_cache;
  SampleSet           sets[2];
  LatheSessionResult *baseline;
  LatheApplyCache    *apply_cache;  /* unchanged layers are not re-quantized */
  LatheDataset       *calibration;  /* for activation importance, by spec */
  char               *calibration_spec;
  GMutex              eval_lock;    /* one evaluation at a time */

  GMainContext       *context;
  GThread            *worker;
  GMutex              lock;         /* guards the fields below */
  GCond               cond;
  LathePlan          *pending;
  guint64             pending_generation;
  guint64             generation;
  GCancellable       *running;
  gboolean            busy;
  gboolean            quit;
};

G_DEFINE_FINAL_TYPE (LatheSession, lathe_session, G_TYPE_OBJECT)

enum {
  SIGNAL_RESULT,
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
sample_set_clear (SampleSet *set,
                  guint      n_layers)
{
  g_clear_pointer (&set->indices, g_free);
  g_clear_pointer (&set->labels, g_free);
  g_clear_pointer (&set->baseline_pred, g_free);
  if (set->cuts != NULL)
    for (guint i = 0; i < n_layers; i++)
      {
        g_free (set->cuts[i].key);
        g_free (set->cuts[i].data);
      }
  g_clear_pointer (&set->cuts, g_free);
}

static void
lathe_session_dispose (GObject *object)
{
  LatheSession *self = LATHE_SESSION (object);

  if (self->worker != NULL)
    {
      g_mutex_lock (&self->lock);
      self->quit = TRUE;
      if (self->running)
        g_cancellable_cancel (self->running);
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      g_thread_join (g_steal_pointer (&self->worker));
    }
  G_OBJECT_CLASS (lathe_session_parent_class)->dispose (object);
}

static void
lathe_session_finalize (GObject *object)
{
  LatheSession *self = LATHE_SESSION (object);
  guint n_layers = self->layers ? self->layers->len : 0;

  for (guint s = 0; s < 2; s++)
    sample_set_clear (&self->sets[s], n_layers);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_pointer (&self->baseline, lathe_session_result_unref);
  g_clear_pointer (&self->apply_cache, lathe_apply_cache_free);
  g_clear_object (&self->calibration);
  g_free (self->calibration_spec);
  g_clear_pointer (&self->pending, lathe_plan_free);
  g_clear_object (&self->model);
  g_clear_object (&self->data);
  g_free (self->mean);
  g_free (self->std);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->eval_lock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (lathe_session_parent_class)->finalize (object);
}

static void
lathe_session_class_init (LatheSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lathe_session_dispose;
  object_class->finalize = lathe_session_finalize;

  /* A measured plan: first the subset, then the full set. Emitted on the
   * main context the session was made in. */
  signals[SIGNAL_RESULT] =
    g_signal_new ("result", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, LATHE_TYPE_SESSION_RESULT);
  /* A plan that could not be applied or evaluated: (generation, message). */
  signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_STRING);
}

static void
lathe_session_init (LatheSession *self)
{
  g_mutex_init (&self->eval_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->subset_size = LATHE_SESSION_SUBSET_DEFAULT;
  self->cache_budget = LATHE_SESSION_CACHE_DEFAULT;
  self->use_cache = TRUE;
  self->apply_cache = lathe_apply_cache_new ();
}

/* A fixed, class-stratified subset: each class gets its share (rounded),
 * drawn in a seeded shuffle order, then kept in dataset order. */
static void
make_subset (LatheSession *self,
             SampleSet    *set)
{
  guint n = lathe_dataset_get_n_samples (self->data);
  const gint32 *labels = lathe_dataset_get_labels (self->data);
  guint want = MIN (self->subset_size, n);
  g_autofree guint *order = g_new (guint, n);
  g_autofree gboolean *chosen = g_new0 (gboolean, n);
  GRand *rand = g_rand_new_with_seed (0);
  guint picked = 0;

  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      guint t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
  g_rand_free (rand);

  if (labels != NULL)
    {
      guint n_classes = lathe_dataset_get_n_classes (self->data);
      g_autofree guint *count = g_new0 (guint, MAX (n_classes, 1));
      g_autofree guint *quota = g_new0 (guint, MAX (n_classes, 1));

      for (guint i = 0; i < n; i++)
        count[labels[i]]++;
      for (guint c = 0; c < n_classes; c++)
        quota[c] = (guint) floor ((double) want * count[c] / n + 0.5);
      for (guint i = 0; i < n; i++)
        {
          guint k = order[i];
          if (quota[labels[k]] > 0)
            {
              quota[labels[k]]--;
              chosen[k] = TRUE;
              picked++;
            }
        }
    }
  else
    for (guint i = 0; i < want; i++)
      chosen[order[i]] = TRUE, picked++;

  set->n = picked;
  set->indices = g_new (guint, MAX (picked, 1));
  set->labels = g_new0 (gint32, MAX (picked, 1));
  for (guint i = 0, k = 0; i < n; i++)
    if (chosen[i])
      {
        set->indices[k] = i;
        set->labels[k] = labels ? labels[i] : 0;
        k++;
      }
  set->contiguous = picked == n;
}

static void
make_full (LatheSession *self,
           SampleSet    *set)
{
  guint n = lathe_dataset_get_n_samples (self->data);
  const gint32 *labels = lathe_dataset_get_labels (self->data);

  set->n = n;
  set->indices = g_new (guint, MAX (n, 1));
  set->labels = g_new0 (gint32, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      set->indices[i] = i;
      set->labels[i] = labels ? labels[i] : 0;
    }
  set->contiguous = TRUE;
}

LatheSession *
lathe_session_new (LatheModel    *model,
                   LatheDataset  *data,
                   const float   *mean,
                   const float   *std,
                   guint          n_norm,
                   GError       **error)
{
  g_autoptr(LatheSession) self = g_object_new (LATHE_TYPE_SESSION, NULL);
  LatheGraph *graph = lathe_model_get_graph (model);

  g_return_val_if_fail (LATHE_IS_MODEL (model), NULL);
  g_return_val_if_fail (LATHE_IS_DATASET (data), NULL);

  if (!lathe_dataset_has_labels (data))
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                   "data '%s' has no labels; a session measures accuracy", lathe_dataset_get_spec (data));
      return NULL;
    }
  if (!lathe_eval_check_data (graph, data, n_norm, &self->n_channels, error))
    return NULL;
  self->layers = lathe_find_layers (graph, error);
  if (self->layers == NULL)
    return NULL;

  self->model = g_object_ref (model);
  self->data = g_object_ref (data);
  self->n_norm = n_norm;
  self->mean = g_new (float, MAX (self->n_channels, 1));
  self->std = g_new (float, MAX (self->n_channels, 1));
  for (guint c = 0; c < self->n_channels; c++)
    {
      guint k = n_norm > 1 ? c : 0;
      self->mean[c] = mean && n_norm ? mean[k] : 0.f;
      self->std[c] = std && n_norm ? std[k] : 1.f;
    }
  self->context = g_main_context_ref_thread_default ();
  make_subset (self, &self->sets[LATHE_STAGE_SUBSET]);
  make_full (self, &self->sets[LATHE_STAGE_FULL]);
  for (guint s = 0; s < 2; s++)
    self->sets[s].cuts = g_new0 (Cut, MAX (self->layers->len, 1));
  return g_steal_pointer (&self);
}

LatheModel *
lathe_session_get_model (LatheSession *self)
{
  return self->model;
}

LatheDataset *
lathe_session_get_dataset (LatheSession *self)
{
  return self->data;
}

GPtrArray *
lathe_session_get_layers (LatheSession *self)
{
  return self->layers;
}

static void
drop_cache (LatheSession *self)
{
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; self->sets[s].cuts != NULL && i < self->layers->len; i++)
      {
        g_clear_pointer (&self->sets[s].cuts[i].key, g_free);
        g_clear_pointer (&self->sets[s].cuts[i].data, g_free);
      }
  self->cache_bytes = 0;
}

void
lathe_session_set_subset_size (LatheSession *self,
                               guint         n)
{
  g_mutex_lock (&self->eval_lock);
  self->subset_size = MAX (n, 1);
  sample_set_clear (&self->sets[LATHE_STAGE_SUBSET], self->layers->len);
  drop_cache (self);
  make_subset (self, &self->sets[LATHE_STAGE_SUBSET]);
  self->sets[LATHE_STAGE_SUBSET].cuts = g_new0 (Cut, MAX (self->layers->len, 1));
  if (self->baseline != NULL)
    {
      /* derive the subset's baseline predictions from the full set's */
      SampleSet *sub = &self->sets[LATHE_STAGE_SUBSET];
      sub->baseline_pred = g_new (gint32, MAX (sub->n, 1));
      for (guint i = 0; i < sub->n; i++)
        sub->baseline_pred[i] = self->sets[LATHE_STAGE_FULL].baseline_pred[sub->indices[i]];
    }
  g_mutex_unlock (&self->eval_lock);
}

void
lathe_session_set_cache_budget (LatheSession *self,
                                gsize         bytes)
{
  g_mutex_lock (&self->eval_lock);
  self->cache_budget = bytes;
  if (self->cache_bytes > bytes)
    drop_cache (self);
  g_mutex_unlock (&self->eval_lock);
}

gsize
lathe_session_get_cache_bytes (LatheSession *self)
{
  return self->cache_bytes;
}

void
lathe_session_set_use_cache (LatheSession *self,
                             gboolean      use)
{
  g_mutex_lock (&self->eval_lock);
  self->use_cache = use;
  if (!use)
    drop_cache (self);
  g_mutex_unlock (&self->eval_lock);
}

/* The activations entering layer j depend on the settings of the layers
 * before it (and on the global switches); that is the cut's key. With
 * global sparsity every layer's ranking depends on every layer. */
static char *
settings_signature (const LatheLayerSettings *s)
{
  return g_strdup_printf ("%d/%s/%d/%d/%d/%d/%.17g/%d/%d:%d/%.17g/%d;",
                          s->bits, s->quantizer ? s->quantizer : "", s->granularity, s->group_size,
                          s->affine, s->scale, s->sparsity, s->pattern, s->nm_n, s->nm_m, s->width, s->skip);
}

static char **
cut_keys (LatheSession    *self,
          const LathePlan *plan)
{
  guint n = self->layers->len;
  char **keys = g_new0 (char *, n + 1);
  GString *acc = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new (NULL);
  g_autoptr(GList) names = g_list_sort (g_hash_table_get_keys (plan->params), (GCompareFunc) g_strcmp0);

  for (GList *l = names; l; l = l->next)
    g_string_append_printf (params, "%s=%s,", (char *) l->data, (char *) g_hash_table_lookup (plan->params, l->data));
  g_string_append_printf (acc, "fold=%d;global=%d;importance=%d:%s:%u;%s|", plan->fold_bn, plan->global_sparsity,
                          plan->activation_importance, plan->calibration ? plan->calibration : "",
                          plan->calibration_samples, params->str);
  if (plan->global_sparsity)
    for (guint i = 0; i < n; i++)
      {
        g_auto(LatheLayerSettings) s = { 0 };
        g_autofree char *sig = NULL;
        lathe_plan_resolve (plan, ((LatheLayer *) g_ptr_array_index (self->layers, i))->name, &s);
        sig = settings_signature (&s);
        g_string_append (acc, sig);
      }
  for (guint i = 0; i < n; i++)
    {
      g_auto(LatheLayerSettings) s = { 0 };
      g_autofree char *sig = NULL;

      keys[i] = g_strdup (acc->str);
      lathe_plan_resolve (plan, ((LatheLayer *) g_ptr_array_index (self->layers, i))->name, &s);
      sig = settings_signature (&s);
      g_string_append (acc, sig);
    }
  g_string_free (acc, TRUE);
  return keys;
}

/* For each layer: the value entering it in `graph` when that value is the
 * only one alive across the layer's node (a chain), else -1. */
static int *
find_cut_values (LatheSession *self,
                 LatheGraph   *graph)
{
  guint n = self->layers->len;
  int *cut = g_new (int, MAX (n, 1));
  g_autofree int *last_reader = g_new (int, graph->values->len);

  for (guint v = 0; v < graph->values->len; v++)
    last_reader[v] = -1;
  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      for (guint i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0)
          last_reader[node->inputs[i]] = (int) k;
    }
  for (guint i = 0; i < graph->outputs->len; i++)
    last_reader[g_array_index (graph->outputs, guint, i)] = G_MAXINT;

  for (guint l = 0; l < n; l++)
    {
      LatheLayer *layer = g_ptr_array_index (self->layers, l);
      int at = -1, entering;
      guint live = 0;

      cut[l] = -1;
      for (guint k = 0; k < graph->nodes->len && at < 0; k++)
        {
          LatheNode *node = lathe_graph_node (graph, k);
          if (node->n_inputs > 1 && node->inputs[1] == (int) layer->weight_id)
            at = (int) k;
        }
      if (at < 0)
        continue;
      entering = lathe_graph_node (graph, (guint) at)->inputs[0];
      for (guint v = 0; v < graph->values->len; v++)
        {
          LatheValue *value = lathe_graph_value (graph, v);
          if (value->kind == LATHE_VALUE_INITIALIZER)
            continue;
          /* produced before the node (or an input) and read at or after it */
          if ((value->kind == LATHE_VALUE_INPUT || (value->producer >= 0 && value->producer < at)) &&
              last_reader[v] >= at)
            live++;
        }
      if (live == 1 && lathe_graph_value (graph, (guint) entering)->kind != LATHE_VALUE_INITIALIZER)
        cut[l] = entering;
    }
  return cut;
}

static void
fill_inputs (LatheSession    *self,
             const SampleSet *set,
             guint            start,
             guint            count,
             float           *dst)
{
  gsize per = lathe_dataset_get_sample_size (self->data);

  if (set->contiguous)
    {
      lathe_dataset_fill_batch (self->data, set->indices[start], count, self->n_channels,
                                self->mean, self->std, dst);
      return;
    }
  for (guint i = 0; i < count; i++)
    lathe_dataset_fill_batch (self->data, set->indices[start + i], 1, self->n_channels,
                              self->mean, self->std, dst + i * per);
}

/* Runs `graph` over a sample set; with a usable cached cut it starts there.
 * Captures the activations at cuts after the start, within the budget. */
static gboolean
run_set (LatheSession   *self,
         LatheGraph     *graph,
         SampleSet      *set,
         char          **keys,      /* NULL: no caching (baseline) */
         LatheMetrics  **metrics_out,
         gint32         *pred_out,
         gboolean       *from_cache,
         GCancellable   *cancellable,
         GError        **error)
{
  g_autoptr(LatheExecutor) exec = lathe_executor_new (graph);
  g_autoptr(LatheTensor) meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);
  g_autofree int *cut = keys ? find_cut_values (self, graph) : NULL;
  g_autoptr(GArray) keep = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree gboolean *capture = g_new0 (gboolean, MAX (self->layers->len, 1));
  g_autofree float **fresh = g_new0 (float *, MAX (self->layers->len, 1));
  g_autofree gsize *fresh_per = g_new0 (gsize, MAX (self->layers->len, 1));
  LatheMetrics *metrics = NULL;
  int start_cut = -1;
  gboolean ok = FALSE;

  *from_cache = FALSE;
  if (keys != NULL && self->use_cache)
    {
      for (int l = (int) self->layers->len - 1; l >= 0 && start_cut < 0; l--)
        if (cut[l] >= 0 && set->cuts[l].data != NULL && g_strcmp0 (set->cuts[l].key, keys[l]) == 0)
          start_cut = l;
      for (guint l = 0; l < self->layers->len; l++)
        if (cut[l] >= 0 && (int) l > start_cut && g_strcmp0 (set->cuts[l].key, keys[l]) != 0)
          {
            capture[l] = TRUE;
            g_array_append_val (keep, cut[l]);
          }
      if (start_cut >= 0)
        g_array_append_val (keep, cut[start_cut]);
      lathe_executor_set_keep (exec, (guint *) keep->data, keep->len);
    }

  for (guint start = 0; start < set->n; start += SESSION_BATCH)
    {
      guint count = MIN (SESSION_BATCH, set->n - start);
      LatheTensor *out;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      if (!lathe_graph_input_shape_for_batch (graph, 0, count, meta, error) ||
          !lathe_executor_prepare (exec, 1, &meta, error))
        goto out;

      if (start_cut >= 0)
        {
          Cut *c = &set->cuts[start_cut];
          LatheTensor *t = lathe_executor_get_value (exec, (guint) cut[start_cut]);
          g_assert (t->n == count * c->per_sample);
          memcpy (t->data, c->data + (gsize) start * c->per_sample, t->n * sizeof (float));
          if (!lathe_executor_execute_from (exec, (guint) cut[start_cut], error))
            goto out;
          *from_cache = TRUE;
        }
      else
        {
          fill_inputs (self, set, start, count, lathe_executor_get_input (exec, 0)->data);
          if (!lathe_executor_execute (exec, error))
            goto out;
        }

      for (guint l = 0; l < self->layers->len; l++)
        {
          LatheTensor *t;
          if (!capture[l])
            continue;
          t = lathe_executor_get_value (exec, (guint) cut[l]);
          if (fresh[l] == NULL)
            {
              gsize bytes;
              fresh_per[l] = t->n / count;
              bytes = (gsize) set->n * fresh_per[l] * sizeof (float);
              /* Over budget: this cut is not kept; changes before it
               * re-run from an earlier cut or from the input. */
              if (self->cache_bytes + bytes > self->cache_budget)
                {
                  capture[l] = FALSE;
                  continue;
                }
              self->cache_bytes += bytes;
              fresh[l] = g_malloc (bytes);
            }
          memcpy (fresh[l] + (gsize) start * fresh_per[l], t->data, t->n * sizeof (float));
        }

      out = lathe_executor_get_output (exec, 0);
      if (out->dtype != LATHE_DTYPE_FLOAT || out->ndim != 2)
        {
          g_set_error (error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                       "the model's first output is not float scores [batch, classes]");
          goto out;
        }
      if (metrics == NULL)
        metrics = lathe_metrics_new (MAX ((guint) out->dims[1], lathe_dataset_get_n_classes (self->data)));
      lathe_metrics_add_batch (metrics, out->data, count, (guint) out->dims[1],
                               set->labels + start,
                               set->baseline_pred ? set->baseline_pred + start : NULL,
                               pred_out ? pred_out + start : NULL);
    }

  /* Commit the captured cuts under the new plan's keys. */
  for (guint l = 0; l < self->layers->len; l++)
    if (capture[l] && fresh[l] != NULL)
      {
        Cut *c = &set->cuts[l];
        if (c->data != NULL)
          self->cache_bytes -= (gsize) set->n * c->per_sample * sizeof (float);
        g_free (c->data);
        g_free (c->key);
        c->data = g_steal_pointer (&fresh[l]);
        c->per_sample = fresh_per[l];
        c->key = g_strdup (keys[l]);
      }
  *metrics_out = g_steal_pointer (&metrics);
  ok = TRUE;

out:
  for (guint l = 0; l < self->layers->len; l++)
    if (fresh[l] != NULL)
      {
        self->cache_bytes -= (gsize) set->n * fresh_per[l] * sizeof (float);
        g_free (fresh[l]);
      }
  g_clear_pointer (&metrics, lathe_metrics_free);
  return ok;
}

static LatheSessionResult *
baseline_locked (LatheSession  *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  SampleSet *full = &self->sets[LATHE_STAGE_FULL];
  SampleSet *sub = &self->sets[LATHE_STAGE_SUBSET];
  g_autoptr(LatheMetrics) m = NULL;
  g_autofree gint32 *pred = NULL;
  gboolean cached;
  gint64 t0 = g_get_monotonic_time ();
  LatheMacs macs;

  if (self->baseline != NULL)
    return lathe_session_result_ref (self->baseline);

  pred = g_new0 (gint32, MAX (full->n, 1));
  if (!run_set (self, lathe_model_get_graph (self->model), full, NULL, &m, pred, &cached, cancellable, error) ||
      !lathe_graph_count_macs (lathe_model_get_graph (self->model), 0, NULL, &macs, error))
    return NULL;
  full->baseline_pred = g_steal_pointer (&pred);
  sub->baseline_pred = g_new (gint32, MAX (sub->n, 1));
  for (guint i = 0; i < sub->n; i++)
    sub->baseline_pred[i] = full->baseline_pred[sub->indices[i]];

  self->baseline = result_new (m, LATHE_STAGE_FULL, 0);
  self->baseline->baseline_bytes = self->baseline->packed_bytes =
    lathe_graph_stored_bytes (lathe_model_get_graph (self->model));
  self->baseline->seconds = (g_get_monotonic_time () - t0) / 1e6;
  self->baseline->seconds_per_sample = self->baseline->seconds / MAX (full->n, 1);
  self->baseline->macs = macs.macs;
  self->baseline->macs_nonzero = macs.macs_nonzero;
  return lathe_session_result_ref (self->baseline);
}

LatheSessionResult *
lathe_session_get_baseline (LatheSession  *self,
                            GCancellable  *cancellable,
                            GError       **error)
{
  LatheSessionResult *r;

  g_mutex_lock (&self->eval_lock);
  r = baseline_locked (self, cancellable, error);
  g_mutex_unlock (&self->eval_lock);
  return r;
}

static LatheSessionResult *
evaluate_locked (LatheSession    *self,
                 const LathePlan *plan,
                 LatheStage       stage,
                 guint64          generation,
                 GCancellable    *cancellable,
                 GError         **error)
{
  g_autoptr(LatheSessionResult) base = NULL;
  g_autoptr(LatheApplied) applied = NULL;
  g_autoptr(LatheMetrics) m = NULL;
  g_auto(GStrv) keys = NULL;
  LatheSessionResult *r;
  LatheApplyOptions options = { 0 };
  gboolean cached = FALSE;
  gint64 t0 = g_get_monotonic_time ();
  gint64 t_eval;
  LatheMacs macs;

  if (!(base = baseline_locked (self, cancellable, error)))
    return NULL;
  if (plan->activation_importance)
    {
      const char *spec = plan->calibration ? plan->calibration : "fashion-mnist:train";

      /* Loaded once per spec; the engine refuses the evaluation set. */
      if (g_strcmp0 (spec, self->calibration_spec) != 0)
        {
          g_clear_object (&self->calibration);
          g_clear_pointer (&self->calibration_spec, g_free);
          if (!(self->calibration = lathe_dataset_new_from_spec (spec, cancellable, error)))
            return NULL;
          self->calibration_spec = g_strdup (spec);
        }
      options.importance = LATHE_IMPORTANCE_ACTIVATION;
      options.calibration = self->calibration;
      options.calibration_samples = plan->calibration_samples;
      options.mean = self->mean;
      options.std = self->std;
      options.n_norm = self->n_channels;
      options.evaluation_sha256 = lathe_dataset_get_sha256 (self->data);
    }
  if (!(applied = lathe_apply_plan_full (lathe_model_get_graph (self->model), self->layers, plan, &options,
                                         self->apply_cache, error)))
    return NULL;
  keys = cut_keys (self, plan);
  t_eval = g_get_monotonic_time ();
  if (!run_set (self, applied->graph, &self->sets[stage], keys, &m, NULL, &cached, cancellable, error))
    return NULL;
  t_eval = g_get_monotonic_time () - t_eval;
  if (!lathe_graph_count_macs (applied->graph, 0, NULL, &macs, error))
    return NULL;

  r = result_new (m, stage, generation);
  r->packed_bytes = applied->packed_bytes;
  r->baseline_bytes = applied->baseline_bytes;
  r->from_cache = cached;
  r->applied = g_steal_pointer (&applied);
  r->seconds = (g_get_monotonic_time () - t0) / 1e6;
  r->seconds_per_sample = t_eval / 1e6 / MAX (r->n_samples, 1);
  r->macs = macs.macs;
  r->macs_nonzero = macs.macs_nonzero;
  if (stage == LATHE_STAGE_FULL)
    {
      g_autoptr(GError) export_error = NULL;
      g_autoptr(GBytes) onnx = lathe_export_onnx (r->applied, self->layers, NULL, NULL, &export_error);

      /* The packed size stands without it; the file size is a bonus. */
      if (onnx != NULL)
        r->onnx_bytes = g_bytes_get_size (onnx);
      else
        g_debug ("No ONNX size for plan %" G_GUINT64_FORMAT ": %s", generation, export_error->message);
    }
  return r;
}

LatheSessionResult *
lathe_session_evaluate (LatheSession    *self,
                        const LathePlan *plan,
                        LatheStage       stage,
                        GCancellable    *cancellable,
                        GError         **error)
{
  LatheSessionResult *r;

  g_return_val_if_fail (LATHE_IS_SESSION (self), NULL);
  g_mutex_lock (&self->eval_lock);
  r = evaluate_locked (self, plan, stage, 0, cancellable, error);
  g_mutex_unlock (&self->eval_lock);
  return r;
}

/* ---------------------------------------------------------------------- */
/* The worker                                                              */

typedef struct {
  LatheSession       *session;
  LatheSessionResult *result;
  guint64             generation;
  char               *message;
} Delivery;

static void
delivery_free (gpointer data)
{
  Delivery *d = data;

  g_clear_pointer (&d->result, lathe_session_result_unref);
  g_object_unref (d->session);
  g_free (d->message);
  g_free (d);
}

static gboolean
deliver (gpointer data)
{
  Delivery *d = data;
  LatheSession *self = d->session;
  guint64 latest;

  g_mutex_lock (&self->lock);
  latest = self->generation;
  g_mutex_unlock (&self->lock);

  /* A superseded plan's figures would only flicker. */
  if ((d->result ? d->result->generation : d->generation) < latest)
    return G_SOURCE_REMOVE;
  if (d->result != NULL)
    g_signal_emit (self, signals[SIGNAL_RESULT], 0, d->result);
  else
    g_signal_emit (self, signals[SIGNAL_FAILED], 0, d->generation, d->message);
  return G_SOURCE_REMOVE;
}

static void
post (LatheSession       *self,
      LatheSessionResult *result,
      guint64             generation,
      const char         *message)
{
  Delivery *d = g_new0 (Delivery, 1);

  d->session = g_object_ref (self);
  d->result = result ? lathe_session_result_ref (result) : NULL;
  d->generation = generation;
  d->message = g_strdup (message);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, deliver, d, delivery_free);
}

static gpointer
worker_main (gpointer data)
{
  LatheSession *self = data;

  for (;;)
    {
      g_autoptr(LathePlan) plan = NULL;
      g_autoptr(GCancellable) cancellable = NULL;
      guint64 generation;

      g_mutex_lock (&self->lock);
      while (self->pending == NULL && !self->quit)
        g_cond_wait (&self->cond, &self->lock);
      if (self->quit)
        {
          g_mutex_unlock (&self->lock);
          break;
        }
      plan = g_steal_pointer (&self->pending);
      generation = self->pending_generation;
      cancellable = g_cancellable_new ();
      self->running = g_object_ref (cancellable);
      self->busy = TRUE;
      g_mutex_unlock (&self->lock);

      for (LatheStage stage = LATHE_STAGE_SUBSET; stage <= LATHE_STAGE_FULL; stage++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(LatheSessionResult) r = NULL;

          g_mutex_lock (&self->eval_lock);
          r = evaluate_locked (self, plan, stage, generation, cancellable, &error);
          g_mutex_unlock (&self->eval_lock);
          if (r != NULL)
            post (self, r, generation, NULL);
          else
            {
              if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                post (self, NULL, generation, error->message);
              break;
            }
        }

      g_mutex_lock (&self->lock);
      g_clear_object (&self->running);
      self->busy = FALSE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
    }
  return NULL;
}

guint64
lathe_session_set_plan (LatheSession    *self,
                        const LathePlan *plan)
{
  guint64 generation;

  g_return_val_if_fail (LATHE_IS_SESSION (self), 0);

  g_mutex_lock (&self->lock);
  if (self->worker == NULL)
    self->worker = g_thread_new ("lathe-session", worker_main, self);
  generation = ++self->generation;
  g_clear_pointer (&self->pending, lathe_plan_free);
  self->pending = lathe_plan_copy (plan);
  self->pending_generation = generation;
  /* The running evaluation stops at its next batch. */
  if (self->running != NULL)
    g_cancellable_cancel (self->running);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return generation;
}

void
lathe_session_wait_idle (LatheSession *self)
{
  g_mutex_lock (&self->lock);
  while (self->pending != NULL || self->busy)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}
