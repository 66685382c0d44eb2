/** Every tool says in one line what is wrong with its command line, never with a stack trace. */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';

function tool(script: string, args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', `tools/${script}`, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { code: run.status, output: run.stdout + run.stderr };
}
const STACK_FRAME = /\n\s+at .*:\d+:\d+/;

describe('the tools, given a bad command line', () => {
  it.each([
    ['build.ts', ['--check-budgt'], "Unknown option '--check-budgt'"],
    ['stand-in.ts', ['--prot', '1'], "Unknown option '--prot'"],
    ['stand-in.ts', ['--port', 'abc'], '--port must be a number from 0 to 65535'],
    ['stand-in.ts', ['--port', '70000'], '--port must be a number from 0 to 65535'],
    ['bench.ts', ['--round', '3'], "Unknown option '--round'"],
    ['memory.ts', ['--runs', 'many'], '--runs takes a whole number from 1'],
    ['pack-secret.ts', ['--nmespace', 'x'], "Unknown option '--nmespace'"],
  ])('%s %j: exit 2, one line and the usage', (script, args, line) => {
    const { code, output } = tool(script, args);
    expect(code).toBe(2);
    expect(output.split('\n')[0]).toBe(line);
    expect(output).toContain('Usage: npm run');
    expect(output).not.toMatch(STACK_FRAME);
  });

  it('stand-in: a port in use is one line, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const { code, output } = tool('stand-in.ts', ['--port', String(port)]);
      expect(code).toBe(1);
      expect(output.trim()).toBe(`port ${port} is in use: pick another with --port`);
    } finally {
      taken.close();
    }
  });
});
