/* fuzz_bpe_file.c - target bpe_file: the BPE rank table loader (src/context/bpe_load.c)
 * and the encoder on what it accepted. A small but complete cl100k_base table (256 byte
 * tokens and a few merges; the pattern and source strings are taken from the real table in
 * models/) is damaged by the input and opened: a bad table is an error, never a crash; a
 * table that opens must encode any text into tokens whose bytes give the text back.
 * Input: byte 0 = number of patches, then 3 bytes per patch (2 of offset, 1 value set
 * there), then a flags byte (bit 0: leave the CRC stale; bit 1: also encode the text with
 * the real cl100k_base table), then the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/context/bpe_int.h"
#include "fuzz.h"

#define HDR 128
#define BITS 10

static const char *const merges[] = {"th", "he", "the", " t", " the", "in", "ing", "er",
                                     "an", "and", " a", "  ", "    ", "\n\n", "'s", "12"};

static uint8_t *tmpl;
static size_t tmpl_len;
static char dir[600], file[700];
static mn__bpe *real;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* Reads the length-prefixed string whose offset is at header field `at` of the real table. */
static size_t real_string(const uint8_t *m, size_t n, size_t at, const uint8_t **out)
{
    uint64_t off = (uint64_t)get32(m + at) | (uint64_t)get32(m + at + 4) << 32;
    uint32_t len;
    if (off + 4 > n || (len = get32(m + off)) > n - off - 4)
        fz_fail("the real cl100k_base table looks damaged");
    *out = m + off + 4;
    return len;
}

static size_t align8(size_t x)
{
    return (x + 7) & ~(size_t)7;
}

static void build_template(void)
{
    const char *const *dirs = mn__bpe_default_dirs();
    const uint8_t *pat = NULL, *src = NULL;
    size_t pat_len = 0, src_len = 0, n_tok = 256 + MN_ARRAY_LEN(merges), blob = 256, i;
    size_t off_offs, off_blob, off_slots, off_spec, off_pat, off_src, end, o;
    uint32_t *slots, longest = 1;
    uint8_t *raw = NULL, *b;
    FILE *f = NULL;
    long rn = 0;
    mn_err err;
    for (i = 0; dirs[i] && !f; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/cl100k_base.bpe", dirs[i]);
        f = fopen(p, "rb");
    }
    if (!f || fseek(f, 0, SEEK_END) || (rn = ftell(f)) < HDR || fseek(f, 0, SEEK_SET))
        fz_fail("no models/cl100k_base.bpe: run scripts/setup-bpe");
    raw = mn__malloc((size_t)rn);
    if (!raw || fread(raw, 1, (size_t)rn, f) != (size_t)rn)
        fz_fail("cannot read the real cl100k_base table");
    fclose(f);
    pat_len = real_string(raw, (size_t)rn, 88, &pat);
    src_len = real_string(raw, (size_t)rn, 96, &src);

    for (i = 0; i < MN_ARRAY_LEN(merges); i++) {
        blob += strlen(merges[i]);
        if (strlen(merges[i]) > longest)
            longest = (uint32_t)strlen(merges[i]);
    }
    off_offs = HDR;
    off_blob = align8(off_offs + 4 * (n_tok + 1));
    off_slots = align8(off_blob + blob);
    off_spec = off_slots + 4 * ((size_t)1 << BITS);
    off_pat = off_spec;
    off_src = align8(off_pat + 4 + pat_len);
    end = align8(off_src + 4 + src_len);
    b = mn__calloc(1, end);
    if (!b)
        fz_fail("out of memory");
    memcpy(b, "MNEMOBPE", 8);
    put32(b + 8, 1);
    put32(b + 12, 0x01020304u);
    put32(b + 16, HDR);
    put32(b + 20, MN__PRETOK_CL100K);
    put32(b + 24, (uint32_t)n_tok);
    put32(b + 32, BITS);
    put32(b + 36, longest);
    put64(b + 48, end);
    put64(b + 56, off_offs);
    put64(b + 64, off_blob);
    put64(b + 72, off_slots);
    put64(b + 80, off_spec);
    put64(b + 88, off_pat);
    put64(b + 96, off_src);
    memcpy(b + 104, "cl100k_base", 11);
    o = 0;
    for (i = 0; i < n_tok; i++) {
        const uint8_t *tb = i < 256 ? (const uint8_t[]){(uint8_t)i} : (const uint8_t *)merges[i - 256];
        size_t tl = i < 256 ? 1 : strlen(merges[i - 256]);
        uint32_t h;
        put32(b + off_offs + 4 * i, (uint32_t)o);
        memcpy(b + off_blob + o, tb, tl);
        o += tl;
        h = mn__bpe_fnv1a(tb, tl) & ((1u << BITS) - 1);
        slots = (uint32_t *)(void *)(b + off_slots);
        while (slots[h])
            h = (h + 1) & ((1u << BITS) - 1);
        slots[h] = (uint32_t)i + 1;
    }
    put32(b + off_offs + 4 * n_tok, (uint32_t)o);
    put32(b + off_pat, (uint32_t)pat_len);
    memcpy(b + off_pat + 4, pat, pat_len);
    put32(b + off_src, (uint32_t)src_len);
    memcpy(b + off_src + 4, src, src_len);
    put32(b + 44, crc32_of(b + HDR, end - HDR));
    mn__free(raw);
    tmpl = b;
    tmpl_len = end;

    snprintf(dir, sizeof dir, "%s/bpe", fz_tmpdir());
    snprintf(file, sizeof file, "%s/cl100k_base.bpe", dir);
    mkdir(dir, 0700);
    if (mn__bpe_open("cl100k_base", NULL, &real, &err))
        fz_fail("cannot open the real table: %s", err.msg);
}

/* Encodes text and checks that the tokens' bytes give it back. */
static void roundtrip(const mn__bpe *b, const uint8_t *text, size_t len)
{
    uint32_t *ids = mn__malloc(sizeof *ids * (len + 1));
    size_t n = 0, cnt = 0, i, at = 0;
    if (!ids)
        fz_fail("out of memory");
    if (mn__bpe_encode(b, (const char *)text, len, ids, len + 1, &n))
        fz_fail("encode failed on %zu bytes", len);
    if (mn__bpe_count(b, (const char *)text, len, &cnt) || cnt != n)
        fz_fail("count %zu, encode %zu", cnt, n);
    for (i = 0; i < n; i++) {
        const char *tb;
        size_t tl;
        if (mn__bpe_token_bytes(b, ids[i], &tb, &tl) || tl > len - at ||
            memcmp(tb, text + at, tl))
            fz_fail("token %zu (id %u) does not give the text back at byte %zu", i, ids[i], at);
        at += tl;
    }
    if (at != len)
        fz_fail("tokens give %zu bytes of %zu", at, len);
    mn__free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;
    uint8_t flags;
    mn__bpe *b = NULL;
    mn_err err;
    int64_t before;
    int rc;
    if (size < 1)
        return 0;
    if (!tmpl)
        build_template();
    before = fz_live_bytes();
    copy = fz_patched_copy(tmpl, tmpl_len, &data, &size, &flags);
    if (!(flags & 1))
        put32(copy + 44, crc32_of(copy + HDR, tmpl_len - HDR));
    fz_write_file(file, copy, tmpl_len);
    mn__free(copy);
    rc = mn__bpe_open("cl100k_base", dir, &b, &err);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "open: %s %s\n", mn_err_name(rc), rc ? err.msg : "");
    if (rc == MN_OK) {
        roundtrip(b, data, size);
        mn__bpe_close(b);
    } else if (rc != MN_ECORRUPT && rc != MN_ESCHEMA) {
        fz_fail("open: unexpected %s: %s", mn_err_name(rc), err.msg);
    }
    if (flags & 2)
        roundtrip(real, data, size);
    FZ_NO_LEAK(before);
    return 0;
}
