import { isFailedPrecondition, isInvalidArgument } from "@containerts/errdefs";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_NAMESPACE,
  LEASE_HEADER,
  NAMESPACE_HEADER,
  NAMESPACE_TTRPC_HEADER,
  background,
  namespaceRequired,
  withLease,
  withNamespace,
  withSignal,
} from "./context.js";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("context", () => {
  it("has containerd's header names and default namespace", () => {
    expect(NAMESPACE_HEADER).toBe("containerd-namespace");
    expect(NAMESPACE_TTRPC_HEADER).toBe("containerd-namespace-ttrpc");
    expect(LEASE_HEADER).toBe("containerd-lease");
    expect(DEFAULT_NAMESPACE).toBe("default");
  });

  it("background has no namespace or lease and a signal that is not aborted", () => {
    const ctx = background();
    expect(ctx.namespace).toBeUndefined();
    expect(ctx.leaseId).toBeUndefined();
    expect(ctx.signal.aborted).toBe(false);
    expect(Object.keys(ctx)).toEqual(["signal"]);
  });

  it("background keeps a given signal", () => {
    const ac = new AbortController();
    const ctx = background(ac.signal);
    ac.abort();
    expect(ctx.signal.aborted).toBe(true);
  });

  it("with… helpers return new frozen contexts and leave the original alone", () => {
    const root = background();
    const ns = withNamespace(root, "a");
    const leased = withLease(ns, "l1");
    const ac = new AbortController();
    const signalled = withSignal(leased, ac.signal);

    expect(root.namespace).toBeUndefined();
    expect(ns).not.toBe(root);
    expect(ns.namespace).toBe("a");
    expect(ns.leaseId).toBeUndefined();
    expect(leased).toMatchObject({ namespace: "a", leaseId: "l1" });
    expect(signalled).toMatchObject({ namespace: "a", leaseId: "l1" });
    expect(signalled.signal).toBe(ac.signal);
    expect(leased.signal).toBe(root.signal);
    expect(withNamespace(ns, "b").namespace).toBe("b");
    expect(ns.namespace).toBe("a");

    for (const c of [root, ns, leased, signalled]) {
      expect(Object.isFrozen(c)).toBe(true);
      expect(() => {
        (c as { namespace?: string }).namespace = "mutated";
      }).toThrow(TypeError);
    }
  });

  it("withLease(undefined) removes the lease; an empty lease ID is kept", () => {
    const leased = withLease(withNamespace(background(), "a"), "l1");
    const cleared = withLease(leased, undefined);
    expect("leaseId" in cleared).toBe(false);
    expect(cleared.namespace).toBe("a");
    expect(leased.leaseId).toBe("l1");
    expect(withLease(cleared, "").leaseId).toBe("");
  });
});

describe("namespaceRequired", () => {
  it("returns a valid namespace", () => {
    expect(namespaceRequired(withNamespace(background(), "default"))).toBe("default");
    expect(namespaceRequired(withNamespace(background(), "k8s.io"))).toBe("k8s.io");
  });

  it("fails with FailedPrecondition when the namespace is missing or empty", () => {
    for (const ctx of [background(), withNamespace(background(), "")]) {
      const err = thrown(() => namespaceRequired(ctx));
      expect(isFailedPrecondition(err)).toBe(true);
      expect(err.message).toBe("namespace is required: failed precondition");
    }
  });

  it("fails with InvalidArgument for an invalid name, worded like containerd", () => {
    const err = thrown(() => namespaceRequired(withNamespace(background(), "bad/ns")));
    expect(isInvalidArgument(err)).toBe(true);
    expect(err.message).toBe(
      'namespace validation: identifier "bad/ns" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument',
    );
    const long = thrown(() => namespaceRequired(withNamespace(background(), "a".repeat(77))));
    expect(long.message).toBe(
      `namespace validation: identifier "${"a".repeat(77)}" greater than maximum length (76 characters): invalid argument`,
    );
  });
});
