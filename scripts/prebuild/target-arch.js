'use strict';
// Preloaded (node --require) into scripts/deps/build.js for a cross build: build.js picks the
// OpenSSL target and keys its cache by process.arch, which must then be the target's.
const arch = process.env.SOCKUDO_WS_PREBUILD_ARCH;
if (arch) Object.defineProperty(process, 'arch', { value: arch });
