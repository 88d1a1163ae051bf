// Typed documents for the apps' operations, from the checked-in schema (`npm run codegen`).
//
// - src/generated/ (GraphQL Code Generator's client preset): one TypedDocumentNode per
//   operation and fragment in clients/operations/ (`CatalogDocument`, `ProductCardFragmentDoc`,
//   ...), the schema's enums and inputs, and fragment masking: a fragment's fields are typed
//   only where the fragment is read with `getFragmentData`.
// - src/generated/possible-types.ts: the schema's interfaces and their implementations
//   (`Node`), for Apollo's `InMemoryCache({ possibleTypes })`.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  // The documents the apps send (clients/operations/).
  documents: ["../operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "src/generated/": {
      preset: "client",
      presetConfig: {
        // Not React: `getFragmentData` rather than the default `useFragment`.
        fragmentMasking: { unmaskFunctionName: "getFragmentData" },
      },
      config: {
        // Both travel as strings on the wire: "2026-11-24T15:20:16+00:00", "19.90".
        scalars: { DateTime: "string", Decimal: "string" },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
    "src/generated/possible-types.ts": {
      plugins: ["fragment-matcher"],
      config: { apolloClientVersion: 3, useExplicitTyping: true },
    },
  },
};

export default config;
