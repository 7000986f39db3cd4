/* SPDX-License-Identifier: MIT */
/*
 * Evaluation metrics of the media module (metrics.c), shared by the eval command and the unit
 * tests. Comparisons are case-insensitive (ASCII) with white space collapsed.
 */
#ifndef SB_MEDIA_METRICS_H
#define SB_MEDIA_METRICS_H

#include <stddef.h>

/* Upper-cases ASCII, collapses white-space runs to one space, trims. Free with free(). */
char *sb__media_norm(const char *s);
/* Bag-of-words F1 of `pred` against `ref` (1 when both are empty). */
double sb__media_word_f1(const char *pred, const char *ref);
/* Character error rate: edit distance / reference length; dist and ref_len may be NULL. */
double sb__media_cer(const char *pred, const char *ref, size_t *dist, size_t *ref_len);
/* Word error rate: word edit distance / reference words; dist and ref_len may be NULL. */
double sb__media_wer(const char *pred, const char *ref, size_t *dist, size_t *ref_len);

#endif
