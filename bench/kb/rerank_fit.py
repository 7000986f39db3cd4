#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fits the KB reranker (src/kb/rerank.c): a linear model over the candidate features that
`eval retrieval --rank-features OUT.tsv` writes (query, doc, relevant, features in enum order),
by pairwise logistic regression (every relevant candidate against every non-relevant one of
the same query, L2-regularised, Newton steps). Cross-validation: 5 folds by sha256 of the query
id (as tune.py); per fold the model is fitted on four folds and the held fold is reranked.
Prints the CV NDCG@10 / MRR@10 of the first stage and of the reranker, then the weights
fitted on all train queries (what rerank.c uses). Needs numpy (Debian python3-numpy).

Several collections can be pooled (each query keeps its own fold); figures are printed per
collection and pooled.

usage: bench/kb/rerank_fit.py FEATURES.tsv:QRELS.tsv [FEATURES2.tsv:QRELS2.tsv ...]
       (SB_RR_L2 sets the regularisation, default 1e-3)
"""
import hashlib, math, os, sys
import numpy as np

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
L2 = float(os.environ.get('SB_RR_L2', '1e-3'))
NAMES = ['base', 'title', 'body', 'extra', 'cov', 'covt', 'covg', 'gbody', 'lfc', 'lrc', 'lbg',
         'llen', 'rank']

nrel, Q, SET = {}, {}, {}
for k, arg in enumerate(sys.argv[1:]):
    path, qrels = arg.split(':')
    with open(qrels) as f:
        next(f)
        for line in f:
            q, d, r = line.rstrip('\n').split('\t')
            if int(r) > 0:
                nrel[f'{k}/{q}'] = nrel.get(f'{k}/{q}', 0) + 1
    for line in open(path):
        c = line.rstrip('\n').split('\t')
        q = f'{k}/{c[0]}'
        SET[q] = k
        Q.setdefault(q, []).append((c[1], int(c[2]), [float(v) for v in c[3:]]))
qids = sorted(Q)
NSETS = len(sys.argv) - 1
fold = {q.split('/', 1)[1]: int(hashlib.sha256(q.split('/', 1)[1].encode()).hexdigest(), 16) % 5 for q in qids}


def pairs(qs):
    global WQ
    WQ = []
    X = []
    for q in qs:
        rel = [np.array(x) for _, r, x in Q[q] if r]
        non = [np.array(x) for _, r, x in Q[q] if not r]
        # each query weighs the same whatever its number of pairs
        wq = 1.0 / max(1, len(rel) * len(non))
        for a in rel:
            for b in non:
                X.append((a - b) * 1.0)
                WQ.append(wq)
    return np.array(X)


def fit(qs, l2=L2):
    X = pairs(qs)
    sw = np.array(WQ)
    w = np.zeros(X.shape[1])
    n = sw.sum()
    for _ in range(50):
        z = X @ w
        p = 1 / (1 + np.exp(-z))
        g = -X.T @ (sw * (1 - p)) / n + l2 * w
        H = (X * (sw * p * (1 - p))[:, None]).T @ X / n + l2 * np.eye(len(w))
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def metrics(qs, score):
    nd = mr = s1 = 0
    for q in qs:
        c = sorted(Q[q], key=lambda t: -score(t[2]))
        dcg = sum(1 / math.log2(i + 2) for i, t in enumerate(c[:10]) if t[1])
        idcg = sum(1 / math.log2(i + 2) for i in range(min(10, nrel.get(q, 1))))
        rr = next((1 / (i + 1) for i, t in enumerate(c[:10]) if t[1]), 0)
        nd += dcg / idcg
        mr += rr
        s1 += c[0][1] if c else 0
    # queries without any candidate count as zeros
    return nd / len(qs), mr / len(qs), s1 / len(qs)


base = lambda x: -x[12]  # first-stage order
res = {k: ([], []) for k in range(NSETS)}
for f in range(5):
    tr = [q for q in qids if fold[q.split('/', 1)[1]] != f]
    w = fit(tr)
    for k in range(NSETS):
        te = [q for q in qids if fold[q.split('/', 1)[1]] == f and SET[q] == k]
        res[k][0].append(metrics(te, base))
        res[k][1].append(metrics(te, lambda x, w=w: float(np.dot(w, x))))
for k in range(NSETS):
    mb = [sum(c[i] for c in res[k][0]) / 5 for i in range(3)]
    mr = [sum(c[i] for c in res[k][1]) / 5 for i in range(3)]
    print('%s\n  CV first stage: NDCG@10 %.4f MRR@10 %.4f success@1 %.4f' % ((sys.argv[1 + k],) + tuple(mb)))
    print('  CV reranked:    NDCG@10 %.4f MRR@10 %.4f success@1 %.4f' % tuple(mr))
w = fit(qids)
print('weights (%s):' % ', '.join(NAMES))
print('{' + ', '.join('%.4f' % v for v in w) + '}')
