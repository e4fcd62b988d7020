/**
 * The daemon's listeners: the gRPC server on the main unix socket and the ttrpc server on
 * `<address>.ttrpc`, fed by the initialized plugins.
 */
import { status as Status, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { createTtrpcServer, type TtrpcServer } from "@containerts/ttrpc";
import { PluginType, type PluginSet } from "@containerts/plugin-registry";
import type { GrpcServicePlugin } from "@containerts/namespaces/grpc";
import type { DaemonConfig } from "./config.js";
import type { DaemonLogger } from "./log.js";
import { prepareSocket, secureSocket } from "./socket.js";
import { GrpcServer } from "./h2/grpc.js";

/** The instance of an `io.containerd.ttrpc.v1` plugin (or any plugin that serves ttrpc). */
export interface TtrpcServicePlugin {
  registerTtrpc(server: TtrpcServer): void;
}

function isGrpcPlugin(v: unknown): v is GrpcServicePlugin {
  return typeof v === "object" && v !== null && typeof (v as GrpcServicePlugin).register === "function";
}

function isTtrpcPlugin(v: unknown): v is TtrpcServicePlugin {
  return typeof v === "object" && v !== null && typeof (v as TtrpcServicePlugin).registerTtrpc === "function";
}

type Handler = (call: { emit(event: string, ...args: unknown[]): boolean }, callback?: (err: unknown, res?: unknown) => void) => void;

/**
 * Wraps a service implementation so every failed call is logged: Unknown and Internal errors at error
 * level (they are bugs or unexpected conditions), the rest at debug level.
 */
function instrument(def: ServiceDefinition, impl: UntypedServiceImplementation, log: DaemonLogger): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const path = (def as Record<string, { path?: string }>)[name]?.path ?? name;
    const report = (err: unknown) => {
      const e = err as { code?: number; details?: string };
      const fields = { method: path, code: Status[e.code ?? Status.UNKNOWN], error: e.details };
      if (e.code === Status.UNKNOWN || e.code === Status.INTERNAL) log.error("RPC failed", fields);
      else log.debug("RPC failed", fields);
    };
    const h = handler as unknown as Handler;
    out[name] = ((call: Parameters<Handler>[0], callback?: Parameters<Handler>[1]) => {
      if (callback) {
        h(call, (err, res) => {
          if (err) report(err);
          callback(err, res);
        });
        return;
      }
      const emit = call.emit.bind(call);
      call.emit = (event: string, ...args: unknown[]) => {
        if (event === "error") report(args[0]);
        return emit(event, ...args);
      };
      h(call);
    }) as unknown as UntypedServiceImplementation[string];
  }
  return out;
}

/** Running listeners. */
export interface Listeners {
  readonly grpc: GrpcServer;
  readonly ttrpc: TtrpcServer;
  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs: number): Promise<void>;
}

/** Builds the servers from the plugin set and listens on the configured sockets. */
export async function listen(config: DaemonConfig, plugins: PluginSet, log: DaemonLogger): Promise<Listeners> {
  const grpc = new GrpcServer({
    maxReceiveMessageLength: config.grpc.maxRecvMessageSize,
    maxSendMessageLength: config.grpc.maxSendMessageSize,
  });
  const ttrpc = createTtrpcServer({ onError: (err) => log.warn("ttrpc connection error", { error: err }) });
  for (const r of plugins) {
    if (r.status !== "ok") continue;
    if (r.type === PluginType.GRPC && isGrpcPlugin(r.instance)) {
      r.instance.register({ addService: (def, impl) => grpc.addService(def, instrument(def, impl, log)) });
    }
    if (isTtrpcPlugin(r.instance)) r.instance.registerTtrpc(ttrpc);
  }

  // ttrpc first: once the gRPC socket answers, every endpoint is up (shims may forward events at once).
  await prepareSocket(config.ttrpc.address);
  await ttrpc.listen(config.ttrpc.address);
  await secureSocket(config.ttrpc.address, config.ttrpc.uid, config.ttrpc.gid);
  log.info("serving...", { address: config.ttrpc.address });

  await prepareSocket(config.grpc.address);
  await grpc.listen(config.grpc.address);
  await secureSocket(config.grpc.address, config.grpc.uid, config.grpc.gid);
  log.info("serving...", { address: config.grpc.address });

  return {
    grpc,
    ttrpc,
    async shutdown(graceMs: number) {
      const graceful = new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      const timer = setTimeout(() => grpc.forceShutdown(), graceMs);
      await Promise.all([graceful, ttrpc.shutdown().catch(() => ttrpc.close())]);
      clearTimeout(timer);
    },
  };
}
