/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-data"

#include <string.h>

#include "core/lathe-error.h"
#include "data/lathe-npy-private.h"

/* https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
static const guint8 npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

/* numpy refuses headers above 10 000 bytes by default; allow far more, but
 * not so much that a hostile length makes us allocate gigabytes. */
#define NPY_MAX_HEADER (1u << 20)
/* numpy pads the header so that the data starts on a 64-byte boundary. */
#define NPY_ALIGN 64
/* numpy leaves room for the growth axis to reach 21 digits, so a header can
 * be rewritten in place as an array is appended to. */
#define NPY_GROWTH_AXIS_MAX_DIGITS 21

static const char npy_supported[] =
  "'<f4' (float32), '|u1' (uint8), '|i1' (int8), '<i4' (int32) or '<i8' (int64)";

/* ---------------------------------------------------------- parsing --- */

typedef struct {
  const char *start;
  const char *p;
  const char *end;
} Cursor;

static void
skip_space (Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean
malformed (LatheDataReader  *reader,
           const Cursor     *c,
           const char       *expected,
           GError          **error)
{
  g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
               "%s has a malformed header: expected %s at character %d of the "
               "header dictionary",
               _lathe_data_reader_get_label (reader), expected,
               (int) (c->p - c->start) + 1);
  return FALSE;
}

static gboolean
accept_char (Cursor *c,
             char    ch)
{
  skip_space (c);
  if (c->p < c->end && *c->p == ch)
    {
      c->p++;
      return TRUE;
    }
  return FALSE;
}

/* A Python string literal without escapes: all numpy ever writes here. */
static gboolean
parse_string (Cursor  *c,
              char   **out)
{
  const char *s;
  char quote;

  skip_space (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return FALSE;
  quote = *c->p++;
  s = c->p;
  while (c->p < c->end && *c->p != quote)
    {
      if (*c->p == '\\' || *c->p == '\n' || *c->p == '\0')
        return FALSE;
      c->p++;
    }
  if (c->p >= c->end)
    return FALSE;
  *out = g_strndup (s, (gsize) (c->p - s));
  c->p++;
  return TRUE;
}

static gboolean
accept_word (Cursor     *c,
             const char *word)
{
  gsize len = strlen (word);

  skip_space (c);
  if ((gsize) (c->end - c->p) >= len && memcmp (c->p, word, len) == 0)
    {
      const char *after = c->p + len;

      /* "Falsehood" is not False. */
      if (after < c->end && (g_ascii_isalnum (*after) || *after == '_'))
        return FALSE;
      c->p = after;
      return TRUE;
    }
  return FALSE;
}

static gboolean
parse_dim (Cursor *c,
           gint64 *out)
{
  gint64 v = 0;
  const char *digits;

  skip_space (c);
  digits = c->p;
  while (c->p < c->end && g_ascii_isdigit (*c->p))
    {
      gint d = *c->p - '0';

      if (v > (G_MAXINT64 - d) / 10)
        return FALSE;
      v = v * 10 + d;
      c->p++;
    }
  if (c->p == digits)
    return FALSE;
  /* Python 2 numpy wrote longs as "10L". */
  if (c->p < c->end && *c->p == 'L')
    c->p++;
  *out = v;
  return TRUE;
}

static gboolean
parse_shape (LatheDataReader  *reader,
             Cursor           *c,
             LatheNpyHeader   *header,
             GError          **error)
{
  guint ndim = 0;
  gboolean trailing_comma = FALSE;

  if (!accept_char (c, '('))
    return malformed (reader, c, "a tuple '(…)' as 'shape'", error);

  while (!accept_char (c, ')'))
    {
      gint64 dim;

      if (ndim > 0 && !trailing_comma)
        return malformed (reader, c, "',' or ')' in 'shape'", error);
      if (!parse_dim (c, &dim))
        return malformed (reader, c, "a non-negative integer in 'shape'", error);
      if (ndim == LATHE_MAX_DIMS)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                       "%s has more than %u dimensions",
                       _lathe_data_reader_get_label (reader), LATHE_MAX_DIMS);
          return FALSE;
        }
      header->dims[ndim++] = dim;
      trailing_comma = accept_char (c, ',');
    }

  /* "(5)" is the integer 5 in Python, not a tuple. */
  if (ndim == 1 && !trailing_comma)
    return malformed (reader, c, "'(n,)' for a one-dimensional 'shape'", error);
  header->ndim = ndim;
  return TRUE;
}

static gboolean
parse_descr (LatheDataReader  *reader,
             const char       *descr,
             LatheNpyHeader   *header,
             GError          **error)
{
  static const struct {
    char       kind;
    guint      size;
    LatheDType dtype;
  } types[] = {
    { 'f', 4, LATHE_DTYPE_FLOAT },
    { 'u', 1, LATHE_DTYPE_UINT8 },
    { 'i', 1, LATHE_DTYPE_INT8 },
    { 'i', 4, LATHE_DTYPE_INT32 },
    { 'i', 8, LATHE_DTYPE_INT64 },
  };
  char order;
  char kind;
  guint64 size;
  char *end = NULL;
  gboolean little;

  if (strlen (descr) < 3 || strlen (descr) >= sizeof header->descr ||
      strchr ("<>|=", descr[0]) == NULL || !g_ascii_isalpha (descr[1]) ||
      !g_ascii_isdigit (descr[2]))
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s holds '%s' data; Lathe reads %s",
                   _lathe_data_reader_get_label (reader), descr, npy_supported);
      return FALSE;
    }
  order = descr[0];
  kind = descr[1];
  size = g_ascii_strtoull (descr + 2, &end, 10);
  if (*end != '\0')
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s holds '%s' data; Lathe reads %s",
                   _lathe_data_reader_get_label (reader), descr, npy_supported);
      return FALSE;
    }

  if (order == '>' && size > 1)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s holds big-endian '%s' data; save it little-endian "
                   "(array.astype('<%c%u')) for Lathe",
                   _lathe_data_reader_get_label (reader), descr, kind, (guint) size);
      return FALSE;
    }
  if (order == '|' && size > 1)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s has descr '%s': a %u-byte type needs a byte order",
                   _lathe_data_reader_get_label (reader), descr, (guint) size);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (types[i].kind == kind && types[i].size == size)
      {
        header->dtype = types[i].dtype;
        g_strlcpy (header->descr, descr, sizeof header->descr);
        /* '=' is the native order of the machine reading the file. */
        little = order == '<' || (order == '=' && G_BYTE_ORDER == G_LITTLE_ENDIAN);
        header->swap = size > 1 && order != '=' &&
                       (little != (G_BYTE_ORDER == G_LITTLE_ENDIAN));
        return TRUE;
      }

  g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
               "%s holds '%s' data; Lathe reads %s",
               _lathe_data_reader_get_label (reader), descr, npy_supported);
  return FALSE;
}

/* The header is a Python dict literal with exactly the keys 'descr',
 * 'fortran_order' and 'shape', as numpy itself requires. */
static gboolean
parse_header_dict (LatheDataReader  *reader,
                   const char       *text,
                   gsize             len,
                   LatheNpyHeader   *header,
                   GError          **error)
{
  Cursor c = { text, text, text + len };
  g_autofree char *descr = NULL;
  gboolean have_fortran = FALSE, have_shape = FALSE;
  gboolean fortran = FALSE;

  if (!accept_char (&c, '{'))
    return malformed (reader, &c, "'{'", error);

  while (!accept_char (&c, '}'))
    {
      g_autofree char *key = NULL;

      if (!parse_string (&c, &key))
        return malformed (reader, &c, "a quoted key or '}'", error);
      if (!accept_char (&c, ':'))
        return malformed (reader, &c, "':' after a key", error);

      if (strcmp (key, "descr") == 0 && descr == NULL)
        {
          skip_space (&c);
          if (c.p < c.end && *c.p == '[')
            {
              g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                           "%s holds a structured array; Lathe reads plain arrays of %s",
                           _lathe_data_reader_get_label (reader), npy_supported);
              return FALSE;
            }
          if (!parse_string (&c, &descr))
            return malformed (reader, &c, "a quoted type string as 'descr'", error);
        }
      else if (strcmp (key, "fortran_order") == 0 && !have_fortran)
        {
          if (accept_word (&c, "True"))
            fortran = TRUE;
          else if (accept_word (&c, "False"))
            fortran = FALSE;
          else
            return malformed (reader, &c, "True or False as 'fortran_order'", error);
          have_fortran = TRUE;
        }
      else if (strcmp (key, "shape") == 0 && !have_shape)
        {
          if (!parse_shape (reader, &c, header, error))
            return FALSE;
          have_shape = TRUE;
        }
      else
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                       "%s has a malformed header: unexpected or repeated key '%s' "
                       "(expected 'descr', 'fortran_order' and 'shape' once each)",
                       _lathe_data_reader_get_label (reader), key);
          return FALSE;
        }

      if (!accept_char (&c, ','))
        {
          if (!accept_char (&c, '}'))
            return malformed (reader, &c, "',' or '}'", error);
          break;
        }
    }

  /* numpy pads with spaces and ends with '\n'; nothing else may follow. */
  skip_space (&c);
  if (c.p != c.end)
    return malformed (reader, &c, "only padding after '}'", error);

  if (descr == NULL || !have_fortran || !have_shape)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s has a malformed header: the key '%s' is missing",
                   _lathe_data_reader_get_label (reader),
                   descr == NULL ? "descr" : !have_fortran ? "fortran_order" : "shape");
      return FALSE;
    }

  if (!parse_descr (reader, descr, header, error))
    return FALSE;

  /* With at most one dimension both orders are the same bytes. */
  if (fortran && header->ndim > 1)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s is stored in Fortran (column-major) order; save a "
                   "C-ordered copy (numpy.ascontiguousarray) for Lathe",
                   _lathe_data_reader_get_label (reader));
      return FALSE;
    }
  return TRUE;
}

gboolean
_lathe_npy_read_header (LatheDataReader  *reader,
                        LatheNpyHeader   *header,
                        GCancellable     *cancellable,
                        GError          **error)
{
  guint8 preamble[8];
  guint8 len_bytes[4];
  guint32 header_len;
  g_autofree char *text = NULL;
  gsize esize;

  memset (header, 0, sizeof *header);

  if (!_lathe_data_reader_read (reader, preamble, sizeof preamble, "the NPY preamble",
                                cancellable, error))
    return FALSE;
  if (memcmp (preamble, npy_magic, sizeof npy_magic) != 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s is not an NPY file: it does not start with \\x93NUMPY",
                   _lathe_data_reader_get_label (reader));
      return FALSE;
    }

  switch (preamble[6] * 256 + preamble[7])
    {
    case 0x0100:
      if (!_lathe_data_reader_read (reader, len_bytes, 2, "the NPY header length",
                                    cancellable, error))
        return FALSE;
      header_len = len_bytes[0] | (guint32) len_bytes[1] << 8;
      break;

    case 0x0200:
    case 0x0300:  /* 3.0 only allows UTF-8 in the header; we need ASCII anyway */
      if (!_lathe_data_reader_read (reader, len_bytes, 4, "the NPY header length",
                                    cancellable, error))
        return FALSE;
      header_len = len_bytes[0] | (guint32) len_bytes[1] << 8 |
                   (guint32) len_bytes[2] << 16 | (guint32) len_bytes[3] << 24;
      break;

    default:
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s is NPY format version %u.%u; Lathe reads versions 1.0, 2.0 and 3.0",
                   _lathe_data_reader_get_label (reader), preamble[6], preamble[7]);
      return FALSE;
    }

  if (header_len > NPY_MAX_HEADER)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s claims a header of %u bytes; at most %u are accepted",
                   _lathe_data_reader_get_label (reader), header_len, NPY_MAX_HEADER);
      return FALSE;
    }
  if (!_lathe_data_reader_check_size (reader, header_len, "the NPY header", error))
    return FALSE;

  text = g_malloc (header_len + 1);
  if (!_lathe_data_reader_read (reader, text, header_len, "the NPY header",
                                cancellable, error))
    return FALSE;
  text[header_len] = '\0';

  if (!parse_header_dict (reader, text, header_len, header, error))
    return FALSE;

  esize = lathe_dtype_size (header->dtype);
  if (!lathe_shape_numel (header->ndim, header->dims, &header->n) ||
      header->n > G_MAXSIZE / 16 / esize)
    {
      g_autofree char *shape = lathe_shape_to_string (header->ndim, header->dims);
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s has shape %s, which is too large",
                   _lathe_data_reader_get_label (reader), shape);
      return FALSE;
    }
  header->nbytes = header->n * esize;

  return _lathe_data_reader_check_size (reader, header->nbytes, "the array data", error);
}

static void
swap_bytes (gpointer data,
            gsize    n,
            gsize    esize)
{
  if (esize == 4)
    {
      guint32 *p = data;
      for (gsize i = 0; i < n; i++)
        p[i] = GUINT32_SWAP_LE_BE (p[i]);
    }
  else if (esize == 8)
    {
      guint64 *p = data;
      for (gsize i = 0; i < n; i++)
        p[i] = GUINT64_SWAP_LE_BE (p[i]);
    }
  else
    g_assert (esize == 1);
}

gboolean
_lathe_npy_read_data (LatheDataReader       *reader,
                      const LatheNpyHeader  *header,
                      gpointer               dst,
                      GCancellable          *cancellable,
                      GError               **error)
{
  g_autofree char *shape = NULL;
  g_autofree char *described = NULL;

  if (!_lathe_data_reader_read (reader, dst, header->nbytes, "the array data",
                                cancellable, error))
    return FALSE;
  if (header->swap)
    swap_bytes (dst, header->n, lathe_dtype_size (header->dtype));

  shape = lathe_shape_to_string (header->ndim, header->dims);
  described = g_strdup_printf ("its header ('%s', shape %s)", header->descr, shape);
  return _lathe_data_reader_expect_end (reader, described, cancellable, error);
}

/* ---------------------------------------------------------- public --- */

LatheTensor *
lathe_npy_read (const char  *path,
                GError     **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(LatheDataReader) reader = NULL;
  g_autoptr(LatheTensor) tensor = NULL;
  LatheNpyHeader header;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  file = g_file_new_for_path (path);
  reader = _lathe_data_reader_open (file, "NPY file", NULL, NULL, error);
  if (reader == NULL || !_lathe_npy_read_header (reader, &header, NULL, error))
    return NULL;

  tensor = lathe_tensor_new_checked (header.dtype, header.ndim, header.dims, error);
  if (tensor == NULL)
    return NULL;
  if (!_lathe_npy_read_data (reader, &header, tensor->data, NULL, error))
    return NULL;
  return g_steal_pointer (&tensor);
}

static const char *
npy_descr_for (LatheDType dtype)
{
  switch (dtype)
    {
    case LATHE_DTYPE_FLOAT: return "<f4";
    case LATHE_DTYPE_UINT8: return "|u1";
    case LATHE_DTYPE_INT8:  return "|i1";
    case LATHE_DTYPE_INT32: return "<i4";
    case LATHE_DTYPE_INT64: return "<i8";
    default:                return NULL;
    }
}

gboolean
lathe_npy_write (const char     *path,
                 LatheDType      dtype,
                 guint           ndim,
                 const gint64   *dims,
                 gconstpointer   data,
                 GError        **error)
{
  const char *descr = npy_descr_for (dtype);
  g_autoptr(GString) dict = NULL;
  g_autofree guint8 *buf = NULL;
  gsize n, esize, nbytes, header_len, total, pad;
  GError *local = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (ndim <= LATHE_MAX_DIMS, FALSE);
  g_return_val_if_fail (ndim == 0 || dims != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (descr == NULL)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "Cannot write %s data to NPY file %s; Lathe writes %s",
                   lathe_dtype_name (dtype), path, npy_supported);
      return FALSE;
    }
  esize = lathe_dtype_size (dtype);
  if (!lathe_shape_numel (ndim, dims, &n) || n > (G_MAXSIZE - 65536) / esize)
    {
      g_autofree char *shape = lathe_shape_to_string (ndim, dims);
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "Cannot write NPY file %s: shape %s is negative or too large",
                   path, shape);
      return FALSE;
    }
  nbytes = n * esize;
  g_return_val_if_fail (nbytes == 0 || data != NULL, FALSE);

  /* Exactly numpy.lib.format's layout, so files compare equal byte for
   * byte with numpy.save(): sorted keys, ", " after every item, spare room
   * for the growth axis, then spaces and '\n' up to a 64-byte boundary. */
  dict = g_string_new (NULL);
  g_string_append_printf (dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (dict, "%s%" G_GINT64_FORMAT, i ? ", " : "", dims[i]);
  g_string_append (dict, ndim == 1 ? ",), }" : "), }");
  if (ndim > 0)
    {
      g_autofree char *first = g_strdup_printf ("%" G_GINT64_FORMAT, dims[0]);
      gsize digits = strlen (first);

      if (digits < NPY_GROWTH_AXIS_MAX_DIGITS)
        g_string_append_printf (dict, "%*s", (int) (NPY_GROWTH_AXIS_MAX_DIGITS - digits), "");
    }
  pad = NPY_ALIGN - ((sizeof npy_magic + 2 + 2 + dict->len + 1) % NPY_ALIGN);
  g_string_append_printf (dict, "%*s\n", (int) pad, "");
  header_len = dict->len;
  g_assert (header_len <= G_MAXUINT16);  /* at most 8 dims of 19 digits */

  total = sizeof npy_magic + 2 + 2 + header_len + nbytes;
  buf = g_malloc (total);
  memcpy (buf, npy_magic, sizeof npy_magic);
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = header_len & 0xff;
  buf[9] = header_len >> 8;
  memcpy (buf + 10, dict->str, header_len);
  if (nbytes > 0)
    memcpy (buf + 10 + header_len, data, nbytes);
  if (G_BYTE_ORDER != G_LITTLE_ENDIAN)
    swap_bytes (buf + 10 + header_len, n, esize);

  if (!g_file_set_contents (path, (const char *) buf, (gssize) total, &local))
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_IO,
                   "Cannot write NPY file %s: %s", path, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}
