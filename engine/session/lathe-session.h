/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "compress/lathe-apply.h"
#include "data/lathe-dataset.h"
#include "onnx/lathe-model.h"

G_BEGIN_DECLS

typedef enum {
  LATHE_STAGE_SUBSET,   /* the fixed class-stratified subset: an early figure */
  LATHE_STAGE_FULL,     /* the whole evaluation set */
} LatheStage;

/* One measured plan at one stage. Immutable once made; ref-counted so it
 * can travel from the worker to the main context. */
typedef struct {
  /*< private >*/
  gint          ref_count;
  /*< public >*/
  guint64       generation;     /* the plan change it answers */
  LatheStage    stage;
  guint         n_samples;
  guint64       correct;
  double        accuracy;
  double        lo, hi;         /* 95 % Wilson interval of the accuracy */
  double        top5;
  double        fidelity;       /* top-1 agreement with the source model */
  guint         n_classes;
  double       *class_accuracy; /* n_classes */
  guint64      *confusion;      /* n_classes × n_classes, row = label */
  guint64       packed_bytes;
  guint64       baseline_bytes;
  double        seconds;        /* apply + evaluation wall time */
  gboolean      from_cache;     /* re-ran only downstream of a cached activation */
  LatheApplied *applied;        /* the effective model and per-layer results */
  /* Per sample, of the effective model (lathe_graph_count_macs): dense
   * multiply-accumulates, which width shrinks, and those with a non-zero
   * weight, which pruning shrinks too. */
  guint64       macs;
  guint64       macs_nonzero;
  /* Evaluation wall time of this stage over its samples: apply excluded,
   * but preparing the executor, gathering a subset's samples and copying
   * activations into the cache included; when from_cache, only the layers
   * after the cached cut ran. A session figure, not a kernel benchmark. */
  double        seconds_per_sample;
  /* Bytes of the model as exported to ONNX (lathe_export_onnx()), on the
   * full-set stage; 0 on the subset or when the model cannot be written. */
  guint64       onnx_bytes;
} LatheSessionResult;

#define LATHE_TYPE_SESSION_RESULT (lathe_session_result_get_type ())
GType               lathe_session_result_get_type (void) G_GNUC_CONST;
LatheSessionResult *lathe_session_result_ref      (LatheSessionResult *r);
void                lathe_session_result_unref    (LatheSessionResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheSessionResult, lathe_session_result_unref)

#define LATHE_SESSION_SUBSET_DEFAULT 1000
#define LATHE_SESSION_CACHE_DEFAULT  ((gsize) 1 << 30)

#define LATHE_TYPE_SESSION (lathe_session_get_type ())
G_DECLARE_FINAL_TYPE (LatheSession, lathe_session, LATHE, SESSION, GObject)

/* A model, its evaluation data and a plan. lathe_session_set_plan() queues
 * an evaluation on the session's worker: first the subset, then the full
 * set; a newer plan supersedes an older one (a running evaluation stops
 * between batches). Results arrive as "result" signals on the main context
 * the session was made in. */
LatheSession       *lathe_session_new             (LatheModel      *model,
                                                   LatheDataset    *data,
                                                   const float     *mean,
                                                   const float     *std,
                                                   guint            n_norm,
                                                   GError         **error);
LatheModel         *lathe_session_get_model       (LatheSession    *self);
LatheDataset       *lathe_session_get_dataset     (LatheSession    *self);
GPtrArray          *lathe_session_get_layers      (LatheSession    *self);
void                lathe_session_set_subset_size (LatheSession    *self,
                                                   guint            n);
void                lathe_session_set_cache_budget (LatheSession   *self,
                                                   gsize            bytes);
gsize               lathe_session_get_cache_bytes (LatheSession    *self);
/* The source model's results on the full set (computed on first need). */
LatheSessionResult *lathe_session_get_baseline    (LatheSession    *self,
                                                   GCancellable    *cancellable,
                                                   GError         **error);
/* Queues an evaluation of a copy of `plan`; returns its generation. A plan
 * that fails validation is reported through "failed". */
guint64             lathe_session_set_plan        (LatheSession    *self,
                                                   const LathePlan *plan);
/* Synchronous form for the CLI and tests: evaluates on the calling thread
 * (using and filling the same activation cache). */
LatheSessionResult *lathe_session_evaluate        (LatheSession    *self,
                                                   const LathePlan *plan,
                                                   LatheStage       stage,
                                                   GCancellable    *cancellable,
                                                   GError         **error);
/* Turns the activation cache off or on (for tests: results must match). */
void                lathe_session_set_use_cache   (LatheSession    *self,
                                                   gboolean         use);
/* Blocks until the worker has nothing queued (tests, shutdown). */
void                lathe_session_wait_idle       (LatheSession    *self);

G_END_DECLS
