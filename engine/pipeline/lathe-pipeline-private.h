/* SPDX-License-Identifier: MIT */
#pragma once

#include "compress/lathe-plan.h"

G_BEGIN_DECLS

/* A setting's granularity and pattern as pipeline files and lathe-cli
 * flags spell them: "tensor", "channel", "group:64"; "unstructured",
 * "channel", "2:4". */
char *_lathe_granularity_string (const LatheLayerSettings *s);
char *_lathe_pattern_string     (const LatheLayerSettings *s);

G_END_DECLS
