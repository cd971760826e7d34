// libFuzzer's driver, for a fuzz target whose executable keeps its own `main` (SwiftPM names every
// executable's entry point, so libFuzzer's `main` cannot take its place): main calls this.
// https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
