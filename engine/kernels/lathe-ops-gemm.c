/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

#include <cblas.h>
#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-elementwise.h"
#include "kernels/lathe-ops-private.h"

void
lathe_gemm_f32 (gboolean     trans_a,
                gboolean     trans_b,
                gsize        M,
                gsize        N,
                gsize        K,
                float        alpha,
                const float *A,
                gsize        lda,
                const float *B,
                gsize        ldb,
                float        beta,
                float       *C,
                gsize        ldc)
{
  if (M == 0 || N == 0)
    return;
  if (K == 0)
    {
      /* BLAS leaves C alone for K = 0 only when beta = 1; be explicit. */
      for (gsize i = 0; i < M; i++)
        for (gsize j = 0; j < N; j++)
          C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
      return;
    }
  cblas_sgemm (CblasRowMajor,
               trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans,
               (blasint) M, (blasint) N, (blasint) K,
               alpha, A, (blasint) lda, B, (blasint) ldb,
               beta, C, (blasint) ldc);
}

void
lathe_gemm_f32_ref (gboolean     trans_a,
                    gboolean     trans_b,
                    gsize        M,
                    gsize        N,
                    gsize        K,
                    float        alpha,
                    const float *A,
                    gsize        lda,
                    const float *B,
                    gsize        ldb,
                    float        beta,
                    float       *C,
                    gsize        ldc)
{
  for (gsize i = 0; i < M; i++)
    for (gsize j = 0; j < N; j++)
      {
        double acc = 0.0;
        for (gsize k = 0; k < K; k++)
          acc += (double) (trans_a ? A[k * lda + i] : A[i * lda + k]) *
                 (double) (trans_b ? B[j * ldb + k] : B[k * ldb + j]);
        C[i * ldc + j] = (float) (alpha * acc + (beta == 0.f ? 0.0 : beta * (double) C[i * ldc + j]));
      }
}

/* ---------------------------------------------------------------------- */
/* Gemm                                                                    */

typedef struct {
  float    alpha;
  float    beta;
  gboolean trans_a;
  gboolean trans_b;
  gboolean legacy_broadcast;   /* opset < 7: C broadcasts only with broadcast=1 */
} GemmParams;

static gboolean
gemm_setup (LatheNode  *node,
            GError    **error)
{
  GemmParams *p = g_new0 (GemmParams, 1);

  p->alpha = lathe_node_get_float (node, "alpha", 1.f);
  p->beta = lathe_node_get_float (node, "beta", 1.f);
  p->trans_a = lathe_node_get_int (node, "transA", 0) != 0;
  p->trans_b = lathe_node_get_int (node, "transB", 0) != 0;
  p->legacy_broadcast = node->since < 7 ? lathe_node_get_int (node, "broadcast", 0) != 0 : TRUE;
  node->params = p;
  node->params_free = g_free;
  if (node->since < 11 && node->n_inputs < 3)
    {
      lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                            "input C is required before opset 11");
      return FALSE;
    }
  return TRUE;
}

static gboolean
gemm_infer (LatheNode    *node,
            LatheTensor **inputs,
            LatheTensor **outputs,
            gsize        *workspace,
            GError      **error)
{
  const GemmParams *p = node->params;
  const LatheTensor *a = inputs[0], *b = inputs[1];
  const LatheTensor *c = node->n_inputs > 2 ? inputs[2] : NULL;
  gint64 M, N, K, Kb;
  gint64 dims[2];

  for (guint i = 0; i < node->n_inputs; i++)
    if (inputs[i] != NULL && inputs[i]->dtype != LATHE_DTYPE_FLOAT)
      {
        lathe_node_unsupported_type (error, node, inputs[i]->dtype);
        return FALSE;
      }
  if (a->ndim != 2 || b->ndim != 2)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "A and B must be 2-D, got ranks %u and %u", a->ndim, b->ndim);
      return FALSE;
    }
  M = p->trans_a ? a->dims[1] : a->dims[0];
  K = p->trans_a ? a->dims[0] : a->dims[1];
  Kb = p->trans_b ? b->dims[1] : b->dims[0];
  N = p->trans_b ? b->dims[0] : b->dims[1];
  if (K != Kb)
    {
      g_autofree char *sa = lathe_shape_to_string (a->ndim, a->dims);
      g_autofree char *sb = lathe_shape_to_string (b->ndim, b->dims);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "A %s and B %s do not multiply (transA=%d, transB=%d)",
                            sa, sb, p->trans_a, p->trans_b);
      return FALSE;
    }
  dims[0] = M;
  dims[1] = N;
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, 2, dims);

  if (c != NULL)
    {
      /* C must broadcast unidirectionally to [M, N]. */
      gboolean ok = c->ndim <= 2;
      for (guint d = 0; ok && d < c->ndim; d++)
        {
          gint64 want = dims[2 - c->ndim + d];
          ok = c->dims[d] == want || c->dims[d] == 1;
        }
      if (ok && !p->legacy_broadcast && c->n != (gsize) (M * N))
        ok = FALSE;
      if (!ok)
        {
          g_autofree char *sc = lathe_shape_to_string (c->ndim, c->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "C %s does not broadcast to [%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "]",
                                sc, M, N);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
gemm_run (LatheNode    *node,
          LatheTensor **inputs,
          LatheTensor **outputs,
          gpointer      workspace,
          GError      **error)
{
  const GemmParams *p = node->params;
  const LatheTensor *a = inputs[0], *b = inputs[1];
  const LatheTensor *c = node->n_inputs > 2 ? inputs[2] : NULL;
  LatheTensor *y = outputs[0];
  gsize M = (gsize) y->dims[0], N = (gsize) y->dims[1];
  gsize K = (gsize) (p->trans_a ? a->dims[0] : a->dims[1]);
  float beta = 0.f;
  float *Y = y->data;

  if (c != NULL && p->beta != 0.f)
    {
      const float *C = c->data;
      gsize cr = c->ndim == 2 ? (gsize) c->dims[0] : 1;
      gsize cc = c->ndim >= 1 ? (gsize) c->dims[c->ndim - 1] : 1;

      /* Seed Y with C broadcast; the GEMM then accumulates onto it. */
      for (gsize i = 0; i < M; i++)
        {
          const float *crow = C + (cr == 1 ? 0 : i * cc);
          float *yrow = Y + i * N;
          if (cc == N)
            memcpy (yrow, crow, N * sizeof (float));
          else
            for (gsize j = 0; j < N; j++)
              yrow[j] = crow[0];
        }
      if (p->beta != 1.f)
        for (gsize i = 0; i < M * N; i++)
          Y[i] *= p->beta;
      beta = 1.f;
    }

  lathe_gemm_f32 (p->trans_a, p->trans_b, M, N, K, p->alpha,
                  a->data, (gsize) a->dims[1], b->data, (gsize) b->dims[1],
                  beta, Y, N);
  return TRUE;
}

static const int gemm_versions[] = { 1, 6, 7, 9, 11, 13, 0 };

static const LatheOpDef gemm_op = {
  .op_type = "Gemm", .versions = gemm_versions,
  .min_inputs = 2, .max_inputs = 3, .min_outputs = 1, .max_outputs = 1,
  .setup = gemm_setup, .infer = gemm_infer, .run = gemm_run,
};

/* ---------------------------------------------------------------------- */
/* MatMul (numpy semantics)                                                */

typedef struct {
  gint64 M, N, K;
  guint  batch_rank;
  gint64 batch[LATHE_MAX_DIMS];
} MatMulShape;

static gboolean
matmul_shape (LatheNode         *node,
              const LatheTensor *a,
              const LatheTensor *b,
              MatMulShape       *s,
              gint64            *out_dims,
              guint             *out_rank,
              GError           **error)
{
  gint64 ad[LATHE_MAX_DIMS], bd[LATHE_MAX_DIMS];
  guint ar = a->ndim, br = b->ndim;
  guint r = 0;

  if (ar == 0 || br == 0)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "MatMul operands must not be scalars");
      return FALSE;
    }
  memcpy (ad, a->dims, ar * sizeof (gint64));
  memcpy (bd, b->dims, br * sizeof (gint64));
  /* 1-D operands are promoted to matrices, then the axis is dropped. */
  if (ar == 1)
    {
      ad[1] = ad[0];
      ad[0] = 1;
      ar = 2;
    }
  if (br == 1)
    {
      bd[1] = 1;
      br = 2;
    }
  s->M = ad[ar - 2];
  s->K = ad[ar - 1];
  s->N = bd[br - 1];
  if (bd[br - 2] != s->K)
    {
      g_autofree char *sa = lathe_shape_to_string (a->ndim, a->dims);
      g_autofree char *sb = lathe_shape_to_string (b->ndim, b->dims);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "%s and %s do not multiply", sa, sb);
      return FALSE;
    }
  s->batch_rank = MAX (ar, br) - 2;
  for (guint d = 0; d < s->batch_rank; d++)
    {
      int ia = (int) d - (int) s->batch_rank + (int) ar - 2;
      int ib = (int) d - (int) s->batch_rank + (int) br - 2;
      gint64 da = ia >= 0 ? ad[ia] : 1;
      gint64 db = ib >= 0 ? bd[ib] : 1;
      if (da != db && da != 1 && db != 1)
        {
          g_autofree char *sa = lathe_shape_to_string (a->ndim, a->dims);
          g_autofree char *sb = lathe_shape_to_string (b->ndim, b->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "batch dimensions of %s and %s do not broadcast", sa, sb);
          return FALSE;
        }
      s->batch[d] = MAX (da, db);
      out_dims[r++] = s->batch[d];
    }
  if (a->ndim > 1)
    out_dims[r++] = s->M;
  if (b->ndim > 1)
    out_dims[r++] = s->N;
  *out_rank = r;
  return TRUE;
}

static gboolean
matmul_infer (LatheNode    *node,
              LatheTensor **inputs,
              LatheTensor **outputs,
              gsize        *workspace,
              GError      **error)
{
  MatMulShape s;
  gint64 dims[LATHE_MAX_DIMS];
  guint rank;

  for (guint i = 0; i < 2; i++)
    if (inputs[i]->dtype != LATHE_DTYPE_FLOAT)
      {
        lathe_node_unsupported_type (error, node, inputs[i]->dtype);
        return FALSE;
      }
  if (!matmul_shape (node, inputs[0], inputs[1], &s, dims, &rank, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, rank, dims);
  return TRUE;
}

static gboolean
matmul_run (LatheNode    *node,
            LatheTensor **inputs,
            LatheTensor **outputs,
            gpointer      workspace,
            GError      **error)
{
  const LatheTensor *a = inputs[0], *b = inputs[1];
  MatMulShape s;
  gint64 dims[LATHE_MAX_DIMS];
  guint rank;
  gsize n_batch = 1;
  gint64 idx[LATHE_MAX_DIMS] = { 0 };
  const float *A = a->data, *B = b->data;
  float *Y = outputs[0]->data;

  if (!matmul_shape (node, a, b, &s, dims, &rank, error))
    return FALSE;

  /* A stacked [..., M, K] times a plain matrix is one tall GEMM. */
  if (b->ndim <= 2 && a->ndim >= 2)
    {
      gsize rows = a->n / (gsize) MAX (s.K, 1);
      if (s.K == 0)
        rows = outputs[0]->n / (gsize) MAX (s.N, 1);
      lathe_gemm_f32 (FALSE, FALSE, rows, (gsize) s.N, (gsize) s.K, 1.f,
                      A, (gsize) s.K, B, (gsize) s.N, 0.f, Y, (gsize) s.N);
      return TRUE;
    }

  for (guint d = 0; d < s.batch_rank; d++)
    n_batch *= (gsize) s.batch[d];

  for (gsize bi = 0; bi < n_batch; bi++)
    {
      /* offsets of this batch entry in A and B, with broadcasting */
      gsize oa = 0, ob = 0, sa = 1, sb = 1;
      int ar = (int) a->ndim - 2, br = (int) b->ndim - 2;

      for (int d = (int) s.batch_rank - 1; d >= 0; d--)
        {
          int ia = d - (int) s.batch_rank + ar;
          int ib = d - (int) s.batch_rank + br;
          if (ia >= 0)
            {
              if (a->dims[ia] != 1)
                oa += (gsize) idx[d] * sa;
              sa *= (gsize) a->dims[ia];
            }
          if (ib >= 0)
            {
              if (b->dims[ib] != 1)
                ob += (gsize) idx[d] * sb;
              sb *= (gsize) b->dims[ib];
            }
        }
      lathe_gemm_f32 (FALSE, FALSE, (gsize) s.M, (gsize) s.N, (gsize) s.K, 1.f,
                      A + oa * (gsize) (s.M * s.K), (gsize) s.K,
                      B + ob * (gsize) (s.K * s.N), (gsize) s.N,
                      0.f, Y + bi * (gsize) (s.M * s.N), (gsize) s.N);
      for (int d = (int) s.batch_rank - 1; d >= 0; d--)
        {
          if (++idx[d] < s.batch[d])
            break;
          idx[d] = 0;
        }
    }
  return TRUE;
}

static const int matmul_versions[] = { 1, 9, 13, 0 };

static const LatheOpDef matmul_op = {
  .op_type = "MatMul", .versions = matmul_versions,
  .min_inputs = 2, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = matmul_infer, .run = matmul_run,
};

const LatheOpDef * const _lathe_ops_gemm[] = {
  &gemm_op, &matmul_op, NULL
};
