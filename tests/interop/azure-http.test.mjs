// The official Azure IoT Node device SDK (azure-iot-device + azure-iot-device-http, Http
// transport, unmodified) against devhub's HTTPS device API over TLS: events and batches it
// sends must arrive intact, and C2D messages it polls must settle as complete, abandon and
// reject exactly as the hub records them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import deviceSdk from 'azure-iot-device';
import httpSdk from 'azure-iot-device-http';
import { api, createDevice, eventually, HubPortAgent } from './hub.mjs';

const { Client, Message } = deviceSdk;
const { Http } = httpSdk;

describe('azure-iot-device-http (Http) against devhub', { timeout: 90_000 }, () => {
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

  async function historyOf(messageId) {
    const res = await api('GET', '/api/c2d/history');
    assert.equal(res.status, 200);
    return res.body.filter((h) => h.messageId === messageId);
  }

  async function feedbackOf(messageId) {
    const res = await api('GET', '/api/feedback');
    assert.equal(res.status, 200);
    return res.body.filter((f) => f.originalMessageId === messageId);
  }

  async function queue() {
    const res = await api('GET', `${devicePath()}/messages`);
    assert.equal(res.status, 200);
    return res.body;
  }

  before(async () => {
    device = await createDevice('interop-http');
    client = Client.fromConnectionString(device.connectionString, Http);
    client.on('error', (err) => errors.push(err));
    // The agent reaches devhub's TLS port. The Http transport calls back from setOptions only
    // when a receive policy is included, so one is given (poll every second, drain the queue).
    await client.setOptions({ http: { agent: new HubPortAgent(), receivePolicy: { interval: 1 } } });
    client.on('message', (msg) => received.push(msg));
    await client.open();
  });

  after(async () => {
    if (client) await client.close();
    if (device) {
      const deleted = await api('DELETE', devicePath());
      assert.equal(deleted.status, 204);
    }
  });

  test('sendEvent arrives with body, system and application properties', async () => {
    const messageId = randomUUID();
    const correlationId = randomUUID();
    const body = JSON.stringify({ temperature: 21.5, unit: 'C' });
    const msg = new Message(body);
    msg.messageId = messageId;
    msg.correlationId = correlationId;
    msg.contentType = 'application/json';
    msg.contentEncoding = 'utf-8';
    msg.properties.add('alert', 'true');
    // Node writes header values as ISO-8859-1; the hub must read `é` back.
    msg.properties.add('note', 'a b&c=d/é');

    await client.sendEvent(msg);

    const event = await eventually(`event ${messageId} in /api/events`, async () => {
      const res = await api('GET', `/api/events?deviceId=${encodeURIComponent(device.deviceId)}`);
      assert.equal(res.status, 200);
      return res.body.find((e) => e.systemProperties && e.systemProperties.messageId === messageId);
    });
    assert.equal(event.deviceId, device.deviceId);
    assert.equal(event.protocol, 'https');
    assert.equal(event.body, body);
    assert.equal(event.systemProperties.correlationId, correlationId);
    assert.equal(event.systemProperties.contentType, 'application/json');
    assert.equal(event.systemProperties.contentEncoding, 'utf-8');
    assert.equal(event.systemProperties.to, `/devices/${encodeURIComponent(device.deviceId)}/messages/events`);
    assert.deepEqual(event.properties, { alert: 'true', note: 'a b&c=d/é' });
    // Request line + headers (SAS, user agent, properties…) + body.
    assert.ok(event.wireBytes > body.length + 200, `wireBytes ${event.wireBytes}`);
  });

  test('sendEventBatch stores every message of the batch', async () => {
    const batchId = randomUUID();
    const messages = [
      new Message('first'),
      new Message(JSON.stringify({ n: 2 })),
      new Message(Buffer.from([0x00, 0x01, 0xfe, 0xff])),
    ];
    messages.forEach((m, i) => {
      m.properties.add('batch', batchId);
      m.properties.add('index', String(i));
    });

    await client.sendEventBatch(messages);

    const events = await eventually(`3 events of batch ${batchId}`, async () => {
      const res = await api('GET', `/api/events?deviceId=${encodeURIComponent(device.deviceId)}`);
      assert.equal(res.status, 200);
      const found = res.body.filter((e) => e.properties.batch === batchId);
      return found.length === 3 ? found : null;
    });
    assert.deepEqual(
      events.map((e) => e.properties.index),
      ['0', '1', '2'],
    );
    assert.equal(events[0].body, 'first');
    assert.equal(events[1].body, '{"n":2}');
    assert.equal(events[2].bodyBase64, Buffer.from([0x00, 0x01, 0xfe, 0xff]).toString('base64'));
    assert.ok(events.every((e) => e.protocol === 'https' && e.wireBytes > 0));
  });

  test('a polled C2D message carries its properties and completing it is recorded', async () => {
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

    const msg = await eventually('the C2D message on the client', async () =>
      received.find((m) => m.messageId === messageId),
    );
    assert.equal(msg.data.toString(), 'reboot when idle');
    assert.equal(msg.correlationId, correlationId);
    assert.equal(msg.to, `/devices/${device.deviceId}/messages/deviceBound`);
    assert.match(msg.lockToken, /^[0-9a-f-]{36}$/, 'ETag without its quotes');
    // The Http transport keeps the header names of application properties as they are.
    assert.equal(msg.properties.getValue('iothub-app-command'), 'reboot');
    assert.equal(msg.properties.getValue('iothub-app-delay'), '5 s');
    assert.equal((await queue()).find((m) => m.messageId === messageId).state, 'locked');

    await client.complete(msg);

    const outcomes = (await historyOf(messageId)).map((h) => h.outcome);
    assert.deepEqual(outcomes, ['completed']);
    const feedback = await feedbackOf(messageId);
    assert.equal(feedback.length, 1);
    assert.equal(feedback[0].statusCode, 'Success');
    assert.equal(feedback[0].deviceId, device.deviceId);
    assert.ok(!(await queue()).some((m) => m.messageId === messageId), 'completed message left the queue');
  });

  test('an abandoned message comes back with a higher delivery count', async () => {
    const messageId = randomUUID();
    await sendC2d({ body: 'try again', messageId });

    const first = await eventually('the first delivery', async () =>
      received.find((m) => m.messageId === messageId),
    );
    await client.abandon(first);

    const abandoned = (await historyOf(messageId)).find((h) => h.outcome === 'abandoned');
    assert.ok(abandoned, 'abandon is in the history');
    assert.equal(abandoned.deliveryCount, 1);

    // The poller picks it up again, under a new lock.
    const second = await eventually('the redelivery', async () =>
      received.filter((m) => m.messageId === messageId)[1],
    );
    assert.notEqual(second.lockToken, first.lockToken);
    assert.equal(second.data.toString(), 'try again');
    const listed = (await queue()).find((m) => m.messageId === messageId);
    assert.equal(listed.deliveryCount, 1);
    assert.equal(listed.state, 'locked');

    await client.complete(second);
    const records = await historyOf(messageId);
    assert.deepEqual(
      records.map((h) => [h.outcome, h.deliveryCount]),
      [
        ['abandoned', 1],
        ['completed', 1],
      ],
    );
  });

  test('a rejected message is dead-lettered with negative feedback', async () => {
    const messageId = randomUUID();
    await sendC2d({ body: 'refuse me', messageId, ack: 'negative' });

    const msg = await eventually('the C2D message to reject', async () =>
      received.find((m) => m.messageId === messageId),
    );
    await client.reject(msg);

    assert.deepEqual(
      (await historyOf(messageId)).map((h) => h.outcome),
      ['rejected'],
    );
    const feedback = await feedbackOf(messageId);
    assert.equal(feedback.length, 1);
    assert.equal(feedback[0].statusCode, 'Rejected');
    assert.equal(feedback[0].description, 'Message rejected');
    assert.ok(!(await queue()).some((m) => m.messageId === messageId), 'rejected message left the queue');
    // Two more poll intervals: it is not delivered again.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(received.filter((m) => m.messageId === messageId).length, 1);
  });

  test('a wrong key is refused with 401, which the SDK reports as UnauthorizedError', async () => {
    const wrongKey = Buffer.alloc(32, 7).toString('base64');
    const wrong = device.connectionString.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${wrongKey}`);
    const intruder = Client.fromConnectionString(wrong, Http);
    intruder.setOptions({ http: { agent: new HubPortAgent() } }); // never calls back without a receive policy
    await assert.rejects(intruder.sendEvent(new Message('nope')), (err) => {
      assert.equal(err.name, 'UnauthorizedError');
      assert.equal(err.response.statusCode, 401);
      assert.match(err.responseBody, /"Message":"ErrorCode:IotHubUnauthorizedAccess;/);
      return true;
    });
    await intruder.close();
  });

  test('the client reported no errors', () => {
    assert.deepEqual(errors.map(String), []);
  });
});
