/**
 * What makes a notification go out at most once where that can be known: a Message-ID fixed by the run and
 * the failure (the same on every attempt of the activity), and a record of what the mail server accepted,
 * kept in two places a retry reads before it sends again:
 *
 * - the activity's heartbeat details, recorded right after the server accepted the message (they survive a
 *   worker crash only if the heartbeat reached the Temporal server before it);
 * - a durable marker, `_glueline/notifications/<message-id>` in the pipeline's primary curated bucket, written
 *   right after that heartbeat.
 *
 * The window left is "the server accepted the message, the worker died before either record was kept": a retry
 * then sends it again, with the same Message-ID, so a receiver (or a mail filter) can drop the copy.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { FailureNotice } from '../workflow-safe/activity-types';
import { headIfExists, putObjectText, type ObjectRef } from '../aws/s3-objects';
import type { ActivityDeps } from './deps';

/** Where the markers go, under the notice's `sentRecord` bucket. */
export const NOTIFICATION_MARKER_PREFIX = '_glueline/notifications/';

/** Longest id-left part kept readable; longer ones become a hash (RFC 5322 lines stop at 998 characters). */
const MAX_READABLE = 200;

/** A Message-ID-safe form of one part: letters, digits, `_` and `-` kept, anything else `=XX` (hex of its UTF-8 bytes). */
const idPart = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_-]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');

/**
 * The notification's id, without angle brackets: `notify.<kind>.<workflow id>.<run id>.<step>@glueline` (the
 * freshness watch's: `notify.freshness-missed.<workflow id>.freshness@<deadline>@glueline`). It
 * depends only on the run and the failure, so every attempt of the activity (and the webhook) uses the same one.
 */
export function notificationId(
  notice: Pick<FailureNotice, 'workflowId' | 'runId' | 'step' | 'refused' | 'kind'>,
): string {
  // A warning is a notice of its own: never taken for the run's failure notice, nor it for a warning.
  const kind = notice.refused ? 'refused' : (notice.kind ?? 'failure');
  // The freshness watch continues as new at each deadline: its notices are fixed by the window (the step), not the run.
  const run = kind.startsWith('freshness') ? [] : [idPart(notice.runId)];
  const left = ['notify', kind, idPart(notice.workflowId), ...run, idPart(notice.step)].join('.');
  if (left.length <= MAX_READABLE) return `${left}@glueline`;
  return `notify.${kind}.${createHash('sha256').update(left).digest('hex').slice(0, 40)}@glueline`;
}

/** The email's Message-ID header value. */
export const messageIdHeader = (id: string) => `<${id}>`;

/** The marker of `id`, when the notice names a bucket for it. */
export function markerOf(notice: Pick<FailureNotice, 'sentRecord'>, id: string): ObjectRef | undefined {
  const where = notice.sentRecord;
  return where ? { region: where.region, bucket: where.bucket, key: `${NOTIFICATION_MARKER_PREFIX}${id}` } : undefined;
}

/** Heartbeat details of sendFailureEmail once the server accepted the message. */
interface AcceptedDetails {
  accepted: string;
}

/**
 * How an earlier attempt is known to have had `id` accepted: its marker, or its heartbeat; undefined when
 * neither says so. A marker that cannot be read (S3 unreachable) counts as absent: the notice is sent rather
 * than lost, at the price of a possible second copy with the same Message-ID.
 */
export async function earlierAcceptance(
  deps: ActivityDeps,
  marker: ObjectRef | undefined,
  id: string,
): Promise<'marker' | 'heartbeat' | undefined> {
  const ctx = Context.current();
  if (marker) {
    try {
      if (await headIfExists(deps.aws.s3(marker.region), marker, { abortSignal: ctx.cancellationSignal }))
        return 'marker';
    } catch (err) {
      ctx.log.warn('could not read the notification marker; sending without it', {
        marker: `s3://${marker.bucket}/${marker.key}`,
        error: (err as Error).message,
      });
    }
  }
  const details = ctx.info.heartbeatDetails as Partial<AcceptedDetails> | undefined;
  return details?.accepted === id ? 'heartbeat' : undefined;
}

/** Tries to write the marker this many times before giving up on it (the message is out either way). */
const MARKER_TRIES = 3;

/**
 * Records that the server accepted `id`: a heartbeat at once, then the marker. Never throws: the message is
 * out, and failing now would only make a retry send it again. @returns whether the marker was written
 */
export async function recordAcceptance(
  deps: ActivityDeps,
  marker: ObjectRef | undefined,
  id: string,
  facts: Record<string, unknown>,
): Promise<boolean> {
  const ctx = Context.current();
  ctx.heartbeat({ accepted: id } satisfies AcceptedDetails);
  if (!marker) return false;
  const body = JSON.stringify({ messageId: id, acceptedAt: new Date().toISOString(), ...facts }, null, 2);
  for (let tries = 1; ; tries++) {
    try {
      await putObjectText(deps.aws.s3(marker.region), marker, body, 'application/json');
      return true;
    } catch (err) {
      if (tries >= MARKER_TRIES) {
        ctx.log.warn('the email was accepted but its marker could not be written: a retry may send it again', {
          marker: `s3://${marker.bucket}/${marker.key}`,
          error: (err as Error).message,
        });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * tries));
    }
  }
}
