/**
 * Console script part: what a phase or a compensation did, opened from its row — each attempt's
 * request and response (or error and what the upstream said) as the journal captured them
 * (secrets already masked by the API), and the phase's mapped output. Values are shown as
 * pretty-printed JSON in text nodes.
 */
export const CALLS_PART = String.raw`  function json(value) {
    return el('pre', { 'class': 'json', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) });
  }

  function requestLine(request) {
    if (!request || typeof request !== 'object') return '';
    return [request.method, request.url || request.path].filter(Boolean).join(' ');
  }

  function errorText(error) {
    return error.code + (error.status ? ' (HTTP ' + error.status + ')' : '') + (error.reason ? ' ' + error.reason : '') + ': ' + error.message;
  }

  function callView(call, truncated) {
    var parts = [el('h4', { text: 'Attempt ' + call.attempt + ' · started ' + when(call.startedAt) + ' · ' + ms(call.durationMs) })];
    if (call.request !== undefined) parts.push(el('div', { 'class': 'call-request' }, [el('strong', { text: 'Request ' }), el('code', { text: requestLine(call.request) }), json(call.request)]));
    if (call.response !== undefined) {
      var status = call.response && typeof call.response === 'object' && call.response.status !== undefined ? 'status ' + call.response.status : '';
      parts.push(el('div', { 'class': 'call-response' }, [el('strong', { text: 'Response ' }), el('code', { text: status }), json(call.response)]));
    }
    if (call.response === undefined && !call.error && truncated) parts.push(el('p', { 'class': 'muted not-captured', text: 'Response not kept: the capture budget ran out (CAPTURE_MAX_BYTES).' }));
    if (call.error) parts.push(el('p', { 'class': 'error call-error', text: 'Error ' + errorText(call.error) }));
    if (call.detail !== undefined) parts.push(el('div', { 'class': 'call-detail' }, [el('strong', { text: 'What the upstream said' }), json(call.detail)]));
    if (call.retryInMs !== undefined) parts.push(el('p', { 'class': 'muted call-retry', text: 'Retried after ' + ms(call.retryInMs) }));
    return el('div', { 'class': 'call', 'data-attempt': call.attempt }, parts);
  }

  /** Why attempts have no request and response: the capture policy, or the capture budget. */
  function notCaptured(note, capture, truncated, shown, attempts) {
    var start = shown ? (attempts - shown) + ' of ' + attempts + ' attempts not captured: ' : 'not captured: ';
    capture.then(function (policy) {
      var why = policy === 'none' ? 'capture policy none (the flow\'s capture:) keeps no requests or responses'
        : policy === 'errors' ? 'capture policy errors (the flow\'s capture:) keeps only failed attempts'
        : policy === 'all' ? 'the flow\'s capture policy is all'
        : 'capture policy errors (failed attempts only) or none (the service\'s CAPTURE; the default, all, keeps every attempt)';
      note.textContent = start + why + (truncated ? '; this execution also ran out of capture budget (CAPTURE_MAX_BYTES)' : '') + '.';
    });
    return note;
  }

  /** The attempts of a phase or a compensation, or why they are not shown. */
  function callsView(calls, attempts, capture, truncated) {
    var out = (calls || []).map(function (call) { return callView(call, truncated); });
    if (attempts > out.length) out.push(notCaptured(el('p', { 'class': 'muted not-captured' }), capture, truncated, out.length, attempts));
    return out;
  }

  function phaseDetail(phase, capture, truncated) {
    var out = [];
    if (phase.cached) out.push(el('p', { 'class': 'muted', text: 'Served from the phase cache: no call was made.' }));
    if (phase.restored) out.push(el('p', { 'class': 'muted', text: 'Restored from a checkpoint: not run again.' }));
    if (phase.kind === 'call') out = out.concat(callsView(phase.calls, phase.restored || phase.cached ? 0 : phase.attempts, capture, truncated));
    if (phase.error) out.push(el('p', { 'class': 'error', text: (phase.fallback ? 'Fell back after ' : 'Failed: ') + errorText(phase.error) }));
    if ('output' in phase) out.push(el('div', { 'class': 'phase-output' }, [el('strong', { text: 'Output (mapped)' }), json(phase.output)]));
    if (!out.length) out.push(el('p', { 'class': 'muted', text: 'Nothing to show: this phase made no call and produced no output.' }));
    return out;
  }

  /** A table row with a button that opens a row under it, built the first time it opens. */
  function expandable(row, columns, key, build) {
    var detail = el('tr', { 'class': 'detail', 'data-detail': key, hidden: true });
    var button = el('button', { 'class': 'toggle', type: 'button', 'aria-expanded': 'false', title: 'request, response and output', text: '▸' });
    button.addEventListener('click', function () {
      var open = detail.hidden;
      if (open && !detail.firstChild) detail.appendChild(el('td', { colspan: String(columns) }, build()));
      detail.hidden = !open;
      button.textContent = open ? '▾' : '▸';
      button.setAttribute('aria-expanded', String(open));
    });
    row.firstChild.insertBefore(button, row.firstChild.firstChild);
    return [row, detail];
  }

  function compensationsTable(record, capture) {
    return el('table', { 'class': 'compensations', id: 'execution-compensations' }, [el('tbody', {}, record.compensations.reduce(function (rows, c, n) {
      var row = el('tr', { 'data-compensation': c.phase, 'data-status': c.status }, [el('td', {}, [el('code', { text: c.phase + (c.index === undefined ? '' : '#' + c.index) })]), el('td', { text: c.status }), el('td', { text: c.attempts + ' attempt(s)' }), el('td', { text: ms(c.durationMs) }), el('td', { text: c.error ? errorText(c.error) : '' })]);
      return rows.concat(expandable(row, 5, 'compensation-' + n, function () { return callsView(c.calls, c.attempts, capture, record.capturesTruncated); }));
    }, []))]);
  }
`;
