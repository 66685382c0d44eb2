/** npm run stand-in: the stand-in of the app's upstreams alone (its demo task's), until Ctrl-C. */
import { loadApp } from '../app';
import { parseOptions } from '../cli';
import { serveStandIn } from './stand-in-server';

const HELP = `Usage: npm run stand-in -- [--port N]

Serves the stand-in of the app's upstreams (src/app/demo.ts) on 127.0.0.1 until Ctrl-C.
  --port N    the port to listen on (default: any free port)
  -h, --help  this text`;

async function main(argv: string[]): Promise<number> {
  const values = parseOptions(argv, { port: { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } }, HELP);
  if (values === undefined) return 2;
  if (values.help) return (console.log(HELP), 0);
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    console.error(`--port must be a number from 0 to 65535\n\n${HELP}`);
    return 2;
  }
  const { demo } = await loadApp();
  if (demo.standIn === undefined) {
    console.error('this app declares no upstream: there is nothing to stand in for');
    return 1;
  }
  try {
    const server = await serveStandIn(demo.standIn(), { port });
    console.log(`stand-in listening on ${server.url}; Ctrl-C stops it`);
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(code === 'EADDRINUSE' ? `port ${port} is in use: pick another with --port` : `cannot listen on port ${port} (${code ?? 'unknown error'})`);
    return 1;
  }
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
