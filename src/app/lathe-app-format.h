/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the app shows for numbers: plain functions, so tests can check them
 * without a display. Every returned string is newly allocated. */

/* A bits scale's positions 0 … 9 stand for 1, 2, …, 8, 16 and 32 bits. */
#define LATHE_BITS_POSITIONS 10

int     lathe_bits_for_position   (double   position);
double  lathe_position_for_bits   (int      bits);

/* "247.2 kB → 32.6 kB" (or one size when they are equal). */
char   *lathe_format_size_change  (guint64  before,
                                   guint64  after);
/* "7.58× smaller", "2.10× larger", "0.2 % smaller" near 1×, "Same size". */
char   *lathe_format_size_ratio   (guint64  before,
                                   guint64  after);
/* An accuracy 0 … 1 as "89.51 %" (with a no-break space, as g_format_size()
 * puts before its units). */
char   *lathe_format_accuracy     (double   accuracy);
/* A change of accuracy 0 … 1 in percentage points: "−1.15 points",
 * "+0.20 points", "No change". */
char   *lathe_format_points       (double   delta);
/* "units × inputs", with the original units when width removed some:
 * "60 of 120 × 400". */
char   *lathe_format_shape        (gsize    rows,
                                   gsize    rows_before,
                                   gsize    cols);
/* A count with thin spaces between thousands: "48 000", "1 234 567". */
char   *lathe_format_count        (guint64  n);
/* Multiply-accumulates: "840", "416.5 k", "1.23 M", "4.56 G". */
char   *lathe_format_macs         (guint64  n);
/* Seconds per sample as "82 µs", "1.4 ms". */
char   *lathe_format_time_per_sample (double seconds);

G_END_DECLS
