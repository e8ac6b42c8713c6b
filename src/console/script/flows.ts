/**
 * Console script part: the home page (flows, recent executions), a flow's page and its execute form.
 */
export const FLOWS_PART = String.raw`  // ---------- Views ----------
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
            el('td', {}, [statusBadge(r.status, r.recovered), r.stored === false ? el('span', { 'class': 'badge memory-only', title: 'Not stored (persistence policy): kept in this process\'s memory until evicted (EXECUTIONS_MAX) or the service restarts', text: 'memory only' }) : null]),
            el('td', { text: when(r.startedAt) }),
            el('td', { text: r.finishedAt ? ms(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : '—' }),
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
`;
