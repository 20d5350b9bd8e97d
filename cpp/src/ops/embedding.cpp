// Embedding lookups, forward and backward side by side: embedding, embedding_renorm_ and
// embedding_bag.
//
// Both backward passes reduce to one kernel, accumulate_rows: out[dst[i]] += scale[i] * g[src[i]]
// over entries i in order (dst < 0 skips an entry: padding, or an index outside every bag).
// It is parallel over columns, so every output element sums its terms in entry order whatever
// the thread count. Under create_graph the same sums are written with index_add / scatter_add.
#include <cmath>
#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>
#include "elementwise_kernels.h"

namespace ember {

namespace {

std::vector<int64_t> read_indices(const Tensor& idx, const char* fn, int arg = 1) {
  if (idx.dtype() != DType::Int64 && idx.dtype() != DType::Int32)
    throw Error(str_cat("Expected tensor for argument #", arg, " 'indices' to have one of the following scalar types: "
                        "Long, Int; but got ember.", legacy_type_name(idx.dtype()),
                        " instead (while checking arguments for ", fn, ")"));
  Tensor c = idx.is_contiguous() ? idx : contiguous(idx);
  std::vector<int64_t> v(static_cast<size_t>(c.numel()));
  if (c.dtype() == DType::Int64) {
    if (!v.empty()) std::memcpy(v.data(), c.data_ptr(), v.size() * sizeof(int64_t));
  } else {
    const int32_t* p = c.data<int32_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
  }
  return v;
}

Tensor long_tensor(const std::vector<int64_t>& v, const Shape& shape) {
  Tensor t = empty(shape, DType::Int64);
  if (!v.empty()) std::memcpy(t.data_ptr(), v.data(), v.size() * sizeof(int64_t));
  return t;
}

// out [V, D] = sum over i of scale[i] * g[src[i]] into row dst[i] (skipped when dst[i] < 0).
Tensor accumulate_rows(const Tensor& g_, const std::vector<int64_t>& src, const std::vector<int64_t>& dst,
                       const std::vector<double>& scale, int64_t V, int64_t D) {
  Tensor g = g_.is_contiguous() ? g_ : contiguous(g_);
  Tensor out = zeros({V, D}, g.dtype());
  int64_t n = static_cast<int64_t>(dst.size());
  dispatch_floating(g.dtype(), "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    T* op = out.data<T>();
    parallel_for(0, D, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t c0, int64_t c1) {
      for (int64_t i = 0; i < n; ++i) {
        if (dst[i] < 0) continue;
        const T* gr = gp + src[i] * D;
        T* orow = op + dst[i] * D;
        if (scale.empty()) {
          for (int64_t c = c0; c < c1; ++c) orow[c] += gr[c];
        } else {
          T s = static_cast<T>(scale[i]);
          for (int64_t c = c0; c < c1; ++c) orow[c] += gr[c] * s;
        }
      }
    });
  });
  return out;
}

// The same sum with public ops, differentiable in g (and in `weights`, per-entry multipliers).
Tensor accumulate_rows_composite(const Tensor& g, const std::vector<int64_t>& src, const std::vector<int64_t>& dst,
                                 const std::vector<double>& scale, const Tensor& weights, int64_t V, int64_t D) {
  int64_t n = static_cast<int64_t>(dst.size());
  std::vector<int64_t> src_c(src), dst_c(dst);
  std::vector<double> factor(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    factor[i] = dst[i] < 0 ? 0.0 : (scale.empty() ? 1.0 : scale[i]);
    if (dst[i] < 0) src_c[i] = dst_c[i] = 0;
  }
  Tensor f = empty({n, 1}, DType::Float64);
  if (n) std::memcpy(f.data_ptr(), factor.data(), factor.size() * sizeof(double));
  Tensor rows = index_select(g, 0, long_tensor(src_c, {n})) * to_dtype(f, g.dtype());
  if (weights.defined()) rows = rows * unsqueeze(weights, 1);
  return index_add(zeros({V, D}, g.dtype()), 0, long_tensor(dst_c, {n}), rows);
}

// 1 / (number of occurrences of each entry's index) for scale_grad_by_freq.
std::vector<double> inverse_frequencies(const std::vector<int64_t>& dst) {
  std::unordered_map<int64_t, int64_t> counts;
  for (auto d : dst) if (d >= 0) ++counts[d];
  std::vector<double> s(dst.size(), 0.0);
  for (size_t i = 0; i < dst.size(); ++i) if (dst[i] >= 0) s[i] = 1.0 / static_cast<double>(counts[dst[i]]);
  return s;
}

void check_weight(const Tensor& weight) {
  if (weight.dim() != 2) throw Error("'weight' must be 2-D");
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx, bool scale_grad_by_freq,
                 bool sparse) {
  if (sparse) throw NotImplementedError("embedding: sparse gradients are not supported (use sparse=False)");
  check_weight(weight);
  std::vector<int64_t> idx = read_indices(indices, "embedding");
  int64_t V = weight.sizes()[0], D = weight.sizes()[1], n = static_cast<int64_t>(idx.size());
  for (auto i : idx)
    if (i < 0 || i >= V) throw IndexError("index out of range in self");
  Tensor w = weight.is_contiguous() ? weight : contiguous(detach(weight));
  Shape out_shape = indices.sizes();
  out_shape.push_back(D);
  Tensor out = empty(out_shape, weight.dtype());
  size_t row_bytes = static_cast<size_t>(D) * weight.element_size();
  const char* wp = static_cast<const char*>(w.data_ptr());
  char* op = static_cast<char*>(out.data_ptr());
  parallel_for(0, n, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) std::memcpy(op + i * row_bytes, wp + idx[i] * row_bytes, row_bytes);
  });
  if (any_requires_grad({&weight})) {
    std::vector<int64_t> dst(idx);
    if (padding_idx >= 0)
      for (auto& d : dst) if (d == padding_idx) d = -1;
    std::vector<double> scale = scale_grad_by_freq ? inverse_frequencies(dst) : std::vector<double>();
    record_function("EmbeddingBackward0", {weight}, {&out},
                    [idx = std::move(idx), dst = std::move(dst), scale = std::move(scale), V, D, n](
                        const GradList& gs, FunctionNode&) {
                      Tensor g = reshape(gs[0], {n, D});
                      std::vector<int64_t> src(static_cast<size_t>(n));
                      for (int64_t i = 0; i < n; ++i) src[i] = i;
                      if (grad_enabled()) return GradList{accumulate_rows_composite(g, src, dst, scale, Tensor(), V, D)};
                      return GradList{accumulate_rows(g, src, dst, scale, V, D)};
                    });
  }
  return out;
}

Tensor& embedding_renorm_(Tensor& weight, const Tensor& indices, double max_norm, double norm_type) {
  check_weight(weight);
  check_inplace(weight);
  std::vector<int64_t> idx = read_indices(indices, "embedding_renorm_");
  int64_t V = weight.sizes()[0], D = weight.sizes()[1];
  for (auto i : idx)
    if (i < 0 || i >= V) throw IndexError("index out of range in self");
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  weight.bump_version();
  dispatch_floating(weight.dtype(), "embedding_renorm_", [&](auto tag) {
    using T = decltype(tag);
    T* wp = weight.data<T>();
    int64_t s0 = weight.strides()[0], s1 = weight.strides()[1];
    for (auto r : idx) {
      T* row = wp + r * s0;
      double norm = 0;
      if (norm_type == 1) {
        for (int64_t c = 0; c < D; ++c) norm += std::abs(static_cast<double>(row[c * s1]));
      } else if (norm_type == 2) {
        for (int64_t c = 0; c < D; ++c) norm += static_cast<double>(row[c * s1]) * row[c * s1];
        norm = std::sqrt(norm);
      } else if (std::isinf(norm_type)) {
        for (int64_t c = 0; c < D; ++c) norm = std::max(norm, std::abs(static_cast<double>(row[c * s1])));
      } else {
        for (int64_t c = 0; c < D; ++c) norm += std::pow(std::abs(static_cast<double>(row[c * s1])), norm_type);
        norm = std::pow(norm, 1.0 / norm_type);
      }
      if (norm > max_norm) {
        T scale = static_cast<T>(max_norm / (norm + 1e-7));
        for (int64_t c = 0; c < D; ++c) row[c * s1] *= scale;
      }
    }
  });
  return weight;
}

Tensor embedding_bag(const Tensor& weight, const Tensor& indices, const Tensor& offsets, bool scale_grad_by_freq,
                     int64_t mode, const Tensor& per_sample_weights, bool include_last_offset, int64_t padding_idx) {
  check_weight(weight);
  EMBER_CHECK(indices.dim() == 1 && offsets.dim() == 1, "embedding_bag: input and offsets must be 1-D, got ",
              indices.dim(), "-D and ", offsets.dim(), "-D");
  EMBER_CHECK(mode >= 0 && mode <= 2, "embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got ", mode);
  std::vector<int64_t> idx = read_indices(indices, "embedding_bag");
  std::vector<int64_t> off = read_indices(offsets, "embedding_bag");
  int64_t V = weight.sizes()[0], D = weight.sizes()[1];
  int64_t n = static_cast<int64_t>(idx.size()), n_off = static_cast<int64_t>(off.size());
  const Tensor& psw = per_sample_weights;
  if (psw.defined()) {
    EMBER_CHECK(mode == 0, "embedding_bag: per_sample_weights is only supported for mode='sum'");
    EMBER_CHECK(psw.dim() == 1 && psw.numel() == n, "embedding_bag: per_sample_weights must have the shape of input ",
                shape_str(indices.sizes()), ", got ", shape_str(psw.sizes()));
    EMBER_CHECK(psw.dtype() == weight.dtype(), "expected scalar type ", scalar_type_name(weight.dtype()),
                " but found ", scalar_type_name(psw.dtype()));
  }
  if (n_off > 0 && off[0] != 0)
    throw Error(str_cat("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                        "position 0. However, got ", off[0]));
  if (n_off > 0 && off.back() > n)
    throw Error(str_cat("offsets[-1] can not be greater than input's length ", n, " but got offsets[-1] of ",
                        off.back()));
  for (int64_t b = 1; b < n_off; ++b)
    if (off[b] < off[b - 1])
      throw Error(str_cat("embedding_bag: offsets must be non-decreasing, but offsets[", b - 1, "] = ", off[b - 1],
                          " > offsets[", b, "] = ", off[b]));
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= V)
      throw Error(str_cat("Index ", i, " of input takes value ", idx[i], " which is not in the valid range [0, ", V, ")"));
  int64_t B = include_last_offset ? std::max<int64_t>(n_off - 1, 0) : n_off;

  // Which bag each entry belongs to (-1: after the last bag), and which entries count.
  std::vector<int64_t> bag_of(static_cast<size_t>(n), -1), dst(static_cast<size_t>(n), -1);
  std::vector<int64_t> bag_size(static_cast<size_t>(B), 0);
  for (int64_t b = 0; b < B; ++b) {
    int64_t end = b + 1 < n_off ? off[b + 1] : n;
    for (int64_t i = off[b]; i < end; ++i) {
      bag_of[i] = b;
      if (idx[i] != padding_idx || padding_idx < 0) {
        dst[i] = idx[i];
        ++bag_size[b];
      }
    }
  }

  Tensor w = weight.is_contiguous() ? weight : contiguous(detach(weight));
  Tensor pswc = psw.defined() && !psw.is_contiguous() ? contiguous(detach(psw)) : psw;
  Tensor out = zeros({B, D}, weight.dtype());
  std::vector<int64_t> argmax(mode == 2 ? static_cast<size_t>(B * D) : 0, -1);
  dispatch_floating(weight.dtype(), "embedding_bag", [&](auto tag) {
    using T = decltype(tag);
    const T* wp = w.data<T>();
    const T* pp = pswc.defined() ? pswc.data<T>() : nullptr;
    T* op = out.data<T>();
    parallel_for(0, B, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D * (n / std::max<int64_t>(B, 1) + 1), 1)),
                 [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        int64_t end = b + 1 < n_off ? off[b + 1] : n;
        T* orow = op + b * D;
        for (int64_t i = off[b]; i < end; ++i) {
          if (dst[i] < 0) continue;
          const T* wr = wp + dst[i] * D;
          if (mode == 2) {
            int64_t* am = argmax.data() + b * D;
            for (int64_t c = 0; c < D; ++c)
              if (am[c] < 0 || wr[c] > orow[c]) { orow[c] = wr[c]; am[c] = dst[i]; }
          } else {
            T s = pp ? pp[i] : T(1);
            for (int64_t c = 0; c < D; ++c) orow[c] += wr[c] * s;
          }
        }
        if (mode == 1 && bag_size[b] > 0) {
          T inv = T(1) / static_cast<T>(bag_size[b]);
          for (int64_t c = 0; c < D; ++c) orow[c] *= inv;
        }
      }
    });
  });

  if (any_requires_grad({&weight, &psw})) {
    // Per-entry multipliers of the weight gradient that do not depend on differentiable inputs.
    std::vector<double> scale;
    if (mode != 2 && (mode == 1 || scale_grad_by_freq)) {
      scale = scale_grad_by_freq ? inverse_frequencies(dst) : std::vector<double>(static_cast<size_t>(n), 1.0);
      if (mode == 1)
        for (int64_t i = 0; i < n; ++i) if (dst[i] >= 0) scale[i] /= static_cast<double>(bag_size[bag_of[i]]);
    }
    record_function(
        "EmbeddingBagBackward0", {weight, psw}, {&out},
        [bag_of = std::move(bag_of), dst = std::move(dst), scale = std::move(scale), argmax = std::move(argmax), mode,
         V, D, B, n](const GradList& gs, FunctionNode& self) {
          const Tensor& g = gs[0];
          Tensor w = self.saved(0), psw = self.saved(1);
          GradList r(2);
          bool composite = grad_enabled();
          if (self.needs_grad(0)) {
            if (mode == 2) {
              std::vector<int64_t> am(argmax), valid_v(argmax.size());
              for (size_t k = 0; k < am.size(); ++k) { valid_v[k] = am[k] >= 0; if (am[k] < 0) am[k] = 0; }
              Tensor am_t = long_tensor(am, {B, D});
              Tensor masked = mul(g, to_dtype(long_tensor(valid_v, {B, D}), g.dtype()));
              r[0] = scatter_add(zeros({V, D}, g.dtype()), 0, am_t, masked);
            } else {
              std::vector<double> sc(scale);
              r[0] = composite ? accumulate_rows_composite(g, bag_of, dst, sc, psw, V, D) : Tensor();
              if (!composite) {
                if (psw.defined()) {
                  if (sc.empty()) sc.assign(static_cast<size_t>(n), 1.0);
                  Tensor pc = to_dtype(contiguous(psw), DType::Float64, true);
                  const double* pp = pc.data<double>();
                  for (int64_t i = 0; i < n; ++i) sc[i] *= pp[i];
                }
                r[0] = accumulate_rows(g, bag_of, dst, sc, V, D);
              }
            }
          }
          if (self.needs_grad(1)) {
            // d out[bag] / d psw[i] = weight[idx[i]]: one dot product per entry.
            std::vector<int64_t> src_c(bag_of), dst_c(dst), keep(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) {
              keep[i] = dst[i] >= 0;
              if (dst[i] < 0) src_c[i] = dst_c[i] = 0;
            }
            Tensor rows = index_select(g, 0, long_tensor(src_c, {n})) * index_select(w, 0, long_tensor(dst_c, {n}));
            r[1] = sum(rows, std::vector<int64_t>{1}) * to_dtype(long_tensor(keep, {n}), g.dtype());
          }
          return r;
        },
        {{weight, false}, {psw, false}});
  }
  return out;
}

}  // namespace ember
