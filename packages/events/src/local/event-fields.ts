/**
 * The default way the exchange reads `event.<field>` filter paths: from message payloads, by field name.
 */
import type { Adaptor } from "@containerts/namespaces";
import type { EventPayload } from "../index.js";

const noFields: Adaptor = Object.freeze({ field: () => undefined });

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isPlainObject(v: unknown): v is Readonly<Record<string, unknown>> {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isStringRecord(v: Readonly<Record<string, unknown>>): v is Readonly<Record<string, string>> {
  return Object.values(v).every((x) => typeof x === "string");
}

function lookup(obj: Readonly<Record<string, unknown>>, fieldpath: readonly string[]): string | undefined {
  const [head, ...rest] = fieldpath;
  if (head === undefined) return undefined;
  const key = Object.hasOwn(obj, head) ? head : camelCase(head);
  if (!Object.hasOwn(obj, key)) return undefined;
  const value = obj[key];
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (typeof value === "boolean") return String(value);
  if (!isPlainObject(value) || rest.length === 0) return undefined;
  if (isStringRecord(value)) {
    const label = rest.join(".");
    return Object.hasOwn(value, label) ? value[label] : undefined;
  }
  return lookup(value, rest);
}

/**
 * The exchange's default `eventFields`: an adaptor over a message payload's fields, shaped like
 * containerd's generated `Field` methods. A path element in snake_case (`container_id`) finds the
 * camelCase property (`containerId`) too. Non-empty strings are present; booleans are `"true"`/`"false"`;
 * a map of strings (`labels`) is looked up with the rest of the path joined by `.`; another nested object
 * is followed with the rest of the path; numbers, dates, bytes and arrays are not filterable. Encoded
 * (`value`) payloads have no fields here: the events plugin injects an adaptor that decodes them.
 */
export function messageEventFields(payload: EventPayload): Adaptor {
  const message = payload.message;
  if (message === undefined) return noFields;
  return { field: (fieldpath) => lookup(message, fieldpath) };
}
