// Portable kernels: one lane at a time, for CPUs without a vector path.
#include <cstddef>
#include "../kernels/step_types.h"

#define SGD_ISA scalar
#define SGD_ISA_LABEL "scalar"
#define SGD_KERNELS_NAME kScalarKernels
#include "../kernels/lanes.h"

namespace sgd {
namespace scalar {
template <class T>
using Vec = One<T>;
template <class T>
using Vec8 = Multi<One<T>, 8, T>;
}  // namespace scalar
}  // namespace sgd

#include "../kernels/sgd_kernel.h"
