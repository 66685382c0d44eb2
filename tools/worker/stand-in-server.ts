/**
 * Serves the stand-in of the app's upstreams (its demo task's, src/app/demo.ts) on 127.0.0.1 only, for local runs,
 * benchmarks and tests. Tests read what it received and can answer a request themselves.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type Handler = (request: Request) => Response | Promise<Response>;

/** Answers a request instead of the stand-in; returns true when it has. */
export type Intercept = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface StandInServer {
  url: string;
  /** Requests the stand-in itself answered. */
  readonly handled: number;
  /** Every request received, for assertions on paths and headers. */
  readonly requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  intercept: Intercept | undefined;
  close(): Promise<void>;
}

async function toFetchRequest(request: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = chunks.length > 0 && request.method !== 'GET' && request.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  const headers = Object.entries(request.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)] as [string, string]]));
  return new Request(new URL(request.url ?? '/', origin), { method: request.method ?? 'GET', headers, ...(body ? { body } : {}) });
}

/** `tls`: serve https with this key and certificate (tests of the https path). */
export async function serveStandIn(handler: Handler, { port = 0, tls }: { port?: number; tls?: { key: string; cert: string } } = {}): Promise<StandInServer> {
  let handled = 0;
  const state: StandInServer = {
    url: '',
    get handled() {
      return handled;
    },
    requests: [],
    intercept: undefined,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    state.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    if (state.intercept?.(request, response)) return;
    handled += 1;
    void (async () => {
      const answer = await handler(await toFetchRequest(request, state.url));
      response.writeHead(answer.status, Object.fromEntries(answer.headers));
      response.end(Buffer.from(await answer.arrayBuffer()));
    })().catch(() => {
      // A stand-in that throws answers as a broken server would.
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
  const server = tls ? createTlsServer(tls, handle) : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  state.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
