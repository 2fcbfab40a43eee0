# An INTERFACE target carrying the project's warning flags; our own targets link it, dependencies do not.
add_library(dltrain_warnings INTERFACE)
target_compile_options(dltrain_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic
  $<$<BOOL:${DLTRAIN_WERROR}>:-Werror>)
