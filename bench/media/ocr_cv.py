#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Shop-grouped 5-fold cross-validation of the OCR post-steps of docs/media.md (fifth round).

Works on predictions files written by `switchboard eval ocr --predictions` (they hold the lines
and, since the fifth round, the words with boxes and confidences); key fields are re-scored by
`switchboard eval ocr --lines FILE`, so the layout step is the production one.

  ocr_cv.py merge SWITCHBOARD MAIN.jsonl SECOND.jsonl
      word-level merge of two readings (a Python mirror of src/media/ocr_merge.c) over a grid of
      (alone_min_conf, margin_alpha, margin_num); per fold the configuration best on the other
      four folds (word F1 + key mean, ties to "no merge") is scored on the held-out fold.
  ocr_cv.py lexicon SWITCHBOARD PRED.jsonl
      receipt-lexicon correction: a word not in the lexicon (tokens of the TRAINING folds'
      transcripts seen on >= MINDF receipts) becomes the most frequent lexicon word one
      character substitution away (a listed OCR confusion pair, or any character); a
      number-like word (a digit, <= 1 letter) of a rare shape gets one ',' <-> '.' swap
      towards a frequent shape ("words-only": without that); the lexicon of each fold is
      learned from the other folds' labels only (a mirror of src/media/lexicon.c).
  ocr_cv.py folds
      prints the folds.

Folds: receipts grouped by shop (the first two words of the company label, so the two MR D.I.Y.
branches are one shop), the largest group (11 receipts) is fold 0, the others (largest first)
go greedily to the smallest of folds 1-4; `switchboard eval ocr --lexicon-cv` uses the same.
"""
import collections
import itertools
import json
import os
import subprocess
import sys
import tempfile

DATA = os.path.join(os.path.dirname(__file__), "../../../shared/bench/data/sroie")
DATA = os.environ.get("SROIE", DATA)
FIELDS = ("company", "date", "address", "total")


def load(path):
    return {json.loads(l)["id"]: json.loads(l) for l in open(path) if l.strip()}


LAB = load(os.path.join(DATA, "labels.jsonl"))
IDS = sorted(LAB)


def shop(c):
    """The first two words of the company label (as `eval ocr --lexicon-cv` does)."""
    return " ".join(c.upper().split()[:2])


def make_folds():
    groups = collections.defaultdict(list)
    for i in IDS:
        groups[shop(LAB[i]["key"]["company"])].append(i)
    gs = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    folds = [gs[0]] + [[] for _ in range(4)]
    for g in gs[1:]:
        k = min(range(1, 5), key=lambda k: (len(folds[k]), k))
        folds[k] += g
    return {i: k for k in range(5) for i in folds[k]}


FOLD = make_folds()


def toks(s):
    return s.upper().split()


def word_f1(p, r):
    p, r = collections.Counter(toks(p)), collections.Counter(toks(r))
    c = sum((p & r).values())
    if not c:
        return float(not p and not r)
    pr, rc = c / sum(p.values()), c / sum(r.values())
    return 2 * pr * rc / (pr + rc)


def norm(s):
    return " ".join(s.upper().split())


def per_image(sb, pages):
    """{id: (word_f1, company_ok, date_ok, address_ok, total_ok)} for predictions `pages`."""
    with tempfile.TemporaryDirectory() as td:
        lines, pred = os.path.join(td, "l.jsonl"), os.path.join(td, "p.jsonl")
        with open(lines, "w") as f:
            for i in IDS:
                f.write(json.dumps(pages[i]) + "\n")
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        subprocess.run([sb, "eval", "ocr", "--data", DATA, "--json", "--lines", lines,
                        "--predictions", pred], env=env, check=True, capture_output=True)
        P = load(pred)
    return {i: (word_f1(P[i]["text"], LAB[i]["text"]),)
            + tuple(norm(P[i]["key"][f]) == norm(LAB[i]["key"][f]) for f in FIELDS)
            for i in IDS}


def summary(r, sel):
    n = len(sel)
    k = [sum(r[i][j] for i in sel) / n for j in range(1, 5)]
    return round(sum(r[i][0] for i in sel) / n, 4), [round(x, 3) for x in k], round(sum(k) / 4, 4)


def grouped_choice(R, default):
    """Per fold, the configuration best on the other folds; returns held-out per-image scores."""
    obj = lambda r, sel: sum(r[i][0] + sum(r[i][1:]) / 4 for i in sel)
    ho = {}
    for k in range(5):
        tr = [i for i in IDS if FOLD[i] != k]
        best = max(R, key=lambda c: (obj(R[c], tr), c == default))
        print("fold", k, "chose", best)
        for i in IDS:
            if FOLD[i] == k:
                ho[i] = R[best][i]
    return ho


# ---- word-level merge (mirror of src/media/ocr_merge.c) ----------------------------------------

def _numeric(ws):
    s = "".join(w["text"] for w in ws)
    return sum(c.isdigit() for c in s) > sum(c.isascii() and c.isalpha() for c in s)


def _merge_line(ew, tw, cfg):
    alone, m_alpha, m_num = cfg
    items = sorted([(w["box"][0], 0, n, w) for n, w in enumerate(ew)]
                   + [(w["box"][0], 1, n, w) for n, w in enumerate(tw)], key=lambda x: x[:3])
    groups, cur = [], None
    for x0, side, _, w in items:
        x1 = x0 + w["box"][2]
        if cur and 10 * (min(x1, cur["x1"]) - x0) > 3 * max(1, min(x1 - x0, cur["x1"] - cur["x0"])):
            cur["w"][side].append(w)
            cur["x1"] = max(cur["x1"], x1)
        else:
            cur = {"x0": x0, "x1": x1, "w": ([], [])}
            cur["w"][side].append(w)
            groups.append(cur)
    mean = lambda ws: sum(w["conf"] for w in ws) / len(ws)
    out = []
    for g in groups:
        e, t = g["w"]
        if e and t:
            out += t if mean(t) > mean(e) + (m_num if _numeric(e) else m_alpha) else e
        elif e:
            out += e
        elif min(w["conf"] for w in t) >= alone:
            out += t
    return out


def merge(A, B, cfg):
    res = {}
    for i in IDS:
        la = A[i]["lines"]
        assign = [[] for _ in la]
        for l2 in B[i]["lines"]:
            for w in l2.get("words", []):
                best, bv = -1, 0
                for k, l in enumerate(la):
                    wb, lb = w["box"], l["box"]
                    v = min(wb[1] + wb[3], lb[1] + lb[3]) - max(wb[1], lb[1])
                    if (v > bv and 2 * v >= wb[3] and wb[0] < lb[0] + lb[2] + lb[3]
                            and wb[0] + wb[2] > lb[0] - lb[3]):
                        best, bv = k, v
                if best >= 0:
                    assign[best].append(w)
        new = []
        for k, l in enumerate(la):
            if not l.get("words"):
                new.append(l)
                continue
            ws = _merge_line(l["words"], assign[k], cfg)
            new.append(dict(l, words=ws, text=" ".join(w["text"] for w in ws)))
        res[i] = dict(A[i], lines=new, text="\n".join(l["text"] for l in new))
    return res


def cmd_merge(sb, main, second):
    A, B = load(main), load(second)
    grid = [None] + list(itertools.product((0.7, 0.8, 0.9, 2.0), (-0.05, 0, 0.05),
                                           (0, 0.05, 0.1, 2.0)))
    R = {}
    for c in grid:
        R[c] = per_image(sb, A if c is None else merge(A, B, c))
        print("in-sample", c, *summary(R[c], IDS), flush=True)
    print("HELD-OUT (grouped 5-fold choice):", *summary(grouped_choice(R, None), IDS))


# ---- receipt-lexicon correction ------------------------------------------------------------------

CONFUSIONS = [set("0OQD"), set("1IL"), set("5S"), set("8B"), set("6G"), set("GQC"), set("MNH"),
              set("UV"), set("EF"), set("TY")]
ALNUM = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def shape(u):
    return "".join("9" if c.isdigit() else c for c in u)


def lexicon(train):
    """Document counts of upper-cased tokens, and of the shapes ("#"-prefixed) of tokens with a
    digit (digits as 9)."""
    df = collections.Counter()
    for i in train:
        ts = set(toks(LAB[i]["text"]))
        df.update(ts)
        df.update(set("#" + shape(t) for t in ts if any(c.isdigit() for c in t)))
    return df


def correct_number(t, df, mindf):
    """"60,31" -> "60.31" when the shape 99.99 is frequent and 99,99 is not."""
    if df.get("#" + shape(t.upper()), 0) >= mindf:
        return t
    best, bd, tie = None, 0, False
    for k, ch in enumerate(t):
        if ch in ",.":
            cand = t[:k] + ("." if ch == "," else ",") + t[k + 1:]
            d = df.get("#" + shape(cand.upper()), 0)
            if d >= mindf and d > bd:
                best, bd, tie = cand, d, False
            elif d >= mindf and d == bd:
                tie = True
    return best if best and not tie else t


def correct(t, df, mindf, mode):
    u = t.upper()
    letters = sum(c.isascii() and c.isalpha() for c in u)
    if any(c.isdigit() for c in u) and letters <= 1:
        return correct_number(t, df, mindf) if mode != "words-only" else t
    if df.get(u, 0) or letters < 2 or len(u) < 3:
        return t
    best, bd, tie = None, 0, False
    for k, ch in enumerate(u):
        if mode == "any":
            alts = ALNUM
        elif mode == "words-only":
            alts = set().union(*[s for s in CONFUSIONS if ch in s]) if any(
                ch in s for s in CONFUSIONS) else set()
        else:
            alts = set().union(*[s for s in CONFUSIONS if ch in s]) if any(
                ch in s for s in CONFUSIONS) else set()
        for a in alts - {ch}:
            cand = u[:k] + a + u[k + 1:]
            d = df.get(cand, 0)
            if d >= mindf and d > bd:
                best, bd, tie = cand, d, False
            elif d >= mindf and d == bd:
                tie = True
    return best if best and not tie else t


def apply_lexicon(A, df, cfg):
    mindf, mode, maxconf = cfg
    res = {}
    for i in IDS:
        lines = []
        for l in A[i]["lines"]:
            ws = [dict(w, text=correct(w["text"], df, mindf, mode) if w["conf"] < maxconf
                       else w["text"]) for w in l.get("words", [])]
            lines.append(dict(l, words=ws, text=" ".join(w["text"] for w in ws)) if ws else l)
        res[i] = dict(A[i], lines=lines, text="\n".join(l["text"] for l in lines))
    return res


def cmd_lexicon(sb, pred):
    A = load(pred)
    grid = [None, (2, "words-only", 1.01)] + list(
        itertools.product((2, 3, 5), ("conf", "any"), (0.7, 0.85, 1.01)))
    R = {}
    for c in grid:
        r = {}
        for k in range(5):  # the lexicon of fold k is learned from the other folds' labels
            df = lexicon([i for i in IDS if FOLD[i] != k])
            rk = per_image(sb, A if c is None else apply_lexicon(A, df, c))
            r.update({i: rk[i] for i in IDS if FOLD[i] == k})
        R[c] = r
        print("held-out lexicon", c, *summary(r, IDS), flush=True)
    print("HELD-OUT (grouped 5-fold choice):", *summary(grouped_choice(R, None), IDS))


def main(argv):
    if len(argv) >= 2 and argv[1] == "folds":
        for k in range(5):
            print(k, [i for i in IDS if FOLD[i] == k])
    elif len(argv) == 5 and argv[1] == "merge":
        cmd_merge(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "lexicon":
        cmd_lexicon(argv[2], argv[3])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
