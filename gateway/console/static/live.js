// Subscriptions over a native WebSocket speaking graphql-transport-ws, as the gateway does.
//
// The key goes in connection_init's payload (browsers cannot set headers on the upgrade).
// Live delivery is at most once, so after every (re)connect the operations are started
// again first and then `onConnected` runs, for the page to re-read what it shows.
// Close codes: 4403 the key was refused (no retry), 4429 over a budget (retry later).

const PROTOCOL = "graphql-transport-ws";
const REFUSED = 4403;
const MAX_DELAY_SECONDS = 30;

export class LiveConnection {
  constructor(base, key, { onState = () => {}, onConnected = () => {} } = {}) {
    this.url = `${base.replace(/^http/, "ws")}/graphql`;
    this.key = key;
    this.onState = onState;
    this.onConnected = onConnected;
    this.operations = new Map();
    this.nextId = 1;
    this.socket = null;
    this.acknowledgedSocket = null;
    this.closed = false;
    this.attempt = 0;
    this.retry = null;
  }

  /** Start `document` (an entry of documents.json); return a function that stops it. */
  subscribe(document, variables, handlers) {
    const id = String(this.nextId++);
    this.operations.set(id, { document, variables, handlers });
    if (this.acknowledged) this.#start(id);
    return () => {
      this.operations.delete(id);
      if (this.acknowledged) this.#send({ id, type: "complete" });
    };
  }

  open() {
    this.closed = false;
    this.#connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket?.close(1000, "signed out");
    this.onState("offline", "signed out");
  }

  get acknowledged() {
    const socket = this.socket;
    return (
      socket !== null && socket === this.acknowledgedSocket && socket.readyState === WebSocket.OPEN
    );
  }

  #connect() {
    this.onState("connecting", this.url);
    const socket = new WebSocket(this.url, PROTOCOL);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.#send({ type: "connection_init", payload: { authorization: `Bearer ${this.key}` } });
    });
    socket.addEventListener("message", (event) => this.#receive(socket, JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket || this.closed) return;
      if (event.code === REFUSED) {
        this.onState("refused", event.reason || "the key was refused");
        return;
      }
      const delay = Math.min(MAX_DELAY_SECONDS, 2 ** this.attempt++);
      const why = event.reason ? `${event.code}: ${event.reason}` : String(event.code);
      this.onState("reconnecting", `closed (${why}); retrying in ${delay} s`);
      this.retry = setTimeout(() => this.#connect(), delay * 1000);
    });
  }

  #receive(socket, message) {
    switch (message.type) {
      case "connection_ack":
        this.acknowledgedSocket = socket;
        this.attempt = 0;
        for (const id of this.operations.keys()) this.#start(id);
        this.onState("live", this.url);
        this.onConnected();
        break;
      case "ping":
        this.#send({ type: "pong" });
        break;
      case "next":
        this.operations.get(message.id)?.handlers.next(message.payload);
        break;
      case "error":
        this.operations.get(message.id)?.handlers.error?.(message.payload);
        this.operations.delete(message.id);
        break;
      case "complete":
        this.operations.delete(message.id);
        break;
    }
  }

  #start(id) {
    const { document, variables } = this.operations.get(id);
    // The text with its hash: a gateway that runs only trusted documents finds it registered;
    // any other keeps it for later requests by hash.
    const extensions = { persistedQuery: { version: 1, sha256Hash: document.id } };
    this.#send({
      id,
      type: "subscribe",
      payload: { query: document.body, operationName: document.name, variables, extensions },
    });
  }

  #send(message) {
    this.socket.send(JSON.stringify(message));
  }
}
