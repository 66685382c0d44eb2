import { parseArgs, type ParseArgsConfig } from 'node:util';
import { safeName } from '../src/iexec/fields';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The command line's options, or undefined (after printing why, with the usage) when they are bad. */
export function parseOptions<const O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (error) {
    console.error(`${whatIsWrong(error, argv, options)}\n\n${usage}`);
    return undefined;
  }
}

/**
 * parseArgs's own messages quote what was typed (`--token a b` says `Unexpected argument 'b'`;
 * `-hsecret` names `-s`): a mistyped value could be a secret. Ours name only an option the tool
 * defines, or an unknown one that was typed alone and looks like a name.
 */
function whatIsWrong(error: unknown, argv: string[], options: Options): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return 'Unexpected argument (not shown): options only, as --name VALUE';
  // Where parsing stopped: the first option that is unknown or has a bad value, read without the rules.
  const { tokens } = parseArgs({ args: argv, options, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (option === undefined) {
      const alone = argv[token.index]?.split('=')[0] === token.rawName;
      return `Unknown option ${alone ? safeName(token.name, () => `'${token.rawName}'`) : '(not shown)'}`;
    }
    const name = `'--${token.name}'`;
    if (option.type === 'boolean' && token.value !== undefined) return `Option ${name} takes no value`;
    if (option.type === 'boolean') continue;
    if (token.value === undefined) return `Option ${name} needs a value`;
    if (!token.inlineValue && token.value.startsWith('-')) return `Option ${name} has a value that starts with a dash: write it as --${token.name}=VALUE`;
  }
  throw error; // not a command-line mistake: a bug in the tool's options
}
