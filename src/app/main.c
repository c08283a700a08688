/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "lathe-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LatheApplication) app = NULL;

  lathe_application_init_i18n ();
  app = lathe_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
