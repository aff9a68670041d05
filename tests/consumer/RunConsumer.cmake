# Installs this build of snc into a fresh prefix, then builds and runs the consumer project (a copy
# of tests/consumer, with the values its programs check against) against it:
#   cmake -DSNC_BUILD=... -DSOURCE=... -DWORK=... -DMAKE_INPUTS=<snc_consumer_inputs> -P RunConsumer.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE "${WORK}")
include("${CMAKE_CURRENT_LIST_DIR}/../Step.cmake")
step("${CMAKE_COMMAND}" --install "${SNC_BUILD}" --prefix "${WORK}/prefix")
file(COPY "${SOURCE}/" DESTINATION "${WORK}/src")
step("${MAKE_INPUTS}" "${WORK}/src")
step("${CMAKE_COMMAND}" -S "${WORK}/src" -B "${WORK}/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
step("${CMAKE_COMMAND}" --build "${WORK}/build")
set(data "${WORK}/src")
step("${WORK}/build/app" "${data}/input.f32" "${data}/expected.f32")
step("${WORK}/build/app_cpp" "${data}/input.f32" "${data}/expected.f32")
step("${WORK}/build/evaluate" "${data}/trained.safetensors" "${data}/input.f32" "${data}/expected.f32")
step("${WORK}/build/train" "${data}/input.f32" "${data}/losses.f32")
step("${WORK}/build/misuse" "${data}/input.f32" "${data}/expected.f32" "${data}/trained.safetensors")
step("${WORK}/build/misuse_training" "${data}/input.f32" "${data}/losses.f32")
