/**
 * containerd's identifier rules (`identifiers/validate.go`): the names of namespaces, containers, tasks,
 * execs and event topic components.
 */
import { InvalidArgumentError } from "@containerts/errdefs";
import { goQuote } from "./internal/go-quote.js";
import { utf8Length } from "./internal/utf8.js";

/** The longest identifier containerd accepts, in bytes. */
export const MAX_IDENTIFIER_LENGTH = 76;

/** The pattern every identifier must match: alphanumeric runs joined by single `.`, `_` or `-`. */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;

/**
 * Checks that `s` is a valid containerd identifier: 1 to 76 bytes matching {@link IDENTIFIER_PATTERN}.
 * Such identifiers are safe to use as file system path components.
 *
 * @throws InvalidArgumentError with containerd's wording: `identifier must not be empty`,
 *   `identifier "…" greater than maximum length (76 characters)` or `identifier "…" must match ^…$`.
 */
export function validateIdentifier(s: string): void {
  if (s.length === 0) {
    throw new InvalidArgumentError("identifier must not be empty");
  }
  if (utf8Length(s) > MAX_IDENTIFIER_LENGTH) {
    throw new InvalidArgumentError(
      `identifier ${goQuote(s)} greater than maximum length (${MAX_IDENTIFIER_LENGTH} characters)`,
    );
  }
  if (!IDENTIFIER_PATTERN.test(s)) {
    throw new InvalidArgumentError(`identifier ${goQuote(s)} must match ${IDENTIFIER_PATTERN.source}`);
  }
}
