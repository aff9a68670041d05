# Exports the test models with PyTorch, installs this build of snc, then configures, builds and
# runs tests/onnx against it:
#   cmake -DSNC_BUILD=... -DSOURCE=... -DWORK=... -DPYTHON=... -P RunOnnxImport.cmake
# Says "skipped" when Debian's python3-torch is not installed.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${PYTHON}" -c "import torch, torchvision" RESULT_VARIABLE no_torch OUTPUT_QUIET ERROR_QUIET)
if(no_torch)
  message("python3-torch and python3-torchvision are not installed (scripts/setup installs them): onnx_import skipped")
  return()  # CTest marks the test skipped by this line (SKIP_REGULAR_EXPRESSION)
endif()
include("${CMAKE_CURRENT_LIST_DIR}/../Step.cmake")
file(MAKE_DIRECTORY "${WORK}")
if(NOT EXISTS "${WORK}/models/every_op.onnx" OR "${SOURCE}/export_models.py" IS_NEWER_THAN "${WORK}/models/every_op.onnx")
  step("${PYTHON}" "${SOURCE}/export_models.py" "${WORK}/models")
endif()
file(REMOVE_RECURSE "${WORK}/prefix")
step("${CMAKE_COMMAND}" --install "${SNC_BUILD}" --prefix "${WORK}/prefix")
step("${CMAKE_COMMAND}" -S "${SOURCE}" -B "${WORK}/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${WORK}/prefix" "-DSNC_ONNX_MODELS=${WORK}/models")
step("${CMAKE_COMMAND}" --build "${WORK}/build")
step("${WORK}/build/check")
