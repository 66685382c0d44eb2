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
import { app as redactApp } from '../fixtures/redact-app';
import { demo as redactDemo } from '../fixtures/redact-app/demo';
import { app as scoreApp } from '../fixtures/score-app';
import { demo as scoreDemo } from '../fixtures/score-app/demo';

export interface AppUnderTest {
  label: string;
  /** The folder TEMPLATE_APP names for the tools. */
  dir: string;
  app: IexecApp;
  demo: DemoTask;
  target: BundleTarget;
}

const underTest = (label: string, dir: string, app: IexecApp, demo: DemoTask): AppUnderTest => ({ label, dir, app, demo, target: targetOf(dir) });

export const EXAMPLE_APP = underTest('the example app (src/app)', 'src/app', exampleApp, exampleDemo);
export const QUOTE_APP = underTest('a second app (test/fixtures/quote-app)', 'test/fixtures/quote-app', quoteApp, quoteDemo);
/** Offline, a folder result written as a stream, an input file and a requester secret, no developer secret. */
export const REDACT_APP = underTest('an offline app (test/fixtures/redact-app)', 'test/fixtures/redact-app', redactApp, redactDemo);
/** Offline, on a protected data (DataProtector), one or a bulk of them. */
export const SCORE_APP = underTest('an app on protected data (test/fixtures/score-app)', 'test/fixtures/score-app', scoreApp, scoreDemo);
export const APPS = [EXAMPLE_APP, QUOTE_APP, REDACT_APP, SCORE_APP];

/** The apps that take a developer secret, with it (the tests of the secret and of pack-secret). */
export const APPS_WITH_SECRET = APPS.flatMap((a) => (a.app.secret === undefined ? [] : [{ ...a, secret: a.app.secret as SecretSpec }]));
/** The apps that call an upstream, with the first (the tests of upstream failures). */
export const APPS_ONLINE = APPS.flatMap((a) => (a.app.upstreams[0] === undefined ? [] : [{ ...a, upstream: a.app.upstreams[0] }]));
/** The second app's callback data, decoded as its contract would. */
export function decodeQuote(data: string): { topic: string; quote: string } {
  const [topic, quote] = decodeAbiParameters(QUOTE_CALLBACK, data as Hex);
  return { topic, quote };
}
