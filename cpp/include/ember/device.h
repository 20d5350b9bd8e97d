// Devices. The core computes on the CPU; CUDA kernels exist only with -DEMBER_CUDA=ON.
#pragma once
#include <string>

namespace ember {
enum class DeviceType : int8_t { CPU = 0, CUDA = 1 };
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = -1;
  std::string str() const { return type == DeviceType::CPU ? "cpu" : "cuda"; }
};
}  // namespace ember
