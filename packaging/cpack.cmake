# `cmake --build build --target package` makes homthu_<version>_amd64.deb.
include(GNUInstallDirs)

install(FILES ${CMAKE_SOURCE_DIR}/packaging/homthu.service DESTINATION lib/systemd/system)
# Shipped 0644 as Debian wants; postinst makes it root:homthu 0640 since
# the configuration may name secrets (LDAP bind password file, DKIM keys).
install(FILES ${CMAKE_SOURCE_DIR}/packaging/homthu.toml.example
        DESTINATION /etc/homthu RENAME homthu.toml)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/homthu.toml.example DESTINATION share/doc/homthu/examples)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/packaging/ldap/ DESTINATION share/homthu/ldap OPTIONAL)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/packaging/slapd.sh DESTINATION share/homthu OPTIONAL)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/homthu)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/copyright DESTINATION share/doc/homthu)

# Manual pages, gzip-compressed as Debian policy wants.
foreach(page homthud.8 homthuctl.8)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/${page}.gz
    COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/packaging/man/${page} > ${CMAKE_BINARY_DIR}/${page}.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/packaging/man/${page})
  list(APPEND homthu_manpages ${CMAKE_BINARY_DIR}/${page}.gz)
endforeach()
add_custom_target(homthu_manpages ALL DEPENDS ${homthu_manpages})
install(FILES ${homthu_manpages} DESTINATION share/man/man8)

# Debian policy wants a gzip-compressed changelog in the doc directory; the
# package is native (no Debian revision), so it is changelog.gz.
set(homthu_changelog ${CMAKE_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${homthu_changelog}
  COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/packaging/debian/changelog > ${homthu_changelog}
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/debian/changelog)
add_custom_target(homthu_changelog ALL DEPENDS ${homthu_changelog})
install(FILES ${homthu_changelog} DESTINATION share/doc/homthu)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME homthu)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "homthu maintainers <postmaster@thainguyen.gov.vn>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "mail server and directory for Thai Nguyen province")
# CPack puts the summary above this text itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "homthu is one daemon speaking SMTP (MX, submission) and IMAP, keeping mail
in SQLite and blob files, with its directory in OpenLDAP, an HTTPS admin
console and REST API, and the homthuctl command-line tool.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, openssl")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "slapd, ldap-utils")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "mail-transport-agent, imap-server")
set(CPACK_DEBIAN_PACKAGE_CONFLICTS "mail-transport-agent")
set(CPACK_DEBIAN_PACKAGE_REPLACES "mail-transport-agent")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
  ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
  ${CMAKE_SOURCE_DIR}/packaging/debian/postrm
  ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
