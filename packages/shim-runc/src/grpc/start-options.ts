/** Decoding of what the daemon writes on `start`'s stdin: the task options as a protobuf `Any`. */
import { Any } from "@containerts/api/protobuf";
import { Options } from "@containerts/api/runc/options";
import { RuncTypeUrl } from "@containerts/api/typeurl";

/**
 * The `shim_cgroup` of the `containerd.runc.v1.Options` in the bytes of an `Any` ("" when the bytes are
 * empty or hold another type). Throws the decoder's error for malformed bytes.
 */
export function shimCgroupFromStdin(data: Uint8Array): string {
  if (data.length === 0) return "";
  const any = Any.decode(data);
  if (any.typeUrl !== RuncTypeUrl.Options) return "";
  return Options.decode(any.value).shimCgroup;
}
