// SPDX-License-Identifier: MIT
// Checks of the web UI and API documents that need no browser: every page forbids inline
// script with a CSP and loads its JavaScript from files; the scripts never build markup from
// strings (no innerHTML / outerHTML / insertAdjacentHTML / document.write / eval); the OpenAPI
// document is valid JSON that documents every route of src/http/router.c with the route's
// authentication; docs/api.md mentions every route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = process.env.SB_SOURCE_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(join(SOURCE, p), 'utf8');

test('every page has a CSP that forbids inline script, and no inline script or handler', () => {
  const pages = readdirSync(join(SOURCE, 'web')).filter((f) => f.endsWith('.html'));
  assert.ok(pages.length >= 3, 'index, widget and console pages exist');
  for (const page of pages) {
    const html = read(join('web', page));
    const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)"/);
    assert.ok(csp, `${page}: has a CSP meta tag`);
    const scriptSrc = csp[1].split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'))
      || csp[1].split(';').map((d) => d.trim()).find((d) => d.startsWith('default-src'));
    assert.ok(scriptSrc, `${page}: the CSP restricts scripts`);
    assert.doesNotMatch(scriptSrc, /'unsafe-inline'|'unsafe-eval'|\*/, `${page}: no inline or eval script allowed`);
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1], /\bsrc="\/static\/[\w.-]+\.js"/, `${page}: every script is a file under /static`);
      assert.equal(m[2].trim(), '', `${page}: no inline script body`);
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${page}: no inline event handlers`);
    assert.doesNotMatch(html, /\sstyle\s*=/i, `${page}: no inline style attributes (CSP style-src 'self')`);
    assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)[^"'\s]*\.(js|css)\b/, `${page}: nothing from a CDN`);
  }
});

test('the page scripts never turn strings into markup or code', () => {
  const dir = join(SOURCE, 'web', 'static');
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(scripts.includes('widget.js') && scripts.includes('console.js'));
  for (const f of scripts) {
    const js = readFileSync(join(dir, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1'); /* comments may name them */
    for (const bad of [/\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\s*\(/,
      /new Function\s*\(/, /createContextualFragment/, /setAttribute\(\s*['"]style['"]/, /setAttribute\(\s*['"]on/i]) {
      assert.doesNotMatch(js, bad, `${f}: must not use ${bad}`);
    }
  }
});

test('the OpenAPI document covers every route of the router with its authentication', () => {
  const doc = JSON.parse(read('docs/openapi.json'));
  assert.match(doc.openapi, /^3\./);
  const router = read('src/http/router.c');
  const routes = [...router.matchAll(/\{SB_(GET|POST|PUT|PATCH|DELETE), "([^"]+)", SB_AUTH_(\w+), \w+\}/g)];
  assert.ok(routes.length >= 20, 'the route table was found');
  for (const [, method, path, auth] of routes) {
    const op = doc.paths[path] && doc.paths[path][method.toLowerCase()];
    assert.ok(op, `${method} ${path} is documented`);
    const schemes = (op.security || []).flatMap((s) => Object.keys(s));
    if (auth === 'NONE') assert.deepEqual(schemes, [], `${method} ${path} needs no credentials`);
    if (auth === 'VISITOR') assert.deepEqual(schemes, ['visitor'], `${method} ${path} takes a visitor token`);
    if (auth === 'AGENT' || auth === 'ADMIN') assert.deepEqual(schemes, ['bearer'], `${method} ${path} takes a key or session`);
    if (auth === 'ADMIN') assert.ok(op.responses['403'], `${method} ${path} documents 403 for non-admins`);
    if (auth !== 'NONE') assert.ok(op.responses['401'], `${method} ${path} documents 401`);
    for (const [status, r] of Object.entries(op.responses)) {
      if (Number(status) >= 400 && r.$ref) {
        const name = r.$ref.split('/').pop();
        assert.ok(doc.components.responses[name], `${method} ${path}: response ${name} exists`);
      }
    }
  }
  // and nothing documented that the router does not have (the WebSockets are served elsewhere)
  const known = new Set(routes.map(([, m, p]) => m.toLowerCase() + ' ' + p));
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.startsWith('/ws/')) continue;
    for (const m of Object.keys(item)) {
      if (m === 'parameters') continue;
      assert.ok(known.has(m + ' ' + path), `documented ${m.toUpperCase()} ${path} exists in router.c`);
    }
  }
  // every $ref resolves
  const refs = JSON.stringify(doc).match(/"#\/components\/[^"]+"/g) || [];
  for (const ref of refs) {
    const parts = JSON.parse(ref).slice(2).split('/');
    let node = doc;
    for (const p of parts) node = node && node[p];
    assert.ok(node, `${ref} resolves`);
  }
});

test('docs/api.md describes every route', () => {
  const md = read('docs/api.md');
  const router = read('src/http/router.c');
  for (const [, method, path] of router.matchAll(/\{SB_(GET|POST|PUT|PATCH|DELETE), "([^"]+)", SB_AUTH_\w+, \w+\}/g)) {
    assert.ok(md.includes(`\`${method} ${path}`) || md.includes(`| ${method} | \`${path}\``),
      `docs/api.md mentions ${method} ${path}`);
  }
  for (const ev of ['message.created', 'conversation.updated', 'message.annotated', 'ready', 'Retry-After', 'since=']) {
    assert.ok(md.includes(ev), `docs/api.md explains ${ev}`);
  }
});
