#!/usr/bin/env node
// bench/peers/ws_echo_server.js: the Node `ws` peer bench/compare.sh
// measures ringshard's WebSocket rows against. It serves the same two
// endpoints as ringshard's built-ins (ws/builtin_endpoints.h), with the same
// messages, so ringshard-load drives both alike:
//
//   /ws/echo   echoes every message back as it came (text or binary).
//   /ws/chat   JSON channels:
//                {"type":"join_channel","channel":"c"}  -> {"type":"joined","channel":"c"}
//                {"type":"leave_channel","channel":"c"} -> {"type":"left","channel":"c"}
//                {"type":"channel_message","channel":"c","message":m}
//                    -> every member of c gets
//                       {"type":"channel_message","channel":"c","message":m}
//              Errors answer {"type":"error","error":"..."}; binary
//              messages are refused with 1003, as ringshard does.
//
// Usage: node ws_echo_server.js --port PORT [--host 127.0.0.1] [--deflate]
//   --deflate   accept permessage-deflate (ws's defaults: messages under
//               1 KiB go uncompressed); off by default, as in ws's README
//               for servers that care about CPU and memory.
//
// How it is written, so the comparison is fair to ws: the idiomatic ws
// server (noServer + handleUpgrade on one http.Server); a channel message
// is serialized once into a Buffer and that Buffer is sent to every member
// (ws frames it per member, as its README's broadcast example does; ringshard
// frames it once per shard). `ws` and, when it installs, `bufferutil` (ws's
// native masking) come from bench/peers/package.json, installed by
// compare.sh outside the source tree and found through NODE_PATH.
// Single-threaded, like ringshard --shards 1.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const o = { host: '127.0.0.1', port: 0, deflate: false };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') o.port = Number(argv[++i]);
    else if (a === '--host') o.host = argv[++i];
    else if (a === '--deflate') o.deflate = true;
    else {
      process.stderr.write(`ws_echo_server: unknown argument ${a}\n`);
      process.exit(64);
    }
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) {
    process.stderr.write('usage: ws_echo_server.js --port PORT [--host H] [--deflate]\n');
    process.exit(64);
  }
  return o;
}

const opts = parseArgs(process.argv);

// Channel name -> the set of member sockets.
const channels = new Map();

function sendError(ws, what) {
  ws.send(JSON.stringify({ type: 'error', error: what }));
}

function onEcho(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

function onChat(ws) {
  const joined = new Set();
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.close(1003, 'chat messages are JSON text');
      return;
    }
    let doc;
    try {
      doc = JSON.parse(data.toString());
    } catch (e) {
      sendError(ws, `bad JSON: ${e.message}`);
      return;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      sendError(ws, 'a message must be a JSON object');
      return;
    }
    const { type, channel } = doc;
    if (type !== 'join_channel' && type !== 'leave_channel' && type !== 'channel_message') {
      sendError(ws, typeof type === 'string' ? `unknown type ${JSON.stringify(type)}` : 'missing "type"');
      return;
    }
    if (typeof channel !== 'string' || channel.length === 0 || Buffer.byteLength(channel) > 128) {
      sendError(ws, '"channel" must be a string of 1 to 128 bytes');
      return;
    }
    if (type === 'join_channel') {
      let members = channels.get(channel);
      if (!members) channels.set(channel, (members = new Set()));
      members.add(ws);
      joined.add(channel);
      ws.send(JSON.stringify({ type: 'joined', channel }));
    } else if (type === 'leave_channel') {
      const members = channels.get(channel);
      if (members) members.delete(ws);
      joined.delete(channel);
      ws.send(JSON.stringify({ type: 'left', channel }));
    } else {
      if (!joined.has(channel)) {
        sendError(ws, 'join the channel before sending to it');
        return;
      }
      const out = Buffer.from(JSON.stringify({
        type: 'channel_message', channel, message: doc.message === undefined ? null : doc.message,
      }));
      for (const member of channels.get(channel)) member.send(out, { binary: false });
    }
  });
  ws.on('close', () => {
    for (const c of joined) {
      const members = channels.get(c);
      if (!members) continue;
      members.delete(ws);
      if (members.size === 0) channels.delete(c);
    }
  });
}

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: opts.deflate,
  maxPayload: 64 * 1024 * 1024,
});

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
  res.end('WebSocket endpoints: /ws/echo, /ws/chat\n');
});

server.on('upgrade', (req, socket, head) => {
  const handler = req.url === '/ws/echo' ? onEcho : req.url === '/ws/chat' ? onChat : null;
  if (handler === null) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => handler(ws));
});

server.listen(opts.port, opts.host, 4096, () => {
  let bufferutil = false;
  try {
    require.resolve('bufferutil');
    bufferutil = !process.env.WS_NO_BUFFER_UTIL;
  } catch (e) {
    bufferutil = false;
  }
  const version = require('ws/package.json').version;
  process.stdout.write(`ws_echo_server: ws ${version}, bufferutil ${bufferutil}, node ${process.version},` +
                       ` deflate ${opts.deflate}, listening on ${opts.host}:${opts.port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
