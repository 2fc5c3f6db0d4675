#ifndef ZTAS_SUPPORT_H
#define ZTAS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction (x86-64 SSE4.2, AArch64 CRC), else 0.
int ztas_crc32c_hw_available(void);

/// CRC-32C of `len` bytes continuing from `crc` (pre-inverted state, i.e. ~previous result),
/// computed with the CPU instruction. Only call when ztas_crc32c_hw_available() returns 1.
uint32_t ztas_crc32c_hw(uint32_t crc, const void *data, size_t len);

#endif
