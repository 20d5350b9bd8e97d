// Checkpoint I/O: the safetensors format, and tensors over raw storages for file loaders.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "tensor.h"

namespace ember {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The contents of a safetensors file: tensors in file order and the `__metadata__` strings.
struct SafetensorsData {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
};

// safetensors' dtype name ("F32", "I64", "BOOL", ...).
EMBER_API const char* safetensors_dtype_name(DType t);
// The bytes of a safetensors file, laid out as the safetensors package writes them.
EMBER_API std::string safetensors_serialize(const NamedTensors& tensors,
                                            const std::map<std::string, std::string>& metadata = {});
// Parses and validates safetensors bytes; every tensor owns a copy of its data.
EMBER_API SafetensorsData safetensors_deserialize(const void* data, size_t nbytes);
// Writes a safetensors file atomically: a temporary file in the same folder, fsync, rename.
EMBER_API void save_safetensors(const std::string& path, const NamedTensors& tensors,
                                const std::map<std::string, std::string>& metadata = {});
// Reads and validates a safetensors file.
EMBER_API SafetensorsData load_safetensors(const std::string& path);

// A tensor of `dtype` with the given geometry over `storage`, checked to lie inside it.
EMBER_API Tensor tensor_from_storage(std::shared_ptr<Storage> storage, DType dtype, const Shape& sizes,
                                     const Shape& strides, int64_t offset);

}  // namespace ember
