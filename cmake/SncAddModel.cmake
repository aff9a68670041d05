# snc_add_model(<target> NETWORK <C++ type> HEADER <header>
#               [WEIGHTS <file.safetensors>] [TARGETS <halide targets...>] [STMT <variable>])
# snc_add_model(<target> ONNX <model.onnx> [BATCH <n>] [TARGETS ...] [STMT <variable>])
#
# With ONNX, snc-import turns the exported model into the declaration snc_onnx::<target id> and its
# weights at build time (BATCH: the batch to compile when the model's is dynamic).
# Compiles the network <C++ type>, declared in the C++ <header>, into a static library <target>
# with a C header <target>.h (the target's name made a C identifier, "snc-net" -> snc_net.h):
#   <id>(input, output)                   with WEIGHTS: the weights are inside the library
#   <id>(input, weights, output)          without: packed weights come at run time
#   <id>_with_weights(input, weights, output), <id>_pack_weights(path, ...), shapes, counts
#   every int function returns an enum snc_status (snc/runtime/status.h); <id>_last_error() says why
# Linking <target> is all a program needs, C or C++: it carries Halide's runtime and snc::runtime_c.
# TARGETS are Halide targets; several CPU ones build one library that picks the best the CPU
# supports at run time (list the most specific first, a baseline last). A CUDA target
# (x86-64-linux-cuda-cuda_capability_NN: its PTX runs on GPUs of capability NN and newer, never
# older; 70 covers V100, A100, H100 and H200, and 86 is Halide 14's highest) and an OpenCL target
# (x86-64-linux-opencl) add a variant each, which <id>_set_device chooses (AUTO: a usable GPU,
# else the CPU). The default is explicit, not the build machine's host, so binaries are
# portable. All models of a project share one Halide runtime.
# STMT names a variable that receives the path of the lowered statement of the first target.

set(SNC_DEFAULT_TARGETS x86-64-linux-avx512_skylake x86-64-linux-avx2-fma-f16c x86-64-linux
    CACHE STRING "Halide targets of snc_add_model when it is given none")
set(_SNC_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# The targets of a library by device: the CPU ones (at least one: the fallback), and at most one
# CUDA and one OpenCL target. Other GPU APIs are refused.
function(_snc_split_targets WHERE TARGETS CPU CUDA OPENCL)
  set(cpu "")
  set(cuda "")
  set(opencl "")
  foreach(target IN LISTS TARGETS)
    if(target MATCHES "(^|-)cuda(-|$)")
      if(cuda)
        message(FATAL_ERROR "${WHERE}: two CUDA targets (${cuda}, ${target}); give one")
      endif()
      set(cuda "${target}")
    elseif(target MATCHES "(^|-)opencl(-|$)")
      if(opencl)
        message(FATAL_ERROR "${WHERE}: two OpenCL targets (${opencl}, ${target}); give one")
      endif()
      set(opencl "${target}")
    elseif(target MATCHES "(^|-)(metal|vulkan|d3d12compute|openglcompute|hexagon_dma)(-|$)")
      message(FATAL_ERROR "${WHERE}: ${target}: snc's devices are the CPU, CUDA and OpenCL")
    else()
      list(APPEND cpu "${target}")
    endif()
  endforeach()
  if(NOT cpu)
    message(FATAL_ERROR "${WHERE}: TARGETS needs a CPU target too, to fall back on and to run where no GPU is")
  endif()
  set(${CPU} "${cpu}" PARENT_SCOPE)
  set(${CUDA} "${cuda}" PARENT_SCOPE)
  set(${OPENCL} "${opencl}" PARENT_SCOPE)
endfunction()

# Every CUDA variant of the build, for tools/cuda_kernels.py (the ptxas check and the kernels'
# record): a label, the object or archive that carries its PTX, its lowered statement, and whether
# the default build makes it ("default") or a target does on request (a folder EXCLUDE_FROM_ALL:
# the benchmark's). snc_write_cuda_manifest(<file>) writes the list once all are declared.
function(snc_record_cuda_variant LABEL ARTIFACT STMT)
  get_directory_property(on_request EXCLUDE_FROM_ALL)
  if(on_request)
    set(when "on request")
  else()
    set(when "default")
  endif()
  set_property(GLOBAL APPEND PROPERTY SNC_CUDA_VARIANTS "${LABEL}\t${ARTIFACT}\t${STMT}\t${when}")
endfunction()

function(snc_write_cuda_manifest FILE)
  get_property(variants GLOBAL PROPERTY SNC_CUDA_VARIANTS)
  string(REPLACE ";" "\n" lines "${variants}")
  file(GENERATE OUTPUT "${FILE}" CONTENT "${lines}\n")
endfunction()

function(snc_add_model TARGET)
  cmake_parse_arguments(ARG "" "NETWORK;HEADER;WEIGHTS;STMT;ONNX;BATCH" "TARGETS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "snc_add_model(${TARGET}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_TARGETS)
    set(ARG_TARGETS ${SNC_DEFAULT_TARGETS})
  endif()
  string(MAKE_C_IDENTIFIER "${TARGET}" id)
  set(work "${CMAKE_CURRENT_BINARY_DIR}/${TARGET}.snc")

  if(ARG_ONNX)
    # An exported model: snc-import writes its declaration and weights at build time.
    if(ARG_NETWORK OR ARG_HEADER OR ARG_WEIGHTS)
      message(FATAL_ERROR "snc_add_model(${TARGET}): ONNX brings its own NETWORK, HEADER and WEIGHTS")
    endif()
    get_filename_component(model "${ARG_ONNX}" ABSOLUTE)
    if(NOT EXISTS "${model}")
      message(FATAL_ERROR "snc_add_model(${TARGET}): ONNX ${model} does not exist")
    endif()
    set(ARG_NETWORK "snc_onnx::${id}")
    set(ARG_HEADER "${work}/${id}_network.hpp")
    set(ARG_WEIGHTS "${work}/${id}.safetensors")
    set(batch_argument "")
    if(ARG_BATCH)
      set(batch_argument --batch ${ARG_BATCH})
    endif()
    add_custom_command(OUTPUT "${ARG_HEADER}" "${ARG_WEIGHTS}"
                       COMMAND snc::import "${model}" --network "${ARG_NETWORK}" --header "${ARG_HEADER}"
                               --weights "${ARG_WEIGHTS}" ${batch_argument}
                       DEPENDS "${model}" snc::import
                       COMMENT "snc: importing ${ARG_ONNX} for ${TARGET}"
                       VERBATIM)
    add_custom_target(${id}.import DEPENDS "${ARG_HEADER}" "${ARG_WEIGHTS}")
  elseif(ARG_BATCH)
    message(FATAL_ERROR "snc_add_model(${TARGET}): BATCH goes with ONNX; a declared network has its batch")
  endif()
  if(NOT ARG_NETWORK OR NOT ARG_HEADER)
    message(FATAL_ERROR "snc_add_model(${TARGET}): NETWORK <C++ type> and HEADER <header> (or ONNX <model>) are required")
  endif()
  get_filename_component(header "${ARG_HEADER}" ABSOLUTE)
  if(NOT EXISTS "${header}" AND NOT ARG_ONNX)
    message(FATAL_ERROR "snc_add_model(${TARGET}): HEADER ${header} does not exist")
  endif()

  set(SNC_TARGET "${TARGET}")
  set(SNC_ID "${id}")
  set(SNC_NETWORK "${ARG_NETWORK}")
  set(SNC_HEADER "${header}")

  # The generator: one instantiation of snc's generator template for this network.
  configure_file("${_SNC_CMAKE_DIR}/templates/generator.cpp.in" "${work}/${id}_generator.cpp" @ONLY)
  add_executable(${id}.generator "${work}/${id}_generator.cpp")
  target_link_libraries(${id}.generator PRIVATE snc::compiler)
  if(ARG_ONNX)
    add_dependencies(${id}.generator ${id}.import)
  endif()

  # The Halide pipeline, sharing the first model's runtime.
  get_property(runtime GLOBAL PROPERTY SNC_HALIDE_RUNTIME)
  set(runtime_argument "")
  if(runtime)
    set(runtime_argument USE_RUNTIME ${runtime})
  endif()
  set(stmt_argument "")
  if(ARG_STMT)
    set(stmt_argument STMT stmt_file)
  endif()
  _snc_split_targets("snc_add_model(${TARGET})" "${ARG_TARGETS}" cpu_targets SNC_CUDA_TARGET SNC_OPENCL_TARGET)
  # user_context: every error a call raises reaches Halide's handler with that call's CallErrors
  # (snc/runtime/call_errors.hpp), so that a misuse or a failure is a status, never an abort.
  add_halide_library(${id}_halide FROM ${id}.generator GENERATOR ${id} FUNCTION_NAME ${id}_cpu
                     TARGETS ${cpu_targets} FEATURES user_context ${runtime_argument} ${stmt_argument})
  if(NOT runtime)
    set(runtime ${id}_halide.runtime)
    set_property(GLOBAL PROPERTY SNC_HALIDE_RUNTIME ${runtime})
  endif()
  # A library per GPU device, on the same runtime (which then carries that device's runtime too).
  set(device_libraries "")
  set(SNC_HAS_CUDA 0)
  set(SNC_HAS_OPENCL 0)
  foreach(device cuda opencl)
    string(TOUPPER "${device}" DEVICE)
    if(SNC_${DEVICE}_TARGET)
      # CUDA's lowered statement too: its kernels' launches (block shape, grid, dynamic shared
      # memory), which tools/cuda_kernels.py reads beside the PTX.
      set(device_stmt "")
      if(device STREQUAL "cuda")
        set(device_stmt STMT cuda_stmt_file)
      endif()
      add_halide_library(${id}_halide_${device} FROM ${id}.generator GENERATOR ${id} FUNCTION_NAME ${id}_${device}
                         TARGETS ${SNC_${DEVICE}_TARGET} FEATURES user_context USE_RUNTIME ${runtime} ${device_stmt})
      list(APPEND device_libraries ${id}_halide_${device})
      set(SNC_HAS_${DEVICE} 1)
      if(device STREQUAL "cuda")
        snc_record_cuda_variant("${TARGET} (inference, ${SNC_CUDA_TARGET})" "$<TARGET_FILE:${id}_halide_cuda>"
                                "${CMAKE_CURRENT_BINARY_DIR}/${cuda_stmt_file}")
      endif()
    endif()
  endforeach()
  if(ARG_STMT)
    set(${ARG_STMT} "${CMAKE_CURRENT_BINARY_DIR}/${stmt_file}" PARENT_SCOPE)
  endif()

  # How the targets want weights packed, for the run-time packer: asked of the schedules.
  set(packing_header "${work}/include/${id}_packing.h")
  add_custom_command(OUTPUT "${packing_header}"
                     COMMAND ${id}.generator --packing "${packing_header}" ${id} ${ARG_TARGETS}
                     DEPENDS ${id}.generator
                     VERBATIM)

  # The C entry points, with the weights embedded or taken at run time.
  if(ARG_WEIGHTS)
    get_filename_component(weights "${ARG_WEIGHTS}" ABSOLUTE)
    set(SNC_WEIGHTS "${weights}")
    set(SNC_PACKED_FILE "${work}/${id}.packed")
    add_custom_command(OUTPUT "${SNC_PACKED_FILE}"
                       COMMAND ${id}.generator --pack "${weights}" "${SNC_PACKED_FILE}" ${ARG_TARGETS}
                       DEPENDS ${id}.generator "${weights}"
                       COMMENT "snc: checking, folding and packing ${ARG_WEIGHTS} for ${TARGET}"
                       VERBATIM)
    set(SNC_ENTRY_DOC " with the weights built into the library")
    set(SNC_ENTRY_PARAMETERS "struct halide_buffer_t *input, struct halide_buffer_t *output")
    file(READ "${_SNC_CMAKE_DIR}/templates/embedded_entry.cpp.in" SNC_ENTRY_DEFINITION)
  else()
    set(SNC_ENTRY_DOC ": weights are the packed floats of ${id}_pack_weights")
    set(SNC_ENTRY_PARAMETERS
        "struct halide_buffer_t *input, struct halide_buffer_t *weights, struct halide_buffer_t *output")
    file(READ "${_SNC_CMAKE_DIR}/templates/runtime_entry.cpp.in" SNC_ENTRY_DEFINITION)
  endif()
  string(CONFIGURE "${SNC_ENTRY_DEFINITION}" SNC_ENTRY_DEFINITION @ONLY)
  configure_file("${_SNC_CMAKE_DIR}/templates/model.h.in" "${work}/include/${id}.h" @ONLY)
  configure_file("${_SNC_CMAKE_DIR}/templates/model.cpp.in" "${work}/${id}.cpp" @ONLY)

  add_library(${TARGET} STATIC "${work}/${id}.cpp" "${packing_header}")
  if(ARG_WEIGHTS)
    set_source_files_properties("${work}/${id}.cpp" PROPERTIES OBJECT_DEPENDS "${SNC_PACKED_FILE}")
  endif()
  # Linking the model is all a caller does: its header needs HalideRuntime.h (the Halide
  # libraries' usage requirement) and snc/runtime/device.h (snc::runtime_c: an include folder, no
  # Boost, no C++ standard), so a C program builds with nothing else.
  target_include_directories(${TARGET} PUBLIC "$<BUILD_INTERFACE:${work}/include>")
  target_link_libraries(${TARGET} PUBLIC ${id}_halide ${device_libraries} snc::runtime_c PRIVATE snc::io)
  target_compile_features(${TARGET} PRIVATE cxx_std_20)
  if(ARG_ONNX)
    add_dependencies(${TARGET} ${id}.import)
  endif()
endfunction()

# snc_add_training(<target> NETWORK <C++ type> HEADER <header> [TARGETS <halide targets...>])
#
# Compiles the training step of <C++ type> (batch norm in training mode, softmax cross-entropy,
# the backward pass) segment by segment (include/snc/training.hpp) into <id>_step, whose header
# <id>_training.h (C++) gives snc_training::<id>::functions() for TrainingStep's AOT engine; and the
# same network for inference into <id>_inference (snc_add_model, weights at run time; its C header
# <id>_inference.h) to evaluate with. <target> is an INTERFACE library of both: linking it is all a
# program needs for either header. TARGETS as for snc_add_model; the first the CPU can run
# is used.
function(snc_add_training TARGET)
  cmake_parse_arguments(ARG "STEP_ONLY" "NETWORK;HEADER" "TARGETS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_NETWORK OR NOT ARG_HEADER)
    message(FATAL_ERROR "snc_add_training(${TARGET} NETWORK <C++ type> HEADER <header> [TARGETS ...] [STEP_ONLY])")
  endif()
  if(NOT ARG_TARGETS)
    set(ARG_TARGETS ${SNC_DEFAULT_TARGETS})
  endif()
  get_filename_component(header "${ARG_HEADER}" ABSOLUTE)
  string(MAKE_C_IDENTIFIER "${TARGET}" id)
  set(SNC_TARGET "${TARGET}")
  set(SNC_NETWORK "${ARG_NETWORK}")
  set(SNC_HEADER "${header}")
  set(work "${CMAKE_CURRENT_BINARY_DIR}/${TARGET}.snc")

  # The inference pipeline first: it brings the project's shared Halide runtime. STEP_ONLY: the
  # step alone (a data-parallel trainer's step of one process's share of the batch, beside the
  # whole batch's training target, whose inference pipeline it evaluates with).
  if(NOT ARG_STEP_ONLY)
    snc_add_model(${id}_inference NETWORK "${ARG_NETWORK}" HEADER "${header}" TARGETS ${ARG_TARGETS})
  endif()
  get_property(runtime GLOBAL PROPERTY SNC_HALIDE_RUNTIME)
  if(NOT runtime)
    message(FATAL_ERROR "snc_add_training(${TARGET} STEP_ONLY): a model or training target must come first, for its Halide runtime")
  endif()

  configure_file("${_SNC_CMAKE_DIR}/templates/training_compiler.cpp.in" "${work}/${id}_training_compiler.cpp" @ONLY)
  add_executable(${id}.training_compiler "${work}/${id}_training_compiler.cpp")
  target_link_libraries(${id}.training_compiler PRIVATE snc::compiler)
  set(outputs "${work}/${id}_training.h")
  set(objects "")
  list(LENGTH ARG_TARGETS target_count)
  math(EXPR last "${target_count} - 1")
  set(cuda_variant "")
  foreach(k RANGE ${last})
    list(APPEND objects "${work}/${id}_training-${k}.o")
    list(APPEND outputs "${work}/${id}_training-${k}.o" "${work}/${id}_training-${k}.h")
    list(GET ARG_TARGETS ${k} target)
    if(target MATCHES "(^|-)cuda(-|$)")
      # The CUDA step's lowered statements, joined: its kernels' launches for tools/cuda_kernels.py.
      list(APPEND outputs "${work}/${id}_training-${k}.stmt")
      set(cuda_variant "${k};${target}")
    endif()
  endforeach()
  add_custom_command(OUTPUT ${outputs}
                     COMMAND ${id}.training_compiler "${work}/${id}_training" ${id} ${ARG_TARGETS}
                     DEPENDS ${id}.training_compiler
                     COMMENT "snc: compiling the training step of ${ARG_NETWORK}"
                     VERBATIM)
  set_source_files_properties(${objects} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  add_library(${id}_step STATIC ${objects})
  if(cuda_variant)
    list(GET cuda_variant 0 k)
    list(GET cuda_variant 1 target)
    snc_record_cuda_variant("${TARGET} (training step, ${target})" "${work}/${id}_training-${k}.o"
                            "${work}/${id}_training-${k}.stmt")
  endif()
  set_target_properties(${id}_step PROPERTIES LINKER_LANGUAGE CXX)
  # <id>_training.h is C++: it includes snc/runtime/aot_training.hpp, which needs the network
  # language (snc::snc: Boost.Hana, C++20) and Halide's runtime headers.
  target_include_directories(${id}_step INTERFACE "$<BUILD_INTERFACE:${work}>")
  target_link_libraries(${id}_step INTERFACE ${runtime} snc::snc)

  add_library(${TARGET} INTERFACE)
  if(ARG_STEP_ONLY)
    target_link_libraries(${TARGET} INTERFACE ${id}_step)
  else()
    target_link_libraries(${TARGET} INTERFACE ${id}_step ${id}_inference)
  endif()
endfunction()
