#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Builds StackFAQ knowledge bases that miss ~20 % of the threads, to practise abstention.

For seed s (0..N-1) the 125 threads are ordered by sha256(f"{s}:{thread}") and the first 25 are
left out of faq.jsonl. Only the corpus is subset; queries are the developer-visible train
queries. Writes OUT/kb_s{s}.jsonl.

usage: bench/kb/make_kbs.py OUTDIR [N=5]
"""
import hashlib, json, os, sys

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
os.makedirs(out, exist_ok=True)
docs = [json.loads(l) for l in open(os.path.join(D, 'faq.jsonl'))]
threads = sorted({d['thread'] for d in docs})
for s in range(n):
    order = sorted(threads, key=lambda t: hashlib.sha256(f'{s}:{t}'.encode()).hexdigest())
    left = set(order[:round(len(threads) * 0.2)])
    with open(os.path.join(out, f'kb_s{s}.jsonl'), 'w') as f:
        for d in docs:
            if d['thread'] not in left:
                f.write(json.dumps({'id': d['id'], 'question': d['question'],
                                    'answer': d['answer']}) + '\n')
    print(f'kb_s{s}.jsonl: {len(threads) - len(left)} threads kept, {len(left)} left out')
