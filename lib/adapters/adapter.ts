/**
 * The seam between a WebSocketServer and a pub/sub bus shared by several processes or machines
 * (DESIGN.md §4, "Cores and machines"). The server tells its adapter which topics this thread
 * has subscribers for and hands it every publish once; the adapter sends the message to the bus
 * once and delivers what other nodes published through `deliver`, which is the thread's native
 * fan-out (no JavaScript per subscriber).
 */

/** What a server gives its adapter when it attaches. */
export interface AdapterHost {
  /**
   * Publishes to this thread's subscribers of `topic` (native fan-out); `exclude` is a connection
   * key from the publishing node (PublishOptions.exclude as a string), resolved here by the
   * server's `resolveExclude` option.
   */
  deliver(topic: string, payload: Uint8Array | string, binary: boolean, compress: boolean, exclude?: string): void;
  /** This thread's subscribers of `topic`. */
  localSubscribers(topic: string): number;
  /** The topics this thread currently has subscribers for (resubscribed after a bus reconnect). */
  localTopics(): Iterable<string>;
}

/** A pub/sub bus between nodes. `redisAdapter()` makes one. */
export interface PubSubAdapter {
  /** Called once by the server that owns the adapter. */
  attach(host: AdapterHost): void;
  /** This thread's subscriber count of `topic` went from `oldCount` to `newCount`. */
  subscriptionChanged(topic: string, newCount: number, oldCount: number): void;
  /** A local publish (already delivered locally): send it to the other nodes once, with the exclusion key if any. */
  publish(topic: string, payload: Uint8Array | string, binary: boolean, compress: boolean, exclude?: string): void;
  /** Subscribers of `topic` over every live node (this one included). */
  clusterSubscribers(topic: string): Promise<number>;
  /** Leaves the bus; pending work is dropped. */
  close(): Promise<void>;
}
