/* SPDX-License-Identifier: MIT */
#pragma once

#include "core/lathe-tensor.h"

G_BEGIN_DECLS

typedef enum {
  LATHE_BINARY_ADD,
  LATHE_BINARY_SUB,
  LATHE_BINARY_MUL,
  LATHE_BINARY_DIV,
  LATHE_BINARY_POW,
} LatheBinaryOp;

/* out = a ∘ b with numpy broadcasting; shapes already checked. The fast
 * form collapses the loop nest and runs a contiguous inner loop the
 * compiler vectorises; the _ref form walks every output index. */
void lathe_binary_f32     (LatheBinaryOp op,
                           const LatheTensor *a,
                           const LatheTensor *b,
                           LatheTensor *out);
void lathe_binary_f32_ref (LatheBinaryOp op,
                           const LatheTensor *a,
                           const LatheTensor *b,
                           LatheTensor *out);

/* C[M,N] = alpha·op(A)·op(B) + beta·C, row-major; the _ref twin is the
 * naive triple loop with double accumulation. */
void lathe_gemm_f32       (gboolean trans_a, gboolean trans_b,
                           gsize M, gsize N, gsize K,
                           float alpha, const float *A, gsize lda,
                           const float *B, gsize ldb,
                           float beta, float *C, gsize ldc);
void lathe_gemm_f32_ref   (gboolean trans_a, gboolean trans_b,
                           gsize M, gsize N, gsize K,
                           float alpha, const float *A, gsize lda,
                           const float *B, gsize ldb,
                           float beta, float *C, gsize ldc);

G_END_DECLS
