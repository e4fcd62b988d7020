/**
 * The protobuf bytes `delete` prints (`containerd.task.v2.DeleteResponse`), and the note a server leaves
 * in a bundle after a clean Delete: `.tsrunc-deleted` holds those bytes, so that the `delete` action
 * containerd runs once the shim disconnects can print them without starting Node (the launcher script
 * does so) and without work that was done already.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DeleteResponse } from "@containerts/api/runtime/task/v2";
import { toTimestamp } from "@containerts/api/typeurl";

/** The name of the note in the bundle (read by `bin/containerd-shim-tsrunc-v1`). */
export const DELETED_NOTE = ".tsrunc-deleted";

/** An exit to report. */
export interface DeleteExit {
  readonly pid: number;
  readonly exitStatus: number;
  readonly exitedAt: Date | undefined;
}

/** Encodes an exit as `containerd.task.v2.DeleteResponse`. */
export function encodeDeleteResponse(r: DeleteExit): Uint8Array {
  return DeleteResponse.encode({ pid: r.pid, exitStatus: r.exitStatus, exitedAt: r.exitedAt === undefined ? undefined : toTimestamp(r.exitedAt) }).finish();
}

/** Writes the note for a bundle whose container was deleted cleanly. */
export async function writeDeletedNote(bundle: string, r: DeleteExit): Promise<void> {
  await writeFile(join(bundle, DELETED_NOTE), encodeDeleteResponse(r), { mode: 0o600 });
}
