// A few typed functions over the generated operation types. They are never run: `npm run
// typecheck` (tsc --noEmit, strict) compiling them is the proof that the contract's
// documents, the checked-in schema and the generated types agree.
import type {
  CatalogQuery,
  CatalogQueryVariables,
  PlaceOrderMutation,
  PlaceOrderMutationVariables,
  WatchOrderSubscription,
} from "./generated/graphql";
import type { OrderStatus } from "./generated/schema";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
  ? true
  : false;
type Assert<T extends true> = T;

type CatalogProduct = CatalogQuery["products"]["edges"][number]["node"];
type PlacedOrder = PlaceOrderMutation["createOrder"];
type WatchedOrder = WatchOrderSubscription["orderUpdated"];

// Decimal and DateTime are strings on the wire, and the generated types say so.
export type PriceIsString = Assert<Equals<CatalogProduct["price"], string>>;
export type TotalIsString = Assert<Equals<PlacedOrder["total"], string>>;
export type UpdatedAtIsString = Assert<Equals<WatchedOrder["updatedAt"], string>>;
export type StatusIsTheEnum = Assert<Equals<WatchedOrder["status"], OrderStatus>>;

export interface GraphQLResponse<Data> {
  data?: Data | null;
  errors?: ReadonlyArray<{ message: string; extensions?: { code?: string } }>;
}

export const CATALOG = "Catalog" as const;
export const PLACE_ORDER = "PlaceOrder" as const;

/** The cheapest in-stock products' names and prices, as "Name: 10.00". */
export function priceList(result: CatalogQuery): string[] {
  return result.products.edges
    .map((edge) => edge.node)
    .filter((product) => product.isActive && product.stock > 0)
    .map((product) => `${product.name}: ${product.price}`);
}

export function catalogVariables(search: string | null): CatalogQueryVariables {
  return { first: 20, search, inStock: true, ordering: [{ price: "ASC" }] };
}

/** One line per product id; the server merges repeats, the client need not. */
export function placeOrderVariables(
  lines: ReadonlyArray<readonly [productId: string, quantity: number]>,
): PlaceOrderMutationVariables {
  return { items: lines.map(([productId, quantity]) => ({ productId, quantity })) };
}

export function orderSummary(result: GraphQLResponse<PlaceOrderMutation>): string {
  const order = result.data?.createOrder;
  if (!order) {
    return result.errors?.map((error) => error.extensions?.code ?? error.message).join(", ") ?? "";
  }
  const lines = order.items.map((item) => `${item.quantity} x ${item.product.sku} @ ${item.unitPrice}`);
  return [`${order.status} ${order.total}`, ...lines].join("\n");
}

export function isSettled(event: WatchOrderSubscription): boolean {
  const settled: ReadonlyArray<OrderStatus> = ["CONFIRMED", "FAILED", "CANCELLED"];
  return settled.includes(event.orderUpdated.status);
}

// The generated types reject what the schema rejects.
export const badQuantity: PlaceOrderMutationVariables = {
  // @ts-expect-error quantity is an Int, not a string
  items: [{ productId: "UHJvZHVjdDox", quantity: "2" }],
};
// @ts-expect-error "SHIPPED" is not an OrderStatus
export const badStatus: OrderStatus = "SHIPPED";
// @ts-expect-error ProductOrder is @oneOf: one key only
export const badOrdering: CatalogQueryVariables = { ordering: [{ price: "ASC", name: "DESC" }] };
