# A must-not-compile case and its compiling twin, run as one CTest test:
#   cmake -DCOMPILER=g++ -DSOURCE=case.cpp "-DINCLUDE_DIRS=a;b" -P CheckMustNotCompile.cmake
#
# The source's first line is "// expect: <text>". The twin (without SNC_MUST_NOT_COMPILE) must
# compile; the case must fail with at most MAX_LINES lines of output, and the first line that says
# "error:" must carry <text>: one short diagnostic, not a cascade.
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED MAX_LINES)
  set(MAX_LINES 40)
endif()

file(READ "${SOURCE}" text)  # not file(STRINGS): it would escape the message's semicolons
string(REGEX MATCH "^// expect: [^\n]*" first_line "${text}")
string(REGEX REPLACE "^// expect: " "" expected "${first_line}")
if(NOT first_line)
  message(FATAL_ERROR "${SOURCE}: the first line must be '// expect: <text of the diagnostic>'")
endif()

set(flags -std=c++20 -fsyntax-only)
foreach(dir IN LISTS INCLUDE_DIRS)
  list(APPEND flags "-I${dir}")
endforeach()

execute_process(COMMAND "${COMPILER}" ${flags} "${SOURCE}" RESULT_VARIABLE twin_result ERROR_VARIABLE twin_output)
if(NOT twin_result EQUAL 0)
  message(FATAL_ERROR "the compiling twin of ${SOURCE} does not compile:\n${twin_output}")
endif()

execute_process(COMMAND "${COMPILER}" ${flags} -DSNC_MUST_NOT_COMPILE "${SOURCE}"
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
string(APPEND output "${errors}")
if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but must not")
endif()

string(REGEX MATCHALL "\n" newlines "${output}")
list(LENGTH newlines line_count)
if(line_count GREATER MAX_LINES)
  message(FATAL_ERROR "${SOURCE}: ${line_count} lines of diagnostics, more than ${MAX_LINES}:\n${output}")
endif()

string(REGEX MATCH "[^\n]*error:[^\n]*" first_error "${output}")
string(FIND "${first_error}" "${expected}" where)
if(where EQUAL -1)
  message(FATAL_ERROR "${SOURCE}: the first error line does not carry the expected message.\n"
                      "expected: ${expected}\nfirst error line: ${first_error}\nfull output:\n${output}")
endif()
message(STATUS "${SOURCE}: ${line_count} lines, first error line carries the message")
