/**
 * The start-up permission self-check of the locked-down signer (DESIGN.md principle 6): before it
 * reads its seed, `mod.ts run` asks Deno which permissions it holds
 * (`Deno.permissions.querySync`) and refuses to run when it holds one it does not need, or lacks
 * one it needs.
 *
 * What the signer needs:
 * - **net**: the one `host:port` it dials (`--connect`); nothing for `--serial`;
 * - **read**: the data directory, the policy file and every file it includes, the recording file,
 *   the serial device; reading the directory of a policy file, and the program's own directory, is
 *   tolerated (module files themselves are loaded by Deno without `--allow-read`);
 * - **write**: the data directory (state.sqlite and its journal, audit.log), the recording file,
 *   the serial device;
 * - **run**: nothing, or `stty` alone with `--stty`;
 * - **env**, **sys**, **ffi**: nothing (the signer reads no environment variable; Deno itself reads
 *   `DENO_DIR`, `NO_COLOR`, `DENO_CERT`... without a permission).
 *
 * Deno has no API to list what was granted, so "more than needed" is found by probing: a grant of
 * everything (`-A`, `--allow-net`, `--allow-read` without a list...), then targets that must not
 * be granted: every other port (1 to 65535) of each dialed host, common addresses, private ranges,
 * the cloud metadata address and public hosts; `/`, the usual system directories and sensitive
 * files (`/etc/passwd`, `/etc/shadow`, `/root/.ssh`...), every ancestor of each needed path; for
 * write, also every path it only reads (the policy, its includes and directory, the program's
 * directory: a signer able to rewrite its own policy is not locked down); common environment
 * variables and commands; every `sys` kind. A probe counts as excess only when it is not inside an
 * allowed path (Deno grants a path and everything under it). A grant of an unrelated host or of a
 * path outside every probe can still escape: the check catches every broad grant and the usual
 * mistakes, not every possible one.
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";

/** What a process needs (see the module documentation). */
export interface PermissionNeeds {
  /** `host:port` targets it dials, as `--allow-net` spells them. */
  net?: string[];
  /** Paths it reads (must be granted). */
  read?: string[];
  /** Paths it writes (must be granted). */
  write?: string[];
  /** Commands it runs (must be granted). */
  run?: string[];
  /** Further paths it may be allowed to read (granting them is not an excess). */
  readAllowed?: string[];
}

/** One problem found. */
export interface PermissionProblem {
  /** `excess`: granted but not needed; `missing`: needed but not granted. */
  kind: "excess" | "missing";
  /** The permission name (`net`, `read`, `write`, `run`, `env`, `sys`, `ffi`, `import`). */
  name: string;
  /** What: `all`, a path, a host, a command, a variable or a sys kind. */
  target: string;
}

/** The process holds too much or too little. */
export class PermissionCheckError extends Error {
  /** Every problem found. */
  readonly problems: PermissionProblem[];

  /**
   * Creates the error (its message lists the problems on one line).
   * @param problems what is wrong
   */
  constructor(problems: PermissionProblem[]) {
    super(describeProblems(problems));
    this.name = "PermissionCheckError";
    this.problems = problems;
  }
}

const FLAG: Record<string, string> = {
  net: "--allow-net",
  read: "--allow-read",
  write: "--allow-write",
  run: "--allow-run",
  env: "--allow-env",
  sys: "--allow-sys",
  ffi: "--allow-ffi",
  import: "--allow-import",
};

/** One line describing the problems (excess first). */
export function describeProblems(problems: readonly PermissionProblem[]): string {
  const part = (kind: "excess" | "missing") => {
    const byName = new Map<string, string[]>();
    for (const p of problems.filter((p) => p.kind === kind)) {
      const list = byName.get(p.name) ?? [];
      if (!list.includes(p.target)) list.push(p.target);
      byName.set(p.name, list);
    }
    return [...byName].map(([name, targets]) =>
      targets.includes("all")
        ? `${FLAG[name] ?? name} (everything)`
        : `${FLAG[name] ?? name}=${targets.slice(0, 4).join(",")}${
          targets.length > 4 ? ",..." : ""
        }`
    ).join(", ");
  };
  const excess = part("excess");
  const missing = part("missing");
  const out: string[] = [];
  if (excess) out.push(`refusing to run with permissions it does not need: ${excess}`);
  if (missing) out.push(`missing permissions it needs: ${missing}`);
  return out.join("; ");
}

/** Addresses and hosts probed for net grants (bare = any port, and with common ports). */
export const NET_PROBE_HOSTS: readonly string[] = [
  "0.0.0.0",
  "127.0.0.1",
  "localhost",
  "[::1]",
  "[::]",
  "1.1.1.1",
  "8.8.8.8",
  "example.com",
  "deno.land",
  "jsr.io",
  "registry.npmjs.org",
  "github.com",
  "10.0.0.1",
  "172.16.0.1",
  "192.168.0.1",
  "192.168.1.1",
  "169.254.169.254",
];

/** Ports probed on each of {@link NET_PROBE_HOSTS} (web, Lightning, VLS's gRPC proxy, ...). */
export const NET_PROBE_PORTS: readonly string[] = ["80", "443", "8080", "9735", "9736", "7701"];

/** Directories probed for read and write grants. */
export const PATH_PROBES: readonly string[] = [
  "/",
  "/etc",
  "/root",
  "/home",
  "/tmp",
  "/var",
  "/usr",
  "/opt",
  "/srv",
  "/mnt",
  "/proc",
  "/sys",
  "/dev",
  "/run",
  "/etc/passwd",
  "/etc/shadow",
  "/etc/hosts",
  "/etc/ssh",
  "/root/.ssh",
  "/proc/self/environ",
];

/** Environment variables probed (the signer reads none). */
export const ENV_PROBES: readonly string[] = [
  "HOME",
  "PATH",
  "USER",
  "SHELL",
  "PWD",
  "LANG",
  "TERM",
  "SSH_AUTH_SOCK",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "GITHUB_TOKEN",
  "NPM_TOKEN",
  "DATABASE_URL",
  "DENO_DIR",
  "DENO_AUTH_TOKENS",
];

/** Commands probed (the signer runs none, or `stty` only). */
export const RUN_PROBES: readonly string[] = [
  "sh",
  "bash",
  "/bin/sh",
  "/bin/bash",
  "env",
  "curl",
  "wget",
  "nc",
  "python3",
  "deno",
  "stty",
  "socat",
];

/** Every `sys` kind (the signer needs none). */
export const SYS_KINDS: readonly string[] = [
  "loadavg",
  "hostname",
  "systemMemoryInfo",
  "networkInterfaces",
  "osRelease",
  "osUptime",
  "uid",
  "gid",
  "username",
  "cpus",
  "homedir",
  "statfs",
  "getPriority",
  "setPriority",
  "userInfo",
];

/** Queries one descriptor (default `Deno.permissions.querySync`). */
export type PermissionQuery = (descriptor: Deno.PermissionDescriptor) => Deno.PermissionState;

const denoQuery: PermissionQuery = (d) => Deno.permissions.querySync(d).state;

function absolute(path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(Deno.cwd(), path);
}

function inside(path: string, root: string): boolean {
  return path === root || root === "/" || path.startsWith(root.endsWith("/") ? root : root + "/");
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  let p = dirname(path);
  while (true) {
    out.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return out;
}

function splitHostPort(target: string): { host: string; port: string } {
  const i = target.lastIndexOf(":");
  if (i <= 0 || target.endsWith("]")) return { host: target, port: "" };
  return { host: target.slice(0, i), port: target.slice(i + 1) };
}

/**
 * Checks the process's permissions against `needs` (see the module documentation).
 * @param needs what the process needs and may read
 * @param options `query`: the permission query (tests replace it)
 * @returns the problems found, excess and missing (empty when the grants are right)
 */
export function checkPermissions(
  needs: PermissionNeeds,
  options: { query?: PermissionQuery } = {},
): PermissionProblem[] {
  const query = options.query ?? denoQuery;
  const problems: PermissionProblem[] = [];
  const granted = (d: Deno.PermissionDescriptor) => {
    try {
      return query(d) === "granted";
    } catch {
      return false; // an unknown descriptor in this Deno version
    }
  };
  const excess = (name: string, target: string) => {
    if (!problems.some((p) => p.kind === "excess" && p.name === name && p.target === target)) {
      problems.push({ kind: "excess", name, target });
    }
  };
  const missing = (name: string, target: string) =>
    problems.push({ kind: "missing", name, target });

  // Everything of a kind (-A, or a flag without a list).
  for (const name of ["net", "read", "write", "run", "env", "sys", "ffi", "import"] as const) {
    if (granted({ name } as Deno.PermissionDescriptor)) excess(name, "all");
  }

  // net: exactly the targets.
  const net = needs.net ?? [];
  for (const target of net) {
    if (!granted({ name: "net", host: target })) missing("net", target);
  }
  const ports = new Set([
    ...NET_PROBE_PORTS,
    ...net.map((t) => splitHostPort(t).port).filter((p) => p),
  ]);
  const hosts = new Map<string, Set<string>>(); // host -> ports to probe
  for (const target of net) {
    const { host, port } = splitHostPort(target);
    const set = hosts.get(host) ?? new Set<string>();
    if (port !== "") set.add(String(port === "1" ? 2 : Number(port) - 1));
    hosts.set(host, set);
  }
  for (const host of NET_PROBE_HOSTS) {
    const set = hosts.get(host) ?? new Set<string>();
    for (const port of ports) set.add(port);
    hosts.set(host, set);
  }
  // Every other port of each dialed host (a few hundred milliseconds for 65,535 queries).
  for (const host of new Set(net.map((t) => splitHostPort(t).host))) {
    const set = hosts.get(host) ?? new Set<string>();
    for (let port = 1; port <= 65_535; port++) set.add(String(port));
    hosts.set(host, set);
  }
  for (const [host, hostPorts] of hosts) {
    if (!net.includes(host) && granted({ name: "net", host })) {
      excess("net", host); // every port of it: no need to list them
      continue;
    }
    for (const port of hostPorts) {
      const probe = `${host}:${port}`;
      if (!net.includes(probe) && granted({ name: "net", host: probe })) excess("net", probe);
    }
  }

  // read and write: the needed paths, nothing outside the allowed ones.
  const readNeeded = (needs.read ?? []).map(absolute);
  const writeNeeded = (needs.write ?? []).map(absolute);
  const readAllowed = [...readNeeded, ...(needs.readAllowed ?? []).map(absolute)];
  const check = (
    name: "read" | "write",
    need: string[],
    allowed: string[],
    extraProbes: string[] = [],
  ) => {
    for (const p of need) if (!granted({ name, path: p })) missing(name, p);
    const probes = new Set<string>([...PATH_PROBES, ...extraProbes]);
    for (const p of allowed) for (const a of ancestors(p)) probes.add(a);
    const found: string[] = [];
    // Shortest first: a granted directory is reported, not everything under it.
    for (const probe of [...probes].sort((a, b) => a.length - b.length || (a < b ? -1 : 1))) {
      if (allowed.some((root) => inside(probe, root))) continue;
      if (found.some((root) => inside(probe, root))) continue;
      if (granted({ name, path: probe })) {
        found.push(probe);
        excess(name, probe);
      }
    }
  };
  check("read", readNeeded, readAllowed);
  // Writing what it only reads (its policy, the program) is excess too.
  check("write", writeNeeded, writeNeeded, readAllowed);

  // run: only the needed commands.
  const run = needs.run ?? [];
  for (const command of run) if (!granted({ name: "run", command })) missing("run", command);
  for (const command of RUN_PROBES) {
    if (!run.includes(command) && granted({ name: "run", command })) excess("run", command);
  }

  // env, sys, ffi: nothing.
  for (const variable of ENV_PROBES) {
    if (granted({ name: "env", variable })) excess("env", variable);
  }
  for (const kind of SYS_KINDS) {
    if (granted({ name: "sys", kind } as Deno.PermissionDescriptor)) excess("sys", kind);
  }
  for (const path of ["/", "/usr/lib", "/lib", "/usr/local/lib"]) {
    if (granted({ name: "ffi", path })) {
      excess("ffi", path);
      break; // the first (widest) one found is enough to refuse
    }
  }
  return problems;
}

/**
 * Throws {@link PermissionCheckError} unless the process holds exactly what `needs` describes
 * (as far as probing can tell).
 */
export function assertLeastPrivilege(
  needs: PermissionNeeds,
  options: { query?: PermissionQuery } = {},
): void {
  const problems = checkPermissions(needs, options);
  if (problems.length > 0) throw new PermissionCheckError(problems);
}
