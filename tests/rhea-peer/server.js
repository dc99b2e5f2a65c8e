// A small AMQP 1.0 container over WebSocket built from rhea and ws, so hubwire-web's generic
// AMQP client (AmqpWsClient) is tested against an implementation that is not ours.
//
// Usage: node server.js [PORT]   (default 25673; PORT 0 picks a free one)
// Prints "rhea-peer listening on ws://127.0.0.1:PORT" once it accepts connections.
//
// Behaviour (the test's only glue; rhea does the protocol):
// * The WebSocket subprotocol must be AMQPWSB10 (what IoT Hub requires); others are refused.
// * Messages sent to an address are queued there and delivered to receivers attached to it.
// * Address "reject": every message is rejected with amqp:precondition-failed.
// * Address "release": every message is released.
// * Address "refuse": links to it are refused with amqp:not-found.
// * How a client settled each message the server delivered (accepted, released, rejected) is
//   reported as a message on address "$outcomes/{address}": body {"outcome", "address",
//   "messageId"}.
'use strict';

const http = require('http');
const rhea = require('rhea');
const { WebSocketServer } = require('ws');

const SUBPROTOCOL = 'AMQPWSB10';
const port = Number(process.argv[2] ?? process.env.RHEA_PEER_PORT ?? 25673);

const container = rhea.create_container({ id: 'rhea-peer', autoaccept: false });
const queues = new Map(); // address -> messages not yet delivered
const senders = new Map(); // address -> server-side sender links (client receivers)

function queue(address) {
    if (!queues.has(address)) queues.set(address, []);
    return queues.get(address);
}

function flush(address) {
    const q = queue(address);
    for (const sender of senders.get(address) ?? []) {
        while (q.length > 0 && sender.sendable()) {
            const message = q.shift();
            const delivery = sender.send(message);
            delivery.peer_address = address;
            delivery.sent_message = message;
        }
    }
}

function enqueue(address, message) {
    queue(address).push(message);
    flush(address);
}

function report(outcome, delivery) {
    if (delivery.peer_address === undefined || delivery.peer_address.startsWith('$outcomes')) return;
    const message = delivery.sent_message ?? {};
    enqueue(`$outcomes/${delivery.peer_address}`, {
        body: JSON.stringify({
            outcome,
            address: delivery.peer_address,
            messageId: message.message_id === undefined ? null : String(message.message_id),
        }),
    });
}

container.on('sender_open', (ctx) => {
    const address = ctx.sender.source?.address ?? '';
    if (address === 'refuse') {
        ctx.sender.close({ condition: 'amqp:not-found', description: 'no node named refuse' });
        return;
    }
    ctx.sender.set_source({ address });
    if (!senders.has(address)) senders.set(address, new Set());
    senders.get(address).add(ctx.sender);
    flush(address);
});

container.on('receiver_open', (ctx) => {
    const address = ctx.receiver.target?.address ?? '';
    if (address === 'refuse') {
        ctx.receiver.close({ condition: 'amqp:not-found', description: 'no node named refuse' });
        return;
    }
    ctx.receiver.set_target({ address });
});

function forget(link) {
    for (const set of senders.values()) set.delete(link);
}
container.on('sender_close', (ctx) => forget(ctx.sender));
container.on('disconnected', (ctx) => {
    for (const set of senders.values()) {
        for (const link of set) if (link.connection === ctx.connection) set.delete(link);
    }
});
container.on('connection_error', () => {});
container.on('error', (e) => console.error('rhea-peer error:', e?.message ?? e));

container.on('message', (ctx) => {
    const address = ctx.receiver.target?.address ?? '';
    if (address === 'reject') {
        ctx.delivery.reject({ condition: 'amqp:precondition-failed', description: 'rejected on purpose' });
    } else if (address === 'release') {
        ctx.delivery.release();
    } else {
        enqueue(address, ctx.message);
        ctx.delivery.accept();
    }
});

container.on('sendable', (ctx) => flush(ctx.sender.source?.address ?? ''));
container.on('accepted', (ctx) => report('accepted', ctx.delivery));
container.on('released', (ctx) => report('released', ctx.delivery));
container.on('rejected', (ctx) => report('rejected', ctx.delivery));
container.on('modified', (ctx) => report('modified', ctx.delivery));

const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('WebSocket (subprotocol AMQPWSB10) only\n');
});
const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
});
wss.on('connection', (socket) => {
    if (socket.protocol !== SUBPROTOCOL) {
        socket.close(1002, 'subprotocol AMQPWSB10 required');
        return;
    }
    // A small max-frame-size makes large messages span several frames in both directions.
    container.websocket_accept(socket, { max_frame_size: 16384 });
});
server.listen(port, '127.0.0.1', () => {
    console.log(`rhea-peer listening on ws://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
