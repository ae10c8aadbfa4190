/**
 * commander, loaded with require for the fast entry's modules: its ESM wrapper costs ~6 ms more
 * at startup (Node scans the CommonJS module for named exports), a fifth of what start.ts adds
 * to a bare `node`. Same module instance as `import ... from 'commander'` (one CommonJS cache).
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const Command = commander.Command;
export type Command = Commander.Command;
export const Option = commander.Option;
export type Option = Commander.Option;
export const Argument = commander.Argument;
export type Argument = Commander.Argument;
export const CommanderError = commander.CommanderError;
export type CommanderError = Commander.CommanderError;
