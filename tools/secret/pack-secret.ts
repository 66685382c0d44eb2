/**
 * npm run pack-secret: builds the one value to push as the app developer secret, from the fields
 * the app's contract declares, validated by the very code the app runs, and keeps a local backup
 * (a pushed secret can never be read back). A sensitive field is typed without echo and never
 * shown again.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fchmodSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as z from 'zod/mini';
import { AppError } from '../../src/errors';
import { SECRET_MAX_BYTES, unpackSecret, type SecretSpec } from '../../src/iexec/secret';
import { loadApp } from '../app';
import { ROOT } from '../build';
import { parseOptions } from '../cli';
import { redacted } from './secret-view';

const DEFAULT_BACKUP = '.secrets/app-developer-secret.json';
const TOOL_OPTIONS = ['backup', 'force', 'check', 'help'];

function help(spec: SecretSpec): string {
  const fields = Object.entries(spec.fields).map(([name, info]) => `  --${name} VALUE`.padEnd(26) + `${info.description}${info.sensitive ? ' (sensitive: prefer the prompt, a flag stays in shell history)' : ''}`);
  return `Usage: npm run pack-secret -- [field options] [--backup PATH] [--force]
       npm run pack-secret -- --check FILE

Packs the secret's fields into the one value iExec stores for the app, checks it with the
app's own parser (and the ${SECRET_MAX_BYTES}-byte limit), writes it to a backup (one line, mode
0600 in a folder only you can open; by default ${DEFAULT_BACKUP}) and prints
how to push it. With no field option, asks for each field in turn; a sensitive one is typed
without echo and never shown again.

Fields (the app's secret schema):
${fields.join('\n')}

  --check FILE   validate an existing packed secret; names bad fields, never prints values
  --force        replace an existing backup
  -h, --help     this text

Exit code: 0 when the secret is valid (and backed up), 1 when it is not, 2 on bad usage.`;
}

/**
 * Validates as the app will, inside the enclave: same size limit, same schema. The value is the
 * file's one line, as `iexec app push-secret < FILE` reads it (its prompt takes the first line).
 */
function check(spec: SecretSpec, file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    console.error(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    return 1;
  }
  const packed = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (packed.includes('\n')) {
    console.error(`${file} holds more than one line: iexec app push-secret would take the first one only (pack it again, or join the lines)`);
    return 1;
  }
  try {
    const fields = unpackSecret(packed, spec);
    console.log(`OK: ${file} is a valid secret (fields: ${Object.keys(fields).join(', ')}; within ${SECRET_MAX_BYTES} bytes)`);
    return 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    console.error(`${error.line}\n${file} would make the app fail with exit code ${error.exitCode}.`);
    return 1;
  }
}

/** Reads answers line by line: piped answers arrive before the questions are asked, and are kept until read. */
class Prompter {
  private lines: { reader: ReturnType<typeof createInterface>; next: AsyncIterator<string> } | undefined;

  async line(question: string): Promise<string | undefined> {
    process.stdout.write(question);
    if (this.lines === undefined) {
      const reader = createInterface({ input: process.stdin });
      this.lines = { reader, next: reader[Symbol.asyncIterator]() };
    }
    const line = await this.lines.next.next();
    return line.done ? undefined : line.value.trim();
  }

  /** From a terminal, echo is off before the question shows, so nothing typed early is echoed. */
  async hidden(question: string): Promise<string | undefined> {
    if (!process.stdin.isTTY) return this.line(question);
    this.close();
    process.stdin.setRawMode(true);
    process.stdout.write(question);
    process.stdin.resume();
    return new Promise((resolve) => {
      let value = '';
      const done = (answer: string | undefined) => {
        process.stdin.off('data', onData);
        process.stdin.setRawMode(false);
        process.stdin.pause();
        process.stdout.write('\n');
        resolve(answer);
      };
      const onData = (chunk: Buffer) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\u0003') {
            process.stdin.setRawMode(false);
            process.exit(130);
          }
          if (char === '\u0004') return done(value === '' ? undefined : value);
          if (char === '\r' || char === '\n') return done(value.trim());
          value = char === '\u007f' || char === '\b' ? value.slice(0, -1) : value + char;
        }
      };
      process.stdin.on('data', onData);
    });
  }

  close(): void {
    this.lines?.reader.close();
    this.lines = undefined;
  }
}

class Refused extends Error {}

/** Each field asked in turn and checked as soon as it is typed; from a terminal a bad answer is asked again. */
async function askFields(spec: SecretSpec): Promise<Record<string, string>> {
  const prompter = new Prompter();
  const fields: Record<string, string> = {};
  try {
    for (const [name, field] of Object.entries(spec.schema.shape)) {
      const info = spec.fields[name] ?? { description: name };
      const fallback = field._zod.def.type === 'default' ? ` [${String((field._zod.def as unknown as { defaultValue: unknown }).defaultValue)}]` : '';
      // Optional, or defaulted: an empty answer leaves it out.
      const optional = field._zod.optin !== undefined;
      const hint = optional && fallback === '' ? ' (optional)' : '';
      const question = `${name}: ${info.description}${fallback}${hint}${info.sensitive ? ' (not echoed)' : ''}: `;
      for (;;) {
        const answer = info.sensitive ? await prompter.hidden(question) : await prompter.line(question);
        if (answer === undefined || answer === '') {
          if (optional) break;
          if (answer === undefined || !process.stdin.isTTY) throw new Refused(`SECRET_INVALID: field "${name}" is required`);
          console.error(`field "${name}" is required`);
          continue;
        }
        const parsed = z.safeParse(field, answer);
        if (parsed.success) {
          fields[name] = answer;
          break;
        }
        const message = `field "${name}" ${parsed.error.issues[0]?.message ?? 'is not valid'}`;
        if (!process.stdin.isTTY) throw new Refused(`SECRET_INVALID: ${message}`);
        console.error(message);
      }
    }
    return fields;
  } finally {
    prompter.close();
  }
}

/** The backup's place is refused: the message says why. */
class BackupRefused extends Error {}

const exists = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
const NO_OVERWRITE = (path: string) => `${path} exists: a backup is never overwritten without --force (it may be the only copy of a pushed secret).`;

/**
 * Why an existing folder cannot hold the backup: it must be yours and closed to others. It is
 * never chmod-ed: it may be your home or /tmp.
 */
function openFolder(folder: string): string | undefined {
  const stat = statSync(folder, { throwIfNoEntry: false });
  if (stat === undefined || ((stat.mode & 0o077) === 0 && stat.uid === process.getuid?.())) return undefined;
  const owner = stat.uid === process.getuid?.() ? '' : ', owned by another user';
  return `${folder} is open to other users (mode ${(stat.mode & 0o777).toString(8)}${owner}): pick a folder only you can open, or chmod 700 it`;
}

/**
 * Written whole to a new file that nothing else can have opened (exclusive, links not followed,
 * 0600) in a 0700 folder, then moved into place: linked, which fails on anything already there
 * (even a dangling link), or with --force renamed over it (which replaces a link, never writes
 * through it).
 */
function writeBackup(path: string, packed: string, force: boolean): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const refused = openFolder(dirname(path));
  if (refused !== undefined) throw new BackupRefused(refused);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeFileSync(fd, `${packed}\n`); // one line: the SDK's prompt reads a line
  } finally {
    closeSync(fd);
  }
  try {
    if (force) renameSync(temporary, path);
    else linkSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** What git says of the backup path, so that the tool does not claim it is ignored when it is not. */
function ignoredByGit(path: string): boolean | undefined {
  const run = spawnSync('git', ['check-ignore', '-q', resolve(path)], { cwd: ROOT });
  return run.error || run.status === 128 ? undefined : run.status === 0;
}

export async function main(argv: string[]): Promise<number> {
  const { app } = await loadApp();
  const spec = app.secret;
  if (spec === undefined) {
    console.error('npm run pack-secret: this app takes no developer secret (its contract declares none): there is nothing to pack');
    return 2;
  }
  const clash = Object.keys(spec.fields).filter((name) => TOOL_OPTIONS.includes(name));
  if (clash.length > 0) throw new Error(`secret field names clash with pack-secret's own options: ${clash.join(', ')}`);
  const usage = help(spec);
  const values = parseOptions(
    argv,
    {
      ...Object.fromEntries(Object.keys(spec.fields).map((name) => [name, { type: 'string' as const }])),
      backup: { type: 'string', default: DEFAULT_BACKUP },
      force: { type: 'boolean', default: false },
      check: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
  );
  if (values === undefined) return 2;
  if (values.help) return (console.log(usage), 0);
  if (values.check !== undefined) return check(spec, values.check);
  const backup = values.backup;
  const options: Record<string, unknown> = values;
  // Said before any question, and checked again when writing. A link, even a dangling one, is there.
  const refused = exists(backup) && !values.force ? NO_OVERWRITE(backup) : openFolder(dirname(backup));
  if (refused !== undefined) {
    console.error(refused);
    return 1;
  }

  // With no field option, every field is asked for; otherwise options only (scripts).
  const given = Object.fromEntries(Object.keys(spec.fields).flatMap((name) => (typeof options[name] === 'string' && options[name] !== '' ? [[name, options[name]]] : [])));
  let fields: Record<string, string>;
  try {
    fields = Object.keys(given).length > 0 ? given : await askFields(spec);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    console.error(error.message);
    return 1;
  }
  const packed = JSON.stringify(fields);
  try {
    unpackSecret(packed, spec);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    console.error(error.line);
    return 1;
  }

  try {
    writeBackup(backup, packed, values.force);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof BackupRefused) console.error(error.message);
    else if (code === 'EEXIST') console.error(NO_OVERWRITE(backup));
    else if (code !== undefined) console.error(`cannot write the backup to ${backup} (${code})`);
    else throw error;
    return 1;
  }

  const ignored = ignoredByGit(backup);
  const hidden = Object.keys(fields).some((name) => spec.fields[name]?.shown !== true);
  console.log(`Packed secret (${Buffer.byteLength(packed)} of ${SECRET_MAX_BYTES} bytes), valid for this app:

  ${redacted(spec, fields)}${hidden ? '\n  (a value is shown only when the app marks its field shown: the backup holds them all)' : ''}

Backup written to ${backup} (mode 0600, ${ignored === true ? 'git-ignored' : ignored === false ? 'NOT git-ignored: keep it out of commits' : 'outside this git checkout'}).
Keep it: iExec can never give the value back, never lets it be updated, and its secret service can lose it.

Push it once, from your deploy target's folder (it holds the iexec.json and chain.json that name
the right secret service; README, "Deploy on iExec"). Without --secret-value, iexec reads the value
from its input, so it is on no command line:

  cd deploy/tdx && iexec app push-secret < ${resolve(backup)}
  (SDK 8: deploy/scone-debug or deploy/scone-production with --tee-framework scone,
   deploy/gramine with --tee-framework gramine)

That is for a wallet that asks no password (a wallet.json in the folder). An encrypted wallet's
password is asked first, on that same input: then run iexec app push-secret alone, type the
password, and paste the value at its masked prompt, copied without showing it
(xclip -selection clipboard < ${resolve(backup)}, or pbcopy on macOS).

Then: iexec app check-secret (with the same --tee-framework on SDK 8)`);
  return 0;
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
