# LibTorch discovery, in one place. Order (first hit wins):
#   1. the LIBTORCH environment variable (a LibTorch tree: share/cmake/Torch or lib/cmake/Torch inside)
#   2. Torch_DIR (cache variable or environment variable: the folder holding TorchConfig.cmake)
#   3. CMAKE_PREFIX_PATH (cache variable or environment variable)
#   4. the `torch` Python package of python3, if it has one (torch.utils.cmake_prefix_path)
#   5. the system (Debian: apt-get install libtorch-dev)
# Sets CLIPS4_TORCH_SOURCE to say which one was used, and the usual Torch_* / TORCH_* variables.

set(_clips4_hints "")
set(CLIPS4_TORCH_SOURCE "")

if(DEFINED ENV{LIBTORCH} AND NOT "$ENV{LIBTORCH}" STREQUAL "")
  set(_root "$ENV{LIBTORCH}")
  foreach(_sub share/cmake/Torch lib/cmake/Torch lib/x86_64-linux-gnu/cmake/Torch cmake/Torch "")
    if(EXISTS "${_root}/${_sub}/TorchConfig.cmake")
      set(Torch_DIR "${_root}/${_sub}" CACHE PATH "Folder holding TorchConfig.cmake" FORCE)
      set(CLIPS4_TORCH_SOURCE "LIBTORCH=${_root}")
      break()
    endif()
  endforeach()
  if(CLIPS4_TORCH_SOURCE STREQUAL "")
    message(FATAL_ERROR
      "clips4: LIBTORCH is set to '${_root}' but no TorchConfig.cmake was found under it "
      "(looked in share/cmake/Torch, lib/cmake/Torch and the folder itself). "
      "Set LIBTORCH to the unpacked libtorch folder (the one holding lib/ and share/), or unset it.")
  endif()
endif()

if(CLIPS4_TORCH_SOURCE STREQUAL "" AND NOT Torch_DIR AND DEFINED ENV{Torch_DIR} AND NOT "$ENV{Torch_DIR}" STREQUAL "")
  set(Torch_DIR "$ENV{Torch_DIR}" CACHE PATH "Folder holding TorchConfig.cmake" FORCE)
endif()
if(CLIPS4_TORCH_SOURCE STREQUAL "" AND Torch_DIR)
  set(CLIPS4_TORCH_SOURCE "Torch_DIR=${Torch_DIR}")
endif()

if(CLIPS4_TORCH_SOURCE STREQUAL "")
  if(CMAKE_PREFIX_PATH OR (DEFINED ENV{CMAKE_PREFIX_PATH} AND NOT "$ENV{CMAKE_PREFIX_PATH}" STREQUAL ""))
    find_package(Torch QUIET CONFIG NO_SYSTEM_ENVIRONMENT_PATH NO_CMAKE_SYSTEM_PATH NO_CMAKE_INSTALL_PREFIX)
    if(Torch_FOUND)
      set(CLIPS4_TORCH_SOURCE "CMAKE_PREFIX_PATH")
    endif()
  endif()
endif()

if(CLIPS4_TORCH_SOURCE STREQUAL "")
  find_program(_clips4_python NAMES python3 python)
  if(_clips4_python)
    execute_process(
      COMMAND "${_clips4_python}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _py_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _py_rc)
    if(_py_rc EQUAL 0 AND EXISTS "${_py_prefix}/Torch/TorchConfig.cmake")
      set(Torch_DIR "${_py_prefix}/Torch" CACHE PATH "Folder holding TorchConfig.cmake" FORCE)
      set(CLIPS4_TORCH_SOURCE "python3 torch package (${_py_prefix})")
    endif()
  endif()
endif()

if(CLIPS4_TORCH_SOURCE STREQUAL "" OR CLIPS4_TORCH_SOURCE MATCHES "^(LIBTORCH|Torch_DIR|python3)")
  find_package(Torch QUIET CONFIG)
endif()
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "clips4: LibTorch was not found.\n"
    "  On Debian/Ubuntu:   sudo apt-get install libtorch-dev libopenblas0-openmp\n"
    "  Your own LibTorch:  LIBTORCH=/path/to/libtorch npm run build:native\n"
    "                      (or Torch_DIR=/path/to/libtorch/share/cmake/Torch)\n"
    "  CUDA builds work the same way: point LIBTORCH at the CUDA LibTorch tree.")
endif()
if(CLIPS4_TORCH_SOURCE STREQUAL "")
  set(CLIPS4_TORCH_SOURCE "system (${Torch_DIR})")
endif()

# The folder holding libtorch.so, for the RUNPATH (no LD_LIBRARY_PATH needed at run time).
find_library(CLIPS4_TORCH_LIBRARY torch HINTS "${Torch_DIR}/../../../lib" "${Torch_DIR}/../../lib" NO_CACHE)
if(TORCH_LIBRARY)
  set(CLIPS4_TORCH_LIBRARY "${TORCH_LIBRARY}")
endif()
get_filename_component(CLIPS4_TORCH_LIBDIR "${CLIPS4_TORCH_LIBRARY}" DIRECTORY)
message(STATUS "clips4: LibTorch ${Torch_VERSION} from ${CLIPS4_TORCH_SOURCE}; libraries in ${CLIPS4_TORCH_LIBDIR}")

# Debian's LibTorch takes OpenBLAS through the libblas.so.3 / libopenblas.so.0 alternatives, whose
# default is OpenBLAS's pthreads build: its fork handler deadlocks when a process forks while two
# computations are in flight (native/src/runtime.cc says why). Where the OpenMP build is installed
# beside it (libopenblas0-openmp), the addon links that build's libraries by path and searches its
# folder first, so they are loaded under those names before LibTorch asks for them, whatever the
# system's alternative says. CLIPS4_BLAS_DIR is empty when there is no such build.
set(CLIPS4_BLAS_DIR "")
set(CLIPS4_BLAS_LIBRARIES "")
if(EXISTS "${CLIPS4_TORCH_LIBDIR}/openblas-openmp/libopenblas.so.0")
  set(CLIPS4_BLAS_DIR "${CLIPS4_TORCH_LIBDIR}/openblas-openmp")
  foreach(_name libopenblas.so.0 libblas.so.3 liblapack.so.3)
    if(EXISTS "${CLIPS4_BLAS_DIR}/${_name}")
      list(APPEND CLIPS4_BLAS_LIBRARIES "${CLIPS4_BLAS_DIR}/${_name}")
    endif()
  endforeach()
  message(STATUS "clips4: linking OpenBLAS's OpenMP build from ${CLIPS4_BLAS_DIR}")
endif()

# oneDNN for the Winograd convolutions (native/src/winograd_conv.h): only a shared libdnnl that
# LibTorch itself links (Debian's libtorch links libdnnl.so.2), with its headers installed
# (libdnnl-dev), so that the addon and LibTorch share one oneDNN and one OpenMP pool. A LibTorch with
# oneDNN built in (the official archives) leaves it out: the convolutions are then LibTorch's.
set(CLIPS4_DNNL_LIBRARY "")
set(CLIPS4_DNNL_INCLUDE "")
find_library(_clips4_torch_cpu torch_cpu HINTS "${CLIPS4_TORCH_LIBDIR}" NO_DEFAULT_PATH NO_CACHE)
find_program(_clips4_readelf readelf)
if(_clips4_torch_cpu AND _clips4_readelf)
  execute_process(COMMAND "${_clips4_readelf}" -d "${_clips4_torch_cpu}" OUTPUT_VARIABLE _clips4_dyn ERROR_QUIET)
  string(REGEX MATCH "\\[(libdnnl\\.so\\.[0-9]+)\\]" _clips4_needed "${_clips4_dyn}")
  if(_clips4_needed)
    find_path(_clips4_dnnl_inc oneapi/dnnl/dnnl.hpp NO_CACHE)
    find_library(_clips4_dnnl_lib NAMES "${CMAKE_MATCH_1}" NO_CACHE)
    if(_clips4_dnnl_inc AND _clips4_dnnl_lib)
      set(CLIPS4_DNNL_LIBRARY "${_clips4_dnnl_lib}")
      set(CLIPS4_DNNL_INCLUDE "${_clips4_dnnl_inc}")
      message(STATUS "clips4: oneDNN ${CMAKE_MATCH_1} (LibTorch's) for Winograd convolutions")
    else()
      message(STATUS "clips4: LibTorch links ${CMAKE_MATCH_1} but its headers are missing (apt-get install libdnnl-dev): no Winograd convolutions")
    endif()
  endif()
endif()
