// Dense (USE-lite) retrieval and fusion with the lexical run on StackFAQ train queries.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const D = process.env.STACKFAQ || '../../../../shared/bench/data/stackfaq';
const E = JSON.parse(fs.readFileSync((process.env.OUT || 'out') + '/emb.json', 'utf8'));
const lex = new Map(fs.readFileSync(process.env.LEXICAL || 'out/lexical.jsonl', 'utf8').split('\n').filter(Boolean)
  .map(JSON.parse).map((o) => [o.query_id, o]));
const qrels = new Map();
for (const l of fs.readFileSync(D + '/qrels.tsv', 'utf8').split('\n').slice(1)) {
  if (!l) continue;
  const [q, d, r] = l.split('\t');
  if (+r <= 0) continue;
  if (!qrels.has(q)) qrels.set(q, new Map());
  qrels.get(q).set(d, +r);
}
const docs = E.doc_ids, nd = docs.length, dix = new Map(docs.map((d, i) => [d, i]));
const qids = E.query_ids.filter((q) => qrels.has(q));
const qpos = new Map(E.query_ids.map((q, i) => [q, i]));

function dot(a, b) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; }
// cosine tables [query][doc] (embeddings are L2-normalised by the graph; normalise anyway)
function norm(v) { const n = Math.sqrt(dot(v, v)); return v.map((x) => x / n); }
const Q = E.qEmb.map(norm);
const DE = Object.fromEntries(Object.entries(E.docEmb).map(([k, v]) => [k, v.map(norm)]));
const cos = {};
for (const k of ['q', 'qa']) cos[k] = qids.map((q) => DE[k].map((d) => dot(Q[qpos.get(q)], d)));
cos.max = cos.q.map((row, i) => row.map((x, j) => Math.max(x, cos.qa[i][j])));
// thread-level: best entry (question or q+a) of the entry's thread
const thread = docs.map((d) => d.split('_')[0]);

function metrics(qi, scores) { // scores: Float64Array over docs
  const order = [...Array(nd).keys()].sort((a, b) => scores[b] - scores[a] || a - b);
  return metricsOfRanking(qi, order.slice(0, 10));
}
function metricsOfRanking(qi, top) {
  const rel = qrels.get(qids[qi]);
  let dcg = 0, first = 0;
  top.slice(0, 10).forEach((d, r) => {
    const g = rel.get(docs[d]) || 0;
    if (g > 0) { dcg += (Math.pow(2, g) - 1) / Math.log2(r + 2); if (!first) first = r + 1; }
  });
  const ideal = [...rel.values()].sort((a, b) => b - a).slice(0, 10);
  const idcg = ideal.reduce((s, g, r) => s + (Math.pow(2, g) - 1) / Math.log2(r + 2), 0);
  return [first ? 1 / first : 0, idcg ? dcg / idcg : 0, first === 1 ? 1 : 0];
}
function mean(rows, idx) { return idx.reduce((s, i) => s + rows[i][0], 0) / idx.length; }
function summarise(per, idx = per.map((_, i) => i)) {
  const m = [0, 0, 0];
  for (const i of idx) for (let j = 0; j < 3; j++) m[j] += per[i][j];
  return m.map((x) => +(x / idx.length).toFixed(4));
}

// lexical
const lexRank = qids.map((q) => lex.get(q).ranking.map((d) => dix.get(d)));
const lexNorm = qids.map((q) => { // bm25 / top score, 0 outside the 100 returned
  const o = lex.get(q), s = new Float64Array(nd), top = o.scores[0] || 1;
  o.ranking.forEach((d, r) => { s[dix.get(d)] = o.scores[r] / top; });
  return s;
});
const lexMM = qids.map((q) => { // min-max within the returned list
  const o = lex.get(q), s = new Float64Array(nd), hi = o.scores[0], lo = o.scores[o.scores.length - 1];
  o.ranking.forEach((d, r) => { s[dix.get(d)] = hi > lo ? (o.scores[r] - lo) / (hi - lo) : 1; });
  return s;
});
const perLex = qids.map((_, i) => metricsOfRanking(i, lexRank[i]));
const out = { n_queries: qids.length, lexical: summarise(perLex) };

// dense alone
const denseRank = {}, perDense = {};
for (const k of ['q', 'qa', 'max']) {
  perDense[k] = qids.map((_, i) => metrics(i, cos[k][i]));
  denseRank[k] = qids.map((_, i) => [...Array(nd).keys()].sort((a, b) => cos[k][i][b] - cos[k][i][a] || a - b));
  out['use_' + k] = summarise(perDense[k]);
}
// recall of the relevant thread within dense top-10 / lexical top-10 (complementarity)
function hit10(rank, i) { const rel = qrels.get(qids[i]); return rank.slice(0, 10).some((d) => rel.has(docs[d])); }
let both = 0, onlyLex = 0, onlyDense = 0, none = 0;
qids.forEach((_, i) => { const a = hit10(lexRank[i], i), b = hit10(denseRank.max[i], i); if (a && b) both++; else if (a) onlyLex++; else if (b) onlyDense++; else none++; });
out.top10_hits_lex_vs_usemax = { both, onlyLex, onlyDense, none };
let s1both = 0, s1lex = 0, s1dense = 0;
qids.forEach((_, i) => { const a = perLex[i][2], b = perDense.max[i][2]; if (a && b) s1both++; else if (a) s1lex++; else if (b) s1dense++; });
out.top1_lex_vs_usemax = { both: s1both, onlyLex: s1lex, onlyDense: s1dense };

// fusion configurations -> per-query metrics
const W = []; for (let w = 0; w <= 3.0001; w += 0.05) W.push(+w.toFixed(2));
function fuseScore(kind, normTab, i, w) {
  const s = new Float64Array(nd), c = cos[kind][i], b = normTab[i];
  for (let d = 0; d < nd; d++) s[d] = b[d] + w * c[d];
  return s;
}
function rrfScore(kind, i, w, k) {
  const s = new Float64Array(nd);
  lexRank[i].forEach((d, r) => { s[d] += 1 / (k + r + 1); });
  denseRank[kind][i].forEach((d, r) => { s[d] += w / (k + r + 1); });
  return s;
}
const configs = []; // {name, family, per}
for (const kind of ['q', 'qa', 'max']) {
  for (const [nn, tab] of [['top', lexNorm], ['minmax', lexMM]]) {
    for (const w of W) configs.push({ family: `lin_${nn}_${kind}`, param: w, per: qids.map((_, i) => metrics(i, fuseScore(kind, tab, i, w))) });
  }
  for (const k of [5, 10, 20, 60]) {
    for (const w of [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2]) {
      configs.push({ family: `rrf_k${k}_${kind}`, param: w, per: qids.map((_, i) => metrics(i, rrfScore(kind, i, w, k))) });
    }
  }
}
// in-sample curves
const curves = {};
for (const c of configs) {
  (curves[c.family] = curves[c.family] || []).push([c.param, ...summarise(c.per)]);
}
out.in_sample_best = {};
for (const [f, rows] of Object.entries(curves)) {
  const best = rows.reduce((a, b) => (b[1] + b[2] > a[1] + a[2] ? b : a));
  const bestMrr = rows.reduce((a, b) => (b[1] > a[1] ? b : a));
  out.in_sample_best[f] = { by_mrr_plus_ndcg: best, by_mrr: bestMrr };
}
// 5-fold CV: folds by sha256(query id); choose the parameter on 4 folds by MRR@10 + NDCG@10
const fold = qids.map((q) => parseInt(crypto.createHash('sha256').update(q).digest('hex').slice(0, 8), 16) % 5);
function cv(cands) { // cands: configs to choose among
  const pooled = new Array(qids.length); const chosen = [];
  for (let f = 0; f < 5; f++) {
    const tr = qids.map((_, i) => i).filter((i) => fold[i] !== f), te = qids.map((_, i) => i).filter((i) => fold[i] === f);
    let best = null, bv = -1;
    for (const c of cands) { const m = summarise(c.per, tr); const v = m[0] + m[1]; if (v > bv + 1e-12) { bv = v; best = c; } }
    chosen.push(`${best.family}@${best.param}`);
    for (const i of te) pooled[i] = best.per[i];
  }
  return { cv: summarise(pooled), chosen, pooled };
}
out.cv = {};
const fams = [...new Set(configs.map((c) => c.family))];
const pooledOf = {};
for (const f of fams) { const r = cv(configs.filter((c) => c.family === f)); out.cv[f] = { cv: r.cv, chosen: r.chosen.map((s) => s.split('@')[1]).join(',') }; pooledOf[f] = r.pooled; }
const allLin = cv(configs.filter((c) => c.family.startsWith('lin_top')));
out.cv.ALL_lin_top = { cv: allLin.cv, chosen: allLin.chosen };
const allRrf = cv(configs.filter((c) => c.family.startsWith('rrf')));
out.cv.ALL_rrf = { cv: allRrf.cv, chosen: allRrf.chosen };
const all = cv(configs);
out.cv.ALL = { cv: all.cv, chosen: all.chosen };
// paired bootstrap on the CV-pooled per-query MRR difference vs lexical
function boot(pooled) {
  const diff = pooled.map((p, i) => p[0] - perLex[i][0]);
  const n = diff.length; let seed = 12345; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ms = [];
  for (let b = 0; b < 2000; b++) { let s = 0; for (let j = 0; j < n; j++) s += diff[Math.floor(rnd() * n)]; ms.push(s / n); }
  ms.sort((a, b) => a - b);
  return { mean: +(diff.reduce((a, b) => a + b, 0) / n).toFixed(4), ci95: [+ms[50].toFixed(4), +ms[1949].toFixed(4)] };
}
out.cv_mrr_gain_vs_lexical = { ALL: boot(all.pooled), ALL_lin_top: boot(allLin.pooled), ALL_rrf: boot(allRrf.pooled) };
// per-fold lexical MRR (noise level)
out.lexical_per_fold_mrr = [0, 1, 2, 3, 4].map((f) => +summarise(perLex, qids.map((_, i) => i).filter((i) => fold[i] === f))[0].toFixed(4));
fs.writeFileSync((process.env.OUT || 'out') + '/results.json', JSON.stringify(out, null, 1));
fs.writeFileSync((process.env.OUT || 'out') + '/curves.json', JSON.stringify(curves));
console.log(JSON.stringify(out, null, 1));
// per-fold figures and a bootstrap over threads (queries of one thread are not independent)
{
  const idxOf = (f) => qids.map((_, i) => i).filter((i) => fold[i] === f);
  const perFold = [0, 1, 2, 3, 4].map((f) => ({ lex: summarise(perLex, idxOf(f)), fused: summarise(all.pooled, idxOf(f)), n: idxOf(f).length }));
  const th = qids.map((q) => q.slice(0, 4)); const threads = [...new Set(th)];
  const byT = new Map(threads.map((t) => [t, []])); qids.forEach((_, i) => byT.get(th[i]).push(i));
  let seed = 777; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ms = [];
  for (let b = 0; b < 2000; b++) {
    let s = 0, n = 0;
    for (let j = 0; j < threads.length; j++) for (const i of byT.get(threads[Math.floor(rnd() * threads.length)])) { s += all.pooled[i][0] - perLex[i][0]; n++; }
    ms.push(s / n);
  }
  ms.sort((a, b) => a - b);
  const wins = qids.filter((_, i) => all.pooled[i][0] > perLex[i][0]).length, losses = qids.filter((_, i) => all.pooled[i][0] < perLex[i][0]).length;
  const extra = { perFold, thread_bootstrap_mrr_gain_ci95: [+ms[50].toFixed(4), +ms[1949].toFixed(4)], queries_better: wins, queries_worse: losses };
  console.log(JSON.stringify(extra));
  fs.writeFileSync((process.env.OUT || 'out') + '/results_extra.json', JSON.stringify(extra, null, 1));
}
