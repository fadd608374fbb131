# failoverctl checks a -c file itself: over the config bound, or not UTF-8, it exits 2 with the
# reason (the limit; file:line) before any transport (no coordinator listens at the socket used).
# Usage: cmake -DFAILOVERCTL=<bin> -DWORK_DIR=<dir> -P oversized_config.cmake
file(MAKE_DIRECTORY "${WORK_DIR}")

function(expect_refused file pattern)
  execute_process(COMMAND "${FAILOVERCTL}" --coordinator "unix:${WORK_DIR}/no-coordinator.sock" plan -c "${file}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(REMOVE "${file}")
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${file}: expected exit 2 (usage), got ${rc}; stderr: ${err}")
  endif()
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "${file}: stderr does not match \"${pattern}\": ${err}")
  endif()
  message(STATUS "refused as expected: ${err}")
endfunction()

set(big "${WORK_DIR}/oversized.yaml")
string(REPEAT "x" 1024 kib)
string(REPEAT "${kib}" 1100 body)
file(WRITE "${big}" "hosts: {}\n# ${body}\n")
expect_refused("${big}" "the limit is 1048576 bytes")

set(latin1 "${WORK_DIR}/latin1.yaml")
string(ASCII 233 e_acute)  # one byte 0xE9: Latin-1, not UTF-8
file(WRITE "${latin1}" "hosts: {}\n# caf${e_acute}\n")
expect_refused("${latin1}" "latin1.yaml:2: invalid UTF-8")
