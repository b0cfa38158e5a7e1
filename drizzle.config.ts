import { defineConfig } from 'drizzle-kit';

// drizzle-kit only generates SQL from the schema; it never connects, so no credentials are read here.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  casing: 'snake_case',
});
