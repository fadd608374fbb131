include_guard(GLOBAL)
# failover_link_grpc_statically(TARGET): link TARGET with gRPC, protobuf, abseil, upb, re2 and
# c-ares from Debian's static archives instead of their shared libraries (cmake/static-link-launcher.sh).
# OpenSSL, zlib, libcurl, libsystemd, libstdc++ and libc stay shared: their security updates reach
# the binaries without a rebuild.
#
# Why: the dynamic loader then maps ~60 fewer libraries and resolves ~16,000 fewer relocations,
# and the binary carries only the gRPC/protobuf/abseil objects it references instead of every
# library's whole text, dynamic symbol table and relocated data: less start-up time
# (failoverctl's first byte) and less resident memory for the long-running daemons (issue 11).
option(FAILOVER_DAEMONS_STATIC_GRPC
       "link failover-agent and failover-coordinator with the static gRPC, protobuf and abseil archives" ON)

function(failover_link_grpc_statically target)
  set_property(TARGET ${target} PROPERTY RULE_LAUNCH_LINK "${PROJECT_SOURCE_DIR}/cmake/static-link-launcher.sh")
endfunction()
