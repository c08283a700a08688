/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-plan.h"
#include "train/lathe-train.h"

G_BEGIN_DECLS

/* The command line that reproduces a plan:
 *
 *   lathe-cli apply MODEL [--data SPEC] [plan flags…] -o DIR
 *
 * using the flags of lathe-cli's plan options (--bits, --granularity,
 * --affine, --scale, --quantizer, --sparsity, --pattern, --global-sparsity,
 * --width, --keep-bn, --layer NAME:key=value,…, --set METHOD.PARAM=VALUE,
 * --importance, --calibration, --calibration-samples). A flag is given only
 * when its value differs from the CLI's default; layers (by name) and
 * parameters are sorted, so the same plan always gives the same argv.
 * Numbers are written in the shortest form that reads back to the same
 * double.
 *
 * `program` is argv[0] (NULL: "lathe-cli"); `data_spec` NULL leaves out
 * --data (the CLI's default, fashion-mnist). Normalisation is not passed:
 * the CLI reads it from the model's metadata as the app does.
 *
 * A plan the flags cannot express is a LATHE_COMPRESS_ERROR_UNSUPPORTED
 * naming the field: a non-zero seed, skip as a default, an N:M pattern
 * other than 2:4 and 4:8, activation importance with 0 calibration
 * samples, a MODEL path ending in .json (the CLI would read it as a
 * pipeline). Free the result with g_strfreev(). */
char **lathe_plan_to_cli_args (const LathePlan  *plan,
                               const char       *program,
                               const char       *model_path,
                               const char       *data_spec,
                               const char       *output_dir,
                               GError          **error);

/* argv as one line a POSIX shell reads back to the same words: each word
 * through g_shell_quote() unless it holds only characters that need no
 * quoting, joined by single spaces. */
char  *lathe_cli_args_to_shell (const char * const *argv);

/* The command line that trains the plan's student as `options` say and
 * writes its artifact:
 *
 *   lathe-cli distill MODEL [--data SPEC] [plan flags…] [--finetune|--qat]
 *     --epochs E --batch-train N --lr LR --temperature T --alpha A
 *     --seed S --train-data SPEC [--optimizer, --momentum, --weight-decay,
 *     --schedule, --train-limit, --eval-samples] -o DIR
 *
 * The plan's flags and errors are lathe_plan_to_cli_args()'s. Epochs,
 * batch, learning rate, temperature, alpha, seed and training data are
 * always written, so the line records the training; the other options
 * only when they differ from lathe-cli distill's defaults (--momentum
 * only with SGD, which alone reads it). `train_spec` NULL means
 * fashion-mnist:train. The datasets and normalisation in `options` are
 * not read: the CLI loads --train-data and --data itself and reads the
 * normalisation from the model's metadata. An option the flags cannot
 * carry is a LATHE_COMPRESS_ERROR_UNSUPPORTED naming it: a seed above
 * G_MAXINT64, a count above G_MAXINT, a non-finite number. */
char **lathe_train_to_cli_args (const LathePlan         *plan,
                                const LatheTrainOptions *options,
                                const char              *train_spec,
                                const char              *program,
                                const char              *model_path,
                                const char              *data_spec,
                                const char              *output_dir,
                                GError                 **error);

G_END_DECLS
