# CMake toolchain for the win32-x64 prebuild: Debian's mingw-w64 cross compiler, posix thread
# model (the win32 one has no std::thread). Used by tools/prebuild-win32.sh with CMakeLists.txt.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# The Win64 ABI guarantees only 16-byte stack alignment and GCC does not realign for spilled
# ymm/zmm values, so an aligned spill (vmovaps) could fault: have the assembler emit unaligned moves.
set(CMAKE_CXX_FLAGS_INIT "-Wa,-muse-unaligned-vector-move")
# libstdc++, libgcc and winpthread go inside the .node: it needs only what Windows ships.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
