# loads_add_test_library(<name> <sources>...)
# Builds lib<name>.so, a loads test library that loads-master can run.
function(loads_add_test_library name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE loads::loads)
  set_target_properties(${name} PROPERTIES PREFIX "lib")
endfunction()
