/** The apps every generic test runs: the template's own, and a second one that shares nothing with it. */
import { app as exampleApp } from '../../src/app';
import { standIn as exampleStandIn } from '../../src/app/stand-in';
import { decodeAbiParameters, type Hex } from 'viem';
import type { IexecApp, StandIn } from '../../src/iexec/app';
import type { BundleTarget } from '../../tools/build';
import { targetOf } from '../../tools/app';
import { QUOTE_CALLBACK, app as quoteApp } from '../fixtures/quote-app';
import { standIn as quoteStandIn } from '../fixtures/quote-app/stand-in';

export interface AppUnderTest {
  label: string;
  /** The folder TEMPLATE_APP names for the tools. */
  dir: string;
  app: IexecApp;
  standIn: StandIn;
  target: BundleTarget;
  /** The kind of result it returns on success: both write result.txt (a callback's holds its hex). */
  resultKind: 'text' | 'callback';
}

export const EXAMPLE_APP: AppUnderTest = { label: 'the example app (src/app)', dir: 'src/app', app: exampleApp, standIn: exampleStandIn, target: targetOf('src/app'), resultKind: 'text' };
export const QUOTE_APP: AppUnderTest = {
  label: 'a second app (test/fixtures/quote-app)',
  dir: 'test/fixtures/quote-app',
  app: quoteApp,
  standIn: quoteStandIn,
  target: targetOf('test/fixtures/quote-app'),
  resultKind: 'callback',
};
export const APPS = [EXAMPLE_APP, QUOTE_APP];

/** computed.json after a successful task of `app` whose result.txt holds `result`, IEXEC_OUT being `out` as the app saw it. */
export const successComputed = (app: AppUnderTest, out: string, result: string | undefined): string =>
  JSON.stringify({ 'deterministic-output-path': `${out}/result.txt`, ...(app.resultKind === 'callback' ? { 'callback-data': result } : {}) });

/** The second app's callback data, decoded as its contract would. */
export function decodeQuote(data: string): { topic: string; quote: string } {
  const [topic, quote] = decodeAbiParameters(QUOTE_CALLBACK, data as Hex);
  return { topic, quote };
}
