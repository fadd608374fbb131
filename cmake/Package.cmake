# Install rules and the Debian package (`make package` = cpack -G DEB in the build dir).
# Layout of the .deb (what the maintainer scripts and the units assume):
#   /usr/bin/{failoverctl,failover-agent,failover-coordinator}
#   /lib/systemd/system/{failover-agent,failover-coordinator,failover-staging}.{service,timer}
#   /usr/share/doc/failover/examples/  example configs (copy to /etc/failover/ and edit)
#   /usr/share/failover/make-certs.sh  the mTLS certificate helper
#   /usr/share/man/man{1,8}/           failoverctl(1), failover-agent(8), failover-coordinator(8)
#   /usr/share/bash-completion/completions/failoverctl
# The `failover` group and user, /etc/failover and /etc/failover/tls are made by postinst.
set(FAILOVER_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "where the systemd units are installed")

install(TARGETS failoverctl failover-agent failover-coordinator RUNTIME DESTINATION bin)
install(FILES deploy/failover-agent.service deploy/failover-coordinator.service
              deploy/failover-staging.service deploy/failover-staging.timer
        DESTINATION ${FAILOVER_SYSTEMD_UNIT_DIR})
install(FILES deploy/sls.example.yaml deploy/agent.example.yaml deploy/sls-staging.example.yaml
              deploy/coordinator.env.example README.md
        DESTINATION share/doc/failover/examples)
install(PROGRAMS deploy/make-certs.sh DESTINATION share/failover)
install(FILES docs/man/failoverctl.1 DESTINATION share/man/man1)
install(FILES docs/man/failover-agent.8 docs/man/failover-coordinator.8 DESTINATION share/man/man8)
install(FILES deploy/failoverctl.bash-completion DESTINATION share/bash-completion/completions
        RENAME failoverctl)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME failover)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "failover maintainers <failover@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "multi-host systemd failover: agent, coordinator and failoverctl")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Sequences failovers of systemd units across hosts over mutual TLS gRPC, gates\n each step on health and writes a report for the postmortem.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Library dependencies from the binaries (dpkg-shlibdeps), plus what the units and scripts use.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, dbus, openssl, passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
