# ringshard_library(NAME DIR DEPS...): a layer library from every .cc in DIR
# that is not a test, benchmark or fuzz target. Headers are included as
# "layer/file.h" from the project root.
function(ringshard_library name dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "(_test|_bench|_fuzz|main)\\.cc$")
  if(NOT srcs)
    # A layer with headers only (or none yet, while it is being written):
    # an interface library, so the layers above it can still name it.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${CMAKE_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARGN})
endfunction()
