# CMake toolchain for the cross builds (packaging/cross/build-cross.sh): Debian's cross compiler
# for FERRY_CROSS_TRIPLET (aarch64-linux-gnu for arm64, arm-linux-gnueabihf for armhf), a Debian
# sysroot of that architecture (FERRY_SYSROOT), and the host's Qt tools (moc, rcc) through
# QT_HOST_PATH. Multiarch (-dev:arm64 beside the amd64 ones) is avoided on purpose: its package
# lists skew.
foreach(_var FERRY_SYSROOT FERRY_CROSS_TRIPLET FERRY_CROSS_PROCESSOR)
  if(NOT DEFINED ENV{${_var}})
    message(FATAL_ERROR "${_var} is not set (see packaging/cross/build-cross.sh)")
  endif()
endforeach()
set(_triplet $ENV{FERRY_CROSS_TRIPLET})
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $ENV{FERRY_CROSS_PROCESSOR})
set(CMAKE_LIBRARY_ARCHITECTURE ${_triplet})

set(_sysroot $ENV{FERRY_SYSROOT})
set(CMAKE_SYSROOT ${_sysroot})
set(CMAKE_C_COMPILER ${_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_triplet}-g++)

# Programs (moc, rcc, pkg-config) come from the host; libraries, headers and CMake packages only
# from the sysroot.
set(CMAKE_FIND_ROOT_PATH ${_sysroot})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Qt 6 cross builds take their tools from a host Qt of the same version.
set(QT_HOST_PATH /usr)
set(QT_HOST_PATH_CMAKE_DIR /usr/lib/${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-gnu/cmake)

# pkg-config: the host's program, reading the sysroot's .pc files with paths prefixed.
set(PKG_CONFIG_EXECUTABLE /usr/bin/pkg-config CACHE FILEPATH "" FORCE)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${_sysroot})
set(ENV{PKG_CONFIG_LIBDIR}
    "${_sysroot}/usr/lib/${_triplet}/pkgconfig:${_sysroot}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Shared libraries' own dependencies (libicu for QtCore, ...) are found inside the sysroot.
set(_rpl "-Wl,-rpath-link,${_sysroot}/usr/lib/${_triplet} -Wl,-rpath-link,${_sysroot}/lib/${_triplet}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_rpl}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_rpl}")
