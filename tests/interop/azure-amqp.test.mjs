// The official Azure IoT Node device SDK (azure-iot-device + azure-iot-device-amqp, AmqpWs
// transport, unmodified) against devhub over TLS WebSocket: no SASL layer, CBS put-token, then
// telemetry and cloud-to-device links. What it sends must arrive intact, and what the hub sends
// must reach it and be settled as complete, abandon and reject.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import deviceSdk from 'azure-iot-device';
import amqpSdk from 'azure-iot-device-amqp';
import { api, createDevice, eventually, HubPortAgent } from './hub.mjs';

const { Client, Message } = deviceSdk;
const { AmqpWs } = amqpSdk;

describe('azure-iot-device-amqp (AmqpWs) against devhub', { timeout: 90_000 }, () => {
  let device;
  let client;
  // C2D messages and errors the client reported, in order.
  const received = [];
  const errors = [];

  const devicePath = () => `/api/devices/${encodeURIComponent(device.deviceId)}`;

  async function sendC2d(body) {
    const sent = await api('POST', `${devicePath()}/messages`, body);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    return sent.body;
  }

  async function history(messageId, outcome) {
    return eventually(`${messageId} ${outcome} in /api/c2d/history`, async () => {
      const res = await api('GET', '/api/c2d/history');
      assert.equal(res.status, 200);
      return res.body.find((h) => h.messageId === messageId && h.outcome === outcome);
    });
  }

  /** The `n`-th delivery (1-based) of the C2D message `messageId` on the client. */
  function delivery(messageId, n = 1) {
    return eventually(`delivery ${n} of ${messageId} on the client`, async () =>
      received.filter((m) => m.messageId === messageId)[n - 1],
    );
  }

  const annotations = (msg) => (msg.transportObj && msg.transportObj.message_annotations) || {};

  before(async () => {
    device = await createDevice('interop-amqpws');
    const listed = (await api('GET', '/api/devices')).body.find((d) => d.deviceId === device.deviceId);
    assert.ok(listed, `GET /api/devices lists ${device.deviceId}`);

    client = Client.fromConnectionString(listed.connectionString, AmqpWs);
    client.on('message', (msg) => received.push(msg));
    client.on('error', (err) => errors.push(err));
    await client.setOptions({ amqp: { webSocketAgent: new HubPortAgent() } });
    await client.open();
  });

  after(async () => {
    if (client) await client.close();
    if (device) {
      const deleted = await api('DELETE', devicePath());
      assert.equal(deleted.status, 204);
    }
  });

  test('the hub sees the device connected over AMQP (CBS without SASL)', async () => {
    const listed = await eventually('the device to show as connected', async () => {
      const res = await api('GET', devicePath());
      return res.status === 200 && res.body.connected === true ? res.body : null;
    });
    assert.equal(listed.protocol, 'amqp');
  });

  test('sendEvent arrives with body, system and application properties', async () => {
    const messageId = randomUUID();
    const correlationId = `corr-${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify({ temperature: 21.5, unit: 'C' });
    const msg = new Message(body);
    msg.messageId = messageId;
    msg.correlationId = correlationId;
    msg.contentType = 'application/json';
    msg.contentEncoding = 'utf-8';
    msg.properties.add('alert', 'true');
    msg.properties.add('note', 'a b&c=d/é');

    await client.sendEvent(msg);

    const event = await eventually(`event ${messageId} in /api/events`, async () => {
      const res = await api('GET', `/api/events?deviceId=${encodeURIComponent(device.deviceId)}`);
      assert.equal(res.status, 200);
      return res.body.find((e) => e.systemProperties && e.systemProperties.messageId === messageId);
    });
    assert.equal(event.deviceId, device.deviceId);
    assert.equal(event.protocol, 'amqp');
    assert.equal(event.body, body);
    assert.equal(event.systemProperties.correlationId, correlationId);
    assert.equal(event.systemProperties.contentType, 'application/json');
    assert.equal(event.systemProperties.contentEncoding, 'utf-8');
    assert.equal(event.properties.alert, 'true');
    assert.equal(event.properties.note, 'a b&c=d/é');
    assert.ok(event.wireBytes > Buffer.byteLength(body), `wireBytes ${event.wireBytes}`);
  });

  test('a C2D message reaches the client and completing it is recorded', async () => {
    const messageId = randomUUID();
    const correlationId = randomUUID();
    await sendC2d({
      body: 'reboot when idle',
      messageId,
      correlationId,
      contentType: 'text/plain',
      properties: { command: 'reboot', delay: '5 s' },
      ack: 'full',
    });

    const msg = await delivery(messageId);
    assert.equal(msg.data.toString('utf8'), 'reboot when idle');
    assert.equal(msg.correlationId, correlationId);
    assert.equal(msg.contentType, 'text/plain');
    assert.equal(msg.properties.getValue('command'), 'reboot');
    assert.equal(msg.properties.getValue('delay'), '5 s');
    assert.equal(msg.ack, 'full');
    const ann = annotations(msg);
    assert.equal(ann['iothub-deliverycount'], 0);
    assert.equal(typeof ann['x-opt-lock-token'], 'string');

    await client.complete(msg);

    const record = await history(messageId, 'completed');
    assert.equal(record.deviceId, device.deviceId);
    const feedback = await eventually(`positive feedback for ${messageId}`, async () => {
      const res = await api('GET', '/api/feedback');
      return res.body.find((f) => f.originalMessageId === messageId);
    });
    assert.equal(feedback.statusCode, 'Success');
    const queue = await api('GET', `${devicePath()}/messages`);
    assert.ok(!queue.body.some((m) => m.messageId === messageId), 'completed message left the queue');
  });

  test('abandon returns the message, which is redelivered with a raised delivery count', async () => {
    const messageId = randomUUID();
    await sendC2d({ body: 'try again', messageId });

    const first = await delivery(messageId, 1);
    assert.equal(annotations(first)['iothub-deliverycount'], 0);
    await client.abandon(first);
    await history(messageId, 'abandoned');

    const second = await delivery(messageId, 2);
    assert.equal(second.data.toString('utf8'), 'try again');
    assert.equal(annotations(second)['iothub-deliverycount'], 1);
    assert.notEqual(
      annotations(second)['x-opt-lock-token'],
      annotations(first)['x-opt-lock-token'],
      'a redelivery has a new lock',
    );
    const queue = await api('GET', `${devicePath()}/messages`);
    const queued = queue.body.find((m) => m.messageId === messageId);
    assert.equal(queued.deliveryCount, 1);
    assert.equal(queued.state, 'locked');

    await client.complete(second);
    await history(messageId, 'completed');
  });

  test('reject dead-letters the message with negative feedback', async () => {
    const messageId = randomUUID();
    await sendC2d({ body: 'not for me', messageId, ack: 'negative' });

    const msg = await delivery(messageId);
    await client.reject(msg);

    const record = await history(messageId, 'rejected');
    assert.equal(record.deviceId, device.deviceId);
    const feedback = await eventually(`negative feedback for ${messageId}`, async () => {
      const res = await api('GET', '/api/feedback');
      return res.body.find((f) => f.originalMessageId === messageId);
    });
    assert.equal(feedback.statusCode, 'Rejected');
    const queue = await api('GET', `${devicePath()}/messages`);
    assert.ok(!queue.body.some((m) => m.messageId === messageId), 'rejected message left the queue');
    assert.equal(received.filter((m) => m.messageId === messageId).length, 1, 'not redelivered');
  });

  test('the client reported no errors', () => {
    assert.deepEqual(errors.map(String), []);
  });
});
