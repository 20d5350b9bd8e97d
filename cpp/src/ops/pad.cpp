// Constant padding of any number of trailing dims, forward and backward side by side.
// Negative amounts crop. The backward of a padding is the opposite padding of the gradient.
#include "elementwise_kernels.h"

namespace ember {

Tensor constant_pad_nd(const Tensor& x, const std::vector<int64_t>& pad, const Scalar& value) {
  int64_t nd = x.dim(), np = static_cast<int64_t>(pad.size());
  EMBER_CHECK(np % 2 == 0, "Length of pad must be even but instead it equals ", np);
  EMBER_CHECK(np / 2 <= nd, "Length of pad should be no more than twice the number of dimensions of the input. "
              "Pad length is ", np, "while the input has ", nd, "dimensions.");
  // Crop first (negative amounts), then place the cropped input inside the padded output.
  Tensor src = detach(x);
  Shape out_shape = x.sizes();
  std::vector<std::pair<int64_t, int64_t>> placed;  // (dim, offset in the output) of each padded dim
  for (int64_t i = 0; i < np / 2; ++i) {
    int64_t d = nd - 1 - i, left = pad[2 * i], right = pad[2 * i + 1];
    int64_t size = src.sizes()[d];
    int64_t kept = size - std::max<int64_t>(-left, 0) - std::max<int64_t>(-right, 0);
    EMBER_CHECK(kept >= 0, "narrow(): length must be non-negative.");
    src = narrow(src, d, std::max<int64_t>(-left, 0), kept);
    out_shape[d] = kept + std::max<int64_t>(left, 0) + std::max<int64_t>(right, 0);
    placed.emplace_back(d, std::max<int64_t>(left, 0));
  }
  Tensor out = full(out_shape, value, x.dtype());
  {
    NoGradGuard ng;
    Tensor region = out;
    for (auto [d, offset] : placed) region = narrow(region, d, offset, src.sizes()[d]);
    copy_(region, src);
  }
  if (any_requires_grad({&x}))
    record_function("ConstantPadNdBackward0", {x}, {&out}, [pad](const GradList& g, FunctionNode&) {
      std::vector<int64_t> inverse(pad.size());
      for (size_t i = 0; i < pad.size(); ++i) inverse[i] = -pad[i];
      return GradList{constant_pad_nd(g[0], inverse, Scalar(int64_t(0)))};
    });
  return out;
}

}  // namespace ember
