/**
 * containertsd: the containerts daemon. Flags follow containerd's: --config/-c, --root, --state,
 * --address/-a, --log-level/-l; `containertsd config default` prints the default configuration.
 *
 * `bin/containertsd` (the launcher) loads the bundle of this module and calls {@link run}; running
 * this file directly (`node dist/main.js`) starts the daemon too.
 */
import { parseArgs } from "node:util";
import { mkdir } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { createRegistry, initPlugins, loadExternalPlugins, PluginType } from "@containerts/plugin-registry";
import { normalize } from "@containerts/errdefs";
import { loadConfig, defaultConfigToml, type DaemonConfig } from "./config.js";
import { createLogger, isLogLevel, type DaemonLogger } from "./log.js";
import { lockRoot } from "./lock.js";
import { listen } from "./server.js";
import { builtinPlugins } from "./builtins.js";
import { version, revision } from "./version.js";

const usage = `containertsd - the containerts daemon (containerd's v1 API, in TypeScript)

USAGE:
   containertsd [global options] [command]

COMMANDS:
   config default   print the default configuration

GLOBAL OPTIONS:
   --config value, -c value     path to the configuration file (default: "/etc/containerts/config.toml")
   --log-level value, -l value  set the logging level [trace, debug, info, warn, error, fatal, panic]
   --address value, -a value    address for containertsd's GRPC server
   --root value                 containertsd root directory
   --state value                containertsd state directory
   --help, -h                   show help
   --version, -v                print the version
`;

/** What the launcher hands the daemon. */
export interface LaunchHooks {
  /**
   * Imports an external plugin package. The launcher provides it because code compiled through
   * `node:vm` cannot use `import()` itself.
   */
  readonly importModule?: (specifier: string) => Promise<unknown>;
  /** Called once, when the daemon serves. */
  readonly booted?: () => void;
}

async function main(argv: readonly string[], hooks: LaunchHooks): Promise<number> {
  const started = process.hrtime.bigint();
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "log-level": { type: "string", short: "l" },
      address: { type: "string", short: "a" },
      root: { type: "string" },
      state: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`containertsd ${version} ${revision}\n`);
    return 0;
  }
  if (positionals[0] === "config" && positionals[1] === "default") {
    process.stdout.write(defaultConfigToml());
    return 0;
  }
  if (positionals.length > 0) {
    process.stderr.write(`containertsd: unknown command ${positionals.join(" ")}\n\n${usage}`);
    return 1;
  }

  const config: DaemonConfig = await loadConfig(values.config, {
    root: values.root,
    state: values.state,
    address: values.address,
    logLevel: values["log-level"],
  });
  if (!isLogLevel(config.debug.level)) {
    process.stderr.write(`containertsd: invalid log level "${config.debug.level}"\n`);
    return 1;
  }
  const log: DaemonLogger = createLogger(config.debug.level);
  log.info("starting containertsd", { version, revision, pid: process.pid });
  for (const k of config.unknownKeys) log.warn("unknown configuration key, ignored", { key: k });
  for (const k of config.ignoredKeys) log.info("configuration key not supported by containertsd, ignored", { key: k });

  const lock = await lockRoot(config.root);
  await mkdir(config.state, { recursive: true, mode: 0o711 });

  const external = await loadExternalPlugins(config.externalPlugins, hooks.importModule ?? ((s) => import(s)));
  const registry = createRegistry([...builtinPlugins({ version, revision }), ...external]);
  const abort = new AbortController();
  const onEarlySignal = () => abort.abort(new Error("interrupted during start-up"));
  process.once("SIGTERM", onEarlySignal);
  process.once("SIGINT", onEarlySignal);
  let plugins;
  try {
    plugins = await initPlugins(registry, {
      root: config.root,
      state: config.state,
      grpcAddress: config.grpc.address,
      ttrpcAddress: config.ttrpc.address,
      pluginConfig: config.plugins,
      disabledPlugins: config.disabledPlugins,
      requiredPlugins: config.requiredPlugins,
      log,
      signal: abort.signal,
    });
  } catch (err) {
    await lock.release();
    throw err;
  }
  process.removeListener("SIGTERM", onEarlySignal);
  process.removeListener("SIGINT", onEarlySignal);
  for (const r of plugins) {
    if (r.status === "error") log.warn("failed to load plugin", { type: r.type, id: r.id, error: r.error.message });
    else if (r.status === "skip") log.info("skip loading plugin", { type: r.type, id: r.id, error: r.error.message });
    else log.debug("loaded plugin", { type: r.type, id: r.id });
  }

  let listeners;
  try {
    listeners = await listen(config, plugins, log);
  } catch (err) {
    await plugins.close().catch(() => undefined);
    await lock.release();
    throw err;
  }
  const bootMs = Number(process.hrtime.bigint() - started) / 1e6;
  log.info("containertsd successfully booted", { durationMs: Math.round(bootMs) });
  hooks.booted?.();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn("second signal, exiting now", { signal });
        process.exit(1);
      }
      stopping = true;
      log.info("stopping containertsd", { signal });
      (async () => {
        // End event subscriptions first: open Subscribe streams would otherwise hold the graceful
        // shutdown for its whole grace period.
        for (const r of plugins.ofType(PluginType.Event)) {
          const inst = r.status === "ok" ? (r.instance as { close?: () => unknown }) : undefined;
          if (inst && typeof inst.close === "function") await Promise.resolve(inst.close()).catch(() => undefined);
        }
        await listeners.shutdown(5000);
        await plugins.close().catch((err: unknown) => log.error("closing plugins", { error: normalize(err).message }));
        await lock.release();
        log.info("containertsd stopped");
        resolve(0);
      })().catch((err: unknown) => {
        log.error("shutdown failed", { error: normalize(err).message });
        resolve(1);
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

/** Runs the daemon with `argv` (the arguments after the script) and exits the process with its status. */
export function run(argv: readonly string[], hooks: LaunchHooks = {}): void {
  main(argv, hooks).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const e = normalize(err);
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: "fatal", msg: "containertsd: " + e.message })}\n`);
      process.exit(1);
    },
  );
}

/** Defined (true) by build.mjs in the bundle, which only the launcher runs. */
declare const __CONTAINERTS_LAUNCHED__: boolean | undefined;
if (typeof __CONTAINERTS_LAUNCHED__ === "undefined" && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2));
}
