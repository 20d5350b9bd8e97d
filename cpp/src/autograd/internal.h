// Graph-building helpers shared by the autograd sources.
#pragma once
#include "ember/autograd.h"

namespace ember {

// The next node sequence number (later nodes run first among ready ones).
uint64_t next_sequence_nr();
// torch's error for a backward through freed saved tensors.
[[noreturn]] void throw_backward_twice();
// Makes `fn` output `output_nr` the history of `t`, moving t's retain_grad hook to it.
void set_history(const Tensor& t, const std::shared_ptr<Node>& fn, uint32_t output_nr);

}  // namespace ember
