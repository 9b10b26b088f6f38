// FJA Ledger receipt page. Plain JavaScript, no framework, no network
// except this server's /v1 API. Receipts are verified in the browser by
// the verify package compiled to WebAssembly (verify.wasm), which defines
// fjaVerifyReceipt(receiptJSON, vkey). Untrusted text is only ever put in
// the page with textContent, never as HTML.
'use strict';
(function () {
  const STORE = 'fja-ledger-page-v1';
  const $ = (id) => document.getElementById(id);

  const state = {
    receipt: null,     // the parsed receipt object that verified
    receiptText: '',   // its text as pasted
    body: null,        // the decision body from its entry
    contestId: null,   // the id the next contest filing uses (kept across retries)
    vkeyEdited: false,
    shards: [],        // the log's temporal shards, as GET /v1/log lists them
    logRead: null,     // the promise of loadKey's read of GET /v1/log
  };

  // h builds an element; children are nodes or strings (as text).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function banner(kind, title, ...rest) {
    return h('div', { class: 'banner ' + kind }, h('p', { class: 'title' }, title), ...rest);
  }

  // ---- the verifier ------------------------------------------------------

  let readyResolve;
  const verifierReady = new Promise((resolve, reject) => {
    readyResolve = resolve;
    window.fjaVerifierReady = () => resolve();
    loadVerifier().catch(reject);
  });
  verifierReady.then(
    () => { $('verifier-state').textContent = 'Verifier ready: receipts are checked in this browser.'; },
    (err) => { $('verifier-state').textContent = 'The verifier could not load: ' + err.message; });

  async function loadVerifier() {
    if (typeof Go !== 'function') throw new Error('wasm_exec.js did not load');
    const go = new Go();
    let result;
    const resp = fetch('/assets/verify.wasm');
    if (WebAssembly.instantiateStreaming) {
      result = await WebAssembly.instantiateStreaming(resp, go.importObject);
    } else {
      const r = await resp;
      result = await WebAssembly.instantiate(await r.arrayBuffer(), go.importObject);
    }
    go.run(result.instance); // runs until main blocks; it calls fjaVerifierReady
    if (typeof window.fjaVerifyReceipt === 'function') readyResolve();
  }

  async function verifyText(text, vkey) {
    await verifierReady;
    return window.fjaVerifyReceipt(text, vkey);
  }

  // ---- helpers -----------------------------------------------------------

  function when(iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return h('span', {}, String(iso || 'unknown'));
    const local = d.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'long' });
    return h('time', { datetime: iso, title: iso }, local);
  }

  const ACTIONS = {
    refused: 'Refused: the system did not answer the request',
    answered: 'Answered',
    modified: 'Answered with changes',
    escalated: 'Passed on to a person to decide',
  };
  const EFFECTS = {
    refuse: 'required a refusal',
    allow: 'allowed an answer',
    modify: 'required a change',
    warn: 'added a warning',
    escalate: 'passed it to a person',
  };
  const STATUS = {
    open: 'Open: waiting for a person to review it',
    resolved: 'Resolved',
    overdue: 'Overdue: the deadline has passed without an answer',
  };
  const OUTCOMES = {
    upheld: 'Upheld: the decision stands',
    overturned: 'Overturned: the decision was wrong',
    partially_overturned: 'Partly overturned',
    withdrawn: 'Withdrawn',
  };

  function parseEntry(entryText) {
    try {
      const env = JSON.parse(entryText);
      if (env && typeof env === 'object' && env.body && typeof env.body === 'object') return env;
    } catch (e) { /* shown below */ }
    return null;
  }

  function facts(pairs) {
    const dl = h('dl', { class: 'facts' });
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === '') continue;
      dl.append(h('dt', {}, k), h('dd', {}, v));
    }
    return dl;
  }

  async function apiError(resp) {
    let msg = '';
    try {
      const j = await resp.json();
      if (j && j.error && j.error.message) msg = j.error.message;
    } catch (e) { /* not JSON */ }
    return msg || ('the server answered ' + resp.status + ' ' + resp.statusText);
  }

  function randomHex(n) {
    const b = new Uint8Array(n);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function downloadLink(label, name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    return h('a', { href: url, download: name }, label);
  }

  // currentSize is the log's tree size now, as GET /v1/log says, or null
  // when the server does not answer.
  async function currentSize() {
    try {
      const r = await fetch('/v1/log', { headers: { Accept: 'application/json' } });
      if (!r.ok) return null;
      const info = await r.json();
      return typeof info.tree_size === 'number' ? info.tree_size : null;
    } catch (e) {
      return null;
    }
  }

  // ---- the verifier key --------------------------------------------------

  async function loadKey() {
    try {
      const r = await fetch('/v1/log', { headers: { Accept: 'application/json' } });
      if (!r.ok) throw new Error(await apiError(r));
      const info = await r.json();
      state.shards = Array.isArray(info.shards) ? info.shards : [];
      if (!state.vkeyEdited && !$('vkey').value && info.verifier_key) {
        $('vkey').value = info.verifier_key;
        $('vkey-source').textContent = 'Filled in from this server (' + (info.origin || 'unknown origin') + ').';
      }
    } catch (e) {
      $('vkey-source').textContent = 'Could not read the key from this server (' + e.message + '); paste it above.';
    }
  }

  // keyFor is the verifier key to check a record of the log origin with:
  // the key the person entered (or saved) when they did, else the key of
  // the shard of that origin as this server lists it in GET /v1/log (a
  // log with temporal shards has one key per shard), else the key field.
  // It returns {vkey, shard (the listed shard of origin, or null),
  // fromServer}.
  function keyFor(origin) {
    const typed = $('vkey').value.trim();
    const shard = state.shards.find((s) => s.origin === origin) || null;
    if (!state.vkeyEdited && shard && shard.vkey) return { vkey: shard.vkey, shard: shard, fromServer: true };
    const typedShard = (shard && shard.vkey === typed ? shard : state.shards.find((s) => s.vkey === typed)) || null;
    return { vkey: typed, shard: typedShard, fromServer: !state.vkeyEdited };
  }

  // keyNote says which key a receipt was checked with.
  function keyNote(k) {
    const which = k.shard && state.shards.length > 1 ? ' of shard ' + k.shard.n + ' (' + k.shard.origin + (k.shard.state ? ', ' + k.shard.state : '') + ')' : '';
    return h('p', { id: 'key-used' }, k.fromServer
      ? 'Checked with the key' + which + ' as this server lists it.'
      : 'Checked with the key you entered' + which + '.');
  }

  // ---- step 2: check a receipt -------------------------------------------

  // checkReceipt verifies the pasted receipt; auto is set for the check of
  // a remembered receipt on load, which leaves the focus where it is.
  async function checkReceipt(ev, auto) {
    if (ev) ev.preventDefault();
    const text = $('receipt').value.trim();
    if (state.logRead) await state.logRead;
    let origin;
    try { origin = JSON.parse(text).origin; } catch (e) { origin = undefined; }
    const key = keyFor(origin);
    const vkey = key.vkey;
    const section = $('result');
    const verdict = $('verdict');
    const details = $('details');
    section.hidden = false;
    details.replaceChildren();
    $('contest').hidden = true;
    state.receipt = null;
    state.body = null;
    if (!text) {
      verdict.replaceChildren(banner('warn', 'Paste or upload a receipt first.'));
      $('receipt').focus();
      return;
    }
    if (!vkey) {
      verdict.replaceChildren(banner('warn', 'The verifier key is empty: paste the log\u2019s verifier key.'));
      $('vkey').focus();
      return;
    }
    const btn = $('verify-btn');
    btn.disabled = true;
    verdict.replaceChildren(banner('info', 'Checking\u2026'));
    let res;
    try {
      res = await verifyText(text, vkey);
    } catch (e) {
      verdict.replaceChildren(banner('bad', 'The check could not run', h('p', {}, e.message)));
      btn.disabled = false;
      return;
    }
    btn.disabled = false;
    const env = res.entry !== undefined ? parseEntry(res.entry) : null;
    if (res.ok) {
      // The receipt's tree size is the log's size when the receipt was
      // made; the log has grown since. Its size now is what this server
      // says (not verified here).
      res.now = await currentSize();
      verdict.replaceChildren(banner('ok', '\u2714 Verified: this receipt is in the log',
        h('p', {}, 'It is entry #' + res.index + ' of the log ' + res.origin + '. The receipt\u2019s checkpoint, signed with the key named below, ' +
          'covers the first ' + res.size + ' entries of the log: its size when the receipt was made. ' +
          (res.now !== null ? 'This server says the log now has ' + res.now + ' entries. ' : '') +
          'The log cannot remove or change the entry without being caught.'), keyNote(key)));
    } else {
      verdict.replaceChildren(banner('bad', '\u2718 Not verified: do not rely on this receipt',
        h('p', {}, 'Reason: ', h('code', {}, res.error)),
        h('p', {}, 'The receipt may have been changed, or it was signed with another key than the one above.'), keyNote(key)));
    }
    if (env) {
      const view = describe(env, res);
      if (res.ok) {
        details.append(view);
      } else {
        details.append(h('details', {}, h('summary', {}, 'What the receipt claims (not verified)'), view));
      }
    } else if (res.entry !== undefined) {
      details.append(h('p', {}, 'The logged entry in this receipt is not readable JSON.'));
    }
    if (!auto) $('h-result').focus();
    if (!res.ok || !env) return;

    state.receipt = JSON.parse(text);
    state.receiptText = text;
    state.body = env.body;
    if ($('remember').checked) save();
    if (res.contest_token) $('status-token').value = res.contest_token;
    setupContest(env, res);
  }

  function describe(env, res) {
    const b = env.body;
    const out = h('div', {});
    if (env.kind === 'decision') {
      const o = b.outcome || {};
      out.append(h('h3', {}, 'What was decided'));
      out.append(h('p', { class: 'action' }, ACTIONS[o.action] || String(o.action || 'unknown')));
      out.append(facts([
        ['Topic', o.category],
        ['Decision number', h('span', { class: 'mono' }, b.decision_id)],
        ['Decided by', b.system ? [b.system.operator, ' \u00b7 ', b.system.model, ' ', b.system.model_version].filter(Boolean).join('') : ''],
        ['Contestable', o.contestable ? 'Yes' : 'No'],
      ]));
      out.append(h('h3', {}, 'The explanation you were given'));
      out.append(h('blockquote', { class: 'explanation' }, o.explanation || '(none)'));
      const rules = Array.isArray(b.rules) ? b.rules : [];
      out.append(h('h3', {}, 'Rules cited'));
      if (b.constitution) {
        out.append(h('p', { class: 'hint' }, 'From the published rule book \u201c' + b.constitution.id +
          '\u201d, version ' + b.constitution.version + '.'));
      }
      if (rules.length) {
        out.append(h('ul', { class: 'rules' }, rules.map((r) =>
          h('li', {},
            h('span', { class: 'rule-id' }, r.rule_id),
            h('span', { class: 'effect ' + r.effect }, EFFECTS[r.effect] || r.effect),
            h('p', { class: 'rule-why' }, r.rationale || '')))));
      } else {
        out.append(h('p', {}, 'No rules cited.'));
      }
      const flags = Array.isArray(b.provenance_flags) ? b.provenance_flags : [];
      if (flags.length) {
        out.append(h('h3', {}, 'Notes the system raised'));
        out.append(h('ul', {}, flags.map((f) => h('li', {}, f.message || f.code))));
      }
    } else if (env.kind === 'contest') {
      out.append(h('h3', {}, 'A contest'));
      out.append(facts([
        ['Contest number', h('span', { class: 'mono' }, b.contest_id)],
        ['Against decision', b.decision && h('span', { class: 'mono' }, b.decision.decision_id)],
        ['Reason given', b.grounds && b.grounds.category],
        ['Asked for', b.remedy],
        ['Answer due by', b.due_by && when(b.due_by)],
      ]));
    } else if (env.kind === 'resolution') {
      out.append(h('h3', {}, 'A contest\u2019s resolution'));
      out.append(facts([
        ['Contest number', h('span', { class: 'mono' }, b.contest_id)],
        ['Outcome', OUTCOMES[b.outcome] || b.outcome],
        ['Why', b.rationale],
        ['Reviewed by a person', b.human_reviewed ? 'Yes' : 'No'],
      ]));
    } else {
      out.append(h('p', {}, 'A record of kind \u201c' + env.kind + '\u201d.'));
    }
    out.append(h('h3', {}, 'When and where it was logged'));
    out.append(facts([
      ['Logged at', when(env.logged_at)],
      ['Position', 'entry #' + res.index + ' (counting from 0)' +
        (res.ok ? ', in the receipt\u2019s checkpoint of ' + res.size + ' entries' : ', not verified')],
      ['Log size now', res.ok && res.now !== null && res.now !== undefined ? res.now + ' entries (as this server says)' : ''],
      ['Log', h('span', { class: 'mono' }, res.origin)],
      ['Log state (root hash)', res.root && h('span', { class: 'mono' }, res.root)],
    ]));
    return out;
  }

  function setupContest(env, res) {
    const o = (env.body && env.body.outcome) || {};
    const sec = $('contest');
    const form = $('contest-form');
    const intro = $('contest-result');
    if (env.kind !== 'decision') return;
    sec.hidden = false;
    intro.replaceChildren();
    if (!o.contestable) {
      form.hidden = true;
      intro.append(banner('info', 'This decision is logged as not contestable.'));
      return;
    }
    if (!res.contest_token) {
      form.hidden = true;
      intro.append(banner('info', 'This copy of the receipt has no contest token.',
        h('p', {}, 'Only the receipt given to you when the decision was made carries the token that lets you contest it.')));
      return;
    }
    form.hidden = false;
    state.contestId = null;
  }

  // ---- step 3: file a contest --------------------------------------------

  async function fileContest(ev) {
    ev.preventDefault();
    const text = $('contest-text');
    const err = $('contest-text-error');
    const out = $('contest-result');
    if (!text.value.trim()) {
      err.hidden = false;
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    err.hidden = true;
    text.removeAttribute('aria-invalid');
    if (!state.receipt || !state.body) {
      out.replaceChildren(banner('warn', 'Check your receipt first.'));
      return;
    }
    // One id per filing: a retry after a network error files the same contest.
    if (!state.contestId) state.contestId = 'con-' + randomHex(16);
    const token = state.receipt.contest_token;
    const req = {
      contest_id: state.contestId,
      decision_id: state.body.decision_id,
      contest_token: token,
      grounds: { category: $('contest-category').value, text: text.value },
      remedy: document.querySelector('input[name="remedy"]:checked').value,
    };
    const btn = $('contest-btn');
    btn.disabled = true;
    out.replaceChildren(banner('info', 'Filing your contest\u2026'));
    let resp;
    try {
      resp = await fetch('/v1/contests', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(req),
      });
    } catch (e) {
      btn.disabled = false;
      out.replaceChildren(banner('bad', 'Could not reach the server', h('p', {}, e.message + '. Try again: the same contest will be filed once.')));
      return;
    }
    btn.disabled = false;
    if (!resp.ok) {
      out.replaceChildren(banner('bad', 'The contest was not filed', h('p', {}, await apiError(resp))));
      return;
    }
    const j = await resp.json();
    const id = j.contest_id || state.contestId;
    const receiptText = JSON.stringify(j.receipt, null, 2);
    const res = await verifyText(JSON.stringify(j.receipt), keyFor(j.receipt && j.receipt.origin).vkey);
    const env = res.entry !== undefined ? parseEntry(res.entry) : null;
    const due = j.due_by || (env && env.body && env.body.due_by);
    const link = location.origin + location.pathname + '#contest=' + encodeURIComponent(id);
    out.replaceChildren(
      banner('ok', 'Your contest is filed', h('p', {}, 'A person must answer by ', when(due), '.')),
      facts([
        ['Contest number', h('span', { class: 'mono', id: 'contest-id-out' }, id)],
        ['Answer due by', when(due)],
        ['Contest receipt', res.ok
          ? h('span', { class: 'status-badge resolved', id: 'contest-receipt-verdict' }, '\u2714 verified: entry #' + res.index + ' in the log')
          : h('span', { class: 'status-badge overdue', id: 'contest-receipt-verdict' }, '\u2718 not verified: ' + res.error)],
        ['Come back', h('a', { href: link }, 'Link to check this contest later')],
      ]),
      h('p', {}, 'Keep your decision receipt: its contest token is needed to see the status. ',
        downloadLink('Download the contest receipt', id + '.receipt.json', receiptText), '.'),
      h('details', {}, h('summary', {}, 'Show the contest receipt'), h('pre', { class: 'json' }, receiptText)));
    $('status-id').value = id;
    $('status-token').value = token;
    state.contestId = null;
    if ($('remember').checked) save(id);
    await checkStatus();
  }

  // ---- contest status ----------------------------------------------------

  async function checkStatus(ev) {
    if (ev) ev.preventDefault();
    const id = $('status-id').value.trim();
    const token = $('status-token').value.trim();
    const out = $('status-result');
    if (!id || !token) {
      out.replaceChildren(banner('warn', 'Enter the contest number and the contest token.'));
      (id ? $('status-token') : $('status-id')).focus();
      return;
    }
    out.replaceChildren(banner('info', 'Checking\u2026'));
    let resp;
    try {
      resp = await fetch('/v1/contests/' + encodeURIComponent(id), {
        headers: { 'X-Contest-Token': token, Accept: 'application/json' },
      });
    } catch (e) {
      out.replaceChildren(banner('bad', 'Could not reach the server', h('p', {}, e.message)));
      return;
    }
    if (!resp.ok) {
      out.replaceChildren(banner('bad', 'No status', h('p', {}, await apiError(resp))));
      return;
    }
    const j = await resp.json();
    const status = String(j.status || 'unknown');
    const contest = await provenRecord(j, j.contest);
    const res = await provenRecord(j, j.resolution);
    const rows = [
      ['Contest number', h('span', { class: 'mono' }, j.contest_id || id)],
      ['Status', h('span', { class: 'status-badge ' + status, id: 'contest-status' }, STATUS[status] || status)],
      ['Answer due by', when(j.due_by)],
      ['Filed at', j.filed_at && when(j.filed_at)],
      ['Contest record', contest && proofText(contest, 'contest-record-verdict')],
    ];
    if (res) {
      const b = res.body || {};
      rows.push(['Outcome', h('strong', { id: 'resolution-outcome' }, OUTCOMES[b.outcome] || String(b.outcome))]);
      rows.push(['Why', b.rationale]);
      rows.push(['Reviewed by a person', b.human_reviewed ? 'Yes' : 'No']);
      if (Array.isArray(b.rule_changes) && b.rule_changes.length) {
        rows.push(['Rule changes', h('ul', {}, b.rule_changes.map((c) =>
          h('li', {}, h('span', { class: 'rule-id' }, c.rule_id), ': ', c.change,
            c.constitution_version ? ' (version ' + c.constitution_version + ')' : '')))]);
      }
      rows.push(['Resolution record', proofText(res, 'resolution-record-verdict')]);
    }
    out.replaceChildren(h('h3', {}, 'Contest status'), facts(rows));
  }

  function proofText(r, id) {
    return r.ok
      ? h('span', { class: 'status-badge resolved', id: id }, '\u2714 verified: entry #' + r.index + ' in the log')
      : h('span', { class: 'status-badge overdue', id: id }, '\u2718 not verified: ' + r.error);
  }

  // provenRecord checks a record of a GET /v1/contests/{id} answer
  // ({index, entry, leaf_hash, inclusion_proof}, proven against the
  // answer's checkpoint) in the browser, as a receipt, and returns the
  // verifier's result with the record's body.
  async function provenRecord(j, rec) {
    if (!rec || typeof rec.entry !== 'string') return null;
    // The records are proven against the answer's checkpoint: the origin
    // is its first line (the active shard's, where a contest of a
    // decision in an earlier shard is logged).
    const cp = typeof j.checkpoint === 'string' ? j.checkpoint : '';
    const origin = cp.split('\n', 1)[0] || (state.receipt && state.receipt.origin);
    const receipt = {
      origin: origin, index: rec.index, leaf_hash: rec.leaf_hash, entry: rec.entry,
      checkpoint: cp, inclusion_proof: rec.inclusion_proof,
    };
    if (state.logRead) await state.logRead;
    const res = await verifyText(JSON.stringify(receipt), keyFor(origin).vkey);
    const env = res.entry !== undefined ? parseEntry(res.entry) : null;
    res.body = env ? env.body : (rec.record && rec.record.body);
    return res;
  }

  // ---- storage (only when the person asks for it) -------------------------

  function save(contestId) {
    const prev = load() || {};
    const data = {
      receipt: state.receiptText || prev.receipt || '',
      vkey: $('vkey').value.trim(),
      contest_id: contestId || prev.contest_id || $('status-id').value.trim() || '',
    };
    try { localStorage.setItem(STORE, JSON.stringify(data)); } catch (e) { /* storage unavailable */ }
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || 'null'); } catch (e) { return null; }
  }

  function forget() {
    try { localStorage.removeItem(STORE); } catch (e) { /* storage unavailable */ }
  }

  // ---- wiring ------------------------------------------------------------

  function init() {
    $('receipt-form').addEventListener('submit', checkReceipt);
    $('contest-form').addEventListener('submit', fileContest);
    $('status-form').addEventListener('submit', checkStatus);
    $('vkey').addEventListener('input', () => {
      state.vkeyEdited = true;
      $('vkey-source').textContent = 'Using the key you entered.';
    });
    $('receipt-file').addEventListener('change', async (ev) => {
      const f = ev.target.files && ev.target.files[0];
      if (!f) return;
      if (f.size > 1 << 20) {
        $('verifier-state').textContent = 'That file is too large to be a receipt.';
        return;
      }
      $('receipt').value = await f.text();
      $('receipt-form').requestSubmit();
    });
    $('remember').addEventListener('change', (ev) => {
      if (ev.target.checked) {
        if (state.receiptText) save();
      } else {
        forget();
        if (state.vkeyEdited) $('vkey-source').textContent = 'Using the key above.';
      }
    });

    const saved = load();
    if (saved) {
      $('remember').checked = true;
      if (saved.receipt) $('receipt').value = saved.receipt;
      if (saved.vkey) {
        $('vkey').value = saved.vkey;
        state.vkeyEdited = true;
        $('vkey-source').textContent = 'The key you saved on this device.';
      }
      if (saved.contest_id) $('status-id').value = saved.contest_id;
    }
    const m = /^#contest=(.+)$/.exec(location.hash);
    if (m) $('status-id').value = decodeURIComponent(m[1]);
    state.logRead = loadKey();
    if (saved && saved.receipt) verifierReady.then(() => checkReceipt(null, true));
  }

  // The page's other scripts (explain.js, rules.js; loaded after this
  // file) build with the same helpers and share the verifier. subject is
  // the decision of the receipt checked and verified here (its id, contest
  // token, constitution and cited rules), or null.
  window.fjaPage = {
    h, banner, facts, when, randomHex, verifierReady, ACTIONS, EFFECTS, OUTCOMES,
    subject: () => (state.receipt && state.body ? { decision_id: state.body.decision_id, contest_token: state.receipt.contest_token || '',
      constitution: state.body.constitution || null, rules: state.body.rules || [] } : null),
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
