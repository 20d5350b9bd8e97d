// Random number generators: a counter-based Philox4x32-10 stream per generator.
//
// Element i of a random op is computed from the counter (offset + i) alone, so a kernel may
// split its range across any number of threads and still produce the same bits. Each op
// reserves as many counters as it consumes, which advances the generator's offset.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>
#include "export.h"

namespace ember {

class EMBER_API Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;  // torch's default seed
  explicit Generator(uint64_t seed = kDefaultSeed) : seed_(seed) {}

  // Restarts the stream from `seed`.
  void manual_seed(uint64_t seed);
  // Seeds from a non-deterministic source and returns the new seed.
  uint64_t seed();
  uint64_t initial_seed() const;
  // Reserves `n` consecutive counters; returns the seed (Philox key) and the first counter.
  std::pair<uint64_t, uint64_t> reserve(uint64_t n);
  // The state as bytes (seed and offset) and back; set_state checks the length.
  std::vector<uint8_t> get_state() const;
  void set_state(const std::vector<uint8_t>& state);

 private:
  mutable std::mutex mu_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when an op is given none (torch.default_generator).
EMBER_API const std::shared_ptr<Generator>& default_generator();
// Seeds the default generator (torch.manual_seed).
EMBER_API void manual_seed(uint64_t seed);

// Philox4x32-10: 128 random bits from a 64-bit key and a 64-bit counter.
inline std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
}

}  // namespace ember
