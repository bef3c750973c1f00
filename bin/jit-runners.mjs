#!/usr/bin/env node
// `npx jit-runners …`: runs the TypeScript CLI through tsx (no build step; see README).
import { register } from 'tsx/esm/api';

register();
await import('../functions/cli/main.ts');
