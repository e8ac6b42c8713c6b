/**
 * The console's browser script, served as /console/assets/console.js (a string so it ships inside
 * the compiled package with nothing to copy). Plain ES2017, no framework, no innerHTML for data:
 * every value from the API reaches the page as text nodes; only Mermaid's sanitised SVG is
 * inserted as markup. Written without backticks or template placeholders (it lives in String.raw).
 */
export const CONSOLE_SCRIPT = String.raw`(function () {
  'use strict';
  var app = document.getElementById('app');
  var KEY_STORAGE = 'flowd.apiKey';
  var RETRYABLE = { failed: 1, compensated: 1, timed_out: 1, cancelled: 1 };
  var diagramCount = 0;
  var mermaidReady = false;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      if (name === 'text') node.textContent = String(value);
      else if (name.slice(0, 2) === 'on') node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === undefined || child === null || child === false) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function show(children) { clear(app); children.forEach(function (c) { if (c) app.appendChild(c); }); }

  function api(path, init) {
    init = init || {};
    var headers = { accept: 'application/json' };
    var key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.authorization = 'Bearer ' + key;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.accept) headers.accept = init.accept;
    return fetch(path, { method: init.method || 'GET', headers: headers, body: init.body }).then(function (response) {
      var type = response.headers.get('content-type') || '';
      var read = type.indexOf('json') >= 0 ? response.json() : response.text();
      return read.then(function (body) { return { status: response.status, ok: response.ok, body: body }; });
    });
  }

  function problemText(result) {
    var body = result.body;
    if (body && typeof body === 'object' && body.code) {
      var text = body.code + ' (' + result.status + '): ' + (body.detail || body.title || '');
      if (Array.isArray(body.issues)) text += '\n' + body.issues.map(function (i) { return '  ' + i.path + ' ' + i.message; }).join('\n');
      return text;
    }
    return 'HTTP ' + result.status + ': ' + String(body).slice(0, 500);
  }

  function statusBadge(status, recovered) {
    return el('span', { 'class': 'status status-' + status, 'data-status': status, text: status + (recovered ? ' (recovered)' : '') });
  }

  function ms(value) { return value === undefined || value === null ? '—' : (Math.round(value * 10) / 10) + ' ms'; }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : '—'; }

  // ---------- Mermaid ----------
  function initMermaid() {
    if (mermaidReady || !window.mermaid) return !!window.mermaid;
    window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', flowchart: { htmlLabels: true } });
    mermaidReady = true;
    return true;
  }

  function renderDiagram(container, source) {
    clear(container);
    if (!initMermaid()) { container.appendChild(el('pre', { text: source })); return Promise.resolve(false); }
    diagramCount += 1;
    return window.mermaid.render('flowd-diagram-' + diagramCount, source).then(function (out) {
      container.innerHTML = out.svg; // sanitised by Mermaid (securityLevel strict)
      container.setAttribute('data-rendered', 'true');
      return true;
    }, function (error) {
      container.setAttribute('data-rendered', 'error');
      container.appendChild(el('p', { 'class': 'error', text: 'diagram error: ' + (error && error.message ? error.message : String(error)) }));
      container.appendChild(el('pre', { text: source }));
      return false;
    });
  }

  // ---------- Markdown (the generated flow documents) ----------
  function inline(text) {
    var nodes = [];
    var pattern = /(\x60+)([\s\S]*?[^\x60])\1(?!\x60)|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|<br>/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
      if (match[0] === '<br>') nodes.push(el('br'));
      else if (match[1]) nodes.push(el('code', { text: match[2].trim() }));
      else if (match[3]) nodes.push(el('strong', {}, inline(match[3])));
      else nodes.push(link(match[4], match[5]));
      last = pattern.lastIndex;
    }
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  function link(label, href) {
    var flowDoc = /^([a-z0-9][a-z0-9_-]*)\.md$/.exec(href);
    if (flowDoc) return el('a', { href: '#/flows/' + flowDoc[1] }, inline(label));
    if (/^(https?:\/\/|\/|#)/.test(href)) return el('a', { href: href }, inline(label));
    return el('span', {}, inline(label));
  }

  function splitRow(line) {
    var cells = [];
    var current = '';
    var body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
    for (var i = 0; i < body.length; i += 1) {
      var c = body[i];
      if (c === '\\' && body[i + 1] === '|') { current += '|'; i += 1; }
      else if (c === '|') { cells.push(current.trim()); current = ''; }
      else current += c;
    }
    cells.push(current.trim());
    return cells;
  }

  function markdown(text, diagrams) {
    var lines = text.split('\n');
    var out = [];
    var i = 0;
    var isBlockStart = function (line) { return /^(\x60{3,}|#{1,6}\s|\||\s*- |!!! |>|<!--)/.test(line); };
    while (i < lines.length) {
      var line = lines[i];
      var fence = /^(\x60{3,})(\w*)\s*$/.exec(line);
      if (fence) {
        var body = [];
        i += 1;
        while (i < lines.length && lines[i].indexOf(fence[1]) !== 0) { body.push(lines[i]); i += 1; }
        i += 1;
        if (fence[2] === 'mermaid') {
          var box = el('div', { 'class': 'diagram doc-diagram' });
          diagrams.push({ box: box, source: body.join('\n') });
          out.push(box);
        } else out.push(el('pre', {}, [el('code', { 'class': fence[2] ? 'language-' + fence[2] : undefined, text: body.join('\n') })]));
        continue;
      }
      var heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) { out.push(el('h' + heading[1].length, {}, inline(heading[2]))); i += 1; continue; }
      if (/^<!--/.test(line) || line.trim() === '') { i += 1; continue; }
      if (/^\|/.test(line)) {
        var rows = [];
        while (i < lines.length && /^\|/.test(lines[i])) { rows.push(splitRow(lines[i])); i += 1; }
        var head = rows.shift() || [];
        if (rows.length && rows[0].every(function (c) { return /^:?-+:?$/.test(c); })) rows.shift();
        out.push(el('table', {}, [
          el('thead', {}, [el('tr', {}, head.map(function (c) { return el('th', {}, inline(c)); }))]),
          el('tbody', {}, rows.map(function (r) { return el('tr', {}, r.map(function (c) { return el('td', {}, inline(c)); })); })),
        ]));
        continue;
      }
      var admonition = /^!!! (\w+)(?: "(.*)")?/.exec(line);
      if (admonition) {
        var inner = [];
        i += 1;
        while (i < lines.length && /^ {4}/.test(lines[i])) { inner.push(lines[i].slice(4)); i += 1; }
        out.push(el('div', { 'class': 'admonition admonition-' + admonition[1] }, [el('strong', { text: admonition[2] || admonition[1] })].concat(markdown(inner.join('\n'), diagrams))));
        continue;
      }
      if (/^\s*- /.test(line)) {
        var items = [];
        while (i < lines.length && /^\s*- /.test(lines[i])) { items.push(el('li', {}, inline(lines[i].replace(/^\s*- /, '')))); i += 1; }
        out.push(el('ul', {}, items));
        continue;
      }
      if (/^>/.test(line)) {
        var quote = [];
        while (i < lines.length && /^>/.test(lines[i])) { quote.push(lines[i].replace(/^>\s?/, '')); i += 1; }
        out.push(el('blockquote', {}, inline(quote.join(' '))));
        continue;
      }
      var para = [];
      while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !isBlockStart(lines[i]))) { para.push(lines[i]); i += 1; }
      var p = el('p');
      para.forEach(function (l, n) { if (n > 0) p.appendChild(el('br')); inline(l).forEach(function (node) { p.appendChild(node); }); });
      out.push(p);
    }
    return out;
  }

  function renderDocument(container, text) {
    var diagrams = [];
    clear(container);
    markdown(text, diagrams).forEach(function (node) { container.appendChild(node); });
    // One after the other: Mermaid renders through shared state.
    return diagrams.reduce(function (chain, d) { return chain.then(function () { return renderDiagram(d.box, d.source); }); }, Promise.resolve());
  }

  // ---------- Views ----------
  function home() {
    var flows = el('div', { 'class': 'cards', id: 'flow-list' }, [el('p', { 'class': 'muted', text: 'Loading flows…' })]);
    var executions = el('div', { id: 'recent-executions' }, [el('p', { 'class': 'muted', text: 'Loading executions…' })]);
    var reload = el('div', { id: 'reload-problems' });
    show([
      reload,
      el('h1', { text: 'Flows' }), flows,
      el('h2', {}, ['Recent executions ', el('button', { 'class': 'secondary', type: 'button', onclick: function () { loadExecutions(executions); }, text: 'Refresh' })]),
      executions,
    ]);
    api('/flows').then(function (result) {
      clear(flows);
      if (!result.ok) { flows.appendChild(el('p', { 'class': 'error', text: problemText(result) })); return; }
      result.body.flows.forEach(function (flow) {
        flows.appendChild(el('div', { 'class': 'card flow-card', 'data-flow': flow.name }, [
          el('h3', {}, [el('a', { href: '#/flows/' + flow.name, text: flow.name }), ' ', el('span', { 'class': 'muted', text: 'v' + flow.version + (flow.versions.length > 1 ? ' (loaded: ' + flow.versions.join(', ') + ')' : '') })]),
          el('p', { text: flow.description }),
        ]));
      });
    });
    loadExecutions(executions);
    // A reload that was rejected: its problems, while the flows loaded before keep serving.
    api('/catalog').then(function (result) {
      if (!result.ok || result.body.lastReload.outcome !== 'rejected') return;
      reload.appendChild(el('div', { 'class': 'card error' }, [
        el('p', { text: 'The last reload of the flows was rejected; the flows loaded before keep serving. Fix:' }),
        el('ul', {}, result.body.lastReload.problems.map(function (line) { return el('li', {}, [el('code', { text: line })]); })),
      ]));
    });
  }

  function loadExecutions(container, flow) {
    return api('/executions?limit=25' + (flow ? '&flow=' + encodeURIComponent(flow) : '')).then(function (result) {
      clear(container);
      if (!result.ok) { container.appendChild(el('p', { 'class': 'error', text: problemText(result) })); return; }
      if (result.body.items.length === 0) { container.appendChild(el('p', { 'class': 'muted', text: 'No executions yet.' })); return; }
      container.appendChild(el('table', { 'class': 'executions' }, [
        el('thead', {}, [el('tr', {}, ['Execution', 'Flow', 'Status', 'Started', 'Duration'].map(function (h) { return el('th', { text: h }); }))]),
        el('tbody', {}, result.body.items.map(function (r) {
          return el('tr', { 'data-execution': r.executionId }, [
            el('td', {}, [el('a', { href: '#/executions/' + r.executionId }, [el('code', { text: r.executionId })])]),
            el('td', {}, [el('a', { href: '#/flows/' + r.flow, text: r.flow })]),
            el('td', {}, [statusBadge(r.status, r.recovered)]),
            el('td', { text: when(r.startedAt) }),
            el('td', { text: ms(r.durationMs) }),
          ]);
        })),
      ]));
    });
  }

  function flowPage(name) {
    var diagram = el('div', { 'class': 'diagram', id: 'flow-diagram' });
    var form = el('form', { 'class': 'execute', id: 'execute-form' });
    var doc = el('div', { 'class': 'doc', id: 'flow-doc' }, [el('p', { 'class': 'muted', text: 'Loading the document…' })]);
    var executions = el('div', {}, [el('p', { 'class': 'muted', text: 'Loading…' })]);
    show([el('p', {}, [el('a', { href: '#/', text: '← all flows' })]), el('h1', { text: name })]);
    api('/flows/' + encodeURIComponent(name)).then(function (result) {
      if (!result.ok) { app.appendChild(el('p', { 'class': 'error', text: problemText(result) })); return; }
      var flow = result.body;
      app.appendChild(el('p', { text: 'Version ' + flow.version + ' — ' + flow.description }));
      if (flow.versions.length > 1) {
        app.appendChild(el('p', { id: 'flow-versions', text: 'Loaded versions: ' + flow.versions.map(function (v) { return v.version + (v.current ? ' (current)' : '') + ' from ' + v.source; }).join('; ') }));
      }
      if (flow.schedules && flow.schedules.length > 0) {
        app.appendChild(el('h2', { text: 'Schedules' }));
        app.appendChild(el('ul', { id: 'flow-schedules' }, flow.schedules.map(function (s) { return el('li', { text: s.name + ': ' + s.cron + ' (' + s.timezone + ', missed: ' + s.missed + ') — next ' + (s.nextOccurrence || 'never') + (s.lastFired ? ', last fired ' + s.lastFired : '') }); })));
      }
      app.appendChild(el('h2', { text: 'Diagram' }));
      app.appendChild(diagram);
      app.appendChild(el('h2', { text: 'Execute' }));
      buildForm(form, flow);
      app.appendChild(form);
      app.appendChild(el('h2', { text: 'Recent executions of this flow' }));
      app.appendChild(executions);
      app.appendChild(el('h2', { text: 'Document' }));
      app.appendChild(doc);
      renderDiagram(diagram, flow.diagram);
      loadExecutions(executions, flow.name);
      api('/flows/' + encodeURIComponent(name) + '/doc', { accept: 'text/markdown' }).then(function (docResult) {
        if (!docResult.ok) { clear(doc).appendChild(el('p', { 'class': 'error', text: problemText(docResult) })); return; }
        renderDocument(doc, docResult.body);
      });
    });
  }

  function buildForm(form, flow) {
    var names = Object.keys(flow.examples || {});
    var input = el('textarea', { id: 'execute-input', name: 'input', spellcheck: 'false', 'aria-label': 'input (JSON)' });
    input.value = JSON.stringify(names.length ? flow.examples[names[0]] : {}, null, 2);
    var select = el('select', { id: 'execute-example', 'aria-label': 'example' }, names.map(function (n) { return el('option', { value: n, text: n }); }));
    select.addEventListener('change', function () { input.value = JSON.stringify(flow.examples[select.value], null, 2); });
    var message = el('p', { 'class': 'error', id: 'execute-error' });
    var button = el('button', { type: 'submit', id: 'execute-button', text: 'Execute' });
    var version = el('select', { id: 'execute-version', 'aria-label': 'version' }, flow.versions.map(function (v) { return el('option', { value: v.current ? '' : v.version, text: 'v' + v.version + (v.current ? ' (current)' : '') }); }));
    version.value = '';
    form.appendChild(el('div', { 'class': 'row' }, names.length ? [el('label', { 'for': 'execute-example', text: 'Example' }), select] : [el('span', { 'class': 'muted', text: 'This flow has no examples; write an input below.' })]));
    form.appendChild(input);
    form.appendChild(el('div', { 'class': 'row' }, flow.versions.length > 1 ? [el('label', { 'for': 'execute-version', text: 'Version' }), version, button] : [button]));
    form.appendChild(message);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      message.textContent = '';
      var value;
      try { value = JSON.parse(input.value); } catch (error) { message.textContent = 'The input is not valid JSON: ' + error.message; return; }
      button.disabled = true;
      button.textContent = 'Running…';
      var path = '/flows/' + encodeURIComponent(flow.name) + (version.value ? '/versions/' + encodeURIComponent(version.value) : '') + '/execute';
      api(path, { method: 'POST', body: JSON.stringify({ input: value }) }).then(function (result) {
        button.disabled = false;
        button.textContent = 'Execute';
        var record = result.ok ? result.body : result.body && result.body.execution;
        if (record && record.executionId) { location.hash = '#/executions/' + record.executionId; return; }
        message.textContent = problemText(result);
      }, function (error) {
        button.disabled = false;
        button.textContent = 'Execute';
        message.textContent = String(error);
      });
    });
  }

  var PRIORITY = ['failed', 'compensated', 'cancelled', 'running', 'fallback', 'restored', 'cached', 'ok'];

  function phaseClass(phase) {
    if (phase.status === 'failed') return 'failed';
    if (phase.status === 'compensated') return 'compensated';
    if (phase.status === 'cancelled') return 'cancelled';
    if (phase.status === 'running') return 'running';
    if (phase.fallback) return 'fallback';
    if (phase.restored) return 'restored';
    if (phase.cached) return 'cached';
    return 'ok';
  }

  /** The flow's diagram with every phase node classed by its outcome in this execution. */
  function colouredDiagram(diagram, record, phaseIds) {
    var outcome = {};
    var kinds = {};
    record.phases.forEach(function (phase) {
      var c = phaseClass(phase);
      var previous = outcome[phase.id];
      if (!previous || PRIORITY.indexOf(c) < PRIORITY.indexOf(previous)) outcome[phase.id] = c;
      kinds[phase.id] = phase.kind;
    });
    var defined = {};
    diagram.split('\n').forEach(function (line) { var m = /^\s*(p_[A-Za-z0-9_]+)[\[\(\{\/\\]/.exec(line); if (m) defined[m[1]] = true; });
    var lines = [diagram.replace(/\s+$/, ''),
      '  classDef ok fill:#d1fae5,stroke:#059669,color:#064e3b',
      '  classDef failed fill:#fee2e2,stroke:#dc2626,color:#7f1d1d',
      '  classDef compensated fill:#fef3c7,stroke:#d97706,color:#78350f',
      '  classDef cancelled fill:#f3f4f6,stroke:#6b7280,color:#374151',
      '  classDef running fill:#dbeafe,stroke:#1d4ed8,color:#1e3a8a',
      '  classDef fallback fill:#ffedd5,stroke:#ea580c,color:#7c2d12',
      '  classDef restored fill:#ede9fe,stroke:#7c3aed,color:#4c1d95',
      '  classDef cached fill:#e0f2fe,stroke:#0284c7,color:#0c4a6e',
      '  classDef notrun fill:#ffffff,stroke:#d1d5db,color:#9ca3af'];
    phaseIds.forEach(function (id) {
      var nodes = ['p_' + id, 'p_' + id + '_fork', 'p_' + id + '_join'].filter(function (n) { return defined[n]; });
      if (nodes.length) lines.push('  class ' + nodes.join(',') + ' ' + (outcome[id] || 'notrun'));
    });
    return lines.join('\n') + '\n';
  }

  function executionPage(id) {
    var diagram = el('div', { 'class': 'diagram', id: 'execution-diagram' });
    var logs = el('div', { id: 'execution-logs' }, [el('p', { 'class': 'muted', text: 'Loading logs…' })]);
    show([el('p', {}, [el('a', { href: '#/', text: '← flows & executions' })]), el('h1', {}, ['Execution ', el('code', { text: id })])]);
    api('/executions/' + encodeURIComponent(id)).then(function (result) {
      if (!result.ok) { app.appendChild(el('p', { 'class': 'error', text: problemText(result) })); return; }
      var record = result.body;
      app.appendChild(summary(record));
      app.appendChild(el('h2', { text: 'Diagram' }));
      app.appendChild(el('p', { 'class': 'legend muted' }, ['Phases coloured by outcome: ', el('span', { text: 'green succeeded' }), el('span', { text: 'red failed' }), el('span', { text: 'amber compensated' }), el('span', { text: 'orange fallback' }), el('span', { text: 'blue cached / running' }), el('span', { text: 'violet restored' }), el('span', { text: 'white did not run' })]));
      app.appendChild(diagram);
      app.appendChild(el('h2', { text: 'Timeline' }));
      app.appendChild(timeline(record));
      if (record.compensations && record.compensations.length) {
        app.appendChild(el('h2', { text: 'Compensations' }));
        app.appendChild(el('table', {}, [el('tbody', {}, record.compensations.map(function (c) {
          return el('tr', {}, [el('td', {}, [el('code', { text: c.phase + (c.index === undefined ? '' : '#' + c.index) })]), el('td', { text: c.status }), el('td', { text: c.attempts + ' attempt(s)' }), el('td', { text: c.error ? c.error.code + ': ' + c.error.message : '' })]);
        }))]));
      }
      app.appendChild(el('h2', { text: 'Logs' }));
      app.appendChild(logs);
      api('/flows/' + encodeURIComponent(record.flow)).then(function (flowResult) {
        if (!flowResult.ok) { diagram.appendChild(el('p', { 'class': 'error', text: problemText(flowResult) })); return; }
        renderDiagram(diagram, colouredDiagram(flowResult.body.diagram, record, flowResult.body.phases));
      });
      api('/executions/' + encodeURIComponent(id) + '/logs').then(function (logResult) {
        clear(logs);
        if (!logResult.ok) { logs.appendChild(el('p', { 'class': 'error', text: problemText(logResult) })); return; }
        if (!logResult.body.length) { logs.appendChild(el('p', { 'class': 'muted', text: 'No log lines were kept for this execution.' })); return; }
        logs.appendChild(el('table', { 'class': 'logs' }, [
          el('thead', {}, [el('tr', {}, ['Time', 'Level', 'Message', 'Fields'].map(function (h) { return el('th', { text: h }); }))]),
          el('tbody', {}, logResult.body.map(function (entry) {
            var fields = {};
            Object.keys(entry).forEach(function (k) { if (k !== 'time' && k !== 'level' && k !== 'msg') fields[k] = entry[k]; });
            return el('tr', {}, [el('td', { text: entry.time }), el('td', { text: entry.level }), el('td', { text: entry.msg }), el('td', {}, [el('code', { text: JSON.stringify(fields) })])]);
          })),
        ]));
      });
    });
  }

  function summary(record) {
    var facts = el('dl', { 'class': 'facts', id: 'execution-summary' });
    var add = function (label, value) { facts.appendChild(el('dt', { text: label })); facts.appendChild(el('dd', {}, [value])); };
    add('Flow', el('a', { href: '#/flows/' + record.flow, text: record.flow + ' v' + record.version }));
    add('Status', statusBadge(record.status, record.recovered));
    add('Started', document.createTextNode(when(record.startedAt)));
    add('Duration', document.createTextNode(ms(record.durationMs)));
    add('Handled', document.createTextNode('errorHandled ' + record.errorHandled + ', fallbackExecuted ' + record.fallbackExecuted + ', recovered ' + record.recovered));
    if (record.error) add('Error', el('span', { 'class': 'error', text: record.error.code + (record.error.phase ? ' in ' + record.error.phase : '') + ': ' + record.error.message }));
    [['parentId', 'Parent'], ['retryOf', 'Retry of'], ['recoveryExecutionId', 'Recovery execution']].forEach(function (pair) {
      if (record[pair[0]]) add(pair[1], el('a', { href: '#/executions/' + record[pair[0]] }, [el('code', { text: record[pair[0]] })]));
    });
    (record.triggered || []).forEach(function (t) { add('Triggered', el('a', { href: '#/executions/' + t }, [el('code', { text: t })])); });
    if (record.output !== undefined) add('Output', el('pre', { text: JSON.stringify(record.output, null, 2) }));
    if (RETRYABLE[record.status]) {
      var status = el('span', { 'class': 'error' });
      add('Retry', el('span', {}, [el('button', { type: 'button', id: 'retry-button', text: 'Retry from the failed phase', onclick: function () {
        api('/executions/' + record.executionId + '/retry', { method: 'POST' }).then(function (result) {
          var next = result.ok ? result.body : result.body && result.body.execution;
          if (next && next.executionId) location.hash = '#/executions/' + next.executionId;
          else status.textContent = ' ' + problemText(result);
        });
      } }), status]));
    }
    return facts;
  }

  function timeline(record) {
    var start = Date.parse(record.startedAt);
    var total = Math.max(record.durationMs || 0, 1);
    record.phases.forEach(function (p) { total = Math.max(total, Date.parse(p.startedAt) - start + (p.durationMs || 0)); });
    return el('table', { 'class': 'timeline', id: 'execution-timeline' }, [
      el('thead', {}, [el('tr', {}, ['Phase', 'Kind', 'Status', 'Attempts', 'Start', 'Duration', '', 'Notes'].map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', {}, record.phases.map(function (p) {
        var offset = Math.max(0, Date.parse(p.startedAt) - start);
        var bar = el('span');
        bar.style.left = (offset / total * 100) + '%';
        bar.style.width = ((p.durationMs || 0) / total * 100) + '%';
        var notes = [p.component ? 'component ' + p.component : '', p.branch ? 'branch ' + p.branch : '', p.cached ? 'cached' : '', p.fallback ? 'fallback' : '', p.restored ? 'restored' : '', p.error ? p.error.code + ': ' + p.error.message : ''].filter(Boolean).join('; ');
        return el('tr', { 'class': p.status, 'data-phase': p.id, 'data-status': p.status }, [
          el('td', {}, [el('code', { text: p.id + (p.index === undefined ? '' : '#' + p.index) + (p.iteration === undefined ? '' : '@' + p.iteration) })]),
          el('td', { text: p.kind }),
          el('td', { text: p.status }),
          el('td', { text: String(p.attempts) }),
          el('td', { text: '+' + offset + ' ms' }),
          el('td', { text: ms(p.durationMs) }),
          el('td', {}, [el('div', { 'class': 'bar' }, [bar])]),
          el('td', {}, p.childExecutionId ? [notes, ' ', el('a', { href: '#/executions/' + p.childExecutionId, text: 'sub-flow execution' })] : [notes]),
        ]);
      })),
    ]);
  }

  function route() {
    var hash = location.hash.replace(/^#/, '') || '/';
    var flow = /^\/flows\/([^/]+)$/.exec(hash);
    var execution = /^\/executions\/([^/]+)$/.exec(hash);
    if (flow) flowPage(decodeURIComponent(flow[1]));
    else if (execution) executionPage(decodeURIComponent(execution[1]));
    else home();
    window.scrollTo(0, 0);
  }

  var keyForm = document.getElementById('key-form');
  var keyInput = document.getElementById('api-key');
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || '';
  keyForm.addEventListener('submit', function (event) {
    event.preventDefault();
    if (keyInput.value) sessionStorage.setItem(KEY_STORAGE, keyInput.value); else sessionStorage.removeItem(KEY_STORAGE);
    route();
  });
  window.addEventListener('hashchange', route);
  route();
})();
`;
