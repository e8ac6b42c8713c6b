// The benchmark's upstream: a minimal node:http server on 127.0.0.1, in its own process.
//
//   node bench/upstream.mjs [port]         (or UPSTREAM_PORT=…; default 3001, the port the Node-RED flows call)
//
// POST /echo  → 200 {"ok":true,"name":<body.name or null>,"bytes":<request body length>}  (small JSON)
// GET  /echo  → the same with name null and bytes 0
// GET  /stats → {"requests":<number of /echo requests served>}  (the harness counts upstream calls per request)
// GET  /health → 200 ok
//
// Keep-alive is kept open for 65 s so pooled clients (undici, Node-RED's agent) reuse their connections.
import http from 'node:http';
import './lib/guard.mjs';

const port = Number(process.argv[2] ?? process.env.UPSTREAM_PORT ?? 3001);
const host = process.env.UPSTREAM_HOST ?? '127.0.0.1';
let served = 0;

function send(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/echo' || url.startsWith('/echo?')) {
    if (req.method === 'GET') {
      served++;
      send(res, 200, { ok: true, name: null, bytes: 0 });
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, { ok: false, error: 'method not allowed' });
      return;
    }
    const chunks = [];
    let length = 0;
    req.on('data', (chunk) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      served++;
      let name = null;
      if (length > 0) {
        try {
          const parsed = JSON.parse(Buffer.concat(chunks, length).toString('utf8'));
          if (parsed && typeof parsed === 'object' && typeof parsed.name === 'string') name = parsed.name;
        } catch {
          send(res, 400, { ok: false, error: 'invalid JSON' });
          return;
        }
      }
      send(res, 200, { ok: true, name, bytes: length });
    });
    return;
  }
  if (url === '/stats') {
    send(res, 200, { requests: served });
    return;
  }
  if (url === '/health') {
    send(res, 200, { ok: true });
    return;
  }
  send(res, 404, { ok: false, error: 'not found' });
});

server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, host, () => {
  process.stdout.write(`upstream listening on http://${host}:${port}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
