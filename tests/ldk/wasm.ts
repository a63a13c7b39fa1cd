/**
 * Loading LDK's WebAssembly module (npm `lightningdevkit` 0.1.0) exactly once per process.
 *
 * `initializeWasmFromBinary` (index.d.mts) instantiates a NEW wasm instance on every call, which
 * would orphan every LDK object created before; it also prints a banner with `console.log`. This
 * module memoises the load and swallows the banner, so tests print nothing.
 *
 * @module
 */
import * as ldk from "lightningdevkit";

let loading: Promise<void> | null = null;

/** The wasm file of the package, resolved next to its entry point. */
export function wasmUrl(): URL {
  return new URL("liblightningjs.wasm", import.meta.resolve("lightningdevkit"));
}

async function load(): Promise<void> {
  const bin = await Deno.readFile(wasmUrl());
  const original = console.log;
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("Loaded LDK-")) return;
    original(...args);
  };
  try {
    await ldk.initializeWasmFromBinary(bin);
  } finally {
    console.log = original;
  }
}

/**
 * Load the LDK wasm module. Safe to call any number of times (concurrently too): the module is
 * instantiated on the first call only; a failed load may be retried.
 */
export function loadLdk(): Promise<void> {
  if (loading === null) {
    loading = load().catch((e) => {
      loading = null;
      throw e;
    });
  }
  return loading;
}
