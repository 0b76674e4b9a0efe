// CPU detection and the choice of instruction set, made once per addon instance.
#pragma once
#include <string>
#include <vector>
#include "kernels/step_types.h"

namespace sgd {

// Kernel tables of the ISAs this CPU and OS can run, best last. Never empty:
// "scalar" is always first.
const std::vector<const Kernels*>& available_kernels();

// The table named `name` if this machine can run it, else null.
const Kernels* find_kernels(const std::string& name);

// The best available table, or the one SGD_NATIVE_ISA names. Throws
// std::invalid_argument with a message when SGD_NATIVE_ISA names something unusable.
const Kernels* default_kernels();

}  // namespace sgd
