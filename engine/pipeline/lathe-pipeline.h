/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "compress/lathe-plan.h"
#include "core/lathe-error.h"

G_BEGIN_DECLS

/* A pipeline file: everything needed to repeat a compression run — the
 * model and data it read (with digests), the plan, and what it measured.
 * JSON, versioned, no timestamps, written with a fixed key order so that
 * the same run gives the same bytes:
 *
 *   {"format": "lathe-pipeline", "version": 1, "tool": "lathe 0.1.0", "seed": 0,
 *    "model": {"path": …, "sha256": …},
 *    "data": {"spec": …, "mean": […], "std": […], "sha256": …, "subset": {"size": …, "seed": …}},
 *    "defaults": {"quantizer": …, "bits": …, "granularity": …, "affine": …, "scale": …,
 *                 "pruner": …, "pattern": …, "sparsity": …, "global_sparsity": …,
 *                 "width": …, "fold_bn": …, "params": {…}},
 *    "layers": {"<weight>": {only the overridden keys}, …},
 *    "training": null,
 *    "results": {"accuracy": …, "baseline_accuracy": …, "fidelity": …, "size_bytes": …,
 *                "baseline_size_bytes": …, "file_size_bytes": …, "model_sha256": …}}
 *
 * Reading is strict: an unknown key, a wrong type or an out-of-range value
 * is a LATHE_PIPELINE_ERROR naming the JSON path ($.layers["conv1.weight"].bits).
 * Only "format", "version" and "model.path" are required; a missing key
 * takes its default. data/lathe-pipeline.schema.json describes the same
 * format as a JSON Schema. */

#define LATHE_PIPELINE_FORMAT  "lathe-pipeline"
#define LATHE_PIPELINE_VERSION 1

typedef struct {
  double   accuracy;             /* 0 … 1, of the compressed model */
  double   baseline_accuracy;    /* 0 … 1, of the source model */
  double   fidelity;             /* 0 … 1, top-1 agreement with the source model */
  gint64   size_bytes;           /* weights as stored by the plan */
  gint64   baseline_size_bytes;  /* weights of the source model */
  gint64   file_size_bytes;      /* the exported model file */
  char    *model_sha256;         /* of the exported model file */
} LathePipelineResults;

typedef struct {
  int        version;            /* as read; the writer always writes LATHE_PIPELINE_VERSION,
                                  * and "format" is always LATHE_PIPELINE_FORMAT */
  char      *tool;               /* "lathe 0.1.0": what wrote the file; NULL (no "tool" in
                                  * the file) is written as "lathe <this version>" */
  guint64    seed;               /* the run's seed, ≤ G_MAXINT64; parsing copies it to
                                  * plan->seed, the writer writes this one */

  char      *model_path;         /* as written: relative to the pipeline file */
  char      *model_sha256;       /* 64 lowercase hex digits, or NULL */

  char      *data_spec;          /* NULL: no data ("data": null) */
  GArray    *mean;               /* of float; empty: no normalisation */
  GArray    *std;                /* of float, as long as mean */
  char      *data_sha256;        /* or NULL */
  guint      subset_size;        /* 0: the whole data set ("subset": null) */
  guint64    subset_seed;

  LathePlan *plan;               /* never NULL */
  JsonNode  *training;           /* NULL (written as null) or a validated object */

  gboolean              has_results;  /* FALSE: "results": null */
  LathePipelineResults  results;
} LathePipeline;

/* An empty pipeline: version 1, tool "lathe <version>", a default plan. */
LathePipeline *lathe_pipeline_new           (void);
void           lathe_pipeline_free          (LathePipeline        *p);

/* `what` names the text in error messages (usually the file name); NULL
 * → "pipeline". length −1: NUL-terminated. */
LathePipeline *lathe_pipeline_parse         (const char           *text,
                                             gssize                length,
                                             const char           *what,
                                             GError              **error);
LathePipeline *lathe_pipeline_load          (const char           *path,
                                             GError              **error);

/* Pretty-printed (two-space indent, newline at the end), keys in the
 * order above, layers and params sorted by name; numbers in the shortest
 * form that reads back to the same value. model_path must be set. */
char          *lathe_pipeline_to_json       (const LathePipeline  *p);
/* Atomic: the file is either the old one or the complete new one. */
gboolean       lathe_pipeline_save          (const LathePipeline  *p,
                                             const char           *path,
                                             GError              **error);

/* `path` (as written in the pipeline) seen from the current directory:
 * absolute paths unchanged, relative ones taken relative to the folder of
 * `pipeline_file` (NULL: the current directory). */
char          *lathe_pipeline_resolve_path  (const LathePipeline  *p,
                                             const char           *pipeline_file,
                                             const char           *path);

/* Every key of "layers" must name one of the model's layers
 * (`layer_names`, NULL-terminated). */
gboolean       lathe_pipeline_check_layers  (const LathePipeline  *p,
                                             const char * const   *layer_names,
                                             GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LathePipeline, lathe_pipeline_free)

G_END_DECLS
