#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Experiments of session 5 on StackFAQ *train* queries (docs/kb.md, "Session 5"); none of these
is shipped, they are kept to reproduce the figures. Folds as tune.py: 5 by sha256 of the query id,
every weight chosen on the four other folds.

  fuse RF.tsv [K...]       LSA of the KB (truncated SVD of the log-tf x idf term-entry matrix of
                           question + answer), query folded in (idf-weighted sum of term vectors),
                           cosine to the entry (or its thread's best) added with weight w to the
                           first-stage score of the 30 candidates
  conf KBDIR K             the same LSA built per KB draw (KBDIR/kb_sS.jsonl), cosine of the question
                           to the cited top entry and its gap to the other cited groups as two extra
                           confidence features next to the 17 of F_sS.tsv (KBDIR/F_sS.tsv,
                           KBDIR/AP_sS.jsonl from `eval answer --features/--predictions`); logistic
                           fit + threshold (precision >= 0.95, abstained >= 0.90) on 4 folds,
                           pooled held-out figures, no guard
  cdiv RF.tsv              conditional diversification: the best entries of the next groups whose
                           score is at least tau x the top group's move to position 2
  top2 RF.tsv              a group's score + lambda x its second-best entry / + lambda log(size)
  neighbours lsa|ppmi|aik K OUT.tsv
                           word neighbours for query expansion (stem, neighbour, cosine), from the
                           KB (LSA term vectors, or PPMI of +-5-word co-occurrence, SVD) or from the
                           Aiksaurus thesaurus (Debian libaiksaurus-1.2-data; cosine of shared
                           meanings); measured through a throwaway patch of build_query (not kept)

Inputs as rank_experiments.py: RF.tsv from `kb_cli eval retrieval ... --rank-features RF.tsv`,
FAQ.tok / Q.tok from bench/kb/kb_tokens.c, in the working directory. Needs python3-numpy.

usage: bench/kb/session5_experiments.py MODE ARGS...
"""
import collections, hashlib, json, math, os, struct, subprocess, sys
import numpy as np

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
REL = collections.defaultdict(set)
with open(os.path.join(D, 'qrels.tsv')) as f:
    next(f)
    for line in f:
        q, d, r = line.rstrip('\n').split('\t')
        if int(r) > 0:
            REL[q].add(d)
FAQ = collections.defaultdict(dict)
for line in open('FAQ.tok'):
    i, field, t = line.rstrip('\n').split('\t')
    FAQ[i][field] = t.split()
QT = {}
for line in open('Q.tok'):
    i, _, t = line.rstrip('\n').split('\t')
    QT[i] = t.split()


def fold(q):
    return int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5


def thread(d):
    return d.split('_')[0]


def metrics(order, q):
    r = REL[q]
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(order[:10]) if d in r)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(10, len(r))))
    rr = next((1 / (i + 1) for i, d in enumerate(order[:10]) if d in r), 0)
    return dcg / idcg, rr, float(order[0] in r)


def load_rf(path):
    C = {}
    for line in open(path):
        c = line.rstrip('\n').split('\t')
        C.setdefault(c[0], []).append((c[1], int(c[2]), [float(x) for x in c[3:]]))
    return C


def lsa(docs, k):
    """Term vectors, idf and unit entry vectors of the KB made of `docs`."""
    df = collections.Counter()
    for d in docs:
        df.update(set(FAQ[d].get('question', []) + FAQ[d].get('answer', [])))
    vocab = {t: i for i, t in enumerate(df)}
    n = len(docs)
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    A = np.zeros((len(vocab), n))
    for j, d in enumerate(docs):
        tf = collections.Counter(FAQ[d].get('question', []) + FAQ[d].get('answer', []))
        for t, c in tf.items():
            A[vocab[t], j] = (1 + math.log(c)) * idf[t]
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    Dv = Vt[:k].T * S[:k]
    Dv /= np.linalg.norm(Dv, axis=1, keepdims=True) + 1e-12
    return vocab, idf, U[:, :k], Dv


def qvec(model, q):
    vocab, idf, Uk, _ = model
    v = np.zeros(Uk.shape[1])
    for t in set(QT[q]):
        if t in vocab:
            v += idf[t] * Uk[vocab[t]]
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def cv_choose(grid, score, qids):
    """Per fold, the grid point best on the other folds (mean of NDCG and MRR), held-out mean."""
    out = []
    for f in range(5):
        tr = [q for q in qids if fold(q) != f]
        he = [q for q in qids if fold(q) == f]
        best = max(grid, key=lambda g: sum(np.mean([score(g, q) for q in tr], axis=0)[:2]))
        out.append(np.mean([score(best, q) for q in he], axis=0))
        print('  fold %d chose %s' % (f, best))
    return np.mean(out, axis=0)


def mode_fuse(rf, ks):
    C = load_rf(rf)
    qids = sorted(q for q in C if q in REL)
    docs = sorted(FAQ)
    di = {d: i for i, d in enumerate(docs)}
    for k in ks:
        m = lsa(docs, k)
        cos = {q: m[3] @ qvec(m, q) for q in qids}
        for group in (True, False):
            def score(w, q):
                cand = C[q]
                cs = cos[q]
                g = {}
                for d, _, _ in cand:
                    g[thread(d)] = max(g.get(thread(d), -9), cs[di[d]])
                s = [c[2][0] + w * (g[thread(c[0])] if group else cs[di[c[0]]]) for c in cand]
                order = [cand[i][0] for i in sorted(range(len(s)), key=lambda i: -s[i])]
                return metrics(order, q)
            r = cv_choose([0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6], score, qids)
            print('k=%d %s: CV NDCG@10 %.4f MRR@10 %.4f success@1 %.4f' %
                  ((k, 'thread best' if group else 'entry') + tuple(r)))


def logistic(X, y, l2=1e-3):
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    reg = l2 * len(X) * np.r_[np.ones(len(w) - 1), 0]
    for _ in range(25):
        p = 1 / (1 + np.exp(-Xb @ w))
        g = Xb.T @ (p - y) + reg * w
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + np.diag(reg)
        w -= np.linalg.solve(H, g)
    return w


def mode_conf(kbdir, k):
    X, Y, ANS, QID = [], [], [], []
    for s in range(10):
        docs = [json.loads(l)['id'] for l in open(os.path.join(kbdir, 'kb_s%d.jsonl' % s))]
        di = {d: i for i, d in enumerate(docs)}
        m = lsa(docs, k)
        cites = {}
        for l in open(os.path.join(kbdir, 'AP_s%d.jsonl' % s)):
            j = json.loads(l)
            cites[j['query_id']] = j['citations']
        for l in open(os.path.join(kbdir, 'F_s%d.tsv' % s)):
            c = l.rstrip('\n').split('\t')
            q = c[0]
            v = qvec(m, q)
            cs = [float(m[3][di[d]] @ v) for d in cites.get(q, []) if d in di]
            top = cs[0] if cs else 0
            other = max(cs[1:]) if len(cs) > 1 else 0
            X.append([float(x) for x in c[3:20]] + [top, top - other])
            Y.append(int(c[2]))
            ANS.append(int(c[1]))
            QID.append(q)
    X, Y, ANS = np.array(X), np.array(Y), np.array(ANS)
    F = np.array([fold(q) for q in QID])

    def stats(conf, th, y, a):
        ans = conf >= th
        corr = (ans & (y == 1)).sum()
        return (corr / max(1, ans.sum()), corr / a.sum(),
                1 - (ans & (a == 0)).sum() / (a == 0).sum())

    def pick(conf, y, a):
        for th in np.arange(0.3, 1.0, 0.005):
            p, _, ab = stats(conf, th, y, a)
            if p >= 0.95 and ab >= 0.90:
                return th
        return 1.0
    for name, cols in (('17 features', list(range(17))), ('+ lsa, lsa_gap', list(range(19)))):
        oof = np.zeros(len(Y))
        dec = np.zeros(len(Y), bool)
        for f in range(5):
            tr, he = F != f, F == f
            w = logistic(X[tr][:, cols], Y[tr])
            conf_tr = 1 / (1 + np.exp(-(np.hstack([X[tr][:, cols], np.ones((tr.sum(), 1))]) @ w)))
            th = pick(conf_tr, Y[tr], ANS[tr])
            oof[he] = 1 / (1 + np.exp(-(np.hstack([X[he][:, cols], np.ones((he.sum(), 1))]) @ w)))
            dec[he] = oof[he] >= th
        corr = (dec & (Y == 1)).sum()
        matched = max([stats(oof, th, Y, ANS)[1] for th in np.arange(0.3, 1.0, 0.005)
                       if stats(oof, th, Y, ANS)[0] >= 0.95 and stats(oof, th, Y, ANS)[2] >= 0.9]
                      or [0])
        print('k=%d %s: CV precision %.3f answered %.3f abstained %.3f; matched-precision '
              'answered %.3f' % (k, name, corr / dec.sum(), corr / ANS.sum(),
                                 1 - (dec & (ANS == 0)).sum() / (ANS == 0).sum(), matched))


def mode_cdiv(rf):
    C = load_rf(rf)
    qids = sorted(q for q in C if q in REL)

    def score(g, q):
        tau, k = g
        cand = sorted(C[q], key=lambda c: -c[2][0])
        groups, best = [], {}
        for d, _, f in cand:
            if thread(d) not in best:
                best[thread(d)] = (d, f[0])
                groups.append(thread(d))
        order = [d for d, _, _ in cand]
        top = best[groups[0]][1]
        promote = [best[t][0] for t in groups[1:k] if top > 0 and best[t][1] / top >= tau]
        rest = [d for d in order if d not in promote]
        return metrics(rest[:1] + promote + rest[1:], q)
    grid = [(tau, k) for tau in (0.7, 0.8, 0.85, 0.9, 0.95, 1.01) for k in (2, 3)]
    print('CV NDCG@10 %.4f MRR@10 %.4f success@1 %.4f' % tuple(cv_choose(grid, score, qids)))


def mode_top2(rf):
    C = load_rf(rf)
    qids = sorted(q for q in C if q in REL)
    for kind, grid in (('second', [0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]),
                       ('logsize', [0, 0.005, 0.01, 0.02, 0.04])):
        def score(lam, q):
            cand = C[q]
            g = collections.defaultdict(list)
            for d, _, f in cand:
                g[thread(d)].append(f[0])
            g = {t: sorted(v, reverse=True) for t, v in g.items()}
            if kind == 'second':
                s = [f[0] + lam * (g[thread(d)][1] if len(g[thread(d)]) > 1 else 0)
                     for d, _, f in cand]
            else:
                s = [f[0] + lam * math.log(len(g[thread(d)])) for d, _, f in cand]
            order = [cand[i][0] for i in sorted(range(len(s)), key=lambda i: -s[i])]
            return metrics(order, q)
        print('%s: CV NDCG@10 %.4f MRR@10 %.4f success@1 %.4f' %
              ((kind,) + tuple(cv_choose(grid, score, qids))))


def aiksaurus():
    """Words and meanings of Debian's Aiksaurus data (words.dat: word NUL, 16-bit big-endian
    meaning ids up to 0xFFFF; meanings.dat: two title word ids, member word ids up to 0xFFFF)."""
    W = open('/usr/share/aiksaurus/words.dat', 'rb').read()
    M = open('/usr/share/aiksaurus/meanings.dat', 'rb').read()
    words, links, i = [], [], 0
    while i < len(W):
        j = W.index(b'\0', i)
        words.append(W[i:j].decode('latin1').replace(':', ' '))
        i, ls = j + 1, []
        while True:
            v = struct.unpack('>H', W[i:i + 2])[0]
            i += 2
            if v == 0xFFFF:
                break
            ls.append(v)
        links.append(ls)
    return words, links


def mode_neighbours(kind, k, out):
    tok = os.path.join(os.path.dirname(__file__), 'kb_tokens')
    if kind == 'aik':
        words, links = aiksaurus()
        single = [i for i, w in enumerate(words) if ' ' not in w and w.isalpha()]
        inp = ''.join(json.dumps({'id': str(i), 'text': words[i].lower()}) + '\n' for i in single)
        res = subprocess.run([os.environ.get('KB_TOKENS', tok), 'text'], input=inp.encode(),
                             capture_output=True, check=True).stdout.decode()
        sm = collections.defaultdict(set)
        for l in res.splitlines():
            i, _, t = l.split('\t')
            if t and ' ' not in t:
                sm[t].update(links[int(i)])
        ms = collections.defaultdict(set)
        for s, m in sm.items():
            for x in m:
                ms[x].add(s)
        with open(out, 'w') as f:
            for s, m in sm.items():
                sc = collections.Counter(t for x in m for t in ms[x] if t != s)
                best = sorted(((c / math.sqrt(len(m) * len(sm[t])), t) for t, c in sc.items()),
                              reverse=True)[:40]
                f.writelines('%s\t%s\t%.4f\n' % (s, t, c) for c, t in best)
        return
    docs = sorted(FAQ)
    df = collections.Counter()
    for d in docs:
        df.update(set(FAQ[d].get('question', []) + FAQ[d].get('answer', [])))
    vocab = {t: i for i, t in enumerate(sorted(t for t, c in df.items() if c >= 2))}
    if kind == 'lsa':
        A = np.zeros((len(vocab), len(docs)))
        for j, d in enumerate(docs):
            tf = collections.Counter(t for t in FAQ[d].get('question', []) +
                                     FAQ[d].get('answer', []) if t in vocab)
            for t, c in tf.items():
                A[vocab[t], j] = (1 + math.log(c)) * math.log(len(docs) / df[t])
        U, S, _ = np.linalg.svd(A, full_matrices=False)
        E = U[:, :k] * S[:k]
    else:
        Cm = np.zeros((len(vocab), len(vocab)))
        for d in docs:
            for field in ('question', 'answer'):
                ids = [vocab.get(t, -1) for t in FAQ[d].get(field, [])]
                for i, a in enumerate(ids):
                    for b in ids[i + 1:i + 6]:
                        if a >= 0 and b >= 0 and a != b:
                            Cm[a, b] += 1
                            Cm[b, a] += 1
        r = Cm.sum(1)
        ctx = r ** 0.75 * r.sum() / (r ** 0.75).sum()
        with np.errstate(divide='ignore'):
            P = np.maximum(np.log(Cm * Cm.sum() / (np.outer(r, ctx) + 1e-9)), 0)
        P[Cm == 0] = 0
        U, S, _ = np.linalg.svd(P)
        E = U[:, :k] * np.sqrt(S[:k])
    E /= np.linalg.norm(E, axis=1, keepdims=True) + 1e-12
    inv = sorted(vocab, key=vocab.get)
    with open(out, 'w') as f:
        for i in range(len(inv)):
            s = E @ E[i]
            s[i] = -1
            for j in np.argsort(-s)[:8]:
                f.write('%s\t%s\t%.4f\n' % (inv[i], inv[j], s[j]))


mode, args = sys.argv[1], sys.argv[2:]
if mode == 'fuse':
    mode_fuse(args[0], [int(x) for x in args[1:]] or [50, 100, 200])
elif mode == 'conf':
    mode_conf(args[0], int(args[1]) if len(args) > 1 else 100)
elif mode == 'cdiv':
    mode_cdiv(args[0])
elif mode == 'top2':
    mode_top2(args[0])
elif mode == 'neighbours':
    mode_neighbours(args[0], int(args[1]), args[2])
else:
    sys.exit(__doc__)
