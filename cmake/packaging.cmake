# cmake/packaging.cmake - installing a0snap the way Unix tools expect, and
# its Debian package.
#
# The top-level CMakeLists.txt includes this file once, anywhere after
# project():
#     include(cmake/packaging.cmake)
# The programs' own install(TARGETS ... DESTINATION bin) rules live in
# export/, import/ and snapshots/; this file adds:
#   - the man pages a0snap-export(1), a0snap-import(1),
#     a0snap-snapshots(1) and a0snap-snapshot(5), written by hand in man/, under
#     ${CMAKE_INSTALL_MANDIR}/man1 and man5 (GNUInstallDirs: share/man);
#   - the licence (LICENSE, MIT) as share/doc/a0snap/copyright;
#   - CPack, set up for one .deb: `cpack -G DEB` in the build folder (or
#     `cmake --build BUILD --target package`) writes
#     a0snap_<version>_<arch>.deb, installing under /usr.
#
# Man pages are configured at configure time (@PROJECT_VERSION@ becomes
# the version, so the pages cannot disagree with --version) and compressed
# with `gzip -9n` as Debian policy asks (no name, no time stamp: the same
# sources give the same bytes). configure_file() makes CMake re-run when a
# page changes, which compresses it again. Without gzip the pages are
# installed plain; man(1) reads both.
#
# Package dependencies are computed by dpkg-shlibdeps (package dpkg-dev)
# from the binaries, which needs file(1) (package file) as well; without
# them a fixed list matching Debian 12 (bookworm) is used, and configure
# says so. ca-certificates is always a dependency: TLS is always verified,
# so the programs are useless without a CA bundle.
include_guard(GLOBAL)

if(NOT PROJECT_VERSION)
  message(FATAL_ERROR "cmake/packaging.cmake: include it after project(), which sets the version")
endif()

include(GNUInstallDirs)

# ---- man pages --------------------------------------------------------------

get_filename_component(A0SNAP_MAN_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../man" ABSOLUTE)
set(A0SNAP_MAN_BINARY_DIR "${PROJECT_BINARY_DIR}/man")
set(A0SNAP_MAN_PAGES a0snap-export.1 a0snap-import.1 a0snap-snapshots.1 a0snap-snapshot.5)
find_program(A0SNAP_GZIP gzip)
mark_as_advanced(A0SNAP_GZIP)

foreach(page IN LISTS A0SNAP_MAN_PAGES)
  string(REGEX MATCH "[1-9]$" section "${page}")
  configure_file("${A0SNAP_MAN_SOURCE_DIR}/${page}" "${A0SNAP_MAN_BINARY_DIR}/${page}" @ONLY)
  set(installed "${A0SNAP_MAN_BINARY_DIR}/${page}")
  if(A0SNAP_GZIP)
    execute_process(
      COMMAND "${A0SNAP_GZIP}" -9nc "${A0SNAP_MAN_BINARY_DIR}/${page}"
      OUTPUT_FILE "${A0SNAP_MAN_BINARY_DIR}/${page}.gz"
      RESULT_VARIABLE gzip_result)
    if(NOT gzip_result EQUAL 0)
      message(FATAL_ERROR "cannot compress man page '${page}': gzip said ${gzip_result}")
    endif()
    set(installed "${A0SNAP_MAN_BINARY_DIR}/${page}.gz")
  endif()
  install(FILES "${installed}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}")
endforeach()

# ---- the licence ------------------------------------------------------------

# Debian policy wants the licence at /usr/share/doc/<package>/copyright, in
# the machine-readable format (DEP-5). It is made from LICENSE at configure
# time, so the two cannot disagree; Debian calls the MIT licence "Expat".
get_filename_component(A0SNAP_LICENSE_FILE "${CMAKE_CURRENT_LIST_DIR}/../LICENSE" ABSOLUTE)
file(READ "${A0SNAP_LICENSE_FILE}" a0snap_license)
string(REGEX REPLACE "\n+$" "" a0snap_license "${a0snap_license}")
string(REGEX REPLACE "\n\n" "\n.\n" a0snap_license "${a0snap_license}")
string(REGEX REPLACE "\n" "\n " a0snap_license "${a0snap_license}")
file(WRITE "${PROJECT_BINARY_DIR}/copyright"
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: a0snap\n\n"
  "Files: *\n"
  "Copyright: 2026 The a0snap authors\n"
  "License: Expat\n"
  " ${a0snap_license}\n")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${A0SNAP_LICENSE_FILE}")
install(FILES "${PROJECT_BINARY_DIR}/copyright"
        DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/a0snap")

# ---- the Debian package -----------------------------------------------------

# Values reach CPackConfig.cmake exactly as set here (no second round of
# escaping for the regular expressions below).
set(CPACK_VERBATIM_VARIABLES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME a0snap)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "a0snap team")
set(CPACK_PACKAGE_CONTACT "a0snap team")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "snapshot an Auth0 tenant's users and load them into a test tenant")
# One string, lines of at most 72 characters (CPackDeb indents each line of
# the control file's long description; it does not wrap them).
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "a0snap-export writes every user of an Auth0 tenant (profile, metadata,\n"
  "roles, organization memberships) to one sealed, gzip-compressed NDJSON\n"
  "file, with keyed pseudonyms instead of personal data by default.\n"
  "a0snap-import checks such a snapshot completely and loads it into a\n"
  "pre-production tenant, refusing protected tenants; it also lists,\n"
  "verifies and compares snapshots. a0snap-snapshots manages a folder of\n"
  "them: lists, verifies, prunes, and erases one person from all of them.")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME a0snap)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "a0snap team")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

find_program(A0SNAP_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(A0SNAP_FILE_PROGRAM file)
mark_as_advanced(A0SNAP_DPKG_SHLIBDEPS A0SNAP_FILE_PROGRAM)
if(A0SNAP_DPKG_SHLIBDEPS AND A0SNAP_FILE_PROGRAM)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # dpkg-shlibdeps' list is appended to this one.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
else()
  message(STATUS "a0snap: dpkg-shlibdeps or file(1) not found (packages dpkg-dev, file): "
                 "the .deb gets a fixed list of dependencies for Debian 12")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6, libcurl4, libjansson4, zlib1g, libssl3, libcrypt1, ca-certificates")
endif()

# `make package_source` must never carry personal data or build output:
# the snapshots that land in snapshots/ (and their temporary files, and an
# erasure log) are left out - only a0snap-snapshots' sources and the format
# documentation there are packaged - and so are build folders, git and
# node_modules. For a source release, `git archive` is the better tool.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES
    "/\\.git/" "/build[^/]*/" "/snapshots/[^/]*\\.ndjson" "/snapshots/[^/]*\\.gz$"
    "/snapshots/[^/]*\\.age$" "/snapshots/\\.[^/]*tmp" "/node_modules/" "/__pycache__/"
    "\\.pyc$" "/\\.demo/" "/tests/fuzz/findings/" "\\.report\\.ndjson$" "\\.journal$")

include(CPack)
