/**
 * Protocol constants and the guard for a lost connection.
 */
import { isUnavailable } from "@containerts/errdefs";
import { MESSAGE_LENGTH_MAX } from "./internal/frame.js";
import { CLOSED_MESSAGE } from "./internal/status.js";

/** Largest message (frame payload) a ttrpc peer accepts: 4 MiB, ttrpc's `messageLengthMax`. */
export const TTRPC_MESSAGE_LENGTH_MAX: number = MESSAGE_LENGTH_MAX;

/** The text of ttrpc's `ErrClosed`, contained in the message of every error for a lost connection. */
export const TTRPC_CLOSED_MESSAGE: string = CLOSED_MESSAGE;

/**
 * The request metadata key that carries the containerd namespace on ttrpc calls
 * (`namespaces/ttrpc.go`). The 1.6 daemon does not send it to shims; shims use their `-namespace` flag.
 */
export const TTRPC_NAMESPACE_KEY = "containerd-namespace-ttrpc";

/**
 * True for the error a {@link TtrpcClient} fails calls with once its connection is gone (the
 * counterpart of Go's `errors.Is(err, ttrpc.ErrClosed)`): an Unavailable error mentioning `ttrpc: closed`.
 */
export function isTtrpcClosed(err: unknown): boolean {
  return isUnavailable(err) && err.message.includes(CLOSED_MESSAGE);
}
