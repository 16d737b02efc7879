#!/usr/bin/env node
// An HL7 v2 receiver over MLLP built on an npm HL7 library: the HL7 engine of the lab tests.
//
//   node hl7-receiver.js --port 2575 --out received.jsonl [--library simple-hl7|node-hl7-server]
//                        [--charset gb18030] [--max-seconds 600]
//
// Every message is acknowledged with AA by the library's own ACK builder (res.end() of simple-hl7,
// res.sendResponse('AA') of node-hl7-server). Sockets are read as latin1, so each received string
// holds exactly the bytes that came off the wire (GB 18030 and UTF-8 included). One JSON line per
// message is appended to --out before its ACK is sent:
//   {"n": <0-based index in order of receipt>, "library": ..., "peer": "<ip>:<port>",
//    "len": <bytes without MLLP framing>, "b64": <those bytes, base64>,
//    "control_id": <MSH-10 as the library parsed it>, "ack": "AA"}
//
// simple-hl7 takes a frame as complete when a read ends with <EB><CR>, so it suits senders that
// wait for each ACK (mllp_send, hl7-sender.js). node-hl7-server 2.5.0 never clears its receive
// buffer (upstream issue #102): on a connection that carries more than one message it handles
// every earlier message again and sends their ACKs again. Use it with one message per
// connection (hl7-sender.js --connection-per-message).
//
// simple-hl7 parses a message as a string of single-byte characters. With --charset (simple-hl7
// only; a WHATWG encoding name such as gb18030) the receiver is an engine that knows its senders'
// character set, as a Chinese HIS does: it decodes the message with TextDecoder first, so that
// GB 18030 trail bytes equal to '|' (東 is 96 7C) do not split MSH fields, and answers with the
// ACK simple-hl7 builds from that parse (written as UTF-8, simple-hl7's only output).
//
// Prints "listening on PORT" when ready. Exits 0 on SIGTERM/SIGINT, and by itself after
// --max-seconds.
'use strict';

const fs = require('fs');

function parseArgs(argv) {
  const opts = { port: 2575, out: null, library: 'simple-hl7', charset: null, maxSeconds: 600 };
  for (let i = 2; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[++i];
    if (value === undefined) usage(`${key} needs a value`);
    if (key === '--port') opts.port = Number(value);
    else if (key === '--out') opts.out = value;
    else if (key === '--library') opts.library = value;
    else if (key === '--charset') opts.charset = value;
    else if (key === '--max-seconds') opts.maxSeconds = Number(value);
    else usage(`unknown argument ${key}`);
  }
  if (!opts.out) usage('--out is required');
  if (!['simple-hl7', 'node-hl7-server'].includes(opts.library)) usage('bad --library');
  if (opts.charset && opts.library !== 'simple-hl7') usage('--charset needs simple-hl7');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
  return opts;
}

function usage(why) {
  process.stderr.write(`hl7-receiver: ${why}\n` +
    'usage: hl7-receiver.js --port PORT --out FILE [--library simple-hl7|node-hl7-server] ' +
    '[--charset ENCODING] [--max-seconds S]\n');
  process.exit(2);
}

const opts = parseArgs(process.argv);
const out = fs.openSync(opts.out, 'a');
let count = 0;

function record(bytes, peer, controlId) {
  const line = JSON.stringify({
    n: count++, library: opts.library, peer, len: bytes.length, b64: bytes.toString('base64'),
    control_id: controlId, ack: 'AA'
  });
  fs.writeSync(out, line + '\n');
}

function peerOf(socket) {
  if (!socket) return null;
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
  return `${socket.remoteAddress.replace(/^::ffff:/, '')}:${socket.remotePort}`;
}

let stop;

if (opts.library === 'simple-hl7') {
  const hl7 = require('simple-hl7');
  const VT = '\x0b';
  const END = '\x1c\r';
  const decoder = opts.charset ? new TextDecoder(opts.charset) : null;
  const server = hl7.Server.createTcpServer((err, req, res) => {
    if (err) {
      process.stderr.write(`hl7-receiver: ${err.stack || err}\n`);
      return;
    }
    // req.raw is the frame as read: <SB> message <EB><CR>.
    let payload = req.raw;
    if (payload.startsWith(VT)) payload = payload.slice(1);
    if (payload.endsWith(END)) payload = payload.slice(0, -2);
    const bytes = Buffer.from(payload, 'latin1');
    let msg = req.msg;
    if (decoder) {
      msg = new hl7.Parser().parse(decoder.decode(bytes));
      res.ack = server.createAckMessage(msg);
    }
    record(bytes, peerOf(res.socket), msg.header.getField(8));
    res.end();
  });
  server.start(opts.port, 'latin1');
  server.server.on('listening', () => {
    process.stdout.write(`listening on ${server.server.address().port}\n`);
  });
  server.server.on('connection', (socket) => socket.setNoDelay(true));
  stop = () => server.server.close();
} else {
  const { Server } = require('node-hl7-server');
  const server = new Server({ bindAddress: '0.0.0.0' });
  let raw = null;
  const listener = { port: opts.port, encoding: 'latin1' };
  const inbound = server.createInbound(listener, async (req, res) => {
    // 'data.raw' (the frame without <SB> and <EB><CR>) is emitted just before the handler runs.
    const controlId = req.getMessage().get('MSH.10').toString();
    record(Buffer.from(raw, 'latin1'), peerOf(res._socket), controlId);
    await res.sendResponse('AA');
  });
  inbound.on('data.raw', (text) => { raw = text; });
  inbound.on('data.error', (err) => process.stderr.write(`hl7-receiver: ${err.stack || err}\n`));
  inbound.on('listen', () => process.stdout.write(`listening on ${opts.port}\n`));
  stop = () => inbound.close();
}

function shutdown() {
  try { stop(); } catch (_e) { /* closing anyway */ }
  fs.closeSync(out);
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setTimeout(shutdown, opts.maxSeconds * 1000).unref();
