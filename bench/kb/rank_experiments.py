#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Ranking experiments of session 4 on StackFAQ *train* queries (5-fold CV by sha256 of the query
id, as tune.py), over the 30 first-stage candidates that `eval retrieval --rank-features RF.tsv`
writes. None of them is shipped (docs/kb.md, "Session 4"); kept to reproduce the figures.

  tm [ITERS] [BETA] [q|qa]   first-stage score + w * translation-model score of the candidate's
                             thread (its best member), w chosen on the training folds. The
                             translation table is IBM model 1 (ITERS EM steps from a uniform
                             start, both directions pooled) over the KB's own question/answer
                             pairs; the document is the question (q) or question x3 + answer (qa)
  ql [QW] [MU]               same with a Dirichlet query likelihood of the whole thread
  listwise [tm]              softmax over candidate groups (the relevant group as target) on the
                             13 candidate features (+ 2 tm columns), groups permuted into the
                             first stage's positions
  diverse                    the best entry of each of the first k groups first (MRR ceiling of
                             reordering alone)
  penalty [lin|log|step]     first-stage score minus a penalty on an entry's position in its
                             group (a softer diversification), the penalty chosen by CV
  write-tm OUT.tsv           RF.tsv + tm columns (entry, group best) for rerank_fit.py

Inputs: RF.tsv from `kb_cli eval retrieval ... --rank-features RF.tsv`, and the analyser's terms
from bench/kb/kb_tokens.c: `kb_tokens question answer < faq.jsonl > FAQ.tok`,
`kb_tokens text < queries.jsonl > Q.tok`. Needs Debian python3-numpy.

usage: bench/kb/rank_experiments.py RF.tsv FAQ.tok Q.tok MODE [ARGS]
"""
import collections, hashlib, math, os, sys
import numpy as np

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
rf_path, faq_tok, q_tok, mode = sys.argv[1:5]
args = sys.argv[5:]

REL = collections.defaultdict(set)
with open(os.path.join(D, 'qrels.tsv')) as f:
    next(f)
    for line in f:
        q, d, r = line.rstrip('\n').split('\t')
        if int(r) > 0:
            REL[q].add(d)
FAQ = collections.defaultdict(dict)
for line in open(faq_tok):
    i, field, t = line.rstrip('\n').split('\t')
    FAQ[i][field] = t.split()
QT = {}
for line in open(q_tok):
    i, _, t = line.rstrip('\n').split('\t')
    QT[i] = t.split()
C = {}
for line in open(rf_path):
    c = line.rstrip('\n').split('\t')
    C.setdefault(c[0], []).append((c[1], int(c[2]), [float(x) for x in c[3:]]))
QIDS = sorted(q for q in C if q in REL)
FOLD = {q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5 for q in QIDS}
CF = collections.Counter()
for e in FAQ.values():
    CF.update(e.get('question', []) + e.get('answer', []))
TOT = sum(CF.values())


def thread(d):
    return d.split('_')[0]


def metrics(order, q):
    r = REL[q]
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(order[:10]) if d in r)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(10, len(r))))
    rr = next((1 / (i + 1) for i, d in enumerate(order[:10]) if d in r), 0)
    return dcg / idcg, rr, float(bool(order) and order[0] in r)


def report(name, res):
    print('%s: NDCG@10 %.4f MRR@10 %.4f success@1 %.4f' % ((name,) + tuple(np.mean(res, axis=0))))


def ibm1(iters):
    pairs = []
    for e in FAQ.values():
        q, a = e.get('question', []), e.get('answer', [])
        if q and a:
            pairs += [(a, q), (q, a)]
    T = collections.defaultdict(dict)
    for s, t in pairs:
        for w in set(t):
            for v in set(s):
                T[w][v] = 1.0
    for _ in range(iters):
        cnt = collections.defaultdict(lambda: collections.defaultdict(float))
        tot = collections.defaultdict(float)
        for s, t in pairs:
            for w in t:
                Tw = T[w]
                z = sum(Tw.get(v, 0) for v in s) or 1
                for v in s:
                    x = Tw.get(v, 0) / z
                    if x:
                        cnt[v][w] += x
                        tot[v] += x
        T = collections.defaultdict(dict)
        for v, ws in cnt.items():
            for w, x in ws.items():
                T[w][v] = x / tot[v]
    return T


def tm_feature(iters=1, beta=0.8, doc='q', lam=0.2):
    """Per query: per candidate (translation LM score - best of the query) / query length."""
    T = ibm1(iters)

    def score(qterms, d):
        e = FAQ[d]
        toks = e.get('question', []) * 3 + e.get('answer', []) if doc == 'qa' else e.get('question', [])
        n = len(toks) or 1
        tf = collections.Counter(toks)
        s = 0
        for q in qterms:
            tr = sum(T.get(q, {}).get(v, 0) * c / n for v, c in tf.items())
            pc = (CF.get(q, 0) + 0.5) / (TOT + 1)
            s += math.log((1 - lam) * ((1 - beta) * tf.get(q, 0) / n + beta * tr) + lam * pc)
        return s
    F = {}
    for q in QIDS:
        sc = [score(QT[q], d) for d, _, _ in C[q]]
        m = max(sc)
        F[q] = [(x - m) / max(1, len(QT[q])) for x in sc]
    return F


def group_best(q, f):
    g = {}
    for (d, _, _), v in zip(C[q], f):
        g[thread(d)] = max(g.get(thread(d), -1e9), v)
    return [g[thread(d)] for d, _, _ in C[q]]


def mix_cv(F, ws=(0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)):
    def run(w, qs):
        out = []
        for q in qs:
            g = group_best(q, F[q])
            s = [c[2][0] + w * g[i] for i, c in enumerate(C[q])]
            order = [C[q][i][0] for i in sorted(range(len(s)), key=lambda i: -s[i])]
            out.append(metrics(order, q))
        return out
    for w in ws:
        report('w=%g (in-sample)' % w, run(w, QIDS))
    cv = []
    for f in range(5):
        tr = [q for q in QIDS if FOLD[q] != f]
        he = [q for q in QIDS if FOLD[q] == f]
        best = max(ws, key=lambda w: sum(np.mean(run(w, tr), axis=0)[:2]))
        cv += run(best, he)
    report('5-fold CV', cv)


def listwise(extra):
    G = {}
    for q in QIDS:
        groups = collections.OrderedDict()
        for i, (d, r, x) in enumerate(C[q]):
            x = x + [extra[q][0][i], extra[q][1][i]] if extra else x
            if thread(d) not in groups:
                groups[thread(d)] = [x, r, [d]]
            else:
                groups[thread(d)][2].append(d)
                groups[thread(d)][1] |= r
        G[q] = (np.array([v[0] for v in groups.values()]),
                np.array([v[1] for v in groups.values()], float), [v[2] for v in groups.values()])
    nf = next(iter(G.values()))[0].shape[1]

    def fit(qs, l2=1e-3):
        w = np.zeros(nf)
        data = [G[q] for q in qs if G[q][1].sum() > 0]
        for _ in range(50):
            g, H = np.zeros(nf), np.zeros((nf, nf))
            for X, y, _ in data:
                s = X @ w
                p = np.exp(s - s.max())
                p /= p.sum()
                g += X.T @ (p - y / y.sum())
                m = p @ X
                H += (X * p[:, None]).T @ X - np.outer(m, m)
            g += l2 * len(data) * w
            H += l2 * len(data) * np.eye(nf)
            st = np.linalg.solve(H, g)
            w -= st
            if np.abs(st).max() < 1e-8:
                break
        return w

    def run(w, qs):
        out = []
        for q in qs:
            X, _, docs = G[q]
            new = list(np.argsort(-(X @ w), kind='stable'))
            gof = {d: gi for gi, ds in enumerate(docs) for d in ds}
            pos, order = collections.defaultdict(int), []
            for d, _, _ in C[q]:  # the first stage's group positions, groups permuted
                ng = new[gof[d]]
                if pos[ng] < len(docs[ng]):
                    order.append(docs[ng][pos[ng]])
                pos[ng] += 1
            order += [d for ds in docs for d in ds if d not in order]
            out.append(metrics(order, q))
        return out
    cv = []
    for f in range(5):
        cv += run(fit([q for q in QIDS if FOLD[q] != f]), [q for q in QIDS if FOLD[q] == f])
    report('listwise, 5-fold CV', cv)


if mode == 'tm':
    it = int(args[0]) if args else 1
    beta = float(args[1]) if len(args) > 1 else 0.8
    doc = args[2] if len(args) > 2 else 'q'
    report('first stage', [metrics([d for d, _, _ in C[q]], q) for q in QIDS])
    mix_cv(tm_feature(it, beta, doc))
elif mode == 'ql':
    qw = int(args[0]) if args else 3
    mu = float(args[1]) if len(args) > 1 else 200
    th = collections.defaultdict(list)
    for i in FAQ:
        th[thread(i)].append(i)
    GT = {}
    for t, ids in th.items():
        toks = FAQ[ids[0]].get('question', []) * qw
        for i in ids:
            toks += FAQ[i].get('answer', [])
        GT[t] = (collections.Counter(toks), len(toks))
    F = {}
    for q in QIDS:
        sc = []
        for d, _, _ in C[q]:
            tf, n = GT[thread(d)]
            sc.append(sum(math.log((tf.get(w, 0) + mu * (CF.get(w, 0) + 0.5) / (TOT + 1)) / (n + mu))
                          for w in QT[q]))
        F[q] = [(x - max(sc)) / max(1, len(QT[q])) for x in sc]
    mix_cv(F, (0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0))
elif mode == 'listwise':
    extra = None
    if args and args[0] == 'tm':
        F = tm_feature(int(args[1]) if len(args) > 1 else 1)
        extra = {q: (F[q], group_best(q, F[q])) for q in QIDS}
    listwise(extra)
elif mode == 'diverse':
    for k in (0, 2, 3, 5, 10):
        res = []
        for q in QIDS:
            order = [d for d, _, _ in C[q]]
            seen, head = [], []
            for d in order:
                if thread(d) not in seen and len(seen) < k:
                    seen.append(thread(d))
                    head.append(d)
            res.append(metrics(head + [d for d in order if d not in head], q))
        report('group heads first, k=%d' % k, res)
elif mode == 'penalty':
    # first-stage score minus a penalty for an entry's position within its group
    # (lin: delta*k, log: delta*log(1+k), step: delta when k >= 1), delta by CV
    form = args[0] if args else 'step'
    ds = (0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3)

    def run(delta, qs):
        out = []
        for q in qs:
            cnt, sc = collections.Counter(), []
            for d, _, x in C[q]:
                k = cnt[thread(d)]
                cnt[thread(d)] += 1
                pen = delta * k if form == 'lin' else delta * math.log1p(k) if form == 'log' \
                    else (delta if k else 0)
                sc.append((x[0] - pen, d))
            out.append(metrics([d for _, d in sorted(sc, key=lambda t: -t[0])], q))
        return out
    for delta in ds:
        report('%s %g (in-sample)' % (form, delta), run(delta, QIDS))
    cv = []
    for f in range(5):
        tr = [q for q in QIDS if FOLD[q] != f]
        best = max(ds, key=lambda d: sum(np.mean(run(d, tr), axis=0)[:2]))
        cv += run(best, [q for q in QIDS if FOLD[q] == f])
    report('5-fold CV', cv)
elif mode == 'write-tm':
    F = tm_feature(int(args[1]) if len(args) > 1 else 1)
    with open(args[0], 'w') as o:
        for q in QIDS:
            g = group_best(q, F[q])
            for i, (d, r, x) in enumerate(C[q]):
                o.write('\t'.join([q, d, str(r)] + ['%.6f' % v for v in x + [F[q][i], g[i]]]) + '\n')
else:
    sys.exit(__doc__)
