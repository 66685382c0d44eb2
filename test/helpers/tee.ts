import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ROOT } from '../../tools/build';

export { readTeeEnv as teeEnv } from '../../tools/image/tee-env';

export function sizeInBytes(size: string): number {
  const match = /^(\d+)([KMG]?)$/.exec(size);
  if (!match) throw new Error(`not a size: ${size}`);
  return Number(match[1]) * 1024 ** ' KMG'.indexOf(match[2] || ' ');
}

export interface Stage {
  image: string;
  tag: string | null;
  digest: string | null;
  name: string | null;
  platform: string | undefined;
  instructions: Instruction[];
}

/** A Dockerfile, cut into its stages. */
export function dockerfileStages(file: string): Stage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, file), 'utf8'));
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!;
      stages.push({
        image: from.getImageName() ?? '',
        tag: from.getImageTag(),
        digest: from.getImageDigest(),
        name: from.getBuildStage(),
        platform: from.getPlatformFlag()?.getValue() ?? undefined,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form instruction's words (ENTRYPOINT ["a", "b"] → ["a", "b"]). */
export function execForm(instruction: Instruction): string[] {
  const text = instruction.getArgumentsContent() ?? '';
  const words: unknown = JSON.parse(text);
  if (!Array.isArray(words)) throw new Error(`${instruction.getKeyword()} is not in exec form: ${text}`);
  return words as string[];
}

/**
 * gramine.manifest.template rendered as Dockerfile.gramine renders it: the manifest stage's own
 * RUN command, run by sh on its COPY sources, then parsed as TOML.
 */
export function renderGramineManifest(): { text: string; manifest: Record<string, unknown> } {
  const stage = dockerfileStages('Dockerfile.gramine').find((s) => s.name === 'manifest')!;
  const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
  for (const copy of stage.instructions.filter((i) => i.getKeyword() === 'COPY')) {
    for (const source of copy.getArguments().slice(0, -1)) copyFileSync(join(ROOT, source.getValue()), join(dir, source.getValue()));
  }
  const run = stage.instructions.find((i) => i.getKeyword() === 'RUN')!.getArgumentsContent()!;
  execFileSync('sh', ['-c', run], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const text = readFileSync(join(dir, 'entrypoint.manifest'), 'utf8');
  return { text, manifest: parseToml(text) as Record<string, unknown> };
}
