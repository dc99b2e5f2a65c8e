// W2 loops for the JavaScript peer: rhea 3.0.5's own codec modules, called exactly as its
// Sender.send / Session (outgoing transfer) / Transport and Incoming.on_transfer call them:
// message.encode() for the payload, frames.write_frame(frames.amqp_frame(...)) around it,
// frames.read_frame() on the received frame and message.decode() on its payload.
// Bundled by esbuild (npm buffer/events/process/util polyfills, os/path stubs) into
// dist/rhea-w2.js; tests/bench/build-w2.mjs builds it.
import { Buffer } from 'buffer';
import frames from 'rhea/lib/frames.js';
import message from 'rhea/lib/message.js';
import types from 'rhea/lib/types.js';

export const NAME = 'rhea';

/** @param {Uint8Array} payloadBytes */
export function makeW2(payloadBytes) {
  const payload = Buffer.from(payloadBytes);

  // A fresh message and transfer for frame i, as an application would hand them to rhea.
  function encodeFrame(i) {
    const body = message.encode({
      message_id: `msg-${i}`,
      correlation_id: types.wrap_ulong(i),
      content_type: 'application/json',
      content_encoding: 'utf-8',
      application_properties: { level: 'critical', seq: types.wrap_int(i), alert: true },
      body: message.data_section(payload),
    });
    const tag = Buffer.allocUnsafe(4);
    tag.writeUInt32BE(i, 0);
    const transfer = frames.transfer({
      handle: 0,
      delivery_id: i,
      delivery_tag: tag,
      message_format: 0,
      settled: false,
    });
    return frames.write_frame(frames.amqp_frame(0, transfer, body));
  }

  // delivery-id + seq + data length of one received frame.
  function readFrame(buffer) {
    const frame = frames.read_frame(buffer);
    const msg = message.decode(frame.payload);
    return frame.performative.delivery_id + msg.application_properties.seq + msg.body.content.length;
  }

  const frame0 = encodeFrame(0);

  return {
    firstFrame: () => new Uint8Array(frame0),
    combined(start, n) {
      let sum = 0;
      let bytes = 0;
      for (let i = start; i < start + n; i++) {
        const buffer = encodeFrame(i);
        bytes += buffer.length;
        sum += readFrame(buffer);
      }
      return { checksum: sum, bytes };
    },
    encodeOnly(start, n) {
      let bytes = 0;
      for (let i = start; i < start + n; i++) bytes += encodeFrame(i).length;
      return { checksum: bytes, bytes };
    },
    decodeOnly(n) {
      // read_frame does not modify its input, so the same bytes are decoded each time.
      let sum = 0;
      for (let i = 0; i < n; i++) sum += readFrame(frame0);
      return { checksum: sum, bytes: n * frame0.length };
    },
  };
}
