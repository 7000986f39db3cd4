#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Synthetic 10,000-entry FAQ knowledge base for the latency benchmark, made from StackFAQ.

Copy 0 is faq.jsonl unchanged; copies 1..13 of every entry are perturbed with a fixed seed so
that the index has realistic posting-list lengths and a larger vocabulary: ~20 % of the words of
question and answer are dropped, ~10 % are replaced by a word drawn from another random entry,
and every copy gets its own id (tNNN_aMM_cK) and its own thread so it forms its own group.
719 x 14 = 10,066 entries.

usage: bench/kb/make_10k.py OUT.jsonl
"""
import json, os, random, sys

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
docs = [json.loads(l) for l in open(os.path.join(D, 'faq.jsonl'))]
rng = random.Random(42)
pool = [w for d in docs for w in (d['question'] + ' ' + d['answer']).split()]

def perturb(text):
    out = []
    for w in text.split():
        r = rng.random()
        if r < 0.2:
            continue
        out.append(rng.choice(pool) if r < 0.3 else w)
    return ' '.join(out) or text

with open(sys.argv[1], 'w') as f:
    for c in range(14):
        for d in docs:
            if c == 0:
                o = {'id': d['id'], 'question': d['question'], 'answer': d['answer']}
            else:
                o = {'id': f"{d['id']}_c{c}", 'question': perturb(d['question']),
                     'answer': perturb(d['answer'])}
            f.write(json.dumps(o) + '\n')
