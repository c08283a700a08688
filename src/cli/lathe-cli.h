/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "compress/lathe-apply.h"
#include "compress/lathe-plan.h"
#include "data/lathe-dataset.h"
#include "onnx/lathe-model.h"
#include "eval/lathe-evaluator.h"
#include "pipeline/lathe-pipeline.h"

G_BEGIN_DECLS

/* Exit statuses: the job failed (1) versus the user asked for something
 * that cannot be done with this input (2). */
enum {
  LATHE_EXIT_OK = 0,
  LATHE_EXIT_FAILED = 1,
  LATHE_EXIT_USAGE = 2,
};

/* The data flags every evaluating command shares. */
typedef struct {
  char    *spec;
  char    *mean;
  char    *std;
  int      batch;
  int      limit;
  /* resolved */
  GArray  *mean_values;
  GArray  *std_values;
  const char *norm_source;    /* "flags", "model metadata" or "default" */
} LatheCliData;

void           lathe_cli_data_add_options (LatheCliData    *data,
                                           GOptionContext  *context);
void           lathe_cli_data_clear       (LatheCliData    *data);
/* Resolves mean/std (flags, then model metadata, then 0/1 with a warning)
 * and loads the dataset. */
LatheDataset  *lathe_cli_data_load        (LatheCliData    *data,
                                           LatheModel      *model,
                                           GError         **error);

/* The plan flags of eval, run, apply and sweep. */
typedef struct {
  char     *bits;
  char     *granularity;
  gboolean  affine;
  char     *scale;
  char     *quantizer;
  char     *sparsity;
  char     *pattern;
  gboolean  global_sparsity;
  char     *width;
  gboolean  keep_bn;
  char    **layer;
  char    **set;
  char     *importance;
  char     *calibration;
  int       calibration_samples;
} LatheCliPlan;

void           lathe_cli_plan_add_options (LatheCliPlan    *flags,
                                           GOptionContext  *context);
void           lathe_cli_plan_clear       (LatheCliPlan    *flags);
gboolean       lathe_cli_plan_given       (const LatheCliPlan *flags);
LathePlan     *lathe_cli_plan_build       (const LatheCliPlan *flags,
                                           GError         **error);
gboolean       lathe_cli_plan_set_key     (LatheLayerSettings *s,
                                           const char      *what,
                                           const char      *key,
                                           const char      *value,
                                           GError         **error);


/* lathe_cli_data_load() for measuring accuracy: data without labels is
 * an error naming it. */
LatheDataset  *lathe_cli_data_load_labelled (LatheCliData *data,
                                             LatheModel   *model,
                                             GError      **error);
/* Evaluation options from the data flags (after lathe_cli_data_load()). */
void           lathe_cli_eval_options     (const LatheCliData *data,
                                           LatheEvalOptions   *options);
/* An artifact's recorded results: the "fidelity" … "model_sha256" members
 * of --json, and the Accuracy and Fidelity lines of the text output. */
void           lathe_cli_json_results     (JsonBuilder         *b,
                                           const LathePipeline *p);
void           lathe_cli_print_results    (const LathePipeline *p);

/* Options for applying `plan`: loads its calibration data when width
 * ranks by activations (normalised like the evaluation data, which it
 * must not be). Clear with lathe_cli_apply_options_clear(). */
struct _LatheApplyOptions;
gboolean       lathe_cli_apply_options    (const LathePlan *plan,
                                           const LatheCliData *data,
                                           LatheDataset    *evaluation,
                                           struct _LatheApplyOptions *options,
                                           GError         **error);
void           lathe_cli_apply_options_clear (struct _LatheApplyOptions *options);

/* Prints "lathe-cli: message" and returns the exit status for the error. */
int            lathe_cli_fail             (const GError    *error);
int            lathe_cli_usage_error      (GOptionContext  *context,
                                           const char      *format,
                                           ...) G_GNUC_PRINTF (2, 3);
gboolean       lathe_cli_parse            (GOptionContext  *context,
                                           int             *argc,
                                           char          ***argv,
                                           int             *status);

/* The common start of a command on one file: adds `entries`, the data
 * flags and (non-NULL `plan_flags`) the plan flags, parses, and wants one
 * argument (`expected` names it otherwise). FALSE when the command ends
 * here (a usage error), with *status its exit status. */
gboolean       lathe_cli_parse_one        (GOptionContext  *context,
                                           const GOptionEntry *entries,
                                           LatheCliData    *data,
                                           LatheCliPlan    *plan_flags,
                                           const char      *expected,
                                           int             *argc,
                                           char          ***argv,
                                           int             *status);

/* A progress bar on stderr when it is a terminal; nothing otherwise. */
void           lathe_cli_progress         (guint            done,
                                           guint            total,
                                           gpointer         label);
void           lathe_cli_print_json       (JsonBuilder     *builder);
char          *lathe_cli_format_bytes     (guint64          bytes);

int            lathe_cli_info             (int argc, char **argv);
int            lathe_cli_eval             (int argc, char **argv);
int            lathe_cli_run              (int argc, char **argv);
int            lathe_cli_apply            (int argc, char **argv);
int            lathe_cli_check            (int argc, char **argv);
int            lathe_cli_sweep            (int argc, char **argv);
int            lathe_cli_plugins          (int argc, char **argv);
int            lathe_cli_distill          (int argc, char **argv);

/* Replays a pipeline's "training" section (lathe-cli-distill.c): loads
 * the training data it names (checking its sha256), trains the plan's
 * student and returns the trained effective model and its layers. */
gboolean       lathe_cli_train_replay     (LathePipeline   *pipeline,
                                           const char      *pipeline_path,
                                           struct _LatheGraph *teacher,
                                           GPtrArray       *layers,
                                           const LathePlan *plan,
                                           const struct _LatheApplyOptions *apply_options,
                                           const LatheCliData *data,
                                           LatheDataset    *evaluation,
                                           struct _LatheApplied **applied_out,
                                           GPtrArray      **layers_out,
                                           GError         **error);
/* check without --retrain on a pipeline with training: the artifact's
 * model.onnx (beside the pipeline) must match $.results.model_sha256 and
 * reproduce the recorded accuracy within the tolerance. Returns the exit
 * status, or -1 with `error` set. */
int            lathe_cli_check_trained    (LathePipeline   *pipeline,
                                           const char      *pipeline_path,
                                           LatheDataset    *dataset,
                                           const LatheEvalOptions *eval_options,
                                           double           tolerance,
                                           GError         **error);

G_END_DECLS
