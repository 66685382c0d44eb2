/**
 * npm run local: runs the bundle as an iExec worker would, then checks its output as iExec does.
 * No Docker and, by default, no network: the app's demo task (src/app/demo.ts), its secret
 * pointing at the stand-in of its upstreams served on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { loadApp } from '../app';
import { buildBundle, isBundleStale, ROOT } from '../build';
import { checkOutput, type OutputReport } from './check-output';
import { dataObjectFromJson, protectedDataFile } from './dataprotector';
import { parseOptions } from '../cli';
import { redacted } from '../secret/secret-view';
import { writeDemoFiles } from './demo-files';
import { demoTaskFiles } from './demo-task';
import { serveStandIn } from './stand-in-server';
import { GENERATIONS, taskFolders, workerVariables, type Generation, type TaskFiles } from './worker-env';

const HELP = `Usage: npm run local -- [options]

Runs the app once as an iExec worker would: a fresh iexec_in/iexec_out under .local/, the
worker's IEXEC_* variables (nothing else from your environment but PATH), the bundle alone
in its folder. Then checks the output as iExec does and prints the result digest.

Options:
  --secret-file <path>      the packed secret to run with (see npm run pack-secret); default:
                            $IEXEC_APP_DEVELOPER_SECRET, else the demo's secret, which points
                            at the stand-in of the app's upstreams served here (no network needed)
  --args "<args>"           the requester's arguments, as iexec app run --args takes them
                            (split on spaces; '…' or "…" keep spaces; default: the demo's)
  --input-file <path>       an input file, as iexec app run --input-files gives it (repeatable;
                            default: the demo's)
  --dataset <path>          the dataset's (decrypted) file (default: the demo's protected data)
  --protected-data <file.json>
                            a protected data, made from this JSON object by DataProtector's own
                            serializer and given as the dataset: strings, numbers, booleans and
                            objects as they are, {"@bigint": "123"}, {"@file": "path"} (relative
                            to the JSON file). Given more than once: a bulk task of them all
                            (DataProtector's bulk processing, v9-tdx), the deal's own dataset none
  --requester-secret <n>=<path>
                            the requester secret n, read from a file (repeatable; default: the
                            demo's)
  --callback <address>      the deal's callback address (iexec app run --callback): the digest
                            is then callback-data's, and the result files are not checked
  --worker <generation>     the worker whose variables the app gets: v9-tdx (default: SDK 9,
                            Arbitrum), v8-tee (SDK 8 SCONE or Gramine) or v8-standard (no TEE,
                            so no secret)
  --repeat <n>              run n tasks and compare their result digests
  --bot <n>                 run the n tasks of a bag of tasks (IEXEC_BOT_SIZE n, each its own
                            IEXEC_BOT_TASK_INDEX) and show each task's digest
  --app <path>              the bundle to run (default: dist/app.js, rebuilt when src/ changed)
  -h, --help                this text

Exit code: 0 when every run exits 0 and every check passes, 1 otherwise, 2 on bad usage.`;

class UsageError extends Error {}

/** As the worker splits --args (Maven's CommandLineUtils.translateCommandline): spaces separate, quotes group, no escapes. */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of text) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= '';
    } else if (char === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quote !== undefined) throw new UsageError(`--args has an unbalanced ${quote}`);
  if (word !== undefined) words.push(word);
  return words;
}

function readFileArg(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${option} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : `cannot read (${code})`}`);
  }
}

function requesterSecrets(specs: string[]): Map<number, string> {
  return new Map(
    specs.map((spec) => {
      const [, index, path] = /^([1-9]\d*)=(.+)$/.exec(spec) ?? [];
      if (index === undefined || path === undefined) throw new UsageError('--requester-secret takes <n>=<path>, n from 1');
      return [Number(index), readFileArg(path, '--requester-secret')];
    }),
  );
}

interface RunOutcome {
  exitCode: number | null;
  report: OutputReport;
}

async function runTask(bundle: string, secret: string | undefined, argv: string[], files: TaskFiles, callback: string | undefined, label: string): Promise<RunOutcome> {
  const task = join(ROOT, '.local', `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`);
  const folders = taskFolders(task);
  // Alone in a folder outside any package.json, as in the image's /app: this repository's
  // "type": "module" must not change how the bundle loads.
  const app = mkdtempSync(join(tmpdir(), 'iexec-app-'));
  copyFileSync(bundle, join(app, 'app.js'));

  console.log(`\n${label}: task folder ${relative(process.cwd(), task)}`);
  const started = process.hrtime.bigint();
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [join(app, 'app.js'), ...argv], { cwd: app, env: workerVariables(folders, secret, files), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => process.stdout.write(indent('app stdout', chunk)));
    child.stderr.on('data', (chunk: Buffer) => process.stdout.write(indent('app stderr', chunk)));
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => rmSync(app, { recursive: true, force: true }));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`  app exited with code ${exitCode} after ${ms.toFixed(0)} ms`);

  const report = checkOutput(folders.out, { callback });
  for (const { ok, text } of report.checks) console.log(`  ${ok ? '✓' : '✗'} ${text}`);
  if (report.errorMessage !== undefined) console.log(`  error-message: ${report.errorMessage}`);
  if (report.digest !== undefined) console.log(`  result digest: ${report.digest}`);
  return { exitCode, report };
}

const indent = (label: string, chunk: Buffer): string =>
  chunk.toString('utf8').replace(/\n$/, '').split('\n').map((line) => `  ${label} | ${line}\n`).join('');

export async function main(argv: string[]): Promise<number> {
  const values = parseOptions(
    argv,
    {
      'secret-file': { type: 'string' },
      args: { type: 'string' },
      'input-file': { type: 'string', multiple: true, default: [] },
      dataset: { type: 'string' },
      'protected-data': { type: 'string', multiple: true, default: [] },
      'requester-secret': { type: 'string', multiple: true, default: [] },
      callback: { type: 'string' },
      worker: { type: 'string', default: 'v9-tdx' },
      repeat: { type: 'string', default: '1' },
      bot: { type: 'string', default: '1' },
      app: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    HELP,
  );
  if (values === undefined) return 2;
  if (values.help) return (console.log(HELP), 0);
  const repeat = Number(values.repeat);
  const bot = Number(values.bot);
  try {
    if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError('--repeat takes a whole number from 1');
    if (!Number.isInteger(bot) || bot < 1) throw new UsageError('--bot takes a whole number from 1');
    if (bot > 1 && repeat > 1) throw new UsageError('--bot and --repeat go one at a time: the tasks of a bag differ by design');
    const callback = values.callback;
    if (callback !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(callback)) throw new UsageError('--callback takes an address: 0x and 40 hex digits');
    const generation = values.worker as Generation;
    if (!GENERATIONS.includes(generation)) throw new UsageError(`--worker takes one of ${GENERATIONS.join(', ')}`);
    for (const file of [...values['input-file'], ...(values.dataset === undefined ? [] : [values.dataset])]) readFileArg(file, 'input');
    const protectedData = values['protected-data'];
    if (values.dataset !== undefined && protectedData.length > 0) throw new UsageError('--dataset and --protected-data are both the dataset: give one');
    if (protectedData.length > 1 && generation !== 'v9-tdx') throw new UsageError('several --protected-data make a bulk task, which only v9-tdx workers run');
    const made: string[] = [];
    for (const path of protectedData) made.push(await protectedDataFromJson(path));
    const given: Given = {
      inputFiles: values['input-file'],
      dataset: made.length === 1 ? made[0] : values.dataset,
      bulk: made.length > 1 ? made : [],
      requesterSecrets: requesterSecrets(values['requester-secret']),
    };
    const secretFile = values['secret-file'];
    const secret = secretFile === undefined ? undefined : { text: readFileArg(secretFile, '--secret-file'), source: `from ${secretFile}` };
    const args = values.args === undefined ? undefined : splitArgs(values.args);
    try {
      return await runAll({ bundle: values.app, args, secret, repeat, bot, given, generation, callback });
    } finally {
      // The task folders keep their copy, as they keep the secret; no other is left behind.
      for (const file of made) rmSync(dirname(file), { recursive: true, force: true });
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`npm run local: ${error.message} (see --help)`);
    return 2;
  }
}

/** The protected data a JSON file describes, made by DataProtector's serializer (borsh, today's). */
async function protectedDataFromJson(path: string): Promise<string> {
  const option = `--protected-data ${path}`;
  let text: unknown;
  try {
    text = JSON.parse(readFileArg(path, '--protected-data'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${option}: not JSON`);
  }
  try {
    return await protectedDataFile(dataObjectFromJson(text, dirname(path)), 'borsh');
  } catch {
    // Its values are the data owner's: none is repeated.
    throw new UsageError(`${option}: DataProtector refuses this object (each value a string, number, boolean, object, {"@bigint": "…"} or {"@file": "path"})`);
  }
}

interface RunOptions {
  /** Another bundle than the app's own. */
  bundle: string | undefined;
  /** The requester's arguments; the demo's when not given. */
  args: string[] | undefined;
  secret: { text: string; source: string } | undefined;
  repeat: number;
  /** The size of the bag of tasks to run, each once. */
  bot: number;
  /** What the command line gives of the task; the demo's for the rest. */
  given: Given;
  generation: Generation;
  callback: string | undefined;
}

interface Given {
  inputFiles: string[];
  dataset: string | undefined;
  /** A bulk task's protected data: the deal then has no dataset of its own. */
  bulk: string[];
  requesterSecrets: Map<number, string>;
}

/** The task's files: each kind from the command line when given there, else the demo's. */
function taskFiles(given: Given, demo: TaskFiles, generation: Generation): TaskFiles {
  const dataset = given.bulk.length > 0 ? undefined : (given.dataset ?? demo.dataset);
  return {
    generation,
    inputFiles: given.inputFiles.length > 0 ? given.inputFiles : (demo.inputFiles ?? []),
    dataset,
    bulk: given.bulk,
    requesterSecrets: given.requesterSecrets.size > 0 ? given.requesterSecrets : (demo.requesterSecrets ?? new Map()),
  };
}

async function runAll(options: RunOptions): Promise<number> {
  const { app, demo, target } = await loadApp();
  let bundle = options.bundle;
  if (bundle === undefined) {
    bundle = target.outfile;
    if (isBundleStale(target)) {
      await buildBundle(target);
      console.log(`bundle: built ${relative(process.cwd(), bundle)}`);
    }
  }
  if (!existsSync(bundle)) throw new UsageError(`no bundle at ${bundle}`);
  console.log(`bundle: ${relative(process.cwd(), bundle)} (${(statSync(bundle).size / 1024).toFixed(1)} KB)`);
  const argv = options.args ?? demo.args;

  const upstream = demo.standIn === undefined ? undefined : await serveStandIn(demo.standIn());
  const demoDir = mkdtempSync(join(tmpdir(), 'iexec-demo-'));
  try {
    console.log(upstream === undefined ? 'stand-in: none (the app declares no upstream)' : `stand-in: ${upstream.url} (the app's upstreams, served here on loopback)`);
    await writeDemoFiles(demo, demoDir, target.appDir);
    const files = taskFiles(options.given, demoTaskFiles(demo, demoDir), options.generation);
    // The secret's values are never printed; the demo's is shown with only its fields marked `shown` in clear.
    let secret: string | undefined;
    if (app.secret === undefined) {
      console.log('secret: none (the app takes none)');
    } else if (options.secret !== undefined) {
      secret = options.secret.text;
      console.log(`secret: ${options.secret.source} (not shown)`);
    } else if (process.env.IEXEC_APP_DEVELOPER_SECRET) {
      secret = process.env.IEXEC_APP_DEVELOPER_SECRET;
      console.log('secret: from $IEXEC_APP_DEVELOPER_SECRET (not shown)');
    } else {
      const values = demo.secret?.(upstream?.url ?? '');
      if (values === undefined) throw new UsageError('the app takes a secret and its demo gives none: use --secret-file');
      secret = JSON.stringify(values);
      console.log(`secret: the demo's, ${redacted(app.secret, values)}`);
    }
    console.log(`args: ${argv.length === 0 ? '(none)' : JSON.stringify(argv)}`);
    // Names and counts only: the files and the requester secrets are the requester's.
    const secrets = [...(files.requesterSecrets ?? new Map()).keys()];
    console.log(
      `inputs: ${files.inputFiles?.length ?? 0} input file(s), ${files.bulk?.length ? `a bulk of ${files.bulk.length} protected data` : files.dataset === undefined ? 'no dataset' : 'a dataset'}, ` +
        `requester secrets ${secrets.length === 0 ? '(none)' : `${secrets.join(', ')} (not shown)`}`,
    );

    const outcomes: RunOutcome[] = [];
    for (let i = 1; i <= options.repeat; i++) {
      for (let index = 0; index < options.bot; index++) {
        const label = options.bot > 1 ? `task ${index} of the bag of ${options.bot}` : options.repeat > 1 ? `run ${i}/${options.repeat}` : 'run';
        outcomes.push(await runTask(bundle, secret, argv, options.bot > 1 ? { ...files, bot: { size: options.bot, firstIndex: 0, index } } : files, options.callback, label));
      }
    }
    let ok = outcomes.every((o) => o.exitCode === 0 && o.report.ok);
    if (options.repeat > 1 && ok) ok = compareDigests(outcomes, options.bundle === undefined ? app.resultVaries : undefined);
    console.log(ok ? '\nOK: the output is what iExec expects.' : '\nFAILED: see the ✗ lines and the app output above.');
    return ok ? 0 : 1;
  } finally {
    await upstream?.close();
    rmSync(demoDir, { recursive: true, force: true });
  }
}

/** Replicated workers must publish the same digest; an app that says its result varies is told apart from a failure. */
function compareDigests(outcomes: RunOutcome[], resultVaries: string | undefined): boolean {
  const digests = new Set(outcomes.map((o) => o.report.digest));
  if (digests.size === 1) {
    console.log(`\n✓ result digest stable across ${outcomes.length} runs: replicated workers would agree`);
    return true;
  }
  if (resultVaries !== undefined) {
    console.log(`\n- result digest changes between runs (${digests.size} distinct), as this app declares: ${resultVaries}.`);
    console.log('  Fine for a task run by one worker; a deal that asks for replication (trust > 1) could not reach consensus.');
    return true;
  }
  console.log(`\n✗ result digest NOT stable across ${outcomes.length} runs (${digests.size} distinct): replicated workers could not reach consensus`);
  return false;
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
