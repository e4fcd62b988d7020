/**
 * The diff service over gRPC (`containerd.services.diff.v1.Diff`), for clients.
 * @module
 */
import { DiffClient } from "@containerts/api/services/diff/v1";
import type { Descriptor } from "@containerts/content";
import { UnknownError } from "@containerts/errdefs";
import type { Context } from "@containerts/namespaces";
import { callUnary } from "@containerts/namespaces/grpc";
import type { ProxyTarget } from "@containerts/namespaces/proxy";
import type { Mount } from "@containerts/snapshots";
import type { ApplyOptions, CompareOptions, DiffService } from "../diff.js";
import { descriptorFromProto, descriptorToProto, mountToProto, payloadsToProto } from "../grpc/convert.js";

/** {@link DiffService} implemented over a daemon's Diff service (containerd's or containertsd's). */
export class ProxyDiffService implements DiffService {
  readonly #c: DiffClient;

  constructor(target: ProxyTarget) {
    this.#c = new DiffClient(target.address, target.credentials, target.options);
  }

  async apply(ctx: Context, desc: Descriptor, mounts: readonly Mount[], options: ApplyOptions = {}): Promise<Descriptor> {
    const res = await callUnary(
      this.#c.apply.bind(this.#c),
      { diff: descriptorToProto(desc), mounts: mounts.map(mountToProto), payloads: payloadsToProto(options.payloads ?? {}) },
      ctx,
    );
    if (res.applied === undefined) throw new UnknownError("apply response without a descriptor", { bare: true });
    return descriptorFromProto(res.applied);
  }

  async compare(ctx: Context, lower: readonly Mount[], upper: readonly Mount[], options: CompareOptions = {}): Promise<Descriptor> {
    const res = await callUnary(
      this.#c.diff.bind(this.#c),
      {
        left: lower.map(mountToProto),
        right: upper.map(mountToProto),
        mediaType: options.mediaType ?? "",
        ref: options.ref ?? "",
        labels: { ...options.labels },
      },
      ctx,
    );
    if (res.diff === undefined) throw new UnknownError("diff response without a descriptor", { bare: true });
    return descriptorFromProto(res.diff);
  }

  /** Closes the client (a shared channel stays open). */
  close(): void {
    this.#c.close();
  }
}
