// Catch2 main for the CUDA tests: without a CUDA device the whole binary reports "skipped" to CTest (exit 77).
#define CATCH_CONFIG_RUNNER
#include "catch_compat.hpp"

#include <iostream>

#include <torch/torch.h>

int main(int argc, char** argv) {
  if (!torch::cuda::is_available()) {
    std::cout << "no CUDA device (or a CPU-only LibTorch): the CUDA tests are skipped\n";
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
