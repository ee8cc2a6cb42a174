import type { Transporter } from 'nodemailer';
import type { AwsClients } from '../aws/clients';

/** What `createActivities` needs: built by the worker from its environment, or by a test against the local stack. */
export interface ActivityDeps {
  aws: AwsClients;
  /** Sends mail; the worker builds it from SMTP_URL (credentials stay inside the transport). */
  mailer: Pick<Transporter, 'sendMail'>;
  /** Sent as `Authorization: Bearer <token>` to the webhook; never logged or put in a notice. */
  webhookToken?: string;
  /**
   * Other secret values the worker holds (SMTP password, AWS secret key): removed from every email and
   * webhook body should an error message ever carry one. @default []
   */
  secretsToRedact?: string[];
  /**
   * Who is mailed about a refused scheduled or event-started run whose spec names nobody that can be read.
   * @default - nobody
   */
  fallbackNotifyEmail?: { to: string[]; from: string };
  /** Base URL of the Temporal UI, for the run link in notifications. */
  temporalUiUrl: string;
  namespace: string;
  /** The worker's task queue, for the redrive command in notifications. */
  taskQueue: string;
  /**
   * Aborted when the worker begins to shut down: AWS waits then end their attempt at once (retried after
   * 1 s on another worker, which resumes the wait) instead of sitting out the shutdown grace time.
   * @default - waits run on until the grace time ends
   */
  workerShutdown?: AbortSignal;
}
