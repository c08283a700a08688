/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include <string.h>

#include <glib/gi18n.h>

#include "lathe-app-format.h"

static const int bits_at[LATHE_BITS_POSITIONS] = { 1, 2, 3, 4, 5, 6, 7, 8, 16, 32 };

int
lathe_bits_for_position (double position)
{
  int i = (int) lround (position);

  return bits_at[CLAMP (i, 0, LATHE_BITS_POSITIONS - 1)];
}

double
lathe_position_for_bits (int bits)
{
  /* the nearest position at or above the value */
  for (int i = 0; i < LATHE_BITS_POSITIONS; i++)
    if (bits <= bits_at[i])
      return i;
  return LATHE_BITS_POSITIONS - 1;
}

char *
lathe_format_size_change (guint64 before,
                          guint64 after)
{
  g_autofree char *b = g_format_size (before);
  g_autofree char *a = g_format_size (after);

  if (before == after)
    return g_steal_pointer (&b);
  /* translators: original size → compressed size */
  return g_strdup_printf (_("%s → %s"), b, a);
}

char *
lathe_format_size_ratio (guint64 before,
                         guint64 after)
{
  if (before == after || before == 0 || after == 0)
    return g_strdup (_("Same size"));
  /* Near 1× a factor says little; a share says more. */
  if (after < before && (double) before / (double) after < 1.1)
    /* translators: how much smaller the compressed model is, in percent */
    return g_strdup_printf (_("%.1f\u00a0%% smaller"), 100.0 * (1.0 - (double) after / (double) before));
  if (after > before && (double) after / (double) before < 1.1)
    /* translators: how much larger the compressed model is, in percent */
    return g_strdup_printf (_("%.1f\u00a0%% larger"), 100.0 * ((double) after / (double) before - 1.0));
  if (after < before)
    /* translators: how many times smaller the compressed model is */
    return g_strdup_printf (_("%.2f× smaller"), (double) before / (double) after);
  /* translators: how many times larger the compressed model is */
  return g_strdup_printf (_("%.2f× larger"), (double) after / (double) before);
}

char *
lathe_format_accuracy (double accuracy)
{
  /* translators: an accuracy in percent; a no-break space keeps the sign with the number */
  return g_strdup_printf (_("%.2f\u00a0%%"), 100.0 * accuracy);
}

char *
lathe_format_points (double delta)
{
  double points = 100.0 * delta;

  if (fabs (points) < 0.005)
    return g_strdup (_("No change"));
  if (points < 0)
    /* translators: a fall in accuracy, in percentage points; the sign is U+2212 */
    return g_strdup_printf (_("−%.2f points"), -points);
  /* translators: a rise in accuracy, in percentage points */
  return g_strdup_printf (_("+%.2f points"), points);
}

char *
lathe_format_shape (gsize rows,
                    gsize rows_before,
                    gsize cols)
{
  if (rows_before > rows)
    /* translators: units kept of the original units × inputs per unit */
    return g_strdup_printf (_("%zu of %zu × %zu"), (size_t) rows, (size_t) rows_before, (size_t) cols);
  /* translators: units × inputs per unit */
  return g_strdup_printf (_("%zu × %zu"), (size_t) rows, (size_t) cols);
}

char *
lathe_format_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      /* U+202F NARROW NO-BREAK SPACE: the SI digit grouping, any locale */
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append (out, "\u202f");
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

char *
lathe_format_macs (guint64 n)
{
  if (n < 1000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  if (n < 1000000)
    /* translators: thousands of multiply-accumulates */
    return g_strdup_printf (_("%.1f\u00a0k"), n / 1e3);
  if (n < 1000000000)
    /* translators: millions of multiply-accumulates */
    return g_strdup_printf (_("%.2f\u00a0M"), n / 1e6);
  /* translators: billions of multiply-accumulates */
  return g_strdup_printf (_("%.2f\u00a0G"), n / 1e9);
}

char *
lathe_format_time_per_sample (double seconds)
{
  if (seconds < 1e-3)
    /* translators: microseconds */
    return g_strdup_printf (_("%.0f\u00a0µs"), seconds * 1e6);
  /* translators: milliseconds */
  return g_strdup_printf (_("%.1f\u00a0ms"), seconds * 1e3);
}
