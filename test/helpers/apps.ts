/** The apps every generic test runs: the template's own, and fixture apps that share nothing with it. */
import { app as exampleApp } from '../../src/app';
import { demo as exampleDemo } from '../../src/app/demo';
import type { DemoTask, IexecApp } from '../../src/iexec/app';
import type { SecretSpec } from '../../src/iexec/secret';
import type { BundleTarget } from '../../tools/build';
import { targetOf } from '../../tools/app';
import { app as quoteApp } from '../fixtures/quote-app';
import { demo as quoteDemo } from '../fixtures/quote-app/demo';

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
export const APPS = [EXAMPLE_APP, QUOTE_APP];

/** The apps that take a developer secret, with it (the tests of the secret and of pack-secret). */
export const APPS_WITH_SECRET = APPS.flatMap((a) => (a.app.secret === undefined ? [] : [{ ...a, secret: a.app.secret as SecretSpec }]));
/** The apps that call an upstream, with the first (the tests of upstream failures). */
export const APPS_ONLINE = APPS.flatMap((a) => (a.app.upstreams[0] === undefined ? [] : [{ ...a, upstream: a.app.upstreams[0] }]));
