// Tensor creation.
#include "../core/dispatch.h"
#include "ember/ops.h"

namespace ember {

Tensor full(const Shape& sizes, const Scalar& v, DType dtype) {
  Tensor t = empty(sizes, dtype);
  NoGradGuard ng;
  fill_(t, v);
  return t;
}

Tensor zeros(const Shape& sizes, DType dtype) { return full(sizes, Scalar(int64_t(0)), dtype); }
Tensor ones(const Shape& sizes, DType dtype) { return full(sizes, Scalar(int64_t(1)), dtype); }
Tensor zeros_like(const Tensor& x) { return zeros(x.sizes(), x.dtype()); }
Tensor ones_like(const Tensor& x) { return ones(x.sizes(), x.dtype()); }

}  // namespace ember
