/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Milliseconds since this process started (/proc/self/stat's starttime
 * against CLOCK_BOOTTIME; clock-tick resolution, 10 ms), or -1. */
double _lathe_debug_ms_since_process_start (void);

/* With LATHE_DEBUG_TIMINGS=1 in the environment, prints to stdout, once
 * each, after the frame clock's "after-paint":
 *   first-frame-ms N monotonic-us T   the first window's first frame
 *   model-shown-ms N monotonic-us T   the first frame showing an opened model
 *                                     (its scoreboard shows the accuracy)
 * N counts from process start, T is g_get_monotonic_time () so that a
 * parent that spawned the process can measure exactly. Does nothing
 * without the variable. For tests/bench/bench-app.c. */
void   _lathe_debug_timings_watch         (GtkApplication *application);

G_END_DECLS
