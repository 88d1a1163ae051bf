// The shop API's TypeScript client: `createShopClient` (Apollo Client 4), one typed document per
// operation and fragment in clients/operations/ (`CatalogDocument`, `ProductCardFragmentDoc`, ...)
// and `getFragmentData`, which reads a fragment's fields from a result.
export { authorization, createShopClient, possibleTypes, sha256 } from "./client";
export type { ShopClient, ShopClientOptions } from "./client";
export type { FragmentType } from "./generated/fragment-masking";
export { getFragmentData, makeFragmentData } from "./generated/fragment-masking";
export * from "./generated/graphql";
