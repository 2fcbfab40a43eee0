# Finds every dependency with find_package; a missing one stops configure and names the Debian package.

macro(dltrain_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR
      "dltrain needs ${package}, which was not found.\n"
      "hint: on Debian/Ubuntu run `apt-get install ${debian_package}` "
      "(or scripts/setup.sh), or point CMAKE_PREFIX_PATH at an installation.")
  endif()
endmacro()

dltrain_require(Torch libtorch-dev)
dltrain_require(CLI11 libcli11-dev)
dltrain_require(spdlog libspdlog-dev)
dltrain_require(nlohmann_json nlohmann-json3-dev)
dltrain_require(ZLIB zlib1g-dev)
dltrain_require(CURL libcurl4-openssl-dev)
dltrain_require(OpenSSL libssl-dev)
dltrain_require(PNG libpng-dev)
dltrain_require(LibArchive libarchive-dev)
dltrain_require(Protobuf libprotobuf-dev)
dltrain_require(ONNX libonnx-dev)
dltrain_require(Threads libc6-dev)
if(DLTRAIN_BUILD_TESTS)
  dltrain_require(Catch2 catch2)
endif()

message(STATUS "dltrain: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
