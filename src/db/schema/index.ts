export * from './apps.ts';
export * from './cards.ts';
export * from './idempotency-keys.ts';
export * from './merchants.ts';
export * from './processors.ts';
export * from './users.ts';
