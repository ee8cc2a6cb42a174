/**
 * The exit codes every command keeps (0 done, 1 the run failed or an error on the way, 2 bad input and nothing
 * started), for the command lines the other CLI tests do not reach: each bad input exits 2 naming the flag and
 * the fix before anything connects, and a Temporal that cannot be reached exits 1 naming the address.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { glueline, gluelineProcess } from '../../devstack/testkit/cli';

const spec = 'specs/local-sales.yaml';

/** Command lines that are bad input, and what their message must say. */
const badInput: [string[], RegExp][] = [
  [[], /^$/],
  [['lsit'], /^glueline: unknown command lsit: .*; did you mean "list"\?$/],
  [
    ['run', '--spec', spec, '--batch-id', 'b', '--prefix', 'p/', '--start-at', 'tranform'],
    /^glueline run: --start-at: "tranform" is not a step: .*did you mean "transform"\?$/,
  ],
  [
    ['run', '--spec', spec, '--batch-id', 'b', '--prefix', 'p/', '--stop-after'],
    /--stop-after <value>' argument missing; see glueline run --help$/,
  ],
  [
    ['step', '--spec', spec, '--batch-id', 'b', '--prefix', 'p/'],
    /^glueline step: --step is required: name the step to run, one of stage-raw/,
  ],
  [
    ['step', '--spec', spec, '--batch-id', 'b', '--prefix', 'p/', '--step', 'crawl-raw', '--regoin', 'x'],
    /^glueline step: unknown flag --regoin; did you mean "--region"\?; see glueline step --help$/,
  ],
  [['status'], /^glueline status: status takes one workflow id/],
  [['follow', 'a', 'b'], /^glueline follow: follow takes one workflow id/],
  [['list', '--spec', spec, '--limit', '0'], /^glueline list: --limit 0 is not a number of runs/],
  [['list', '--spec', spec, '--pipeline', 'sales'], /--spec and --pipeline both name the pipeline/],
  [['redrive'], /^glueline redrive: redrive takes one workflow id/],
  [
    ['redrive', 'csv-pipeline-x-y', '--from', 'tranform'],
    /--from tranform: name the step to start at, .*did you mean "transform"\?/,
  ],
  [['query', '--spec', spec, '--region', 'us-east-1'], /^glueline query: --sql is required/],
  [['rejects', '--spec', spec], /^glueline rejects: --batch-id is required/],
  [['rejects', '--spec', spec, '--batch-id', 'x y'], /--batch-id "x y" is not a usable batch id/],
  [['s3-events', '--spec', spec], /^glueline s3-events: --queue-url is required/],
  [['schedule'], /^glueline schedule: schedule: name an action, one of create/],
  [['schedule', 'creat', 's1'], /name an action, one of create, .*; did you mean "create"\?$/],
  [['health'], /^glueline health: --pipeline/],
  [['devstack', 'bogus'], /^glueline devstack: unknown devstack command bogus/],
  [['devstack', 'env', '--dir', '/nonexistent/stack'], /no local stack at \/nonexistent\/stack/],
  [['worker', '--bogus'], /^glueline worker: unknown flag --bogus; see glueline worker --help$/],
  [
    ['run', '--spec', 'no-such-spec.yaml', '--batch-id', 'b', '--prefix', 'p/'],
    /cannot read the spec file no-such-spec\.yaml/,
  ],
];

describe('exit codes: 0 done, 1 failed or an error, 2 bad input', () => {
  let saved: NodeJS.ProcessEnv;
  let port: number;

  before(async () => {
    saved = { ...process.env };
    // A Temporal address nothing listens on: a command that got past its input checks fails to connect (exit 1).
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    process.env.TEMPORAL_ADDRESS = `127.0.0.1:${port}`;
    delete process.env.TEMPORAL_PROFILE;
  });

  after(() => {
    process.env = saved;
  });

  test('help and --version exit 0', async () => {
    for (const argv of [['help'], ['--help'], ['--version'], ['run', '--help'], ['step', '-h'], ['list', '--help']]) {
      const { code, stdout } = await glueline(...argv);
      assert.equal(code, 0, argv.join(' '));
      assert.notEqual(stdout, '');
    }
  });

  test('each bad input exits 2 with a message naming the flag or the value, before connecting', async () => {
    for (const [argv, message] of badInput) {
      const { code, stdout, stderr } = await glueline(...argv);
      assert.equal(code, 2, `glueline ${argv.join(' ')}: exit ${code}\n${stderr}`);
      assert.match(argv.length ? stderr : stdout.split('\n')[0]!, argv.length ? message : /^usage: glueline/);
      assert.doesNotMatch(stderr, /cannot connect/, `glueline ${argv.join(' ')} connected before checking its input`);
    }
  });

  test('the worker that cannot reach Temporal exits 1 with one line naming the address and the fix, no stack', async () => {
    const { code, stdout, stderr } = await gluelineProcess(['worker'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      SMTP_URL: 'smtp://127.0.0.1:2525',
      GLUELINE_ENV_FILE: 'none',
    });
    assert.equal(code, 1, stderr);
    const lines = `${stdout}${stderr}`.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^worker: cannot connect to Temporal at 127\\.0\\.0\\.1:${port} `));
    assert.match(lines[0]!, /Start a server there .*or point TEMPORAL_ADDRESS .* at yours/);
  });

  test('a command that cannot reach Temporal exits 1 naming the address', async () => {
    for (const argv of [
      ['status', 'csv-pipeline-x-y'],
      ['list', '--pipeline', 'sales'],
      ['redrive', 'csv-pipeline-x-y', '--from', 'transform'],
    ]) {
      const { code, stderr } = await glueline(...argv);
      assert.equal(code, 1, `glueline ${argv.join(' ')}: exit ${code}\n${stderr}`);
      assert.match(stderr, new RegExp(`cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
    }
  });
});
