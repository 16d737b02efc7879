#!/usr/bin/env node
// An HL7 v2 sender over MLLP built on simple-hl7's TcpClient: a device (patient monitor) of the
// lab tests.
//
//   node hl7-sender.js --host IP --port 2575 --in messages.hl7 --out acks.jsonl
//                      [--connection-per-message] [--timeout-ms 10000]
//
// --in holds one message per line: segments separated by CR, messages by LF (the layout that
// `mllp_send --loose` reads too, so both senders put the same bytes on the wire). Each message is
// sent as <SB> message <EB><CR> exactly as its bytes are in the file (written as latin1, so
// GB 18030 and UTF-8 pass unchanged), over one connection (or one connection per message),
// waiting for its ACK before the next. One JSON line per message is written to --out:
//   {"n": <index>, "ack_code": <MSA-1>, "ack_control_id": <MSA-2>, "rtt_us": <microseconds from
//    handing the message to the socket to the parsed ACK>}
// At the end a summary is printed on stdout: {"sent": N, "acked": N, "codes": {"AA": N}}.
// Exits 0 when every message got an ACK (whatever its code), 1 on a connection error or an ACK
// that did not come within --timeout-ms, 2 on bad usage.
'use strict';

const fs = require('fs');
const hl7 = require('simple-hl7');

function parseArgs(argv) {
  const opts = { host: null, port: 2575, in: null, out: null, perMessage: false, timeoutMs: 10000 };
  for (let i = 2; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--connection-per-message') {
      opts.perMessage = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) usage(`${key} needs a value`);
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else if (key === '--in') opts.in = value;
    else if (key === '--out') opts.out = value;
    else if (key === '--timeout-ms') opts.timeoutMs = Number(value);
    else usage(`unknown argument ${key}`);
  }
  if (!opts.host || !opts.in || !opts.out) usage('--host, --in and --out are required');
  return opts;
}

function usage(why) {
  process.stderr.write(`hl7-sender: ${why}\n` +
    'usage: hl7-sender.js --host IP --port PORT --in FILE --out FILE ' +
    '[--connection-per-message] [--timeout-ms MS]\n');
  process.exit(2);
}

function readMessages(path) {
  const data = fs.readFileSync(path);
  const messages = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 0x0a) {
      if (i > start) messages.push(data.subarray(start, i).toString('latin1'));
      start = i + 1;
    }
  }
  return messages;
}

function fail(why) {
  process.stderr.write(`hl7-sender: ${why}\n`);
  process.exit(1);
}

function connect(opts) {
  return new Promise((resolve, reject) => {
    const client = hl7.Server.createTcpClient({
      host: opts.host, port: opts.port, keepalive: true
    });
    client.connect((err) => {
      if (err) return reject(err);
      // simple-hl7 writes strings; latin1 makes each character one byte, the byte read from --in.
      client.client.setDefaultEncoding('latin1');
      client.client.setNoDelay(true);
      resolve(client);
    });
  });
}

function send(client, message, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ACK within ${timeoutMs} ms`)), timeoutMs);
    const started = process.hrtime.bigint();
    client.send(message, (err, ack) => {
      const rtt = process.hrtime.bigint() - started;
      clearTimeout(timer);
      if (err) return reject(err);
      const msa = ack.getSegment('MSA');
      resolve({
        ack_code: msa ? msa.getField(1) : null,
        ack_control_id: msa ? msa.getField(2) : null,
        rtt_us: Number(rtt / 1000n)
      });
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv);
  const messages = readMessages(opts.in);
  const out = fs.openSync(opts.out, 'w');
  const codes = {};
  let client = null;
  for (let n = 0; n < messages.length; n++) {
    if (client === null) client = await connect(opts);
    const result = await send(client, messages[n], opts.timeoutMs);
    codes[result.ack_code] = (codes[result.ack_code] || 0) + 1;
    fs.writeSync(out, JSON.stringify({ n, ...result }) + '\n');
    if (opts.perMessage) {
      client.close();
      client = null;
    }
  }
  if (client !== null) client.close();
  fs.closeSync(out);
  process.stdout.write(JSON.stringify({ sent: messages.length, acked: messages.length, codes }) +
    '\n');
}

main().catch((err) => fail(err.stack || String(err)));
