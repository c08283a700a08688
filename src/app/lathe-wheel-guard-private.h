/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-wheel-guard.h"

G_BEGIN_DECLS

/* What the guard does with one scroll event over `range`: TRUE when it
 * took the event (the range keeps its value and the nearest scrolled
 * window that can move along the event's axis scrolled instead), FALSE
 * when the range has focus and handles the wheel itself. */
gboolean _lathe_wheel_guard_scroll (GtkWidget     *range,
                                    double         dx,
                                    double         dy,
                                    GdkScrollUnit  unit);

G_END_DECLS
