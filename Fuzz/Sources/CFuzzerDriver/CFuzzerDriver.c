// Declarations only (include/CFuzzerDriver.h); SwiftPM wants a source file per C target.
#include "CFuzzerDriver.h"
