# step(command...): runs one command of a test script (cmake -P), prints its output, and stops the
# script with that output when it fails. Included by consumer/RunConsumer.cmake and
# onnx/RunOnnxImport.cmake.
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${output}")
  endif()
  message(STATUS "${output}")
endfunction()
