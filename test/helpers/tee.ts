import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { parse as parseToml } from 'smol-toml';
import { ROOT } from '../../tools/build';

export { readTeeEnv as teeEnv } from '../../tools/tee-env';

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

// What gramine-manifest provides to templates, stubbed with Ubuntu's paths.
export const GRAMINE_LIBOS = '/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so';
export const GRAMINE_RUNTIME = '/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc';

/** gramine.manifest.template rendered (Jinja2 syntax, through nunjucks) and parsed as TOML. */
export function renderManifest(defines: Record<string, string>): Record<string, unknown> {
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
  const template = readFileSync(join(ROOT, 'gramine.manifest.template'), 'utf8');
  const text = env.renderString(template, {
    ...defines,
    gramine: { libos: GRAMINE_LIBOS, runtimedir: () => GRAMINE_RUNTIME },
  });
  return parseToml(text) as Record<string, unknown>;
}
