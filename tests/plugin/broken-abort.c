/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Test fixture: a module that kills any process that opens it. Its keyfile
 * says ABI=99, so the registry must refuse it from the keyfile alone and
 * never open it: if it did, the test would abort right here. */

#include <stdio.h>
#include <stdlib.h>

#include "plugin/lathe-plugin.h"

__attribute__((constructor)) static void
broken_abort_opened (void)
{
  fputs ("broken-abort: opened although its keyfile has the wrong ABI\n", stderr);
  abort ();
}

G_MODULE_EXPORT const LathePluginModuleInfo *
lathe_plugin_query (void)
{
  static const LathePluginModuleInfo info = { .abi = 99, .name = "broken-abort" };
  return &info;
}
