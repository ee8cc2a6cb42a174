/**
 * The payload codec end to end: a worker process holding GLUELINE_CODEC_KEY, a run started by a client with
 * the same codec, the history on the server read without the codec (ciphertext only) and through the codec
 * server (`temporal workflow show --codec-endpoint`, as the Temporal UI reads it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { freePort } from '../../devstack/stack';
import { FailureType } from '../../src/workflow-safe/failures';
import { historyText } from '../reliability/support';
import { stack, unique } from '../../devstack/testkit/stack';
import {
  startStackWorker,
  startWorker,
  stopWorker,
  waitForOutput,
  type StackWorker,
  type WorkerProcess,
} from '../../devstack/testkit/worker-process';

describe('payloads encrypted with GLUELINE_CODEC_KEY', () => {
  const key = randomBytes(32).toString('base64');
  const taskQueue = unique('e2e-codec');
  const marker = unique('codec-marker');
  const workflowId = unique('e2e-codec');
  let codecServer: WorkerProcess;
  let codecEndpoint: string;
  let stackWorker: StackWorker | undefined;
  let worker: WorkerProcess;
  let error: unknown;

  before(async () => {
    // `npm run codec-server`, as its own process: the CLI below runs synchronously and would block one in here.
    codecEndpoint = `127.0.0.1:${await freePort()}`;
    codecServer = startWorker(
      {
        GLUELINE_CODEC_KEY: key,
        GLUELINE_CODEC_KEY_ID: 'test-key',
        GLUELINE_CODEC_BIND: codecEndpoint,
        GLUELINE_TEMPORAL_UI_URL: stack().temporal.uiUrl,
      },
      'src/temporal/codec-server.ts',
    );
    await waitForOutput(codecServer, 'codec server on');
    // The client connects from the worker's environment, so it has the same codec, as the CLI would.
    stackWorker = await startStackWorker(taskQueue, {
      env: { GLUELINE_CODEC_KEY: key, GLUELINE_CODEC_KEY_ID: 'test-key', GLUELINE_LOG_LEVEL: 'DEBUG' },
    });
    worker = stackWorker.worker;
    const { client } = stackWorker;
    // A spec the workflow refuses: the worker must decrypt the input to name the missing fields.
    const input = { spec: { name: marker }, batch: { id: 'b1', source: { bucket: 'landing', prefix: 'in/' } } };
    const handle = await client.workflow.start('csvPipeline', { taskQueue, workflowId, args: [input] });
    error = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
  });

  after(async () => {
    await stackWorker?.stop();
    if (codecServer) await stopWorker(codecServer);
  });

  test('the worker decrypts the input: the run fails naming the missing spec fields', () => {
    assert.ok(error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure, String(error));
    assert.equal(error.cause.type, FailureType.InvalidInput);
    assert.match(error.cause.message, /input\.spec\.regions/);
  });

  test('the history on the server holds only ciphertext; the codec server decodes it for the CLI and UI', () => {
    const raw = historyText(workflowId);
    assert.ok(!raw.includes(marker), 'the input is readable in the history');
    assert.match(raw, /binary\/encrypted/);
    assert.ok(historyText(workflowId, stack().temporal, `http://${codecEndpoint}`).includes(marker));
  });

  test('the key is in neither the history nor the worker log', () => {
    assert.ok(!historyText(workflowId).includes(key));
    assert.ok(worker.output().includes('encrypted with key test-key'));
    assert.ok(!worker.output().includes(key));
  });
});
