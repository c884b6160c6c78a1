/*
 * fuzz_util.h - what the fuzz harnesses share.
 *
 * Each harness (fuzz_*.c) defines LLVMFuzzerTestOneInput() and is built
 * twice: with clang and libFuzzer by tests/fuzz/run (`make fuzz`), and with
 * cc and tests/fuzz/replay.c by tests/e2e/test_fuzz_replay.py (`make
 * check`), which feeds it every file of tests/fuzz/corpus/<harness>/ and
 * tests/fuzz/crashes/<harness>/. A harness crashes (abort) when the code
 * breaks a documented promise, so the sanitizers are not the only oracle.
 *
 * Everything here is static inline: a harness is one translation unit plus
 * the common/ sources, and may use only part of this file.
 */
#ifndef A0SNAP_FUZZ_UTIL_H
#define A0SNAP_FUZZ_UTIL_H

#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "err.h"
#include "sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: says which and aborts, which both libFuzzer and the
 * replay test report as a crash. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
    abort();
}

/* A private scratch folder for the whole process (tmpfs when there is
 * one, so the fsyncs of the snapshot writer cost nothing), removed with
 * its files at exit. Aborts if none can be made: a harness without it
 * would test nothing. */
static char fuzz_tmpdir_path[256];

static inline int fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

static inline void fuzz_tmpdir_cleanup(void)
{
    if (fuzz_tmpdir_path[0] && nftw(fuzz_tmpdir_path, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        fprintf(stderr, "fuzz: cannot remove '%s'\n", fuzz_tmpdir_path);
}

static inline const char *fuzz_tmpdir(void)
{
    const char *base;
    struct stat st;

    if (fuzz_tmpdir_path[0])
        return fuzz_tmpdir_path;
    base = getenv("A0SNAP_FUZZ_TMPDIR");
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (!base)
        base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fuzz_tmpdir_path, sizeof(fuzz_tmpdir_path), "%s/a0snap-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_tmpdir_path)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_tmpdir_cleanup);
    return fuzz_tmpdir_path;
}

/* An anonymous in-memory file holding data; its name for open() goes to
 * path ("/proc/self/fd/N"). Returns the fd (close it), or aborts. */
static inline int fuzz_memfd(const void *data, size_t len, char *path, size_t pathsz)
{
    const char *p = data;
    int fd = memfd_create("a0snap-fuzz", MFD_CLOEXEC);

    if (fd < 0) {
        perror("fuzz: memfd_create");
        abort();
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            perror("fuzz: write");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
    snprintf(path, pathsz, "/proc/self/fd/%d", fd);
    return fd;
}

/* Compresses len bytes into one gzip member appended to *out (size *outlen,
 * grown with realloc). Aborts when out of memory. */
static inline void fuzz_gzip_append(unsigned char **out, size_t *outlen, const void *data,
                                    size_t len, int level)
{
    z_stream zs;
    size_t bound;
    unsigned char *p;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    bound = deflateBound(&zs, (uLong)len) + 32;
    p = realloc(*out, *outlen + bound);
    if (!p)
        abort();
    *out = p;
    zs.next_in = (unsigned char *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = p + *outlen;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    *outlen += bound - zs.avail_out;
    deflateEnd(&zs);
}

/* Finds needle (nlen bytes) in hay (hlen bytes), or NULL. */
static inline const char *fuzz_memmem(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen)
        return NULL;
    for (size_t i = 0; i + nlen <= hlen; i++) {
        if (memcmp(hay + i, needle, nlen) == 0)
            return hay + i;
    }
    return NULL;
}

/* A NUL-terminated copy of len bytes (which may hold NULs). Aborts when
 * out of memory. */
static inline char *fuzz_strndup(const void *data, size_t len)
{
    char *s = malloc(len + 1);

    if (!s)
        abort();
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

/* "Seals" NDJSON text the way the snapshot writer does: when the last line
 * (the trailer) holds the placeholder FUZZ_SHA256_MARK, it is replaced by
 * the SHA-256 of every byte before that line, so a mutated snapshot still
 * gets past the hash check to everything behind it. Returns a new buffer
 * (free it) of *outlen bytes. */
#define FUZZ_SHA256_MARK "@SHA256@"

static inline char *fuzz_seal(const char *text, size_t len, size_t *outlen)
{
    char hex[SHA256_HEX_LEN + 1];
    size_t body = len, mlen = strlen(FUZZ_SHA256_MARK);
    const char *mark;
    struct err e;
    char *out;

    /* The last line starts after the last \n that is not the final byte. */
    while (body > 0 && text[body - 1] == '\n')
        body--;
    while (body > 0 && text[body - 1] != '\n')
        body--;
    mark = fuzz_memmem(text + body, len - body, FUZZ_SHA256_MARK, mlen);
    if (!mark) {
        *outlen = len;
        return fuzz_strndup(text, len);
    }
    err_clear(&e);
    if (sha256_hex(text, body, hex, &e) < 0)
        abort();
    out = malloc(len - mlen + SHA256_HEX_LEN + 1);
    if (!out)
        abort();
    memcpy(out, text, (size_t)(mark - text));
    memcpy(out + (mark - text), hex, SHA256_HEX_LEN);
    memcpy(out + (mark - text) + SHA256_HEX_LEN, mark + mlen, len - (size_t)(mark - text) - mlen);
    *outlen = len - mlen + SHA256_HEX_LEN;
    out[*outlen] = '\0';
    return out;
}

#endif
