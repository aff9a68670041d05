# Exports the test models with PyTorch, installs this build of snc into a fresh prefix, then
# configures, builds and runs a copy of tests/onnx against it:
#   cmake -DSNC_BUILD=... -DSOURCE=... -DWORK=... -DPYTHON=... -P RunOnnxImport.cmake
# Says "skipped" when Debian's python3-torch is not installed.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${PYTHON}" -c "import torch, torchvision" RESULT_VARIABLE no_torch OUTPUT_QUIET ERROR_QUIET)
if(no_torch)
  message("python3-torch and python3-torchvision are not installed (scripts/setup installs them): onnx_import skipped")
  return()  # CTest marks the test skipped by this line (SKIP_REGULAR_EXPRESSION)
endif()
include("${CMAKE_CURRENT_LIST_DIR}/../Step.cmake")
set(models "${WORK}/models")
file(MAKE_DIRECTORY "${WORK}")
if(NOT EXISTS "${models}/every_op_input_nchw.npy" OR "${SOURCE}/export_models.py" IS_NEWER_THAN "${models}/every_op.onnx")
  step("${PYTHON}" "${SOURCE}/export_models.py" "${models}")
endif()
file(REMOVE_RECURSE "${WORK}/prefix" "${WORK}/src" "${WORK}/build")
step("${CMAKE_COMMAND}" --install "${SNC_BUILD}" --prefix "${WORK}/prefix")
# The project as a user has it: the README's lines, the C program, the exported model.
file(COPY "${SOURCE}/" DESTINATION "${WORK}/src")
file(COPY "${SOURCE}/../consumer/main.c" "${SOURCE}/../consumer/floats.h" DESTINATION "${WORK}/src")
file(COPY_FILE "${models}/bnlenet.onnx" "${WORK}/src/model.onnx")
step("${CMAKE_COMMAND}" -S "${WORK}/src" -B "${WORK}/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${WORK}/prefix" "-DSNC_ONNX_MODELS=${models}")
step("${CMAKE_COMMAND}" --build "${WORK}/build")
step("${WORK}/build/app" "${models}/bnlenet_input.f32" "${models}/bnlenet_expected.f32")
step("${WORK}/build/check")

# The README's one command, from the installed prefix: snc compile builds a program around a model,
# which takes the model's own NCHW input and writes its output as .npy.
set(program "${WORK}/every_op_program")
file(REMOVE "${program}" "${WORK}/every_op_output.npy")
step("${WORK}/prefix/bin/snc" compile "${models}/every_op.onnx" -o "${program}" --targets x86-64-linux-avx2-fma-f16c)
step("${program}" --input "${models}/every_op_input_nchw.npy" --output "${WORK}/every_op_output.npy")
step("${PYTHON}" -c "import numpy, sys; got, want = numpy.load(sys.argv[1]), numpy.load(sys.argv[2]); error = abs(got - want).max() / abs(want).max(); print('snc compile: every_op within', error, 'of the largest output'); sys.exit(error > 1e-4)"
     "${WORK}/every_op_output.npy" "${models}/every_op_expected.npy")
# A file that is not a model: one line from snc-import, exit code 2, no program left behind.
file(WRITE "${WORK}/not_a_model.onnx" "not a protobuf at all")
execute_process(COMMAND "${WORK}/prefix/bin/snc" compile "${WORK}/not_a_model.onnx" -o "${WORK}/not_a_program"
                RESULT_VARIABLE refused OUTPUT_VARIABLE said ERROR_VARIABLE said)
if(NOT refused EQUAL 2 OR NOT said MATCHES "not_a_model.onnx: not an ONNX model" OR EXISTS "${WORK}/not_a_program")
  message(FATAL_ERROR "snc compile of a file that is not a model: exit ${refused}, said:\n${said}")
endif()
