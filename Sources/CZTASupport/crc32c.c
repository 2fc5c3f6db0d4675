// Hardware CRC-32C. Swift cannot emit the crc32 instruction itself; the Swift table-driven
// version in ZTAFormat runs ~0.9 GB/s, this ~8 GB/s, and checksums sit on every block decode.
#include "ztas_support.h"
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int ztas_crc32c_hw_available(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2")))
uint32_t ztas_crc32c_hw(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p++;
        len--;
    }
    return c32;
}

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

int ztas_crc32c_hw_available(void) { return 1; }

uint32_t ztas_crc32c_hw(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        crc = __crc32cd(crc, v);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = __crc32cb(crc, *p);
        p++;
        len--;
    }
    return crc;
}

#else

int ztas_crc32c_hw_available(void) { return 0; }
uint32_t ztas_crc32c_hw(uint32_t crc, const void *data, size_t len) { (void)data; (void)len; return crc; }

#endif
