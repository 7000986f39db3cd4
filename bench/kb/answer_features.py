#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the confidence features of the bot's answer path on StackFAQ train queries, for
bench/kb/calibrate.py, against KBs missing 20 % of the threads (bench/kb/make_kbs.py).

mode plain:   `eval answer --kb kb_sS.jsonl --queries train --features ...` for every seed S.
mode learned: for every seed S and fold F (sha256 of the query id), the queries outside F are
              learned phrasings (`--learn-queries`) and only fold F is answered.

usage: bench/kb/answer_features.py TOOL KBDIR OUTDIR plain|learned
"""
import hashlib, json, os, subprocess, sys

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
tool, kbdir, out, mode = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
queries = [json.loads(l) for l in open(os.path.join(D, 'queries.jsonl'))]
fold = lambda q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5
qrels = os.path.join(D, 'qrels.tsv')
seeds = sorted(f for f in os.listdir(kbdir) if f.startswith('kb_s') and f.endswith('.jsonl'))
for kb in seeds:
    s = kb[4:-6]
    if mode == 'plain':
        subprocess.run([tool, 'eval', 'answer', '--kb', os.path.join(kbdir, kb), '--queries',
                        os.path.join(D, 'queries.jsonl'), '--qrels', qrels, '--json',
                        '--features', os.path.join(out, f'plain_s{s}.tsv')], check=True,
                       capture_output=True)
        continue
    for f in range(5):
        lq, qf = os.path.join(out, f'learn{f}.jsonl'), os.path.join(out, f'q{f}.jsonl')
        with open(lq, 'w') as a, open(qf, 'w') as b:
            for q in queries:
                (a if fold(q['id']) != f else b).write(json.dumps(q) + '\n')
        subprocess.run([tool, 'eval', 'answer', '--kb', os.path.join(kbdir, kb), '--queries', qf,
                        '--qrels', qrels, '--json', '--learn-queries', lq, '--learn-qrels', qrels,
                        '--features', os.path.join(out, f'learned_s{s}_f{f}.tsv')], check=True,
                       capture_output=True)
