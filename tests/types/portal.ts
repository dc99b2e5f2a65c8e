// A typed portal integration: what a TypeScript user writes against the `hubwire` package.
// Only type-checked (tsc --strict against the generated hubwire_web.d.ts), never run; the
// e2e suite runs the same calls in www/portal/ in a browser.
import init, {
  HubwireDevice,
  HubwireGateway,
  type ConnectionStatus,
  type HubwireError,
  type HubwireMessage,
  type HubwireOptions,
  type ReceivedMessage,
  type SendReceipt,
} from "hubwire";

type Protocol = NonNullable<HubwireOptions["protocol"]>;

function isHubwireError(e: unknown): e is HubwireError {
  return e instanceof Error && e.name === "HubwireError" && typeof (e as HubwireError).code === "string";
}

function describeStatus(s: ConnectionStatus): string {
  switch (s.status) {
    case "reconnecting":
      return `reconnecting (try ${s.attempt} in ${Math.round(s.nextTryInMs)} ms): ${s.code}`;
    case "failed":
      return `failed: ${s.code} ${s.reason}`;
    default:
      return s.status;
  }
}

export async function embed(
  connectionString: string,
  protocol: Protocol,
  endpoint?: string,
): Promise<HubwireDevice> {
  await init();
  const options: HubwireOptions = { connectionString, protocol, reconnect: { enabled: true, maxAttempts: 5 } };
  if (endpoint !== undefined) options.endpoint = endpoint;
  if (protocol === "http") options.pollIntervalSecs = 5;
  const device = await HubwireDevice.connect(options);
  device.onStatus((s) => console.log(describeStatus(s)));
  device.onMessage((m: ReceivedMessage) => {
    const label: string = m.text ?? `${m.body.byteLength} bytes`;
    const count: number | null = m.deliveryCount;
    console.log(label, count, Object.entries(m.properties));
    const settle = protocol === "mqtt" ? device.complete(m.lockToken) : device.abandon(m.lockToken);
    settle.catch((e: unknown) => console.error(isHubwireError(e) ? e.code : e));
  });
  return device;
}

export async function sendTelemetry(device: HubwireDevice, temperature: number): Promise<SendReceipt> {
  const message: HubwireMessage = {
    body: JSON.stringify({ temperature }),
    contentType: "application/json",
    contentEncoding: "utf-8",
    messageId: crypto.randomUUID(),
    properties: { alert: String(temperature > 30) },
  };
  try {
    const receipt = await device.sendEvent(message);
    const id: string | null = receipt.messageId;
    console.log(id, receipt.wireBytes, receipt.messageSize);
    return receipt;
  } catch (e) {
    if (isHubwireError(e) && e.code === "MessageTooLarge") throw new Error("too large");
    throw e;
  }
}

export async function pollOnce(device: HubwireDevice): Promise<number> {
  const info = device.pollInfo();
  if (info === null) return 0;
  const wait: number | undefined = device.nextPollIn();
  console.log(info.intervalMs, info.development, wait);
  const batch = await device.sendEventBatch(["a", { body: new Uint8Array([1, 2]) }]);
  console.log(batch.messageCount, batch.bodyBytes);
  return device.pollNow();
}

export async function gateway(hostName: string, connectionStrings: string[]): Promise<void> {
  const gw = await HubwireGateway.connect({ hostName, endpoint: "ws://127.0.0.1:8080" });
  for (const connectionString of connectionStrings) {
    const dev = await gw.addDevice({ connectionString });
    dev.onMessage((m) => void dev.complete(m.lockToken));
    await dev.sendEvent("hello");
  }
  const ids: string[] = gw.devices();
  await Promise.all(ids.map((id) => gw.removeDevice(id)));
  const stats = gw.stats();
  console.log(stats.bytesSent, stats.tokenRenewals);
  await gw.close();
}

export async function shutdown(device: HubwireDevice): Promise<void> {
  const id: string = device.deviceId;
  const protocol: string = device.protocol;
  console.log(id, protocol, device.stats().messagesSent, describeStatus(device.status()));
  await device.close();
  device.free();
}
