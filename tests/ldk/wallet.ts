/**
 * A minimal on-chain wallet per harness node: one P2WPKH key, coinbase-like funding from the
 * simulated chain, funding transactions for channels (signed with core/bitcoin/sign.ts), and an
 * LDK `WalletSource` so LDK's `BumpTransactionEventHandler` can take fee-bump inputs from it.
 *
 * @module
 */
import * as ldk from "lightningdevkit";
import { concat, equal, fromHex, reverse, utf8 } from "../../core/bytes.ts";
import { publicKey, sha256 } from "../../core/crypto/mod.ts";
import { p2wpkh, p2wpkhScriptCode } from "../../core/bitcoin/script.ts";
import { signSegwitV0Input, withWitness } from "../../core/bitcoin/sign.ts";
import { encodeTx, type Tx, type TxOutput, weight } from "../../core/bitcoin/tx.ts";
import { decodePsbt } from "../../core/bitcoin/psbt.ts";
import type { SimChain, UtxoEntry } from "./chain.ts";

/** The wallet cannot do what was asked (not enough funds, ...). */
export class WalletError extends Error {
  /**
   * Creates the error.
   * @param message what went wrong (never key material)
   */
  constructor(message: string) {
    super(message);
    this.name = "WalletError";
  }
}

/** LDK's satisfaction weight of a P2WPKH input: empty scriptSig (4 WU) + witness (109 WU). */
export const P2WPKH_SATISFACTION_WEIGHT = 113n;
const DUST = 330n;

/** A P2WPKH wallet on the simulated chain. */
export class SimWallet {
  /** The wallet's output script (P2WPKH). */
  readonly script: Uint8Array;
  /** The wallet's compressed public key. */
  readonly pubkey: Uint8Array;
  #secret: Uint8Array;
  #chain: SimChain;
  #name: string;

  /**
   * Creates the wallet; its key is derived from `seed` (test material only).
   * @param chain the chain it lives on
   * @param options node name (broadcast source) and seed
   */
  constructor(chain: SimChain, options: { name: string; seed: Uint8Array }) {
    this.#chain = chain;
    this.#name = options.name;
    this.#secret = sha256(concat(utf8("warden-ldk-harness-wallet"), options.seed));
    this.pubkey = publicKey(this.#secret);
    this.script = p2wpkh(this.pubkey);
  }

  /** Queue a coinbase-like output of `amount` sat to this wallet (confirms at the next block). */
  fund(amount: bigint): { txid: string; vout: number } {
    return this.#chain.fund(this.script, amount);
  }

  /** Confirmed outputs of this wallet not spent on chain nor in the mempool. */
  utxos(): UtxoEntry[] {
    return this.#chain.unspent((u) =>
      equal(u.script, this.script) && this.#chain.mempoolSpender(u.txid, u.vout) === undefined
    );
  }

  /** Sum of {@link utxos}. */
  balance(): bigint {
    return this.utxos().reduce((s, u) => s + u.amount, 0n);
  }

  /**
   * Build and sign a transaction paying `outputs` (in that order, change appended last) at
   * `feeratePerKw`, spending the wallet's confirmed coins (largest first). Returns the signed
   * transaction bytes; it is not broadcast.
   */
  buildPayment(outputs: TxOutput[], feeratePerKw: number): Uint8Array {
    const target = outputs.reduce((s, o) => s + o.amount, 0n);
    const coins = this.utxos().sort((
      a,
      b,
    ) => (a.amount < b.amount ? 1 : a.amount > b.amount ? -1 : 0));
    const chosen: UtxoEntry[] = [];
    let total = 0n;
    for (const c of coins) {
      chosen.push(c);
      total += c.amount;
      const fee = this.#fee(
        chosen,
        [...outputs, { amount: 0n, script: this.script }],
        feeratePerKw,
      );
      if (total >= target + fee) {
        const change = total - target - fee;
        const outs = change >= DUST
          ? [...outputs, { amount: change, script: this.script }]
          : outputs;
        return encodeTx(this.#sign(chosen, outs));
      }
    }
    throw new WalletError(`wallet ${this.#name} has ${total} sat, needs ${target} plus fees`);
  }

  #fee(coins: UtxoEntry[], outputs: TxOutput[], feeratePerKw: number): bigint {
    const w = weight(this.#sign(coins, outputs));
    return BigInt(Math.ceil((w * feeratePerKw) / 1000)) + 1n;
  }

  #sign(coins: UtxoEntry[], outputs: TxOutput[]): Tx {
    let tx: Tx = {
      version: 2,
      inputs: coins.map((c) => ({
        txid: reverse(fromHex(c.txid)),
        vout: c.vout,
        scriptSig: new Uint8Array(),
        sequence: 0xfffffffd,
        witness: [],
      })),
      outputs,
      locktime: 0,
    };
    coins.forEach((c, i) => {
      const sig = signSegwitV0Input(tx, i, {
        scriptCode: p2wpkhScriptCode(this.pubkey),
        amount: c.amount,
        secretKey: this.#secret,
      });
      tx = withWitness(tx, i, [sig, this.pubkey]);
    });
    return tx;
  }

  /**
   * Sign every input of a PSBT that spends this wallet's script (PSBT_IN_WITNESS_UTXO must be
   * present, as LDK sets it), returning the transaction with those witnesses filled in and every
   * other input untouched.
   */
  signPsbt(psbtBytes: Uint8Array): Uint8Array {
    const psbt = decodePsbt(psbtBytes);
    let tx = psbt.tx;
    psbt.inputs.forEach((input, i) => {
      const utxo = input.witnessUtxo;
      if (!utxo || !equal(utxo.script, this.script)) return;
      const sig = signSegwitV0Input(tx, i, {
        scriptCode: p2wpkhScriptCode(this.pubkey),
        amount: utxo.amount,
        secretKey: this.#secret,
      });
      tx = withWitness(tx, i, [sig, this.pubkey]);
    });
    return encodeTx(tx);
  }

  /**
   * An LDK `WalletSource` backed by this wallet (for `Wallet.constructor_new` and the
   * `BumpTransactionEventHandler`). Every callback is wrapped in try/catch and answers `Err` on
   * failure (an exception escaping into LDK would corrupt the wasm instance).
   */
  walletSource(): ldk.WalletSource {
    return ldk.WalletSource.new_impl({
      list_confirmed_utxos: () => {
        try {
          const utxos = this.utxos().map((u) =>
            ldk.Utxo.constructor_new(
              ldk.OutPoint.constructor_new(reverse(fromHex(u.txid)), u.vout),
              ldk.TxOut.constructor_new(u.amount, u.script),
              P2WPKH_SATISFACTION_WEIGHT,
            )
          );
          return ldk.Result_CVec_UtxoZNoneZ.constructor_ok(utxos);
        } catch {
          return ldk.Result_CVec_UtxoZNoneZ.constructor_err();
        }
      },
      get_change_script: () => {
        try {
          return ldk.Result_CVec_u8ZNoneZ.constructor_ok(this.script);
        } catch {
          return ldk.Result_CVec_u8ZNoneZ.constructor_err();
        }
      },
      sign_psbt: (psbt: Uint8Array) => {
        try {
          return ldk.Result_TransactionNoneZ.constructor_ok(this.signPsbt(psbt));
        } catch {
          return ldk.Result_TransactionNoneZ.constructor_err();
        }
      },
    });
  }
}
