// The example portal's page logic: a form around the embedding in embed.js (connect, status,
// telemetry, cloud-to-device inbox). devhub.js only prefills the form when devhub serves the page.
import { embedDevice } from './embed.js';
import { devhubDevice, devhubEndpoint } from './devhub.js';

const $ = (id) => document.getElementById(id);
const PROTOCOL_NAMES = { mqtt: 'MQTT', amqp: 'AMQP', http: 'HTTPS' };

let device = null;
let countdownTimer = 0;

function showError(e) {
  const el = $('error');
  if (!e) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  // hubwire's errors carry a machine-readable code; other errors show their message only.
  el.textContent = e.code ? `${e.code}: ${e.message}` : String(e.message ?? e);
  el.hidden = false;
}

function setStatus(state, text) {
  const el = $('device-status');
  el.dataset.state = state;
  el.textContent = text;
}

function onStatus(s) {
  switch (s.status) {
    case 'connected':
      setStatus('connected', `Connected as ${device?.deviceId ?? '…'} over ${PROTOCOL_NAMES[device?.protocol] ?? ''}`);
      break;
    case 'reconnecting':
      setStatus('reconnecting', `Reconnecting (attempt ${s.attempt}, next try in ${Math.ceil(s.nextTryInMs / 1000)} s): ${s.code}`);
      break;
    case 'failed':
      setStatus('failed', `Failed: ${s.code}`);
      showError({ code: s.code, message: s.reason });
      setConnected(false);
      break;
    case 'disconnected':
      setStatus('disconnected', 'Disconnected');
      break;
    default:
      setStatus(s.status, 'Connecting…');
  }
}

function setConnected(connected) {
  for (const id of ['connection-string', 'protocol', 'endpoint', 'poll-secs', 'connect']) $(id).disabled = connected;
  $('disconnect').disabled = !connected;
  $('send').disabled = !connected;
  const http = connected && device?.protocol === 'http';
  $('poll-controls').hidden = !http;
  clearInterval(countdownTimer);
  if (http) countdownTimer = setInterval(showCountdown, 500);
  if (!connected) {
    $('settle-note').textContent = 'Connect to receive cloud-to-device messages.';
    device = null;
  } else if (device.protocol === 'mqtt') {
    $('settle-note').textContent = 'MQTT completes each message on arrival (PUBACK); abandon and reject need AMQP or HTTPS.';
  } else {
    $('settle-note').textContent = 'Complete, abandon (deliver again) or reject each message.';
  }
}

function showCountdown() {
  const ms = device?.nextPollIn();
  $('poll-countdown').textContent = ms == null ? 'polling…' : `next poll in ${Math.ceil(ms / 1000)} s`;
}

function onMessage(m) {
  const li = document.createElement('li');
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = m.text ?? `(${m.body.byteLength} bytes of binary)`;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const props = Object.entries(m.properties).map(([k, v]) => `${k}=${v}`).join(', ');
  meta.textContent = [
    m.messageId && `id ${m.messageId}`,
    props && `properties: ${props}`,
    m.deliveryCount != null && `delivery count ${m.deliveryCount}`,
  ].filter(Boolean).join(' · ');
  const outcome = document.createElement('span');
  outcome.className = 'outcome';
  li.append(body, meta);
  const label = m.messageId ?? m.text ?? 'message';
  // Messages that arrived before connect() resolved come in before `device` is set; the
  // protocol field (locked while connected) tells which settlements apply.
  if ($('protocol').value === 'mqtt') {
    outcome.textContent = 'completed on arrival';
    li.append(outcome);
  } else {
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    for (const [action, past] of [['complete', 'completed'], ['abandon', 'abandoned'], ['reject', 'rejected']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = action[0].toUpperCase() + action.slice(1);
      b.setAttribute('aria-label', `${b.textContent} ${label}`);
      b.addEventListener('click', async () => {
        for (const other of buttons.querySelectorAll('button')) other.disabled = true;
        try {
          if (!device) throw new Error('the device is not connected');
          await device[action](m.lockToken);
          showError(null);
          buttons.replaceWith(Object.assign(outcome, { textContent: past }));
        } catch (e) {
          showError(e);
          for (const other of buttons.querySelectorAll('button')) other.disabled = false;
        }
      });
      buttons.append(b);
    }
    li.append(buttons);
  }
  $('inbox').prepend(li);
}

async function connect(event) {
  event.preventDefault();
  showError(null);
  const protocol = $('protocol').value;
  setStatus('connecting', `Connecting over ${PROTOCOL_NAMES[protocol]}…`);
  $('connect').disabled = true;
  try {
    device = await embedDevice({
      connectionString: $('connection-string').value.trim(),
      protocol,
      endpoint: $('endpoint').value.trim() || undefined,
      pollIntervalSecs: Number($('poll-secs').value) || undefined,
      onStatus,
      onMessage,
    });
    $('inbox').replaceChildren();
    setConnected(true);
    onStatus(device.status());
  } catch (e) {
    device = null;
    setStatus('failed', `Not connected${e.code ? `: ${e.code}` : ''}`);
    showError(e);
    $('connect').disabled = false;
  }
}

async function disconnect() {
  const d = device;
  setConnected(false);
  if (d) await d.close();
  setStatus('disconnected', 'Disconnected');
}

async function send(event) {
  event.preventDefault();
  if (!device) return;
  const temperature = Number($('temperature').value);
  const properties = { site: 'rotterdam-depot', alert: String(temperature > 8) };
  const name = $('prop-name').value.trim();
  if (name) properties[name] = $('prop-value').value;
  $('send').disabled = true;
  try {
    const receipt = await device.sendEvent({
      body: JSON.stringify({ temperature, humidity: Number($('humidity').value) }),
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      messageId: crypto.randomUUID(),
      properties,
    });
    showError(null);
    $('receipt').textContent = `Message ${receipt.messageId} acknowledged (${receipt.wireBytes} bytes on the wire).`;
  } catch (e) {
    showError(e);
  } finally {
    $('send').disabled = !device;
  }
}

async function pollNow() {
  try {
    await device?.pollNow();
  } catch (e) {
    showError(e);
  }
}

function protocolChanged(previous) {
  const protocol = $('protocol').value;
  $('poll-field').hidden = protocol !== 'http';
  $('endpoint').placeholder = protocol === 'http' ? 'https://{HostName}' : 'wss://{HostName}';
  // Follow the protocol only while the endpoint is devhub's own (prefilled) one.
  if (previous && $('endpoint').value === devhubEndpoint(previous)) $('endpoint').value = devhubEndpoint(protocol);
}

let lastProtocol = $('protocol').value;
$('protocol').addEventListener('change', () => {
  protocolChanged(lastProtocol);
  lastProtocol = $('protocol').value;
});
$('connect-form').addEventListener('submit', connect);
$('disconnect').addEventListener('click', disconnect);
$('send-form').addEventListener('submit', send);
$('poll-now').addEventListener('click', pollNow);
protocolChanged(null);

devhubDevice().then((d) => {
  if (!d) return;
  $('connection-string').value = d.connectionString;
  $('endpoint').value = devhubEndpoint($('protocol').value);
  const note = $('devhub-note');
  note.textContent = `Prefilled with ${d.deviceId} of the local devhub.`;
  note.hidden = false;
}, showError);
