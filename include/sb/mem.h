/* SPDX-License-Identifier: MIT */
/*
 * Memory helpers and the growable byte buffer. sb_malloc and friends abort on
 * out-of-memory (a daemon that cannot allocate a few bytes cannot do anything useful);
 * what can grow from outside input is bounded by a caller-chosen maximum instead, and
 * exceeding it fails with SB_ETOOBIG.
 */
#ifndef SB_MEM_H
#define SB_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *sb_malloc(size_t n);
void *sb_calloc(size_t count, size_t size);
void *sb_realloc(void *p, size_t n);
/* Copies a NUL-terminated string; NULL gives NULL. Free with free(). */
char *sb_strdup(const char *s);
/* Copies `n` bytes of `s` and adds a NUL. Free with free(). */
char *sb_strndup(const char *s, size_t n);
/* printf into a new string. Free with free(). */
char *sb_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable buffer, always NUL-terminated after `len` bytes once anything was appended.
 * `max` (0 = unbounded) caps `len`: an append that would pass it fails with SB_ETOOBIG
 * and leaves the buffer as it was.
 */
struct sb_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void sb_buf_init(struct sb_buf *b, size_t max);
void sb_buf_cleanup(struct sb_buf *b);
void sb_buf_reset(struct sb_buf *b);
int sb_buf_append(struct sb_buf *b, const void *data, size_t n);
int sb_buf_appends(struct sb_buf *b, const char *s);
int sb_buf_appendf(struct sb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the contents (NUL-terminated; free with free()) and leaves the buffer empty. */
char *sb_buf_steal(struct sb_buf *b, size_t *len);

/* Compares two byte strings in time that depends only on `n`, never on their contents. */
int sb_memeq_consttime(const void *a, const void *b, size_t n);

#endif
