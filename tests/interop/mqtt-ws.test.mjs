// The official Azure IoT Node device SDK (azure-iot-device + azure-iot-device-mqtt, MqttWs
// transport, unmodified) against devhub over TLS WebSocket: what it sends must arrive intact,
// and what the hub sends must reach it and be settled.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import deviceSdk from 'azure-iot-device';
import mqttSdk from 'azure-iot-device-mqtt';
import { api, createDevice, eventually, HubPortAgent } from './hub.mjs';

const { Client, Message } = deviceSdk;
const { MqttWs } = mqttSdk;

describe('azure-iot-device-mqtt (MqttWs) against devhub', { timeout: 60_000 }, () => {
  let device;
  let client;
  // C2D messages and errors the client reported, in order.
  const received = [];
  const errors = [];

  before(async () => {
    const listing = await api('GET', '/api/devices');
    assert.equal(listing.status, 200);
    const demo = listing.body.find((d) => d.deviceId === 'demo-device-1');
    assert.ok(demo, 'devhub lists demo-device-1');
    assert.match(demo.connectionString, /^HostName=localhost;DeviceId=demo-device-1;SharedAccessKey=.+/);

    device = await createDevice('interop-mqttws');
    // The connection string is taken from the listing, as a user of the dashboard would.
    const listed = (await api('GET', '/api/devices')).body.find((d) => d.deviceId === device.deviceId);
    assert.ok(listed, `GET /api/devices lists ${device.deviceId}`);

    client = Client.fromConnectionString(listed.connectionString, MqttWs);
    client.on('message', (msg) => received.push(msg));
    client.on('error', (err) => errors.push(err));
    await client.setOptions({ mqtt: { webSocketAgent: new HubPortAgent() } });
    await client.open();
  });

  after(async () => {
    if (client) await client.close();
    if (device) {
      const deleted = await api('DELETE', `/api/devices/${encodeURIComponent(device.deviceId)}`);
      assert.equal(deleted.status, 204);
    }
  });

  test('the hub sees the device connected', async () => {
    const listed = await eventually('the device to show as connected', async () => {
      const res = await api('GET', `/api/devices/${encodeURIComponent(device.deviceId)}`);
      return res.status === 200 && res.body.connected === true ? res.body : null;
    });
    assert.equal(listed.connected, true);
  });

  test('sendEvent arrives with body, system and application properties', async () => {
    const messageId = randomUUID();
    const body = JSON.stringify({ temperature: 21.5, unit: 'C' });
    const msg = new Message(body);
    msg.messageId = messageId;
    msg.contentType = 'application/json';
    msg.contentEncoding = 'utf-8';
    msg.properties.add('alert', 'true');
    // Characters the SDK must percent-encode in the topic, and the hub must decode.
    msg.properties.add('note', 'a b&c=d/é');

    await client.sendEvent(msg);

    const event = await eventually(`event ${messageId} in /api/events`, async () => {
      const res = await api('GET', `/api/events?deviceId=${encodeURIComponent(device.deviceId)}`);
      assert.equal(res.status, 200);
      return res.body.find((e) => e.systemProperties && e.systemProperties.messageId === messageId);
    });
    assert.equal(event.deviceId, device.deviceId);
    assert.equal(event.body, body);
    assert.equal(event.systemProperties.contentType, 'application/json');
    assert.equal(event.systemProperties.contentEncoding, 'utf-8');
    assert.equal(event.properties.alert, 'true');
    assert.equal(event.properties.note, 'a b&c=d/é');
    assert.ok(event.wireBytes > 0, 'wireBytes is counted');
  });

  test('a C2D message reaches the client and completing it is recorded', async () => {
    const messageId = randomUUID();
    const correlationId = randomUUID();
    const sent = await api('POST', `/api/devices/${encodeURIComponent(device.deviceId)}/messages`, {
      body: 'reboot when idle',
      messageId,
      correlationId,
      contentType: 'text/plain',
      properties: { command: 'reboot', delay: '5 s' },
      ack: 'full',
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.messageId, messageId);

    const msg = await eventually('the C2D message on the client', async () =>
      received.find((m) => m.messageId === messageId),
    );
    assert.equal(msg.data.toString('utf8'), 'reboot when idle');
    assert.equal(msg.correlationId, correlationId);
    assert.equal(msg.properties.getValue('command'), 'reboot');
    assert.equal(msg.properties.getValue('delay'), '5 s');

    await client.complete(msg);

    const record = await eventually(`${messageId} completed in /api/c2d/history`, async () => {
      const res = await api('GET', '/api/c2d/history');
      assert.equal(res.status, 200);
      return res.body.find((h) => h.messageId === messageId && h.outcome === 'completed');
    });
    assert.equal(record.deviceId, device.deviceId);

    const feedback = await eventually(`positive feedback for ${messageId}`, async () => {
      const res = await api('GET', '/api/feedback');
      assert.equal(res.status, 200);
      return res.body.find((f) => f.originalMessageId === messageId);
    });
    assert.equal(feedback.statusCode, 'Success');
    assert.equal(feedback.deviceId, device.deviceId);

    const queue = await api('GET', `/api/devices/${encodeURIComponent(device.deviceId)}/messages`);
    assert.equal(queue.status, 200);
    assert.ok(!queue.body.some((m) => m.messageId === messageId), 'completed message left the queue');
  });

  test('the client reported no errors', () => {
    assert.deepEqual(errors.map(String), []);
  });
});
