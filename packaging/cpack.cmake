# `cmake --build build --target package` makes homthu_<version>_amd64.deb.
include(GNUInstallDirs)

install(FILES ${CMAKE_SOURCE_DIR}/packaging/homthu.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/homthu.toml.example
        DESTINATION /etc/homthu RENAME homthu.toml PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/homthu.toml.example DESTINATION share/doc/homthu/examples)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/packaging/ldap/ DESTINATION share/homthu/ldap OPTIONAL)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/packaging/slapd.sh DESTINATION share/homthu OPTIONAL)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/homthu)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/copyright DESTINATION share/doc/homthu)

# Debian policy wants a gzip-compressed changelog in the doc directory.
set(homthu_changelog ${CMAKE_BINARY_DIR}/changelog.Debian.gz)
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
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "mail server and directory for Thai Nguyen province
 homthu is one daemon speaking SMTP (MX, submission) and IMAP, keeping mail
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
