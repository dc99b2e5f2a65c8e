// Decodes hubwire-amqp's own encodings (crates/amqp/tests/fixtures/hubwire.txt, kept current
// by the crate's w2 test) with rhea's codec and checks their fields: the reverse of
// generate.js. Exits non-zero on any mismatch.
//
//   npm install && npm run check
'use strict';

const assert = require('assert');
const fs = require('fs');
const path = require('path');
const frames = require('rhea/lib/frames.js');
const message = require('rhea/lib/message.js');
const terminus = require('rhea/lib/terminus.js');

const file = path.join(__dirname, '../../crates/amqp/tests/fixtures/hubwire.txt');
const cases = {};
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, hex] = line.split(' ');
    cases[name] = Buffer.from(hex, 'hex');
}

function frame(name) {
    const buf = cases[name];
    const f = frames.read_frame(buf);
    assert.ok(f, name + ': incomplete frame');
    assert.strictEqual(f.size, buf.length, name + ': size');
    return f;
}

const checks = {
    w2_frame0() {
        const f = frame('w2_frame0');
        assert.strictEqual(f.size, 369);
        const t = f.performative;
        assert.strictEqual(t.constructor.toString(), 'transfer#14');
        assert.strictEqual(t.handle, 0);
        assert.strictEqual(t.delivery_id, 0);
        assert.deepStrictEqual([...t.delivery_tag], [0, 0, 0, 0]);
        assert.strictEqual(t.message_format, 0);
        assert.strictEqual(t.settled, false);
        const m = message.decode(f.payload);
        assert.strictEqual(m.message_id, 'msg-0');
        assert.strictEqual(m.correlation_id, 0);
        assert.strictEqual(m.content_type, 'application/json');
        assert.strictEqual(m.content_encoding, 'utf-8');
        assert.deepStrictEqual(m.application_properties, { level: 'critical', seq: 0, alert: true });
        assert.strictEqual(m.body.typecode, 0x75);
        assert.strictEqual(m.body.content.length, 256);
        assert.deepStrictEqual([...m.body.content.subarray(0, 4)], [0xa5, 0xa3, 0xc4, 0x98]);
    },
    open() {
        const o = frame('open').performative;
        assert.strictEqual(o.container_id, 'hubwire-1');
        assert.strictEqual(o.hostname, 'hub.example');
        assert.strictEqual(o.max_frame_size, 65536);
        assert.strictEqual(o.channel_max, 7);
        assert.strictEqual(o.idle_time_out, 120000);
        assert.deepStrictEqual(o.offered_capabilities, ['A', 'B']);
        assert.deepStrictEqual(o.properties, { 'com.microsoft:client-version': 'hubwire/0.1' });
    },
    begin() {
        const f = frame('begin');
        assert.strictEqual(f.channel, 1);
        const b = f.performative;
        assert.strictEqual(b.remote_channel, 3);
        assert.strictEqual(b.next_outgoing_id, 0);
        assert.strictEqual(b.incoming_window, 5000);
        assert.strictEqual(b.outgoing_window, 4294967295);
        assert.strictEqual(b.handle_max, 262143);
    },
    attach() {
        const a = frame('attach').performative;
        assert.strictEqual(a.name, 'snd-1');
        assert.strictEqual(a.handle, 2);
        assert.strictEqual(a.role, false);
        assert.strictEqual(terminus.unwrap(a.source).address, 'link-source');
        assert.strictEqual(terminus.unwrap(a.target).address, '/devices/d1/messages/events');
        assert.strictEqual(a.initial_delivery_count, 0);
        assert.strictEqual(a.max_message_size, 1048576);
        assert.deepStrictEqual(a.properties, { 'com.microsoft:client-version': 'hubwire/0.1' });
    },
    flow() {
        const f = frame('flow').performative;
        assert.strictEqual(f.next_incoming_id, 0);
        assert.strictEqual(f.incoming_window, 5000);
        assert.strictEqual(f.next_outgoing_id, 0);
        assert.strictEqual(f.outgoing_window, 100);
        assert.strictEqual(f.handle, 2);
        assert.strictEqual(f.delivery_count, 0);
        assert.strictEqual(f.link_credit, 100);
    },
    disposition() {
        const d = frame('disposition').performative;
        assert.strictEqual(d.role, true);
        assert.strictEqual(d.first, 4);
        assert.strictEqual(d.last, 6);
        assert.strictEqual(d.settled, true);
        assert.ok(message.is_accepted(d.state));
    },
    detach() {
        const d = frame('detach').performative;
        assert.strictEqual(d.handle, 2);
        assert.strictEqual(d.closed, true);
        assert.strictEqual(d.error.condition, 'amqp:link:message-size-exceeded');
        assert.strictEqual(d.error.description, 'too big');
    },
    close() {
        const c = frame('close').performative;
        assert.strictEqual(c.constructor.toString(), 'close#18');
        assert.ok(c.error === undefined || c.error === null);
    },
    sasl_mechanisms() {
        const f = frame('sasl_mechanisms');
        assert.strictEqual(f.type, frames.TYPE_SASL);
        assert.deepStrictEqual(f.performative.sasl_server_mechanisms, ['ANONYMOUS', 'PLAIN']);
    },
    sasl_init() {
        const i = frame('sasl_init').performative;
        assert.strictEqual(i.mechanism, 'PLAIN');
        assert.strictEqual(i.initial_response.toString(), '\u0000d1@sas.hub\u0000pw');
    },
    sasl_outcome() {
        assert.strictEqual(frame('sasl_outcome').performative.code, 1);
    },
    msg_cbs() {
        const m = message.decode(cases.msg_cbs);
        assert.strictEqual(m.message_id, 1);
        assert.strictEqual(m.to, '$cbs');
        assert.strictEqual(m.reply_to, 'cbs');
        assert.deepStrictEqual(m.application_properties, {
            operation: 'put-token',
            type: 'servicebus.windows.net:sastoken',
            name: 'hub.example/devices/d1',
        });
        assert.strictEqual(m.body, 'SharedAccessSignature sr=x&sig=y&se=1');
    },
};

let failed = 0;
for (const name of Object.keys(cases)) {
    const check = checks[name];
    try {
        assert.ok(check, 'no check for ' + name);
        check();
        console.log('ok   ' + name);
    } catch (e) {
        failed++;
        console.log('FAIL ' + name + ': ' + e.message);
    }
}
for (const name of Object.keys(checks)) {
    if (!cases[name]) {
        failed++;
        console.log('FAIL ' + name + ': missing from ' + file);
    }
}
console.log(failed ? failed + ' failed' : 'all ' + Object.keys(cases).length + ' decoded by rhea');
process.exit(failed ? 1 : 0);
