/* SPDX-License-Identifier: MIT */
#pragma once

/* Running lathe-cli ($LATHE_CLI) from the tests/cli tests and reporting
 * what went wrong without stopping the test. */

#include <stdarg.h>

#include <gio/gio.h>

/* Marks the test failed and logs why: g_test_fail_printf() alone keeps
 * only the last message of a test. */
static inline void G_GNUC_PRINTF (1, 2)
fail_printf (const char *format,
             ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_test_message ("FAIL: %s", msg);
  g_test_fail_printf ("%s", msg);
}

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static inline void
run_clear (Run *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static inline void
run_cli_argv (Run                *r,
              const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("LATHE_CLI");

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (gpointer) cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  run_clear (r);
  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error));
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (proc);
}

static inline void
run_cli (Run *r, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  run_cli_argv (r, (const char * const *) args->pdata);
}

/* Reports the run's exit status and stderr when it is not the expected one;
 * returns whether it was. */
static inline gboolean
expect_status (const Run  *r,
               int         status,
               const char *what)
{
  g_autofree char *err = NULL;

  if (r->status == status)
    return TRUE;
  err = g_strchomp (g_strdup (r->err));
  fail_printf ("%s: exit %d, expected %d; stderr: %s", what, r->status, status, err);
  return FALSE;
}
