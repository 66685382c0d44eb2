/**
 * A small counter service with the same paths and answers as Abacus (the maintained CountAPI):
 *   GET /hit/<namespace>/<key>  -> 200 {"value": n+1}
 *   GET /get/<namespace>/<key>  -> 200 {"value": n} | 404 {"error": "Key not found"}
 * It listens on 127.0.0.1 only, keeps counts in memory, and lets tests script faults.
 *
 * Usage: npm run counter [-- --port N]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const NAME = /^[A-Za-z0-9_\-.]{3,64}$/;

/** Lets a test replace the answer to a hit; return true when it has answered. */
export type HitOverride = (request: IncomingMessage, response: ServerResponse, counted: number) => boolean;

export interface Counter {
  url: string;
  /** Hits counted so far, over all counters. */
  readonly hits: number;
  /** Every request received, for assertions on headers and paths. */
  readonly requests: { method: string; url: string; authorization: string | undefined }[];
  override: HitOverride | undefined;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** `tls`: serve https with this key and certificate (tests of the https path). */
export async function startCounter(port = 0, tls?: { key: string; cert: string }): Promise<Counter> {
  const counts = new Map<string, number>();
  let hits = 0;
  const counter: Counter = {
    url: '',
    get hits() {
      return hits;
    },
    requests: [],
    override: undefined,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    counter.requests.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    const [, action, namespace = '', key = '', ...rest] = new URL(request.url ?? '/', 'http://counter').pathname.split('/');
    if (request.method !== 'GET' || rest.length > 0 || (action !== 'hit' && action !== 'get')) {
      return send(response, 404, { error: 'Not found' });
    }
    if (!NAME.test(namespace) || !NAME.test(key)) {
      return send(response, 400, { error: 'Invalid namespace or key' });
    }
    const id = `${namespace}/${key}`;
    if (action === 'get') {
      const value = counts.get(id);
      return value === undefined ? send(response, 404, { error: 'Key not found' }) : send(response, 200, { value });
    }
    if (counter.override?.(request, response, hits)) return;
    hits += 1;
    const value = (counts.get(id) ?? 0) + 1;
    counts.set(id, value);
    send(response, 200, { value });
  };
  const server = tls ? createTlsServer(tls, handle) : createServer(handle);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  counter.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return counter;
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('Usage: npm run counter [-- --port N]\nServes GET /hit/<ns>/<key> and /get/<ns>/<key> on 127.0.0.1 until Ctrl-C.');
  } else {
    void startCounter(Number(values.port)).then((counter) =>
      console.log(`counter listening on ${counter.url} (GET /hit/<namespace>/<key>, /get/<namespace>/<key>); Ctrl-C stops it`),
    );
  }
}
