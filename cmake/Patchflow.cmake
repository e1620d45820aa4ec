# SPDX-License-Identifier: Apache-2.0
# Build helpers shared by every component.

find_program(PF_CCACHE ccache)
if(PF_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PF_CCACHE})
endif()

set(PF_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                -Wno-missing-field-initializers -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)

if(PF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(PF_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PF_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()

# pf_add_library(<component> SOURCES <files...> [DEPS <targets...>] [PRIVATE_DEPS <targets...>])
# Creates target pf_<component> with alias patchflow::<component>; public headers live in
# libs/<component>/include/patchflow/<component>/, private ones beside the sources.
function(pf_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(pf_${name} STATIC ${ARG_SOURCES})
  add_library(patchflow::${name} ALIAS pf_${name})
  target_include_directories(pf_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(pf_${name} PRIVATE ${PF_WARNINGS})
  target_link_libraries(pf_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# pf_add_executable(<target> SOURCES <files...> [DEPS <targets...>])
function(pf_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${PF_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()
