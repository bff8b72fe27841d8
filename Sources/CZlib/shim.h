// zlib for its crc32 (the store checksums every line): Debian's zlib1g-dev.
#include <zlib.h>
