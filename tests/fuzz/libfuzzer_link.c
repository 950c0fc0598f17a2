/* libFuzzer harness (clang -fsanitize=fuzzer,address,undefined): arbitrary bytes into a fresh
 * link, every output frame checked, then a delimiter and a clean frame that must be accepted. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_t f;
    static uint32_t counter;
    fz_init(&f);
    (void)fz_feed(&f, data, (uint32_t)size);
    fz_probe(&f, counter++);
    fz_validate_output(&f);
    return 0;
}
