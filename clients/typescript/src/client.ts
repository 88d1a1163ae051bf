// Apollo Client 4 for the shop API: queries and mutations over HTTP with automatic persisted
// queries (hashed queries over GET), subscriptions over graphql-ws, and a cache that knows the
// schema's `Node` interface.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { type Client as WebSocketClient, createClient } from "graphql-ws";

import generated from "./generated/possible-types";

/** Which types implement which interface (`Node`: `Order`, `Product`, `User`), from the schema. */
export const possibleTypes = generated.possibleTypes;

export interface ShopClientOptions {
  /** The API's endpoint, e.g. "https://api.example.com/graphql/". */
  url: string;
  /** The WebSocket endpoint for subscriptions; by default `url` with ws: or wss:. */
  webSocketUrl?: string;
  /** The current access token, or null when signed out; read for every request and connection. */
  accessToken?: () => string | null | undefined;
  /** A WebSocket class where the runtime has none as a global (Node.js 20: the `ws` package). */
  webSocketImpl?: unknown;
  /** The `fetch` that sends HTTP requests; by default the global one. */
  fetch?: typeof fetch;
}

export interface ShopClient {
  client: ApolloClient;
  /** The graphql-ws connection behind subscriptions: `dispose()` it when done. */
  webSocket: WebSocketClient;
}

/** Hex SHA-256 of a document, with Web Crypto (browsers, Node.js 20): the persisted-query hash. */
export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The header (HTTP) and `connection_init` payload (WebSocket) that carry an access token. */
export function authorization(token: string | null | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function webSocketUrlOf(url: string): string {
  const webSocketUrl = new URL(url);
  webSocketUrl.protocol = webSocketUrl.protocol === "https:" ? "wss:" : "ws:";
  return webSocketUrl.toString();
}

export function createShopClient(options: ShopClientOptions): ShopClient {
  const accessToken = options.accessToken ?? (() => null);

  const webSocket = createClient({
    url: options.webSocketUrl ?? webSocketUrlOf(options.url),
    // The server reads the token from connection_init: a new connection sends the current one.
    connectionParams: () => authorization(accessToken()),
    ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
  });

  const http = ApolloLink.from([
    new SetContextLink((context) => ({
      headers: { ...context.headers, ...authorization(accessToken()) },
    })),
    // A query is first sent as its hash alone, over GET (cacheable); an unknown hash is answered
    // PERSISTED_QUERY_NOT_FOUND and the link sends the document once, over POST.
    new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
    new HttpLink({ uri: options.url, ...(options.fetch ? { fetch: options.fetch } : {}) }),
  ]);

  const client = new ApolloClient({
    cache: new InMemoryCache({ possibleTypes }),
    link: ApolloLink.split(
      (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
      new GraphQLWsLink(webSocket),
      http,
    ),
  });
  return { client, webSocket };
}
