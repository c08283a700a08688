/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-scoreboard.h"

G_BEGIN_DECLS

/* For tests: the labels a person reads. */
GtkLabel   *_lathe_scoreboard_get_size_label           (LatheScoreboard *self);
GtkLabel   *_lathe_scoreboard_get_size_detail_label    (LatheScoreboard *self);
GtkLabel   *_lathe_scoreboard_get_accuracy_label       (LatheScoreboard *self);
GtkLabel   *_lathe_scoreboard_get_accuracy_delta_label (LatheScoreboard *self);
GtkLabel   *_lathe_scoreboard_get_accuracy_note_label  (LatheScoreboard *self);
GtkLabel   *_lathe_scoreboard_get_fidelity_label       (LatheScoreboard *self);
GtkSpinner *_lathe_scoreboard_get_spinner              (LatheScoreboard *self);

const char *_lathe_scoreboard_get_student_text (LatheScoreboard *self);

/* Colours a change of accuracy in points (or any change where more is
 * better) as the scoreboard does: red down, green up, plain when it rounds
 * to nothing. The compare pane uses it too. */
void        _lathe_delta_style                 (GtkWidget       *label,
                                                double           delta);

G_END_DECLS
