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
      g_clear_pointer (&r->epoch_loss, g_array_unref);
      g_clear_pointer (&r->epoch_accuracy, g_array_unref);
      g_clear_pointer (&r->layers, g_ptr_array_unref);
      g_free (r->train_spec);
      g_free (r->train_sha256);
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
  r->untrained_accuracy = NAN;
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

  /* Training: its own worker and job queue (guarded by `lock`) */
  GThread            *train_worker;
  struct _TrainJob   *train_pending;
  GCancellable       *train_running;
  gboolean            train_busy;
  guint64             train_job;            /* the newest job issued */
  guint64             train_cancelled_upto; /* jobs up to this one are cancelled */
  GQueue              trained;              /* Trained*, newest first */
  /* coalesced progress of the newest job, for the main context */
  guint64             progress_job;
  LatheTrainProgress  progress_step;
  gboolean            progress_have_step;
  GArray             *progress_ends;
  gboolean            progress_scheduled;
  GMutex              train_data_lock;      /* loading the training split */
  LatheDataset       *train_data;
  char               *train_data_spec;
};

typedef struct _TrainJob {
  guint64            id;
  LathePlan         *plan;
  LatheTrainOptions  options;  /* datasets referenced, mean and std in `norm` */
  float             *norm;
  char              *train_spec;
} TrainJob;

typedef struct {
  char               *key;
  LatheSessionResult *result;
} Trained;

G_DEFINE_FINAL_TYPE (LatheSession, lathe_session, G_TYPE_OBJECT)

enum {
  SIGNAL_RESULT,
  SIGNAL_FAILED,
  SIGNAL_TRAIN_PROGRESS,
  SIGNAL_TRAIN_DONE,
  SIGNAL_TRAIN_FAILED,
  SIGNAL_TRAIN_CANCELLED,
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

static void train_job_free (TrainJob *job);

static void
trained_free (Trained *t)
{
  g_free (t->key);
  lathe_session_result_unref (t->result);
  g_free (t);
}

static void
lathe_session_dispose (GObject *object)
{
  LatheSession *self = LATHE_SESSION (object);

  if (self->train_worker != NULL)
    {
      g_mutex_lock (&self->lock);
      self->quit = TRUE;
      if (self->train_running)
        g_cancellable_cancel (self->train_running);
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      g_thread_join (g_steal_pointer (&self->train_worker));
    }

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
  g_clear_pointer (&self->train_pending, train_job_free);
  g_queue_clear_full (&self->trained, (GDestroyNotify) trained_free);
  g_clear_pointer (&self->progress_ends, g_array_unref);
  g_clear_object (&self->train_data);
  g_free (self->train_data_spec);
  g_mutex_clear (&self->train_data_lock);
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
  /* Training (see lathe_session_train()): (job, const LatheTrainProgress *) */
  signals[SIGNAL_TRAIN_PROGRESS] =
    g_signal_new ("train-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_POINTER);
  /* (job, the trained student on the full set) */
  signals[SIGNAL_TRAIN_DONE] =
    g_signal_new ("train-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, LATHE_TYPE_SESSION_RESULT);
  /* (job, message) */
  signals[SIGNAL_TRAIN_FAILED] =
    g_signal_new ("train-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_STRING);
  /* (job) */
  signals[SIGNAL_TRAIN_CANCELLED] =
    g_signal_new ("train-cancelled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
}

static void
lathe_session_init (LatheSession *self)
{
  g_mutex_init (&self->eval_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->train_data_lock);
  g_queue_init (&self->trained);
  self->progress_ends = g_array_new (FALSE, FALSE, sizeof (LatheTrainProgress));
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

guint
lathe_session_get_normalization (LatheSession  *self,
                                 const float  **mean,
                                 const float  **std)
{
  g_return_val_if_fail (LATHE_IS_SESSION (self), 0);

  if (mean != NULL)
    *mean = self->mean;
  if (std != NULL)
    *std = self->std;
  return self->n_channels;
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

static gboolean apply_options_locked (LatheSession *self, const LathePlan *plan, LatheApplyOptions *options,
                                      GCancellable *cancellable, GError **error);
static LatheSessionResult *measured (LatheSession *self, LatheApplied *applied_in, GPtrArray *layers,
                                     const LatheMetrics *m, LatheStage stage, guint64 generation,
                                     gboolean cached, gint64 t0, gint64 t_eval, GError **error);

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

  if (!(base = baseline_locked (self, cancellable, error)) ||
      !apply_options_locked (self, plan, &options, cancellable, error))
    return NULL;
  if (!(applied = lathe_apply_plan_full (lathe_model_get_graph (self->model), self->layers, plan, &options,
                                         self->apply_cache, error)))
    return NULL;
  keys = cut_keys (self, plan);
  t_eval = g_get_monotonic_time ();
  if (!run_set (self, applied->graph, &self->sets[stage], keys, &m, NULL, &cached, cancellable, error))
    return NULL;
  t_eval = g_get_monotonic_time () - t_eval;
  r = measured (self, g_steal_pointer (&applied), self->layers, m, stage, generation, cached, t0, t_eval, error);
  return r;
}

/* The apply options a plan asks for (activation importance needs the
 * calibration split, loaded once per spec). */
static gboolean
apply_options_locked (LatheSession      *self,
                      const LathePlan   *plan,
                      LatheApplyOptions *options,
                      GCancellable      *cancellable,
                      GError           **error)
{
  if (plan->activation_importance)
    {
      const char *spec = plan->calibration ? plan->calibration : "fashion-mnist:train";

      /* Loaded once per spec; the engine refuses the evaluation set. */
      if (g_strcmp0 (spec, self->calibration_spec) != 0)
        {
          g_clear_object (&self->calibration);
          g_clear_pointer (&self->calibration_spec, g_free);
          if (!(self->calibration = lathe_dataset_new_from_spec (spec, cancellable, error)))
            return FALSE;
          self->calibration_spec = g_strdup (spec);
        }
      options->importance = LATHE_IMPORTANCE_ACTIVATION;
      options->calibration = self->calibration;
      options->calibration_samples = plan->calibration_samples;
      options->mean = self->mean;
      options->std = self->std;
      options->n_norm = self->n_channels;
      options->evaluation_sha256 = lathe_dataset_get_sha256 (self->data);
    }
  return TRUE;
}

/* The result of `applied` (taken) measured as metrics `m`; `layers` are
 * those applied->results align with (for the ONNX size). */
static LatheSessionResult *
measured (LatheSession       *self,
          LatheApplied       *applied_in,
          GPtrArray          *layers,
          const LatheMetrics *m,
          LatheStage          stage,
          guint64             generation,
          gboolean            cached,
          gint64              t0,
          gint64              t_eval,
          GError            **error)
{
  g_autoptr(LatheApplied) applied = applied_in;
  LatheSessionResult *r;
  LatheMacs macs;

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
      g_autoptr(GBytes) onnx = lathe_export_onnx (r->applied, layers, NULL, NULL, &export_error);

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

/* ---------------------------------------------------------------------- */
/* Training                                                                */

#define TRAIN_SPEC_DEFAULT "fashion-mnist:train"

static void
train_job_free (TrainJob *job)
{
  lathe_plan_free (job->plan);
  g_clear_object (&job->options.train);
  g_clear_object (&job->options.evaluation);
  g_free (job->norm);
  g_free (job->train_spec);
  g_free (job);
}

static TrainJob *
train_job_new (const LathePlan         *plan,
               const LatheTrainOptions *options,
               const char              *train_spec)
{
  TrainJob *job = g_new0 (TrainJob, 1);

  job->plan = lathe_plan_copy (plan);
  if (options != NULL)
    job->options = *options;
  else
    lathe_train_options_init (&job->options);
  if (job->options.train)
    g_object_ref (job->options.train);
  if (job->options.evaluation)
    g_object_ref (job->options.evaluation);
  if (job->options.n_norm > 0 && job->options.mean != NULL && job->options.std != NULL)
    {
      guint n = job->options.n_norm;
      job->norm = g_new (float, 2 * n);
      memcpy (job->norm, job->options.mean, n * sizeof (float));
      memcpy (job->norm + n, job->options.std, n * sizeof (float));
      job->options.mean = job->norm;
      job->options.std = job->norm + n;
    }
  else
    {
      job->options.mean = job->options.std = NULL;
      job->options.n_norm = 0;
    }
  job->train_spec = g_strdup (train_spec);
  return job;
}

/* Everything the trained weights depend on: the resolved plan of every
 * layer, the options, the data. */
static char *
trained_key (LatheSession            *self,
             const LathePlan         *plan,
             const LatheTrainOptions *options,
             const char              *train_spec)
{
  LatheTrainOptions defaults;
  GString *key = g_string_new (NULL);
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *text = NULL;
  guint n = self->layers->len;

  if (options == NULL)
    {
      lathe_train_options_init (&defaults);
      options = &defaults;
    }
  if (n > 0)
    {
      g_auto(GStrv) keys = cut_keys (self, plan);
      g_auto(LatheLayerSettings) s = { 0 };
      g_autofree char *sig = NULL;

      lathe_plan_resolve (plan, ((LatheLayer *) g_ptr_array_index (self->layers, n - 1))->name, &s);
      sig = settings_signature (&s);
      g_string_append_printf (key, "%s%s|seed=%" G_GUINT64_FORMAT "|", keys[n - 1], sig, plan->seed);
    }
  json = lathe_train_options_to_json (options,
                                      options->train ? lathe_dataset_get_spec (options->train)
                                                     : train_spec ? train_spec : TRAIN_SPEC_DEFAULT,
                                      NULL);
  text = json_to_string (json, FALSE);
  g_string_append (key, text);
  g_string_append_printf (key, "|eval=%s:%u|norm=", options->evaluation ? lathe_dataset_get_spec (options->evaluation) : "",
                          options->eval_samples);
  for (guint i = 0; options->mean && options->std && i < options->n_norm; i++)
    g_string_append_printf (key, "%.9g/%.9g,", options->mean[i], options->std[i]);
  return g_string_free (key, FALSE);
}

static LatheSessionResult *
trained_lookup_key (LatheSession *self,
                    const char   *key)
{
  LatheSessionResult *r = NULL;

  g_mutex_lock (&self->lock);
  for (GList *l = self->trained.head; l; l = l->next)
    {
      Trained *t = l->data;
      if (strcmp (t->key, key) == 0)
        {
          r = lathe_session_result_ref (t->result);
          /* the most recently used stays longest */
          g_queue_unlink (&self->trained, l);
          g_queue_push_head_link (&self->trained, l);
          break;
        }
    }
  g_mutex_unlock (&self->lock);
  return r;
}

static void
trained_insert (LatheSession       *self,
                const char         *key,
                LatheSessionResult *r)
{
  Trained *t = g_new0 (Trained, 1);

  t->key = g_strdup (key);
  t->result = lathe_session_result_ref (r);
  g_mutex_lock (&self->lock);
  for (GList *l = self->trained.head; l; l = l->next)
    if (strcmp (((Trained *) l->data)->key, key) == 0)
      {
        trained_free (l->data);
        g_queue_delete_link (&self->trained, l);
        break;
      }
  g_queue_push_head (&self->trained, t);
  while (self->trained.length > LATHE_SESSION_TRAINED_MAX)
    trained_free (g_queue_pop_tail (&self->trained));
  g_mutex_unlock (&self->lock);
}

LatheSessionResult *
lathe_session_lookup_trained (LatheSession            *self,
                              const LathePlan         *plan,
                              const LatheTrainOptions *options,
                              const char              *train_spec)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (LATHE_IS_SESSION (self), NULL);
  g_return_val_if_fail (plan != NULL, NULL);

  key = trained_key (self, plan, options, train_spec);
  return trained_lookup_key (self, key);
}

/* The training split by spec, loaded once (a reference). */
static LatheDataset *
train_data_for (LatheSession  *self,
                const char    *spec,
                GCancellable  *cancellable,
                GError       **error)
{
  LatheDataset *data = NULL;

  g_mutex_lock (&self->train_data_lock);
  if (g_strcmp0 (spec, self->train_data_spec) != 0)
    {
      g_autoptr(LatheDataset) loaded = lathe_dataset_new_from_spec (spec, cancellable, error);
      if (loaded != NULL)
        {
          g_set_object (&self->train_data, loaded);
          g_free (self->train_data_spec);
          self->train_data_spec = g_strdup (spec);
        }
    }
  if (g_strcmp0 (spec, self->train_data_spec) == 0)
    data = g_object_ref (self->train_data);
  g_mutex_unlock (&self->train_data_lock);
  return data;
}

static LatheSessionResult *
train_job_run (LatheSession           *self,
               const TrainJob         *job,
               LatheTrainProgressFunc  progress,
               gpointer                progress_data,
               GCancellable           *cancellable,
               GError                **error)
{
  g_autoptr(LatheDataset) train = NULL;
  g_autoptr(LatheDataset) calibration = NULL;
  g_autoptr(LatheTrainResult) tr = NULL;
  g_autoptr(LatheSessionResult) base = NULL;
  g_autoptr(LatheMetrics) m = NULL;
  g_autofree char *key = trained_key (self, job->plan, &job->options, job->train_spec);
  LatheTrainOptions o = job->options;
  LatheApplyOptions apply_options = { 0 };
  LatheSessionResult *r;
  gboolean cached = FALSE;
  gint64 t0, t_eval;

  if (o.train == NULL)
    {
      if (!(train = train_data_for (self, job->train_spec ? job->train_spec : TRAIN_SPEC_DEFAULT, cancellable, error)))
        return NULL;
      o.train = train;
    }
  if (o.evaluation == NULL)
    o.evaluation = self->data;
  if (o.mean == NULL)
    {
      o.mean = self->mean;
      o.std = self->std;
      o.n_norm = self->n_channels;
    }

  /* The calibration split is the session's; keep it alive while training
   * even if an evaluation switches to another spec meanwhile. */
  g_mutex_lock (&self->eval_lock);
  if (!apply_options_locked (self, job->plan, &apply_options, cancellable, error))
    {
      g_mutex_unlock (&self->eval_lock);
      return NULL;
    }
  if (apply_options.calibration)
    calibration = g_object_ref (apply_options.calibration);
  g_mutex_unlock (&self->eval_lock);

  if (!(tr = lathe_distill (lathe_model_get_graph (self->model), self->layers, job->plan, &apply_options, &o,
                            progress, progress_data, cancellable, error)))
    return NULL;

  /* Measured like a plan on the full set; no activation cache: nothing of
   * the trained weights is shared with other plans. */
  t0 = g_get_monotonic_time ();
  g_mutex_lock (&self->eval_lock);
  base = baseline_locked (self, cancellable, error);
  t_eval = g_get_monotonic_time ();
  if (base == NULL ||
      !run_set (self, tr->applied->graph, &self->sets[LATHE_STAGE_FULL], NULL, &m, NULL, &cached,
                cancellable, error))
    {
      g_mutex_unlock (&self->eval_lock);
      return NULL;
    }
  t_eval = g_get_monotonic_time () - t_eval;
  r = measured (self, g_steal_pointer (&tr->applied), tr->layers, m, LATHE_STAGE_FULL, 0, FALSE, t0, t_eval, error);
  g_mutex_unlock (&self->eval_lock);
  if (r == NULL)
    return NULL;
  /* Compression is against the teacher, as for untrained plans. */
  r->baseline_bytes = base->baseline_bytes;
  r->trained = TRUE;
  r->epoch_loss = g_array_ref (tr->epoch_loss);
  r->epoch_accuracy = g_array_ref (tr->epoch_accuracy);
  r->untrained_accuracy = tr->untrained_accuracy;
  r->train_options = job->options;
  r->train_options.train = r->train_options.evaluation = NULL;
  r->train_options.mean = r->train_options.std = NULL;
  r->train_options.n_norm = 0;
  r->train_spec = g_strdup (lathe_dataset_get_spec (o.train));
  r->train_sha256 = g_strdup (lathe_dataset_get_sha256 (o.train));
  r->layers = g_steal_pointer (&tr->layers);
  r->train_steps = tr->steps;
  r->train_seconds = tr->seconds;
  r->train_samples_per_second = tr->samples_per_second;
  trained_insert (self, key, r);
  return r;
}

LatheSessionResult *
lathe_session_train_sync (LatheSession            *self,
                          const LathePlan         *plan,
                          const LatheTrainOptions *options,
                          const char              *train_spec,
                          LatheTrainProgressFunc   progress,
                          gpointer                 progress_data,
                          GCancellable            *cancellable,
                          GError                 **error)
{
  TrainJob *job;
  LatheSessionResult *r;

  g_return_val_if_fail (LATHE_IS_SESSION (self), NULL);
  g_return_val_if_fail (plan != NULL, NULL);

  job = train_job_new (plan, options, train_spec);
  r = train_job_run (self, job, progress, progress_data, cancellable, error);
  train_job_free (job);
  return r;
}

/* Deliveries to the main context */

typedef enum {
  TRAIN_DONE,
  TRAIN_FAILED,
  TRAIN_CANCELLED,
} TrainOutcome;

typedef struct {
  LatheSession       *session;
  guint64             job;
  TrainOutcome        outcome;
  LatheSessionResult *result;
  char               *message;
} TrainDelivery;

static void
train_delivery_free (gpointer data)
{
  TrainDelivery *d = data;

  g_clear_pointer (&d->result, lathe_session_result_unref);
  g_object_unref (d->session);
  g_free (d->message);
  g_free (d);
}

static gboolean
train_deliver (gpointer data)
{
  TrainDelivery *d = data;
  LatheSession *self = d->session;
  gboolean cancelled;

  g_mutex_lock (&self->lock);
  cancelled = d->job <= self->train_cancelled_upto;
  g_mutex_unlock (&self->lock);

  /* A job cancelled after it finished still reads as cancelled: the caller
   * has moved on. */
  if (cancelled || d->outcome == TRAIN_CANCELLED)
    g_signal_emit (self, signals[SIGNAL_TRAIN_CANCELLED], 0, d->job);
  else if (d->outcome == TRAIN_DONE)
    g_signal_emit (self, signals[SIGNAL_TRAIN_DONE], 0, d->job, d->result);
  else
    g_signal_emit (self, signals[SIGNAL_TRAIN_FAILED], 0, d->job, d->message);
  return G_SOURCE_REMOVE;
}

static void
train_post (LatheSession       *self,
            guint64             job,
            TrainOutcome        outcome,
            LatheSessionResult *result,
            const char         *message)
{
  TrainDelivery *d = g_new0 (TrainDelivery, 1);

  d->session = g_object_ref (self);
  d->job = job;
  d->outcome = outcome;
  d->result = result ? lathe_session_result_ref (result) : NULL;
  d->message = g_strdup (message);
  /* Always through an idle, never g_main_context_invoke(): cancelling a
   * job that has not started posts from the main thread with `lock` held,
   * and an invoke would run train_deliver() at once, which takes `lock`. */
  {
    g_autoptr(GSource) source = g_idle_source_new ();

    g_source_set_priority (source, G_PRIORITY_DEFAULT);
    g_source_set_callback (source, train_deliver, d, train_delivery_free);
    g_source_set_static_name (source, "[lathe] train delivery");
    g_source_attach (source, self->context);
  }
}

static gint
progress_compare (gconstpointer a,
                  gconstpointer b)
{
  const LatheTrainProgress *pa = a, *pb = b;

  return pa->global_step < pb->global_step ? -1 : pa->global_step > pb->global_step;
}

static gboolean
progress_deliver (gpointer data)
{
  LatheSession *self = data;
  g_autoptr(GArray) batch = g_array_new (FALSE, FALSE, sizeof (LatheTrainProgress));
  guint64 job;
  gboolean current;

  g_mutex_lock (&self->lock);
  job = self->progress_job;
  g_array_append_vals (batch, self->progress_ends->data, self->progress_ends->len);
  g_array_set_size (self->progress_ends, 0);
  if (self->progress_have_step)
    {
      gboolean covered = FALSE;
      /* a step an epoch end already reports adds nothing */
      for (guint i = 0; i < batch->len; i++)
        covered |= g_array_index (batch, LatheTrainProgress, i).global_step >= self->progress_step.global_step;
      if (!covered)
        g_array_append_val (batch, self->progress_step);
    }
  self->progress_have_step = FALSE;
  self->progress_scheduled = FALSE;
  current = job == self->train_job && job > self->train_cancelled_upto;
  g_mutex_unlock (&self->lock);

  g_array_sort (batch, progress_compare);
  for (guint i = 0; current && i < batch->len; i++)
    g_signal_emit (self, signals[SIGNAL_TRAIN_PROGRESS], 0, job, &g_array_index (batch, LatheTrainProgress, i));
  return G_SOURCE_REMOVE;
}

typedef struct {
  LatheSession *session;
  guint64       job;
} ProgressTarget;

/* On the training worker after every step: one pending idle at a time. */
static void
on_train_progress (const LatheTrainProgress *p,
                   gpointer                  user_data)
{
  ProgressTarget *t = user_data;
  LatheSession *self = t->session;
  gboolean schedule;

  g_mutex_lock (&self->lock);
  if (self->progress_job != t->job)
    {
      self->progress_job = t->job;
      g_array_set_size (self->progress_ends, 0);
      self->progress_have_step = FALSE;
    }
  if (p->epoch_end)
    g_array_append_val (self->progress_ends, *p);
  else
    {
      self->progress_step = *p;
      self->progress_have_step = TRUE;
    }
  schedule = !self->progress_scheduled;
  self->progress_scheduled = TRUE;
  g_mutex_unlock (&self->lock);
  if (schedule)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, progress_deliver,
                                g_object_ref (self), g_object_unref);
}

static gpointer
train_worker_main (gpointer data)
{
  LatheSession *self = data;

  for (;;)
    {
      g_autoptr(GCancellable) cancellable = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheSessionResult) r = NULL;
      TrainJob *job;
      ProgressTarget target;

      g_mutex_lock (&self->lock);
      while (self->train_pending == NULL && !self->quit)
        g_cond_wait (&self->cond, &self->lock);
      if (self->quit)
        {
          g_mutex_unlock (&self->lock);
          break;
        }
      job = g_steal_pointer (&self->train_pending);
      cancellable = g_cancellable_new ();
      self->train_running = g_object_ref (cancellable);
      self->train_busy = TRUE;
      g_mutex_unlock (&self->lock);

      target.session = self;
      target.job = job->id;
      r = train_job_run (self, job, on_train_progress, &target, cancellable, &error);
      if (r != NULL)
        train_post (self, job->id, TRAIN_DONE, r, NULL);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
               g_error_matches (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_CANCELLED))
        train_post (self, job->id, TRAIN_CANCELLED, NULL, NULL);
      else
        train_post (self, job->id, TRAIN_FAILED, NULL, error->message);
      train_job_free (job);

      g_mutex_lock (&self->lock);
      g_clear_object (&self->train_running);
      self->train_busy = FALSE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
    }
  return NULL;
}

/* With `lock` held: stops what runs or waits. */
static void
cancel_training_locked (LatheSession *self)
{
  if (self->train_pending != NULL)
    {
      /* never started: it still gets its answer */
      train_post (self, self->train_pending->id, TRAIN_CANCELLED, NULL, NULL);
      g_clear_pointer (&self->train_pending, train_job_free);
    }
  if (self->train_running != NULL)
    g_cancellable_cancel (self->train_running);
  self->train_cancelled_upto = self->train_job;
}

guint64
lathe_session_train (LatheSession            *self,
                     const LathePlan         *plan,
                     const LatheTrainOptions *options,
                     const char              *train_spec)
{
  TrainJob *job;
  guint64 id;

  g_return_val_if_fail (LATHE_IS_SESSION (self), 0);
  g_return_val_if_fail (plan != NULL, 0);

  job = train_job_new (plan, options, train_spec);
  g_mutex_lock (&self->lock);
  if (self->train_worker == NULL)
    self->train_worker = g_thread_new ("lathe-train", train_worker_main, self);
  cancel_training_locked (self);
  id = job->id = ++self->train_job;
  self->train_pending = job;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return id;
}

void
lathe_session_cancel_training (LatheSession *self)
{
  g_return_if_fail (LATHE_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  cancel_training_locked (self);
  g_mutex_unlock (&self->lock);
}

void
lathe_session_wait_training (LatheSession *self)
{
  g_return_if_fail (LATHE_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  while (self->train_pending != NULL || self->train_busy)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}
