// SPDX-License-Identifier: MIT
// Bench only: the StackFAQ texts every encoder embeds, in one fixed order, so that each encoder
// writes one float32 matrix (out/<name>.f32, rows = texts) that evaluate.js can read.
// Order: the 719 entries as question + " " + answer, the 719 entries as question alone, then the
// 999 train queries. Writes out/texts.json (ids and texts) and out/texts.nul (the same texts,
// NUL-separated, for the C dumper of USE-lite described in README.md).
'use strict';
const fs = require('fs');
const path = require('path');
const D = process.env.STACKFAQ || path.join(__dirname, '../../../../shared/bench/data/stackfaq');
const OUT = process.env.OUT || path.join(__dirname, 'out');
const jl = (f) => fs.readFileSync(path.join(D, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const faq = jl('faq.jsonl');
const queries = jl('queries.jsonl');
const t = {
  doc_ids: faq.map((e) => e.id),
  query_ids: queries.map((q) => q.id),
  qa: faq.map((e) => e.question + ' ' + e.answer),
  q: faq.map((e) => e.question),
  query: queries.map((q) => q.text),
};
const all = [...t.qa, ...t.q, ...t.query];
if (all.some((s) => s.includes('\0'))) throw new Error('a text contains NUL');
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'texts.json'), JSON.stringify(t));
fs.writeFileSync(path.join(OUT, 'texts.nul'), all.join('\0'));
console.log(`${t.doc_ids.length} entries, ${t.query_ids.length} queries, ${all.length} texts`);
