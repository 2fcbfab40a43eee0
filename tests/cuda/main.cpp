// Catch2 main for the CUDA tests: without a CUDA device the whole binary reports "skipped" to CTest (exit 77);
// listing the test cases (--list-tests) works everywhere.
#define CATCH_CONFIG_RUNNER  // Catch2 v2: this translation unit holds Catch's implementation
#include "catch_compat.hpp"

#include <iostream>

#include <torch/torch.h>

int main(int argc, char** argv) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  if (!session.configData().listTests && !torch::cuda::is_available()) {
    std::cout << "no CUDA device (or a CPU-only LibTorch): the CUDA tests are skipped\n";
    return 77;
  }
  return session.run();
}
