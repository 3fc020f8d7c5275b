#pragma once
// glibc's allocator controls (malloc_trim), which the Glibc module does not export. Part of libc itself: there
// is nothing to link and nothing to install.
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
