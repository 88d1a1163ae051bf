// Types for the contract's operations, from the checked-in schema (`npm run codegen`).
//
// Two outputs, because typescript-operations v6 also emits the input and enum types its
// operations use: generated into the same file as the `typescript` plugin's schema types,
// they would be declared twice. So the schema's types go to schema.ts and the operations
// import them from there.
import type { CodegenConfig } from "@graphql-codegen/cli";

const scalars = {
  // Both travel as strings on the wire: "2026-11-24T15:20:16+00:00", "19.90".
  DateTime: "string",
  Decimal: "string",
};

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  // The documents the apps send (clients/operations/).
  documents: ["../operations/*.graphql"],
  ignoreNoDocuments: false,
  config: {
    scalars,
    strictScalars: true,
    enumsAsTypes: true,
    useTypeImports: true,
  },
  generates: {
    "src/generated/schema.ts": {
      plugins: ["typescript"],
    },
    "src/generated/graphql.ts": {
      plugins: ["typescript-operations"],
      config: {
        importSchemaTypesFrom: "./src/generated/schema.ts",
        namespacedImportName: "Types",
      },
    },
  },
};

export default config;
