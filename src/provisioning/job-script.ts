/**
 * The Glue job's script and its Python package, uploaded to the primary region's curated bucket. The
 * package is zipped byte for byte the same from the same files, so an unchanged script plans nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Uri } from '../workflow-safe/layout';
import { ProvisionError, read, update, type Change } from './change';
import { scriptContractProblems } from './custom-script';

/** Where the job script and its Python package go, in the primary region's curated bucket. */
export const SCRIPTS_PREFIX = '_glueline/scripts/';
/** The job's entry script, in glue/ and under {@link SCRIPTS_PREFIX}. */
export const JOB_SCRIPT = 'glueline_job.py';
/** The zipped glueline_transform package, given to the job as --extra-py-files. */
export const JOB_MODULES = 'glueline_transform.zip';

/** The script and the zipped package, as they are uploaded. */
export function glueBundle(glueDir: string): { script: Buffer; modules: Buffer } {
  const pkg = path.join(glueDir, 'glueline_transform');
  const files = fs
    .readdirSync(pkg)
    .filter((n) => n.endsWith('.py'))
    .sort()
    .map((n) => ({ name: `glueline_transform/${n}`, data: fs.readFileSync(path.join(pkg, n)) }));
  return { script: fs.readFileSync(path.join(glueDir, JOB_SCRIPT)), modules: storedZip(files) };
}

/**
 * A zip archive with stored (uncompressed) entries and fixed timestamps: the same files make the same
 * bytes, so the uploaded object's ETag tells whether it changed. Glue's --extra-py-files takes it as is.
 */
export function storedZip(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    // The fields the local header (at 6) and the central directory entry (at 8) share, in the same order.
    const shared = (header: Buffer, at: number) => {
      header.writeUInt16LE(0x0800, at); // flags: names are UTF-8
      header.writeUInt16LE(0, at + 2); // method: stored
      header.writeUInt16LE(0, at + 4); // time 00:00
      header.writeUInt16LE((1 << 5) | 1, at + 6); // date 1980-01-01, zip's epoch
      header.writeUInt32LE(crc32(file.data), at + 8);
      header.writeUInt32LE(file.data.length, at + 12); // compressed size
      header.writeUInt32LE(file.data.length, at + 16); // size
      header.writeUInt16LE(name.length, at + 20);
      return header;
    };
    const local = shared(Buffer.alloc(30), 6);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    const central = shared(Buffer.alloc(46), 8);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, file.data);
    centrals.push(central, name);
    offset += local.length + name.length + file.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** x-amz-meta-glueline-md5: the uploaded bytes' MD5, to tell an unchanged script without downloading it. */
const DIGEST_METADATA = 'glueline-md5';
const md5 = (data: Buffer) => crypto.createHash('md5').update(data).digest('hex');

/**
 * An upload of `body` to `bucket/key` when the object is missing or holds other bytes. `bucketPlanned`:
 * the bucket is created by this plan, so there is nothing to read yet.
 */
export async function planObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  bucketPlanned: boolean,
  from = 'glue/',
): Promise<Change[]> {
  const resource = `S3 object ${s3Uri(bucket, key)}`;
  const head = bucketPlanned
    ? undefined
    : await read(
        resource,
        `s3:GetObject on ${bucket}/${key}`,
        () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
        ['NotFound', 'NoSuchKey', '404'],
      );
  // The digest travels as metadata: an ETag is the MD5 of the bytes only without SSE-KMS.
  const digest = md5(body);
  const current = head && (head.Metadata?.[DIGEST_METADATA] ?? head.ETag?.replace(/"/g, ''));
  if (current === digest) return [];
  const permission = `s3:PutObject on ${bucket}/${key}`;
  const apply = async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { [DIGEST_METADATA]: digest } }),
    );
  };
  if (head) return update(resource, [{ field: 'content MD5', from: current, to: digest }], permission, apply);
  return [{ action: 'create' as const, resource, detail: `${body.length} bytes from ${from}`, permission, apply }];
}

/** A file of the user's to upload beside the job: `transform.module`, or `transform.script` (checked first). */
export interface UserModuleUpload {
  /** The spec field that names it. */
  field: 'module' | 'script';
  /** The file on this machine (the spec's path resolved against the spec file's folder). */
  file: string;
  key: string;
}

/**
 * The uploads of the script, the package and the user's files to the primary region's curated bucket. A
 * `transform.script` that does not read the contract's arguments is refused before anything is planned.
 */
export async function planJobScript(
  s3: S3Client,
  bucket: string,
  glueDir: string,
  bucketPlanned: boolean,
  userFiles: UserModuleUpload[] = [],
): Promise<Change[]> {
  // Every user file is read (and a script checked) before anything is asked of S3.
  const bodies = userFiles.map((user) => {
    let body: Buffer;
    try {
      body = fs.readFileSync(user.file);
    } catch (err) {
      throw new ProvisionError(
        `transform.${user.field}: cannot read ${user.file} (${(err as Error).message}): the path is relative to the spec file's folder`,
      );
    }
    if (user.field === 'script') {
      const problems = scriptContractProblems(body.toString('utf8'));
      if (problems.length) throw new ProvisionError(`transform.script ${user.file} ${problems.join('; ')}`);
    }
    return body;
  });
  const bundle = glueBundle(glueDir);
  const changes = [
    ...(await planObject(s3, bucket, `${SCRIPTS_PREFIX}${JOB_SCRIPT}`, bundle.script, bucketPlanned)),
    ...(await planObject(s3, bucket, `${SCRIPTS_PREFIX}${JOB_MODULES}`, bundle.modules, bucketPlanned)),
  ];
  for (const [i, user] of userFiles.entries()) {
    changes.push(...(await planObject(s3, bucket, user.key, bodies[i]!, bucketPlanned, user.file)));
  }
  return changes;
}
