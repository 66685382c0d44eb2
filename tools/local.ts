/**
 * npm run local: runs the bundle as an iExec worker would, then checks its output as iExec does.
 * No Docker and, by default, no network: the secret points at a counter served on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BUNDLE, ROOT, buildBundle, isBundleStale } from './build';
import { checkOutput, type OutputReport } from './check-output';
import { parseOptions } from './cli';
import { startCounter } from './counter-server';

const HELP = `Usage: npm run local -- [options]

Runs the app once as an iExec worker would: a fresh iexec_in/iexec_out under .local/, the
worker's IEXEC_* variables (nothing else from your environment but PATH), the bundle alone
in its folder. Then checks the output as iExec does and prints the result digest.

Options:
  --secret-file <path>  the packed secret to run with (see npm run pack-secret)
                        default: $IEXEC_APP_DEVELOPER_SECRET, else a demo secret that
                        points at the embedded counter (no network needed)
  --repeat <n>          run n tasks and say whether the result digest is stable
  --app <path>          the bundle to run (default: dist/app.js, rebuilt when src/ changed)
  -h, --help            this text

Exit code: 0 when every run exits 0 and every check passes, 1 otherwise, 2 on bad usage.`;

const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
const bytes32 = () => `0x${randomBytes(32).toString('hex')}`;

interface RunOutcome {
  exitCode: number | null;
  report: OutputReport;
}

/** The variables a worker gives a TEE task with no dataset and no input file (and PATH). */
export function workerVariables(input: string, out: string, secret: string | undefined): NodeJS.ProcessEnv {
  const variables: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    IEXEC_IN: input,
    IEXEC_OUT: out,
    IEXEC_TASK_ID: bytes32(),
    IEXEC_DEAL_ID: bytes32(),
    IEXEC_TASK_INDEX: '0',
    IEXEC_BOT_SIZE: '1',
    IEXEC_BOT_FIRST_INDEX: '0',
    IEXEC_BOT_TASK_INDEX: '0',
    IEXEC_DATASET_ADDRESS: ZERO_ADDRESS,
    IEXEC_DATASET_FILENAME: '',
    IEXEC_INPUT_FILES_FOLDER: input,
    IEXEC_INPUT_FILES_NUMBER: '0',
  };
  // The secret service injects the secret twice; a task without one gets neither.
  if (secret !== undefined) Object.assign(variables, { IEXEC_APP_DEVELOPER_SECRET: secret, IEXEC_APP_DEVELOPER_SECRET_1: secret });
  return variables;
}

async function runTask(bundle: string, secret: string, label: string): Promise<RunOutcome> {
  const task = join(ROOT, '.local', `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`);
  const [input, out] = [join(task, 'iexec_in'), join(task, 'iexec_out')];
  for (const dir of [input, out]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Alone in a folder outside any package.json, as in the image's /app: this repository's
  // "type": "module" must not change how the bundle loads.
  const app = mkdtempSync(join(tmpdir(), 'iexec-app-'));
  copyFileSync(bundle, join(app, 'app.js'));

  console.log(`\n${label}: task folder ${relative(process.cwd(), task)}`);
  const started = process.hrtime.bigint();
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [join(app, 'app.js')], { cwd: app, env: workerVariables(input, out, secret), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => process.stdout.write(indent('app stdout', chunk)));
    child.stderr.on('data', (chunk: Buffer) => process.stdout.write(indent('app stderr', chunk)));
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => rmSync(app, { recursive: true, force: true }));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`  app exited with code ${exitCode} after ${ms.toFixed(0)} ms`);

  const report = checkOutput(out);
  for (const { ok, text } of report.checks) console.log(`  ${ok ? '✓' : '✗'} ${text}`);
  if (report.errorMessage !== undefined) console.log(`  error-message: ${report.errorMessage}`);
  if (report.digest !== undefined) console.log(`  result digest: ${report.digest}`);
  return { exitCode, report };
}

const indent = (label: string, chunk: Buffer): string =>
  chunk.toString('utf8').replace(/\n$/, '').split('\n').map((line) => `  ${label} | ${line}\n`).join('');

function readSecret(file: string | undefined, demoEndpoint: string): { secret: string; source: string } {
  if (file !== undefined) return { secret: readFileSync(file, 'utf8'), source: `from ${file}` };
  const variable = process.env.IEXEC_APP_DEVELOPER_SECRET;
  if (variable) return { secret: variable, source: 'from $IEXEC_APP_DEVELOPER_SECRET' };
  const demo = { endpoint: demoEndpoint, namespace: 'local-demo', key: 'hits' };
  return { secret: JSON.stringify(demo), source: `demo: ${JSON.stringify(demo)}` };
}

export async function main(argv: string[]): Promise<number> {
  const values = parseOptions(
    argv,
    {
      'secret-file': { type: 'string' },
      repeat: { type: 'string', default: '1' },
      app: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    HELP,
  );
  if (values === undefined) return 2;
  const repeat = Number(values.repeat);
  if (values.help || !Number.isInteger(repeat) || repeat < 1) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }

  let bundle = values.app;
  if (bundle === undefined) {
    bundle = BUNDLE;
    if (isBundleStale()) {
      await buildBundle();
      console.log('bundle: built dist/app.js');
    }
  }
  if (!existsSync(bundle)) {
    console.error(`no bundle at ${bundle}`);
    return 2;
  }
  console.log(`bundle: ${relative(process.cwd(), bundle)} (${(statSync(bundle).size / 1024).toFixed(1)} KB)`);

  const counter = await startCounter();
  try {
    const { secret, source } = readSecret(values['secret-file'], counter.url);
    console.log(`counter: ${counter.url} (embedded, loopback only)`);
    // The secret's values are never printed: the source says where it came from.
    console.log(`secret: ${source.startsWith('demo') ? source : `${source} (not shown)`}`);

    const outcomes: RunOutcome[] = [];
    for (let i = 1; i <= repeat; i++) outcomes.push(await runTask(bundle, secret, repeat > 1 ? `run ${i}/${repeat}` : 'run'));

    let ok = outcomes.every((o) => o.exitCode === 0 && o.report.ok);
    if (repeat > 1) {
      const digests = new Set(outcomes.map((o) => o.report.digest));
      const stable = digests.size === 1 && !digests.has(undefined);
      console.log(
        stable
          ? `\n✓ result digest stable across ${repeat} runs: replicated workers would agree`
          : `\n✗ result digest NOT stable across ${repeat} runs (${digests.size} distinct): replicated workers could not reach consensus`,
      );
      ok &&= stable;
    }
    console.log(ok ? '\nOK: the output is what iExec expects.' : '\nFAILED: see the ✗ lines and the app output above.');
    return ok ? 0 : 1;
  } finally {
    await counter.close();
  }
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
