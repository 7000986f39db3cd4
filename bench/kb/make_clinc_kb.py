#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A second, customer-service-shaped calibration set for the KB: CLINC150 intents as FAQ entries.

StackFAQ's queries are long paraphrases of web-app questions; customers write short ones about a
shop or a bank. CLINC150 (../shared/bench/data/clinc150, train + validation only; its test split
is never used) has 150 intents of short requests and out-of-scope requests. Each intent becomes one
FAQ entry whose question and two extra phrasings are the intent's first three *train* examples
(an FAQ as a business writes it: a few wordings, no answers mined from the queries); the
*validation* requests are the queries. KB s (0..N-1) leaves out 20 % of the intents (ordered by
sha256(f"{s}:{intent}")): their requests, and the out-of-scope ones, are unanswerable.

Writes OUT/clinc_full.jsonl, OUT/clinc_s{s}.jsonl, OUT/clinc_queries.jsonl, OUT/clinc_qrels.tsv.
usage: bench/kb/make_clinc_kb.py OUTDIR [N=5]
"""
import hashlib, json, os, sys

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/clinc150')
out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
os.makedirs(out, exist_ok=True)


def rows(name):
    with open(os.path.join(D, name)) as f:
        next(f)
        for line in f:
            t, lab = line.rstrip('\n').split('\t', 1)
            yield t, lab


ex = {}
for t, lab in rows('train.tsv'):
    if lab != 'oos':
        ex.setdefault(lab, []).append(t)
intents = sorted(ex)


def entry(lab):
    e = ex[lab]
    return {'id': 'clinc-' + lab, 'question': e[0], 'questions': e[1:3],
            'answer': 'About %s.' % lab.replace('_', ' ')}


def write(path, keep):
    with open(path, 'w') as f:
        for lab in intents:
            if lab in keep:
                f.write(json.dumps(entry(lab)) + '\n')


write(os.path.join(out, 'clinc_full.jsonl'), set(intents))
for s in range(n):
    order = sorted(intents, key=lambda t: hashlib.sha256(f'{s}:{t}'.encode()).hexdigest())
    write(os.path.join(out, f'clinc_s{s}.jsonl'), set(order[round(len(intents) * 0.2):]))
with open(os.path.join(out, 'clinc_queries.jsonl'), 'w') as q, \
        open(os.path.join(out, 'clinc_qrels.tsv'), 'w') as r:
    r.write('query_id\tdoc_id\trelevance\n')
    for i, (t, lab) in enumerate(rows('val.tsv')):
        qid = 'cv%04d' % i
        q.write(json.dumps({'id': qid, 'text': t}) + '\n')
        if lab != 'oos':
            r.write(f'{qid}\tclinc-{lab}\t1\n')
print(f'{len(intents)} intents; KBs in {out}')
