// One-off HTTP requests of the harness (readiness checks, probes, upstream counters). Not used for load.
import { request } from 'undici';

/** { status, headers, text, json (or undefined), bytes } — throws on connection errors. */
export async function httpCall(url, { method = 'GET', headers = {}, body, timeoutMs = 5000 } = {}) {
  const res = await request(url, {
    method,
    headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json, bytes: Buffer.byteLength(text) };
}
