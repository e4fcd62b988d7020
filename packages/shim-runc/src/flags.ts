/**
 * The shim's command line, parsed with the rules of Go's `flag` package (what containerd's shims use):
 * flags come before the first positional argument, each written `-name`, `--name`, `-name=value` or
 * `-name value`; boolean flags take no separate value; `--` ends the flags. The first positional
 * argument is the action (`start`, `delete`, or none to serve).
 */
import { InvalidArgumentError } from "@containerts/errdefs";

/** The parsed command line. */
export interface ShimFlags {
  /** `-namespace`: the namespace that owns the shim. */
  readonly namespace: string;
  /** `-id`: the task id (or the id the shim was started for). */
  readonly id: string;
  /** `-address`: the daemon's gRPC address. */
  readonly address: string;
  /** `-publish-binary`: the daemon binary (for `publish`); unused by this shim, which forwards over ttrpc. */
  readonly publishBinary: string;
  /** `-bundle`: the bundle path when it is not the working directory. */
  readonly bundle: string;
  /** `-socket`: serve on this socket path instead of the inherited fd 3. */
  readonly socket: string;
  /** `-debug`: debug logging. */
  readonly debug: boolean;
  /** `-v`: print the version and exit. */
  readonly version: boolean;
  /** `start`, `delete`, or "" to serve. */
  readonly action: string;
  /** Positional arguments after the action. */
  readonly args: readonly string[];
}

const STRING_FLAGS = {
  namespace: "namespace",
  id: "id",
  address: "address",
  "publish-binary": "publishBinary",
  bundle: "bundle",
  socket: "socket",
} as const;
const BOOL_FLAGS = { debug: "debug", v: "version" } as const;

/**
 * Parses the shim's arguments (without the program name).
 * Throws InvalidArgumentError for an unknown flag, a missing value or a malformed boolean.
 */
export function parseFlags(argv: readonly string[]): ShimFlags {
  const out: { -readonly [K in keyof ShimFlags]: ShimFlags[K] } = {
    namespace: "",
    id: "",
    address: "",
    publishBinary: "containerd",
    bundle: "",
    socket: "",
    debug: false,
    version: false,
    action: "",
    args: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) throw new InvalidArgumentError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (Object.hasOwn(BOOL_FLAGS, name)) {
      const key = BOOL_FLAGS[name as keyof typeof BOOL_FLAGS];
      out[key] = inline === undefined ? true : parseBool(name, inline);
      continue;
    }
    if (Object.hasOwn(STRING_FLAGS, name)) {
      const key = STRING_FLAGS[name as keyof typeof STRING_FLAGS];
      if (inline !== undefined) {
        out[key] = inline;
      } else {
        const value = argv[i + 1];
        if (value === undefined) throw new InvalidArgumentError(`flag needs an argument: -${name}`);
        out[key] = value;
        i++;
      }
      continue;
    }
    throw new InvalidArgumentError(`flag provided but not defined: -${name}`);
  }
  const rest = argv.slice(i);
  out.action = rest[0] ?? "";
  out.args = rest.slice(1);
  return out;
}

function parseBool(name: string, value: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new InvalidArgumentError(`invalid boolean value ${JSON.stringify(value)} for -${name}`);
}
