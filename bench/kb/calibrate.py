#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fits the KB answer confidence (logistic regression over score features) and the abstention
threshold on StackFAQ *train* queries against KBs missing 20 % of the threads.

Input: the --features files written by
  switchboard eval answer --kb kb_sS.jsonl --queries queries.jsonl --qrels qrels.tsv --features F
(columns: query, answerable, top-citation-relevant, the features in NAMES, confidence).
Label: 1 when answering would be right (answerable and the first citation is relevant).
Cross-validation: 5 folds by sha256(query id); the model and the threshold are fitted on four
folds (all KBs) and measured on the fifth. Prints the CV figures, then the coefficients and
threshold fitted on everything (what src/kb/answer.c uses).

usage: bench/kb/calibrate.py FEATURES.tsv...
"""
import hashlib, math, os, sys

NAMES = ['top', 'gap', 'cover', 'ctitle', 'known', 'nterms', 'ratio', 'agree_t', 'agree_b', 'phr',
         'unk', 'lfc', 'lrc', 'lbg']
rows = []
SETS = {}
for path in sys.argv[1:]:
    # the collection is the file name up to the first '_' (plain_s0.tsv, clinc_s1.tsv)
    name = os.path.basename(path).split('_')[0]
    for line in open(path):
        c = line.rstrip('\n').split('\t')
        x = [float(v) for v in c[3:3 + len(NAMES)]]
        rows.append((c[0], int(c[1]), int(c[1]) and int(c[2]), x))
        SETS.setdefault(name, []).append(len(rows) - 1)
SET_OF = {}
for name, idx in SETS.items():
    for i in idx:
        SET_OF[i] = name
rows = [r + (SET_OF[i],) for i, r in enumerate(rows)]
fold = lambda q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5

def fit(data, l2=1e-3, iters=300):
    k = len(NAMES) + 1
    w = [0.0] * k
    # Newton's method on the L2-regularised log-loss
    for _ in range(iters):
        g = [0.0] * k
        H = [[0.0] * k for _ in range(k)]
        for _, _, y, x, _ in data:
            xv = [1.0] + x
            z = sum(a * b for a, b in zip(w, xv))
            p = 1 / (1 + math.exp(-max(-30, min(30, z))))
            for i in range(k):
                g[i] += (p - y) * xv[i]
                for j in range(k):
                    H[i][j] += p * (1 - p) * xv[i] * xv[j]
        for i in range(1, k):
            g[i] += l2 * len(data) * w[i]
            H[i][i] += l2 * len(data)
        step = solve(H, g)
        w = [a - b for a, b in zip(w, step)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return w

def solve(A, b):
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(M[r][c]))
        M[c], M[p] = M[p], M[c]
        for r in range(n):
            if r != c and M[c][c]:
                f = M[r][c] / M[c][c]
                M[r] = [a - f * bb for a, bb in zip(M[r], M[c])]
    return [M[i][n] / M[i][i] for i in range(n)]

def conf(w, x):
    z = w[0] + sum(a * b for a, b in zip(w[1:], x))
    return 1 / (1 + math.exp(-max(-30, min(30, z))))

def outcome(data, w, t):
    ans = [r for r in data if conf(w, r[3]) >= t]
    answerable = [r for r in data if r[1]]
    unans = [r for r in data if not r[1]]
    right = sum(1 for r in ans if r[2])
    prec = right / len(ans) if ans else 1.0
    answered = sum(1 for r in ans if r[1]) / max(1, len(answerable))
    abst = 1 - sum(1 for r in ans if not r[1]) / max(1, len(unans))
    return prec, answered, abst

def choose(data, w, want_prec=0.95, want_abst=0.90):
    # lowest threshold meeting precision and abstention goals (most answers)
    best = None
    for t in [i / 200 for i in range(1, 200)]:
        prec, answered, abst = outcome(data, w, t)
        if prec >= want_prec and abst >= want_abst:
            best = t
            break
    return best if best is not None else 0.99

cv = []
per = {name: [] for name in SETS}
for f in range(5):
    tr = [r for r in rows if fold(r[0]) != f]
    te = [r for r in rows if fold(r[0]) == f]
    w = fit(tr)
    t = choose(tr, w)
    cv.append(outcome(te, w, t) + (t,))
    for name in SETS:
        per[name].append(outcome([r for r in te if r[4] == name], w, t))
    print('fold %d: threshold %.3f -> held-out precision %.4f, answerable answered %.4f, '
          'unanswerable abstained %.4f' % (f, t, *cv[-1][:3]))
m = [sum(c[i] for c in cv) / 5 for i in range(3)]
print('CV: precision %.4f, answerable answered %.4f, unanswerable abstained %.4f' % tuple(m))
for name in SETS:
    m = [sum(c[i] for c in per[name]) / 5 for i in range(3)]
    print('  CV %s: precision %.4f, answerable answered %.4f, unanswerable abstained %.4f'
          % ((name,) + tuple(m)))
w = fit(rows)
t = choose(rows, w)
print('coefficients (bias, %s):' % ', '.join(NAMES), ', '.join('%.4f' % v for v in w))
print('threshold %.3f; on all train: precision %.4f, answered %.4f, abstained %.4f'
      % (t, *outcome(rows, w, t)))
for t2 in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
    print('  at %.2f: precision %.4f, answered %.4f, abstained %.4f' % (t2, *outcome(rows, w, t2)))
