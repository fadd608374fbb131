# ctest script: BINARIES (|-separated paths) must carry gRPC, protobuf, abseil, upb, re2 and c-ares
# themselves (no such library in their NEEDED entries: cmake/StaticGrpc.cmake took the static
# archives) while OpenSSL, libstdc++ and libc stay shared (their security updates reach the binary
# without a rebuild). Fails naming the binary, the library and the option to look at.
string(REPLACE "|" ";" binaries "${BINARIES}")
foreach(bin IN LISTS binaries)
  execute_process(COMMAND readelf -d "${bin}" OUTPUT_VARIABLE dyn RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${bin} failed (${rc}): ${err}")
  endif()
  string(REGEX MATCHALL "Shared library: \\[[^]]+\\]" needed "${dyn}")
  set(names "")
  foreach(n IN LISTS needed)
    string(REGEX REPLACE "Shared library: \\[([^]]+)\\]" "\\1" n "${n}")
    list(APPEND names "${n}")
  endforeach()
  foreach(n IN LISTS names)
    if(n MATCHES "^lib(grpc|gpr|upb|address_sorting|cares|re2|protobuf|absl_)")
      message(FATAL_ERROR "${bin} loads ${n} at run time: it should be linked from the static archive "
                          "(cmake/static-link-launcher.sh, option FAILOVER_DAEMONS_STATIC_GRPC / FAILOVERCTL_STATIC_GRPC); "
                          "is the Debian -dev package's .a installed (deploy/install-deps.sh)?")
    endif()
  endforeach()
  foreach(shared libssl.so libcrypto.so libstdc++.so libc.so)
    string(FIND "${names}" "${shared}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${bin} does not load ${shared} at run time (NEEDED: ${names}): OpenSSL, libstdc++ and "
                          "libc must stay shared so their security updates reach it; see cmake/static-link-launcher.sh")
    endif()
  endforeach()
  list(LENGTH names count)
  message(STATUS "${bin}: ${count} shared libraries needed, no gRPC/protobuf/abseil among them")
endforeach()
