import type { TestProject } from 'vitest/node';
import { runMigrations } from '../../src/db/migrate.ts';
import { databaseUrl, dropDatabase, uniqueName, withAdmin } from './pg.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/** Migrates one template database per run; every test file clones its own database from it. */
export default async function setup(project: TestProject) {
  await withAdmin((sql) => sql`select 1`).catch((error: unknown) => {
    throw new Error(`Tests need PostgreSQL on 127.0.0.1:5432 (see README): ${String(error)}`);
  });
  const template = uniqueName('cardlink_tpl');
  await runMigrations(databaseUrl(template));
  project.provide('templateDatabase', template);
  return async () => {
    await dropDatabase(template);
  };
}
