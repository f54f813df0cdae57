/**
 * Which address a request comes from, for the limits that count anonymous callers and
 * subscription clients by address (rate-limit.ts, the live subscriptions' per-client limit).
 * Behind a load balancer or an ingress the TCP peer is the proxy, so with TRUSTED_PROXIES the
 * client is read from the proxies' `X-Forwarded-For` instead, by @fastify/proxy-addr (the rules
 * Express and Fastify use): from the peer outwards, the first address that is not a trusted proxy.
 * A client cannot name its own address this way: what it writes into the header sits beyond the
 * first untrusted hop, which is the address its proxy saw.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** A request's client address (IPv4 or IPv6 text); `undefined` once the socket has closed. */
export type ClientAddress = (req: IncomingMessage) => string | undefined;

/**
 * The client address of requests: the TCP peer when `trusted` is `null` (X-Forwarded-For is then
 * never read), else as above. `trusted`: TRUSTED_PROXIES's entries (addresses, CIDR ranges,
 * `loopback`, `linklocal`, `uniquelocal`), already validated by the config.
 */
export function clientAddressOf(trusted: readonly string[] | null): ClientAddress {
  if (trusted === null) return (req) => req.socket.remoteAddress;
  const trust = proxyAddr.compile([...trusted]);
  return (req) => (req.socket.remoteAddress === undefined ? undefined : proxyAddr(req, trust));
}
