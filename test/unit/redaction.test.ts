/** The worker's redaction of failures, results and log lines (src/worker/redaction.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput, LogEntry } from '@temporalio/worker';
import { redactError, redactingInterceptors, redactingLogFunction } from '../../src/worker/redaction';

const secrets = ['hook-token-abc123', 'smtp-pw-xyz789'];

/** Runs the redacting interceptor around `body`, as the worker runs an activity. */
async function throughInterceptor(body: () => Promise<unknown>): Promise<unknown> {
  const factory = redactingInterceptors(secrets).activity![0]!;
  const { inbound } = factory({} as never);
  return inbound!.execute!({ args: [] } as unknown as ActivityExecuteInput, body);
}

describe('worker redaction', () => {
  test("a failure's message, stack, details and cause lose every secret", () => {
    const cause = new Error('AccessDenied for key landing/smtp-pw-xyz789.csv');
    const failure = ApplicationFailure.create({
      type: 'GlueJobRunFailed',
      message: 'ended FAILED: token hook-token-abc123 rejected',
      details: [{ errorMessage: 'token hook-token-abc123 rejected', jobName: 'job' }],
      cause,
    });
    redactError(failure, secrets);
    const text = [failure.message, failure.stack, JSON.stringify(failure.details), cause.message, cause.stack].join();
    for (const s of secrets) assert.ok(!text.includes(s), `${s} in ${text}`);
    assert.equal(failure.message, 'ended FAILED: token [redacted] rejected');
    assert.deepEqual(failure.details, [{ errorMessage: 'token [redacted] rejected', jobName: 'job' }]);
    assert.equal(failure.type, 'GlueJobRunFailed', 'the failure keeps its type');
  });

  test('results are redacted only when they hold a secret', async () => {
    const clean = { keys: ['a.csv'], n: 1 };
    assert.equal(await throughInterceptor(async () => clean), clean, 'returned as it is, not copied');
    assert.deepEqual(await throughInterceptor(async () => ({ inputFiles: ['landing/hook-token-abc123.csv'], n: 2 })), {
      inputFiles: ['landing/[redacted].csv'],
      n: 2,
    });
    await assert.rejects(
      throughInterceptor(async () => {
        throw new Error('NoSuchKey: smtp-pw-xyz789');
      }),
      { message: 'NoSuchKey: [redacted]' },
    );
  });

  test('log lines, text and JSON, are written redacted', () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stderr.write;
    try {
      const entry: LogEntry = {
        level: 'WARN',
        message: 'Activity failed',
        meta: { error: new Error('token hook-token-abc123') },
        timestampNanos: 1_000_000n,
      };
      redactingLogFunction(secrets, false)(entry);
      redactingLogFunction(secrets, true)(entry);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(written.length, 2);
    for (const line of written) {
      assert.ok(line.includes('[redacted]'), line);
      assert.ok(!line.includes('hook-token-abc123'), line);
    }
    assert.equal(JSON.parse(written[1]!).level, 'WARN');
  });
});
