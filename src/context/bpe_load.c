/* bpe_load.c - finds, maps and checks a rank table file (<dir>/<encoding>.bpe, written by
 * scripts/build-bpe; format in docs/TOKENIZER.md). After the checks every offset and rank
 * read from the file is in bounds, so lookups need no further validation. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe_int.h"

#define HEADER_BYTES 128
#define FORMAT_VERSION 1
#define ENDIAN_MARK 0x01020304u
#define MAX_FILE_BYTES (256u << 20)
#define MAX_TOKENS (1u << 24)
#define MAX_TOKEN_BYTES 65535u

/* The patterns the pre-tokenizers of bpe_pretok.c implement, exactly as js-tiktoken spells
 * them; a file made from another pattern is refused rather than tokenized differently. */
static const char PAT_CL100K[] =
    "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|"
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char PAT_O200K[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const struct {
    const char *name;
    int pretok;
    const char *pat;
} ENCODINGS[] = {
    {"cl100k_base", MN__PRETOK_CL100K, PAT_CL100K},
    {"o200k_base", MN__PRETOK_O200K, PAT_O200K},
};

/* ---- default directories ------------------------------------------------------------- */

#define N_DIRS 6
static char dir_env[512], dir_exe_models[512], dir_exe_share[512];
static const char *dirs[N_DIRS + 1];
static pthread_once_t dirs_once = PTHREAD_ONCE_INIT;

static void dirs_build(void)
{
    size_t k = 0;
    const char *env = getenv("MNEMO_BPE_DIR");
    if (env && *env && snprintf(dir_env, sizeof dir_env, "%s", env) < (int)sizeof dir_env)
        dirs[k++] = dir_env;
    dirs[k++] = "models";
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(dir_exe_models, sizeof dir_exe_models, "%s/../models", exe);
            snprintf(dir_exe_share, sizeof dir_exe_share, "%s/../share/mnemo", exe);
            dirs[k++] = dir_exe_models;
            dirs[k++] = dir_exe_share;
        }
    }
    dirs[k++] = "/usr/local/share/mnemo";
    dirs[k++] = "/usr/share/mnemo";
    dirs[k] = NULL;
}

const char *const *mn__bpe_default_dirs(void)
{
    pthread_once(&dirs_once, dirs_build);
    return dirs;
}

/* ---- checks -------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* CRC-32 (IEEE, reflected, as zlib's crc32) of p[0..n). */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* 1 when [off, off + len) lies inside a file of `size` bytes and off is 4-aligned. */
static int region_ok(uint64_t off, uint64_t len, uint64_t size)
{
    return off >= HEADER_BYTES && off % 4 == 0 && off <= size && len <= size - off;
}

/* Reads a length-prefixed string at off into out (NUL-terminated); 0 when out of bounds. */
static int read_str(const uint8_t *base, uint64_t size, uint64_t off, char *out, size_t cap)
{
    if (!region_ok(off, 4, size))
        return 0;
    uint32_t len = rd32(base + off);
    if (!region_ok(off, 4 + (uint64_t)len, size) || len >= cap)
        return 0;
    memcpy(out, base + off + 4, len);
    out[len] = '\0';
    return 1;
}

static int check_file(mn__bpe *b, const char *path, int want_pretok, const char *want_pat,
                      mn_err *err)
{
    const uint8_t *base = b->map;
    uint64_t size = b->map_len;
    const char *hint = "rebuild it with scripts/setup-bpe --force";
#define BAD(...) mn__err_set(err, MN_ECORRUPT, hint, __VA_ARGS__)

    if (size < HEADER_BYTES || memcmp(base, "MNEMOBPE", 8) != 0)
        return BAD("rank table '%s' is not a mnemo BPE file (bad magic or %llu bytes)", path,
                   (unsigned long long)size);
    uint32_t version = rd32(base + 8);
    if (version != FORMAT_VERSION)
        return mn__err_set(err, MN_ESCHEMA, hint,
                           "rank table '%s' has format version %u, this build reads %u", path,
                           version, FORMAT_VERSION);
    if (rd32(base + 12) != ENDIAN_MARK || rd32(base + 16) != HEADER_BYTES)
        return BAD("rank table '%s': unexpected byte order or header size", path);
    if (rd64(base + 48) != size)
        return BAD("rank table '%s' is truncated: header says %llu bytes, file has %llu", path,
                   (unsigned long long)rd64(base + 48), (unsigned long long)size);
    uint32_t crc = crc32_of(base + HEADER_BYTES, size - HEADER_BYTES);
    if (crc != rd32(base + 44))
        return BAD("rank table '%s': checksum mismatch (file 0x%08x, computed 0x%08x)", path,
                   rd32(base + 44), crc);

    uint32_t pretok = rd32(base + 20), n_tok = rd32(base + 24), bits = rd32(base + 32);
    uint32_t max_len = rd32(base + 36);
    memcpy(b->name, base + 104, 24);
    b->name[24] = '\0';
    if (pretok != (uint32_t)want_pretok)
        return BAD("rank table '%s' is for encoding '%s' (pre-tokenizer %u), expected %d",
                   path, b->name, pretok, want_pretok);
    if (n_tok < 256 || n_tok > MAX_TOKENS || bits < 8 || bits > 28 ||
        (uint64_t)n_tok >= (1ull << bits) || max_len < 1 || max_len > MAX_TOKEN_BYTES)
        return BAD("rank table '%s': implausible sizes (%u tokens, 2^%u slots, longest %u)",
                   path, n_tok, bits, max_len);
    uint64_t off_offsets = rd64(base + 56), off_bytes = rd64(base + 64);
    uint64_t off_slots = rd64(base + 72);
    uint64_t n_slots = 1ull << bits;
    if (!region_ok(off_offsets, 4ull * (n_tok + 1ull), size) ||
        !region_ok(off_slots, 4ull * n_slots, size) || !region_ok(off_bytes, 0, size))
        return BAD("rank table '%s': a section lies outside the file", path);

    const uint32_t *offs = (const uint32_t *)(base + off_offsets);
    uint64_t blob = size - off_bytes;
    uint32_t longest = 0;
    if (offs[0] != 0)
        return BAD("rank table '%s': token offsets do not start at 0", path);
    for (uint32_t r = 0; r < n_tok; r++) {
        if (offs[r + 1] < offs[r] || offs[r + 1] > blob)
            return BAD("rank table '%s': bytes of token %u out of bounds", path, r);
        longest = MN_MAX(longest, offs[r + 1] - offs[r]);
    }
    if (longest != max_len)
        return BAD("rank table '%s': longest token is %u bytes, header says %u", path, longest,
                   max_len);
    const uint32_t *slots = (const uint32_t *)(base + off_slots);
    uint64_t used = 0;
    for (uint64_t i = 0; i < n_slots; i++) {
        if (slots[i] > n_tok)
            return BAD("rank table '%s': hash slot %llu holds rank %u of %u", path,
                       (unsigned long long)i, slots[i] - 1, n_tok);
        used += slots[i] != 0;
    }
    /* An empty slot must remain, or a failed lookup would probe forever. */
    if (used >= n_slots)
        return BAD("rank table '%s': hash table is full", path);

    char pat[1024];
    if (!read_str(base, size, rd64(base + 88), pat, sizeof pat) || strcmp(pat, want_pat) != 0)
        return BAD("rank table '%s': its pre-tokenizer pattern is not the one this build "
                   "implements for '%s'", path, b->name);
    if (!read_str(base, size, rd64(base + 96), b->source, sizeof b->source))
        return BAD("rank table '%s': bad source string", path);

    b->pretok = (int)pretok;
    b->n_tokens = n_tok;
    b->hash_mask = (uint32_t)(n_slots - 1);
    b->max_token_len = max_len;
    b->tok_off = offs;
    b->tok_bytes = base + off_bytes;
    b->slots = slots;
    for (int c = 0; c < 256; c++) {
        uint8_t byte = (uint8_t)c;
        uint32_t r = MN__BPE_NO_RANK;
        /* mn__bpe_rank answers single bytes from byte_rank, so probe the table directly. */
        uint32_t i = mn__bpe_fnv1a(&byte, 1) & b->hash_mask;
        while (slots[i] != 0) {
            uint32_t cand = slots[i] - 1;
            if (offs[cand + 1] - offs[cand] == 1 && b->tok_bytes[offs[cand]] == byte) {
                r = cand;
                break;
            }
            i = (i + 1) & b->hash_mask;
        }
        if (r == MN__BPE_NO_RANK)
            return BAD("rank table '%s': byte 0x%02x has no rank", path, c);
        b->byte_rank[c] = r;
    }
    return MN_OK;
#undef BAD
}

/* ---- open / close -------------------------------------------------------------------- */

/* Maps path into b. MN_ENOTFOUND when the file does not exist. */
static int map_file(mn__bpe *b, const char *path, mn_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return MN_ENOTFOUND;
        return mn__err_set(err, MN_EIO, "check the file's permissions",
                           "cannot open rank table '%s': %s", path, strerror(errno));
    }
    int rc = MN_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = mn__err_set(err, MN_EIO, NULL, "cannot stat rank table '%s': %s", path,
                         strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < HEADER_BYTES || st.st_size > MAX_FILE_BYTES) {
        rc = mn__err_set(err, MN_ECORRUPT, "rebuild it with scripts/setup-bpe --force",
                         "rank table '%s': expected a regular file of %d bytes to 256 MiB, "
                         "found %lld bytes", path, HEADER_BYTES, (long long)st.st_size);
        goto cleanup;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = mn__err_set(err, MN_EIO, NULL, "cannot map rank table '%s': %s", path,
                         strerror(errno));
        goto cleanup;
    }
    b->map = m;
    b->map_len = (size_t)st.st_size;
cleanup:
    close(fd);
    return rc;
}

int mn__bpe_open(const char *encoding, const char *dir, mn__bpe **out_bpe, mn_err *err)
{
    if (!out_bpe)
        return mn__err_set(err, MN_EINVAL, NULL, "mn__bpe_open: out_bpe is NULL");
    *out_bpe = NULL;
    size_t e = 0;
    while (e < MN_ARRAY_LEN(ENCODINGS) && (!encoding || strcmp(encoding, ENCODINGS[e].name)))
        e++;
    if (e == MN_ARRAY_LEN(ENCODINGS))
        return mn__err_set(err, MN_EINVAL, "use cl100k_base or o200k_base",
                           "unknown BPE encoding '%s'", encoding ? encoding : "(null)");

    mn__bpe *b = mn__calloc(1, sizeof *b);
    if (!b)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory opening encoding '%s'",
                           encoding);
    const char *one[2] = {dir, NULL};
    const char *const *list = dir ? one : mn__bpe_default_dirs();
    char path[640], tried[200] = "";
    size_t tried_len = 0;
    int rc = MN_ENOTFOUND;
    for (size_t i = 0; list[i] && rc == MN_ENOTFOUND; i++) {
        snprintf(path, sizeof path, "%s/%s.bpe", list[i], encoding);
        rc = map_file(b, path, err);
        if (rc == MN_ENOTFOUND && tried_len < sizeof tried - 1) {
            int w = snprintf(tried + tried_len, sizeof tried - tried_len, "%s%s",
                             tried_len ? ", " : "", path);
            tried_len = w < 0 ? tried_len : MN_MIN(sizeof tried - 1, tried_len + (size_t)w);
        }
    }
    if (rc == MN_ENOTFOUND) {
        rc = mn__err_set(err, MN_ENOMODEL,
                         "run scripts/setup-bpe, or set MNEMO_BPE_DIR to the folder holding it",
                         "no rank table for '%s'; tried %s", encoding, tried);
        goto cleanup;
    }
    if (rc != MN_OK)
        goto cleanup;
    rc = check_file(b, path, ENCODINGS[e].pretok, ENCODINGS[e].pat, err);
    if (rc == MN_OK && strcmp(b->name, encoding) != 0)
        rc = mn__err_set(err, MN_ECORRUPT, "rebuild it with scripts/setup-bpe --force",
                         "rank table '%s' names encoding '%s', expected '%s'", path, b->name,
                         encoding);
cleanup:
    if (rc != MN_OK) {
        mn__bpe_close(b);
        return rc;
    }
    *out_bpe = b;
    return MN_OK;
}

void mn__bpe_close(mn__bpe *bpe)
{
    if (!bpe)
        return;
    if (bpe->map)
        munmap(bpe->map, bpe->map_len);
    mn__free(bpe);
}

const char *mn__bpe_name(const mn__bpe *bpe)
{
    return bpe->name;
}

const char *mn__bpe_source(const mn__bpe *bpe)
{
    return bpe->source;
}

uint32_t mn__bpe_vocab_size(const mn__bpe *bpe)
{
    return bpe->n_tokens;
}
