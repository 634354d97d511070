# modelgate_add_test(NAME LABELS unit|integration SOURCES a.cpp ... [LIBS lib ...])
# One GoogleTest executable per call, registered with ctest under its label.
find_package(GTest REQUIRED)
include(GoogleTest)

function(modelgate_add_test name)
  cmake_parse_arguments(arg "" "" "LABELS;SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE modelgate_options GTest::gtest GTest::gtest_main ${arg_LIBS})
  gtest_discover_tests(${name} PROPERTIES LABELS "${arg_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
