/**
 * An SMTP sink for the local stack: accepts every message over real SMTP (AUTH optional, any
 * credentials) and serves what it received over HTTP:
 *   GET    /messages   all messages as JSON, oldest first
 *   DELETE /messages   forget them
 *   GET    /           a page for people
 *   POST   /holds      {"count": n, "timeoutMs"?: ms}: hold the reply to the end of DATA of the next n messages,
 *                      after each is stored (the mail server has the message; its client does not know yet)
 *   GET    /holds      the replies held now, oldest first
 *   POST   /holds/<id>/release, POST /holds/release   send one held reply, or every one
 * A held reply goes out when released or after its timeout (default 5 minutes); into a closed connection it
 * reaches nobody, as the reply to a client that died in DATA would. Holds mirror the gateway's (devstack/gateway).
 * Messages are appended to MAIL_STORE (JSON lines), so a restart of the sink loses nothing.
 * Passwords given at AUTH are never stored.
 */
import fs from 'node:fs';
import http from 'node:http';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkMessage {
  id: number;
  receivedAt: string;
  /** The AUTH username the client logged in with, if any. */
  authUser?: string;
  envelope: { from: string | null; to: string[] };
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Each header's value by its lowercase name, as sent but unfolded. */
  headers: Record<string, string>;
  /** The Message-ID header, angle brackets kept (empty when the message had none). */
  messageId: string;
}

/** A reply to the end of DATA kept back by a hold: the message is stored, its client waits for the 250. */
export interface HeldReply {
  id: string;
  /** The stored message's Message-ID and subject. */
  messageId: string;
  subject: string;
  heldAt: string;
  timeoutMs: number;
  /** True once the client's connection closed: a release then sends nothing. */
  callerGone: boolean;
}

/** The default time a reply stays held. */
const HOLD_TIMEOUT_MS = 300_000;

const host = '127.0.0.1';
const smtpPort = Number(process.env.MAIL_SMTP_PORT ?? 1025);
const httpPort = Number(process.env.MAIL_HTTP_PORT ?? 1080);
const store = process.env.MAIL_STORE ?? '.devstack/mail.jsonl';

const messages: SinkMessage[] = fs.existsSync(store)
  ? fs
      .readFileSync(store, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SinkMessage)
  : [];

/** Replies still to hold (the next n messages), and those held now by id. */
let holdsArmed: { count: number; timeoutMs: number } = { count: 0, timeoutMs: HOLD_TIMEOUT_MS };
const held = new Map<string, { info: HeldReply; release: () => void }>();
const closedSessions = new Set<string>();
let holdSeq = 0;

/** Keeps `reply` back if a hold is armed; otherwise sends it at once. */
function replyOrHold(sessionId: string, message: SinkMessage, reply: () => void): void {
  if (holdsArmed.count <= 0) return reply();
  holdsArmed.count--;
  const id = `hold-${++holdSeq}`;
  const info: HeldReply = {
    id,
    messageId: message.messageId,
    subject: message.subject,
    heldAt: new Date().toISOString(),
    timeoutMs: holdsArmed.timeoutMs,
    callerGone: false,
  };
  const timer = setTimeout(() => release(id), info.timeoutMs);
  held.set(id, {
    info: {
      ...info,
      get callerGone() {
        return closedSessions.has(sessionId);
      },
    },
    release: () => {
      clearTimeout(timer);
      held.delete(id);
      if (!closedSessions.has(sessionId)) reply();
    },
  });
}

function release(id: string): boolean {
  const h = held.get(id);
  h?.release();
  return h !== undefined;
}

const smtp = new SMTPServer({
  authOptional: true,
  allowInsecureAuth: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onAuth(auth, _session, callback) {
    callback(null, { user: auth.username });
  },
  onClose(session) {
    closedSessions.add(session.id);
  },
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        const address = (a: typeof mail.to) => (Array.isArray(a) ? a.map((x) => x.text).join(', ') : (a?.text ?? ''));
        const message: SinkMessage = {
          id: (messages.at(-1)?.id ?? 0) + 1,
          receivedAt: new Date().toISOString(),
          authUser: typeof session.user === 'string' ? session.user : undefined,
          envelope: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          from: mail.from?.text ?? '',
          to: address(mail.to),
          subject: mail.subject ?? '',
          text: mail.text ?? '',
          html: typeof mail.html === 'string' ? mail.html : '',
          // Unfolded (RFC 5322 2.2.3: a line break before white space is removed): a long value, such as a workflow
          // id with a space, arrives folded over two lines.
          headers: Object.fromEntries(
            mail.headerLines.map((h) => [
              h.key,
              h.line
                .slice(h.key.length + 1)
                .replace(/\r?\n(?=[ \t])/g, '')
                .trim(),
            ]),
          ),
          messageId: mail.messageId ?? '',
        };
        messages.push(message);
        fs.appendFileSync(store, JSON.stringify(message) + '\n');
        replyOrHold(session.id, message, () => callback());
      })
      .catch((err: Error) => callback(err));
  },
});

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const json = (res: http.ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** The hold control calls; false when `req` is none of them. */
function holdControl(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): boolean {
  if (pathname === '/holds' && req.method === 'GET') {
    json(
      res,
      200,
      [...held.values()].map((h) => ({ ...h.info, callerGone: h.info.callerGone })),
    );
  } else if (pathname === '/holds' && req.method === 'POST') {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { count, timeoutMs } = JSON.parse(body || '{}') as { count?: number; timeoutMs?: number };
      if (!Number.isInteger(count) || count! < 0)
        return json(res, 400, { error: `count ${count} is not a whole number of messages: send {"count": 1}` });
      holdsArmed = { count: count!, timeoutMs: timeoutMs ?? HOLD_TIMEOUT_MS };
      json(res, 200, holdsArmed);
    });
  } else if (pathname === '/holds/release' && req.method === 'POST') {
    const ids = [...held.keys()];
    ids.forEach(release);
    json(res, 200, { released: ids.length });
  } else if (/^\/holds\/[^/]+\/release$/.test(pathname) && req.method === 'POST') {
    const id = decodeURIComponent(pathname.split('/')[2]!);
    if (release(id)) json(res, 200, { released: 1 });
    else json(res, 404, { error: `no held reply ${id}: GET /holds lists them` });
  } else return false;
  return true;
}

const web = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://${host}`);
  if (holdControl(req, res, url.pathname)) return;
  if (url.pathname === '/messages' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(messages));
  } else if (url.pathname === '/messages' && req.method === 'DELETE') {
    messages.length = 0;
    fs.writeFileSync(store, '');
    res.writeHead(204).end();
  } else if (url.pathname === '/' && req.method === 'GET') {
    const rows = [...messages]
      .reverse()
      .map(
        (m) =>
          `<article><h2>${escape(m.subject)}</h2><p><b>${escape(m.receivedAt)}</b> from ${escape(m.from)} to ${escape(m.to)}</p>` +
          `<iframe sandbox srcdoc="${escape(m.html || `<pre>${escape(m.text)}</pre>`)}"></iframe></article>`,
      )
      .join('\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><meta charset="utf-8"><title>glueline mail sink</title>` +
        `<style>body{font-family:sans-serif;max-width:60rem;margin:auto}iframe{width:100%;height:24rem;border:1px solid #ccc}</style>` +
        `<h1>Sent mail (${messages.length})</h1>${rows || '<p>No mail yet.</p>'}`,
    );
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
});

smtp.listen(smtpPort, host, () => console.log(`mail sink: SMTP on ${host}:${smtpPort}`));
web.listen(httpPort, host, () => console.log(`mail sink: inbox on http://${host}:${httpPort}/messages`));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    smtp.close(() => web.close(() => process.exit(0)));
  });
}
