/**
 * Console script part: an execution's page — summary, coloured diagram, timeline, compensations, logs.
 */
export const EXECUTION_PART = String.raw`  function executionPage(id) {
    var diagram = el('div', { 'class': 'diagram', id: 'execution-diagram' });
    var logs = el('div', { id: 'execution-logs' }, [el('p', { 'class': 'muted', text: 'Loading logs…' })]);
    show([el('p', {}, [el('a', { href: '#/', text: '← flows & executions' })]), el('h1', {}, ['Execution ', el('code', { text: id })])]);
    api('/executions/' + encodeURIComponent(id)).then(function (result) {
      if (!result.ok) { app.appendChild(el('p', { 'class': 'error', text: problemText(result) })); return; }
      var record = result.body;
      var flowInfo = api('/flows/' + encodeURIComponent(record.flow));
      // The flow's own capture policy (undefined: the service's CAPTURE), for calls not captured.
      var capture = flowInfo.then(function (r) { return r.ok && r.body.definition ? r.body.definition.capture : undefined; });
      app.appendChild(summary(record));
      app.appendChild(el('h2', { text: 'Diagram' }));
      app.appendChild(el('p', { 'class': 'legend muted' }, ['Phases coloured by outcome: ', el('span', { text: 'green succeeded' }), el('span', { text: 'red failed' }), el('span', { text: 'amber compensated' }), el('span', { text: 'orange fallback' }), el('span', { text: 'blue cached / running' }), el('span', { text: 'violet restored' }), el('span', { text: 'white did not run' })]));
      app.appendChild(diagram);
      app.appendChild(el('h2', { text: 'Timeline' }));
      app.appendChild(el('p', { 'class': 'muted', text: 'Open a phase (▸) for each attempt\'s request and response and the phase\'s output.' }));
      if (record.capturesTruncated) app.appendChild(el('p', { 'class': 'warning', id: 'captures-truncated', text: 'Captures truncated: this execution ran out of capture budget (CAPTURE_MAX_BYTES); some requests, responses and log lines were not kept.' }));
      app.appendChild(timeline(record, capture));
      if (record.compensations && record.compensations.length) {
        app.appendChild(el('h2', { text: 'Compensations' }));
        app.appendChild(compensationsTable(record, capture));
      }
      app.appendChild(el('h2', { text: 'Logs' }));
      app.appendChild(logs);
      flowInfo.then(function (flowResult) {
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
    if (record.tenant) add('Tenant', document.createTextNode(record.tenant));
    add('Duration', document.createTextNode(ms(record.durationMs)));
    add('Handled', document.createTextNode('errorHandled ' + record.errorHandled + ', fallbackExecuted ' + record.fallbackExecuted + ', recovered ' + record.recovered));
    if (record.error) add('Error', el('span', { 'class': 'error', text: record.error.code + (record.error.phase ? ' in ' + record.error.phase : '') + ': ' + record.error.message }));
    [['parentId', 'Parent'], ['retryOf', 'Retry of'], ['recoveryExecutionId', 'Recovery execution']].forEach(function (pair) {
      if (record[pair[0]]) add(pair[1], el('a', { href: '#/executions/' + record[pair[0]] }, [el('code', { text: record[pair[0]] })]));
    });
    (record.triggered || []).forEach(function (t) { add('Triggered', el('a', { href: '#/executions/' + t }, [el('code', { text: t })])); });
    (record.triggersRefused || []).forEach(function (r) { add('Trigger refused', el('span', { 'class': 'error', text: r.flow + ': ' + r.error.code + ': ' + r.error.message })); });
    if (record.output !== undefined) add('Output', el('pre', { text: JSON.stringify(record.output, null, 2) }));
    if (record.waiting) add('Waiting', waitingView(record));
    if (NOT_RETRYABLE[record.status]) add('Retry', el('span', { 'class': 'muted', id: 'retry-reason', text: 'Not offered: ' + NOT_RETRYABLE[record.status] }));
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

  /** What a waiting execution waits for, with a form to send its signal (docs/waits.md) and a cancel button. */
  function waitingView(record) {
    var w = record.waiting;
    var text = 'at phase ' + w.phase + ' for ' + (w.for === 'signal' ? 'signal "' + w.signal + '"' : w.for === 'callback' ? 'its callback' : 'a time') + ' until ' + when(w.until);
    var out = el('p', { 'class': 'error', id: 'signal-status' });
    var parts = [el('span', { id: 'waiting-for', text: text })];
    if (w.for === 'signal') {
      var payload = el('textarea', { id: 'signal-payload', rows: 4, cols: 60, 'aria-label': 'signal payload (JSON)' });
      payload.value = '{}';
      var form = el('form', { id: 'signal-form' }, [el('label', { text: 'Payload of signal ' + w.signal + ' (JSON)' }), payload, el('button', { type: 'submit', id: 'signal-send', text: 'Send signal' }), out]);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var value;
        try { value = JSON.parse(payload.value); } catch (error) { out.textContent = 'not JSON: ' + error.message; return; }
        api('/executions/' + record.executionId + '/signals/' + encodeURIComponent(w.signal), { method: 'POST', body: JSON.stringify({ payload: value }) }).then(function (result) {
          if (result.ok) { out.textContent = ''; setTimeout(route, 500); } else out.textContent = problemText(result);
        });
      });
      parts.push(form);
    }
    parts.push(el('button', { type: 'button', 'class': 'secondary', id: 'cancel-button', text: 'Cancel the execution', onclick: function () {
      api('/executions/' + record.executionId + '/cancel', { method: 'POST' }).then(function (result) {
        if (result.ok) setTimeout(route, 500); else out.textContent = problemText(result);
      });
    } }));
    return el('div', {}, parts);
  }

  function timeline(record, capture) {
    var start = Date.parse(record.startedAt);
    var total = Math.max(record.durationMs || 0, 1);
    record.phases.forEach(function (p) { total = Math.max(total, Date.parse(p.startedAt) - start + (p.durationMs || 0)); });
    return el('table', { 'class': 'timeline', id: 'execution-timeline' }, [
      el('thead', {}, [el('tr', {}, ['Phase', 'Kind', 'Status', 'Attempts', 'Start', 'Duration', '', 'Notes'].map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', {}, record.phases.reduce(function (rows, p, n) {
        var offset = Math.max(0, Date.parse(p.startedAt) - start);
        var bar = el('span');
        bar.style.left = (offset / total * 100) + '%';
        bar.style.width = ((p.durationMs || 0) / total * 100) + '%';
        var notes = [p.component ? 'component ' + p.component : '', p.branch ? 'branch ' + p.branch : '', p.cached ? 'cached' : '', p.fallback ? 'fallback' : '', p.restored ? 'restored' : '', p.error ? p.error.code + ': ' + p.error.message : ''].filter(Boolean).join('; ');
        var row = el('tr', { 'class': p.status, 'data-phase': p.id, 'data-status': p.status }, [
          el('td', {}, [el('code', { text: p.id + (p.index === undefined ? '' : '#' + p.index) + (p.iteration === undefined ? '' : '@' + p.iteration) })]),
          el('td', { text: p.kind }),
          el('td', { text: p.status }),
          el('td', { text: String(p.attempts) }),
          el('td', { text: '+' + offset + ' ms' }),
          el('td', { text: ms(p.durationMs) }),
          el('td', {}, [el('div', { 'class': 'bar' }, [bar])]),
          el('td', {}, p.childExecutionId ? [notes, ' ', el('a', { href: '#/executions/' + p.childExecutionId, text: 'sub-flow execution' })] : [notes]),
        ]);
        return rows.concat(expandable(row, 8, 'phase-' + n, function () { return phaseDetail(p, capture, record.capturesTruncated); }));
      }, [])),
    ]);
  }
`;
