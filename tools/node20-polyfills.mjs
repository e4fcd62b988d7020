// Node 20 lacks Map.groupBy and Object.groupBy (Node 21+), which vitest 5's reporters call when a test
// fails. Loaded by vitest.shared.ts in the main process and as a setup file in the workers.
if (typeof Map.groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    configurable: true,
    writable: true,
    value(items, key) {
      const m = new Map();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        const list = m.get(k);
        if (list) list.push(item);
        else m.set(k, [item]);
      }
      return m;
    },
  });
}
if (typeof Object.groupBy !== "function") {
  Object.defineProperty(Object, "groupBy", {
    configurable: true,
    writable: true,
    value(items, key) {
      const o = Object.create(null);
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        (o[k] ??= []).push(item);
      }
      return o;
    },
  });
}
