/**
 * The suite file's JSON Schema (draft 2020-12), derived from the same settings schema and
 * registry the validator uses, so editors can check a suite file as it is typed. Published as
 * `schema/suite.schema.json` in the package; a test keeps the committed file equal to this.
 */
import { LAYERS, kebabName } from '../layers/registry.js';
import type { ParamSpec } from '../layers/types.js';
import { intCeiling, type Domain } from '../settings/domain.js';
import { describeSetting, type SettingSpec } from '../settings/schema.js';
import { FIXTURE_FIELDS, MAX_NAME_LENGTH, suiteSettings } from './schema.js';

type Json = Record<string, unknown>;

/** The JSON Schema of one value domain. */
function domainSchema(d: Domain): Json {
  switch (d.kind) {
    case 'enum':
      return { enum: [...(d.choices ?? [])] };
    case 'bool':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string', minLength: 1 };
    default: {
      const s: Json = { type: d.kind === 'int' ? 'integer' : 'number' };
      if (d.min !== undefined) s[d.minExclusive ? 'exclusiveMinimum' : 'minimum'] = d.min;
      if (d.max !== undefined || d.kind === 'int') s.maximum = d.kind === 'int' ? intCeiling(d) : d.max;
      return s;
    }
  }
}

/** The JSON Schema of one setting. */
function settingSchema(s: SettingSpec<unknown>): Json {
  const d = s.domain;
  const body: Json =
    d.kind === 'list'
      ? { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true }
      : d.kind === 'map'
        ? { type: 'object', additionalProperties: { type: 'string', minLength: 1 } }
        : domainSchema(d);
  return { description: `${s.help} (${describeSetting(s)})`, ...body };
}

function paramSchema(p: ParamSpec): Json {
  return { description: p.help, ...domainSchema(p), default: p.default };
}

const NAME: Json = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'a label, unique in the suite (default: built from the settings)' };

/** The JSON Schema document of suite files. */
export function suiteJsonSchema(): Json {
  const layerNames = LAYERS.flatMap((l) => [...new Set([l.name, kebabName(l.name)])]);
  const settings = Object.fromEntries(suiteSettings().map((s) => [s.key, settingSchema(s)]));
  const layerEntry: Json = {
    type: 'object',
    required: ['layer'],
    additionalProperties: false,
    properties: {
      name: NAME,
      layer: { enum: layerNames, description: 'the layer to check' },
      params: { type: 'object', description: "the layer's params by cs231n name" },
      shapes: {
        type: 'object',
        description: 'shapes of the inputs the layer lets you set',
        additionalProperties: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1 } },
      },
      ...settings,
    },
    allOf: LAYERS.map((l) => ({
      if: { properties: { layer: { enum: [...new Set([l.name, kebabName(l.name)])] } } },
      // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword, in a plain object never awaited
      then: {
        properties: {
          params: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(l.params.flatMap((p) => [p.name, ...(p.aliases ?? [])].map((k) => [k, paramSchema(p)]))),
          },
          shapes: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(l.inputs.filter((i) => Array.isArray(i.shape)).map((i) => [i.name, { description: i.help }])),
          },
        },
      },
    })),
  };
  const fixtureEntry: Json = {
    type: 'object',
    required: ['fixture'],
    additionalProperties: false,
    properties: Object.fromEntries(
      FIXTURE_FIELDS.map((k) => [
        k,
        k === 'fixture'
          ? { type: 'string', minLength: 1, description: 'a .npz, a fixture directory or a glob of them, relative to the suite file' }
          : k === 'name'
            ? NAME
            : settings[k],
      ]),
    ),
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'cnn-check suite file',
    description: 'A list of checks: layer entries (a layer command as data) and fixture entries (compared with the reference).',
    type: 'array',
    minItems: 1,
    items: { oneOf: [layerEntry, fixtureEntry] },
  };
}
