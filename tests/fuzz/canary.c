/*
 * canary.c - a fuzz harness with two known bugs, built only with the
 * sanitizers (tests/CMakeLists.txt) so test_fuzz_replay.py can prove that a
 * replay reports what it should: input "heap" reads one byte past the
 * input, "ovfl" overflows a signed int, anything else is fine. A replay
 * that cannot fail would prove nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && memcmp(data, "heap", 4) == 0) {
        volatile const uint8_t *p = data;
        return p[size]; /* one byte past the input */
    }
    if (size >= 4 && memcmp(data, "ovfl", 4) == 0) {
        volatile int x = 0x7fffffff;
        return x + (int)size;
    }
    return 0;
}
