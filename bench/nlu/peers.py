#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The two peers of the NLU benchmark table (TF-IDF + liblinear, fastText), run on the very
# folds bench/nlu/run.sh gives Switchboard: within each label the j-th row of the file goes to
# fold j mod k. The peers' published figures are on the held-out test splits, which we never
# see; running them here on our folds tells how our cross-validation relates to those test
# figures (docs/nlu.md, "Peers on our folds"). Bench only; bench/nlu/peers.sh installs
# what it needs (Debian python3-sklearn and fasttext).
#
# Usage: bench/nlu/peers.py [--folds K] [--data DIR] DATASET...
# Prints one line per data set and peer: the per-fold accuracies, then median / mean (%).
#
# The peers' settings (docs/nlu.md says what was looked at before they were fixed):
#   tfidf:    scikit-learn TfidfVectorizer (sublinear tf) + LinearSVC (liblinear), C = 1;
#             English: word uni- and bigrams; Chinese: character 1-3-grams over the text.
#   fasttext: the fasttext CLI, `supervised -lr 1.0 -epoch 25 -wordNgrams 2 -thread 1 -seed 1`
#             (the settings of fastText's text-classification tutorial) on the training rows in
#             a seeded random order; English lower-cased with punctuation split off, Chinese
#             one token per character.
import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

HAN = re.compile(r'[\u3400-\u9fff\uf900-\ufaff]')


def load(path):
    texts, labels = [], []
    with open(path, encoding='utf-8') as f:
        header = f.readline().rstrip('\n')
        if header != 'text\tlabel':
            sys.exit(f'{path}:1: expected the header "text<TAB>label"')
        for n, line in enumerate(f, start=2):
            parts = line.rstrip('\n').split('\t')
            if len(parts) != 2:
                sys.exit(f'{path}:{n}: expected two tab-separated columns')
            texts.append(parts[0])
            labels.append(parts[1])
    return texts, labels


def folds_of(labels, k):
    seen = defaultdict(int)
    out = []
    for y in labels:
        out.append(seen[y] % k)
        seen[y] += 1
    return out


def is_chinese(texts):
    return sum(1 for t in texts if HAN.search(t)) > len(texts) / 2


def tfidf_fold(tr_x, tr_y, te_x, chinese, work):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    if chinese:
        vec = TfidfVectorizer(analyzer='char', ngram_range=(1, 3), sublinear_tf=True)
    else:
        vec = TfidfVectorizer(analyzer='word', ngram_range=(1, 2), sublinear_tf=True)
    model = LinearSVC(C=1.0).fit(vec.fit_transform(tr_x), tr_y)
    return list(model.predict(vec.transform(te_x)))


def fasttext_tokens(text, chinese):
    if chinese:
        return ' '.join(ch for ch in text if not ch.isspace())
    return ' '.join(re.findall(r"\w+|[^\w\s]", text.lower()))


def fasttext_fold(tr_x, tr_y, te_x, chinese, work):
    # fastText visits its file in order and the benchmark files are grouped by label: a
    # seeded shuffle first, or its SGD collapses onto the last labels.
    rows = list(zip(tr_x, tr_y))
    random.Random(1).shuffle(rows)
    train = os.path.join(work, 'ft.train')
    with open(train, 'w', encoding='utf-8') as f:
        for x, y in rows:
            f.write(f'__label__{y} {fasttext_tokens(x, chinese)}\n')
    test = os.path.join(work, 'ft.test')
    with open(test, 'w', encoding='utf-8') as f:
        for x in te_x:
            f.write(fasttext_tokens(x, chinese) + '\n')
    model = os.path.join(work, 'ft')
    subprocess.run(['fasttext', 'supervised', '-input', train, '-output', model,
                    '-lr', '1.0', '-epoch', '25', '-wordNgrams', '2', '-thread', '1', '-seed', '1',
                    '-verbose', '0'], check=True)
    out = subprocess.run(['fasttext', 'predict', model + '.bin', test],
                         check=True, capture_output=True, text=True).stdout.split('\n')
    return [line[len('__label__'):] for line in out[:len(te_x)]]


PEERS = {'tfidf': tfidf_fold, 'fasttext': fasttext_fold}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--data', default=os.environ.get('SB_BENCH_DATA') or os.path.join(
        os.path.dirname(__file__), '../../../shared/bench/data'))
    ap.add_argument('--peers', default='tfidf,fasttext')
    ap.add_argument('sets', nargs='+')
    args = ap.parse_args()
    peers = args.peers.split(',')
    for peer in peers:
        if peer not in PEERS:
            sys.exit(f'--peers: unknown peer "{peer}" ({", ".join(PEERS)})')
    for name in args.sets:
        texts, labels = load(os.path.join(args.data, name, 'train.tsv'))
        fold = folds_of(labels, args.folds)
        chinese = is_chinese(texts)
        for peer in peers:
            accs = []
            with tempfile.TemporaryDirectory() as work:
                for f in range(args.folds):
                    tr = [i for i in range(len(texts)) if fold[i] != f]
                    te = [i for i in range(len(texts)) if fold[i] == f]
                    tr_x, tr_y = [texts[i] for i in tr], [labels[i] for i in tr]
                    te_x = [texts[i] for i in te]
                    pred = PEERS[peer](tr_x, tr_y, te_x, chinese, work)
                    right = sum(1 for i, p in zip(te, pred) if labels[i] == p)
                    accs.append(100.0 * right / len(te))
            print(f'{name} {peer}: ' + ' '.join(f'{a:.2f}' for a in accs) +
                  f' -> median {statistics.median(accs):.2f} / mean {statistics.mean(accs):.2f}',
                  flush=True)


if __name__ == '__main__':
    main()
