/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-train"

#include <math.h>
#include <string.h>

#include "compress/lathe-quant.h"
#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "lathe-train-kernels.h"
#include "lathe-train.h"

/* ---------------------------------------------------------------------- */
/* Names                                                                   */

static const char * const mode_names[] = { "distill", "finetune", "qat" };
static const char * const optimizer_names[] = { "sgd", "adam" };
static const char * const schedule_names[] = { "constant", "cosine" };

G_STATIC_ASSERT (G_N_ELEMENTS (mode_names) == LATHE_TRAIN_QAT + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (optimizer_names) == LATHE_OPTIMIZER_ADAM + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (schedule_names) == LATHE_SCHEDULE_COSINE + 1);

static gboolean
name_lookup (const char * const *names, guint n, const char *text, int *out)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (names[i], text) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

const char *
lathe_train_mode_to_string (LatheTrainMode mode)
{
  g_return_val_if_fail (mode <= LATHE_TRAIN_QAT, NULL);
  return mode_names[mode];
}

gboolean
lathe_train_mode_from_string (const char *text, LatheTrainMode *mode)
{
  int v;
  if (!name_lookup (mode_names, G_N_ELEMENTS (mode_names), text, &v))
    return FALSE;
  *mode = (LatheTrainMode) v;
  return TRUE;
}

const char *
lathe_optimizer_to_string (LatheOptimizerKind kind)
{
  g_return_val_if_fail (kind <= LATHE_OPTIMIZER_ADAM, NULL);
  return optimizer_names[kind];
}

gboolean
lathe_optimizer_from_string (const char *text, LatheOptimizerKind *kind)
{
  int v;
  if (!name_lookup (optimizer_names, G_N_ELEMENTS (optimizer_names), text, &v))
    return FALSE;
  *kind = (LatheOptimizerKind) v;
  return TRUE;
}

const char *
lathe_schedule_to_string (LatheSchedule schedule)
{
  g_return_val_if_fail (schedule <= LATHE_SCHEDULE_COSINE, NULL);
  return schedule_names[schedule];
}

gboolean
lathe_schedule_from_string (const char *text, LatheSchedule *schedule)
{
  int v;
  if (!name_lookup (schedule_names, G_N_ELEMENTS (schedule_names), text, &v))
    return FALSE;
  *schedule = (LatheSchedule) v;
  return TRUE;
}

void
lathe_train_options_init (LatheTrainOptions *options)
{
  memset (options, 0, sizeof *options);
  options->mode = LATHE_TRAIN_DISTILL;
  options->epochs = LATHE_TRAIN_EPOCHS_DEFAULT;
  options->batch = LATHE_TRAIN_BATCH_DEFAULT;
  options->lr = LATHE_TRAIN_LR_DEFAULT;
  options->momentum = LATHE_TRAIN_MOMENTUM_DEFAULT;
  options->temperature = LATHE_TRAIN_TEMPERATURE_DEFAULT;
  options->alpha = LATHE_TRAIN_ALPHA_DEFAULT;
  options->optimizer = LATHE_OPTIMIZER_ADAM;
  options->schedule = LATHE_SCHEDULE_COSINE;
  options->eval_samples = LATHE_TRAIN_EVAL_SAMPLES_DEFAULT;
}

JsonNode *
lathe_train_options_to_json (const LatheTrainOptions *o,
                             const char              *data_spec,
                             const char              *data_sha256)
{
  g_autoptr(JsonObject) obj = json_object_new ();

  json_object_set_string_member (obj, "method", lathe_train_mode_to_string (o->mode));
  json_object_set_int_member (obj, "epochs", o->epochs);
  json_object_set_double_member (obj, "temperature", o->temperature);
  json_object_set_double_member (obj, "alpha", o->alpha);
  json_object_set_double_member (obj, "lr", o->lr);
  json_object_set_int_member (obj, "batch", o->batch);
  json_object_set_int_member (obj, "seed", (gint64) o->seed);
  if (data_spec != NULL)
    json_object_set_string_member (obj, "data", data_spec);
  if (data_sha256 != NULL)
    json_object_set_string_member (obj, "data_sha256", data_sha256);
  json_object_set_int_member (obj, "limit", o->train_limit);
  json_object_set_string_member (obj, "optimizer", lathe_optimizer_to_string (o->optimizer));
  if (o->optimizer == LATHE_OPTIMIZER_SGD)
    json_object_set_double_member (obj, "momentum", o->momentum);
  json_object_set_double_member (obj, "weight_decay", o->weight_decay);
  json_object_set_string_member (obj, "schedule", lathe_schedule_to_string (o->schedule));
  return json_node_init_object (json_node_alloc (), obj);
}

static double
member_double (JsonObject *o, const char *key, double fallback)
{
  JsonNode *n = json_object_get_member (o, key);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : fallback;
}

static gint64
member_int (JsonObject *o, const char *key, gint64 fallback)
{
  JsonNode *n = json_object_get_member (o, key);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_int (n) : fallback;
}

static const char *
member_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

void
lathe_train_options_from_json (JsonNode           *training,
                               LatheTrainOptions  *o,
                               char              **data_spec,
                               char              **data_sha256)
{
  JsonObject *obj;
  const char *str;

  g_return_if_fail (training != NULL && JSON_NODE_HOLDS_OBJECT (training));
  obj = json_node_get_object (training);
  lathe_train_options_init (o);
  if ((str = member_string (obj, "method")) != NULL)
    lathe_train_mode_from_string (str, &o->mode);
  if ((str = member_string (obj, "optimizer")) != NULL)
    lathe_optimizer_from_string (str, &o->optimizer);
  if ((str = member_string (obj, "schedule")) != NULL)
    lathe_schedule_from_string (str, &o->schedule);
  o->epochs = (guint) CLAMP (member_int (obj, "epochs", o->epochs), 0, G_MAXUINT);
  o->batch = (guint) CLAMP (member_int (obj, "batch", o->batch), 0, G_MAXUINT);
  o->seed = (guint64) member_int (obj, "seed", 0);
  o->train_limit = (guint) CLAMP (member_int (obj, "limit", 0), 0, G_MAXUINT);
  o->temperature = member_double (obj, "temperature", o->temperature);
  o->alpha = member_double (obj, "alpha", o->alpha);
  o->lr = member_double (obj, "lr", o->lr);
  o->momentum = member_double (obj, "momentum", o->momentum);
  o->weight_decay = member_double (obj, "weight_decay", o->weight_decay);
  if (data_spec)
    *data_spec = g_strdup (member_string (obj, "data"));
  if (data_sha256)
    *data_sha256 = g_strdup (member_string (obj, "data_sha256"));
}

void
lathe_train_result_free (LatheTrainResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->applied, lathe_applied_free);
  g_clear_pointer (&result->layers, g_ptr_array_unref);
  g_clear_pointer (&result->epoch_loss, g_array_unref);
  g_clear_pointer (&result->epoch_accuracy, g_array_unref);
  g_free (result);
}

/* ---------------------------------------------------------------------- */
/* Optimisers and schedule                                                 */

struct _LatheOptimizer {
  LatheOptimizerKind kind;
  double             momentum;
  double             weight_decay;
  guint64            t;
  GHashTable        *state;          /* LatheTrainParam* → float[2n] (m, v) */
};

LatheOptimizer *
lathe_optimizer_new (LatheOptimizerKind kind,
                     double             momentum,
                     double             weight_decay)
{
  LatheOptimizer *self = g_new0 (LatheOptimizer, 1);
  self->kind = kind;
  self->momentum = momentum;
  self->weight_decay = weight_decay;
  self->state = g_hash_table_new_full (NULL, NULL, NULL, lathe_aligned_free);
  return self;
}

void
lathe_optimizer_free (LatheOptimizer *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->state);
  g_free (self);
}

void
lathe_optimizer_step (LatheOptimizer   *self,
                      LatheTrainParam **params,
                      guint             n_params,
                      double            lr)
{
  const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float bc1, bc2_sqrt, step_size;

  self->t++;
  bc1 = (float) (1.0 - pow (beta1, (double) self->t));
  bc2_sqrt = (float) sqrt (1.0 - pow (beta2, (double) self->t));
  step_size = (float) lr / bc1;

  for (guint i = 0; i < n_params; i++)
    {
      LatheTrainParam *p = params[i];
      float *state = g_hash_table_lookup (self->state, p);
      float *w = p->data, *g = p->grad;
      const float wd = (float) self->weight_decay, mu = (float) self->momentum, flr = (float) lr;

      if (state == NULL)
        {
          state = lathe_aligned_alloc0 (2 * MAX (p->n, 1) * sizeof (float));
          g_hash_table_insert (self->state, p, state);
        }
      if (p->mask != NULL)
        for (gsize k = 0; k < p->n; k++)
          if (!p->mask[k])
            g[k] = 0.f;

      if (self->kind == LATHE_OPTIMIZER_SGD)
        {
          float *buf = state;
          for (gsize k = 0; k < p->n; k++)
            {
              float d = g[k] + wd * w[k];
              if (mu != 0.f)
                d = buf[k] = mu * buf[k] + d;
              w[k] -= flr * d;
            }
        }
      else
        {
          float *m = state, *v = state + p->n;
          for (gsize k = 0; k < p->n; k++)
            {
              float d = g[k] + wd * w[k];
              m[k] = beta1 * m[k] + (1.f - beta1) * d;
              v[k] = beta2 * v[k] + (1.f - beta2) * d * d;
              w[k] -= step_size * m[k] / (sqrtf (v[k]) / bc2_sqrt + eps);
            }
        }
      if (p->mask != NULL)
        for (gsize k = 0; k < p->n; k++)
          if (!p->mask[k])
            w[k] = 0.f;
    }
}

double
lathe_schedule_lr (LatheSchedule schedule,
                   double        lr,
                   guint64       step,
                   guint64       steps)
{
  if (schedule == LATHE_SCHEDULE_CONSTANT || steps == 0)
    return lr;
  return 0.5 * lr * (1.0 + cos (G_PI * (double) step / (double) steps));
}

/* ---------------------------------------------------------------------- */
/* Fake quantization (QAT)                                                 */

typedef struct {
  LatheTrainParam    *param;
  LatheLayerSettings  settings;
  gsize               rows, cols, spatial;
  gboolean            transposed;     /* weight stored [cols, rows] (MatMul, Gemm transB=0) */
  float              *scratch;
  guint8             *mask_t;
} FakeQuant;

static void
fake_quant_clear (gpointer data)
{
  FakeQuant *fq = data;
  lathe_layer_settings_clear (&fq->settings);
  lathe_aligned_free (fq->scratch);
  g_free (fq->mask_t);
}

/* forward = quantize(data), with the plan's uniform settings. */
static gboolean
fake_quant_apply (FakeQuant  *fq,
                  GError    **error)
{
  LatheTrainParam *p = fq->param;
  LatheWeightView view = { fq->transposed ? fq->scratch : p->forward, fq->rows, fq->cols, fq->spatial };

  if (fq->transposed)
    {
      for (gsize r = 0; r < fq->rows; r++)
        for (gsize c = 0; c < fq->cols; c++)
          fq->scratch[r * fq->cols + c] = p->data[c * fq->rows + r];
    }
  else
    memcpy (p->forward, p->data, p->n * sizeof (float));

  if (fq->settings.bits == 16)
    lathe_quant_fp16 (&view);
  else if (!lathe_quant_uniform (&view, fq->settings.bits, fq->settings.granularity, fq->settings.group_size,
                                 fq->settings.affine, fq->settings.scale,
                                 fq->transposed ? fq->mask_t : p->mask, NULL, error))
    return FALSE;

  if (fq->transposed)
    for (gsize r = 0; r < fq->rows; r++)
      for (gsize c = 0; c < fq->cols; c++)
        p->forward[c * fq->rows + r] = fq->scratch[r * fq->cols + c];
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* The loop                                                                */

static gboolean
check_options (const LatheTrainOptions *o,
               GError                 **error)
{
  const char *problem = NULL;

  if (o->train == NULL)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA,
                   "training needs a training split (for example fashion-mnist:train)");
      return FALSE;
    }
  if (o->epochs < 1 || o->epochs > 10000)
    problem = "epochs must be from 1 to 10000";
  else if (o->batch < 1 || o->batch > 65536)
    problem = "the training batch must be from 1 to 65536";
  else if (!(o->lr > 0 && o->lr <= 10))
    problem = "the learning rate must be above 0 and at most 10";
  else if (!(o->temperature > 0 && o->temperature <= 100))
    problem = "the temperature must be above 0 and at most 100";
  else if (!(o->alpha >= 0 && o->alpha <= 1))
    problem = "alpha must be from 0 to 1";
  else if (!(o->momentum >= 0 && o->momentum < 1))
    problem = "momentum must be from 0 to below 1";
  else if (!(o->weight_decay >= 0 && o->weight_decay < 1))
    problem = "weight decay must be from 0 to below 1";
  if (problem != NULL)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_INVALID, "%s", problem);
      return FALSE;
    }
  if (o->alpha < 1 && !lathe_dataset_has_labels (o->train))
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA,
                   "training data '%s' has no labels, but alpha %g < 1 gives hard labels a share of the loss; "
                   "use alpha 1 to learn from the teacher alone",
                   lathe_dataset_get_spec (o->train), o->alpha);
      return FALSE;
    }
  return TRUE;
}

/* The plan without its quantization: what the student starts from. */
static LathePlan *
student_plan (const LathePlan *plan)
{
  LathePlan *copy = lathe_plan_copy (plan);
  GHashTableIter iter;
  gpointer value;

  copy->defaults.bits = 32;
  g_hash_table_iter_init (&iter, copy->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((LatheLayerSettings *) value)->bits = 32;
  return copy;
}

/* The plan without its width (already in the student's shape). */
static LathePlan *
final_plan (const LathePlan *plan)
{
  LathePlan *copy = lathe_plan_copy (plan);
  GHashTableIter iter;
  gpointer value;

  copy->defaults.width = 1.0;
  copy->activation_importance = FALSE;
  g_hash_table_iter_init (&iter, copy->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LatheLayerSettings *s = value;
      s->width = 1.0;
      s->set &= ~(guint32) LATHE_FIELD_WIDTH;
    }
  return copy;
}

static gboolean
evaluate_subset (LatheTrainGraph          *tg,
                 const LatheTrainOptions  *o,
                 double                   *accuracy,
                 GCancellable             *cancellable,
                 GError                  **error)
{
  g_autoptr(LatheGraph) g = NULL;
  LatheEvalOptions eo = { 0 };
  LatheEvalResult r = { 0 };

  *accuracy = NAN;
  if (o->evaluation == NULL)
    return TRUE;
  if (!(g = lathe_train_graph_export (tg, FALSE, error)))
    return FALSE;
  eo.limit = o->eval_samples;
  eo.mean = o->mean;
  eo.std = o->std;
  eo.n_norm = o->n_norm;
  if (!lathe_evaluate (g, o->evaluation, &eo, NULL, NULL, NULL, cancellable, &r, error))
    return FALSE;
  *accuracy = lathe_metrics_accuracy (r.metrics);
  lathe_eval_result_clear (&r);
  return TRUE;
}

/* The plan's pruning and quantization on the trained weights. */
static gboolean
finish_result (LatheTrainGraph   *tg,
               LatheApplied      *student,
               const LathePlan   *plan,
               LatheTrainResult  *result,
               GError           **error)
{
  g_autoptr(LathePlan) fplan = final_plan (plan);
  g_autoptr(LatheGraph) trained = NULL;

  if (!(trained = lathe_train_graph_export (tg, TRUE, error)) ||
      !(result->layers = lathe_find_layers (trained, error)) ||
      !(result->applied = lathe_apply_plan_full (trained, result->layers, fplan, NULL, NULL, error)))
    return FALSE;
  result->applied->baseline_bytes = student->baseline_bytes;
  for (guint i = 0; i < result->applied->results->len; i++)
    {
      LatheLayerResult *r = g_ptr_array_index (result->applied->results, i);
      for (guint k = 0; k < student->results->len; k++)
        {
          LatheLayerResult *sr = g_ptr_array_index (student->results, k);
          if (g_str_equal (sr->name, r->name))
            {
              r->rows_before = sr->rows_before;
              r->original_bytes = sr->original_bytes;
              r->bn_folded = sr->bn_folded;
              break;
            }
        }
    }
  return TRUE;
}

LatheTrainResult *
lathe_distill_full (LatheGraph               *teacher,
                    GPtrArray                *layers,
                    const LathePlan          *plan,
                    const LatheApplyOptions  *apply_options,
                    const LatheTrainOptions  *o,
                    LatheTrainProgressFunc    progress,
                    gpointer                  progress_data,
                    GCancellable             *cancellable,
                    LatheTrainResult        **partial,
                    GError                  **error)
{
  g_autoptr(LatheTrainResult) result = g_new0 (LatheTrainResult, 1);
  g_autoptr(LathePlan) splan = NULL;
  g_autoptr(LatheApplied) student = NULL;
  g_autoptr(GPtrArray) student_layers = NULL;
  g_autoptr(LatheTrainGraph) tg = NULL;
  g_autoptr(LatheTrainGraph) tt = NULL;
  g_autoptr(LatheOptimizer) opt = NULL;
  g_autoptr(GArray) fq = NULL;
  g_autofree guint32 *order = NULL;
  g_autofree gint32 *labels = NULL;
  g_autofree LatheTrainParam **params = NULL;
  g_autofree float **backup = NULL;
  LatheRng rng;
  guint n_channels, n_train, steps_per_epoch, n_params, batch;
  guint64 total_steps, global_step = 0;
  gsize classes, sample_size;
  gboolean have_backup = FALSE, diverged = FALSE;
  gint64 t0 = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (teacher != NULL && layers != NULL && plan != NULL && o != NULL, NULL);

  if (!check_options (o, error) || !lathe_plan_validate (plan, layers, error))
    return NULL;
  batch = o->batch;

  /* Which layers are quantized, for QAT */
  if (o->mode == LATHE_TRAIN_QAT)
    {
      gboolean any = FALSE;
      for (guint i = 0; i < layers->len; i++)
        {
          LatheLayer *l = g_ptr_array_index (layers, i);
          g_auto(LatheLayerSettings) s = { 0 };
          lathe_plan_resolve (plan, l->name, &s);
          if (s.skip || s.bits >= 32)
            continue;
          if (s.bits < 16 && g_strcmp0 (s.quantizer, "uniform") != 0)
            {
              g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                           "layer '%s': quantization-aware training uses the uniform quantizer, not '%s'",
                           l->name, s.quantizer);
              return NULL;
            }
          any = TRUE;
        }
      if (!any)
        {
          g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_INVALID,
                       "quantization-aware training needs a plan that quantizes a layer (bits below 32)");
          return NULL;
        }
    }

  /* The student: width and pruning, float weights */
  splan = student_plan (plan);
  if (!(student = lathe_apply_plan_full (teacher, layers, splan, apply_options, NULL, error)) ||
      !lathe_eval_check_data (student->graph, o->train, o->n_norm, &n_channels, error) ||
      !(student_layers = lathe_find_layers (student->graph, error)) ||
      !(tg = lathe_train_graph_new (student->graph, batch, FALSE, error)))
    return NULL;
  if (o->alpha > 0 && !(tt = lathe_train_graph_new (teacher, batch, FALSE, error)))
    return NULL;
  if (o->evaluation != NULL &&
      !lathe_eval_check_data (student->graph, o->evaluation, o->n_norm, &n_channels, error))
    return NULL;

  n_train = lathe_dataset_get_n_samples (o->train);
  if (o->train_limit > 0)
    n_train = MIN (n_train, o->train_limit);
  steps_per_epoch = n_train / batch;
  if (steps_per_epoch == 0)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA,
                   "training data '%s' has %u samples, fewer than one batch of %u",
                   lathe_dataset_get_spec (o->train), n_train, batch);
      return NULL;
    }
  lathe_train_graph_get_logits (tg, &classes);
  if (lathe_dataset_has_labels (o->train) && o->alpha < 1 &&
      lathe_dataset_get_n_classes (o->train) > classes)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA,
                   "training data '%s' has labels up to %u, but the model scores %" G_GSIZE_FORMAT " classes",
                   lathe_dataset_get_spec (o->train), lathe_dataset_get_n_classes (o->train) - 1, classes);
      return NULL;
    }

  /* Masks and fake quantization per layer */
  fq = g_array_new (FALSE, TRUE, sizeof (FakeQuant));
  g_array_set_clear_func (fq, fake_quant_clear);
  for (guint i = 0; i < student->results->len; i++)
    {
      LatheLayerResult *r = g_ptr_array_index (student->results, i);
      int li = lathe_layers_index (student_layers, r->name);
      LatheTrainParam *p = lathe_train_graph_find_param (tg, r->name);
      LatheLayer *sl;
      g_auto(LatheLayerSettings) s = { 0 };

      if (p == NULL || li < 0 || r->settings.skip)
        continue;
      sl = g_ptr_array_index (student_layers, li);
      if (r->sparsity > 0)
        {
          gsize kept = 0;
          p->mask = g_new (guint8, p->n);
          for (gsize k = 0; k < p->n; k++)
            kept += (p->mask[k] = p->data[k] != 0.f);
          if (kept == 0)
            {
              g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_INVALID,
                           "layer '%s' keeps no weight after pruning: no unit is left to train", r->name);
              return NULL;
            }
        }
      lathe_plan_resolve (plan, r->name, &s);
      if (o->mode == LATHE_TRAIN_QAT && !s.skip && s.bits < 32)
        {
          FakeQuant q = { 0 };
          q.param = p;
          lathe_layer_settings_copy (&q.settings, &s);
          q.rows = sl->rows;
          q.cols = sl->cols;
          q.spatial = sl->spatial;
          q.transposed = sl->out_axis == 1;
          if (q.transposed)
            {
              q.scratch = lathe_aligned_alloc (p->n * sizeof (float));
              if (p->mask)
                {
                  q.mask_t = g_new (guint8, p->n);
                  for (gsize rr = 0; rr < q.rows; rr++)
                    for (gsize c = 0; c < q.cols; c++)
                      q.mask_t[rr * q.cols + c] = p->mask[c * q.rows + rr];
                }
            }
          lathe_train_graph_detach_forward (tg, p);
          g_array_append_val (fq, q);
        }
    }
  for (guint i = 0; i < fq->len; i++)
    if (!fake_quant_apply (&g_array_index (fq, FakeQuant, i), error))
      return NULL;

  result->epoch_loss = g_array_new (FALSE, FALSE, sizeof (double));
  result->epoch_accuracy = g_array_new (FALSE, FALSE, sizeof (double));
  if (!evaluate_subset (tg, o, &result->untrained_accuracy, cancellable, error))
    return NULL;

  n_params = lathe_train_graph_get_n_params (tg);
  params = g_new (LatheTrainParam *, n_params);
  backup = g_new0 (float *, n_params);
  for (guint i = 0; i < n_params; i++)
    {
      params[i] = lathe_train_graph_get_param (tg, i);
      backup[i] = lathe_aligned_alloc (MAX (params[i]->n, 1) * sizeof (float));
    }
  opt = lathe_optimizer_new (o->optimizer, o->optimizer == LATHE_OPTIMIZER_SGD ? o->momentum : 0, o->weight_decay);

  order = g_new (guint32, n_train);
  for (guint i = 0; i < n_train; i++)
    order[i] = i;
  labels = g_new0 (gint32, batch);
  lathe_rng_init (&rng, o->seed);
  total_steps = (guint64) steps_per_epoch * o->epochs;
  sample_size = lathe_train_graph_get_sample_size (tg);

  t0 = g_get_monotonic_time ();
  for (guint epoch = 1; epoch <= o->epochs; epoch++)
    {
      double loss_sum = 0.0;
      LatheTrainProgress pr = { 0 };

      lathe_rng_shuffle (&rng, order, n_train);
      for (guint step = 1; step <= steps_per_epoch; step++)
        {
          float *x = lathe_train_graph_get_input (tg, NULL);
          const gint32 *all_labels = lathe_dataset_get_labels (o->train);
          float *teacher_logits = NULL;
          double lr, loss;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          for (guint j = 0; j < batch; j++)
            {
              guint idx = order[(step - 1) * batch + j];
              lathe_dataset_fill_batch (o->train, idx, 1, n_channels, o->mean, o->std, x + j * sample_size);
              labels[j] = all_labels ? all_labels[idx] : 0;
            }
          for (guint i = 0; i < fq->len; i++)
            if (!fake_quant_apply (&g_array_index (fq, FakeQuant, i), error))
              goto out;
          if (tt != NULL)
            {
              memcpy (lathe_train_graph_get_input (tt, NULL), x, (gsize) batch * sample_size * sizeof (float));
              if (!lathe_train_graph_forward (tt, error))
                goto out;
              teacher_logits = lathe_train_graph_get_logits (tt, NULL);
            }
          if (!lathe_train_graph_forward (tg, error))
            goto out;
          global_step++;
          loss = lathe_train_loss (batch, classes, lathe_train_graph_get_logits (tg, NULL), teacher_logits,
                                   o->alpha < 1 ? labels : NULL, o->temperature, o->alpha,
                                   lathe_train_graph_get_logits_grad (tg));
          if (!isfinite (loss))
            {
              /* The weights that gave this loss came from a bad update:
               * go back to the ones before it. */
              if (have_backup)
                for (guint i = 0; i < n_params; i++)
                  memcpy (params[i]->data, backup[i], params[i]->n * sizeof (float));
              for (guint i = 0; i < fq->len; i++)
                fake_quant_apply (&g_array_index (fq, FakeQuant, i), NULL);
              diverged = TRUE;
              g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DIVERGED,
                           "the loss is %s at step %" G_GUINT64_FORMAT " (epoch %u, batch %u): training stopped, "
                           "keeping the weights of step %" G_GUINT64_FORMAT "; try a lower learning rate",
                           isnan (loss) ? "NaN" : "infinite", global_step, epoch, step,
                           global_step - 1);
              goto out;
            }
          if (!lathe_train_graph_backward (tg, error))
            goto out;
          for (guint i = 0; i < n_params; i++)
            memcpy (backup[i], params[i]->data, params[i]->n * sizeof (float));
          have_backup = TRUE;
          lr = lathe_schedule_lr (o->schedule, o->lr, global_step - 1, total_steps);
          lathe_optimizer_step (opt, params, n_params, lr);
          loss_sum += loss;

          if (progress != NULL)
            {
              pr.epoch = epoch;
              pr.epochs = o->epochs;
              pr.step = step;
              pr.steps_per_epoch = steps_per_epoch;
              pr.global_step = global_step;
              pr.loss = loss_sum / step;
              pr.lr = lr;
              pr.epoch_end = FALSE;
              pr.accuracy = NAN;
              progress (&pr, progress_data);
            }
        }
      result->seconds += (g_get_monotonic_time () - t0) / 1e6;
      for (guint i = 0; i < fq->len; i++)
        if (!fake_quant_apply (&g_array_index (fq, FakeQuant, i), error))
          goto out;
      {
        double loss = loss_sum / steps_per_epoch, acc;
        if (!evaluate_subset (tg, o, &acc, cancellable, error))
          goto out;
        g_array_append_val (result->epoch_loss, loss);
        g_array_append_val (result->epoch_accuracy, acc);
        if (progress != NULL)
          {
            pr.epoch_end = TRUE;
            pr.accuracy = acc;
            progress (&pr, progress_data);
          }
      }
      t0 = g_get_monotonic_time ();
    }
  result->epochs = o->epochs;
  result->steps = global_step;
  result->samples_per_second = result->seconds > 0 ? (double) global_step * batch / result->seconds : 0;

  if (!finish_result (tg, student, plan, result, error))
    goto out;
  ok = TRUE;

out:
  if (backup != NULL)
    for (guint i = 0; i < n_params; i++)
      lathe_aligned_free (backup[i]);
  if (diverged && partial != NULL)
    {
      /* the weights were put back to the last good step above */
      result->epochs = result->epoch_loss->len;
      result->steps = global_step - 1;
      result->seconds += (g_get_monotonic_time () - t0) / 1e6;
      result->samples_per_second = result->seconds > 0 ? (double) result->steps * batch / result->seconds : 0;
      if (finish_result (tg, student, plan, result, NULL))
        *partial = g_steal_pointer (&result);
    }
  return ok ? g_steal_pointer (&result) : NULL;
}

LatheTrainResult *
lathe_distill (LatheGraph               *teacher,
               GPtrArray                *layers,
               const LathePlan          *plan,
               const LatheApplyOptions  *apply_options,
               const LatheTrainOptions  *o,
               LatheTrainProgressFunc    progress,
               gpointer                  progress_data,
               GCancellable             *cancellable,
               GError                  **error)
{
  return lathe_distill_full (teacher, layers, plan, apply_options, o, progress, progress_data,
                             cancellable, NULL, error);
}

/* ---------------------------------------------------------------------- */
/* Async                                                                   */

typedef struct {
  LatheGraph             *teacher;
  GPtrArray              *layers;
  LathePlan              *plan;
  LatheApplyOptions       apply_options;
  LatheTrainOptions       options;
  float                  *norm;
  float                  *apply_norm;
  char                   *apply_sha256;
  /* progress relay */
  GMutex                  lock;
  LatheTrainProgress      latest;
  gboolean                pending;
  GArray                  *epoch_ends;     /* LatheTrainProgress, never coalesced away */
  GMainContext           *context;
  LatheTrainProgressFunc  progress;
  gpointer                progress_data;
  GDestroyNotify          progress_destroy;
  gint                    ref_count;
} DistillJob;

static DistillJob *
job_ref (DistillJob *job)
{
  g_atomic_int_inc (&job->ref_count);
  return job;
}

static void
job_unref (gpointer data)
{
  DistillJob *job = data;
  if (!g_atomic_int_dec_and_test (&job->ref_count))
    return;
  lathe_plan_free (job->plan);
  g_clear_object (&job->apply_options.calibration);
  g_clear_object (&job->options.train);
  g_clear_object (&job->options.evaluation);
  g_free (job->norm);
  g_free (job->apply_norm);
  g_free (job->apply_sha256);
  g_mutex_clear (&job->lock);
  g_array_unref (job->epoch_ends);
  g_main_context_unref (job->context);
  if (job->progress_destroy)
    job->progress_destroy (job->progress_data);
  g_free (job);
}

static gboolean
job_deliver (gpointer data)
{
  DistillJob *job = data;
  g_autoptr(GArray) ends = NULL;
  LatheTrainProgress latest;
  gboolean have;

  g_mutex_lock (&job->lock);
  ends = job->epoch_ends;
  job->epoch_ends = g_array_new (FALSE, FALSE, sizeof (LatheTrainProgress));
  latest = job->latest;
  have = job->pending;
  job->pending = FALSE;
  g_mutex_unlock (&job->lock);

  for (guint i = 0; i < ends->len; i++)
    job->progress (&g_array_index (ends, LatheTrainProgress, i), job->progress_data);
  if (have && !latest.epoch_end)
    job->progress (&latest, job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
job_progress (const LatheTrainProgress *p,
              gpointer                  data)
{
  DistillJob *job = data;
  gboolean schedule;

  g_mutex_lock (&job->lock);
  schedule = !job->pending && job->epoch_ends->len == 0;
  if (p->epoch_end)
    g_array_append_val (job->epoch_ends, *p);
  else
    {
      job->latest = *p;
      job->pending = TRUE;
    }
  g_mutex_unlock (&job->lock);
  if (schedule)
    g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, job_deliver,
                                job_ref (job), job_unref);
}

static void
distill_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  DistillJob *job = task_data;
  GError *error = NULL;
  LatheTrainResult *r;

  r = lathe_distill (job->teacher, job->layers, job->plan, &job->apply_options, &job->options,
                     job->progress ? job_progress : NULL, job, cancellable, &error);
  if (r == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, r, (GDestroyNotify) lathe_train_result_free);
}

void
lathe_distill_async (LatheGraph               *teacher,
                     GPtrArray                *layers,
                     const LathePlan          *plan,
                     const LatheApplyOptions  *apply_options,
                     const LatheTrainOptions  *options,
                     LatheTrainProgressFunc    progress,
                     gpointer                  progress_data,
                     GDestroyNotify            progress_destroy,
                     GCancellable             *cancellable,
                     GAsyncReadyCallback       callback,
                     gpointer                  user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  DistillJob *job = g_new0 (DistillJob, 1);

  g_return_if_fail (teacher != NULL && layers != NULL && plan != NULL && options != NULL);

  job->ref_count = 1;
  job->teacher = teacher;
  job->layers = layers;
  job->plan = lathe_plan_copy (plan);
  if (apply_options != NULL)
    job->apply_options = *apply_options;
  if (job->apply_options.calibration)
    g_object_ref (job->apply_options.calibration);
  job->options = *options;
  if (job->options.train)
    g_object_ref (job->options.train);
  if (job->options.evaluation)
    g_object_ref (job->options.evaluation);
  if (options->n_norm > 0)
    {
      /* one copy holds mean then std, for both option structs */
      job->norm = g_new (float, 2 * options->n_norm);
      memcpy (job->norm, options->mean, options->n_norm * sizeof (float));
      memcpy (job->norm + options->n_norm, options->std, options->n_norm * sizeof (float));
      job->options.mean = job->norm;
      job->options.std = job->norm + options->n_norm;
    }
  if (job->apply_options.n_norm > 0 && job->apply_options.mean != NULL)
    {
      guint n = job->apply_options.n_norm;
      job->apply_norm = g_new (float, 2 * n);
      memcpy (job->apply_norm, apply_options->mean, n * sizeof (float));
      memcpy (job->apply_norm + n, apply_options->std, n * sizeof (float));
      job->apply_options.mean = job->apply_norm;
      job->apply_options.std = job->apply_norm + n;
    }
  job->apply_sha256 = g_strdup (job->apply_options.evaluation_sha256);
  job->apply_options.evaluation_sha256 = job->apply_sha256;
  g_mutex_init (&job->lock);
  job->epoch_ends = g_array_new (FALSE, FALSE, sizeof (LatheTrainProgress));
  job->context = g_main_context_ref_thread_default ();
  job->progress = progress;
  job->progress_data = progress_data;
  job->progress_destroy = progress_destroy;

  g_task_set_source_tag (task, lathe_distill_async);
  g_task_set_task_data (task, job, job_unref);
  g_task_run_in_thread (task, distill_thread);
}

LatheTrainResult *
lathe_distill_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lathe_distill_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
