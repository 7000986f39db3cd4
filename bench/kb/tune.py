#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-validated choice of the KB ranking parameters on StackFAQ *train* queries only.

The 999 train queries are split into 5 folds (by sha256 of the query id). For every parameter
setting of the grid, `eval retrieval --predictions` ranks all train queries once; per-query
NDCG@10 and MRR@10 are computed here. For each fold the setting that is best on the other four
folds (mean of NDCG@10 and MRR@10) is scored on the held fold: the mean of those is an honest
estimate of what the tuning procedure gives on unseen queries. The setting best on all train
queries is printed last: that is what src/kb/index.c uses as its default.

usage: bench/kb/tune.py TOOL [grid-name]    (TOOL: the switchboard binary)
"""
import hashlib, itertools, json, math, os, subprocess, sys, tempfile

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
tool = sys.argv[1]
grid_name = sys.argv[2] if len(sys.argv) > 2 else 'bm25f'

GRIDS = {
    'bm25f': dict(k1=[0.8, 1.2, 1.6, 2.0], bt=[0.3, 0.6, 0.9], bb=[0.5, 0.75, 0.9],
                  wt=[2, 3, 5, 8], group=[0, 0.5, 1, 2]),
    'bm25f2': dict(k1=[2.0, 3.0, 4.0], bt=[0.9, 1.0], bb=[0.3, 0.5], wt=[4, 5, 6],
                   group=[1, 1.5]),
    'bm25f3': dict(k1=[4.0, 6.0, 8.0, 12.0], bt=[0.8, 0.9], bb=[0.5, 0.7], wt=[3, 4],
                   group=[0.7, 1.0]),
    'prf': dict(prfd=[0, 2, 3, 5], prft=[3, 5, 10], prfw=[0.1, 0.2, 0.4]),
    'wn': dict(wn=[0, 0.1, 0.15, 0.2, 0.3, 0.5]),
    'wnprf': dict(wn=[0.15, 0.2], prfd=[0, 3, 5], prft=[3, 5], prfw=[0.1, 0.2]),
    'wnk': dict(wn=[0.15, 0.2], k1=[3.0, 4.0, 6.0], wt=[3, 4, 5], group=[0.7, 1.0]),
    # session 5: WordNet relations besides synonyms
    'wnrel': dict(wnd=[0, 0.05, 0.1, 0.2], wns=[0, 0.05, 0.1], wng=[0, 0.03, 0.06, 0.1]),
    'wnrel2': dict(wnd=[0, 0.1, 0.2, 0.3, 0.4, 0.6], wns=[0, 0.05], wng=[0, 0.03]),
    'wnc': dict(wnc=[0, 0.05, 0.1, 0.2, 0.3], sjoin=[0, 0.25, 0.5, 1, 1.5]),
    's5b': dict(wnd=[0.3, 0.4, 0.6], wns=[0.05, 0.1], sjoin=[1, 1.5, 2, 3]),
    's5': dict(wnd=[0, 0.2, 0.4], wns=[0, 0.05], sjoin=[0, 0.5, 1, 1.5]),
    # session 7: the sentence encoder's cosine fused with the lexical score (src/kb/dense.c)
    'dense': dict(dense=[0, 1.0, 1.5, 1.75, 1.9, 2.0, 2.25, 2.5, 3.0], dd=[30, 50, 100, 200, 0]),
    # session 8: the same with the KB's encoder map (src/kb/adapt.c)
    'adapt': dict(densea=[1.0, 1.25, 1.5, 1.75, 1.9, 2.25]),
    'dense2': dict(dense=[1.5, 1.9, 2.25], group=[0.5, 1, 1.5], k1=[3.0, 4.0, 6.0],
                   wt=[3, 4, 5]),
}

def qrels():
    rel = {}
    with open(os.path.join(D, 'qrels.tsv')) as f:
        next(f)
        for line in f:
            q, d, r = line.rstrip('\n').split('\t')
            if int(r) > 0:
                rel.setdefault(q, set()).add(d)
    return rel

REL = qrels()
QIDS = sorted(REL)
FOLD = {q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5 for q in QIDS}

def per_query(spec):
    with tempfile.NamedTemporaryFile(suffix='.jsonl', delete=False) as t:
        out = t.name
    subprocess.run([tool, 'eval', 'retrieval', '--corpus', os.path.join(D, 'faq.jsonl'),
                    '--queries', os.path.join(D, 'queries.jsonl'), '--qrels',
                    os.path.join(D, 'qrels.tsv'), '--json', '--predictions', out,
                    '--params', spec], check=True, capture_output=True)
    res = {}
    with open(out) as f:
        for line in f:
            p = json.loads(line)
            rel = REL[p['query_id']]
            dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(p['ranking'][:10]) if d in rel)
            idcg = sum(1 / math.log2(i + 2) for i in range(min(10, len(rel))))
            rr = next((1 / (i + 1) for i, d in enumerate(p['ranking'][:10]) if d in rel), 0)
            res[p['query_id']] = (dcg / idcg, rr)
    os.unlink(out)
    return res

def mean(res, qs, k):
    return sum(res[q][k] for q in qs) / len(qs)

def main():
    base = sys.argv[3] if len(sys.argv) > 3 else ''
    grid = GRIDS[grid_name]
    keys = list(grid)
    runs = {}
    for vals in itertools.product(*(grid[k] for k in keys)):
        spec = ','.join(f'{k}={v}' for k, v in zip(keys, vals))
        if base:
            spec = base + ',' + spec
        runs[spec] = per_query(spec)
    cv_n, cv_m = [], []
    for f in range(5):
        train = [q for q in QIDS if FOLD[q] != f]
        held = [q for q in QIDS if FOLD[q] == f]
        best = max(runs, key=lambda s: mean(runs[s], train, 0) + mean(runs[s], train, 1))
        cv_n.append(mean(runs[best], held, 0))
        cv_m.append(mean(runs[best], held, 1))
        print(f'fold {f}: chose {best}: held-out NDCG@10 {cv_n[-1]:.4f} MRR@10 {cv_m[-1]:.4f}')
    print(f'5-fold CV estimate: NDCG@10 {sum(cv_n)/5:.4f} MRR@10 {sum(cv_m)/5:.4f}')
    best = max(runs, key=lambda s: mean(runs[s], QIDS, 0) + mean(runs[s], QIDS, 1))
    print(f'best on all train: {best}: NDCG@10 {mean(runs[best], QIDS, 0):.4f} '
          f'MRR@10 {mean(runs[best], QIDS, 1):.4f}')

main()
