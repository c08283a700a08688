/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lathe-debug-timings.h"

double
_lathe_debug_ms_since_process_start (void)
{
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  struct timespec now;
  const char *end;
  long ticks_per_second = sysconf (_SC_CLK_TCK);
  guint64 start_ticks;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) ||
      (end = strrchr (stat, ')')) == NULL ||   /* the command name may hold spaces */
      clock_gettime (CLOCK_BOOTTIME, &now) != 0 || ticks_per_second <= 0)
    return -1.0;
  /* after ") " come field 3 (state) … field 22 (starttime) */
  fields = g_strsplit (end + 2, " ", 21);
  if (g_strv_length (fields) < 21)
    return -1.0;
  start_ticks = g_ascii_strtoull (fields[19], NULL, 10);
  return (now.tv_sec * 1e3 + now.tv_nsec / 1e6) - start_ticks * 1e3 / ticks_per_second;
}

typedef struct {
  const char *what;
  gulong      handler;
} Once;

static void
once_after_paint_cb (GdkFrameClock *clock,
                     Once          *once)
{
  gint64 now = g_get_monotonic_time ();

  printf ("%s %.1f monotonic-us %" G_GINT64_FORMAT "\n", once->what, _lathe_debug_ms_since_process_start (), now);
  /* stdout is a pipe when a benchmark reads it */
  fflush (stdout);
  g_signal_handler_disconnect (clock, once->handler);   /* frees `once` */
}

static void
print_after_next_paint (GtkWidget  *widget,
                        const char *what)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  Once *once;

  if (clock == NULL)
    return;
  once = g_new0 (Once, 1);
  once->what = what;
  once->handler = g_signal_connect_data (clock, "after-paint", G_CALLBACK (once_after_paint_cb),
                                         once, (GClosureNotify) (void (*) (void)) g_free, 0);
}

static void
window_map_cb (GtkWidget *window)
{
  print_after_next_paint (window, "first-frame-ms");
  g_signal_handlers_disconnect_by_func (window, window_map_cb, NULL);
}

/* LatheWindow's "file" changes when a model is installed and its
 * scoreboard shows the source model's accuracy. */
static void
window_file_cb (GtkWidget *window)
{
  print_after_next_paint (window, "model-shown-ms");
  g_signal_handlers_disconnect_by_func (window, window_file_cb, window);
}

static void
window_added_cb (GtkApplication *application,
                 GtkWindow      *window)
{
  g_signal_connect_after (window, "map", G_CALLBACK (window_map_cb), NULL);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (window), "file") != NULL)
    g_signal_connect_swapped (window, "notify::file", G_CALLBACK (window_file_cb), window);
  g_signal_handlers_disconnect_by_func (application, window_added_cb, NULL);
}

void
_lathe_debug_timings_watch (GtkApplication *application)
{
  g_return_if_fail (GTK_IS_APPLICATION (application));

  if (g_strcmp0 (g_getenv ("LATHE_DEBUG_TIMINGS"), "1") != 0)
    return;
  g_signal_connect (application, "window-added", G_CALLBACK (window_added_cb), NULL);
}
