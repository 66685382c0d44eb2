/** The apps every generic test runs: the template's own, and fixture apps that share nothing with it. */
import { app as exampleApp } from '../../src/app';
import { demo as exampleDemo } from '../../src/app/demo';
import { decodeAbiParameters, type Hex } from 'viem';
import type { DemoTask, IexecApp } from '../../src/iexec/app';
import type { SecretSpec } from '../../src/iexec/secret';
import type { BundleTarget } from '../../tools/build';
import { targetOf } from '../../tools/app';
import { QUOTE_CALLBACK, app as quoteApp } from '../fixtures/quote-app';
import { demo as quoteDemo } from '../fixtures/quote-app/demo';

export interface AppUnderTest {
  label: string;
  /** The folder TEMPLATE_APP names for the tools. */
  dir: string;
  app: IexecApp;
  demo: DemoTask;
  target: BundleTarget;
  /** The kind of result it returns on success: both write result.txt (a callback's holds its hex). */
  resultKind: 'text' | 'callback';
}

const underTest = (label: string, dir: string, app: IexecApp, demo: DemoTask, resultKind: AppUnderTest['resultKind']): AppUnderTest => ({ label, dir, app, demo, target: targetOf(dir), resultKind });

export const EXAMPLE_APP = underTest('the example app (src/app)', 'src/app', exampleApp, exampleDemo, 'text');
export const QUOTE_APP = underTest('a second app (test/fixtures/quote-app)', 'test/fixtures/quote-app', quoteApp, quoteDemo, 'callback');
export const APPS = [EXAMPLE_APP, QUOTE_APP];

/** The apps that take a developer secret, with it (the tests of the secret and of pack-secret). */
export const APPS_WITH_SECRET = APPS.flatMap((a) => (a.app.secret === undefined ? [] : [{ ...a, secret: a.app.secret as SecretSpec }]));
/** The apps that call an upstream, with the first (the tests of upstream failures). */
export const APPS_ONLINE = APPS.flatMap((a) => (a.app.upstreams[0] === undefined ? [] : [{ ...a, upstream: a.app.upstreams[0] }]));
/** computed.json after a successful task of `app` whose result.txt holds `result`, IEXEC_OUT being `out` as the app saw it. */
export const successComputed = (app: AppUnderTest, out: string, result: string | undefined): string =>
  JSON.stringify({ 'deterministic-output-path': `${out}/result.txt`, ...(app.resultKind === 'callback' ? { 'callback-data': result } : {}) });

/** The second app's callback data, decoded as its contract would. */
export function decodeQuote(data: string): { topic: string; quote: string } {
  const [topic, quote] = decodeAbiParameters(QUOTE_CALLBACK, data as Hex);
  return { topic, quote };
}
