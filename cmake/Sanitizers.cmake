# DLTRAIN_SANITIZE=address,undefined (any -fsanitize= list) instruments every target built here: all of
# them are ours, since dependencies (LibTorch included) come prebuilt and stay uninstrumented.
set(DLTRAIN_SANITIZE "" CACHE STRING "Sanitizers for dltrain's own code, e.g. address,undefined (empty: none)")

if(DLTRAIN_SANITIZE)
  message(STATUS "dltrain: building with -fsanitize=${DLTRAIN_SANITIZE}")
  # A UBSan finding must fail the test or fuzz run that hit it, not scroll past as a warning.
  add_compile_options(-fsanitize=${DLTRAIN_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${DLTRAIN_SANITIZE})
endif()
