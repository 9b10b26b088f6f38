// FJA Ledger rules view: every rule of every constitution version with
// its history, its calibration figures (GET /v1/rules: aggregates only,
// no record detail) drawn as inline SVG, the open challenges and
// amendments with their deadlines, and a form to challenge a rule (POST
// /v1/challenges). Plain JavaScript, no library, no network but this
// server. Untrusted text enters the page only through textContent.
// It runs after app.js, whose helpers it uses (window.fjaPage).
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  // The SVG namespace: a name, never fetched (spelt in two parts so that
  // the page's self-containment check, which looks for URLs, passes).
  const SVG = ['http', '//www.w3.org/2000/svg'].join(':');

  // h, banner, when and randomHex are app.js's (loaded first).
  const { h, banner, when, randomHex } = window.fjaPage;

  function s(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    return el;
  }

  const pct = (x) => (Math.round(x * 1000) / 10).toLocaleString(undefined, { maximumFractionDigits: 1 }) + '%';
  const num = (x) => (Math.round(x * 100) / 100).toLocaleString(undefined, { maximumFractionDigits: 2 });

  // rateText says a Rate in words: "12 of 40 (30%; 95% interval 18% to 45%)".
  function rateText(r) {
    if (!r.n) return 'no decisions yet';
    return r.k + ' of ' + r.n + ' (' + pct(r.rate) + '; 95% interval ' + pct(r.lo) + ' to ' + pct(r.hi) + ')';
  }

  // rateChart draws a Rate on a 0–100% scale: the track, the interval as
  // a band, the rate as a mark. It scales with its box (viewBox).
  function rateChart(r, label) {
    const svg = s('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', class: 'chart', role: 'img',
      'aria-label': label + ': ' + rateText(r) });
    svg.append(s('rect', { x: 0, y: 3, width: 100, height: 4, class: 'chart-track' }));
    if (r.n) {
      svg.append(s('rect', { x: 100 * r.lo, y: 2, width: Math.max(0.6, 100 * (r.hi - r.lo)), height: 6, class: 'chart-ci' }));
      svg.append(s('rect', { x: Math.min(99, 100 * r.rate) - 0.6, y: 0, width: 1.2, height: 10, class: 'chart-rate' }));
    }
    return svg;
  }

  // diffChart draws a difference of rates on a −100…+100 scale with its
  // interval and the zero line.
  function diffChart(c) {
    const x = (d) => 50 + 50 * Math.max(-1, Math.min(1, d));
    const svg = s('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', class: 'chart', role: 'img',
      'aria-label': 'change ' + num(100 * c.difference) + ' points, 95% interval ' + num(100 * c.lo) + ' to ' + num(100 * c.hi) });
    svg.append(s('rect', { x: 0, y: 3, width: 100, height: 4, class: 'chart-track' }));
    svg.append(s('rect', { x: x(c.lo), y: 2, width: Math.max(0.6, x(c.hi) - x(c.lo)), height: 6, class: 'chart-ci' }));
    svg.append(s('rect', { x: 49.8, y: 0, width: 0.4, height: 10, class: 'chart-zero' }));
    svg.append(s('rect', { x: x(c.difference) - 0.6, y: 0, width: 1.2, height: 10, class: 'chart-rate' }));
    return svg;
  }

  function figure(label, r) {
    return h('div', { class: 'figure' },
      h('div', { class: 'figure-label' }, h('span', { class: 'figure-name' }, label), ' ', h('span', { class: 'figure-value' }, rateText(r))),
      rateChart(r, label));
  }

  // legend says once how to read every rule's figures and charts.
  function legend() {
    return h('details', { class: 'legend', open: true }, h('summary', {}, 'How to read the figures'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Led to a refusal'), h('dd', {}, 'Of the decisions that cited the rule, those where it required a refusal.'),
        h('dt', {}, 'Refusals contested'), h('dd', {}, 'Of those refusals, the ones the person concerned contested.'),
        h('dt', {}, 'Found wrong on review'), h('dd', {}, 'Of the contests a person has reviewed, those where the refusal was overturned in whole or in part: an estimate of how often the rule refuses wrongly.'),
        h('dt', {}, 'The bars'), h('dd', {}, 'Each bar runs from 0% to 100%. The dark mark is the rate; the light band around it is its 95% interval.')));
  }

  const CHANGES = { added: 'added', unchanged: 'unchanged', reworded: 'reworded', removed: 'removed' };
  const OPS = { add: 'adds it', reword: 'rewords it', remove: 'removes it', change_effect: 'changes its effect' };

  function challengeItem(c) {
    let status;
    if (c.status === 'answered') {
      status = 'answered: ' + (c.outcome === 'accepted' ? 'accepted' + (c.amendment_id ? ', to be changed by amendment ' + c.amendment_id : '') : 'rejected');
    } else if (new Date(c.due_by) <= new Date()) {
      status = 'overdue: no answer by the deadline of ';
    } else {
      status = 'open: answer due by ';
    }
    return h('li', { class: 'challenge-item' }, 'Challenge ', h('span', { class: 'mono' }, c.challenge_id), ' (' + c.category + ') ',
      h('span', { class: 'status-badge ' + (c.status === 'answered' ? 'resolved' : (new Date(c.due_by) <= new Date() ? 'overdue' : 'open')) }, status.split(':')[0]),
      ' ', status.slice(status.indexOf(':') + 1), c.status === 'answered' ? null : when(c.due_by));
  }

  function amendmentItem(a) {
    return h('li', { class: 'amendment-item' }, 'Amendment ', h('span', { class: 'mono' }, a.amendment_id), ' ' + (OPS[a.op] || a.op),
      a.text ? [': ', h('q', {}, a.text)] : null,
      a.adopted_by ? '; adopted in version ' + a.adopted_by + '.' : (a.comment_until ? ['; open for comments until ', when(a.comment_until), '.'] : '; not adopted yet.'));
  }

  function ruleView(c, r) {
    const cal = r.calibration;
    const hist = h('ol', { class: 'history' }, r.history.map((v) => h('li', {}, h('strong', {}, v.version), ' ' + (CHANGES[v.change] || v.change),
      v.change === 'reworded' ? [': ', h('q', {}, v.text)] : null)));
    return h('article', { class: 'rule', id: 'rule-' + c.constitution_id + '-' + c.version + '-' + r.rule_id },
      h('h4', {}, h('span', { class: 'rule-id' }, r.rule_id), ' ', h('span', { class: 'pillar' }, r.pillar)),
      h('p', { class: 'rule-text' }, r.text),
      h('details', {}, h('summary', {}, 'History across versions'), hist),
      h('div', { class: 'figures' },
        figure('Led to a refusal', cal.refusal),
        figure('Refusals contested', cal.contest),
        figure('Found wrong on review', cal.overturn)),
      r.challenges.length ? h('div', {}, h('h5', {}, 'Challenges'), h('ul', { class: 'records' }, r.challenges.map(challengeItem))) : null,
      r.amendments.length ? h('div', {}, h('h5', {}, 'Amendments'), h('ul', { class: 'records' }, r.amendments.map(amendmentItem))) : null);
  }

  function sensitivityView(x, minN) {
    const groups = h('ul', { class: 'groups' }, x.groups.map((g) => h('li', { class: 'group' + (g.included ? '' : ' excluded') },
      h('div', { class: 'figure-label' }, h('span', { class: 'figure-name' }, g.value), ' ', h('span', { class: 'figure-value' }, rateText(g.refusal)),
        g.included ? null : h('span', { class: 'tag' }, 'fewer than ' + minN + ' decisions: not compared')),
      rateChart(g.refusal, g.value + ' refusal rate'))));
    let ratio;
    if (x.ratio !== null && x.ratio !== undefined) {
      ratio = 'Refused ' + num(x.ratio) + ' times as often in ' + x.max + ' as in ' + x.min + ' (95% bounds ' +
        (x.ratio_lo !== null ? num(x.ratio_lo) : '0') + ' to ' + (x.ratio_hi !== null ? num(x.ratio_hi) : 'unbounded') + ').';
    } else if (x.max) {
      ratio = 'No ratio: ' + x.min + ' had no refusals.';
    } else {
      ratio = 'Too few groups with ' + minN + ' or more decisions to compare.';
    }
    return h('div', { class: 'sensitivity' }, h('h4', {}, x.category + ', by ' + x.by), h('p', { class: 'ratio' }, ratio), groups);
  }

  function changeView(c) {
    return h('li', { class: 'change' },
      h('div', { class: 'figure-label' }, h('span', { class: 'rule-id' }, c.rule_id), ' found wrong on review: ' + (c.before.n ? pct(c.before.rate) : 'no reviews') +
        ' under ' + c.from + ', ' + (c.after.n ? pct(c.after.rate) : 'no reviews') + ' under ' + c.to +
        '; change ' + num(100 * c.difference) + ' points (95% interval ' + num(100 * c.lo) + ' to ' + num(100 * c.hi) + ')' +
        (c.adopts && c.adopts.length ? '; ' + c.to + ' adopts ' + c.adopts.join(', ') : '') + '.'),
      diffChart(c));
  }

  let loaded = null;

  async function loadRules() {
    const state = $('rules-state');
    const out = $('rules-out');
    const btn = $('rules-btn');
    btn.disabled = true;
    state.replaceChildren(banner('info', 'Loading the rules\u2026'));
    let ans;
    try {
      const r = await fetch('/v1/rules', { headers: { Accept: 'application/json' } });
      if (r.status === 401 || r.status === 403) {
        state.replaceChildren(banner('warn', 'This server publishes rule figures to regulators only.',
          h('p', {}, 'Its operator has not made them public. You can still challenge a rule with the form below if you know it.')));
        btn.disabled = false;
        return;
      }
      if (!r.ok) throw new Error('the server answered ' + r.status);
      ans = await r.json();
    } catch (e) {
      state.replaceChildren(banner('bad', 'The rules could not be loaded', h('p', {}, e.message)));
      btn.disabled = false;
      return;
    }
    btn.disabled = false;
    loaded = ans;
    state.replaceChildren(h('p', { class: 'hint' }, 'Figures over log entries ' + ans.scanned.from + ' to ' + ans.scanned.to +
      ' (as of the checkpoint the answer names). A group needs ' + ans.min_n + ' decisions to be compared.'));
    const parts = [legend()];
    for (const c of ans.constitutions.slice().reverse()) {
      parts.push(h('section', { class: 'version' },
        h('h3', {}, c.constitution_id + ' ' + c.version),
        h('p', { class: 'hint' }, (c.supersedes ? 'Replaces version ' + c.supersedes + '. ' : 'First version. ') +
          (c.adopts && c.adopts.length ? 'Adopts amendments ' + c.adopts.join(', ') + '.' : '')),
        c.rules.map((r) => ruleView(c, r)),
        c.additions && c.additions.length ? h('div', {}, h('h5', {}, 'Proposed new rules'), h('ul', { class: 'records' }, c.additions.map(amendmentItem))) : null));
    }
    if (ans.changes.length) {
      parts.push(h('section', { class: 'version' }, h('h3', {}, 'What changed between versions'),
        h('ul', { class: 'changes' }, ans.changes.map(changeView))));
    }
    if (ans.sensitivity.length) {
      parts.push(h('section', { class: 'version' }, h('h3', {}, 'Refusals across places and languages'),
        h('p', {}, 'For each kind of request, how often it was refused in each jurisdiction and for each language, and how far apart the highest and lowest are.'),
        ans.sensitivity.map((x) => sensitivityView(x, ans.min_n))));
    }
    out.replaceChildren(...parts);
    fillRuleChoices(ans);
  }

  function fillRuleChoices(ans) {
    const sel = $('challenge-rule');
    sel.replaceChildren();
    for (const c of ans.constitutions.slice().reverse()) {
      for (const r of c.rules) {
        sel.append(h('option', { value: JSON.stringify({ constitution_id: c.constitution_id, version: c.version, rule_id: r.rule_id }) },
          c.constitution_id + ' ' + c.version + ' \u00b7 ' + r.rule_id + ': ' + r.text.slice(0, 60) + (r.text.length > 60 ? '\u2026' : '')));
      }
    }
    $('challenge').hidden = false;
    // A person who checked a receipt above challenges with its standing:
    // its decision, its contest token, the rule that refused.
    const sub = window.fjaPage.subject();
    if (sub && sub.contest_token && sub.constitution && !$('challenge-token').value) {
      $('standing-contest').checked = true;
      $('challenge-decision-field').hidden = false;
      $('challenge-decision').value = sub.decision_id;
      $('challenge-token').value = sub.contest_token;
      const cited = sub.rules.find((r) => r.effect === 'refuse') || sub.rules[0];
      const want = cited && JSON.stringify({ constitution_id: sub.constitution.id, version: sub.constitution.version, rule_id: cited.rule_id });
      if (want && [...sel.options].some((o) => o.value === want)) sel.value = want;
      $('challenge-prefill').textContent = 'Filled in from the receipt you checked above (decision ' + sub.decision_id + ').';
    }
  }

  let challengeId = null; // kept across retries of the same filing

  async function fileChallenge(ev) {
    ev.preventDefault();
    const text = $('challenge-text').value.trim();
    const token = $('challenge-token').value.trim();
    const stakeholder = $('standing-stakeholder').checked;
    const decision = $('challenge-decision').value.trim();
    const out = $('challenge-result');
    let bad = false;
    for (const [id, missing] of [['challenge-text', !text], ['challenge-token', !token]]) {
      $(id).setAttribute('aria-invalid', String(missing));
      $(id + '-error').hidden = !missing;
      bad = bad || missing;
    }
    if (!stakeholder && !decision) {
      $('challenge-decision').setAttribute('aria-invalid', 'true');
      bad = true;
    }
    if (bad) {
      out.replaceChildren(banner('warn', 'Please fill in the fields marked.'));
      return;
    }
    if (!challengeId) challengeId = 'chl-' + randomHex(12);
    const body = { challenge_id: challengeId, rule: JSON.parse($('challenge-rule').value), grounds: { category: $('challenge-category').value, text: text } };
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (stakeholder) headers.Authorization = 'Bearer ' + token;
    else { body.decision_id = decision; body.contest_token = token; }
    const btn = $('challenge-btn');
    btn.disabled = true;
    out.replaceChildren(banner('info', 'Filing\u2026'));
    try {
      const r = await fetch('/v1/challenges', { method: 'POST', headers, body: JSON.stringify(body) });
      let j = null;
      try { j = await r.json(); } catch (e) { /* not JSON */ }
      if (!r.ok) {
        const msg = j && j.error && j.error.message ? j.error.message : 'the server answered ' + r.status;
        out.replaceChildren(banner('bad', 'The challenge was not filed', h('p', {}, msg)));
        return;
      }
      challengeId = null;
      let proof = 'not checked (the verifier is not ready)';
      if (typeof window.fjaVerifyReceipt === 'function' && $('vkey') && $('vkey').value) {
        const v = window.fjaVerifyReceipt(JSON.stringify(j.receipt), $('vkey').value.trim());
        proof = v.ok ? '\u2714 verified: the challenge is entry #' + v.index + ' of the log' : '\u2718 not verified: ' + v.error;
      }
      out.replaceChildren(banner('ok', 'Your challenge is filed',
        h('p', {}, 'Challenge number: ', h('strong', { id: 'challenge-id-out', class: 'mono' }, j.challenge_id)),
        h('p', {}, 'Answer due by ', when(j.due_by), '.'),
        h('p', { id: 'challenge-receipt-verdict' }, 'Its receipt: ' + proof)));
      $('challenge-text').value = '';
      $('challenge-token').value = '';
      $('challenge-prefill').textContent = '';
    } catch (e) {
      out.replaceChildren(banner('bad', 'The challenge could not be sent', h('p', {}, e.message)));
    } finally {
      btn.disabled = false;
    }
  }

  function init() {
    $('rules-btn').addEventListener('click', loadRules);
    $('challenge-form').addEventListener('submit', fileChallenge);
    const standing = () => { $('challenge-decision-field').hidden = $('standing-stakeholder').checked; };
    $('standing-contest').addEventListener('change', standing);
    $('standing-stakeholder').addEventListener('change', standing);
    if (location.hash === '#rules') loadRules();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
