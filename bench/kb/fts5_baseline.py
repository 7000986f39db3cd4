#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The SQLite FTS5 alternative, measured the same way as our own index (StackFAQ train queries).

FTS5 table (question, answer) with the porter tokenizer (unicode61 underneath) and English stop
words removed from the query; the query is an OR of its words; ranking bm25(question weight,
answer weight). Question weights 1..8 are tried and all are printed (no CV needed to see the
ceiling). Latency: the same queries against a given larger corpus (e.g. make_10k.py output),
timed around the SQL call only.

usage: bench/kb/fts5_baseline.py [BIG.jsonl]
"""
import json, math, os, re, sqlite3, sys, time

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
STOP = set('''a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not of off on once only or other our ours ourselves out over own same
she should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves'''.split())

def load(path):
    return [json.loads(l) for l in open(path)]

def build(docs):
    db = sqlite3.connect(':memory:')
    db.execute("CREATE VIRTUAL TABLE f USING fts5(id UNINDEXED, question, answer, "
               "tokenize='porter unicode61')")
    db.executemany('INSERT INTO f VALUES (?,?,?)',
                   [(d['id'], d['question'], d['answer']) for d in docs])
    return db

def fts_query(text):
    words = [w for w in re.findall(r'\w+', text.lower()) if w not in STOP]
    return ' OR '.join('"%s"' % w for w in words)

def run(db, queries, wq, timing=None):
    out = {}
    for q in queries:
        m = fts_query(q['text'])
        if not m:
            out[q['id']] = []
            continue
        t0 = time.perf_counter()
        rows = db.execute('SELECT id FROM f WHERE f MATCH ? ORDER BY bm25(f, 0, ?, 1) LIMIT 10',
                          (m, wq)).fetchall()
        if timing is not None:
            timing.append((time.perf_counter() - t0) * 1000)
        out[q['id']] = [r[0] for r in rows]
    return out

rel = {}
for line in list(open(os.path.join(D, 'qrels.tsv')))[1:]:
    q, d, r = line.rstrip('\n').split('\t')
    rel.setdefault(q, set()).add(d)
queries = [q for q in load(os.path.join(D, 'queries.jsonl')) if q['id'] in rel]
db = build(load(os.path.join(D, 'faq.jsonl')))
for wq in (1, 2, 3, 4, 6, 8):
    res = run(db, queries, wq)
    nd = mr = 0
    for q in queries:
        r = rel[q['id']]
        rk = res[q['id']]
        nd += sum(1 / math.log2(i + 2) for i, d in enumerate(rk) if d in r) / \
            sum(1 / math.log2(i + 2) for i in range(min(10, len(r))))
        mr += next((1 / (i + 1) for i, d in enumerate(rk) if d in r), 0)
    print('FTS5 question weight %g: NDCG@10 %.4f MRR@10 %.4f' % (wq, nd / len(queries),
                                                                mr / len(queries)))
if len(sys.argv) > 1:
    big = build(load(sys.argv[1]))
    t = []
    for _ in range(3):
        run(big, queries, 4, t)
    t.sort()
    print('FTS5 latency on %s: mean %.3f ms, p50 %.3f ms, p99 %.3f ms' %
          (sys.argv[1], sum(t) / len(t), t[len(t) // 2], t[int((len(t) - 1) * 0.99)]))
