/* SPDX-License-Identifier: MIT */
/*
 * Driver for fuzz targets built without libFuzzer (gcc, the default build): feeds every file
 * of the corpus directory given as argv[1] to LLVMFuzzerTestOneInput, then a fixed number of
 * deterministic mutations of each (byte flips, truncations, insertions), so the ordinary
 * test run exercises every harness and its seeds. Real fuzzing: configure with SB_FUZZ=ON.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void mutate_and_run(const uint8_t *seed, size_t size)
{
    uint8_t *buf = malloc(size + 64);
    if (!buf)
        abort();
    for (int round = 0; round < 200; round++) {
        size_t n = size;
        memcpy(buf, seed, size);
        int edits = 1 + (int)(next_random() % 4);
        for (int e = 0; e < edits; e++) {
            uint64_t r = next_random();
            switch (r % 4) {
            case 0:
                if (n)
                    buf[(r >> 8) % n] ^= (uint8_t)(1u << ((r >> 40) % 8));
                break;
            case 1:
                if (n)
                    n = (r >> 8) % n;
                break;
            case 2:
                if (n < size + 64) {
                    size_t at = n ? (r >> 8) % n : 0;
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (uint8_t)(r >> 32);
                    n++;
                }
                break;
            default: {
                static const uint8_t special[] = {'{', '}', '[', ']', '"', ':', ',', '\\',
                                                  0,   0xff, '<', '>', '&', '='};
                if (n)
                    buf[(r >> 8) % n] = special[(r >> 32) % sizeof(special)];
            }
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "%s: cannot open corpus %s\n", argv[0], argv[1]);
        return 1;
    }
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *data = malloc(1 << 20);
        size_t n = data ? fread(data, 1, 1 << 20, f) : 0;
        fclose(f);
        if (!data)
            abort();
        LLVMFuzzerTestOneInput(data, n);
        mutate_and_run(data, n);
        free(data);
        files++;
    }
    closedir(d);
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    printf("replayed %d seed files with mutations\n", files);
    return files > 0 ? 0 : 1;
}
