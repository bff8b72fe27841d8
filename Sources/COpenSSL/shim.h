// SHA-256, constant-time comparison and the CSPRNG from Debian's libcrypto (libssl-dev).
// The one-shot SHA256() of OpenSSL 3 looks the digest up through its provider machinery on every
// call (~24k instructions for a token); the low-level functions it deprecates go straight to the
// same assembly (~1-2k). They are still built into Debian's libcrypto.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

static inline void partnerships_sha256(const void *bytes, size_t count, unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, bytes, count);
    SHA256_Final(digest, &context);
}
