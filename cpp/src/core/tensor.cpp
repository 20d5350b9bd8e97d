#include "ember/tensor.h"
#include <cstdlib>
#include <cstring>
#include <limits>
#include "dispatch.h"
#include "ember/autograd.h"
#include "ember/ops.h"

namespace ember {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto s = std::make_shared<Storage>();
  size_t rounded = ((nbytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error(str_cat("out of memory: tried to allocate ", nbytes, " bytes"));
  s->data = p;
  s->nbytes = nbytes;
  s->owner = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->owner = std::move(owner);
  return s;
}

Shape contiguous_strides(const Shape& sizes) {
  Shape st(sizes.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= sizes[i] > 1 ? sizes[i] : 1;
  }
  return st;
}

int64_t shape_numel(const Shape& sizes) {
  int64_t n = 1;
  for (auto s : sizes) {
    EMBER_CHECK(s >= 0, "Trying to create tensor with negative dimension ", s, ": ", shape_str(sizes));
    if (s != 0 && n > std::numeric_limits<int64_t>::max() / s)
      throw Error(str_cat("tensor of shape ", shape_str(sizes), " is too large"));
    n *= s;
  }
  return n;
}

std::string shape_str(const Shape& sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(sizes[i]);
  }
  return s + "]";
}

int64_t wrap_dim(int64_t dim, int64_t ndim) {
  int64_t n = ndim > 0 ? ndim : 1;  // scalars accept dim 0 and -1, as in torch
  if (dim < -n || dim >= n)
    throw IndexError(str_cat("Dimension out of range (expected to be in range of [", -n, ", ", n - 1,
                             "], but got ", dim, ")"));
  return dim < 0 ? dim + n : dim;
}

Tensor empty(const Shape& sizes, DType dtype) {
  int64_t n = shape_numel(sizes);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<size_t>(n) * itemsize(dtype));
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  impl->dtype = dtype;
  impl->inference = inference_mode_enabled();
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->sizes = sizes;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  impl->is_view = true;
  impl->inference = base.impl()->inference;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return impl_->sizes[wrap_dim(d, dim())]; }
int64_t Tensor::stride(int64_t d) const { return impl_->strides[wrap_dim(d, dim())]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    int64_t s = impl_->sizes[i];
    if (s == 0) return true;
    if (s != 1 && impl_->strides[i] != expected) return false;
    expected *= s;
  }
  return true;
}

Tensor& Tensor::set_requires_grad(bool r) {
  if (!r && !is_leaf())
    throw Error("you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
  if (r && !is_floating(dtype()))
    throw Error("only Tensors of floating point dtype can require gradients");
  impl_->meta().requires_grad = r;
  return *this;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  if (impl_->view_base) refresh_view_history(*this);
  return impl_->autograd ? impl_->autograd->grad_fn : none;
}

Tensor Tensor::grad() const {
  if (impl_->autograd && impl_->autograd->grad) return *impl_->autograd->grad;
  return Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  if (!g.defined()) {
    if (impl_->autograd) impl_->autograd->grad.reset();
    return;
  }
  EMBER_CHECK(g.sizes() == sizes(), "attempting to assign a gradient of size '", shape_str(g.sizes()),
              "' to a tensor of size '", shape_str(sizes()),
              "'. Please ensure that the gradient and the tensor are the same size");
  EMBER_CHECK(g.dtype() == dtype(), "attempting to assign a gradient with dtype '", dtype_name(g.dtype()),
              "' to a tensor with dtype '", dtype_name(dtype()), "'");
  impl_->meta().grad = std::make_shared<Tensor>(g);
}

void Tensor::retain_grad() {
  EMBER_CHECK(requires_grad(), "can't retain_grad on Tensor that has requires_grad=False");
  if (is_leaf() || retains_grad()) return;
  impl_->autograd->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  grad_fn()->retain_grad_hooks.emplace_back(output_nr(), [weak](const Tensor& g) {
    auto self = weak.lock();
    if (!self || !g.defined()) return;
    auto& m = self->meta();
    if (!m.grad) m.grad = std::make_shared<Tensor>(clone(g));
    else *m.grad = add(*m.grad, g);
  });
}

void Tensor::register_hook(TensorHook hook) {
  EMBER_CHECK(requires_grad(), "cannot register a hook on a tensor that doesn't require gradient");
  if (is_leaf()) impl_->meta().hooks.push_back(std::move(hook));
  else grad_fn()->pre_hooks.emplace_back(output_nr(), std::move(hook));
}

template <typename T>
T Tensor::item() const {
  if (numel() != 1)
    throw Error(str_cat("a Tensor with ", numel(), " elements cannot be converted to Scalar"));
  return dispatch_all(dtype(), [&](auto tag) -> T {
    using S = decltype(tag);
    return static_cast<T>(*static_cast<const S*>(data_ptr()));
  });
}
template EMBER_API double Tensor::item<double>() const;
template EMBER_API float Tensor::item<float>() const;
template EMBER_API int64_t Tensor::item<int64_t>() const;
template EMBER_API bool Tensor::item<bool>() const;

}  // namespace ember
