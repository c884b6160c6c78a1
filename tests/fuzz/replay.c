/*
 * replay.c - a main() for a fuzz harness without libFuzzer: feeds it each
 * file named on the command line, or every file of a named folder (sorted
 * by name; names starting with '.' are skipped, so .gitkeep is not an
 * input). Built by CMake (tests/CMakeLists.txt) and run by
 * tests/fuzz/test_fuzz_replay.py, so `make check` replays the seed corpus
 * and every crash ever found, in the plain and the sanitizer build.
 *
 * Each input is copied into a heap block of exactly its size, as libFuzzer
 * does, so reading one byte past it is caught by AddressSanitizer.
 *
 *   usage: fuzz_NAME-replay [-v] FILE|FOLDER...
 *
 * Prints "replayed N inputs" and exits 0, or exits 2 for an unreadable
 * input; a harness that finds a bug aborts (or the sanitizer stops it).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (64u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verbose;
static unsigned long replayed;

static int replay_file(const char *path)
{
    unsigned char *data = NULL;
    struct stat st;
    size_t got = 0;
    FILE *f;
    int rc = -1;

    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) < 0) {
        fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
        goto out;
    }
    if ((unsigned long long)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: '%s' is larger than %u bytes\n", path, REPLAY_MAX_INPUT);
        goto out;
    }
    /* malloc(0) may return NULL; an empty input still gets a real block. */
    data = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!data) {
        fprintf(stderr, "replay: out of memory for '%s'\n", path);
        goto out;
    }
    got = fread(data, 1, (size_t)st.st_size, f);
    if (got != (size_t)st.st_size || ferror(f)) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        goto out;
    }
    if (verbose)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, got);
    LLVMFuzzerTestOneInput(data, got);
    replayed++;
    rc = 0;
out:
    free(data);
    if (f)
        fclose(f);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir)
{
    char **names = NULL, **grown, path[4096];
    size_t n = 0, cap = 0;
    struct dirent *d;
    DIR *dh;
    int rc = 0;

    dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    while ((d = readdir(dh)) != NULL) {
        if (d->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            grown = realloc(names, cap * sizeof(*names));
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        names[n] = strdup(d->d_name);
        if (!names[n]) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(dh);
    if (rc == 0 && n > 1)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            continue;
        if (replay_file(path) < 0)
            rc = -1;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0)
        fprintf(stderr, "replay: cannot list '%s'\n", dir);
    return rc;
}

int main(int argc, char **argv)
{
    int bad = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
            continue;
        }
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: cannot read '%s': %s\n", argv[i], strerror(errno));
            bad++;
        } else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i]) < 0 : replay_file(argv[i]) < 0) {
            bad++;
        }
    }
    printf("replayed %lu inputs\n", replayed);
    return bad ? 2 : 0;
}
