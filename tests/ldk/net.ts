/**
 * In-memory transport between LDK `PeerManager`s: one `SocketDescriptor` pair per connection.
 * `send_data` only queues the bytes; {@link MemoryNetwork.deliver} hands them to the other
 * PeerManager from the harness's pump loop, so LDK is never re-entered from inside a callback.
 *
 * @module
 */
import * as ldk from "lightningdevkit";

/** One side of the network: a node's PeerManager and identity. */
export interface NetPeer {
  /** Node name (for diagnostics). */
  name: string;
  /** The node's PeerManager. */
  peerManager: ldk.PeerManager;
  /** The node's 33-byte public key. */
  nodeId: Uint8Array;
}

/** Something that went wrong on a connection (recorded, never thrown into LDK). */
export interface NetIssue {
  /** Connection id. */
  connection: number;
  /** Which side reported it. */
  side: string;
  /** Description. */
  detail: string;
}

/** One in-memory connection (outbound from `a` to `b`). */
export class MemoryConnection {
  /** Connection id. */
  readonly id: number;
  /** Initiator. */
  readonly a: NetPeer;
  /** Acceptor. */
  readonly b: NetPeer;
  /** Socket handed to a's PeerManager. */
  readonly sockA: ldk.SocketDescriptor;
  /** Socket handed to b's PeerManager. */
  readonly sockB: ldk.SocketDescriptor;
  /** Bytes written by a, not yet read by b. */
  readonly toB: Uint8Array[] = [];
  /** Bytes written by b, not yet read by a. */
  readonly toA: Uint8Array[] = [];
  /** Closed by either PeerManager (or by the test). */
  closed = false;
  /** Number of chunks delivered so far. */
  delivered = 0;
  /** Both PeerManagers have been told about the closure. */
  notified = false;

  /**
   * Creates the socket pair (does not start the handshake).
   * @param id connection id (socket hashes are derived from it)
   * @param peers initiator and acceptor
   */
  constructor(id: number, peers: { a: NetPeer; b: NetPeer }) {
    this.id = id;
    this.a = peers.a;
    this.b = peers.b;
    this.sockA = this.#socket(BigInt(id) * 2n, this.toB);
    this.sockB = this.#socket(BigInt(id) * 2n + 1n, this.toA);
  }

  #socket(hash: bigint, queue: Uint8Array[]): ldk.SocketDescriptor {
    return ldk.SocketDescriptor.new_impl({
      send_data: (data: Uint8Array, _resumeRead: boolean): number => {
        try {
          if (this.closed) return 0;
          queue.push(data.slice());
          return data.length;
        } catch {
          return 0;
        }
      },
      disconnect_socket: (): void => {
        this.closed = true;
      },
      eq: (other: ldk.SocketDescriptor): boolean => {
        try {
          return other.hash() === hash;
        } catch {
          return false;
        }
      },
      hash: (): bigint => hash,
    });
  }
}

/** All in-memory connections of a harness. */
export class MemoryNetwork {
  /** Problems seen while delivering (read errors, disconnections). */
  readonly issues: NetIssue[] = [];
  #connections: MemoryConnection[] = [];
  #nextId = 1;

  /** Every connection ever made, open or closed. */
  all(): MemoryConnection[] {
    return [...this.#connections];
  }

  /** Open connections. */
  connections(): MemoryConnection[] {
    return this.#connections.filter((c) => !c.closed);
  }

  /**
   * Connect `a` (outbound) to `b` (inbound) and queue the first handshake bytes. Complete the
   * handshake by pumping (deliver + `process_events`).
   */
  connect(a: NetPeer, b: NetPeer): MemoryConnection {
    const conn = new MemoryConnection(this.#nextId++, { a, b });
    const inbound = b.peerManager.new_inbound_connection(
      conn.sockB,
      ldk.Option_SocketAddressZ.constructor_none(),
    );
    if (!inbound.is_ok()) throw new NetError(`${b.name} refused the inbound connection`);
    const init = a.peerManager.new_outbound_connection(
      b.nodeId,
      conn.sockA,
      ldk.Option_SocketAddressZ.constructor_none(),
    );
    if (!(init instanceof ldk.Result_CVec_u8ZPeerHandleErrorZ_OK)) {
      throw new NetError(`${a.name} could not start a connection to ${b.name}`);
    }
    conn.toB.push(init.res);
    this.#connections.push(conn);
    return conn;
  }

  /** Close a connection from the test side (both PeerManagers are told). */
  disconnect(conn: MemoryConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#notifyClosed(conn);
  }

  #notifyClosed(conn: MemoryConnection): void {
    if (conn.notified) return;
    conn.notified = true;
    conn.toA.length = 0;
    conn.toB.length = 0;
    conn.a.peerManager.socket_disconnected(conn.sockA);
    conn.b.peerManager.socket_disconnected(conn.sockB);
  }

  /** Are bytes waiting on any open connection? */
  hasQueued(): boolean {
    return this.#connections.some((c) => !c.closed && (c.toA.length > 0 || c.toB.length > 0));
  }

  /**
   * Deliver every chunk queued so far (not the ones queued while delivering). Returns the number
   * of chunks delivered.
   */
  deliver(): number {
    let n = 0;
    for (const conn of this.#connections) {
      if (conn.closed) {
        // Closed by a PeerManager (disconnect_socket): tell both sides, outside the callback.
        this.#notifyClosed(conn);
        continue;
      }
      const toB = conn.toB.splice(0);
      const toA = conn.toA.splice(0);
      for (
        const [chunks, peer, sock] of [[toB, conn.b, conn.sockB], [
          toA,
          conn.a,
          conn.sockA,
        ]] as const
      ) {
        for (const chunk of chunks) {
          if (conn.closed) break;
          const r = peer.peerManager.read_event(sock, chunk);
          n++;
          conn.delivered++;
          if (!r.is_ok()) {
            this.issues.push({ connection: conn.id, side: peer.name, detail: "read_event failed" });
            conn.closed = true;
            this.#notifyClosed(conn);
          }
        }
      }
    }
    return n;
  }
}

/** A connection could not be set up. */
export class NetError extends Error {
  /**
   * Creates the error.
   * @param message what failed
   */
  constructor(message: string) {
    super(message);
    this.name = "NetError";
  }
}
