/**
 * Which client a request comes from, for the limits that count anonymous callers and
 * subscription clients by address (rate-limit.ts, the live subscriptions' per-client limit): one
 * decision, so both limits see the same client.
 *
 * Behind a load balancer or an ingress the TCP peer is the proxy, so with TRUSTED_PROXIES the
 * client is read from the proxies' `X-Forwarded-For` instead, by @fastify/proxy-addr (the rules
 * Express and Fastify use): from the peer outwards, the first address that is not a trusted proxy.
 * A client cannot name its own address this way: what it writes into the header sits beyond the
 * first untrusted hop, which is the address its proxy saw. An IPv6 client is its /56.
 */
import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import ipaddr from 'ipaddr.js';

/**
 * The client of a request ({@link clientOfAddress}); `undefined` once the socket has closed.
 */
export type ClientAddress = (req: IncomingMessage) => string | undefined;

/**
 * The bits of an IPv6 address that name one client: a /56, what a provider usually delegates to
 * one customer (RFC 6177), so rotating addresses inside it does not make a new client.
 */
const IPV6_CLIENT_PREFIX = 56;

/**
 * An address as one client: IPv4 as is (IPv4-mapped IPv6 too), IPv6 as its /56
 * (`2001:db8:1:ab00::/56`), `unknown` for anything that is not an address.
 */
export function clientOfAddress(address: string | undefined): string {
  if (address === undefined || isIP(address) === 0) return 'unknown';
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = ipaddr.IPv6.networkAddressFromCIDR(`${v6.toString()}/${IPV6_CLIENT_PREFIX}`);
  return `${prefix.toString()}/${IPV6_CLIENT_PREFIX}`;
}

/**
 * The client of requests: from the TCP peer when `trusted` is `null` (X-Forwarded-For is then
 * never read), else as above. `trusted`: TRUSTED_PROXIES's entries (addresses, CIDR ranges,
 * `loopback`, `linklocal`, `uniquelocal`), already validated by the config.
 */
export function clientAddressOf(trusted: readonly string[] | null): ClientAddress {
  // Worked out once, not at every look (the rate limit and the GraphQL context both ask): per
  // connection from the peer alone, per request when X-Forwarded-For counts.
  if (trusted === null) {
    const ofSocket = remembered((socket: Socket) => clientOfAddress(socket.remoteAddress));
    return (req) => (req.socket.remoteAddress === undefined ? undefined : ofSocket(req.socket));
  }
  const trust = proxyAddr.compile([...trusted]);
  const ofRequest = remembered((req: IncomingMessage) => clientOfAddress(proxyAddr(req, trust)));
  return (req) => (req.socket.remoteAddress === undefined ? undefined : ofRequest(req));
}

/** `compute`, run once per key object (kept as long as the key lives). */
function remembered<K extends object>(compute: (key: K) => string): (key: K) => string {
  const seen = new WeakMap<K, string>();
  return (key) => {
    let value = seen.get(key);
    if (value === undefined) {
      value = compute(key);
      seen.set(key, value);
    }
    return value;
  };
}
