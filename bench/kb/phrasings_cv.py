#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What learned phrasings are worth: FAQ entries that carry customers' past wordings.

An FAQ entry may hold several question phrasings ("questions" in the JSONL import). In a live
deployment they come from resolved conversations (a customer question the bot or an agent
answered with that entry). Here the StackFAQ *train* queries play that role, measured by 5-fold
cross-validation: for fold f, every entry gets the train queries of the other four folds that are
relevant to it as extra phrasings (`eval retrieval --learn-queries/--learn-qrels`), and only
fold f's queries are ranked. No test query is used.

usage: bench/kb/phrasings_cv.py TOOL
"""
import hashlib, json, os, subprocess, sys, tempfile

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
tool = sys.argv[1]
queries = [json.loads(l) for l in open(os.path.join(D, 'queries.jsonl'))]
rel = {}
for line in list(open(os.path.join(D, 'qrels.tsv')))[1:]:
    q, d, r = line.rstrip('\n').split('\t')
    rel.setdefault(q, []).append(d)
fold = lambda q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5
text = {q['id']: q['text'] for q in queries}
tmp = tempfile.mkdtemp()
keys = ['mrr@10', 'ndcg@10', 'recall@5', 'success@1']
tot = {k: 0.0 for k in keys}
for f in range(5):
    lq = os.path.join(tmp, f'learn{f}.jsonl')
    with open(lq, 'w') as out:
        for q in queries:
            if fold(q['id']) != f:
                out.write(json.dumps(q) + '\n')
    qf = os.path.join(tmp, f'q{f}.jsonl')
    with open(qf, 'w') as out:
        for q in queries:
            if fold(q['id']) == f:
                out.write(json.dumps(q) + '\n')
    kb = os.path.join(D, 'faq.jsonl')
    r = subprocess.run([tool, 'eval', 'retrieval', '--corpus', kb, '--queries', qf, '--qrels',
                        os.path.join(D, 'qrels.tsv'), '--json', '--learn-queries', lq,
                        '--learn-qrels', os.path.join(D, 'qrels.tsv')] + sys.argv[2:],
                       check=True, capture_output=True, text=True)
    m = json.loads(r.stdout)
    print(f'fold {f}: ' + ', '.join(f'{k} {m[k]:.4f}' for k in keys))
    for k in keys:
        tot[k] += m[k] / 5
print('5-fold CV with learned phrasings: ' + ', '.join(f'{k} {tot[k]:.4f}' for k in keys))
