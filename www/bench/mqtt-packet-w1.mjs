// W1 loops for the JavaScript peer: mqtt-packet 9 (the codec inside MQTT.js), exactly as
// WORKLOADS.md describes them: generate() to encode, parser().parse() to decode.
// Bundled by esbuild (with the npm `buffer` polyfill) into dist/mqtt-packet-w1.js.
import { Buffer } from 'buffer';
import mqtt from 'mqtt-packet';

export const NAME = 'mqtt-packet';

/** @param {Uint8Array} payloadBytes @param {string} topic */
export function makeW1(payloadBytes, topic) {
  const payload = Buffer.from(payloadBytes);
  const packet = (i) => ({
    cmd: 'publish',
    qos: 1,
    dup: false,
    retain: false,
    topic,
    messageId: (i % 65535) + 1,
    payload,
  });
  const frame0 = mqtt.generate(packet(0));

  // A parser whose 'packet' events add packet_id + payload length to `state.sum`.
  function summingParser(state) {
    const parser = mqtt.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => {
      if (p.cmd !== 'publish') {
        state.error = `decoded ${p.cmd}`;
        return;
      }
      state.sum += p.messageId + p.payload.length;
    });
    parser.on('error', (e) => {
      state.error = String(e);
    });
    return parser;
  }

  return {
    firstPacket: () => new Uint8Array(frame0),
    combined(start, n) {
      const state = { sum: 0, error: null };
      const parser = summingParser(state);
      for (let i = start; i < start + n; i++) {
        parser.parse(mqtt.generate(packet(i)));
      }
      return state.error ? -1 : state.sum;
    },
    encodeOnly(start, n) {
      let bytes = 0;
      for (let i = start; i < start + n; i++) {
        bytes += mqtt.generate(packet(i)).length;
      }
      return bytes;
    },
    decodeOnly(n) {
      // The parser does not modify its input, so the same 340 bytes are parsed each time.
      const state = { sum: 0, error: null };
      const parser = summingParser(state);
      for (let i = 0; i < n; i++) {
        parser.parse(frame0);
      }
      return state.error ? -1 : state.sum;
    },
  };
}
