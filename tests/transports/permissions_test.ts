import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  assertLeastPrivilege,
  checkPermissions,
  describeProblems,
  PermissionCheckError,
  type PermissionNeeds,
  type PermissionQuery,
} from "../../transports/permissions.ts";

type Grant = { name: string; target?: string };

/** A permission query with Deno's semantics over a list of grants (no target = everything). */
function grants(...list: Grant[]): PermissionQuery {
  return (d) => {
    const desc = d as {
      name: string;
      host?: string;
      path?: string;
      command?: string;
      variable?: string;
      kind?: string;
    };
    const target = desc.host ?? desc.path ?? desc.command ?? desc.variable ?? desc.kind;
    for (const g of list) {
      if (g.name !== desc.name) continue;
      if (g.target === undefined) return "granted";
      if (target === undefined) continue;
      if (desc.name === "read" || desc.name === "write" || desc.name === "ffi") {
        if (target === g.target || g.target === "/" || target.startsWith(g.target + "/")) {
          return "granted";
        }
      } else if (desc.name === "net") {
        if (target === g.target || (!g.target.includes(":") && target.startsWith(g.target + ":"))) {
          return "granted";
        }
      } else if (target === g.target) return "granted";
    }
    return "prompt";
  };
}

const NEEDS: PermissionNeeds = {
  net: ["127.0.0.1:9735"],
  read: ["/srv/warden/data", "/etc/warden/site.policy", "/opt/warden/rules/default.policy"],
  readAllowed: ["/etc/warden", "/opt/warden/rules", "/opt/warden"],
  write: ["/srv/warden/data"],
};
const LEAST: Grant[] = [
  { name: "net", target: "127.0.0.1:9735" },
  { name: "read", target: "/srv/warden/data" },
  { name: "read", target: "/etc/warden" },
  { name: "read", target: "/opt/warden/rules" },
  { name: "write", target: "/srv/warden/data" },
];

Deno.test("permissions: the least-privilege grants pass", () => {
  deepStrictEqual(checkPermissions(NEEDS, { query: grants(...LEAST) }), []);
  // Granting the program's whole directory is tolerated too.
  deepStrictEqual(
    checkPermissions(NEEDS, { query: grants(...LEAST, { name: "read", target: "/opt/warden" }) }),
    [],
  );
  assertLeastPrivilege(NEEDS, { query: grants(...LEAST) });
});

Deno.test("permissions: -A is refused, naming every kind", () => {
  const all = ["net", "read", "write", "run", "env", "sys", "ffi", "import"];
  const problems = checkPermissions(NEEDS, { query: grants(...all.map((name) => ({ name }))) });
  deepStrictEqual(
    problems.filter((p) => p.target === "all").map((p) => p.name),
    all,
  );
  ok(problems.every((p) => p.kind === "excess"));
  ok(
    describeProblems(problems).startsWith(
      "refusing to run with permissions it does not need: --allow-net (everything), " +
        "--allow-read (everything), --allow-write (everything), --allow-run (everything), " +
        "--allow-env (everything), --allow-sys (everything), --allow-ffi (everything), " +
        "--allow-import (everything)",
    ),
  );
});

Deno.test("permissions: each kind of excess grant is found", () => {
  const cases: [Grant, string][] = [
    [{ name: "net" }, "--allow-net (everything)"],
    [{ name: "net", target: "127.0.0.1" }, "--allow-net=127.0.0.1"],
    [{ name: "net", target: "127.0.0.1:9734" }, "--allow-net=127.0.0.1:9734"],
    [{ name: "net", target: "example.com:443" }, "--allow-net=example.com:443"],
    [{ name: "write", target: "/" }, "--allow-write=/"],
    [{ name: "write", target: "/srv/warden" }, "--allow-write=/srv/warden"],
    [{ name: "read", target: "/etc" }, "--allow-read=/etc"],
    [{ name: "read", target: "/home" }, "--allow-read=/home"],
    [{ name: "run", target: "stty" }, "--allow-run=stty"],
    [{ name: "run", target: "sh" }, "--allow-run=sh"],
    [{ name: "env", target: "HOME" }, "--allow-env=HOME"],
    [{ name: "sys", target: "hostname" }, "--allow-sys=hostname"],
    [{ name: "ffi", target: "/" }, "--allow-ffi=/"],
    // Any other port of the dialed host, private and metadata addresses, sensitive files.
    [{ name: "net", target: "127.0.0.1:7702" }, "--allow-net=127.0.0.1:7702"],
    [{ name: "net", target: "127.0.0.1:22" }, "--allow-net=127.0.0.1:22"],
    [{ name: "net", target: "169.254.169.254:80" }, "--allow-net=169.254.169.254:80"],
    [{ name: "net", target: "10.0.0.1" }, "--allow-net=10.0.0.1"],
    [{ name: "read", target: "/etc/passwd" }, "--allow-read=/etc/passwd"],
    [{ name: "read", target: "/root/.ssh" }, "--allow-read=/root/.ssh"],
    // Write access to what it only reads: its policy, the rules it includes, the program.
    [{ name: "write", target: "/etc/warden" }, "--allow-write=/etc/warden"],
    [{ name: "write", target: "/etc/warden/site.policy" }, "--allow-write=/etc/warden/site.policy"],
    [{ name: "write", target: "/opt/warden/rules" }, "--allow-write=/opt/warden/rules"],
    [{ name: "write", target: "/opt/warden" }, "--allow-write=/opt/warden"],
  ];
  for (const [extra, text] of cases) {
    const problems = checkPermissions(NEEDS, { query: grants(...LEAST, extra) });
    strictEqual(
      describeProblems(problems),
      `refusing to run with permissions it does not need: ${text}`,
      JSON.stringify(extra),
    );
  }
});

Deno.test("permissions: stty may run only when asked for; missing grants are named", () => {
  const withStty = { ...NEEDS, run: ["stty"] };
  deepStrictEqual(
    checkPermissions(withStty, { query: grants(...LEAST, { name: "run", target: "stty" }) }),
    [],
  );
  const missing = checkPermissions(withStty, {
    query: grants(...LEAST.filter((g) => g.name !== "write")),
  });
  strictEqual(
    describeProblems(missing),
    "missing permissions it needs: --allow-write=/srv/warden/data, --allow-run=stty",
  );
  throws(
    () => assertLeastPrivilege(withStty, { query: grants(...LEAST) }),
    (e: unknown) => e instanceof PermissionCheckError && e.problems.length === 1,
  );
  // Serial: no net at all.
  const serial: PermissionNeeds = {
    read: ["/srv/warden/data", "/dev/ttyUSB0"],
    write: ["/srv/warden/data", "/dev/ttyUSB0"],
  };
  const serialGrants: Grant[] = [
    { name: "read", target: "/srv/warden/data" },
    { name: "read", target: "/dev/ttyUSB0" },
    { name: "write", target: "/srv/warden/data" },
    { name: "write", target: "/dev/ttyUSB0" },
  ];
  deepStrictEqual(checkPermissions(serial, { query: grants(...serialGrants) }), []);
  strictEqual(
    describeProblems(
      checkPermissions(serial, {
        query: grants(...serialGrants, { name: "net", target: "127.0.0.1:9735" }),
      }),
    ),
    "refusing to run with permissions it does not need: --allow-net=127.0.0.1:9735",
  );
});
