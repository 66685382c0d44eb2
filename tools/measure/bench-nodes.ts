/**
 * The nodes `npm run bench` measures on: the image's Node release (the figures that matter) and
 * this machine's node. On each, the app runs as the image runs it: tee.env's entrypoint flags
 * (those that node knows) and app.js with the code cache that node made.
 */
import { execFileSync } from 'node:child_process';
import type { BundleTarget } from '../build';
import { installImageApp } from '../image/image-app';
import { imageNode } from '../image/image-node';

export interface BenchNode {
  label: string;
  node: string;
  /** The image's app for this node: its folder and the node arguments that run it. */
  app: { dir: string; args: string[] };
}

export function benchNodes(target: BundleTarget): BenchNode[] {
  return [
    { label: "image's Node", node: imageNode() },
    { label: 'this machine', node: process.execPath },
  ].map(({ label, node }) => ({
    label: `${label} ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}`,
    node,
    app: installImageApp(target, node),
  }));
}
