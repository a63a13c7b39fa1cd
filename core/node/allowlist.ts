/**
 * The operator's allowlist (VLS `Allowable`, vls.md row 16): destinations the signer may pay on
 * chain without approval (sweeps, close outputs, funding change, withdrawals) and payees whose
 * invoices are approved automatically.
 *
 * Entry forms (as VLS, with an explicit range for extended keys):
 *
 * - `address:<address>`, or a bare `<address>`: that address's output script. The address must
 *   be for the signer's network (a mainnet address on regtest is refused).
 * - `xpub:<xpub>[/<chain>][@<first>-<last>]`: the P2WPKH, P2PKH and BIP-86 P2TR scripts of the
 *   keys `<xpub>/<chain>/i` for `first ≤ i ≤ last` (VLS matches the same three script forms, at a
 *   path a PSBT names; we have no path, hence the range). `<chain>` defaults to 0 (the external
 *   chain), the range to `0-999`; at most {@link MAX_XPUB_RANGE} keys per entry. The key must be
 *   a public extended key with the network's version bytes (`xpub` on mainnet, `tpub` on the test
 *   networks); a private one is refused, and never repeated in the error. The scripts are derived
 *   once and cached (about 2 ms per key with the pure-JavaScript backend, so 2 s for the default
 *   range): on the first lookup, or ahead of time by {@link Allowlist.warm}, which
 *   {@link AllowlistSource} calls whenever it loads a new version.
 * - `payee:<node id>`: a 33-byte node id in hex; invoices it signs are approved without asking
 *   the approver (VLS `allowlist_contains_payee`).
 *
 * Entries are canonicalised (`address:` + the address as {@link scriptToAddress} writes it,
 * `xpub:<base58>/<chain>@<first>-<last>` with the chain only when it is not 0,
 * `payee:<lower-case hex>`), so the same destination is never listed twice and removal matches
 * whatever spelling was used.
 *
 * Persistence: one document, {@link ALLOWLIST_KEY} (`node/allowlist`), `{version: 1, network,
 * entries}`, written with versioned puts ({@link updateAllowlist} re-reads and retries on a
 * conflict), so the command line can change it while the signer runs; the signer picks changes up
 * through {@link AllowlistSource.refresh}, which re-parses only when the stored version changed.
 *
 * @module
 */
import { z } from "zod";
import { fromHex, toHex } from "../bytes.ts";
import { isValidPublicKey } from "../crypto/mod.ts";
import { AddressError, addressToScript, scriptToAddress } from "../bitcoin/address.ts";
import { type Network, networkParams } from "../bitcoin/network.ts";
import { p2pkh, p2tr, p2wpkh } from "../bitcoin/script.ts";
import { Bip32Error, ExtendedPublicKey, HARDENED, parseExtendedKey } from "../keys/bip32.ts";
import { fromJson, toJson } from "../store/json.ts";
import { type Store, VersionConflictError } from "../store/types.ts";
import { bip86OutputKey } from "./wallet.ts";

/** The store key of the allowlist document. */
export const ALLOWLIST_KEY = "node/allowlist";

/** The range an `xpub:` entry without `@first-last` covers. */
export const DEFAULT_XPUB_RANGE = { first: 0, last: 999 } as const;

/** The most keys one `xpub:` entry may cover. */
export const MAX_XPUB_RANGE = 10_000;

/** An allowlist entry that cannot be parsed. The message never repeats the entry. */
export class AllowlistError extends Error {
  /**
   * Creates the error.
   * @param message what was wrong, in words
   */
  constructor(message: string) {
    super(message);
    this.name = "AllowlistError";
  }
}

/** A parsed allowlist entry. */
export type AllowlistEntry =
  | {
    /** An address. */
    kind: "address";
    /** The canonical text. */
    text: string;
    /** The output script it pays. */
    script: Uint8Array;
  }
  | {
    /** A range of keys of an extended public key. */
    kind: "xpub";
    /** The canonical text. */
    text: string;
    /** The extended key (at `<xpub>`; children `<chain>/i` are matched). */
    key: ExtendedPublicKey;
    /** The chain below the key (0 external, 1 change). */
    chain: number;
    /** The first child index. */
    first: number;
    /** The last child index (inclusive). */
    last: number;
  }
  | {
    /** A payee node id. */
    kind: "payee";
    /** The canonical text. */
    text: string;
    /** The node id (33 bytes). */
    nodeId: Uint8Array;
  };

function parseIndex(text: string, what: string): number {
  if (!/^[0-9]{1,10}$/.test(text)) throw new AllowlistError(`xpub entry: ${what} is not a number`);
  const n = Number(text);
  if (n >= HARDENED) throw new AllowlistError(`xpub entry: ${what} must be below 2^31`);
  return n;
}

function parseXpub(body: string, network: Network): AllowlistEntry {
  const m = /^([1-9A-HJ-NP-Za-km-z]+)(?:\/([0-9]+))?(?:@([0-9]+)-([0-9]+))?$/.exec(body);
  if (!m) {
    throw new AllowlistError(
      "xpub entry: expected xpub:<base58 key>[/<chain>][@<first>-<last>]",
    );
  }
  let parsed;
  try {
    parsed = parseExtendedKey(m[1]);
  } catch (e) {
    const reason = e instanceof Bip32Error ? e.message : "invalid";
    throw new AllowlistError(`xpub entry: not a valid extended key (${reason})`);
  }
  if (!(parsed.key instanceof ExtendedPublicKey)) {
    parsed.key.zeroize();
    throw new AllowlistError(
      "xpub entry: that is a PRIVATE extended key; never share it, allowlist its xpub instead",
    );
  }
  const versions = networkParams(network).bip32;
  if (parsed.versions.public !== versions.public) {
    throw new AllowlistError(`xpub entry: the extended key is not for ${network}`);
  }
  const chain = m[2] === undefined ? 0 : parseIndex(m[2], "the chain");
  const first = m[3] === undefined ? DEFAULT_XPUB_RANGE.first : parseIndex(m[3], "the first index");
  const last = m[4] === undefined ? DEFAULT_XPUB_RANGE.last : parseIndex(m[4], "the last index");
  if (last < first) throw new AllowlistError("xpub entry: the range ends before it starts");
  if (last - first + 1 > MAX_XPUB_RANGE) {
    throw new AllowlistError(`xpub entry: a range covers at most ${MAX_XPUB_RANGE} keys`);
  }
  const base58 = parsed.key.toBase58(versions);
  const text = `xpub:${base58}${chain === 0 ? "" : `/${chain}`}@${first}-${last}`;
  return { kind: "xpub", text, key: parsed.key, chain, first, last };
}

function parsePayee(body: string): AllowlistEntry {
  if (!/^[0-9a-fA-F]{66}$/.test(body)) {
    throw new AllowlistError("payee entry: expected payee:<66 hex characters of a node id>");
  }
  const nodeId = fromHex(body.toLowerCase());
  if (!isValidPublicKey(nodeId)) throw new AllowlistError("payee entry: not a valid node id");
  return { kind: "payee", text: `payee:${toHex(nodeId)}`, nodeId };
}

function parseAddress(body: string, network: Network): AllowlistEntry {
  let script: Uint8Array;
  try {
    script = addressToScript(body, network);
    return { kind: "address", text: `address:${scriptToAddress(script, network)}`, script };
  } catch (e) {
    const reason = e instanceof AddressError ? e.message : "invalid";
    throw new AllowlistError(`address entry: not a valid ${network} address (${reason})`);
  }
}

/**
 * Parses one entry for `network` (see the module documentation for the forms). Surrounding
 * whitespace is ignored. Throws {@link AllowlistError}, whose message never repeats the entry.
 */
export function parseAllowlistEntry(text: string, network: Network): AllowlistEntry {
  networkParams(network); // an unknown network throws here
  if (typeof text !== "string") throw new AllowlistError("an entry must be a string");
  const entry = text.trim();
  if (entry === "") throw new AllowlistError("an entry must not be empty");
  if (entry.length > 1000) throw new AllowlistError("an entry is at most 1000 characters");
  const colon = entry.indexOf(":");
  const prefix = colon < 0 ? "" : entry.slice(0, colon).toLowerCase();
  const body = colon < 0 ? entry : entry.slice(colon + 1);
  switch (prefix) {
    case "":
      return parseAddress(body, network);
    case "address":
      return parseAddress(body, network);
    case "xpub":
      return parseXpub(body, network);
    case "payee":
      return parsePayee(body);
    default:
      throw new AllowlistError(
        "an entry is address:<addr>, xpub:<xpub>[@a-b], payee:<node id> or an address",
      );
  }
}

/** Derived scripts of xpub entries, by canonical entry text (a small cache across reloads). */
const XPUB_SCRIPTS = new Map<string, Set<string>>();
const XPUB_CACHE_LIMIT = 32;

/** The P2WPKH, P2PKH and BIP-86 P2TR scripts (hex) of every key of an xpub entry's range. */
export function xpubScripts(entry: Extract<AllowlistEntry, { kind: "xpub" }>): Set<string> {
  const cached = XPUB_SCRIPTS.get(entry.text);
  if (cached) return cached;
  const scripts = new Set<string>();
  const chain = entry.key.deriveChild(entry.chain);
  for (let i = entry.first; i <= entry.last; i++) {
    let child: ExtendedPublicKey;
    try {
      child = chain.deriveChild(i);
    } catch (e) {
      if (e instanceof Bip32Error) continue; // BIP-32: an invalid child is skipped
      throw e;
    }
    const pub = child.publicKey;
    scripts.add(toHex(p2wpkh(pub)));
    scripts.add(toHex(p2pkh(pub)));
    scripts.add(toHex(p2tr(bip86OutputKey(pub))));
  }
  if (XPUB_SCRIPTS.size >= XPUB_CACHE_LIMIT) {
    const oldest = XPUB_SCRIPTS.keys().next().value;
    if (oldest !== undefined) XPUB_SCRIPTS.delete(oldest);
  }
  XPUB_SCRIPTS.set(entry.text, scripts);
  return scripts;
}

/** An immutable allowlist for one network. */
export class Allowlist {
  /** The network its entries were checked against. */
  readonly network: Network;
  readonly #entries: readonly AllowlistEntry[];
  readonly #scripts: Set<string>;
  readonly #payees: Set<string>;

  /**
   * Creates an allowlist from parsed entries (duplicates are dropped, first one kept).
   * @param entries the entries
   * @param network their network
   */
  constructor(entries: readonly AllowlistEntry[], network: Network) {
    const unique = new Map<string, AllowlistEntry>();
    for (const e of entries) if (!unique.has(e.text)) unique.set(e.text, e);
    this.#entries = [...unique.values()];
    this.network = network;
    this.#scripts = new Set(
      this.#entries.flatMap((e) => (e.kind === "address" ? [toHex(e.script)] : [])),
    );
    this.#payees = new Set(
      this.#entries.flatMap((e) => (e.kind === "payee" ? [toHex(e.nodeId)] : [])),
    );
  }

  /** An empty allowlist. */
  static empty(network: Network): Allowlist {
    return new Allowlist([], network);
  }

  /** Parses every entry (throws {@link AllowlistError} on the first bad one). */
  static parse(texts: readonly string[], network: Network): Allowlist {
    return new Allowlist(texts.map((t) => parseAllowlistEntry(t, network)), network);
  }

  /** The canonical entries, in the order they were added. */
  get entries(): string[] {
    return this.#entries.map((e) => e.text);
  }

  /** Whether the allowlist has `entry` (in any spelling). */
  has(entry: string): boolean {
    const text = parseAllowlistEntry(entry, this.network).text;
    return this.#entries.some((e) => e.text === text);
  }

  /** A copy with `entry` added at the end (the same allowlist when it is already there). */
  add(entry: string): Allowlist {
    const parsed = parseAllowlistEntry(entry, this.network);
    if (this.#entries.some((e) => e.text === parsed.text)) return this;
    return new Allowlist([...this.#entries, parsed], this.network);
  }

  /** A copy without `entry` (the same allowlist when it is not there). */
  remove(entry: string): Allowlist {
    const text = parseAllowlistEntry(entry, this.network).text;
    if (!this.#entries.some((e) => e.text === text)) return this;
    return new Allowlist(this.#entries.filter((e) => e.text !== text), this.network);
  }

  /** Derives and caches the scripts of every xpub entry now (see the module documentation). */
  warm(): void {
    for (const e of this.#entries) if (e.kind === "xpub") xpubScripts(e);
  }

  /** Whether `script` is an allowlisted address or a key of an allowlisted xpub range. */
  contains(script: Uint8Array): boolean {
    const hex = toHex(script);
    if (this.#scripts.has(hex)) return true;
    return this.#entries.some((e) => e.kind === "xpub" && xpubScripts(e).has(hex));
  }

  /** Whether `nodeId` (33 bytes, or its hex) is an allowlisted payee. */
  containsPayee(nodeId: Uint8Array | string): boolean {
    const hex = typeof nodeId === "string" ? nodeId.toLowerCase() : toHex(nodeId);
    return this.#payees.has(hex);
  }
}

/** The stored document. */
export const AllowlistDocumentSchema = z.object({
  version: z.literal(1),
  /** The network the entries are for. */
  network: z.string(),
  /** Canonical entries. */
  entries: z.array(z.string()),
});

/** The allowlist as stored, with the document's store version (undefined when none is stored). */
export interface StoredAllowlist {
  /** The allowlist (empty when none is stored). */
  allowlist: Allowlist;
  /** The document's store version. */
  version: number | undefined;
}

/**
 * Reads the allowlist of `network` from the store. Throws {@link AllowlistError} if the document
 * is malformed, is for another network, or holds an entry that no longer parses.
 */
export async function loadAllowlist(store: Store, network: Network): Promise<StoredAllowlist> {
  const entry = await store.get(ALLOWLIST_KEY);
  if (entry === undefined) return { allowlist: Allowlist.empty(network), version: undefined };
  const parsed = AllowlistDocumentSchema.safeParse(fromJson(entry.value));
  if (!parsed.success) throw new AllowlistError(`the stored ${ALLOWLIST_KEY} is not valid`);
  if (parsed.data.network !== network) {
    throw new AllowlistError(`the stored allowlist is for ${parsed.data.network}, not ${network}`);
  }
  return { allowlist: Allowlist.parse(parsed.data.entries, network), version: entry.version };
}

/** What {@link updateAllowlist} did. */
export interface AllowlistUpdate {
  /** The allowlist after the update. */
  allowlist: Allowlist;
  /** Whether anything changed (and was written). */
  changed: boolean;
}

/**
 * Applies `change` to the stored allowlist and writes the result with a versioned put; on a
 * version conflict (another writer) it re-reads and applies `change` again (up to 5 times).
 * Nothing is written when `change` returns an allowlist with the same entries.
 */
export async function updateAllowlist(
  store: Store,
  network: Network,
  change: (allowlist: Allowlist) => Allowlist,
): Promise<AllowlistUpdate> {
  for (let attempt = 0;; attempt++) {
    const { allowlist, version } = await loadAllowlist(store, network);
    const next = change(allowlist);
    const before = allowlist.entries;
    const after = next.entries;
    if (before.length === after.length && before.every((e, i) => e === after[i])) {
      return { allowlist, changed: false };
    }
    try {
      await store.put([{
        key: ALLOWLIST_KEY,
        value: toJson({ version: 1, network, entries: after }),
        version: version === undefined ? 0 : version + 1,
      }]);
      return { allowlist: next, changed: true };
    } catch (e) {
      if (!(e instanceof VersionConflictError) || attempt >= 4) throw e;
    }
  }
}

/**
 * The signer's view of the stored allowlist: {@link AllowlistSource.refresh} re-reads the
 * document's version and re-parses only when it changed, so changes made by the command line
 * while the signer runs apply to the next request. Every newly loaded allowlist is warmed
 * ({@link Allowlist.warm}), so xpub ranges are derived at load time, not inside a request.
 */
export class AllowlistSource {
  readonly #store: Store;
  readonly #network: Network;
  #current: StoredAllowlist;

  private constructor(store: Store, network: Network, current: StoredAllowlist) {
    this.#store = store;
    this.#network = network;
    this.#current = current;
  }

  /** Loads the allowlist once. */
  static async open(store: Store, network: Network): Promise<AllowlistSource> {
    const current = await loadAllowlist(store, network);
    current.allowlist.warm();
    return new AllowlistSource(store, network, current);
  }

  /** The allowlist as of the last load or refresh. */
  get current(): Allowlist {
    return this.#current.allowlist;
  }

  /** Re-reads the stored allowlist if its version changed; returns it. */
  async refresh(): Promise<Allowlist> {
    const entry = await this.#store.get(ALLOWLIST_KEY);
    if (entry?.version !== this.#current.version) {
      this.#current = await loadAllowlist(this.#store, this.#network);
      this.#current.allowlist.warm();
    }
    return this.#current.allowlist;
  }
}
