import type { Command } from "commander";
import { isNotFound, normalize } from "@containerts/errdefs";
import { CommandError, objectWithLabelArgs, println, withClient } from "../../cli.js";
import { TabWriter, narrow } from "../../tabwriter.js";

/** `tsctr namespaces create|ls|label|rm`. */
export function register(program: Command): void {
  const ns = program.command("namespaces").aliases(["namespace", "ns"]).description("manage namespaces");

  ns.command("create")
    .alias("c")
    .description("create a new namespace")
    .argument("[args...]", "<name> [<key>=<value>]")
    .action(async (args: string[], _o, cmd: Command) => {
      const [name, labels] = objectWithLabelArgs(args);
      if (name === "") throw new CommandError("please specify a namespace");
      await withClient(cmd, async (client, ctx) => {
        await client.namespaces.create(ctx, name, labels);
      });
    });

  ns.command("label")
    .description("set and clear labels for a namespace")
    .argument("[args...]", "<name> [<key>=<value>, ...]")
    .action(async (args: string[], _o, cmd: Command) => {
      const [name, labels] = objectWithLabelArgs(args);
      if (name === "") throw new CommandError("please specify a namespace");
      await withClient(cmd, async (client, ctx) => {
        for (const [k, v] of Object.entries(labels)) {
          await client.namespaces.update(ctx, { name, labels: { [k]: v } }, [`labels.${k}`]);
        }
      });
    });

  ns.command("list")
    .alias("ls")
    .description("list namespaces")
    .option("-q, --quiet", "print only the namespace name")
    .action(async (opts: { quiet?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        const list = await client.namespaces.list(ctx);
        if (opts.quiet) {
          for (const n of list) println(n.name);
          return;
        }
        const w = new TabWriter(narrow);
        w.line("NAME", "LABELS", "");
        for (const n of list) {
          const labels = Object.entries(n.labels)
            .map(([k, v]) => `${k}=${v}`)
            .sort();
          w.line(n.name, labels.join(","), "");
        }
        w.flush();
      });
    });

  ns.command("remove")
    .alias("rm")
    .description("remove one or more namespaces")
    .argument("<names...>", "<name> [<name>, ...]")
    .option("-c, --cgroup", "delete the namespace's cgroup")
    .action(async (names: string[], _o, cmd: Command) => {
      await withClient(cmd, async (client, ctx) => {
        let exitErr: CommandError | undefined;
        for (const name of names) {
          try {
            await client.namespaces.delete(ctx, name);
          } catch (err) {
            if (!isNotFound(err)) {
              const msg = normalize(err).message;
              process.stderr.write(`unable to delete ${name}: ${msg}\n`);
              exitErr ??= new CommandError(`unable to delete ${name}: ${msg}`);
              continue;
            }
          }
          println(name);
        }
        if (exitErr) throw exitErr;
      });
    });
}
