/**
 * The demo task: what npm run local, the benchmarks, the image build's warm run and the tests run
 * the app with, without iExec and without the network. Its stand-in of the counter service has
 * the same paths and answers as Abacus (the maintained CountAPI), counts kept in memory:
 *   GET /hit/<namespace>/<key>  -> 200 {"value": n+1}
 *   GET /get/<namespace>/<key>  -> 200 {"value": n} | 404 {"error": "Key not found"}
 * Never part of the bundle.
 */
import type { DemoTask } from '#iexec/app';
import type { counterSecret } from './secret';

const NAME = /^[A-Za-z0-9_\-.]{3,64}$/;

export const demo: DemoTask<typeof counterSecret> = {
  standIn() {
    const counts = new Map<string, number>();
    return (request) => {
      const [, action, namespace = '', key = '', ...rest] = new URL(request.url).pathname.split('/');
      if (request.method !== 'GET' || rest.length > 0 || (action !== 'hit' && action !== 'get')) {
        return Response.json({ error: 'Not found' }, { status: 404 });
      }
      if (!NAME.test(namespace) || !NAME.test(key)) return Response.json({ error: 'Invalid namespace or key' }, { status: 400 });
      const id = `${namespace}/${key}`;
      if (action === 'get') {
        const value = counts.get(id);
        return value === undefined ? Response.json({ error: 'Key not found' }, { status: 404 }) : Response.json({ value });
      }
      const value = (counts.get(id) ?? 0) + 1;
      counts.set(id, value);
      return Response.json({ value });
    };
  },
  secret: (url) => ({ endpoint: url, namespace: 'demo-namespace', key: 'demo-key', token: 'demo-token-not-a-real-one' }),
  args: [],
};
