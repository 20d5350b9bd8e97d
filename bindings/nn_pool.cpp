// Pooling and resampling: the kernels behind ember.nn.functional's pooling, interpolate and
// pixel shuffle in ember._C._nn (as torch._C._nn), and the ones torch also has at top level
// (ember.max_pool2d, ember.avg_pool1d, ember.pixel_shuffle, ...). Argument conversion only.
#include "common.h"

namespace ember_py {

using ember::Shape;
using ember::Tensor;

namespace {

const char* kCount[4] = {"", "one", "two", "three"};

// An int (repeated n times) or a sequence of ints; nullopt when the length is neither 1 nor n.
// An empty sequence gives `empty` (torch's stride=[] meaning "the kernel size").
std::optional<Shape> int_tuple(py::handle h, size_t n, const Shape& empty = {}) {
  if (PyLong_Check(h.ptr()) || (!PySequence_Check(h.ptr()) && py::hasattr(h, "__index__")))
    return Shape(n, h.attr("__index__")().cast<int64_t>());
  Shape v;
  for (auto item : h) {
    if (!PyLong_Check(item.ptr()) && !py::hasattr(item, "__index__"))
      throw py::type_error("expected a tuple of ints, but found element of type " +
                           std::string(py::str(py::type::handle_of(item).attr("__name__"))));
    v.push_back(item.attr("__index__")().cast<int64_t>());
  }
  if (v.empty()) return empty.empty() ? std::nullopt : std::optional<Shape>(empty);
  if (v.size() == 1) return Shape(n, v[0]);
  if (v.size() != n) return std::nullopt;
  return v;
}

// The arguments of a sliding-window pooling op of nd dims, with torch's messages.
struct WindowArgs {
  Shape kernel, stride, padding, dilation;
};

WindowArgs window_args(const char* fn, size_t nd, py::handle kernel, py::handle stride, py::handle padding,
                       py::handle dilation) {
  std::string n = kCount[nd];
  auto fail = [&](const std::string& what) { throw std::runtime_error(std::string(fn) + ": " + what + n + " ints"); };
  WindowArgs a;
  auto k = int_tuple(kernel, nd);
  if (!k) fail("kernel_size must either be a single int, or a tuple of ");
  a.kernel = *k;
  auto s = stride.is_none() ? std::optional<Shape>(a.kernel) : int_tuple(stride, nd, a.kernel);
  if (!s) fail("stride must either be omitted, a single int, or a tuple of ");
  a.stride = *s;
  auto p = int_tuple(padding, nd);
  if (!p) fail("padding must either be a single int, or a tuple of ");
  a.padding = *p;
  if (!dilation.is_none()) {
    auto d = int_tuple(dilation, nd);
    if (!d) fail("dilation must be either a single int, or a tuple of ");
    a.dilation = *d;
  }
  return a;
}

// 1-d ops take one int; torch names the argument in its message.
int64_t one_int(py::handle h, const char* fn, const char* arg) {
  auto v = int_tuple(h, 1);
  if (!v) {
    size_t len = py::len(h);
    throw std::runtime_error(std::string(fn) + "() argument '" + arg + "' should contain one int (got " +
                             std::to_string(len) + ")");
  }
  return (*v)[0];
}

// Output sizes of adaptive pooling: ints, or None meaning the input's size.
Shape adaptive_size(const Tensor& x, py::handle h, size_t nd, const char* msg) {
  Shape out;
  if (PyLong_Check(h.ptr())) return Shape(nd, h.cast<int64_t>());
  for (auto item : h) out.push_back(item.is_none() ? -1 : item.cast<int64_t>());
  if (out.size() != nd) throw std::runtime_error(msg);
  for (size_t i = 0; i < nd; ++i)
    if (out[i] == -1 && h[py::int_(i)].is_none()) out[i] = x.sizes()[x.dim() - nd + i];
  return out;
}

std::optional<std::vector<double>> opt_scales(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return h.cast<std::vector<double>>();
}

ember::OptDims opt_sizes(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return h.cast<std::vector<int64_t>>();
}

}  // namespace

void init_nn_pool(py::module_& m) {
  py::module_ nn = py::hasattr(m, "_nn") ? py::reinterpret_borrow<py::module_>(m.attr("_nn"))
                                         : m.def_submodule("_nn", "Kernels behind ember.nn.functional");
  auto x = py::arg("input");
  auto empty_list = py::arg("stride") = py::list();

  // ---- max pooling
  m.def("max_pool1d",
        [](const Tensor& input, py::handle kernel_size, py::handle stride, py::handle padding, py::handle dilation,
           bool ceil_mode) {
          auto len = [](py::handle h) { return PyLong_Check(h.ptr()) ? size_t(1) : py::len(h); };
          auto one = [&](py::handle h, const char* arg, int64_t dflt) -> int64_t {
            if (!PyLong_Check(h.ptr()) && py::len(h) == 0) return dflt;
            if (len(h) != 1)
              throw std::runtime_error(std::string("max_pool1d() ") + arg +
                                       " must be an int, list of ints or tuple of ints of size 1 but got size " +
                                       std::to_string(len(h)));
            return (*int_tuple(h, 1))[0];
          };
          int64_t k = one(kernel_size, "kernel_size", 0);
          int64_t s = stride.is_none() ? k : one(stride, "stride", k);
          int64_t p = one(padding, "padding", 0), d = one(dilation, "dilation", 1);
          py::gil_scoped_release nogil;
          return ember::max_pool1d(input, k, s, p, d, ceil_mode);
        },
        x, py::arg("kernel_size"), empty_list, py::arg("padding") = 0, py::arg("dilation") = 1,
        py::arg("ceil_mode") = false);
  static const char* kMaxNames[4] = {"", "max_pool1d_with_indices", "max_pool2d", "max_pool3d"};
  for (size_t nd : {1, 2, 3}) {
    auto with_indices = [nd](const Tensor& input, py::handle kernel_size, py::handle stride, py::handle padding,
                             py::handle dilation, bool ceil_mode) {
      WindowArgs a = window_args(kMaxNames[nd], nd, kernel_size, stride, padding, dilation);
      py::gil_scoped_release nogil;
      return ember::max_pool_with_indices(input, a.kernel, a.stride, a.padding, a.dilation, ceil_mode);
    };
    auto values = [with_indices](const Tensor& input, py::handle kernel_size, py::handle stride, py::handle padding,
                                 py::handle dilation, bool ceil_mode) {
      return with_indices(input, kernel_size, stride, padding, dilation, ceil_mode).first;
    };
    std::string name = "max_pool" + std::to_string(nd) + "d";
    auto args = std::make_tuple(py::arg("kernel_size"), py::arg("stride") = py::list(), py::arg("padding") = 0,
                                py::arg("dilation") = 1, py::arg("ceil_mode") = false);
    (nd == 1 ? m : nn).def((name + "_with_indices").c_str(), with_indices, x, std::get<0>(args), std::get<1>(args),
                           std::get<2>(args), std::get<3>(args), std::get<4>(args));
    if (nd > 1)
      m.def(name.c_str(), values, x, std::get<0>(args), std::get<1>(args), std::get<2>(args), std::get<3>(args),
            std::get<4>(args));
  }

  // ---- average pooling
  m.def("avg_pool1d",
        [](const Tensor& input, py::handle kernel_size, py::handle stride, py::handle padding, bool ceil_mode,
           bool count_include_pad) {
          int64_t k = one_int(kernel_size, "avg_pool1d", "kernel_size");
          int64_t s = (stride.is_none() || (!PyLong_Check(stride.ptr()) && py::len(stride) == 0))
                          ? k : one_int(stride, "avg_pool1d", "stride");
          int64_t p = one_int(padding, "avg_pool1d", "padding");
          py::gil_scoped_release nogil;
          return ember::avg_pool(input, {k}, {s}, {p}, ceil_mode, count_include_pad, std::nullopt);
        },
        x, py::arg("kernel_size"), empty_list, py::arg("padding") = 0, py::arg("ceil_mode") = false,
        py::arg("count_include_pad") = true);
  for (size_t nd : {2, 3}) {
    std::string name = "avg_pool" + std::to_string(nd) + "d";
    nn.def(name.c_str(),
           [nd, name](const Tensor& input, py::handle kernel_size, py::handle stride, py::handle padding, bool ceil_mode,
                      bool count_include_pad, std::optional<int64_t> divisor_override) {
             WindowArgs a = window_args(name.c_str(), nd, kernel_size, stride, padding, py::none());
             py::gil_scoped_release nogil;
             return ember::avg_pool(input, a.kernel, a.stride, a.padding, ceil_mode, count_include_pad,
                                    divisor_override);
           },
           x, py::arg("kernel_size"), empty_list, py::arg("padding") = 0, py::arg("ceil_mode") = false,
           py::arg("count_include_pad") = true, py::arg("divisor_override") = py::none());
  }

  // ---- adaptive pooling
  m.def("adaptive_avg_pool1d",
        [](const Tensor& input, py::handle output_size) {
          int64_t o = one_int(output_size, "adaptive_avg_pool1d", "output_size");
          py::gil_scoped_release nogil;
          return ember::adaptive_avg_pool(input, {o});
        },
        x, py::arg("output_size"));
  m.def("adaptive_max_pool1d",
        [](const Tensor& input, py::handle output_size) {
          int64_t o = one_int(output_size, "adaptive_max_pool1d", "output_size");
          py::gil_scoped_release nogil;
          return ember::adaptive_max_pool(input, {o});
        },
        x, py::arg("output_size"));
  for (size_t nd : {2, 3}) {
    std::string avg = "adaptive_avg_pool" + std::to_string(nd) + "d", mx = "adaptive_max_pool" + std::to_string(nd) + "d";
    std::string avg_msg = avg + ": output_size must be " + std::to_string(nd);
    std::string max_msg = mx + "(): internal error: output_size.size() must be " + std::to_string(nd);
    nn.def(avg.c_str(),
           [nd, avg_msg](const Tensor& input, py::handle output_size) {
             Shape o = adaptive_size(input, output_size, nd, avg_msg.c_str());
             py::gil_scoped_release nogil;
             return ember::adaptive_avg_pool(input, o);
           },
           x, py::arg("output_size"));
    nn.def(mx.c_str(),
           [nd, max_msg](const Tensor& input, py::handle output_size) {
             Shape o = adaptive_size(input, output_size, nd, max_msg.c_str());
             py::gil_scoped_release nogil;
             return ember::adaptive_max_pool(input, o);
           },
           x, py::arg("output_size"));
  }

  // ---- unpooling (output_size: the spatial size, resolved by nn.functional)
  for (size_t nd : {1, 2, 3}) {
    std::string name = "max_unpool" + std::to_string(nd) + "d";
    nn.def(name.c_str(),
           [](const Tensor& input, const Tensor& indices, const std::vector<int64_t>& output_size) {
             py::gil_scoped_release nogil;
             return ember::max_unpool(input, indices, output_size);
           },
           x, py::arg("indices"), py::arg("output_size"));
  }

  // ---- interpolation
  static const char* kNearest[4] = {"", "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"};
  static const char* kLinear[4] = {"", "upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d"};
  for (size_t nd : {1, 2, 3}) {
    nn.def(kNearest[nd],
           [](const Tensor& input, py::handle output_size, py::handle scale_factors) {
             auto o = opt_sizes(output_size);
             auto s = opt_scales(scale_factors);
             py::gil_scoped_release nogil;
             return ember::upsample_nearest(input, o, s);
           },
           x, py::arg("output_size") = py::none(), py::arg("scale_factors") = py::none());
    nn.def(kLinear[nd],
           [](const Tensor& input, py::handle output_size, bool align_corners, py::handle scale_factors) {
             auto o = opt_sizes(output_size);
             auto s = opt_scales(scale_factors);
             py::gil_scoped_release nogil;
             return ember::upsample_linear(input, o, align_corners, s);
           },
           x, py::arg("output_size"), py::arg("align_corners"), py::arg("scale_factors") = py::none());
  }

  // ---- pixel shuffle
  m.def("pixel_shuffle", &ember::pixel_shuffle, x, py::arg("upscale_factor"));
  m.def("pixel_unshuffle", &ember::pixel_unshuffle, x, py::arg("downscale_factor"));
}

}  // namespace ember_py
