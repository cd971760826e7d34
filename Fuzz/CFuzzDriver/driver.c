// Only the declaration in include/CFuzzDriver.h is needed; libFuzzer (-sanitize=fuzzer) defines it.
#include "CFuzzDriver.h"
