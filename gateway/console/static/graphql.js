// Queries and mutations over HTTP with fetch, sent by their persisted-document hash.
//
// Every document the console runs is in documents.json, an Apollo persisted-query manifest
// whose ids are the SHA-256 of each body. The same file can be given to the gateway as
// TRUSTED_DOCUMENTS_MANIFEST, so the console also works where only registered documents run.
// Elsewhere the gateway may not know a hash yet: it answers PERSISTED_QUERY_NOT_FOUND and the
// client sends the hash with the text once (automatic persisted queries, APQ).

const ACCEPT = "application/graphql-response+json, application/json;q=0.9";
const NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND";

/** A refusal or failure from the gateway, with its GraphQL error code when it sent one. */
export class GatewayError extends Error {
  constructor(message, { code = null, status = null } = {}) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    this.status = status;
  }
}

/** Read the console's documents: a Map from operation name to {id, type, body}. */
export async function loadDocuments(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot read ${url}: HTTP ${response.status}`);
  const manifest = await response.json();
  return new Map(manifest.operations.map((operation) => [operation.name, operation]));
}

/** The gateway's base URL without a trailing slash, e.g. https://gateway.example.com. */
export function normalizeBase(url) {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error("The gateway URL must start with http:// or https://");
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, "");
}

export class GraphQLClient {
  constructor(base, key, documents) {
    this.endpoint = `${base}/graphql`;
    this.key = key;
    this.documents = documents;
  }

  /** Run the named query or mutation; return its data or throw a GatewayError. */
  async run(name, variables = {}) {
    const document = this.documents.get(name);
    if (!document) throw new Error(`no document named ${name}`);
    const extensions = { persistedQuery: { version: 1, sha256Hash: document.id } };
    // Queries by GET: short, cacheable URLs. Mutations always POST.
    let body =
      document.type === "query"
        ? await this.#get({ operationName: name, variables, extensions })
        : await this.#post({ operationName: name, variables, extensions });
    if (firstCode(body) === NOT_FOUND) {
      body = await this.#post({ operationName: name, variables, extensions, query: document.body });
    }
    if (body.errors?.length) {
      const [error] = body.errors;
      throw new GatewayError(error.message, { code: error.extensions?.code ?? null });
    }
    return body.data;
  }

  async #get({ operationName, variables, extensions }) {
    const query = new URLSearchParams({
      operationName,
      variables: JSON.stringify(variables),
      extensions: JSON.stringify(extensions),
    });
    return this.#send(`${this.endpoint}?${query}`, { method: "GET" });
  }

  async #post(payload) {
    return this.#send(this.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  }

  async #send(url, init) {
    let response;
    try {
      response = await fetch(url, {
        ...init,
        // The key travels in a header, never in a cookie: no credentials mode is needed.
        headers: { ...init.headers, Accept: ACCEPT, Authorization: `Bearer ${this.key}` },
      });
    } catch (failure) {
      // A network failure and a CORS refusal look the same to a script.
      throw new GatewayError(
        `The gateway did not answer (${failure.message}); check its URL and that ` +
          `CORS_ALLOWED_ORIGINS lists ${window.location.origin}.`,
      );
    }
    const type = response.headers.get("Content-Type") ?? "";
    const failed = () =>
      new GatewayError(`HTTP ${response.status} from the gateway`, { status: response.status });
    if (!type.includes("json")) throw failed();
    const body = await response.json();
    if (!response.ok && !body.errors?.length) throw failed();
    return body;
  }
}

function firstCode(body) {
  return body.errors?.[0]?.extensions?.code ?? null;
}
