/**
 * tsctr: containerts' command-line client, modelled on containerd's `ctr`. It drives containertsd and a real
 * containerd alike.
 */
import { Command, CommanderError } from "commander";
import { DEFAULT_ADDRESS } from "@containerts/client";
import { registerCommands } from "./commands/index.js";
import { CommandError, errorLine } from "./cli.js";
import { version } from "./version.js";

const program = new Command("tsctr")
  .description("containerts CLI (modelled on containerd's ctr)")
  .version(version, "-v, --version")
  .option("-a, --address <path>", "address for containerd's GRPC server", process.env["CONTAINERD_ADDRESS"] ?? DEFAULT_ADDRESS)
  .option("-n, --namespace <name>", "namespace to use with commands", process.env["CONTAINERD_NAMESPACE"] ?? "default")
  .option("--timeout <duration>", "total timeout for ctr commands", "0")
  .option("--connect-timeout <duration>", "timeout for connecting to containerd", "10s")
  .option("--debug", "enable debug output in logs", false)
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);
program.commands.forEach(function override(c: Command) {
  c.exitOverride();
  c.commands.forEach(override);
});

program.parseAsync(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode);
    }
    process.stderr.write(`${errorLine(err)}\n`);
    process.exit(err instanceof CommandError ? err.exitCode : 1);
  },
);
