# failoverctl refuses a -c file over the config bound itself: exit 2 naming the limit, before
# any transport (no coordinator listens at the socket used here).
# Usage: cmake -DFAILOVERCTL=<bin> -DWORK_DIR=<dir> -P oversized_config.cmake
file(MAKE_DIRECTORY "${WORK_DIR}")
set(big "${WORK_DIR}/oversized.yaml")
string(REPEAT "x" 1024 kib)
string(REPEAT "${kib}" 1100 body)
file(WRITE "${big}" "hosts: {}\n# ${body}\n")
execute_process(COMMAND "${FAILOVERCTL}" --coordinator "unix:${WORK_DIR}/no-coordinator.sock" plan -c "${big}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE "${big}")
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "expected exit 2 (usage), got ${rc}; stderr: ${err}")
endif()
if(NOT err MATCHES "the limit is 1048576 bytes")
  message(FATAL_ERROR "stderr does not name the limit: ${err}")
endif()
message(STATUS "failoverctl refused the oversized config: ${err}")
