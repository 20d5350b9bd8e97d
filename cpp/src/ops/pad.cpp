// Padding, forward and backward side by side: constant padding of any number of trailing dims
// (negative amounts crop; its backward is the opposite padding), and reflect / replicate /
// circular padding of the last 1-3 dims, with torch's checks and messages.
//
// The non-constant modes are gathers with one index map per padded dim (out[..., j] reads
// in[..., map[j]]), built with torch's formulas, negative amounts included; the backward adds
// each output gradient to the element it was read from, plane by plane in a fixed order. The two
// are each other's backward, so higher derivatives work.
#include <cstring>
#include <memory>
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

namespace {

// Index maps of the (up to) three padded dims, right-aligned: dims not padded map j -> j.
struct PadMaps {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  std::vector<int64_t> map[3];
  int64_t planes = 1;  // product of the dims in front of the padded ones
  Shape in_shape, out_shape;
  std::string node_name;
};

// out[p, d, h, w] = x[p, md[d], mh[h], mw[w]] for elements of `bytes` bytes (any dtype).
template <typename U>
void pad_gather(const U* x, U* out, const PadMaps& m) {
  const int64_t OD = m.out[0], OH = m.out[1], OW = m.out[2], ID = m.in[0], IH = m.in[1], IW = m.in[2];
  const int64_t rows = m.planes * OD * OH;
  const int64_t* mw = m.map[2].data();
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(OW, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t oh = r % OH, od = (r / OH) % OD, p = r / (OH * OD);
      const U* src = x + ((p * ID + m.map[0][od]) * IH + m.map[1][oh]) * IW;
      U* dst = out + r * OW;
      for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = src[mw[ow]];
    }
  });
}

// gx[p, md[d], mh[h], mw[w]] += g[p, d, h, w]; each plane by one thread, in order.
template <typename T>
void pad_scatter_add(const T* g, T* gx, const PadMaps& m) {
  const int64_t OD = m.out[0], OH = m.out[1], OW = m.out[2], ID = m.in[0], IH = m.in[1], IW = m.in[2];
  const int64_t plane_out = OD * OH * OW;
  const int64_t* mw = m.map[2].data();
  parallel_for(0, m.planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(plane_out, 1)),
               [&](int64_t p0, int64_t p1) {
                 for (int64_t p = p0; p < p1; ++p)
                   for (int64_t od = 0; od < OD; ++od)
                     for (int64_t oh = 0; oh < OH; ++oh) {
                       const T* src = g + ((p * OD + od) * OH + oh) * OW;
                       T* dst = gx + ((p * ID + m.map[0][od]) * IH + m.map[1][oh]) * IW;
                       for (int64_t ow = 0; ow < OW; ++ow) dst[mw[ow]] += src[ow];
                     }
               });
}

Tensor pad_gather_op(const Tensor& x, const std::shared_ptr<const PadMaps>& m);

// The backward of a padding: gradients added back to the elements they were read from.
Tensor pad_scatter_op(const Tensor& g, const std::shared_ptr<const PadMaps>& m) {
  Tensor gc = detach(g);
  if (!gc.is_contiguous()) gc = contiguous(gc);
  Tensor out = zeros(m->in_shape, g.dtype());
  dispatch_floating(g.dtype(), m->node_name.c_str(), [&](auto tag) {
    using T = decltype(tag);
    pad_scatter_add<T>(gc.data<T>(), out.data<T>(), *m);
  });
  if (any_requires_grad({&g}))
    record_function((m->node_name + "Backward").c_str(), {g}, {&out},
                    [m](const GradList& gr, FunctionNode&) { return GradList{pad_gather_op(gr[0], m)}; });
  return out;
}

Tensor pad_gather_op(const Tensor& x, const std::shared_ptr<const PadMaps>& m) {
  Tensor xc = detach(x);
  if (!xc.is_contiguous()) xc = contiguous(xc);
  Tensor out = empty(m->out_shape, x.dtype());
  if (out.numel() > 0) {
    switch (itemsize(x.dtype())) {
      case 1: pad_gather<uint8_t>(static_cast<const uint8_t*>(xc.data_ptr()), static_cast<uint8_t*>(out.data_ptr()), *m); break;
      case 2: pad_gather<uint16_t>(static_cast<const uint16_t*>(xc.data_ptr()), static_cast<uint16_t*>(out.data_ptr()), *m); break;
      case 4: pad_gather<uint32_t>(static_cast<const uint32_t*>(xc.data_ptr()), static_cast<uint32_t*>(out.data_ptr()), *m); break;
      default: pad_gather<uint64_t>(static_cast<const uint64_t*>(xc.data_ptr()), static_cast<uint64_t*>(out.data_ptr()), *m); break;
    }
  }
  if (any_requires_grad({&x}))
    record_function(m->node_name.c_str(), {x}, {&out},
                    [m](const GradList& gr, FunctionNode&) { return GradList{pad_scatter_op(gr[0], m)}; });
  return out;
}

// torch's source index of output position j for reflect / replicate padding of a dim of size n.
int64_t reflect_or_replicate_index(bool reflect, int64_t j, int64_t n, int64_t left) {
  const int64_t i_start = std::max<int64_t>(0, -left), o_start = std::max<int64_t>(0, left);
  int64_t ip;
  if (j < left)
    ip = reflect ? 2 * left - j : left;
  else if (j < n + left)
    ip = j;
  else
    ip = reflect ? 2 * (n + left - 1) - j : n + left - 1;
  return ip - o_start + i_start;
}

// torch's circular padding: the (cropped) input in the middle, then the left pad copied from the
// right end of the result and the right pad from its left end. -1 marks a position never written.
std::vector<int64_t> circular_map(int64_t n, int64_t left, int64_t right) {
  const int64_t out = n + left + right, l0 = std::max<int64_t>(left, 0), r0 = std::max<int64_t>(right, 0);
  std::vector<int64_t> m(static_cast<size_t>(std::max<int64_t>(out, 0)), -1);
  for (int64_t j = l0; j < out - r0; ++j) m[j] = j - left;
  if (left > 0)
    for (int64_t j = 0; j < left; ++j) m[j] = m[out - left - r0 + j];
  if (right > 0)
    for (int64_t j = 0; j < right; ++j) m[out - right + j] = m[l0 + j];
  return m;
}

const char* kDimNames[] = {"D", "H", "W"};

}  // namespace

Tensor pad_nd(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode) {
  const int64_t np = static_cast<int64_t>(pad.size()), k = np / 2, nd = x.dim();
  const bool reflect = mode == "reflect", replicate = mode == "replicate", circular = mode == "circular";
  EMBER_CHECK_T(NotImplementedError, reflect || replicate || circular, "Unrecognised padding mode ", mode);
  EMBER_CHECK(np % 2 == 0, "Padding length must be divisible by 2");
  EMBER_CHECK(k <= nd, "Padding length should be less than or equal to two times the input dimension but got "
              "padding length ", np, " and input of dimension ", nd);
  if (!(k >= 1 && k <= 3 && (nd == k + 1 || nd == k + 2)))
    throw NotImplementedError(str_cat(
        "Padding size ", np, " is not supported for ", nd, "D input tensor.\n"
        "Supported combinations for non-constant padding:\n"
        "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
        "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
        "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"));
  const char* kernel = reflect ? "reflection_pad" : "replication_pad";
  if (!circular) {
    if (x.dtype() == DType::Bool)
      throw NotImplementedError(str_cat("\"", kernel, k, "d\" not implemented for 'Bool'"));
    bool ok = true;
    for (int64_t d = nd == k + 2 ? 1 : 0; d < nd; ++d) ok = ok && x.size(d) != 0;
    EMBER_CHECK(ok, "Expected ", k + 1, "D or ", k + 2, "D (batch mode) tensor with possibly 0 batch size and other "
                "non-zero dimensions for input, but got: ", shape_str(x.sizes()));
  }
  auto m = std::make_shared<PadMaps>();
  m->in_shape = m->out_shape = x.sizes();
  for (int64_t d = 0; d < nd - k; ++d) m->planes *= x.size(d);
  bool all_small = true, any_negative = false;
  for (int64_t i = 0; i < k; ++i) {  // i counts from the last dim
    const int64_t d = nd - 1 - i, left = pad[2 * i], right = pad[2 * i + 1], n = x.size(d), j = 2 - i;
    const int64_t out = n + left + right;
    if (reflect)
      EMBER_CHECK(left < n && right < n, "Argument #", 4 + 2 * i, ": Padding size should be less than the corresponding "
                  "input dimension, but got: padding (", left, ", ", right, ") at dimension ", d, " of input ",
                  shape_str(x.sizes()));
    if (circular) {
      EMBER_CHECK(left <= n && right <= n, "Padding value causes wrapping around more than once.");
      EMBER_CHECK(out >= 0, "Negative padding value is resulting in an empty dimension");
    }
    m->in[j] = n;
    m->out[j] = out;
    m->out_shape[d] = out;
    all_small = all_small && out < 1;
    any_negative = any_negative || out < 0;
  }
  if (!circular && (all_small || any_negative)) {
    std::string in_s, out_s;
    for (int64_t j = 3 - k; j < 3; ++j) {
      in_s += str_cat(j > 3 - k ? ", " : "", kDimNames[j], ": ", m->in[j]);
      out_s += str_cat(j > 3 - k ? " " : "", kDimNames[j], ": ", m->out[j]);
    }
    throw Error(str_cat("input (", in_s, ") is too small. Calculated output ", out_s));
  }
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t j = 2 - i, n = m->in[j];
    if (i >= k) {
      m->map[j] = {0};
      continue;
    }
    const int64_t left = pad[2 * i], right = pad[2 * i + 1];
    if (circular) {
      m->map[j] = circular_map(n, left, right);
    } else {
      m->map[j].resize(static_cast<size_t>(m->out[j]));
      for (int64_t o = 0; o < m->out[j]; ++o) m->map[j][o] = reflect_or_replicate_index(reflect, o, n, left);
    }
    for (int64_t src : m->map[j])  // cases torch itself rejects (overlapping copies)
      EMBER_CHECK(src >= 0 && src < n, "padding (", left, ", ", right, ") of a dimension of size ", n,
                  " is not supported in ", mode, " mode");
  }
  m->node_name = circular ? "CopySlices"  // torch's name: it pads circularly with slice copies
                          : str_cat(reflect ? "ReflectionPad" : "ReplicationPad", k, "DBackward0");
  return pad_gather_op(x, m);
}

}  // namespace ember
