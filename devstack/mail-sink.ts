/**
 * An SMTP sink for the local stack: accepts every message over real SMTP (AUTH optional, any
 * credentials) and serves what it received over HTTP:
 *   GET    /messages   all messages as JSON, oldest first
 *   DELETE /messages   forget them
 *   GET    /           a page for people
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
  headers: Record<string, string>;
}

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

const smtp = new SMTPServer({
  authOptional: true,
  allowInsecureAuth: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onAuth(auth, _session, callback) {
    callback(null, { user: auth.username });
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
          headers: Object.fromEntries(mail.headerLines.map((h) => [h.key, h.line.slice(h.key.length + 1).trim()])),
        };
        messages.push(message);
        fs.appendFileSync(store, JSON.stringify(message) + '\n');
        callback();
      })
      .catch((err: Error) => callback(err));
  },
});

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const web = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://${host}`);
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
