// SPDX-License-Identifier: MIT
// Bench only: one encoder's vectors on StackFAQ train queries, dense alone and fused with the
// lexical ranking the way src/kb/dense.c fuses (docs/kb.md "Dense scores").
//
//   node evaluate.js NAME [DIM]     reads out/texts.json, out/NAME.f32 (float32 rows in the
//                                   order of texts.js), LEXICAL (default out/lexical.jsonl:
//                                   `switchboard eval retrieval ... --predictions --depth 1000
//                                   --params dense=0`)
//
// Dense alone: rank all 719 entries by cosine(query, entry text), entry text = question + " " +
// answer ("qa") or the question alone ("q").
// Fusion: over the lexical top dd = 200 entries, score = lexical / the query's top lexical score
// + w * cosine(query, qa); ties by lexical rank. w is chosen by 5-fold CV over queries (fold =
// sha256(query id) as an integer mod 5, as bench/kb/tune.py), on the mean of MRR@10 and
// NDCG@10 of the other four folds. Metrics as `switchboard eval retrieval`: MRR@10, NDCG@10
// (binary gains), success@1.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const OUT = process.env.OUT || path.join(__dirname, 'out');
const D = process.env.STACKFAQ || path.join(__dirname, '../../../../shared/bench/data/stackfaq');
const name = process.argv[2];
if (!name) { console.error('usage: node evaluate.js NAME [DIM]'); process.exit(2); }
const T = JSON.parse(fs.readFileSync(path.join(OUT, 'texts.json'), 'utf8'));
const nd = T.doc_ids.length, nq = T.query_ids.length, rows = 2 * nd + nq;
const raw = fs.readFileSync(path.join(OUT, name + '.f32'));
const flat = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
const dim = process.argv[3] ? +process.argv[3] : flat.length / rows;
if (!Number.isInteger(dim) || dim * rows !== flat.length) throw new Error(`${name}.f32: ${flat.length} floats is not ${rows} rows`);
function row(i) { // L2-normalised copy
  const v = flat.slice(i * dim, (i + 1) * dim);
  let s = 0; for (let k = 0; k < dim; k++) s += v[k] * v[k];
  s = Math.sqrt(s) || 1; for (let k = 0; k < dim; k++) v[k] /= s;
  return v;
}
const QA = [], Q = [], QU = [];
for (let i = 0; i < nd; i++) { QA.push(row(i)); Q.push(row(nd + i)); }
for (let i = 0; i < nq; i++) QU.push(row(2 * nd + i));
const dot = (a, b) => { let s = 0; for (let k = 0; k < a.length; k++) s += a[k] * b[k]; return s; };

const rel = new Map();
for (const l of fs.readFileSync(path.join(D, 'qrels.tsv'), 'utf8').split('\n').slice(1)) {
  if (!l) continue;
  const [q, d, r] = l.split('\t');
  if (+r > 0) { if (!rel.has(q)) rel.set(q, new Set()); rel.get(q).add(d); }
}
const qids = T.query_ids.filter((q) => rel.has(q));
const qpos = new Map(T.query_ids.map((q, i) => [q, i]));
const dix = new Map(T.doc_ids.map((d, i) => [d, i]));
const lexFile = process.env.LEXICAL || path.join(OUT, 'lexical.jsonl');
const lex = new Map(fs.readFileSync(lexFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse).map((o) => [o.query_id, o]));

function metrics(q, ranking) { // ranking: doc indices, best first
  const r = rel.get(q);
  let dcg = 0, rr = 0;
  ranking.slice(0, 10).forEach((d, i) => {
    if (r.has(T.doc_ids[d])) { dcg += 1 / Math.log2(i + 2); if (!rr) rr = 1 / (i + 1); }
  });
  let idcg = 0; for (let i = 0; i < Math.min(10, r.size); i++) idcg += 1 / Math.log2(i + 2);
  return [rr, dcg / idcg, ranking.length && r.has(T.doc_ids[ranking[0]]) ? 1 : 0];
}
const mean = (per, idx) => [0, 1, 2].map((k) => idx.reduce((s, i) => s + per[i][k], 0) / idx.length);
const fmt = (m) => m.map((x) => x.toFixed(4)).join(' / ');
const all = qids.map((_, i) => i);

const cos = { qa: [], q: [] };
qids.forEach((q) => {
  const u = QU[qpos.get(q)];
  cos.qa.push(QA.map((d) => dot(u, d)));
  cos.q.push(Q.map((d) => dot(u, d)));
});
const out = { encoder: name, dim, queries: qids.length };
for (const k of ['qa', 'q']) {
  const per = qids.map((q, i) => metrics(q, [...Array(nd).keys()].sort((a, b) => cos[k][i][b] - cos[k][i][a] || a - b)));
  out['dense_' + k] = mean(per, all);
}
const lexPer = qids.map((q) => metrics(q, lex.get(q).ranking.map((d) => dix.get(d))));
out.lexical = mean(lexPer, all);

const DD = 200;
const W = []; for (let w = 0; w <= 4.0001; w += 0.05) W.push(+w.toFixed(2));
function fused(i, w, k) {
  const o = lex.get(qids[i]);
  const top = o.scores[0] || 1;
  const cand = o.ranking.slice(0, DD).map((d, r) => ({ d: dix.get(d), r, s: o.scores[r] / top }));
  for (const c of cand) c.s += w * cos[k][i][c.d];
  cand.sort((a, b) => b.s - a.s || a.r - b.r);
  return cand.map((c) => c.d);
}
const fold = qids.map((q) => Number(BigInt('0x' + crypto.createHash('sha256').update(q).digest('hex')) % 5n));
for (const k of ['qa', 'q']) {
  const perW = W.map((w) => qids.map((q, i) => metrics(q, fused(i, w, k))));
  const pooled = new Array(qids.length); const chosen = [];
  for (let f = 0; f < 5; f++) {
    const tr = all.filter((i) => fold[i] !== f), te = all.filter((i) => fold[i] === f);
    let bi = 0, bv = -1;
    perW.forEach((per, j) => { const m = mean(per, tr); if (m[0] + m[1] > bv + 1e-12) { bv = m[0] + m[1]; bi = j; } });
    chosen.push(W[bi]);
    for (const i of te) pooled[i] = perW[bi][i];
  }
  out['fused_' + k + '_cv'] = mean(pooled, all);
  out['fused_' + k + '_cv_w'] = chosen;
  let bj = 0, bv = -1;
  perW.forEach((per, j) => { const m = mean(per, all); if (m[0] + m[1] > bv) { bv = m[0] + m[1]; bj = j; } });
  out['fused_' + k + '_insample'] = { w: W[bj], m: mean(perW[bj], all) };
}
console.log(`${name} (dim ${dim}), ${qids.length} train queries; MRR@10 / NDCG@10 / success@1`);
console.log(`  lexical (LEXICAL run)               ${fmt(out.lexical)}`);
console.log(`  dense, query vs question+answer     ${fmt(out.dense_qa)}`);
console.log(`  dense, query vs question            ${fmt(out.dense_q)}`);
for (const k of ['qa', 'q']) {
  console.log(`  fused (${k.padEnd(2)}), dd ${DD}, w by 5-fold CV   ${fmt(out['fused_' + k + '_cv'])}   (w per fold ${out['fused_' + k + '_cv_w'].join(', ')})`);
  console.log(`  fused (${k.padEnd(2)}), in-sample best w ${String(out['fused_' + k + '_insample'].w).padEnd(5)}   ${fmt(out['fused_' + k + '_insample'].m)}`);
}
fs.writeFileSync(path.join(OUT, name + '.results.json'), JSON.stringify(out, null, 1));
