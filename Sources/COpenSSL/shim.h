// SHA-256, constant-time comparison and the CSPRNG from Debian's libcrypto (libssl-dev).
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
