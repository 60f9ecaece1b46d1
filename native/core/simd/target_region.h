// Compiles the functions between SOCKUDO_TARGET_PUSH("isa") and SOCKUDO_TARGET_POP() for an ISA
// beyond the baseline, without a command-line -m flag: GCC's target pragma, clang's attribute
// region. Include intrinsics headers before the region (they carry their own target attributes).
#pragma once

#define SOCKUDO_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define SOCKUDO_TARGET_PUSH(isa) SOCKUDO_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define SOCKUDO_TARGET_POP() SOCKUDO_PRAGMA(clang attribute pop)
#else
#define SOCKUDO_TARGET_PUSH(isa) SOCKUDO_PRAGMA(GCC push_options) SOCKUDO_PRAGMA(GCC target(isa))
#define SOCKUDO_TARGET_POP() SOCKUDO_PRAGMA(GCC pop_options)
#endif
