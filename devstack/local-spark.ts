/**
 * Runs a Glue job run of glueline's job script with local Spark, for the local stack's gateway: it stages
 * the input objects from local S3 into a folder, runs the job's pure transform with the dev tools' Python
 * (pyspark on the machine's Java) through glue/glueline_local.py, and uploads the Parquet, the quarantine
 * and the manifest back to local S3, where the pipeline reads them as it would in AWS.
 *
 * The gateway calls the runner when a job run starts and no scripted outcome is queued for it:
 *
 * ```ts
 * const runJob = createLocalSparkRunner({
 *   s3Endpoint: upstream.href, // moto itself, so the gateway's fault rules do not hit the runner's own S3 calls
 *   workRoot: path.join(process.env.GATEWAY_DATA_DIR ?? os.tmpdir(), 'glue-runs'),
 * });
 * ```
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Job } from '@aws-sdk/client-glue';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import type { GlueManifest } from '../src/workflow-safe/layout';
import type { JobRunner, JobRunRequest, JobRunResult } from './gateway/job-runner';
import { devtool, repoRoot } from './paths';

type JobRun = JobRunRequest;
type JobRunOutcome = JobRunResult;

export interface LocalSparkRunnerOptions {
  /** The S3 endpoint holding the job's input and receiving its output (moto's, or the gateway's). */
  s3Endpoint: string;
  /** A folder for each run's staged input, output and Spark scratch space; each run's folder is removed after it. */
  workRoot: string;
  /** The job's script must end with this name: the runner runs glueline's job, no other. @default 'glueline_job.py' */
  scriptName?: string;
  /** Spark's master URL. @default 'local[2]' */
  sparkMaster?: string;
  /** Keep each run's folder for inspection. @default false */
  keepWork?: boolean;
  /** Progress lines. @default - none */
  log?: (line: string) => void;
}

/** Marks the error line in the local entry point's stderr (Spark may log after the traceback). */
const ERROR_MARKER = 'glueline-local-error: ';
const S3_URI = /^s3[an]?:\/\/([^/]+)\/?(.*)$/;

function parseS3Uri(uri: string, argument: string): { bucket: string; key: string } {
  const match = S3_URI.exec(uri);
  if (!match) throw new Error(`${argument} ${JSON.stringify(uri)} is not an s3:// URI`);
  return { bucket: match[1]!, key: match[2]! };
}

/** True when the job's script is glueline's (by file name, wherever it was uploaded). */
export function runsScript(job: Job, scriptName = 'glueline_job.py'): boolean {
  const script = job.Command?.ScriptLocation ?? '';
  return script === scriptName || script.endsWith(`/${scriptName}`);
}

/** A JobRunner that executes glueline's job script with local Spark against local S3. */
export function createLocalSparkRunner(options: LocalSparkRunnerOptions): JobRunner {
  const scriptName = options.scriptName ?? 'glueline_job.py';
  const log = options.log ?? (() => {});
  const s3ByRegion = new Map<string, S3Client>();
  const s3 = (region: string) => {
    let client = s3ByRegion.get(region);
    if (!client) {
      client = new S3Client({
        region,
        endpoint: options.s3Endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      s3ByRegion.set(region, client);
    }
    return client;
  };

  return async (run) => {
    const script = run.job.Command?.ScriptLocation ?? '';
    if (!runsScript(run.job, scriptName)) {
      return {
        state: 'FAILED',
        errorMessage: `the local stack runs only glueline's job script (${scriptName}); job ${run.jobName} runs ${script || 'no script'}`,
      };
    }
    const args: Record<string, string> = { ...stringArguments(run.job.DefaultArguments), ...run.arguments };
    const work = path.join(options.workRoot, `${run.jobName}-${run.jobRunId}`.replace(/[^\w.-]/g, '_'));
    const root = path.join(work, 's3');
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    const client = s3(run.region);
    let outcome: JobRunOutcome | undefined;
    try {
      for (const name of ['--input_path', '--output_path', '--quarantine_path', '--manifest_path']) {
        if (args[name] === undefined) return { state: 'FAILED', errorMessage: `job argument ${name} is missing` };
      }
      const input = parseS3Uri(args['--input_path']!, '--input_path');
      const staged = await stage(client, input.bucket, input.key, root, run.signal);
      log(`${run.jobRunId}: staged ${staged} object(s) from s3://${input.bucket}/${input.key}`);

      const pythonPath = await downloadPyFiles(
        client,
        args['--extra-py-files'],
        path.join(work, 'py-files'),
        run.signal,
      );
      outcome = await runSpark(run, args, work, root, options, timeoutMs(run.job), pythonPath);
      if (outcome.state !== 'SUCCEEDED') return outcome;

      const manifestAt = parseS3Uri(args['--manifest_path']!, '--manifest_path');
      const manifestFile = path.join(root, manifestAt.bucket, manifestAt.key);
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as GlueManifest;
      for (const [name, files] of [
        ['--output_path', manifest.outputFiles],
        ['--quarantine_path', manifest.quarantineFiles],
      ] as const) {
        const target = parseS3Uri(args[name]!, name);
        // As the job does in Glue: a re-run of the batch replaces its output, never adds to it.
        await deletePrefix(client, target.bucket, target.key);
        for (const file of files) {
          await client.send(
            new PutObjectCommand({
              Bucket: target.bucket,
              Key: file.key,
              Body: fs.readFileSync(path.join(root, target.bucket, file.key)),
            }),
            { abortSignal: run.signal },
          );
        }
      }
      // The manifest goes last: its presence marks complete output.
      await client.send(
        new PutObjectCommand({
          Bucket: manifestAt.bucket,
          Key: manifestAt.key,
          Body: fs.readFileSync(manifestFile),
          ContentType: 'application/json',
        }),
        { abortSignal: run.signal },
      );
      log(`${run.jobRunId}: ${manifest.rowsIn} rows in, ${manifest.rowsOut} out, ${manifest.rowsRejected} quarantined`);
      return outcome;
    } catch (err) {
      const error = err as Error;
      outcome = {
        state: 'FAILED',
        errorMessage: run.signal.aborted ? 'the job run was stopped' : `${error.name}: ${error.message}`,
      };
      return outcome;
    } finally {
      if (!options.keepWork) fs.rmSync(work, { recursive: true, force: true });
    }
  };
}

function stringArguments(args: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(args ?? {}).filter(([, v]) => typeof v === 'string'));
}

/** Glue's job timeout (minutes), as the run's deadline. */
function timeoutMs(job: Job): number {
  return (job.Timeout ?? 2880) * 60_000;
}

async function stage(client: S3Client, bucket: string, prefix: string, root: string, signal: AbortSignal) {
  let count = 0;
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      if (!object.Key || object.Key.endsWith('/')) continue; // console "folders"
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }), {
        abortSignal: signal,
      });
      const file = path.join(root, bucket, object.Key);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, await response.Body!.transformToByteArray());
      count++;
    }
  }
  return count;
}

/**
 * Downloads the job's --extra-py-files (comma-separated s3:// URIs of .py and .zip files) as Glue does, and
 * returns the Python path entries: the folder of the .py files, and each .zip. A file that cannot be read
 * fails the run, as it does in Glue.
 */
async function downloadPyFiles(client: S3Client, list: string | undefined, dir: string, signal: AbortSignal) {
  const entries: string[] = [];
  fs.mkdirSync(dir, { recursive: true });
  for (const uri of (list ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)) {
    const { bucket, key } = parseS3Uri(uri, '--extra-py-files');
    const name = path.posix.basename(key);
    let body: Uint8Array;
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      body = await response.Body!.transformToByteArray();
    } catch (err) {
      throw new Error(`--extra-py-files ${uri} cannot be read (${(err as Error).name}): run provision again`, {
        cause: err,
      });
    }
    fs.writeFileSync(path.join(dir, name), body);
    if (name.endsWith('.zip')) entries.push(path.join(dir, name));
    else if (!entries.includes(dir)) entries.unshift(dir);
  }
  return entries;
}

async function deletePrefix(client: S3Client, bucket: string, prefix: string) {
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
}

/** Runs glue/glueline_local.py in its own process group, so a stop or a timeout kills Spark's JVM too. */
function runSpark(
  run: JobRun,
  args: Record<string, string>,
  work: string,
  root: string,
  options: LocalSparkRunnerOptions,
  deadlineMs: number,
  pythonPath: string[],
): Promise<JobRunOutcome> {
  const argv = Object.entries(args).flatMap(([name, value]) => [name, value]);
  const scratch = path.join(work, 'spark');
  fs.mkdirSync(scratch, { recursive: true });
  // The job's runs as GetJobRuns reports them now, for the job's check that no earlier live run holds the batch.
  const runsFile = path.join(work, 'job-runs.json');
  fs.writeFileSync(runsFile, JSON.stringify(run.jobRuns?.() ?? []));
  return new Promise((resolve) => {
    const child = spawn(
      devtool('python'),
      [path.join(repoRoot, 'glue', 'glueline_local.py'), ...argv, '--local_root', root],
      {
        cwd: work,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          GLUELINE_SPARK_MASTER: options.sparkMaster ?? 'local[2]',
          SPARK_LOCAL_DIRS: scratch,
          GLUELINE_LOCAL_JOB_RUN_ID: run.jobRunId,
          GLUELINE_LOCAL_JOB_RUNS: runsFile,
          // The job's --extra-py-files, as Glue puts them on the Python path (glueline_local.py puts glue/ first).
          PYTHONPATH: [...pythonPath, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        },
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-64_000);
    });
    child.stdout.on('data', (chunk: Buffer) => options.log?.(`${run.jobRunId}: ${chunk.toString('utf8').trimEnd()}`));

    let ended: JobRunOutcome | undefined;
    const kill = (why: JobRunOutcome) => {
      ended ??= why;
      try {
        process.kill(-child.pid!, 'SIGTERM');
        setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5_000).unref();
      } catch {
        // already gone
      }
    };
    const onAbort = () => kill({ state: 'FAILED', errorMessage: 'the job run was stopped' });
    run.signal.addEventListener('abort', onAbort, { once: true });
    if (run.signal.aborted) onAbort();
    const timer = setTimeout(
      () =>
        kill({ state: 'TIMEOUT', errorMessage: `the job run exceeded its timeout of ${deadlineMs / 60_000} minutes` }),
      deadlineMs,
    );

    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ state: 'FAILED', errorMessage: `could not start local Spark: ${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      if (ended) return resolve(ended);
      if (code === 0) return resolve({ state: 'SUCCEEDED' });
      resolve({ state: 'FAILED', errorMessage: lastErrorLine(stderr) ?? `local Spark exited with status ${code}` });
    });
  });
}

/** The Python error's last line: the marked one if present, else the last line of stderr. */
export function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const marked = lines.filter((l) => l.startsWith(ERROR_MARKER)).pop();
  return marked ? marked.slice(ERROR_MARKER.length) : lines.pop();
}
