/* test_sha256.c - SHA-256 against the FIPS 180-4 / NIST example vectors, incremental hashing
 * across block boundaries, and the constant-time comparison. */
#include "../../src/core/core.h"
#include "t.h"

static void hex(const uint8_t d[32], char out[65])
{
    static const char x[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 32; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[64] = '\0';
}

static void check(const char *msg, size_t n, const char *want)
{
    uint8_t d[32];
    char h[65];
    mn__sha256(msg, n, d);
    hex(d, h);
    ASSERT_STR(h, want);
}

TEST(sha256_nist_vectors)
{
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmno"
          "pqrlmnopqrsmnopqrstnopqrstu",
          112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(sha256_million_a_incremental)
{
    /* One million 'a' fed in uneven pieces: exercises partial blocks and the length field. */
    char chunk[997];
    mn__sha256_ctx s;
    uint8_t d[32];
    char h[65];
    size_t left = 1000000;
    memset(chunk, 'a', sizeof chunk);
    mn__sha256_init(&s);
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        mn__sha256_update(&s, chunk, n);
        left -= n;
    }
    mn__sha256_final(&s, d);
    hex(d, h);
    ASSERT_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(sha256_padding_edges)
{
    /* 55, 56 and 64 bytes: the length fits, just misses, and a full block of padding. */
    char m[64];
    uint8_t a[32], b[32];
    mn__sha256_ctx s;
    size_t n;
    memset(m, 'x', sizeof m);
    for (n = 55; n <= 64; n++) {
        mn__sha256(m, n, a);
        mn__sha256_init(&s);
        mn__sha256_update(&s, m, 1);
        mn__sha256_update(&s, m + 1, n - 1);
        mn__sha256_final(&s, b);
        ASSERT(mn__ct_equal(a, b, 32));
    }
    mn__sha256(m, 55, a);
    mn__sha256(m, 56, b);
    ASSERT(!mn__ct_equal(a, b, 32));
}

TEST(ct_equal_finds_any_difference)
{
    uint8_t a[32], b[32];
    int i;
    memset(a, 7, sizeof a);
    for (i = 0; i < 32; i++) {
        memcpy(b, a, sizeof b);
        ASSERT(mn__ct_equal(a, b, 32));
        b[i] ^= 1;
        ASSERT(!mn__ct_equal(a, b, 32));
    }
}
