/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include "lathe-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LatheApplication) app = lathe_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
