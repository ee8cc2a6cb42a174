/**
 * AWS helpers for activity tests: clients pointed at the local stack that count the commands they
 * send, buckets with unique names, and a MockActivityEnvironment that records heartbeats.
 */
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createAwsClients } from '../../src/aws/clients';
import type { AwsClients } from '../../src/aws/clients';
import type { ActivityDeps } from '../../src/activities/deps';
import { stack, unique } from './stack';

export const testCredentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Every command sent, in order: `<region> <CommandName> <input>`. */
export interface CallLog {
  calls: { region: string; command: string; input: Record<string, unknown> }[];
  count(command: string): number;
}

/** Clients on the local stack, fresh for each test, recording every command they send. */
export function countingClients(): { aws: AwsClients; log: CallLog } {
  const inner = createAwsClients({ endpoint: stack().aws.endpoint, credentials: testCredentials });
  const log: CallLog = {
    calls: [],
    count: (command) => log.calls.filter((c) => c.command === command).length,
  };
  const instrumented = new Set<object>();
  const wrap =
    <C extends { middlewareStack: { add: (...args: never[]) => void } }>(make: (region: string) => C) =>
    (region: string): C => {
      const client = make(region);
      if (!instrumented.has(client)) {
        instrumented.add(client);
        (client.middlewareStack as unknown as { add: (mw: unknown, opts: unknown) => void }).add(
          (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
            async (args: { input: Record<string, unknown> }) => {
              log.calls.push({
                region,
                command: (context.commandName ?? '').replace(/Command$/, ''),
                input: args.input,
              });
              return next(args);
            },
          { step: 'initialize', name: 'gluelineTestCallLog' },
        );
      }
      return client;
    };
  return {
    aws: {
      s3: wrap(inner.s3),
      glue: wrap(inner.glue),
      glueNoRetry: wrap(inner.glueNoRetry),
      redshiftData: wrap(inner.redshiftData),
    },
    log,
  };
}

/** Deps for activities that only use AWS. */
export function awsDeps(aws: AwsClients): ActivityDeps {
  return {
    aws,
    mailer: { sendMail: () => Promise.reject(new Error('no mailer in this test')) },
    temporalUiUrl: stack().temporal.uiUrl,
    namespace: 'default',
    taskQueue: 'glueline-test',
  };
}

/** A new bucket in `region`, with a unique name. */
export async function newBucket(aws: AwsClients, region: string, prefix = 'act'): Promise<string> {
  const Bucket = unique(prefix).toLowerCase();
  await aws.s3(region).send(
    new CreateBucketCommand({
      Bucket,
      CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as 'eu-west-1' },
    }),
  );
  return Bucket;
}

export async function putObjects(aws: AwsClients, region: string, bucket: string, objects: Record<string, string>) {
  for (const [Key, Body] of Object.entries(objects)) {
    await aws.s3(region).send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  }
}

/**
 * Uploads an object in parts of the given sizes (part N's bytes all N) with a FULL_OBJECT CRC32, as S3 keeps a
 * full-object CRC of objects written today. Every part but the last must be 5 MiB or more, as S3 requires.
 */
export async function putMultipartObject(s3: S3Client, Bucket: string, Key: string, partSizes: number[]) {
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }),
  );
  const Parts = [];
  for (const [i, size] of partSizes.entries()) {
    const part = await s3.send(
      new UploadPartCommand({
        Bucket,
        Key,
        UploadId,
        PartNumber: i + 1,
        Body: Buffer.alloc(size, i + 1),
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    Parts.push({ PartNumber: i + 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
}

/** A MockActivityEnvironment that keeps every heartbeat it sees. */
export function activityEnv(info: Partial<Info> = {}): MockActivityEnvironment & { heartbeats: unknown[] } {
  const env = new MockActivityEnvironment(
    { startToCloseTimeoutMs: 600_000, ...info },
    { logger: new DefaultLogger('ERROR') },
  ) as MockActivityEnvironment & {
    heartbeats: unknown[];
  };
  env.heartbeats = [];
  env.on('heartbeat', (d: unknown) => env.heartbeats.push(d));
  return env;
}

/** A fast poll policy for tests. */
export const fastPolling = { initialIntervalMs: 100, maxIntervalMs: 200, backoffCoefficient: 2 };

/** `env.run`, typed: MockActivityEnvironment.run cannot infer the activity's result type. */
export function run<A extends unknown[], R>(
  env: MockActivityEnvironment,
  fn: (...args: A) => Promise<R>,
  ...args: A
): Promise<R> {
  return env.run(fn, ...args) as Promise<R>;
}

/** The ApplicationFailure an activity failed with (fails the test when it succeeds or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the activity to fail');
}

/**
 * Clients whose `send` is answered in-process by `answer(command, input)`: only for branches the local
 * stack's gateway cannot produce (a job run ending ERROR or EXPIRED, a corrupted copy, transient statuses
 * too quick to observe). Region-independent; every command is logged like countingClients.
 */
export function fakeClients(answer: (command: string, input: Record<string, unknown>) => unknown): {
  aws: AwsClients;
  log: CallLog;
} {
  const log: CallLog = {
    calls: [],
    count: (command) => log.calls.filter((c) => c.command === command).length,
  };
  const client = (region: string) =>
    ({
      send: async (
        cmd: { constructor: { name: string }; input: Record<string, unknown> },
        options?: { abortSignal?: AbortSignal },
      ) => {
        const command = cmd.constructor.name.replace(/Command$/, '');
        log.calls.push({ region, command, input: cmd.input });
        const signal = options?.abortSignal;
        if (!signal) return answer(command, cmd.input);
        // Like the SDK: an aborted call rejects with an AbortError.
        return Promise.race([
          Promise.resolve(answer(command, cmd.input)),
          new Promise((_, reject) => {
            const abort = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
            if (signal.aborted) abort();
            else signal.addEventListener('abort', abort, { once: true });
          }),
        ]);
      },
    }) as never;
  return { aws: { s3: client, glue: client, glueNoRetry: client, redshiftData: client }, log };
}
