// Tensor: a handle to shared state (storage, offset, sizes, strides, dtype, autograd metadata).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>
#include "device.h"
#include "dtype.h"
#include "error.h"
#include "export.h"

namespace ember {

using Shape = std::vector<int64_t>;
class Tensor;
struct Node;

// A refcounted buffer. `owner` keeps foreign memory (numpy, DLPack) alive; the version counter
// is bumped by every in-place write so autograd can detect modified saved tensors.
struct EMBER_API Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<void> owner;
  std::atomic<uint32_t> version{0};
  Device device;
  // Allocates `nbytes` of 64-byte aligned, uninitialised memory.
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  // Wraps memory owned by someone else; `owner` is released when the storage dies.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::shared_ptr<void> owner);
};

using TensorHook = std::function<Tensor(const Tensor&)>;

// How a differentiable view was made (torch's CreationMeta): in-place writes through views made
// in no_grad/inference mode or by multi-output ops (split, unbind) are refused.
enum class ViewCreation : uint8_t { Default, NoGradMode, InferenceMode, MultiOutput };

// Autograd state, allocated only for tensors that take part in autograd.
struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<Tensor> grad;          // accumulated gradient (leaf or retained)
  std::shared_ptr<Node> grad_fn;         // null for leaves
  uint32_t output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;  // AccumulateGrad node of a leaf, created lazily
  std::vector<TensorHook> hooks;         // leaf hooks (non-leaf hooks live on grad_fn)
};

struct EMBER_API TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape sizes, strides;
  DType dtype = DType::Float32;
  std::unique_ptr<AutogradMeta> autograd;
  // Set on views: the tensor whose storage this one aliases (used by in-place autograd checks).
  bool is_view = false;
  // A Python number turned into a 0-dim tensor: it takes part in type promotion as a scalar.
  bool wrapped_number = false;
  bool inference = false;  // created under inference_mode (Tensor.is_inference)
  // Differentiable views (torch's _base): the root tensor, never itself a view, whose storage
  // this one aliases. An in-place write to the view rebases the root's history onto a
  // CopySlices node; the view's grad_fn is regenerated from the root's once the storage version
  // moved past `view_version` (autograd.h: set_view_base, rebase_history).
  std::shared_ptr<TensorImpl> view_base;
  uint32_t view_version = 0;
  ViewCreation view_creation = ViewCreation::Default;

  int64_t numel() const {
    int64_t n = 1;
    for (auto s : sizes) n *= s;
    return n;
  }
  void* data() const { return static_cast<char*>(storage->data) + offset * itemsize(dtype); }
  AutogradMeta& meta() {
    if (!autograd) autograd = std::make_unique<AutogradMeta>();
    return *autograd;
  }
};

// Python numbers and other scalar arguments.
struct Scalar {
  enum class Kind : int8_t { Bool, Int, Float } kind = Kind::Int;
  double d = 0;
  int64_t i = 0;
  Scalar() = default;
  Scalar(double v) : kind(Kind::Float), d(v), i(static_cast<int64_t>(v)) {}
  Scalar(float v) : Scalar(static_cast<double>(v)) {}
  Scalar(int64_t v) : kind(Kind::Int), d(static_cast<double>(v)), i(v) {}
  Scalar(int v) : Scalar(static_cast<int64_t>(v)) {}
  Scalar(bool v) : kind(Kind::Bool), d(v), i(v) {}
  bool is_floating() const { return kind == Kind::Float; }
  template <typename T> T to() const { return kind == Kind::Float ? static_cast<T>(d) : static_cast<T>(i); }
};

class EMBER_API Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return static_cast<bool>(impl_); }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  const Shape& sizes() const { return impl_->sizes; }
  const Shape& strides() const { return impl_->strides; }
  int64_t dim() const { return static_cast<int64_t>(impl_->sizes.size()); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return impl_->numel(); }
  DType dtype() const { return impl_->dtype; }
  int64_t storage_offset() const { return impl_->offset; }
  size_t element_size() const { return itemsize(impl_->dtype); }
  bool is_contiguous() const;
  void* data_ptr() const { return impl_->data(); }
  template <typename T> T* data() const { return static_cast<T*>(impl_->data()); }
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  uint32_t version() const { return impl_->storage->version.load(std::memory_order_relaxed); }
  void bump_version() const { impl_->storage->version.fetch_add(1, std::memory_order_relaxed); }

  // Autograd.
  // A view also requires grad when its base does (torch).
  bool requires_grad() const {
    if (impl_->autograd && impl_->autograd->requires_grad) return true;
    const TensorImpl* base = impl_->view_base.get();
    return base && base->autograd && base->autograd->requires_grad;
  }
  // Marks a leaf as requiring grad; throws on non-leaves asked to stop requiring grad.
  Tensor& set_requires_grad(bool r);
  // The node that produced this tensor; a view's is first brought up to date with its base's.
  const std::shared_ptr<Node>& grad_fn() const;
  uint32_t output_nr() const { return impl_->autograd ? impl_->autograd->output_nr : 0; }
  bool is_leaf() const { return !grad_fn(); }
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void retain_grad();
  bool retains_grad() const { return impl_->autograd && impl_->autograd->retains_grad; }
  // Registers a hook called with the gradient of this tensor; it may return a replacement.
  void register_hook(TensorHook hook);
  // Runs backprop from this tensor; `gradient` may be omitted for one-element tensors.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;

  // Element access for one-element tensors, converted to T.
  template <typename T> T item() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Row-major strides for `sizes`.
EMBER_API Shape contiguous_strides(const Shape& sizes);
// Product of sizes, checked for overflow and negative sizes.
EMBER_API int64_t shape_numel(const Shape& sizes);
// "[2, 3]" for error messages.
EMBER_API std::string shape_str(const Shape& sizes);
// Wraps a possibly negative dim into [0, ndim); IndexError names the valid range.
EMBER_API int64_t wrap_dim(int64_t dim, int64_t ndim);

// A new uninitialised contiguous tensor.
EMBER_API Tensor empty(const Shape& sizes, DType dtype = DType::Float32);
// A tensor viewing `storage` with the given geometry (no copy).
EMBER_API Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, int64_t offset);

}  // namespace ember
