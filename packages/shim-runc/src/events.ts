/**
 * The task events a shim publishes (containerd's `/tasks/*` topics), as domain values. The publisher in
 * `grpc/publisher.ts` turns them into `containerd.events.*` messages and forwards them, in order, to the
 * daemon.
 */

/** A rootfs mount (`containerd.types.Mount`). */
export interface Mount {
  readonly type: string;
  readonly source: string;
  readonly target: string;
  readonly options: readonly string[];
}

/** One task event. `exitedAt` is the reap time. */
export type TaskEvent =
  | {
      readonly topic: "/tasks/create";
      readonly containerId: string;
      readonly bundle: string;
      readonly rootfs: readonly Mount[];
      readonly io: { readonly stdin: string; readonly stdout: string; readonly stderr: string; readonly terminal: boolean };
      readonly checkpoint: string;
      readonly pid: number;
    }
  | { readonly topic: "/tasks/start"; readonly containerId: string; readonly pid: number }
  | {
      readonly topic: "/tasks/exit";
      readonly containerId: string;
      /** The container id for the init process, the exec id for an exec. */
      readonly id: string;
      readonly pid: number;
      readonly exitStatus: number;
      readonly exitedAt: Date;
    }
  | {
      readonly topic: "/tasks/delete";
      readonly containerId: string;
      readonly pid: number;
      readonly exitStatus: number;
      readonly exitedAt: Date | undefined;
    }
  | { readonly topic: "/tasks/exec-added"; readonly containerId: string; readonly execId: string }
  | { readonly topic: "/tasks/exec-started"; readonly containerId: string; readonly execId: string; readonly pid: number }
  | { readonly topic: "/tasks/paused"; readonly containerId: string }
  | { readonly topic: "/tasks/resumed"; readonly containerId: string }
  | { readonly topic: "/tasks/oom"; readonly containerId: string };

/** Where the service sends its events. `publish` queues and never throws. */
export interface EventSink {
  publish(event: TaskEvent): void;
}

/** Serializes async critical sections (one at a time, in call order). */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every earlier section has settled; resolves or rejects with its result. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}
