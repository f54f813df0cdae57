/**
 * The runner's own HTTP client, for sanity checks, cold start and the sequential W3 latency: plain
 * node:http with one keep-alive socket, so a measured latency is the server's answer time plus
 * loopback, not client overhead.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

/** One keep-alive connection at most (W3 measures single-connection latency). */
export function singleConnectionAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

/** POSTs a JSON body and reads the whole answer; rejects after `timeoutMs`. */
export function postJson(
  url: string,
  body: string,
  agent: Agent | false,
  timeoutMs = 15_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** GET or POST a JSON control route (the local Amplify's /_local/ API) and parse the answer. */
export async function controlJson<T>(url: string, method = 'GET', body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}
