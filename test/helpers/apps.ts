/** The apps every generic test runs: the template's own, and a second one that shares nothing with it. */
import { app as exampleApp } from '../../src/app';
import { standIn as exampleStandIn } from '../../src/app/stand-in';
import type { IexecApp, StandIn } from '../../src/iexec/app';
import type { BundleTarget } from '../../tools/build';
import { targetOf } from '../../tools/app';
import { app as quoteApp } from '../fixtures/quote-app';
import { standIn as quoteStandIn } from '../fixtures/quote-app/stand-in';

export interface AppUnderTest {
  label: string;
  /** The folder TEMPLATE_APP names for the tools. */
  dir: string;
  app: IexecApp;
  standIn: StandIn;
  target: BundleTarget;
}

export const EXAMPLE_APP: AppUnderTest = { label: 'the example app (src/app)', dir: 'src/app', app: exampleApp, standIn: exampleStandIn, target: targetOf('src/app') };
export const QUOTE_APP: AppUnderTest = {
  label: 'a second app (test/fixtures/quote-app)',
  dir: 'test/fixtures/quote-app',
  app: quoteApp,
  standIn: quoteStandIn,
  target: targetOf('test/fixtures/quote-app'),
};
export const APPS = [EXAMPLE_APP, QUOTE_APP];
