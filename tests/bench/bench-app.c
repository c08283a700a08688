/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "bench-app"
#define _GNU_SOURCE   /* RUSAGE_THREAD */

/* The app's responsiveness figures (issue §9), printed, never asserted:
 *
 *  1. cold start: the real `lathe` binary spawned N times with
 *     LATHE_DEBUG_TIMINGS=1; from spawn to its first painted frame, and for
 *     `lathe --sample` to the first frame that shows the sample's scoreboard
 *     (its accuracy figure);
 *  2. in process, the real LatheWindow: process start → first frame, and
 *     win.open-sample → the accuracy figure painted, → the first figures of
 *     the plan, → the full-set figures;
 *  3. a drag: for DRAG_SECONDS a per-layer slider's adjustment changes on
 *     every frame (a tick callback, as a pointer drag would), and the frame
 *     clock's after-paint times give the frame intervals: max, p99, median
 *     and how many exceed 50 ms. Also how long each frame's own work took
 *     (update → after-paint), which tells a slow frame from a main loop
 *     that was busy (or starved) between frames. Each interval over 50 ms
 *     is broken down from the main thread's point of view: CPU time it ran,
 *     time it was runnable but waited for a CPU (/proc/thread-self/schedstat),
 *     time asleep in the main loop's poll() and asleep elsewhere (Xlib
 *     round trips to the X server, locks, page faults).
 *
 * Experiments by environment: OPENBLAS_NUM_THREADS=1 (no BLAS helper
 * thread); LATHE_BENCH_WORKER_NICE=N renices the compute threads (session
 * worker, OpenBLAS, GTask pool) before each drag, LATHE_BENCH_NICE_COMM=NAME
 * only those of that name. `bench-app ""` skips the cold starts.
 *
 * Run by `meson test -C build --benchmark -v app` under build-aux/xvfb-run-test and
 * dbus-run-session with GDK_DEBUG=gl-disable GSK_RENDERER=cairo. */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <adwaita.h>

#include "lathe-application.h"
#include "lathe-debug-timings.h"
#include "lathe-layer-table.h"
#include "lathe-scoreboard-private.h"
#include "lathe-window-private.h"

#define COLD_RUNS      5
#define OPEN_RUNS      3
#define DRAG_SECONDS   10
#define WAIT_SECONDS   120
#define SLOW_FRAME_US  (50 * 1000)

/* find_scale() reads the AT context's properties, whichever backend: the
 * benchmark runs with the real AT-SPI bridge, as the app does on a desktop. */
#include "../app/app-test-display.h"

static double
ms (gint64 us)
{
  return us / 1000.0;
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The q-quantile of a sorted array, nearest rank. */
static double
quantile (const GArray *sorted,
          double        q)
{
  guint i;

  if (sorted->len == 0)
    return NAN;
  i = (guint) ceil (q * sorted->len);
  i = CLAMP (i, 1, sorted->len) - 1;
  return g_array_index (sorted, double, i);
}

static void
print_spread (const char *what,
              GArray     *values)
{
  g_autoptr(GArray) sorted = g_array_copy (values);

  g_array_sort (sorted, cmp_double);
  g_print ("%-58s median %7.1f ms   min %7.1f   max %7.1f   (", what,
           quantile (sorted, 0.5), g_array_index (sorted, double, 0),
           g_array_index (sorted, double, sorted->len - 1));
  for (guint i = 0; i < values->len; i++)
    g_print ("%s%.0f", i ? " " : "", g_array_index (values, double, i));
  g_print (")\n");
}

/* ---------------------------------------------------------------------- */
/* 1. Cold start of the real binary                                         */

static gboolean
parse_timing (const char *line,
              const char *key,
              gint64     *monotonic_us)
{
  const char *m;

  if (!g_str_has_prefix (line, key) || (m = strstr (line, "monotonic-us ")) == NULL)
    return FALSE;
  *monotonic_us = g_ascii_strtoll (m + strlen ("monotonic-us "), NULL, 10);
  return TRUE;
}

/* Spawns `lathe ARGS` and reads its LATHE_DEBUG_TIMINGS lines; returns
 * the milliseconds from spawn to the first frame and (if `shown` is not
 * NULL) to the first frame that shows the opened model. */
static gboolean
cold_start (const char  *app,
            const char  *arg,
            double      *first_frame,
            double      *shown,
            GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  gint64 spawned, t;
  gboolean have_frame = FALSE, have_shown = (shown == NULL);

  g_subprocess_launcher_setenv (launcher, "LATHE_DEBUG_TIMINGS", "1", TRUE);
  /* the app as a person starts it: the real AT-SPI bridge */
  g_subprocess_launcher_unsetenv (launcher, "GTK_A11Y");
  spawned = g_get_monotonic_time ();
  process = g_subprocess_launcher_spawn (launcher, error, app, arg, NULL);
  if (process == NULL)
    return FALSE;
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  while (!have_frame || !have_shown)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, error);

      if (line == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s exited before it printed its timings",
                         app, arg ? arg : "");
          g_subprocess_force_exit (process);
          return FALSE;
        }
      if (parse_timing (line, "first-frame-ms", &t))
        {
          *first_frame = ms (t - spawned);
          have_frame = TRUE;
        }
      else if (shown != NULL && parse_timing (line, "model-shown-ms", &t))
        {
          *shown = ms (t - spawned);
          have_shown = TRUE;
        }
    }
  /* the next instance must not find this one on the bus */
  g_subprocess_send_signal (process, SIGTERM);
  return g_subprocess_wait (process, NULL, error);
}

static void
bench_cold_start (const char *app)
{
  g_autoptr(GArray) empty = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) frame = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) shown = g_array_new (FALSE, FALSE, sizeof (double));

  for (int i = 0; i < COLD_RUNS; i++)
    {
      g_autoptr(GError) error = NULL;
      double f, s;

      if (!cold_start (app, NULL, &f, NULL, &error))
        g_error ("%s", error->message);
      g_array_append_val (empty, f);
      if (!cold_start (app, "--sample", &f, &s, &error))
        g_error ("%s", error->message);
      g_array_append_val (frame, f);
      g_array_append_val (shown, s);
    }
  g_print ("Cold start of %s, %d runs each (spawn → after-paint):\n", app, COLD_RUNS);
  print_spread ("  lathe: first frame", empty);
  print_spread ("  lathe --sample: first frame", frame);
  print_spread ("  lathe --sample: sample's accuracy on screen", shown);
}

/* ---------------------------------------------------------------------- */
/* Frames of the in-process window                                          */

typedef struct {
  GdkFrameClock *clock;
  gint64         update;      /* when the current frame began */
  double         update_cpu;  /* the main thread's CPU time then, ms */
  GArray        *paints;      /* gint64: after-paint times */
  GArray        *work;        /* double ms: update → after-paint */
  GArray        *work_cpu;    /* double ms: the main thread's CPU in that span */
  GArray        *paint_cpu;   /* double ms: the main thread's CPU at each after-paint */
  GArray        *paint_poll;  /* double ms: time spent in poll() until each after-paint */
  GArray        *paint_wait;  /* double ms: time runnable but not running, until each after-paint */
  gboolean       recording;
} Frames;

/* How long this thread has waited for a CPU while runnable
 * (/proc/thread-self/schedstat, second field, ns), or 0. */
static double
thread_runqueue_ms (void)
{
  g_autofree char *stat = NULL;
  g_auto(GStrv) f = NULL;

  if (!g_file_get_contents ("/proc/thread-self/schedstat", &stat, NULL, NULL))
    return 0;
  f = g_strsplit (stat, " ", 3);
  return g_strv_length (f) >= 2 ? g_ascii_strtoull (f[1], NULL, 10) / 1e6 : 0;
}

/* Wall time the main loop spent waiting in poll(): what is left of a long
 * frame interval was spent running (or runnable but not scheduled). */
static double poll_ms_total;

static int
timed_poll (GPollFD *fds,
            guint    nfds,
            int      timeout)
{
  gint64 t0 = g_get_monotonic_time ();
  int r = g_poll (fds, nfds, timeout);

  poll_ms_total += ms (g_get_monotonic_time () - t0);
  return r;
}

/* CPU time of the calling thread: a frame that took long on the wall
 * clock but little CPU waited (for a core, a lock or the X server). */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
frames_update_cb (GdkFrameClock *clock,
                  Frames        *frames)
{
  frames->update = g_get_monotonic_time ();
  frames->update_cpu = thread_cpu_ms ();
}

static void
frames_after_paint_cb (GdkFrameClock *clock,
                       Frames        *frames)
{
  gint64 now = g_get_monotonic_time ();

  double cpu = thread_cpu_ms ();

  g_array_append_val (frames->paints, now);
  g_array_append_val (frames->paint_cpu, cpu);
  g_array_append_val (frames->paint_poll, poll_ms_total);
  cpu = thread_runqueue_ms ();
  g_array_append_val (frames->paint_wait, cpu);
  if (frames->recording && frames->update != 0)
    {
      double w = ms (now - frames->update);
      double c = thread_cpu_ms () - frames->update_cpu;
      g_array_append_val (frames->work, w);
      g_array_append_val (frames->work_cpu, c);
    }
  frames->update = 0;
}

static void
frames_watch (Frames    *frames,
              GtkWidget *window)
{
  frames->clock = g_object_ref (gtk_widget_get_frame_clock (window));
  frames->paints = g_array_new (FALSE, FALSE, sizeof (gint64));
  frames->work = g_array_new (FALSE, FALSE, sizeof (double));
  frames->work_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  frames->paint_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  frames->paint_poll = g_array_new (FALSE, FALSE, sizeof (double));
  frames->paint_wait = g_array_new (FALSE, FALSE, sizeof (double));
  g_signal_connect (frames->clock, "update", G_CALLBACK (frames_update_cb), frames);
  g_signal_connect (frames->clock, "after-paint", G_CALLBACK (frames_after_paint_cb), frames);
}

static void
frames_unwatch (Frames *frames)
{
  g_signal_handlers_disconnect_by_data (frames->clock, frames);
  g_clear_object (&frames->clock);
  g_clear_pointer (&frames->paints, g_array_unref);
  g_clear_pointer (&frames->work, g_array_unref);
  g_clear_pointer (&frames->work_cpu, g_array_unref);
  g_clear_pointer (&frames->paint_cpu, g_array_unref);
  g_clear_pointer (&frames->paint_poll, g_array_unref);
  g_clear_pointer (&frames->paint_wait, g_array_unref);
}

typedef gboolean (*Condition) (LatheWindow *window, gpointer data);

static void
wait_until (LatheWindow *window,
            Condition    done,
            gpointer     data,
            const char  *what)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  guint wake = g_timeout_add (5, wake_cb, NULL);

  while (!done (window, data))
    {
      if (g_get_monotonic_time () > end)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);
}

/* Waits for the next frame painted after now; returns its time. */
static gint64
wait_for_paint (LatheWindow *window,
                Frames      *frames)
{
  guint n = frames->paints->len;
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  gtk_widget_queue_draw (GTK_WIDGET (window));
  while (frames->paints->len == n)
    {
      if (g_get_monotonic_time () > end)
        g_error ("timed out waiting for a frame");
      g_main_context_iteration (NULL, TRUE);
    }
  return g_array_index (frames->paints, gint64, n);
}

static gboolean
accuracy_shown (LatheWindow *window,
                gpointer     data)
{
  GtkLabel *label = _lathe_scoreboard_get_accuracy_label (_lathe_window_get_scoreboard (window));

  if (_lathe_window_get_error (window) != NULL)
    g_error ("the window shows an error: %s", _lathe_window_get_error (window));
  return g_strcmp0 (_lathe_window_get_page (window), "model") == 0 &&
         gtk_label_get_text (label)[0] != '\0';
}

static gboolean
result_shown (LatheWindow *window,
              gpointer     stage)
{
  LatheSessionResult *r = _lathe_window_get_result (window);

  return r != NULL && r->generation == _lathe_window_get_generation (window) &&
         r->stage >= (LatheStage) GPOINTER_TO_INT (stage);
}

/* ---------------------------------------------------------------------- */
/* 3. Drags                                                                 */

/* LATHE_BENCH_WORKER_NICE=N: an experiment, the compute threads (the
 * session's worker, OpenBLAS's, the GTask pool) at nice N, so that the GUI
 * thread wins a contended CPU. Returns how many threads it changed. */
static guint
renice_compute_threads (void)
{
  const char *nice = g_getenv ("LATHE_BENCH_WORKER_NICE");
  g_autoptr(GDir) dir = NULL;
  const char *tid;
  guint n = 0;

  if (nice == NULL || (dir = g_dir_open ("/proc/self/task", 0, NULL)) == NULL)
    return 0;
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", tid, "comm", NULL);
      g_autofree char *comm = NULL;
      int id = atoi (tid);

      if (id == getpid () || !g_file_get_contents (path, &comm, NULL, NULL))
        continue;
      g_strstrip (comm);
      /* GLib's and GDBus's threads serve the main loop and the a11y bus */
      if (g_str_equal (comm, "gmain") || g_str_equal (comm, "gdbus"))
        continue;
      /* LATHE_BENCH_NICE_COMM: only the threads of this name */
      if (g_getenv ("LATHE_BENCH_NICE_COMM") && !g_str_equal (comm, g_getenv ("LATHE_BENCH_NICE_COMM")))
        continue;
      if (setpriority (PRIO_PROCESS, id, atoi (nice)) == 0)
        n++;
    }
  return n;
}

typedef struct {
  LatheWindow   *window;
  gpointer       last_result;
  guint          results;
  GtkAdjustment *adjustment;
  int            lo, hi, step;
  int            value;
  guint          changes;
  gint64         end;
  gboolean       done;
} Drag;

/* Every frame the slider moves on, back and forth between lo and hi. */
static gboolean
drag_tick_cb (GtkWidget     *widget,
              GdkFrameClock *clock,
              gpointer       user_data)
{
  Drag *drag = user_data;
  gpointer result = _lathe_window_get_result (drag->window);

  /* figures that reached the scoreboard since the last frame */
  if (result != drag->last_result)
    drag->results++;
  drag->last_result = result;
  if (g_get_monotonic_time () >= drag->end)
    {
      drag->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  if (drag->value + drag->step > drag->hi || drag->value + drag->step < drag->lo)
    drag->step = -drag->step;
  drag->value += drag->step;
  gtk_adjustment_set_value (drag->adjustment, drag->value);
  drag->changes++;
  return G_SOURCE_CONTINUE;
}

static gboolean
drag_done (LatheWindow *window,
           gpointer     drag)
{
  return ((Drag *) drag)->done;
}

static void
bench_drag (LatheWindow *window,
            Frames      *frames,
            const char  *slider,
            int          lo,
            int          hi)
{
  GtkWidget *scale = find_scale (GTK_WIDGET (_lathe_window_get_layer_table (window)), slider);
  g_autoptr(GArray) intervals = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) sorted_work = NULL;
  Drag drag = { 0 };
  guint first_paint, slow = 0;
  guint64 generation0 = _lathe_window_get_generation (window);
  double worst_work = 0;
  g_autoptr(GArray) sorted_cpu = NULL;
  struct rusage before, after;
  double cpu0, wall_long_cpu_short = 0;
  guint long_frames = 0, long_cpu_frames = 0;
  g_autofree char *load = NULL;
  g_autoptr(GString) slow_lines = g_string_new (NULL);

  if (scale == NULL)
    g_error ("no slider named “%s” in the layer table", slider);
  drag.window = window;
  drag.last_result = _lathe_window_get_result (window);
  drag.adjustment = gtk_range_get_adjustment (GTK_RANGE (scale));
  drag.lo = lo;
  drag.hi = hi;
  drag.step = 1;
  drag.value = (int) gtk_adjustment_get_value (drag.adjustment);
  drag.end = g_get_monotonic_time () + DRAG_SECONDS * G_USEC_PER_SEC;

  if (g_getenv ("LATHE_BENCH_WORKER_NICE"))
    g_print ("(experiment: %u compute threads at nice %s)\n", renice_compute_threads (),
             g_getenv ("LATHE_BENCH_WORKER_NICE"));
  g_array_set_size (frames->work, 0);
  g_array_set_size (frames->work_cpu, 0);
  first_paint = frames->paints->len;
  getrusage (RUSAGE_THREAD, &before);
  cpu0 = thread_cpu_ms ();
  frames->recording = TRUE;
  gtk_widget_add_tick_callback (scale, drag_tick_cb, &drag, NULL);
  wait_until (window, drag_done, &drag, "the drag");
  frames->recording = FALSE;
  getrusage (RUSAGE_THREAD, &after);
  cpu0 = thread_cpu_ms () - cpu0;
  g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);

  /* frames whose own span was long: computing, or waiting? */
  for (guint i = 0; i < frames->work->len; i++)
    if (g_array_index (frames->work, double, i) > 50.0)
      {
        long_frames++;
        if (g_array_index (frames->work_cpu, double, i) > 25.0)
          long_cpu_frames++;
        wall_long_cpu_short = MAX (wall_long_cpu_short, g_array_index (frames->work_cpu, double, i));
      }

  for (guint i = first_paint + 1; i < frames->paints->len; i++)
    {
      double d = ms (g_array_index (frames->paints, gint64, i) - g_array_index (frames->paints, gint64, i - 1));
      g_array_append_val (intervals, d);
      if (d * 1000 > SLOW_FRAME_US)
        {
          double cpu = g_array_index (frames->paint_cpu, double, i) - g_array_index (frames->paint_cpu, double, i - 1);
          double poll = g_array_index (frames->paint_poll, double, i) - g_array_index (frames->paint_poll, double, i - 1);

          double wait = g_array_index (frames->paint_wait, double, i) - g_array_index (frames->paint_wait, double, i - 1);

          slow++;
          g_string_append_printf (slow_lines, "  slow frame #%u: %6.1f ms: main thread ran %5.1f ms, waited for a CPU %5.1f ms, "
                                  "slept %5.1f ms (%5.1f in the main loop's poll, %5.1f elsewhere: X, locks)\n",
                                  i - first_paint, d, cpu, wait, d - cpu - wait, poll, MAX (0.0, d - cpu - wait - poll));
        }
    }
  g_array_sort (intervals, cmp_double);
  sorted_work = g_array_copy (frames->work);
  g_array_sort (sorted_work, cmp_double);
  if (sorted_work->len > 0)
    worst_work = g_array_index (sorted_work, double, sorted_work->len - 1);

  g_print ("Drag “%s” %d s, the value changed on each of %u frames, %" G_GUINT64_FORMAT " plans sent, "
           "figures shown %u times:\n",
           slider, DRAG_SECONDS, drag.changes, _lathe_window_get_generation (window) - generation0, drag.results);
  g_print ("  frame interval   max %6.1f ms   p99 %6.1f   median %6.1f   over 50 ms: %u of %u frames\n",
           g_array_index (intervals, double, intervals->len - 1), quantile (intervals, 0.99),
           quantile (intervals, 0.5), slow, intervals->len);
  g_print ("  frame work       max %6.1f ms   p99 %6.1f   median %6.1f   (update → after-paint, wall clock)\n",
           worst_work, quantile (sorted_work, 0.99), quantile (sorted_work, 0.5));
  sorted_cpu = g_array_copy (frames->work_cpu);
  g_array_sort (sorted_cpu, cmp_double);
  g_print ("  frame work CPU   max %6.1f ms   p99 %6.1f   median %6.1f   (the main thread's own CPU time)\n",
           g_array_index (sorted_cpu, double, sorted_cpu->len - 1), quantile (sorted_cpu, 0.99),
           quantile (sorted_cpu, 0.5));
  g_print ("  frames whose work took > 50 ms: %u, of which > 25 ms of CPU: %u (most CPU in one: %.1f ms); "
           "main thread %.0f ms CPU in %d s, %ld involuntary context switches; load %s",
           long_frames, long_cpu_frames, wall_long_cpu_short, cpu0, DRAG_SECONDS,
           after.ru_nivcsw - before.ru_nivcsw, load ? load : "?\n");
  g_print ("%s", slow_lines->str);

  /* let the last plan finish so the next drag starts alike */
  wait_until (window, result_shown, GINT_TO_POINTER (LATHE_STAGE_FULL), "the last plan's figures");
}

/* ---------------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  /* before anything else: how long exec, the loader and libraries took */
  double since_start = _lathe_debug_ms_since_process_start ();
  gint64 t_main = g_get_monotonic_time ();
  const char *app = argc > 1 ? argv[1] : g_getenv ("LATHE_APP");
  LatheWindow *window;
  Frames frames = { 0 };
  gint64 t_frame;

  /* 2. in process, first, so that "process start" means this process */
  gtk_init ();
  adw_init ();
  g_main_context_set_poll_func (NULL, timed_poll);
  window = g_object_ref (lathe_window_new (NULL));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);
  gtk_widget_realize (GTK_WIDGET (window));
  frames_watch (&frames, GTK_WIDGET (window));
  gtk_window_present (GTK_WINDOW (window));
  while (frames.paints->len == 0)
    g_main_context_iteration (NULL, TRUE);
  t_frame = g_array_index (frames.paints, gint64, 0);
  g_print ("In process (the real LatheWindow, no GApplication):\n");
  g_print ("  process start → first frame %.1f ms (main() → first frame %.1f ms; "
           "process start from /proc/self/stat, 10 ms ticks)\n",
           since_start + ms (t_frame - t_main), ms (t_frame - t_main));

  for (int run = 0; run < OPEN_RUNS; run++)
    {
      gint64 t0 = g_get_monotonic_time ();
      gint64 t_accuracy, t_first, t_full;

      if (!gtk_widget_activate_action (GTK_WIDGET (window), "win.open-sample", NULL))
        g_error ("win.open-sample is not enabled");
      wait_until (window, accuracy_shown, NULL, "the sample's accuracy");
      t_accuracy = wait_for_paint (window, &frames);
      wait_until (window, result_shown, GINT_TO_POINTER (LATHE_STAGE_SUBSET), "the first figures");
      t_first = wait_for_paint (window, &frames);
      wait_until (window, result_shown, GINT_TO_POINTER (LATHE_STAGE_FULL), "the full-set figures");
      t_full = wait_for_paint (window, &frames);
      g_print ("  open sample #%d → its accuracy painted %6.1f ms, first figures of the plan %6.1f ms, "
               "full set %6.1f ms\n", run + 1, ms (t_accuracy - t0), ms (t_first - t0), ms (t_full - t0));
    }

  bench_drag (window, &frames, "Sparsity for fc1.weight", 0, 99);
  bench_drag (window, &frames, "Bits for conv1.weight", 0, 9);

  frames_unwatch (&frames);
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (window);
  drain ();

  /* 1. the real binary, with this process idle */
  if (app != NULL && app[0] != '\0')
    bench_cold_start (app);
  else
    g_print ("Cold start: skipped (set LATHE_APP or pass the lathe binary)\n");
  return EXIT_SUCCESS;
}
