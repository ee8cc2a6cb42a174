/**
 * `glueline completion bash|zsh`: the script, sourced in a real bash from the CLI's own output, completes commands
 * and each command's flags from the tables the commands parse with. No stack needed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { glueline, gluelineInBash } from '../../devstack/testkit/cli';

/** What `_glueline` offers for the command line `words` (the last one being completed), in a bash that sourced it. */
async function complete(...words: string[]): Promise<string[]> {
  const array = words.map((w) => `'${w}'`).join(' ');
  const { code, stdout, stderr } = await gluelineInBash(
    `source <(glueline completion bash) || exit 9\n` +
      `complete -p glueline >/dev/null || exit 8\n` +
      `COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _glueline; printf '%s\\n' "\${COMPREPLY[@]}"`,
    {},
  );
  assert.equal(code, 0, stderr);
  return stdout.split('\n').filter((l) => l !== '');
}

describe('glueline completion', () => {
  test('bash: a command from its first letters, and every command from nothing', async () => {
    assert.deepEqual(await complete('glueline', 'ru'), ['run']);
    assert.deepEqual(await complete('glueline', 're'), ['redrive', 'rejects']);
    const all = await complete('glueline', '');
    for (const command of ['run', 'step', 'status', 'list', 'worker', 'devstack', 'completion', '--version'])
      assert.ok(all.includes(command), `${command} is missing: ${all.join(' ')}`);
  });

  test("bash: a flag prefix gives the command's flags, as its parser takes them", async () => {
    assert.deepEqual(await complete('glueline', 'run', '--spec', 'x.yaml', '--ba'), ['--batch-id']);
    assert.deepEqual(await complete('glueline', 'step', '--source-'), ['--source-bucket', '--source-region']);
    assert.deepEqual(await complete('glueline', 'list', '--'), ['--help', '--json', '--limit', '--pipeline', '--spec']);
    // The table is the parser's: a flag it offers is accepted, and one it does not know is refused.
    const offered = await complete('glueline', 'redrive', '--');
    assert.ok(offered.includes('--from'));
    const refused = await glueline('redrive', 'x', '--form', 'transform');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown flag --form; did you mean "--from"\?/);
    assert.ok(!offered.includes('--form'));
  });

  test('bash: a value that is not a flag is left to file names', async () => {
    assert.deepEqual(await complete('glueline', 'run', '--spec', 'spe'), []);
  });

  test('zsh gets the same function through bashcompinit; an unknown shell exits 2', async () => {
    const zsh = await glueline('completion', 'zsh');
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /^#compdef glueline$/m);
    assert.match(zsh.stdout, /^autoload -U \+X bashcompinit && bashcompinit$/m);
    const bash = await glueline('completion', 'bash');
    assert.ok(zsh.stdout.includes(bash.stdout.split('\n').slice(1).join('\n')), 'zsh has another function');
    const fish = await glueline('completion', 'fish');
    assert.equal(fish.code, 2);
    assert.match(fish.stderr, /name the shell: glueline completion bash\|zsh/);
  });
});
