#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fits the KB answer confidence (L2-regularised logistic regression over ranking features) and
the abstention threshold on StackFAQ *train* queries against KBs missing 20 % of the threads.

Input: the --features files written by
  kb_cli eval answer --kb kb_sS.jsonl --queries queries.jsonl --qrels qrels.tsv --features F
(columns: query, answerable, top-citation-relevant, the 17 features in NAMES (14 with --n14, files
of earlier sessions), the confidence of
the model that wrote the file; an experimental build also wrote the top entry's 13 candidate
features and their 13 differences to the runner-up group, used unless --base: docs/kb.md
"Confidence model experiments").
Label: 1 when answering would be right (answerable and the first citation is relevant).
Cross-validation: 5 folds by sha256(query id), the same query in every KB draw falls in the same
fold; the model and the threshold (lowest meeting precision >= 0.95 and abstention >= 0.90 on
the training folds) are fitted on four folds and measured on the fifth. Prints the CV figures
per KB draw and pooled, a reliability table of the out-of-fold confidences, then the
coefficients and threshold fitted on everything (what src/kb/answer.c uses), as a C array.
Needs Debian python3-numpy.

usage: bench/kb/calibrate.py [--base] [--l2 X] FEATURES.tsv...
  --base: only the features in NAMES (no candidate-feature columns)
  --n14: the files have the 14 features of sessions 2-3
The C implementation (`switchboard kb calibrate FILES --prior zero --no-guard`) gives the same
coefficients, threshold and CV figures; this script stays as its cross-check.
"""
import hashlib, sys
import numpy as np

NAMES = ['top', 'gap', 'cover', 'ctitle', 'known', 'nterms', 'ratio', 'agree_t', 'agree_b', 'phr',
         'unk', 'lfc', 'lrc', 'lbg', 'tm', 'tm_gap', 'tm_top']
if '--n14' in sys.argv:  # feature files of sessions 2-3 (14 features)
    NAMES = NAMES[:14]
    sys.argv.remove('--n14')
RF = ['base', 'title', 'body', 'extra', 'cov', 'covt', 'covg', 'gbody', 'lfc', 'lrc', 'lbg',
      'llen', 'rank']
args = sys.argv[1:]
base_only = '--base' in args
args = [a for a in args if a != '--base']
l2 = 1e-2
if '--l2' in args:
    i = args.index('--l2')
    l2 = float(args[i + 1])
    del args[i:i + 2]

Q, A, Y, X, DRAW = [], [], [], [], []
for k, path in enumerate(args):
    for line in open(path):
        c = line.rstrip('\n').split('\t')
        x = [float(v) for v in c[3:3 + len(NAMES)]]
        if not base_only:
            extra = c[4 + len(NAMES):4 + len(NAMES) + 2 * len(RF)]
            if len(extra) != 2 * len(RF):
                sys.exit('%s: no candidate feature columns; use --base' % path)
            x += [float(v) for v in extra]
        Q.append(c[0]); A.append(int(c[1])); Y.append(int(c[1]) and int(c[2])); X.append(x)
        DRAW.append(k)
A = np.array(A); Y = np.array(Y, float); X = np.array(X); DRAW = np.array(DRAW)
fold = np.array([int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5 for q in Q])


def fit(X, y):
    """Newton's method on the L2-regularised log-loss (bias not penalised)."""
    Xb = np.hstack([np.ones((len(X), 1)), X])
    w = np.zeros(Xb.shape[1])
    R = l2 * len(X) * np.eye(len(w))
    R[0, 0] = 0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(Xb @ w, -30, 30)))
        g = Xb.T @ (p - y) + R @ w
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + R
        s = np.linalg.solve(H, g)
        w -= s
        if np.abs(s).max() < 1e-10:
            break
    return w


def conf(w, X):
    return 1 / (1 + np.exp(-np.clip(w[0] + X @ w[1:], -30, 30)))


def outcome(c, a, y, t):
    ans = c >= t
    given = ans.sum()
    right = (ans & (y > 0)).sum()
    return (right / given if given else 1.0, (ans & (a > 0)).sum() / max(1, (a > 0).sum()),
            1 - (ans & (a == 0)).sum() / max(1, (a == 0).sum()))


def choose(c, a, y, want_prec=0.95, want_abst=0.90):
    """Lowest threshold meeting the precision and abstention goals (most answers)."""
    for t in np.arange(0.005, 1, 0.005):
        p, _, ab = outcome(c, a, y, t)
        if p >= want_prec and ab >= want_abst:
            return t
    return 0.995


oof = np.zeros(len(Y))
answer_oof = np.zeros(len(Y), bool)
for f in range(5):
    tr = fold != f
    w = fit(X[tr], Y[tr])
    t = choose(conf(w, X[tr]), A[tr], Y[tr])
    oof[~tr] = conf(w, X[~tr])
    answer_oof[~tr] = oof[~tr] >= t
    print('fold %d: threshold %.3f -> held-out precision %.4f, answerable answered %.4f, '
          'unanswerable abstained %.4f' % (f, t, *outcome(oof[~tr], A[~tr], Y[~tr], t)))


def decided(sel):
    ans = answer_oof[sel]
    a, y = A[sel], Y[sel]
    given = ans.sum()
    return ((ans & (y > 0)).sum() / max(1, given), (ans & (a > 0)).sum() / max(1, (a > 0).sum()),
            1 - (ans & (a == 0)).sum() / max(1, (a == 0).sum()))


per = np.array([decided(DRAW == k) for k in range(len(args))])
for k in range(len(args)):
    print('  draw %s: precision %.4f, answered %.4f, abstained %.4f' % (args[k], *per[k]))
print('CV pooled: precision %.4f, answerable answered %.4f, unanswerable abstained %.4f'
      % decided(np.ones(len(Y), bool)))
print('CV over draws: median precision %.4f, answered %.4f, abstained %.4f; min %.4f %.4f %.4f'
      % (*np.median(per, axis=0), *per.min(axis=0)))
print('reliability of the out-of-fold confidence (label: answering is right):')
for lo in np.arange(0, 1, 0.1):
    m = (oof >= lo) & (oof < lo + 0.1 if lo < 0.85 else oof <= 1)
    if m.sum():
        print('  [%.1f, %.1f): n %5d, mean confidence %.3f, observed %.3f'
              % (lo, lo + 0.1, m.sum(), oof[m].mean(), Y[m].mean()))
print('  Brier score %.4f' % np.mean((oof - Y) ** 2))
w = fit(X, Y)
t = choose(conf(w, X), A, Y)
print('threshold %.3f; on all train: precision %.4f, answered %.4f, abstained %.4f'
      % (t, *outcome(conf(w, X), A, Y, t)))
print('static const double coef[1 + N_FEAT] = {')
vals = ['%.4f' % v for v in w]
for i in range(0, len(vals), 10):
    print('    ' + ', '.join(vals[i:i + 10]) + ',')
print('};')
