/**
 * The local introspection and version services, built over the daemon's live plugin set.
 * @module
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseFilters, adaptFields, type Context } from "@containerts/namespaces";
import { grpcCodeOf } from "@containerts/errdefs/grpc";
import type { ReadonlyPluginSet, PluginResult } from "@containerts/plugin-registry";
import type { IntrospectionService, PluginInfo, ServerInfo, VersionInfo, VersionService } from "../index.js";

/** Converts one plugin result of the registry into what introspection reports. */
export function pluginInfo(r: PluginResult): PluginInfo {
  const base = {
    type: r.type,
    id: r.id,
    requires: [...r.requires],
    platforms: r.meta.platforms.map((p) => ({ os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) })),
    exports: { ...r.meta.exports },
    capabilities: [...r.meta.capabilities],
  };
  if (r.status === "ok") return base;
  return { ...base, initError: { code: grpcCodeOf(r.error.kind), message: r.error.message } };
}

/** Options of {@link createIntrospectionService}. */
export interface IntrospectionServiceOptions {
  /** The live plugin set (it grows while later plugins initialize). */
  readonly plugins: () => ReadonlyPluginSet;
  /** Where the server UUID is kept (`<root>/io.containerd.grpc.v1.introspection/uuid`). */
  readonly uuidPath: string;
}

/** Creates the introspection service over the daemon's plugin set. */
export function createIntrospectionService(opts: IntrospectionServiceOptions): IntrospectionService {
  let uuid: Promise<string> | undefined;
  const loadUuid = async (): Promise<string> => {
    try {
      const s = (await readFile(opts.uuidPath, "utf8")).trim();
      if (s !== "") return s;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const id = randomUUID();
    await mkdir(dirname(opts.uuidPath), { recursive: true, mode: 0o711 });
    const tmp = `${opts.uuidPath}.tmp`;
    await writeFile(tmp, id, { mode: 0o644 });
    await rename(tmp, opts.uuidPath);
    return id;
  };
  return {
    async plugins(_ctx: Context, filters: readonly string[] = []): Promise<PluginInfo[]> {
      const filter = parseFilters(filters);
      const out: PluginInfo[] = [];
      for (const r of opts.plugins()) {
        if (filter.match(adaptFields({ type: r.type, id: r.id }))) out.push(pluginInfo(r));
      }
      return out;
    },
    async server(_ctx: Context): Promise<ServerInfo> {
      uuid ??= loadUuid().catch((err: unknown) => {
        uuid = undefined;
        throw err;
      });
      return { uuid: await uuid };
    },
  };
}

/** Creates the version service answering with fixed build information. */
export function createVersionService(info: VersionInfo): VersionService {
  return { version: async () => info };
}
