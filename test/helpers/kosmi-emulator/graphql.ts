import { createRequire } from 'node:module';

/**
 * graphql-js as Node loads it (its CommonJS build). graphql-ws's server is run by Node and imports
 * that build; a bundler-style resolver (vitest) would hand this file the ESM build instead, and
 * graphql-js refuses a schema "from another module or realm". Loading it through require makes both
 * use one instance.
 */
const require = createRequire(import.meta.url);
export const graphql = require('graphql') as typeof import('graphql');
