/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

#include "compress/lathe-plan.h"

G_BEGIN_DECLS

#define LATHE_TYPE_HISTORY (lathe_history_get_type ())
G_DECLARE_FINAL_TYPE (LatheHistory, lathe_history, LATHE, HISTORY, GObject)

/* Undo and redo over plans. The history holds the current plan; committing
 * a different plan makes the current one an undo step (and drops the redo
 * steps), committing an equal plan changes nothing — so the window can
 * commit whenever an interaction ends (a drag released, a key pressed)
 * and one drag becomes one step. */
LatheHistory    *lathe_history_new          (void);
/* Forgets every step; `plan` (copied) becomes the current plan. */
void             lathe_history_reset        (LatheHistory    *self,
                                             const LathePlan *plan);
const LathePlan *lathe_history_get_current  (LatheHistory    *self);
/* TRUE if a step was recorded. */
gboolean         lathe_history_commit       (LatheHistory    *self,
                                             const LathePlan *plan);
gboolean         lathe_history_can_undo     (LatheHistory    *self);
gboolean         lathe_history_can_redo     (LatheHistory    *self);
/* The plan to show now, or NULL when there is nothing to undo / redo. */
const LathePlan *lathe_history_undo         (LatheHistory    *self);
const LathePlan *lathe_history_redo         (LatheHistory    *self);
guint            lathe_history_get_n_undo   (LatheHistory    *self);

G_END_DECLS
