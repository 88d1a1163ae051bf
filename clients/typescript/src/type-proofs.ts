// Compile-time proofs, never run: `npm run typecheck` (tsc --noEmit, strict) compiling this file
// shows that the apps' documents, the checked-in schema and the generated types agree, and that
// the types refuse what the schema refuses.
import type { ResultOf, VariablesOf } from "@graphql-typed-document-node/core";

import {
  type CatalogDocument,
  getFragmentData,
  type OrderStatus,
  OrderSummaryFragmentDoc,
  type PlaceOrderDocument,
  ProductCardFragmentDoc,
  type WatchOrderDocument,
} from "./index";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
  ? true
  : false;
type Assert<T extends true> = T;

type CatalogNode = ResultOf<typeof CatalogDocument>["products"]["edges"][number]["node"];
type ProductCard = ResultOf<typeof ProductCardFragmentDoc>;
type OrderSummary = ResultOf<typeof OrderSummaryFragmentDoc>;

// Decimal and DateTime are strings on the wire, and the generated types say so.
export type PriceIsString = Assert<Equals<ProductCard["price"], string>>;
export type TotalIsString = Assert<Equals<OrderSummary["total"], string>>;
export type UpdatedAtIsString = Assert<Equals<OrderSummary["updatedAt"], string>>;
export type StatusIsTheEnum = Assert<Equals<OrderSummary["status"], OrderStatus>>;
// A field the operation selects itself is there; the fragment's own fields are masked.
export type DescriptionIsString = Assert<Equals<CatalogNode["description"], string>>;

/** The in-stock products' names and prices, as "Name: 10.00". */
export function priceList(result: ResultOf<typeof CatalogDocument>): string[] {
  return result.products.edges
    .map((edge) => getFragmentData(ProductCardFragmentDoc, edge.node))
    .filter((product) => product.isActive && product.stock > 0)
    .map((product) => `${product.name}: ${product.price}`);
}

export function isSettled(event: ResultOf<typeof WatchOrderDocument>): boolean {
  const settled: ReadonlyArray<OrderStatus> = ["CONFIRMED", "FAILED", "CANCELLED"];
  return settled.includes(getFragmentData(OrderSummaryFragmentDoc, event.orderUpdated).status);
}

export function maskedPrice(node: CatalogNode): string {
  // @ts-expect-error ProductCard's fields are masked: read them with getFragmentData
  return node.price;
}

// The generated types reject what the schema rejects.
export const badQuantity: VariablesOf<typeof PlaceOrderDocument> = {
  // @ts-expect-error quantity is an Int, not a string
  items: [{ productId: "UHJvZHVjdDox", quantity: "2" }],
};
// @ts-expect-error "SHIPPED" is not an OrderStatus
export const badStatus: OrderStatus = "SHIPPED";
export const badOrdering: VariablesOf<typeof CatalogDocument> = {
  // @ts-expect-error ProductOrder is @oneOf: one key only
  ordering: [{ price: "ASC", name: "DESC" }],
};
