/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-pipeline"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/lathe-pipeline.h"
#include "pipeline/lathe-pipeline-private.h"

/* Nesting deeper than this is not a pipeline file. */
#define MAX_DEPTH 64

static const int group_sizes[] = LATHE_GROUP_SIZES;

/* Keys in the order the writer emits them; the reader lists them in this
 * order when it meets an unknown key. */
static const char * const top_keys[] = {
  "format", "version", "tool", "seed", "model", "data", "defaults", "layers",
  "training", "results", NULL
};
static const char * const model_keys[] = { "path", "sha256", NULL };
static const char * const data_keys[] = { "spec", "mean", "std", "sha256", "subset", NULL };
static const char * const subset_keys[] = { "size", "seed", NULL };
static const char * const defaults_keys[] = {
  "quantizer", "bits", "granularity", "affine", "scale", "pruner", "pattern",
  "sparsity", "global_sparsity", "width", "fold_bn", "params",
  "importance", "calibration", "calibration_samples", NULL
};
static const char * const layer_keys[] = {
  "bits", "granularity", "affine", "scale", "quantizer", "sparsity", "pattern",
  "pruner", "width", "skip", NULL
};
static const char * const training_keys[] = {
  "method", "epochs", "temperature", "alpha", "lr", "batch", "seed", "data",
  "data_sha256", "limit", "optimizer", "momentum", "weight_decay", "schedule", NULL
};
static const char * const results_keys[] = {
  "accuracy", "baseline_accuracy", "fidelity", "size_bytes", "baseline_size_bytes",
  "file_size_bytes", "model_sha256", NULL
};

static const char * const quantizers[] = { "uniform", "palette", NULL };
static const char * const scales[] = { "maxabs", "mse", NULL };
static const char * const pruners[] = { "magnitude", "nm", "channel", NULL };
static const char * const patterns[] = { "unstructured", "2:4", "4:8", "channel", NULL };
static const char * const training_methods[] = { "distill", "finetune", "qat", NULL };
static const char * const training_optimizers[] = { "sgd", "adam", NULL };
static const char * const training_schedules[] = { "constant", "cosine", NULL };

/* ------------------------------------------------------------------ */
/* Text helpers shared by the reader's messages and the writer         */

static void
append_json_string (GString    *out,
                    const char *str)
{
  g_string_append_c (out, '"');
  for (const char *p = str; *p != '\0'; p++)
    {
      guchar ch = (guchar) *p;

      switch (ch)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (ch < 0x20)
            g_string_append_printf (out, "\\u%04x", ch);
          else
            g_string_append_c (out, (char) ch);
        }
    }
  g_string_append_c (out, '"');
}

/* The shortest "%.Ng" that reads back to exactly `v`; with ".0" when it
 * would otherwise look like an integer, so a number stays a number. */
static void
append_double (GString *out,
               double   v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];

  if (!isfinite (v))
    {
      g_string_append (out, "null");   /* JSON has no NaN or infinity */
      return;
    }
  for (int precision = 1; precision <= 17; precision++)
    {
      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (out, buf);
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

/* Same for a float: the shortest text whose nearest double, rounded to
 * float, is `v` again (what the reader does). */
static void
append_float (GString *out,
              float    v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];

  if (!isfinite (v))
    {
      g_string_append (out, "null");
      return;
    }
  for (int precision = 1; precision <= 9; precision++)
    {
      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, v);
      if ((float) g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (out, buf);
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static gboolean
is_identifier (const char *name)
{
  if (!g_ascii_isalpha (name[0]) && name[0] != '_')
    return FALSE;
  for (const char *p = name + 1; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

/* .name for identifiers, ["conv1.weight"] otherwise. */
static void
append_member_path (GString    *path,
                    const char *name)
{
  if (is_identifier (name))
    {
      g_string_append_c (path, '.');
      g_string_append (path, name);
    }
  else
    {
      g_string_append_c (path, '[');
      append_json_string (path, name);
      g_string_append_c (path, ']');
    }
}

/* A scalar as JSON text, for messages: 3.5, "group:7", true. */
static char *
describe_node (JsonNode *node)
{
  GString *out;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT: return g_strdup ("an object");
    case JSON_NODE_ARRAY:  return g_strdup ("an array");
    case JSON_NODE_NULL:   return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }

  out = g_string_new (NULL);
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      append_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      append_json_string (out, json_node_get_string (node));
      break;
    default:
      g_string_append (out, "a value");
    }
  return g_string_free (out, FALSE);
}

/* "\"a\", \"b\" or \"c\"" */
static char *
quoted_list (const char * const *items,
             const char          *last_sep)
{
  GString *out = g_string_new (NULL);
  guint n = g_strv_length ((char **) items);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (out, i + 1 == n ? last_sep : ", ");
      append_json_string (out, items[i]);
    }
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------ */
/* Syntax: json-glib 1.6 reads comments, single quotes, leading zeros,  */
/* trailing text and wraps huge integers; a pipeline file must be JSON. */

typedef struct {
  const char  *start;
  const char  *p;
  const char  *end;
  const char  *what;
  GError     **error;
} Scan;

static gboolean G_GNUC_PRINTF (2, 3)
scan_fail (Scan       *s,
           const char *format,
           ...)
{
  g_autofree char *msg = NULL;
  const char *line_start = s->start;
  guint line = 1;
  va_list args;

  for (const char *q = s->start; q < s->p && q < s->end; q++)
    if (*q == '\n')
      {
        line++;
        line_start = q + 1;
      }

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (s->error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_PARSE,
               "%s: line %u, column %ld: %s", s->what, line,
               g_utf8_pointer_to_offset (line_start, MIN (s->p, s->end)) + 1, msg);
  return FALSE;
}

static gboolean
scan_eof (Scan       *s,
          const char *expected)
{
  return scan_fail (s, "the text ends here, expected %s (truncated?)", expected);
}

static gboolean
scan_unexpected (Scan       *s,
                 const char *expected)
{
  gunichar ch = g_utf8_get_char (s->p);
  char buf[8] = { 0 };

  if (ch < 0x20 || ch == 0x7f)
    return scan_fail (s, "unexpected character U+%04X, expected %s", ch, expected);
  g_unichar_to_utf8 (ch, buf);
  return scan_fail (s, "unexpected character ‘%s’, expected %s", buf, expected);
}

static void
scan_ws (Scan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static gboolean scan_value (Scan *s, int depth);

static int
hex_digit (char c)
{
  return g_ascii_xdigit_value (c);
}

static gboolean
scan_u_escape (Scan     *s,
               gunichar *out)
{
  gunichar v = 0;

  /* s->p is on the 'u' */
  s->p++;
  for (int i = 0; i < 4; i++)
    {
      if (s->p >= s->end)
        return scan_eof (s, "four hex digits after \\u");
      if (hex_digit (*s->p) < 0)
        return scan_unexpected (s, "four hex digits after \\u");
      v = v * 16 + (gunichar) hex_digit (*s->p);
      s->p++;
    }
  *out = v;
  return TRUE;
}

static gboolean
scan_string (Scan *s)
{
  s->p++;   /* opening quote */
  while (s->p < s->end)
    {
      guchar ch = (guchar) *s->p;

      if (ch == '"')
        {
          s->p++;
          return TRUE;
        }
      if (ch < 0x20)
        return scan_fail (s, "a control character in a string (write it as \\u%04x)", ch);
      if (ch != '\\')
        {
          s->p++;
          continue;
        }

      s->p++;
      if (s->p >= s->end)
        return scan_eof (s, "an escape sequence");
      switch (*s->p)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          s->p++;
          break;
        case 'u':
          {
            const char *at = s->p - 1;
            gunichar u;

            if (!scan_u_escape (s, &u))
              return FALSE;
            if (u == 0)
              {
                s->p = at;
                return scan_fail (s, "\\u0000 is not allowed in a string");
              }
            if (u >= 0xdc00 && u <= 0xdfff)
              {
                s->p = at;
                return scan_fail (s, "\\u%04x is a lone surrogate", u);
              }
            if (u >= 0xd800 && u <= 0xdbff)
              {
                gunichar low;

                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                  {
                    s->p = at;
                    return scan_fail (s, "\\u%04x is a lone surrogate", u);
                  }
                s->p++;
                if (!scan_u_escape (s, &low))
                  return FALSE;
                if (low < 0xdc00 || low > 0xdfff)
                  {
                    s->p = at;
                    return scan_fail (s, "\\u%04x is a lone surrogate", u);
                  }
              }
          }
          break;
        default:
          return scan_unexpected (s, "an escape sequence (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
    }
  return scan_eof (s, "the end of the string (\")");
}

static gboolean
scan_digits (Scan *s)
{
  if (s->p >= s->end)
    return scan_eof (s, "a digit");
  if (!g_ascii_isdigit (*s->p))
    return scan_unexpected (s, "a digit");
  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
  return TRUE;
}

static gboolean
scan_number (Scan *s)
{
  const char *start = s->p;
  gboolean integer = TRUE;
  g_autofree char *text = NULL;

  if (*s->p == '-')
    s->p++;
  if (s->p < s->end && *s->p == '0')
    s->p++;
  else if (!scan_digits (s))
    return FALSE;
  if (s->p < s->end && *s->p == '.')
    {
      s->p++;
      integer = FALSE;
      if (!scan_digits (s))
        return FALSE;
    }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      s->p++;
      integer = FALSE;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (!scan_digits (s))
        return FALSE;
    }

  text = g_strndup (start, s->p - start);
  errno = 0;
  if (integer)
    {
      g_ascii_strtoll (text, NULL, 10);
      if (errno == ERANGE)
        {
          s->p = start;
          return scan_fail (s, "the integer %s is too large", text);
        }
    }
  else if (!isfinite (g_ascii_strtod (text, NULL)))
    {
      s->p = start;
      return scan_fail (s, "the number %s is too large", text);
    }
  return TRUE;
}

static gboolean
scan_literal (Scan       *s,
              const char *word)
{
  gsize len = strlen (word);

  for (gsize i = 0; i < len; i++, s->p++)
    {
      if (s->p >= s->end)
        return scan_eof (s, "a value");
      if (*s->p != word[i])
        return scan_unexpected (s, "a value");
    }
  return TRUE;
}

static gboolean
scan_container (Scan *s,
                int   depth,
                char  close)
{
  const char *expected_next = close == '}' ? "‘,’ or ‘}’" : "‘,’ or ‘]’";

  if (depth >= MAX_DEPTH)
    return scan_fail (s, "nested more than %d levels deep", MAX_DEPTH);
  s->p++;
  scan_ws (s);
  if (s->p < s->end && *s->p == close)
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      scan_ws (s);
      if (close == '}')
        {
          if (s->p >= s->end)
            return scan_eof (s, "a key");
          if (*s->p != '"')
            return scan_unexpected (s, "a key in double quotes");
          if (!scan_string (s))
            return FALSE;
          scan_ws (s);
          if (s->p >= s->end)
            return scan_eof (s, "‘:’");
          if (*s->p != ':')
            return scan_unexpected (s, "‘:’");
          s->p++;
        }
      if (!scan_value (s, depth + 1))
        return FALSE;
      scan_ws (s);
      if (s->p >= s->end)
        return scan_eof (s, expected_next);
      if (*s->p == close)
        {
          s->p++;
          return TRUE;
        }
      if (*s->p != ',')
        return scan_unexpected (s, expected_next);
      s->p++;
    }
}

static gboolean
scan_value (Scan *s,
            int   depth)
{
  scan_ws (s);
  if (s->p >= s->end)
    return scan_eof (s, "a value");
  switch (*s->p)
    {
    case '{': return scan_container (s, depth, '}');
    case '[': return scan_container (s, depth, ']');
    case '"': return scan_string (s);
    case 't': return scan_literal (s, "true");
    case 'f': return scan_literal (s, "false");
    case 'n': return scan_literal (s, "null");
    default:
      if (*s->p == '-' || g_ascii_isdigit (*s->p))
        return scan_number (s);
      return scan_unexpected (s, "a value");
    }
}

static gboolean
check_syntax (const char  *text,
              gsize        length,
              const char  *what,
              GError     **error)
{
  Scan s = { text, text, text + length, what, error };

  if (!scan_value (&s, 0))
    return FALSE;
  scan_ws (&s);
  if (s.p < s.end)
    return scan_fail (&s, "text after the end of the JSON value");
  return TRUE;
}

/* json-glib keeps the last of two equal keys; a pipeline file may not
 * have them. Count members as the parser adds them. */
typedef struct {
  GHashTable *counts;       /* JsonObject* → members seen */
  JsonObject *dup_object;
  char       *dup_name;
} DupCheck;

static void
on_object_member (JsonParser *parser,
                  JsonObject *object,
                  const char *name,
                  gpointer    user_data)
{
  DupCheck *dc = user_data;
  guint seen = GPOINTER_TO_UINT (g_hash_table_lookup (dc->counts, object)) + 1;

  g_hash_table_insert (dc->counts, object, GUINT_TO_POINTER (seen));
  if (seen > json_object_get_size (object) && dc->dup_name == NULL)
    {
      dc->dup_object = object;
      dc->dup_name = g_strdup (name);
    }
}

static gboolean
find_object_path (JsonNode   *node,
                  JsonObject *target,
                  GString    *path)
{
  gsize len = path->len;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      g_autoptr(GList) members = NULL;

      if (o == target)
        return TRUE;
      members = json_object_get_members (o);
      for (GList *l = members; l != NULL; l = l->next)
        {
          append_member_path (path, l->data);
          if (find_object_path (json_object_get_member (o, l->data), target, path))
            return TRUE;
          g_string_truncate (path, len);
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_string_append_printf (path, "[%u]", i);
          if (find_object_path (json_array_get_element (a, i), target, path))
            return TRUE;
          g_string_truncate (path, len);
        }
    }
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Reading the tree                                                    */

typedef struct {
  const char  *what;
  GString     *path;     /* JSON path of the node being read */
  GError     **error;
} Ctx;

static gboolean G_GNUC_PRINTF (3, 4)
fail (Ctx                *c,
      LathePipelineError  code,
      const char         *format,
      ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (c->error, LATHE_PIPELINE_ERROR, code, "%s: %s: %s", c->what, c->path->str, msg);
  return FALSE;
}

static gsize
push (Ctx        *c,
      const char *name)
{
  gsize len = c->path->len;

  append_member_path (c->path, name);
  return len;
}

static void
pop (Ctx   *c,
     gsize  len)
{
  g_string_truncate (c->path, len);
}

static gboolean
type_error (Ctx        *c,
            JsonNode   *node,
            const char *expected)
{
  g_autofree char *got = describe_node (node);

  return fail (c, LATHE_PIPELINE_ERROR_INVALID, "expected %s, got %s", expected, got);
}

static gboolean
value_error (Ctx        *c,
             JsonNode   *node,
             const char *expected)
{
  g_autofree char *got = describe_node (node);

  return fail (c, LATHE_PIPELINE_ERROR_INVALID, "%s is not %s", got, expected);
}

static gboolean
missing (Ctx        *c,
         const char *key,
         const char *expected)
{
  return fail (c, LATHE_PIPELINE_ERROR_INVALID, "\"%s\" is missing (expected %s)", key, expected);
}

static GType
value_type (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
}

static gboolean
get_string (Ctx         *c,
            JsonNode    *node,
            const char **out)
{
  if (value_type (node) != G_TYPE_STRING)
    return type_error (c, node, "a string");
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
get_nonempty_string (Ctx         *c,
                     JsonNode    *node,
                     const char **out)
{
  if (value_type (node) != G_TYPE_STRING || *json_node_get_string (node) == '\0')
    return type_error (c, node, "a non-empty string");
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
get_bool (Ctx      *c,
          JsonNode *node,
          gboolean *out)
{
  if (value_type (node) != G_TYPE_BOOLEAN)
    return type_error (c, node, "true or false");
  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
get_number (Ctx      *c,
            JsonNode *node,
            double   *out)
{
  GType t = value_type (node);

  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else
    return type_error (c, node, "a number");
  return TRUE;
}

/* An integer; 4.0 counts as one (as in JSON Schema). */
static gboolean
get_int (Ctx      *c,
         JsonNode *node,
         gint64   *out)
{
  GType t = value_type (node);

  if (t == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return TRUE;
    }
  if (t == G_TYPE_DOUBLE)
    {
      double d = json_node_get_double (node);

      if (d == floor (d) && fabs (d) < 0x1p63)
        {
          *out = (gint64) d;
          return TRUE;
        }
    }
  return type_error (c, node, "an integer");
}

static gboolean
get_int_min (Ctx      *c,
             JsonNode *node,
             gint64    min,
             gint64   *out)
{
  if (!get_int (c, node, out))
    return FALSE;
  if (*out < min)
    {
      g_autofree char *expected = g_strdup_printf ("≥ %" G_GINT64_FORMAT, min);
      return value_error (c, node, expected);
    }
  return TRUE;
}

static gboolean
get_number_range (Ctx        *c,
                  JsonNode   *node,
                  double      min,
                  gboolean    min_inclusive,
                  double      max,
                  const char *expected,
                  double     *out)
{
  if (!get_number (c, node, out))
    return FALSE;
  if (!(min_inclusive ? *out >= min : *out > min) || !(*out <= max))
    return value_error (c, node, expected);
  return TRUE;
}

static gboolean
get_choice (Ctx                *c,
            JsonNode           *node,
            const char * const *choices,
            const char        **out)
{
  const char *str = NULL;

  if (!get_string (c, node, &str))
    return FALSE;
  if (!g_strv_contains (choices, str))
    {
      g_autofree char *list = quoted_list (choices, " or ");
      g_autofree char *expected = g_strdup_printf ("one of %s", list);
      return value_error (c, node, expected);
    }
  *out = str;
  return TRUE;
}

static JsonObject *
get_object (Ctx      *c,
            JsonNode *node)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      type_error (c, node, "an object");
      return NULL;
    }
  return json_node_get_object (node);
}

static gboolean
is_sha256 (const char *str)
{
  gsize n = 0;

  for (; str[n] != '\0'; n++)
    if (!g_ascii_isdigit (str[n]) && !(str[n] >= 'a' && str[n] <= 'f'))
      return FALSE;
  return n == 64;
}

/* A digest: 64 lowercase hex digits, or null. */
static gboolean
get_sha256 (Ctx       *c,
            JsonNode  *node,
            char     **out)
{
  const char *str = NULL;

  g_clear_pointer (out, g_free);
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (value_type (node) != G_TYPE_STRING)
    return type_error (c, node, "a SHA-256 digest (64 lowercase hex digits) or null");
  str = json_node_get_string (node);
  if (!is_sha256 (str))
    return value_error (c, node, "a SHA-256 digest (64 lowercase hex digits)");
  *out = g_strdup (str);
  return TRUE;
}

/* Every key of `o` must be in `keys`. */
static gboolean
check_keys (Ctx                *c,
            JsonObject         *o,
            const char * const *keys)
{
  g_autoptr(GList) members = json_object_get_members (o);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (keys, l->data))
      {
        g_autofree char *expected = g_strjoinv (", ", (char **) keys);

        push (c, l->data);
        return fail (c, LATHE_PIPELINE_ERROR_INVALID, "unknown key (expected %s)", expected);
      }
  return TRUE;
}

static gboolean
parse_granularity (const char       *str,
                   LatheGranularity *granularity,
                   int              *group_size)
{
  if (strcmp (str, "tensor") == 0)
    {
      *granularity = LATHE_GRANULARITY_TENSOR;
      *group_size = 0;
      return TRUE;
    }
  if (strcmp (str, "channel") == 0)
    {
      *granularity = LATHE_GRANULARITY_CHANNEL;
      *group_size = 0;
      return TRUE;
    }
  if (g_str_has_prefix (str, "group:"))
    for (guint i = 0; i < G_N_ELEMENTS (group_sizes); i++)
      {
        char buf[16];

        g_snprintf (buf, sizeof buf, "%d", group_sizes[i]);
        if (strcmp (str + 6, buf) == 0)
          {
            *granularity = LATHE_GRANULARITY_GROUP;
            *group_size = group_sizes[i];
            return TRUE;
          }
      }
  return FALSE;
}

static gboolean
parse_bits (Ctx      *c,
            JsonNode *node,
            int      *out)
{
  double d;

  if (!get_number (c, node, &d))
    return FALSE;
  if (d != floor (d) || !((d >= 1 && d <= 8) || d == 16 || d == 32))
    return value_error (c, node, "one of 1…8, 16, 32");
  *out = (int) d;
  return TRUE;
}

static gboolean
valid_param_name (const char *name)
{
  const char *dot = strchr (name, '.');

  if (dot == NULL || dot == name || dot[1] == '\0')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      return FALSE;
  return strstr (name, "..") == NULL && name[strlen (name) - 1] != '.';
}

/* "params": {"palette.iterations": 20, …} → plan->params as strings. */
static gboolean
parse_params (Ctx        *c,
              JsonNode   *node,
              GHashTable *params)
{
  JsonObject *o = get_object (c, node);
  g_autoptr(GList) members = NULL;

  if (o == NULL)
    return FALSE;
  members = json_object_get_members (o);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *value = json_object_get_member (o, name);
      gsize len = push (c, name);
      char *text = NULL;

      if (!valid_param_name (name))
        return fail (c, LATHE_PIPELINE_ERROR_INVALID,
                     "not a parameter name (expected \"method.param\", e.g. \"palette.iterations\")");
      switch (value_type (value))
        {
        case G_TYPE_STRING:
          text = g_strdup (json_node_get_string (value));
          break;
        case G_TYPE_INT64:
          text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (value));
          break;
        case G_TYPE_DOUBLE:
          {
            GString *s = g_string_new (NULL);
            append_double (s, json_node_get_double (value));
            text = g_string_free (s, FALSE);
          }
          break;
        case G_TYPE_BOOLEAN:
          text = g_strdup (json_node_get_boolean (value) ? "true" : "false");
          break;
        default:
          return type_error (c, value, "a string, a number or true/false");
        }
      g_hash_table_insert (params, g_strdup (name), text);
      pop (c, len);
    }
  return TRUE;
}

typedef struct {
  const char *pruner;        /* as written, or NULL */
  gboolean    has_pattern;
} PrunerSeen;

/* One key of "defaults" or of a "layers" entry. `plan` is NULL for a
 * layer entry. */
static gboolean
parse_setting (Ctx                *c,
               const char         *key,
               JsonNode           *node,
               LatheLayerSettings *s,
               LathePlan          *plan,
               PrunerSeen         *seen)
{
  const char *str = NULL;

  if (strcmp (key, "quantizer") == 0)
    {
      if (!get_choice (c, node, quantizers, &str))
        return FALSE;
      g_free (s->quantizer);
      s->quantizer = g_strdup (str);
      s->set |= LATHE_FIELD_QUANTIZER;
    }
  else if (strcmp (key, "bits") == 0)
    {
      if (!parse_bits (c, node, &s->bits))
        return FALSE;
      s->set |= LATHE_FIELD_BITS;
    }
  else if (strcmp (key, "granularity") == 0)
    {
      if (!get_string (c, node, &str))
        return FALSE;
      if (!parse_granularity (str, &s->granularity, &s->group_size))
        return value_error (c, node, "\"tensor\", \"channel\" or \"group:G\" "
                                     "with G one of 16, 32, 64, 128, 256");
      s->set |= LATHE_FIELD_GRANULARITY;
    }
  else if (strcmp (key, "affine") == 0)
    {
      if (!get_bool (c, node, &s->affine))
        return FALSE;
      s->set |= LATHE_FIELD_AFFINE;
    }
  else if (strcmp (key, "scale") == 0)
    {
      if (!get_choice (c, node, scales, &str))
        return FALSE;
      s->scale = strcmp (str, "mse") == 0 ? LATHE_SCALE_MSE : LATHE_SCALE_MAXABS;
      s->set |= LATHE_FIELD_SCALE;
    }
  else if (strcmp (key, "pruner") == 0)
    {
      if (!get_choice (c, node, pruners, &seen->pruner))
        return FALSE;
    }
  else if (strcmp (key, "pattern") == 0)
    {
      if (!get_choice (c, node, patterns, &str))
        return FALSE;
      if (strcmp (str, "unstructured") == 0)
        s->pattern = LATHE_PATTERN_UNSTRUCTURED;
      else if (strcmp (str, "channel") == 0)
        s->pattern = LATHE_PATTERN_CHANNEL;
      else
        {
          s->pattern = LATHE_PATTERN_NM;
          s->nm_n = str[0] - '0';
          s->nm_m = str[2] - '0';
        }
      seen->has_pattern = TRUE;
    }
  else if (strcmp (key, "sparsity") == 0)
    {
      if (!get_number_range (c, node, 0.0, TRUE, 0.99, "within 0…0.99", &s->sparsity))
        return FALSE;
      s->set |= LATHE_FIELD_SPARSITY;
    }
  else if (strcmp (key, "width") == 0)
    {
      if (!get_number_range (c, node, 0.05, TRUE, 1.0, "within 0.05…1", &s->width))
        return FALSE;
      s->set |= LATHE_FIELD_WIDTH;
    }
  else if (strcmp (key, "skip") == 0)
    {
      if (!get_bool (c, node, &s->skip))
        return FALSE;
      s->set |= LATHE_FIELD_SKIP;
    }
  else if (plan != NULL && strcmp (key, "global_sparsity") == 0)
    return get_bool (c, node, &plan->global_sparsity);
  else if (plan != NULL && strcmp (key, "fold_bn") == 0)
    return get_bool (c, node, &plan->fold_bn);
  else if (plan != NULL && strcmp (key, "params") == 0)
    return parse_params (c, node, plan->params);
  else if (plan != NULL && strcmp (key, "importance") == 0)
    {
      static const char * const choices[] = { "l2", "activation", NULL };
      const char *v = NULL;
      if (!get_choice (c, node, choices, &v))
        return FALSE;
      plan->activation_importance = g_str_equal (v, "activation");
    }
  else if (plan != NULL && strcmp (key, "calibration") == 0)
    {
      const char *v = NULL;
      if (!get_nonempty_string (c, node, &v))
        return FALSE;
      g_free (plan->calibration);
      plan->calibration = g_strdup (v);
    }
  else if (plan != NULL && strcmp (key, "calibration_samples") == 0)
    {
      gint64 v;
      if (!get_int_min (c, node, 1, &v))
        return FALSE;
      if (v > G_MAXUINT)
        return value_error (c, node, "at most 4294967295");
      plan->calibration_samples = (guint) v;
    }
  else
    g_assert_not_reached ();
  return TRUE;
}

static gboolean
parse_settings (Ctx                *c,
                JsonNode           *node,
                LatheLayerSettings *s,
                LathePlan          *plan)
{
  const char * const *keys = plan != NULL ? defaults_keys : layer_keys;
  PrunerSeen seen = { NULL, FALSE };
  JsonObject *o = get_object (c, node);

  if (o == NULL || !check_keys (c, o, keys))
    return FALSE;

  for (guint i = 0; keys[i] != NULL; i++)
    {
      JsonNode *member = json_object_get_member (o, keys[i]);
      gsize len;
      gboolean ok;

      if (member == NULL)
        continue;
      len = push (c, keys[i]);
      ok = parse_setting (c, keys[i], member, s, plan, &seen);
      pop (c, len);
      if (!ok)
        return FALSE;
    }

  /* The pattern decides the pruner; "pruner" alone picks its usual pattern. */
  if (seen.pruner != NULL && seen.has_pattern)
    {
      const char *implied = lathe_pattern_pruner (s->pattern);

      if (strcmp (implied, seen.pruner) != 0)
        {
          g_autofree char *pattern = describe_node (json_object_get_member (o, "pattern"));

          push (c, "pruner");
          return fail (c, LATHE_PIPELINE_ERROR_INVALID,
                       "\"%s\" contradicts \"pattern\": %s (pruned by \"%s\")",
                       seen.pruner, pattern, implied);
        }
    }
  else if (seen.pruner != NULL)
    {
      if (strcmp (seen.pruner, "nm") == 0)
        {
          s->pattern = LATHE_PATTERN_NM;
          s->nm_n = 2;
          s->nm_m = 4;
        }
      else if (strcmp (seen.pruner, "channel") == 0)
        s->pattern = LATHE_PATTERN_CHANNEL;
      else
        s->pattern = LATHE_PATTERN_UNSTRUCTURED;
    }
  if (seen.pruner != NULL || seen.has_pattern)
    s->set |= LATHE_FIELD_PATTERN;
  if (plan != NULL)
    s->set = 0;   /* defaults carry every field */
  return TRUE;
}

static gboolean
parse_layers (Ctx       *c,
              JsonNode  *node,
              LathePlan *plan)
{
  JsonObject *o = get_object (c, node);
  g_autoptr(GList) members = NULL;

  if (o == NULL)
    return FALSE;
  members = json_object_get_members (o);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      gsize len = push (c, name);

      if (*name == '\0')
        return fail (c, LATHE_PIPELINE_ERROR_INVALID, "expected a layer name, got \"\"");
      if (!parse_settings (c, json_object_get_member (o, name), lathe_plan_layer (plan, name), NULL))
        return FALSE;
      pop (c, len);
    }
  return TRUE;
}

static gboolean
parse_float_array (Ctx      *c,
                   JsonNode *node,
                   gboolean  positive,
                   GArray   *out)
{
  JsonArray *a;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return type_error (c, node, "an array of numbers");
  a = json_node_get_array (node);
  g_array_set_size (out, 0);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *element = json_array_get_element (a, i);
      gsize len = c->path->len;
      double d;
      float f;

      g_string_append_printf (c->path, "[%u]", i);
      if (!get_number (c, element, &d))
        return FALSE;
      if (fabs (d) > FLT_MAX)
        return value_error (c, element, "within the range of a float");
      if (positive && !(d > 0))
        return value_error (c, element, "> 0");
      f = (float) d;
      g_array_append_val (out, f);
      pop (c, len);
    }
  return TRUE;
}

static gboolean
parse_model (Ctx           *c,
             JsonNode      *node,
             LathePipeline *p)
{
  JsonObject *o = get_object (c, node);
  JsonNode *member;
  const char *str = NULL;
  gsize len;

  if (o == NULL || !check_keys (c, o, model_keys))
    return FALSE;

  if ((member = json_object_get_member (o, "path")) == NULL)
    return missing (c, "path", "the model file, relative to the pipeline file");
  len = push (c, "path");
  if (!get_nonempty_string (c, member, &str))
    return FALSE;
  pop (c, len);
  g_free (p->model_path);
  p->model_path = g_strdup (str);

  if ((member = json_object_get_member (o, "sha256")) != NULL)
    {
      len = push (c, "sha256");
      if (!get_sha256 (c, member, &p->model_sha256))
        return FALSE;
      pop (c, len);
    }
  return TRUE;
}

static gboolean
parse_subset (Ctx           *c,
              JsonNode      *node,
              LathePipeline *p)
{
  JsonObject *o;
  JsonNode *member;
  gint64 v;
  gsize len;

  p->subset_size = 0;
  p->subset_seed = 0;
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if ((o = get_object (c, node)) == NULL || !check_keys (c, o, subset_keys))
    return FALSE;

  if ((member = json_object_get_member (o, "size")) == NULL)
    return missing (c, "size", "the number of samples");
  len = push (c, "size");
  if (!get_int_min (c, member, 1, &v))
    return FALSE;
  if (v > G_MAXUINT)
    return value_error (c, member, "a sample count this engine can hold");
  pop (c, len);
  p->subset_size = (guint) v;

  if ((member = json_object_get_member (o, "seed")) != NULL)
    {
      len = push (c, "seed");
      if (!get_int_min (c, member, 0, &v))
        return FALSE;
      pop (c, len);
      p->subset_seed = (guint64) v;
    }
  return TRUE;
}

static gboolean
parse_data (Ctx           *c,
            JsonNode      *node,
            LathePipeline *p)
{
  JsonObject *o;
  JsonNode *member;
  const char *str = NULL;
  gsize len;

  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if ((o = get_object (c, node)) == NULL || !check_keys (c, o, data_keys))
    return FALSE;

  if ((member = json_object_get_member (o, "spec")) == NULL)
    return missing (c, "spec", "a data spec such as \"fashion-mnist\"");
  len = push (c, "spec");
  if (!get_nonempty_string (c, member, &str))
    return FALSE;
  pop (c, len);
  g_free (p->data_spec);
  p->data_spec = g_strdup (str);

  if ((member = json_object_get_member (o, "mean")) != NULL)
    {
      len = push (c, "mean");
      if (!parse_float_array (c, member, FALSE, p->mean))
        return FALSE;
      pop (c, len);
    }
  if ((member = json_object_get_member (o, "std")) != NULL)
    {
      len = push (c, "std");
      if (!parse_float_array (c, member, TRUE, p->std))
        return FALSE;
      pop (c, len);
    }
  if (p->mean->len != p->std->len)
    {
      len = push (c, "std");
      return fail (c, LATHE_PIPELINE_ERROR_INVALID,
                   "has %u value%s but \"mean\" has %u (expected one pair per channel, or one for all)",
                   p->std->len, p->std->len == 1 ? "" : "s", p->mean->len);
    }

  if ((member = json_object_get_member (o, "sha256")) != NULL)
    {
      len = push (c, "sha256");
      if (!get_sha256 (c, member, &p->data_sha256))
        return FALSE;
      pop (c, len);
    }
  if ((member = json_object_get_member (o, "subset")) != NULL)
    {
      len = push (c, "subset");
      if (!parse_subset (c, member, p))
        return FALSE;
      pop (c, len);
    }
  return TRUE;
}

/* Validates "training" and stores a normalised copy: keys in the
 * documented order, integers as integers, numbers as doubles. */
static gboolean
parse_training (Ctx           *c,
                JsonNode      *node,
                LathePipeline *p)
{
  g_autoptr(JsonObject) out = NULL;
  JsonObject *o;

  g_clear_pointer (&p->training, json_node_unref);
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if ((o = get_object (c, node)) == NULL || !check_keys (c, o, training_keys))
    return FALSE;
  if (!json_object_has_member (o, "method"))
    {
      g_autofree char *methods = quoted_list (training_methods, " or ");
      return missing (c, "method", methods);
    }

  out = json_object_new ();
  for (guint i = 0; training_keys[i] != NULL; i++)
    {
      const char *key = training_keys[i];
      JsonNode *member = json_object_get_member (o, key);
      gsize len;
      gboolean ok;
      const char *str = NULL;
      gint64 n;
      double d;

      if (member == NULL)
        continue;
      len = push (c, key);
      if (strcmp (key, "method") == 0)
        {
          if ((ok = get_choice (c, member, training_methods, &str)))
            json_object_set_string_member (out, key, str);
        }
      else if (strcmp (key, "data") == 0)
        {
          if ((ok = get_nonempty_string (c, member, &str)))
            json_object_set_string_member (out, key, str);
        }
      else if (strcmp (key, "optimizer") == 0 || strcmp (key, "schedule") == 0)
        {
          if ((ok = get_choice (c, member, key[0] == 'o' ? training_optimizers : training_schedules, &str)))
            json_object_set_string_member (out, key, str);
        }
      else if (strcmp (key, "data_sha256") == 0)
        {
          g_autofree char *sha = NULL;
          if ((ok = get_sha256 (c, member, &sha)))
            {
              if (sha != NULL)
                json_object_set_string_member (out, key, sha);
              else
                json_object_set_null_member (out, key);
            }
        }
      else if (strcmp (key, "limit") == 0)
        {
          if ((ok = get_int_min (c, member, 0, &n)))
            json_object_set_int_member (out, key, n);
        }
      else if (strcmp (key, "momentum") == 0 || strcmp (key, "weight_decay") == 0)
        {
          if ((ok = get_number_range (c, member, 0.0, TRUE, 1.0, "within 0…1 (below 1)", &d)))
            {
              if (d >= 1.0)
                ok = value_error (c, member, "a number from 0 to below 1");
              else
                json_object_set_double_member (out, key, d);
            }
        }
      else if (strcmp (key, "epochs") == 0 || strcmp (key, "batch") == 0)
        {
          if ((ok = get_int_min (c, member, 1, &n)))
            json_object_set_int_member (out, key, n);
        }
      else if (strcmp (key, "seed") == 0)
        {
          if ((ok = get_int_min (c, member, 0, &n)))
            json_object_set_int_member (out, key, n);
        }
      else if (strcmp (key, "alpha") == 0)
        {
          if ((ok = get_number_range (c, member, 0.0, TRUE, 1.0, "within 0…1", &d)))
            json_object_set_double_member (out, key, d);
        }
      else   /* temperature, lr */
        {
          if ((ok = get_number_range (c, member, 0.0, FALSE, G_MAXDOUBLE, "> 0", &d)))
            json_object_set_double_member (out, key, d);
        }
      pop (c, len);
      if (!ok)
        return FALSE;
    }
  p->training = json_node_init_object (json_node_alloc (), out);
  return TRUE;
}

static gboolean
parse_results (Ctx           *c,
               JsonNode      *node,
               LathePipeline *p)
{
  LathePipelineResults *r = &p->results;
  double *fractions[] = { &r->accuracy, &r->baseline_accuracy, &r->fidelity };
  gint64 *sizes[] = { &r->size_bytes, &r->baseline_size_bytes, &r->file_size_bytes };
  JsonObject *o;

  p->has_results = FALSE;
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if ((o = get_object (c, node)) == NULL || !check_keys (c, o, results_keys))
    return FALSE;

  for (guint i = 0; results_keys[i] != NULL; i++)
    {
      const char *key = results_keys[i];
      JsonNode *member = json_object_get_member (o, key);
      gsize len;
      gboolean ok;

      if (member == NULL)
        return missing (c, key, i < 3 ? "a number within 0…1"
                                      : i < 6 ? "an integer ≥ 0"
                                              : "a SHA-256 digest or null");
      len = push (c, key);
      if (i < 3)
        ok = get_number_range (c, member, 0.0, TRUE, 1.0, "within 0…1", fractions[i]);
      else if (i < 6)
        ok = get_int_min (c, member, 0, sizes[i - 3]);
      else
        ok = get_sha256 (c, member, &r->model_sha256);
      pop (c, len);
      if (!ok)
        return FALSE;
    }
  p->has_results = TRUE;
  return TRUE;
}

static gboolean
parse_top (Ctx           *c,
           JsonObject    *o,
           LathePipeline *p)
{
  JsonNode *member;
  const char *str = NULL;
  gint64 v;
  gsize len;

  /* format and version first: a newer file may well have keys we do not
   * know, and should say so rather than complain about one of them. */
  if ((member = json_object_get_member (o, "format")) == NULL)
    return missing (c, "format", "\"" LATHE_PIPELINE_FORMAT "\"; is this a Lathe pipeline file?");
  len = push (c, "format");
  if (!get_string (c, member, &str))
    return FALSE;
  if (strcmp (str, LATHE_PIPELINE_FORMAT) != 0)
    return value_error (c, member, "\"" LATHE_PIPELINE_FORMAT "\"");
  pop (c, len);

  if ((member = json_object_get_member (o, "version")) == NULL)
    return missing (c, "version", "1");
  len = push (c, "version");
  if (!get_int (c, member, &v))
    return FALSE;
  if (v != LATHE_PIPELINE_VERSION)
    return fail (c, LATHE_PIPELINE_ERROR_VERSION,
                 "version %" G_GINT64_FORMAT " is not supported (this Lathe reads version %d)",
                 v, LATHE_PIPELINE_VERSION);
  pop (c, len);
  p->version = (int) v;

  if (!check_keys (c, o, top_keys))
    return FALSE;

  g_clear_pointer (&p->tool, g_free);
  if ((member = json_object_get_member (o, "tool")) != NULL)
    {
      len = push (c, "tool");
      if (!get_string (c, member, &str))
        return FALSE;
      pop (c, len);
      p->tool = g_strdup (str);
    }

  if ((member = json_object_get_member (o, "seed")) != NULL)
    {
      len = push (c, "seed");
      if (!get_int_min (c, member, 0, &v))
        return FALSE;
      pop (c, len);
      p->seed = (guint64) v;
    }
  p->plan->seed = p->seed;

  if ((member = json_object_get_member (o, "model")) == NULL)
    return missing (c, "model", "an object with the model's \"path\"");
  len = push (c, "model");
  if (!parse_model (c, member, p))
    return FALSE;
  pop (c, len);

  if ((member = json_object_get_member (o, "data")) != NULL)
    {
      len = push (c, "data");
      if (!parse_data (c, member, p))
        return FALSE;
      pop (c, len);
    }

  if ((member = json_object_get_member (o, "defaults")) != NULL)
    {
      len = push (c, "defaults");
      if (!parse_settings (c, member, &p->plan->defaults, p->plan))
        return FALSE;
      pop (c, len);
    }

  if ((member = json_object_get_member (o, "layers")) != NULL)
    {
      len = push (c, "layers");
      if (!parse_layers (c, member, p->plan))
        return FALSE;
      pop (c, len);
    }

  if ((member = json_object_get_member (o, "training")) != NULL)
    {
      len = push (c, "training");
      if (!parse_training (c, member, p))
        return FALSE;
      pop (c, len);
    }

  if ((member = json_object_get_member (o, "results")) != NULL)
    {
      len = push (c, "results");
      if (!parse_results (c, member, p))
        return FALSE;
      pop (c, len);
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */

LathePipeline *
lathe_pipeline_new (void)
{
  LathePipeline *p = g_new0 (LathePipeline, 1);

  p->version = LATHE_PIPELINE_VERSION;
  p->tool = g_strdup ("lathe " LATHE_VERSION);
  p->mean = g_array_new (FALSE, FALSE, sizeof (float));
  p->std = g_array_new (FALSE, FALSE, sizeof (float));
  p->plan = lathe_plan_new ();
  return p;
}

void
lathe_pipeline_free (LathePipeline *p)
{
  if (p == NULL)
    return;
  g_free (p->tool);
  g_free (p->model_path);
  g_free (p->model_sha256);
  g_free (p->data_spec);
  g_clear_pointer (&p->mean, g_array_unref);
  g_clear_pointer (&p->std, g_array_unref);
  g_free (p->data_sha256);
  g_clear_pointer (&p->plan, lathe_plan_free);
  g_clear_pointer (&p->training, json_node_unref);
  g_free (p->results.model_sha256);
  g_free (p);
}

LathePipeline *
lathe_pipeline_parse (const char  *text,
                      gssize       length,
                      const char  *what,
                      GError     **error)
{
  g_autoptr(LathePipeline) p = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) path = NULL;
  DupCheck dc = { NULL, NULL, NULL };
  JsonNode *root;
  gboolean ok;
  Ctx c;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (what == NULL)
    what = "pipeline";
  if (text == NULL)
    text = "";
  if (length < 0)
    length = strlen (text);

  if (!g_utf8_validate (text, length, NULL))
    {
      g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_PARSE,
                   "%s: not UTF-8 text", what);
      return NULL;
    }
  if (!check_syntax (text, length, what, error))
    return NULL;

  parser = json_parser_new ();
  dc.counts = g_hash_table_new (NULL, NULL);
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dc);
  ok = json_parser_load_from_data (parser, text, length, &local_error);
  g_signal_handlers_disconnect_by_data (parser, &dc);
  g_hash_table_unref (dc.counts);
  if (!ok)
    {
      g_free (dc.dup_name);
      g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_PARSE,
                   "%s: %s", what, local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *got = root ? describe_node (root) : g_strdup ("nothing");
      g_free (dc.dup_name);
      g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_PARSE,
                   "%s: expected a JSON object, got %s", what, got);
      return NULL;
    }

  path = g_string_new ("$");
  c = (Ctx) { what, path, error };
  if (dc.dup_name != NULL)
    {
      g_autofree char *name = g_steal_pointer (&dc.dup_name);

      find_object_path (root, dc.dup_object, path);
      push (&c, name);
      fail (&c, LATHE_PIPELINE_ERROR_INVALID, "the key appears twice");
      return NULL;
    }

  p = lathe_pipeline_new ();
  if (!parse_top (&c, json_node_get_object (root), p))
    return NULL;
  return g_steal_pointer (&p);
}

LathePipeline *
lathe_pipeline_load (const char  *path,
                     GError     **error)
{
  g_autofree char *text = NULL;
  g_autofree char *what = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  what = g_filename_display_name (path);
  return lathe_pipeline_parse (text, (gssize) length, what, error);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

typedef struct {
  GString  *out;
  int       depth;
  gboolean  first;    /* nothing written yet in the open object */
} Writer;

static void
w_begin (Writer *w)
{
  g_string_append_c (w->out, '{');
  w->depth++;
  w->first = TRUE;
}

static void
w_end (Writer *w)
{
  w->depth--;
  if (!w->first)
    {
      g_string_append_c (w->out, '\n');
      for (int i = 0; i < w->depth; i++)
        g_string_append (w->out, "  ");
    }
  g_string_append_c (w->out, '}');
  w->first = FALSE;
}

static void
w_key (Writer     *w,
       const char *key)
{
  if (!w->first)
    g_string_append_c (w->out, ',');
  g_string_append_c (w->out, '\n');
  for (int i = 0; i < w->depth; i++)
    g_string_append (w->out, "  ");
  append_json_string (w->out, key);
  g_string_append (w->out, ": ");
  w->first = FALSE;
}

static void
w_string (Writer     *w,
          const char *key,
          const char *value)
{
  w_key (w, key);
  if (value == NULL)
    g_string_append (w->out, "null");
  else
    append_json_string (w->out, value);
}

static void
w_int (Writer     *w,
       const char *key,
       gint64      value)
{
  w_key (w, key);
  g_string_append_printf (w->out, "%" G_GINT64_FORMAT, value);
}

static void
w_uint (Writer     *w,
        const char *key,
        guint64     value)
{
  w_key (w, key);
  g_string_append_printf (w->out, "%" G_GUINT64_FORMAT, value);
}

static void
w_double (Writer     *w,
          const char *key,
          double      value)
{
  w_key (w, key);
  append_double (w->out, value);
}

static void
w_bool (Writer     *w,
        const char *key,
        gboolean    value)
{
  w_key (w, key);
  g_string_append (w->out, value ? "true" : "false");
}

static void
w_null (Writer     *w,
        const char *key)
{
  w_key (w, key);
  g_string_append (w->out, "null");
}

static void
w_floats (Writer     *w,
          const char *key,
          GArray     *values)
{
  w_key (w, key);
  g_string_append_c (w->out, '[');
  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      if (i > 0)
        g_string_append (w->out, ", ");
      append_float (w->out, g_array_index (values, float, i));
    }
  g_string_append_c (w->out, ']');
}

/* Any JSON value, objects in their member order (used for "training",
 * whose copy the reader already put in the documented order). */
static void
w_node (Writer   *w,
        JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *o = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (o);

        w_begin (w);
        for (GList *l = members; l != NULL; l = l->next)
          {
            w_key (w, l->data);
            w_node (w, json_object_get_member (o, l->data));
          }
        w_end (w);
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);

        g_string_append_c (w->out, '[');
        for (guint i = 0; i < json_array_get_length (a); i++)
          {
            if (i > 0)
              g_string_append (w->out, ", ");
            w_node (w, json_array_get_element (a, i));
          }
        g_string_append_c (w->out, ']');
      }
      break;
    case JSON_NODE_NULL:
      g_string_append (w->out, "null");
      break;
    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (w->out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          append_double (w->out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (w->out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          append_json_string (w->out, json_node_get_string (node));
          break;
        default:
          g_string_append (w->out, "null");
        }
    }
}

char *
_lathe_granularity_string (const LatheLayerSettings *s)
{
  switch (s->granularity)
    {
    case LATHE_GRANULARITY_TENSOR:  return g_strdup ("tensor");
    case LATHE_GRANULARITY_GROUP:   return g_strdup_printf ("group:%d", s->group_size);
    case LATHE_GRANULARITY_CHANNEL:
    default:                        return g_strdup ("channel");
    }
}

char *
_lathe_pattern_string (const LatheLayerSettings *s)
{
  switch (s->pattern)
    {
    case LATHE_PATTERN_NM:          return g_strdup_printf ("%d:%d", s->nm_n, s->nm_m);
    case LATHE_PATTERN_CHANNEL:     return g_strdup ("channel");
    case LATHE_PATTERN_UNSTRUCTURED:
    default:                        return g_strdup ("unstructured");
    }
}

/* True if `str` is a JSON number literal as it stands. */
static gboolean
is_json_number (const char *str)
{
  const char *p = str;

  if (*p == '-')
    p++;
  if (*p == '0')
    p++;
  else if (g_ascii_isdigit (*p))
    while (g_ascii_isdigit (*p))
      p++;
  else
    return FALSE;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p != '\0')
    return FALSE;
  errno = 0;
  if (strpbrk (str, ".eE") == NULL)
    g_ascii_strtoll (str, NULL, 10);
  else if (!isfinite (g_ascii_strtod (str, NULL)))
    return FALSE;
  return errno != ERANGE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Keys of a string-keyed table, sorted; free the array only. */
static const char **
sorted_keys (GHashTable *table,
             guint      *n)
{
  const char **keys = (const char **) g_hash_table_get_keys_as_array (table, n);

  qsort (keys, *n, sizeof *keys, compare_strings);
  return keys;
}

static void
w_params (Writer     *w,
          GHashTable *params)
{
  guint n;
  g_autofree const char **keys = sorted_keys (params, &n);

  w_key (w, "params");
  w_begin (w);
  for (guint i = 0; i < n; i++)
    {
      const char *value = g_hash_table_lookup (params, keys[i]);

      w_key (w, keys[i]);
      if (value == NULL)
        g_string_append (w->out, "null");
      else if (is_json_number (value) || strcmp (value, "true") == 0 || strcmp (value, "false") == 0)
        g_string_append (w->out, value);
      else
        append_json_string (w->out, value);
    }
  w_end (w);
}

static void
w_defaults (Writer          *w,
            const LathePlan *plan)
{
  const LatheLayerSettings *s = &plan->defaults;
  g_autofree char *granularity = _lathe_granularity_string (s);
  g_autofree char *pattern = _lathe_pattern_string (s);

  w_key (w, "defaults");
  w_begin (w);
  w_string (w, "quantizer", s->quantizer ? s->quantizer : "uniform");
  w_int (w, "bits", s->bits);
  w_string (w, "granularity", granularity);
  w_bool (w, "affine", s->affine);
  w_string (w, "scale", s->scale == LATHE_SCALE_MSE ? "mse" : "maxabs");
  w_string (w, "pruner", lathe_pattern_pruner (s->pattern));
  w_string (w, "pattern", pattern);
  w_double (w, "sparsity", s->sparsity);
  w_bool (w, "global_sparsity", plan->global_sparsity);
  w_double (w, "width", s->width);
  w_bool (w, "fold_bn", plan->fold_bn);
  if (plan->params != NULL && g_hash_table_size (plan->params) > 0)
    w_params (w, plan->params);
  /* Written only when width ranks by activations, so plans that do not
   * use it read as they always did. */
  if (plan->activation_importance)
    {
      w_string (w, "importance", "activation");
      w_string (w, "calibration", plan->calibration ? plan->calibration : "fashion-mnist:train");
      w_uint (w, "calibration_samples", plan->calibration_samples);
    }
  w_end (w);
}

/* Only the fields the entry overrides, in the order of layer_keys. */
static void
w_layer (Writer                   *w,
         const char               *name,
         const LatheLayerSettings *s)
{
  w_key (w, name);
  w_begin (w);
  if (s->set & LATHE_FIELD_BITS)
    w_int (w, "bits", s->bits);
  if (s->set & LATHE_FIELD_GRANULARITY)
    {
      g_autofree char *granularity = _lathe_granularity_string (s);
      w_string (w, "granularity", granularity);
    }
  if (s->set & LATHE_FIELD_AFFINE)
    w_bool (w, "affine", s->affine);
  if (s->set & LATHE_FIELD_SCALE)
    w_string (w, "scale", s->scale == LATHE_SCALE_MSE ? "mse" : "maxabs");
  if (s->set & LATHE_FIELD_QUANTIZER)
    w_string (w, "quantizer", s->quantizer ? s->quantizer : "uniform");
  if (s->set & LATHE_FIELD_SPARSITY)
    w_double (w, "sparsity", s->sparsity);
  if (s->set & LATHE_FIELD_PATTERN)
    {
      g_autofree char *pattern = _lathe_pattern_string (s);
      w_string (w, "pattern", pattern);
      w_string (w, "pruner", lathe_pattern_pruner (s->pattern));
    }
  if (s->set & LATHE_FIELD_WIDTH)
    w_double (w, "width", s->width);
  if (s->set & LATHE_FIELD_SKIP)
    w_bool (w, "skip", s->skip);
  w_end (w);
}

char *
lathe_pipeline_to_json (const LathePipeline *p)
{
  Writer w = { g_string_new (NULL), 0, TRUE };
  const LathePlan *plan;

  g_return_val_if_fail (p != NULL, NULL);
  g_return_val_if_fail (p->model_path != NULL, NULL);
  g_return_val_if_fail (p->plan != NULL, NULL);

  plan = p->plan;
  w_begin (&w);
  w_string (&w, "format", LATHE_PIPELINE_FORMAT);
  w_int (&w, "version", LATHE_PIPELINE_VERSION);
  w_string (&w, "tool", p->tool ? p->tool : "lathe " LATHE_VERSION);
  w_uint (&w, "seed", p->seed);

  w_key (&w, "model");
  w_begin (&w);
  w_string (&w, "path", p->model_path);
  w_string (&w, "sha256", p->model_sha256);
  w_end (&w);

  if (p->data_spec == NULL)
    w_null (&w, "data");
  else
    {
      w_key (&w, "data");
      w_begin (&w);
      w_string (&w, "spec", p->data_spec);
      w_floats (&w, "mean", p->mean);
      w_floats (&w, "std", p->std);
      w_string (&w, "sha256", p->data_sha256);
      if (p->subset_size == 0)
        w_null (&w, "subset");
      else
        {
          w_key (&w, "subset");
          w_begin (&w);
          w_uint (&w, "size", p->subset_size);
          w_uint (&w, "seed", p->subset_seed);
          w_end (&w);
        }
      w_end (&w);
    }

  w_defaults (&w, plan);

  w_key (&w, "layers");
  w_begin (&w);
  if (plan->layers != NULL)
    {
      guint n;
      g_autofree const char **names = sorted_keys (plan->layers, &n);

      for (guint i = 0; i < n; i++)
        w_layer (&w, names[i], g_hash_table_lookup (plan->layers, names[i]));
    }
  w_end (&w);

  w_key (&w, "training");
  if (p->training == NULL)
    g_string_append (w.out, "null");
  else
    w_node (&w, p->training);

  if (!p->has_results)
    w_null (&w, "results");
  else
    {
      const LathePipelineResults *r = &p->results;

      w_key (&w, "results");
      w_begin (&w);
      w_double (&w, "accuracy", r->accuracy);
      w_double (&w, "baseline_accuracy", r->baseline_accuracy);
      w_double (&w, "fidelity", r->fidelity);
      w_int (&w, "size_bytes", r->size_bytes);
      w_int (&w, "baseline_size_bytes", r->baseline_size_bytes);
      w_int (&w, "file_size_bytes", r->file_size_bytes);
      w_string (&w, "model_sha256", r->model_sha256);
      w_end (&w);
    }

  w_end (&w);
  g_string_append_c (w.out, '\n');
  return g_string_free (w.out, FALSE);
}

gboolean
lathe_pipeline_save (const LathePipeline  *p,
                     const char           *path,
                     GError              **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (p != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = lathe_pipeline_to_json (p);
  g_return_val_if_fail (text != NULL, FALSE);
  /* a temporary file beside `path`, renamed over it */
  return g_file_set_contents (path, text, -1, error);
}

char *
lathe_pipeline_resolve_path (const LathePipeline *p,
                             const char          *pipeline_file,
                             const char          *path)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (g_path_is_absolute (path) || pipeline_file == NULL)
    return g_strdup (path);
  dir = g_path_get_dirname (pipeline_file);
  if (strcmp (dir, ".") == 0)
    return g_strdup (path);
  return g_build_filename (dir, path, NULL);
}

gboolean
lathe_pipeline_check_layers (const LathePipeline  *p,
                             const char * const   *layer_names,
                             GError              **error)
{
  guint n;
  g_autofree const char **names = NULL;

  g_return_val_if_fail (p != NULL && p->plan != NULL, FALSE);
  g_return_val_if_fail (layer_names != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  names = sorted_keys (p->plan->layers, &n);
  for (guint i = 0; i < n; i++)
    if (!g_strv_contains (layer_names, names[i]))
      {
        g_autoptr(GString) path = g_string_new ("$.layers");
        g_autoptr(GString) known = g_string_new (NULL);
        guint n_known = g_strv_length ((char **) layer_names);

        append_member_path (path, names[i]);
        for (guint j = 0; j < n_known && j < 12; j++)
          g_string_append_printf (known, "%s%s", j > 0 ? ", " : "", layer_names[j]);
        if (n_known > 12)
          g_string_append (known, ", …");
        g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID,
                     "%s: the model has no layer named “%s” (it has %s)",
                     path->str, names[i], n_known > 0 ? known->str : "none");
        return FALSE;
      }
  return TRUE;
}
