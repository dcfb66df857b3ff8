// A C target needs one source file; everything is inline in the header.
#include "CPrefetch.h"
