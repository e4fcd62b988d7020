import { describe, expect, it } from "vitest";
import { type MessageCodec, TASK_SERVICE, TaskMethods, TaskService } from "./v2.js";

describe("TaskMethods", () => {
  it("has every method of containerd.task.v2.Task with the generated definition's request and response types", () => {
    const defs = Object.values(TaskService);
    expect(Object.keys(TaskMethods).sort()).toEqual(defs.map((d) => d.path.split("/").at(-1)).sort());
    for (const [name, pair] of Object.entries(TaskMethods)) {
      const [request, response] = pair as unknown as readonly [MessageCodec<unknown>, MessageCodec<unknown>];
      const def = defs.find((d) => d.path === `/${TASK_SERVICE}/${name}`);
      expect(def, name).toBeDefined();
      // The default message of each type (its fields), through the table's codecs and the definition's.
      const empty = new Uint8Array(0);
      expect(Object.keys(def?.requestDeserialize(Buffer.alloc(0)) as object).sort(), name).toEqual(Object.keys(request.decode(empty) as object).sort());
      expect(Object.keys(def?.responseDeserialize(Buffer.alloc(0)) as object).sort(), name).toEqual(Object.keys(response.decode(empty) as object).sort());
      expect(def?.requestDeserialize(Buffer.from(request.encode(request.decode(empty)).finish())), name).toEqual(request.decode(empty));
    }
  });
});
