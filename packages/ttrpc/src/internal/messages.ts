/**
 * The two envelope messages of ttrpc (`types.go`), hand-encoded with the protobuf wire primitives:
 *
 * ```
 * Request  { string service = 1; string method = 2; bytes payload = 3; int64 timeout_nano = 4;
 *            repeated KeyValue metadata = 5; }
 * KeyValue { string key = 1; string value = 2; }
 * Response { google.rpc.Status status = 1; bytes payload = 2; }
 * google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
 * ```
 *
 * Encoding follows proto3 as Go emits it: fields at their default value are omitted, so a successful
 * response to an `Empty` result is a zero-length payload. Decoding skips unknown fields and rejects a
 * known field sent with the wrong wire type, as gogo/protobuf's generated unmarshalers do.
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { InvalidArgumentError } from "@containerts/errdefs";

/** One metadata entry; a key with several values is sent as several entries. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** A decoded or to-be-encoded ttrpc `Request`. */
export interface RequestMessage {
  readonly service: string;
  readonly method: string;
  readonly payload: Uint8Array;
  /** Relative deadline in nanoseconds; 0 means none. */
  readonly timeoutNano: number;
  readonly metadata: readonly KeyValue[];
}

/** A `google.rpc.Status`; `details` are kept as the raw encoded `Any` messages. */
export interface StatusMessage {
  readonly code: number;
  readonly message: string;
  readonly details?: readonly Uint8Array[];
}

/** A decoded or to-be-encoded ttrpc `Response`. */
export interface ResponseMessage {
  /** Absent on success. */
  readonly status?: StatusMessage;
  readonly payload: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** Encodes a `Request`. */
export function encodeRequest(r: RequestMessage): Uint8Array {
  const w = new BinaryWriter();
  if (r.service !== "") w.tag(1, WireType.LengthDelimited).string(r.service);
  if (r.method !== "") w.tag(2, WireType.LengthDelimited).string(r.method);
  if (r.payload.length > 0) w.tag(3, WireType.LengthDelimited).bytes(r.payload);
  if (r.timeoutNano !== 0) w.tag(4, WireType.Varint).int64(BigInt(Math.trunc(r.timeoutNano)));
  for (const kv of r.metadata) {
    w.tag(5, WireType.LengthDelimited).fork();
    if (kv.key !== "") w.tag(1, WireType.LengthDelimited).string(kv.key);
    if (kv.value !== "") w.tag(2, WireType.LengthDelimited).string(kv.value);
    w.join();
  }
  return w.finish();
}

/** Decodes a `Request`; throws (an `Error` from the wire reader or an InvalidArgumentError) when the bytes are malformed. */
export function decodeRequest(bytes: Uint8Array): RequestMessage {
  const r = new BinaryReader(bytes);
  let service = "";
  let method = "";
  let payload = EMPTY;
  let timeoutNano = 0;
  const metadata: KeyValue[] = [];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    switch (no) {
      case 1:
        expectWireType("Request", "service", wt, WireType.LengthDelimited);
        service = r.string();
        break;
      case 2:
        expectWireType("Request", "method", wt, WireType.LengthDelimited);
        method = r.string();
        break;
      case 3:
        expectWireType("Request", "payload", wt, WireType.LengthDelimited);
        payload = r.bytes();
        break;
      case 4:
        expectWireType("Request", "timeout_nano", wt, WireType.Varint);
        timeoutNano = Number(r.int64());
        break;
      case 5:
        expectWireType("Request", "metadata", wt, WireType.LengthDelimited);
        metadata.push(decodeKeyValue(r.bytes()));
        break;
      default:
        r.skip(wt, no);
    }
  }
  return { service, method, payload, timeoutNano, metadata };
}

function decodeKeyValue(bytes: Uint8Array): KeyValue {
  const r = new BinaryReader(bytes);
  let key = "";
  let value = "";
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expectWireType("KeyValue", "key", wt, WireType.LengthDelimited);
      key = r.string();
    } else if (no === 2) {
      expectWireType("KeyValue", "value", wt, WireType.LengthDelimited);
      value = r.string();
    } else {
      r.skip(wt, no);
    }
  }
  return { key, value };
}

/** Encodes a `Response`; the status is written only when present and its code is not 0 (OK). */
export function encodeResponse(r: ResponseMessage): Uint8Array {
  const w = new BinaryWriter();
  if (r.status !== undefined && r.status.code !== 0) {
    w.tag(1, WireType.LengthDelimited).fork();
    w.tag(1, WireType.Varint).int32(r.status.code);
    if (r.status.message !== "") w.tag(2, WireType.LengthDelimited).string(r.status.message);
    for (const d of r.status.details ?? []) w.tag(3, WireType.LengthDelimited).bytes(d);
    w.join();
  }
  if (r.payload.length > 0) w.tag(2, WireType.LengthDelimited).bytes(r.payload);
  return w.finish();
}

/** Decodes a `Response`; throws (an `Error` from the wire reader or an InvalidArgumentError) when the bytes are malformed. */
export function decodeResponse(bytes: Uint8Array): ResponseMessage {
  const r = new BinaryReader(bytes);
  let status: StatusMessage | undefined;
  let payload = EMPTY;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expectWireType("Response", "status", wt, WireType.LengthDelimited);
      status = decodeStatus(r.bytes());
    } else if (no === 2) {
      expectWireType("Response", "payload", wt, WireType.LengthDelimited);
      payload = r.bytes();
    } else {
      r.skip(wt, no);
    }
  }
  return status === undefined ? { payload } : { status, payload };
}

function decodeStatus(bytes: Uint8Array): StatusMessage {
  const r = new BinaryReader(bytes);
  let code = 0;
  let message = "";
  const details: Uint8Array[] = [];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expectWireType("Status", "code", wt, WireType.Varint);
      code = r.int32();
    } else if (no === 2) {
      expectWireType("Status", "message", wt, WireType.LengthDelimited);
      message = r.string();
    } else if (no === 3) {
      expectWireType("Status", "details", wt, WireType.LengthDelimited);
      details.push(r.bytes());
    } else {
      r.skip(wt, no);
    }
  }
  return { code, message, details };
}

function expectWireType(msg: string, field: string, got: WireType, want: WireType): void {
  if (got !== want) {
    throw new InvalidArgumentError(`proto: wrong wireType = ${got} for field ${field} of ${msg}`, { bare: true });
  }
}
