/**
 * `glueline completion bash|zsh`: a shell completion script for the commands and each command's flags, generated
 * from the same tables the CLI parses with (the command table in ./cli.ts and each command's parser options, as the
 * did-you-mean suggestions use them), so it cannot drift from what the commands accept.
 */
import { commandFlags, parseCommandArgs, UsageError, type CommandIo } from './common';

type Command = (args: string[], io: CommandIo) => Promise<number>;

export const completionUsage = `usage: glueline completion bash|zsh

Prints a completion script for the shell: glueline's commands, each command's flags, and file names for the
values (--spec, --files). Load it in the current shell, or install it for every new one:

  bash:  source <(glueline completion bash)
         glueline completion bash > ~/.local/share/bash-completion/completions/glueline
  zsh:   source <(glueline completion zsh)          (uses zsh's bashcompinit)
`;

/** The shells a script is made for. */
const SHELLS = ['bash', 'zsh'] as const;

/** The `completion` command over `commands` (the CLI's command table). */
export function completionCommand(commands: Record<string, Command>): Command {
  return async (args, io) => {
    const { values, positionals } = parseCommandArgs('completion', args, {});
    if (values.help) {
      io.out(completionUsage);
      return 0;
    }
    const shell = positionals[0];
    if (positionals.length !== 1 || !(SHELLS as readonly string[]).includes(shell!))
      throw new UsageError(`name the shell: glueline completion ${SHELLS.join('|')}`);
    io.out(await completionScript(shell as (typeof SHELLS)[number], commands));
    return 0;
  };
}

/** Words of a shell `case` pattern or word list: commands and flags are plain, but quote them anyway. */
const quoted = (words: string[]) => `'${words.join(' ')}'`;

/**
 * The script: `_glueline` completes the command as the first word, a command's flags for a word that starts with
 * `-`, and otherwise falls back to file names (`complete -o default`).
 */
export async function completionScript(shell: 'bash' | 'zsh', commands: Record<string, Command>): Promise<string> {
  const names = Object.keys(commands).sort();
  const cases: string[] = [];
  for (const name of names) cases.push(`    ${name}) flags=${quoted((await commandFlags(commands[name]!)).sort())} ;;`);
  return [
    ...(shell === 'zsh'
      ? [
          '#compdef glueline',
          '# glueline completion for zsh, through bashcompinit',
          'autoload -U +X bashcompinit && bashcompinit',
        ]
      : ['# glueline completion for bash: source <(glueline completion bash)']),
    '_glueline() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" flags=""',
    '  COMPREPLY=()',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W ${quoted([...names, '--help', '--version'])} -- "$cur"))`,
    '    return 0',
    '  fi',
    '  case "$cur" in -*) ;; *) return 0 ;; esac',
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    '  esac',
    '  COMPREPLY=($(compgen -W "$flags" -- "$cur"))',
    '}',
    'complete -o default -F _glueline glueline',
  ].join('\n');
}
