# Helpers shared by every src/ folder: one library per folder, one test binary per test file.

# homeostat_library(NAME SOURCES... DEPS ...) builds the static library homeostat_<NAME>.
function(homeostat_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(homeostat_${name} STATIC ${ARG_SOURCES})
  target_include_directories(homeostat_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(homeostat_${name} PUBLIC ${ARG_DEPS})
endfunction()

# homeostat_test(NAME SOURCES... DEPS ... [LABELS ...]) builds one GoogleTest binary and
# registers its tests with CTest.
function(homeostat_test name)
  if(NOT HOMEOSTAT_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  # Tests build option structs with designated initializers and leave the rest at defaults.
  target_compile_options(${name} PRIVATE -Wno-missing-field-initializers)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
