// FJA Ledger page: check an explanation file (GET
// /v1/decisions/{id}/explanation?download=1, or 'ledgerctl explain --out')
// in the browser with the verifier compiled to WebAssembly, which defines
// fjaVerifyExplanation(fileText, vkey). The file's content is shown only
// once it verified: then every rule text, score and flag shown is what the
// logged records say. Untrusted text only ever goes in with textContent.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const P = window.fjaPage;
  const { h, banner, facts, when } = P;

  function numbers(m) {
    return Object.keys(m || {}).sort().map((k) => k + ' ' + m[k]).join(', ');
  }

  function show(e, res) {
    const d = (e.decision && e.decision.record && e.decision.record.body) || {};
    const o = d.outcome || {};
    const c = (e.constitution && e.constitution.record && e.constitution.record.body) || {};
    const out = h('div', {});
    out.append(h('h3', {}, 'What was decided'));
    out.append(h('p', { class: 'action' }, P.ACTIONS[o.action] || String(o.action || 'unknown')));
    out.append(facts([
      ['Decision number', h('span', { class: 'mono' }, e.decision_id)],
      ['Topic', o.category],
      ['Logged at', when(e.decision.record.logged_at)],
      ['Log', h('span', { class: 'mono' }, res.origin)],
      ['Proven in', 'the checkpoint of ' + res.size + ' entries (entries #' + e.decision.index + ' and #' + e.constitution.index + ')'],
    ]));
    out.append(h('blockquote', { class: 'explanation' }, o.explanation || '(none)'));
    out.append(h('h3', {}, 'The rules applied, in full'));
    out.append(h('p', { class: 'hint' }, 'From the rule book \u201c' + c.constitution_id + '\u201d, version ' + c.version + ', as logged.'));
    out.append(h('ul', { class: 'rules', id: 'explanation-rules' }, e.rules.map((r) =>
      h('li', {},
        h('span', { class: 'rule-id' }, r.rule_id),
        h('span', { class: 'effect ' + r.effect }, P.EFFECTS[r.effect] || r.effect),
        h('p', { class: 'rule-text' }, r.text),
        h('p', { class: 'rule-why' }, 'Why it applied here: ' + (r.rationale || '(not given)'))))));
    out.append(h('h3', {}, 'How the answers were weighed'));
    const rows = [['Weights', numbers(e.weights)]];
    for (const cand of e.candidates || []) {
      rows.push(['Candidate ' + cand.id + (cand.selected ? ' (chosen)' : ''), numbers(cand.scores)]);
    }
    out.append(facts(rows));
    if (e.flags.length) {
      out.append(h('h3', {}, 'Notes on the sources'));
      out.append(h('ul', { id: 'explanation-flags' }, e.flags.map((f) => h('li', {}, f.plain_words))));
    }
    out.append(h('h3', {}, 'Contesting it'));
    const cw = e.contest_window;
    const contests = e.contests.map((pc) => {
      const b = pc.contest.record.body;
      const r = pc.resolution && pc.resolution.record.body;
      return h('li', {}, h('span', { class: 'mono' }, b.contest_id), ': ',
        r ? (P.OUTCOMES[r.outcome] || r.outcome) : ['open, answer due by ', when(b.due_by)]);
    });
    out.append(facts([
      ['Contestable until', cw ? h('span', { id: 'explanation-until' }, when(cw.contestable_until),
        new Date(cw.contestable_until) > new Date() ? ' (still open)' : ' (closed)') : 'Not contestable'],
      ['Contests filed', contests.length ? h('ul', {}, contests) : 'None'],
    ]));
    return out;
  }

  async function check(text) {
    const verdict = $('explanation-verdict');
    const details = $('explanation-details');
    const vkey = $('vkey').value.trim();
    details.replaceChildren();
    if (!vkey) {
      verdict.replaceChildren(banner('warn', 'The verifier key is empty: paste the log\u2019s verifier key above.'));
      return;
    }
    verdict.replaceChildren(banner('info', 'Checking\u2026'));
    await P.verifierReady;
    const res = window.fjaVerifyExplanation(text, vkey);
    if (!res.ok) {
      verdict.replaceChildren(banner('bad', '\u2718 Not verified: do not rely on this explanation',
        h('p', {}, 'Reason: ', h('code', {}, res.error)),
        h('p', {}, 'The file may have been changed (even one character), or it was signed with another key than the one above.')));
      return;
    }
    verdict.replaceChildren(banner('ok', '\u2714 Verified: this explanation is what the log says',
      h('p', {}, 'The decision and the rule book it cites are both in the log ' + res.origin +
        ', proven against one checkpoint signed with the key above. Every rule text, score and note below is taken from those logged records.')));
    details.append(show(JSON.parse(text), res));
  }

  $('explanation-file').addEventListener('change', async (ev) => {
    const f = ev.target.files && ev.target.files[0];
    if (!f) return;
    if (f.size > 4 << 20) {
      $('explanation-verdict').replaceChildren(banner('warn', 'That file is too large to be an explanation.'));
      return;
    }
    await check(await f.text());
  });
})();
