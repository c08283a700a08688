/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-layer-table.h"
#include "lathe-scoreboard.h"
#include "lathe-window.h"
#include "session/lathe-session.h"

G_BEGIN_DECLS

/* For tests: what the window holds and shows. */
LatheScoreboard    *_lathe_window_get_scoreboard         (LatheWindow *self);
LatheLayerTable    *_lathe_window_get_layer_table        (LatheWindow *self);
GtkAdjustment      *_lathe_window_get_bits_adjustment     (LatheWindow *self);
GtkAdjustment      *_lathe_window_get_sparsity_adjustment (LatheWindow *self);
GtkAdjustment      *_lathe_window_get_width_adjustment    (LatheWindow *self);
/* "empty", "loading" or "model" */
const char         *_lathe_window_get_page               (LatheWindow *self);
/* The error bar's text while it is shown, else NULL. */
const char         *_lathe_window_get_error              (LatheWindow *self);
LatheSessionResult *_lathe_window_get_baseline           (LatheWindow *self);
/* The latest figures shown for the current plan, or NULL. */
LatheSessionResult *_lathe_window_get_result             (LatheWindow *self);
/* The generation of the plan sent last (0: none yet). */
guint64             _lathe_window_get_generation         (LatheWindow *self);

G_END_DECLS
