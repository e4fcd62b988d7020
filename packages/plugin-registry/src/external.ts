import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError, NotFoundError, normalize, errorOfKind } from "@containerts/errdefs";
import type { AnyRegistration } from "./registration.js";

/** Imports a module by specifier; the daemon passes `(s) => import(s)` so names resolve from the daemon. */
export type PluginImporter = (specifier: string) => Promise<unknown>;

/**
 * The default importer: an absolute path is imported as a file URL, anything else with `import()` from
 * this package's location (which finds packages installed beside it, as in a flat `node_modules`).
 */
function defaultImporter(specifier: string): Promise<unknown> {
  return import(isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier);
}

const notFoundCodes = new Set(["ERR_MODULE_NOT_FOUND", "MODULE_NOT_FOUND", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);

function isModuleNotFound(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && notFoundCodes.has(code);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function checkRegistration(pkg: string, where: string, r: unknown): AnyRegistration {
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    throw new InvalidArgumentError(`external plugin package "${pkg}": ${where} is ${describe(r)}, not a registration`);
  }
  const o = r as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof o.type !== "string" || o.type === "") problems.push("no type");
  if (typeof o.id !== "string" || o.id === "") problems.push("no id");
  if (typeof o.init !== "function") problems.push("no init function");
  if (o.requires !== undefined && !(Array.isArray(o.requires) && o.requires.every((t) => typeof t === "string"))) {
    problems.push("requires is not an array of plugin types");
  }
  if (o.config !== undefined && (typeof o.config !== "object" || o.config === null || Array.isArray(o.config))) {
    problems.push("config is not an object");
  }
  if (problems.length > 0) {
    throw new InvalidArgumentError(`external plugin package "${pkg}": ${where}: ${problems.join(", ")}`);
  }
  return r as AnyRegistration;
}

/**
 * Loads plugin registrations from npm packages named in the daemon config, in the given order.
 *
 * Each package is imported with `importer`; it must export `plugins`, an array of registrations, or
 * have a default export that is such an array. The registrations are returned in package order, to be
 * added to the daemon's {@link Registry} (which then rejects duplicate URIs).
 *
 * @param specifiers - package names (or absolute paths of modules).
 * @param importer - imports one specifier; pass `(s) => import(s)` from the daemon so that names resolve
 *   from the daemon's own location. By default an absolute path is imported as a file URL and a name
 *   with `import()` from this package.
 * @throws NotFoundError when a package cannot be found; the package's own error kind (with the package
 *   named as context) when importing it fails; InvalidArgumentError when it exports no usable `plugins`
 *   array or an entry is not a registration. Every message names the package and the reason.
 */
export async function loadExternalPlugins(
  specifiers: readonly string[],
  importer: PluginImporter = defaultImporter,
): Promise<AnyRegistration[]> {
  const out: AnyRegistration[] = [];
  for (const pkg of specifiers) {
    let mod: unknown;
    try {
      mod = await importer(pkg);
    } catch (err) {
      const e = normalize(err);
      if (isModuleNotFound(err)) {
        throw new NotFoundError(`external plugin package "${pkg}" (cannot be loaded: ${e.message})`, { cause: err });
      }
      throw errorOfKind(e.kind, `external plugin package "${pkg}": cannot be loaded: ${e.message}`, {
        cause: err,
        bare: true,
      });
    }
    const exports = (typeof mod === "object" || typeof mod === "function") && mod !== null
      ? (mod as { plugins?: unknown; default?: unknown })
      : {};
    let list: unknown;
    let where: string;
    if (exports.plugins !== undefined) {
      list = exports.plugins;
      where = "plugins";
    } else if (Array.isArray(exports.default)) {
      list = exports.default;
      where = "default export";
    } else {
      throw new InvalidArgumentError(
        `external plugin package "${pkg}": exports no plugins (expected an export "plugins" or a default export that is an array of registrations)`,
      );
    }
    if (!Array.isArray(list)) {
      throw new InvalidArgumentError(`external plugin package "${pkg}": export "plugins" is ${describe(list)}, not an array`);
    }
    if (list.length === 0) {
      throw new InvalidArgumentError(`external plugin package "${pkg}": ${where} is an empty array`);
    }
    list.forEach((r, i) => out.push(checkRegistration(pkg, `${where}[${i}]`, r)));
  }
  return out;
}
