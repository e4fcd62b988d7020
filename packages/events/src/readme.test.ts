import { describe, expect, it } from "vitest";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace } from "@containerts/namespaces";
import { EventType, Topic, validateTopic } from "./index.js";
import { createExchange } from "./local/index.js";

// The examples of README.md, kept honest.
describe("README examples", () => {
  it("local exchange", async () => {
    const exchange = createExchange();
    const ac = new AbortController();
    const exits = exchange.subscribe(background(ac.signal), ['topic=="/tasks/exit",event.container_id==redis']);
    await exchange.publish(withNamespace(background(), "default"), Topic.TaskExit, {
      typeUrl: EventType.TaskExit,
      message: { containerId: "other", id: "other", pid: 1, exitStatus: 0, exitedAt: new Date() },
    });
    await exchange.publish(withNamespace(background(), "default"), Topic.TaskExit, {
      typeUrl: EventType.TaskExit,
      message: { containerId: "redis", id: "redis", pid: 4242, exitStatus: 137, exitedAt: new Date() },
    });
    const seen: unknown[] = [];
    for await (const env of exits) {
      seen.push([env.namespace, env.topic, env.event.message?.["containerId"]]);
      break;
    }
    expect(seen).toEqual([["default", "/tasks/exit", "redis"]]);
    expect(exchange.stats()).toEqual({ subscribers: 0, queued: 0 });
  });

  it("errors", async () => {
    const exchange = createExchange();
    await expect(exchange.publish(background(), "/x", { typeUrl: EventType.TaskOOM, message: {} })).rejects.toThrow(
      "failed publishing event: namespace is required: failed precondition",
    );
    await expect(exchange.publish(withNamespace(background(), "default"), "tasks/exit", { typeUrl: EventType.TaskOOM, message: {} })).rejects.toThrow(
      `envelope topic "tasks/exit": must start with '/': invalid argument`,
    );
    let err: unknown;
    try {
      validateTopic("/tasks/exec-added");
      validateTopic("/tasks//x");
    } catch (e) {
      err = e;
    }
    expect(kindOf(err)).toBe("InvalidArgument");
  });
});
