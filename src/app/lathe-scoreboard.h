/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "session/lathe-session.h"

G_BEGIN_DECLS

#define LATHE_TYPE_SCOREBOARD (lathe_scoreboard_get_type ())
G_DECLARE_FINAL_TYPE (LatheScoreboard, lathe_scoreboard, LATHE, SCOREBOARD, GtkWidget)

/* The figures that matter at a glance: size before → after and the ratio,
 * accuracy before → after with its change, fidelity, and whether a
 * measurement is under way. */
GtkWidget *lathe_scoreboard_new            (void);
/* The source model's figures on the full set and on the subset (or NULL);
 * forgets any result. */
void       lathe_scoreboard_set_baseline   (LatheScoreboard    *self,
                                            LatheSessionResult *baseline,
                                            LatheSessionResult *subset_baseline);
/* A measured plan, compared with the baseline on the same samples. */
void       lathe_scoreboard_set_result     (LatheScoreboard    *self,
                                            LatheSessionResult *result);
/* Whether the figures come from a student (width below 100 %) and whether
 * it was trained: every accuracy figure says so. */
typedef enum {
  LATHE_STUDENT_NONE,        /* no width change, no training */
  LATHE_STUDENT_UNTRAINED,   /* the kept units as they were in the teacher */
  LATHE_STUDENT_TRAINING,    /* untrained figures while training runs */
  LATHE_STUDENT_TRAINED,
} LatheStudentState;

void       lathe_scoreboard_set_student   (LatheScoreboard    *self,
                                           LatheStudentState   state,
                                           guint               epochs);
void       lathe_scoreboard_set_evaluating (LatheScoreboard    *self,
                                            gboolean            evaluating);

G_END_DECLS
