// The client against a live server (`npm test`): a query through persisted queries (a miss, then
// a hit over GET), a sign-in, an order placed with the Bearer token, and the order followed over
// graphql-ws until it is confirmed. tests/clients/test_typescript_client.py starts a server and a
// Celery worker, seeds the database and runs this with:
//
//   SHOP_GRAPHQL_URL   the endpoint, e.g. http://127.0.0.1:8000/graphql/ (a fresh server: the
//                      first persisted query must be unknown to it)
//   SHOP_EMAIL, SHOP_PASSWORD   a user's credentials (sign-in is part of the test)
//   SHOP_REPORT        optional: where to write what was sent and received, as JSON
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";

import { gql, InMemoryCache } from "@apollo/client";
import WebSocket from "ws";

import {
  CatalogDocument,
  createShopClient,
  getFragmentData,
  ObtainTokenDocument,
  OrderByIdDocument,
  OrderDetailFragmentDoc,
  OrderSummaryFragmentDoc,
  PlaceOrderDocument,
  ProductCardFragmentDoc,
  possibleTypes,
  WatchOrderDocument,
} from "../src/index";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: see the comment at the top of ${import.meta.url}`);
  }
  return value;
}

const url = required("SHOP_GRAPHQL_URL");
const email = required("SHOP_EMAIL");
const password = required("SHOP_PASSWORD");
const SETTLED = ["CONFIRMED", "FAILED", "CANCELLED"];

/** One HTTP exchange as the client saw it. */
interface Exchange {
  operationName: string | null;
  method: string;
  sentQuery: boolean;
  sentHash: boolean;
  authorization: boolean;
  status: number;
  toolbarRequestId: boolean;
  topLevelKeys: string[];
  errorCodes: string[];
  extensions: Record<string, unknown> | null;
}

const exchanges: Exchange[] = [];

/** The global fetch, recording each request and response for the report and the assertions. */
const recordingFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const sent =
    request.method === "GET"
      ? Object.fromEntries(new URL(request.url).searchParams)
      : await request.clone().json();
  const extensions =
    typeof sent.extensions === "string" ? JSON.parse(sent.extensions) : sent.extensions;
  const response = await fetch(request);
  const body = await response.clone().json();
  exchanges.push({
    operationName: sent.operationName ?? null,
    method: request.method,
    sentQuery: typeof sent.query === "string",
    sentHash: typeof extensions?.persistedQuery?.sha256Hash === "string",
    authorization: request.headers.get("authorization")?.startsWith("Bearer ") ?? false,
    status: response.status,
    toolbarRequestId: response.headers.has("djdt-request-id"),
    topLevelKeys: Object.keys(body),
    errorCodes: (body.errors ?? []).map(
      (error: { extensions?: { code?: string } }) => error.extensions?.code,
    ),
    extensions: body.extensions ?? null,
  });
  return response;
};

let accessToken: string | null = null;
const { client, webSocket } = createShopClient({
  url,
  accessToken: () => accessToken,
  webSocketImpl: WebSocket,
  fetch: recordingFetch,
});

const report: Record<string, unknown> = { exchanges };

function exchangesSince(start: number): Exchange[] {
  return exchanges.slice(start);
}

test("the Apollo client against a live server", { timeout: 90_000 }, async (t) => {
  t.after(async () => {
    await webSocket.dispose();
    client.stop();
    if (process.env.SHOP_REPORT) {
      writeFileSync(process.env.SHOP_REPORT, JSON.stringify(report, null, 2));
    }
  });

  let productIds: string[] = [];

  await t.test("Catalog: a persisted-query miss, then a hit over GET", async () => {
    const variables = { first: 10, ordering: [{ sku: "ASC" as const }] };
    const start = exchanges.length;
    const first = await client.query({ query: CatalogDocument, variables });
    // The hash alone over GET, unknown to a fresh server; then the document, over POST.
    assert.deepEqual(
      exchangesSince(start).map((e) => [e.method, e.sentQuery, e.sentHash, e.errorCodes]),
      [
        ["GET", false, true, ["PERSISTED_QUERY_NOT_FOUND"]],
        ["POST", true, true, []],
      ],
    );

    const again = exchanges.length;
    const second = await client.query({
      query: CatalogDocument,
      variables,
      fetchPolicy: "network-only",
    });
    // Registered now: the hash alone is enough, over GET.
    assert.deepEqual(
      exchangesSince(again).map((e) => [e.method, e.sentQuery, e.sentHash, e.errorCodes, e.status]),
      [["GET", false, true, [], 200]],
    );
    assert.deepEqual(second.data, first.data);

    const data = first.data;
    assert.ok(data, "Catalog returned no data");
    const products = data.products.edges.map((edge) => ({
      ...getFragmentData(ProductCardFragmentDoc, edge.node),
      description: edge.node.description,
    }));
    productIds = products.map((product) => product.id);
    report.catalog = {
      totalCount: data.products.totalCount,
      products: products.map(({ sku, name, price, stock, isActive }) => ({
        sku,
        name,
        price,
        stock,
        isActive,
      })),
    };
    assert.ok(products.length >= 2, "the test needs two products");
    assert.ok(products.every((product) => typeof product.price === "string"));
  });

  let orderId = "";

  await t.test("ObtainToken, then PlaceOrder with the Bearer token", async () => {
    assert.ok(productIds.length >= 2, "the catalog had no products to order");
    const signIn = await client.mutate({
      mutation: ObtainTokenDocument,
      variables: { email, password },
    });
    assert.ok(signIn.data?.obtainToken.accessToken, "no access token");
    accessToken = signIn.data.obtainToken.accessToken;

    const start = exchanges.length;
    const [first, second] = productIds;
    assert.ok(first && second);
    const placed = await client.mutate({
      mutation: PlaceOrderDocument,
      variables: {
        items: [
          { productId: first, quantity: 2 },
          { productId: second, quantity: 1 },
        ],
      },
    });
    assert.ok(placed.data, "PlaceOrder returned no data");
    const order = getFragmentData(OrderDetailFragmentDoc, placed.data.createOrder);
    const summary = getFragmentData(OrderSummaryFragmentDoc, order);
    orderId = summary.id;
    assert.equal(summary.status, "PENDING");
    assert.equal(summary.itemCount, 3);
    assert.ok(
      exchangesSince(start).every((e) => e.authorization),
      "PlaceOrder went without the token",
    );
    report.placed = {
      id: summary.id,
      status: summary.status,
      total: summary.total,
      items: order.items.map((item) => ({
        sku: getFragmentData(ProductCardFragmentDoc, item.product).sku,
        quantity: item.quantity,
        unitPrice: item.unitPrice,
      })),
    };
  });

  await t.test("WatchOrder over graphql-ws sees the order reach CONFIRMED", async () => {
    assert.ok(orderId, "no order was placed");
    const statuses = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = [];
      const timer = setTimeout(() => {
        subscription.unsubscribe();
        reject(new Error(`no settled status within 30 s; saw ${JSON.stringify(seen)}`));
      }, 30_000);
      const subscription = client
        .subscribe({ query: WatchOrderDocument, variables: { id: orderId } })
        .subscribe({
          next: (result) => {
            if (result.error || !result.data) {
              clearTimeout(timer);
              subscription.unsubscribe();
              reject(result.error ?? new Error("an event without data"));
              return;
            }
            const order = getFragmentData(OrderSummaryFragmentDoc, result.data.orderUpdated);
            const status = order.status;
            seen.push(status);
            if (SETTLED.includes(status)) {
              clearTimeout(timer);
              subscription.unsubscribe();
              resolve(seen);
            }
          },
          error: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
    });
    report.statuses = statuses;
    assert.equal(statuses.at(-1), "CONFIRMED");

    // The subscription's events were written to the normalised cache.
    const cached = client.cache.readFragment({
      id: client.cache.identify({ __typename: "Order", id: orderId }),
      fragment: OrderSummaryFragmentDoc,
    });
    assert.equal(cached?.status, "CONFIRMED");
  });

  await t.test("possibleTypes: the cache knows an Order is a Node", async () => {
    assert.ok(orderId, "no order was placed");
    const result = await client.query({ query: OrderByIdDocument, variables: { id: orderId } });
    const node = result.data?.node;
    assert.ok(node?.__typename === "Order", `node is ${JSON.stringify(node)}`);
    const order = getFragmentData(OrderDetailFragmentDoc, node);
    assert.equal(getFragmentData(OrderSummaryFragmentDoc, order).status, "CONFIRMED");

    // A fragment on the interface matches the cached Order only through possibleTypes.
    const onNode = gql`
      fragment NodeId on Node {
        id
      }
    `;
    const cache = client.cache;
    assert.ok(cache instanceof InMemoryCache);
    const id = cache.identify({ __typename: "Order", id: orderId });
    assert.deepEqual(cache.readFragment({ id, fragment: onNode }), {
      __typename: "Order",
      id: orderId,
    });
    const withoutPossibleTypes = new InMemoryCache();
    withoutPossibleTypes.restore(cache.extract());
    // Without it the cache cannot tell that an Order is a Node: the fragment's fields are not read.
    assert.deepEqual(withoutPossibleTypes.readFragment({ id, fragment: onNode }), {
      __typename: "Order",
    });
    report.possibleTypes = possibleTypes;
  });
});
