/**
 * Console script part: the page state, element building (text nodes only), the API client and
 * small formatters. Concatenated into console.js by ../console-script.ts.
 */
export const DOM_PART = String.raw`  var app = document.getElementById('app');
  var KEY_STORAGE = 'flowd.apiKey';
  // The statuses POST /executions/{id}/retry accepts (409 FLOWD_ERR_EXECUTION_NOT_RETRYABLE otherwise), and why the others are refused.
  var RETRYABLE = { failed: 1, compensated: 1, timed_out: 1, cancelled: 1 };
  var NOT_RETRYABLE = {
    succeeded: 'it succeeded, there is nothing to retry.',
    compensation_failed: 'its compensation failed: some completed phases could not be undone; resolve them before running the order again.',
    running: 'it is still running.',
    queued: 'it has not run yet.',
    waiting: 'it is waiting; send what it waits for, or cancel it.',
  };
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
`;
