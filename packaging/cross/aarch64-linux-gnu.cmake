# CMake toolchain for arm64 (aarch64-linux-gnu): Debian's cross compiler, a Debian arm64 sysroot
# made by build-arm64.sh (FERRY_SYSROOT), and the host's Qt tools (moc, rcc) through QT_HOST_PATH.
# Multiarch (-dev:arm64 beside the amd64 ones) is avoided on purpose: its package lists skew.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT DEFINED ENV{FERRY_SYSROOT})
  message(FATAL_ERROR "FERRY_SYSROOT is not set (see packaging/cross/build-arm64.sh)")
endif()
set(_sysroot $ENV{FERRY_SYSROOT})
set(CMAKE_SYSROOT ${_sysroot})
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

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
    "${_sysroot}/usr/lib/aarch64-linux-gnu/pkgconfig:${_sysroot}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Shared libraries' own dependencies (libicu for QtCore, ...) are found inside the sysroot.
set(_rpl "-Wl,-rpath-link,${_sysroot}/usr/lib/aarch64-linux-gnu -Wl,-rpath-link,${_sysroot}/lib/aarch64-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_rpl}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_rpl}")
