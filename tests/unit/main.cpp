// Catch2 main for the unit-test binary (v2 and v3 alike: see catch_compat.hpp).
#define CATCH_CONFIG_RUNNER  // Catch2 v2: this translation unit holds Catch's implementation
#include "catch_compat.hpp"

int main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
