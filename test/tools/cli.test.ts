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
    ['worker/stand-in.ts', ['--prot', '1'], "Unknown option '--prot'"],
    ['worker/stand-in.ts', ['--port', 'abc'], '--port must be a number from 0 to 65535'],
    ['worker/stand-in.ts', ['--port', '70000'], '--port must be a number from 0 to 65535'],
    ['measure/bench.ts', ['--round', '3'], "Unknown option '--round'"],
    ['measure/memory.ts', ['--runs', 'many'], '--runs takes a whole number from 1'],
    ['secret/pack-secret.ts', ['--nmespace', 'x'], "Unknown option '--nmespace'"],
    // What was typed is never repeated, but an option the tool defines, or an unknown one typed
    // alone that looks like a name: a value typed by mistake could be a secret.
    ['secret/pack-secret.ts', ['--token', 'canary-1', 'canary-2'], 'Unexpected argument (not shown): options only, as --name VALUE'],
    ['secret/pack-secret.ts', ['--', 'canary'], 'Unexpected argument (not shown): options only, as --name VALUE'],
    ['secret/pack-secret.ts', ['--tokne=canary'], "Unknown option '--tokne'"],
    ['secret/pack-secret.ts', ['-hcanary'], 'Unknown option (not shown)'],
    ['secret/pack-secret.ts', ['--canary_0123456789abcdef0123456789abcdef'], 'Unknown option (a name that is withheld)'],
    ['secret/pack-secret.ts', ['--token', '-canary'], "Option '--token' has a value that starts with a dash: write it as --token=VALUE"],
    ['secret/pack-secret.ts', ['--token', '--canary'], "Option '--token' has a value that starts with a dash: write it as --token=VALUE"],
    ['secret/pack-secret.ts', ['--force=canary'], "Option '--force' takes no value"],
    ['secret/pack-secret.ts', ['--token'], "Option '--token' needs a value"],
    ['worker/stand-in.ts', ['--port'], "Option '--port' needs a value"],
  ])('%s %j: exit 2, one line and the usage', (script, args, line) => {
    const { code, output } = tool(script, args);
    expect(code).toBe(2);
    expect(output.split('\n')[0]).toBe(line);
    expect(output).toContain('Usage: npm run');
    expect(output).not.toMatch(STACK_FRAME);
    expect(output).not.toMatch(/canary/i);
  });

  it('stand-in: a port in use is one line, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const { code, output } = tool('worker/stand-in.ts', ['--port', String(port)]);
      expect(code).toBe(1);
      expect(output.trim()).toBe(`port ${port} is in use: pick another with --port`);
    } finally {
      taken.close();
    }
  });
});
