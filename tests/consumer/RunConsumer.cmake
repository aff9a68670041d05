# Installs this build of snc into a scratch prefix, then configures, builds and runs the consumer
# project against it: cmake -DSNC_BUILD=... -DSOURCE=... -DWORK=... -P RunConsumer.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE "${WORK}")
include("${CMAKE_CURRENT_LIST_DIR}/../Step.cmake")
step("${CMAKE_COMMAND}" --install "${SNC_BUILD}" --prefix "${WORK}/prefix")
step("${CMAKE_COMMAND}" -S "${SOURCE}" -B "${WORK}/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
step("${CMAKE_COMMAND}" --build "${WORK}/build")
step("${CMAKE_COMMAND}" -E chdir "${WORK}/build" "${WORK}/build/consumer")
