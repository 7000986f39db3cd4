#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the confidence features of the bot's answer path on StackFAQ train queries, for
bench/kb/calibrate.py, against KBs missing 20 % of the threads (bench/kb/make_kbs.py).

mode plain:   `eval answer --kb kb_sS.jsonl --queries train --features ...` for every seed S.
mode learned: for every seed S and fold F (sha256 of the query id), the queries outside F are
              learned phrasings (`--learn-queries`) and only fold F is answered.

Prints the summed `eval answer` counts of the mode and the three rates of the issue.

usage: bench/kb/answer_features.py TOOL KBDIR OUTDIR plain|learned
"""
import hashlib, json, os, subprocess, sys

D = os.path.join(os.path.dirname(__file__), '../../../shared/bench/data/stackfaq')
tool, kbdir, out, mode = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
queries = [json.loads(l) for l in open(os.path.join(D, 'queries.jsonl'))]
fold = lambda q: int(hashlib.sha256(q.encode()).hexdigest(), 16) % 5
qrels = os.path.join(D, 'qrels.tsv')
KEYS = ['answerable', 'answered_correct', 'answered_wrong', 'abstained', 'unanswerable',
        'unanswerable_answered']
tot = {k: 0 for k in KEYS}


def add(m):
    for k in KEYS:
        tot[k] += m[k]


seeds = sorted(f for f in os.listdir(kbdir) if f.startswith('kb_s') and f.endswith('.jsonl'))
for kb in seeds:
    s = kb[4:-6]
    if mode == 'plain':
        r = subprocess.run([tool, 'eval', 'answer', '--kb', os.path.join(kbdir, kb), '--queries',
                            os.path.join(D, 'queries.jsonl'), '--qrels', qrels, '--json',
                            '--features', os.path.join(out, f'plain_s{s}.tsv')], check=True,
                           capture_output=True, text=True)
        add(json.loads(r.stdout))
        continue
    for f in range(5):
        lq, qf = os.path.join(out, f'learn{f}.jsonl'), os.path.join(out, f'q{f}.jsonl')
        with open(lq, 'w') as a, open(qf, 'w') as b:
            for q in queries:
                (a if fold(q['id']) != f else b).write(json.dumps(q) + '\n')
        r = subprocess.run([tool, 'eval', 'answer', '--kb', os.path.join(kbdir, kb), '--queries',
                            qf, '--qrels', qrels, '--json', '--learn-queries', lq, '--learn-qrels',
                            qrels, '--features', os.path.join(out, f'learned_s{s}_f{f}.tsv')],
                           check=True, capture_output=True, text=True)
        add(json.loads(r.stdout))
given = tot['answered_correct'] + tot['answered_wrong'] + tot['unanswerable_answered']
print(json.dumps(tot))
print('%s: precision of given answers %.4f, answerable answered %.4f, unanswerable abstained %.4f'
      % (mode, tot['answered_correct'] / max(1, given),
         (tot['answered_correct'] + tot['answered_wrong']) / max(1, tot['answerable']),
         1 - tot['unanswerable_answered'] / max(1, tot['unanswerable'])))
