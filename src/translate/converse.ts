import { invalidRequest } from '../errors.js';

/**
 * Bedrock Converse requests ↔ Anthropic Messages requests, both ways, for every block Claude takes.
 * One translation for the gateway's Converse front and the emulator's. What Converse has and the
 * Messages API has not (guardrails, prompt variables, S3 sources, Office documents) is refused with
 * a `ValidationException` that says so, never dropped.
 */

type Json = Record<string, unknown>;

const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);
/** Document formats whose bytes are text: they become a plain-text document. */
const TEXT_FORMATS = new Set(['txt', 'md', 'html', 'csv']);
const OFFICE_FORMATS = new Set(['doc', 'docx', 'xls', 'xlsx']);

const TOP_LEVEL = new Set([
  'messages',
  'system',
  'inferenceConfig',
  'toolConfig',
  'additionalModelRequestFields',
  'additionalModelResponseFieldPaths',
  'outputConfig',
  'performanceConfig',
  'serviceTier',
  'guardrailConfig',
  'promptVariables',
  'requestMetadata',
]);
const NOT_TRANSLATED: Record<string, string> = {
  guardrailConfig:
    "Guardrails run in Bedrock's Converse API, which this gateway does not call: apply the guardrail with " +
    'ApplyGuardrail, or call Bedrock directly',
  promptVariables: 'Prompt-management variables have no Messages API equivalent: fill the prompt in before sending it',
  requestMetadata:
    'Invocation-log metadata has no Messages API equivalent: the gateway records the key, user and team of every ' +
    'request in its own ledger',
};

function fail(path: string, what: string): never {
  throw invalidRequest(`Malformed input request: #/${path}: ${what}, please reformat your input and try again.`);
}

function obj(value: unknown, path: string): Json {
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail(path, 'expected an object');
  return value as Json;
}

function arr(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, 'must be an array');
  return value;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'expected a string');
  return value;
}

/** The one member of a Converse union (`{"text": ...}`, `{"image": {...}}`). */
function member(value: unknown, path: string): [string, unknown] {
  const keys = Object.keys(obj(value, path));
  if (keys.length !== 1)
    fail(path, `a content block has exactly one member, found ${keys.length ? keys.join(', ') : 'none'}`);
  return [keys[0]!, (value as Json)[keys[0]!]];
}

/** Bytes as Converse's JSON carries them: a base64 string (the AWS SDKs encode a Uint8Array so). */
function base64(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return fail(path, 'expected base64 bytes');
}

function cacheControl(point: unknown, path: string): Json {
  const p = obj(point, path);
  if (p['type'] !== undefined && p['type'] !== 'default') fail(`${path}/type`, 'must be "default"');
  if (p['ttl'] === undefined) return { type: 'ephemeral' };
  if (p['ttl'] !== '5m' && p['ttl'] !== '1h') fail(`${path}/ttl`, 'must be "5m" or "1h"');
  return { type: 'ephemeral', ttl: p['ttl'] };
}

function image(value: unknown, path: string): Json {
  const img = obj(value, path);
  const format = str(img['format'], `${path}/format`);
  if (!IMAGE_FORMATS.has(format)) fail(`${path}/format`, `${format} is not one of png, jpeg, gif, webp`);
  const source = obj(img['source'], `${path}/source`);
  if (source['s3Location'])
    throw invalidRequest(
      'An image from S3 cannot be sent through the Messages API.',
      'Send the image bytes (source.bytes) instead of an S3 location.',
    );
  return {
    type: 'image',
    source: { type: 'base64', media_type: `image/${format}`, data: base64(source['bytes'], `${path}/source/bytes`) },
  };
}

function document(value: unknown, path: string): Json {
  const doc = obj(value, path);
  const format = str(doc['format'] ?? 'txt', `${path}/format`);
  const source = obj(doc['source'], `${path}/source`);
  if (source['s3Location'])
    throw invalidRequest(
      'A document from S3 cannot be sent through the Messages API.',
      'Send the document bytes (source.bytes) instead of an S3 location.',
    );
  if (OFFICE_FORMATS.has(format))
    throw invalidRequest(
      `A ${format} document has no Messages API equivalent: Claude takes PDF and text documents.`,
      "Convert it to PDF or text, or call Bedrock's Converse API directly.",
    );
  let src: Json;
  if (Array.isArray(source['content'])) {
    src = {
      type: 'content',
      content: source['content'].map((c, i) => ({
        type: 'text',
        text: str(obj(c, `${path}/source/content/${i}`)['text'], `${path}/source/content/${i}/text`),
      })),
    };
  } else if (typeof source['text'] === 'string') {
    src = { type: 'text', media_type: 'text/plain', data: source['text'] };
  } else if (format === 'pdf') {
    src = { type: 'base64', media_type: 'application/pdf', data: base64(source['bytes'], `${path}/source/bytes`) };
  } else if (TEXT_FORMATS.has(format)) {
    src = {
      type: 'text',
      media_type: 'text/plain',
      data: Buffer.from(base64(source['bytes'], `${path}/source/bytes`), 'base64').toString('utf8'),
    };
  } else {
    return fail(`${path}/format`, `${format} is not one of pdf, txt, md, html, csv`);
  }
  const out: Json = { type: 'document', source: src };
  if (doc['name'] !== undefined) out['title'] = str(doc['name'], `${path}/name`);
  if (doc['context'] !== undefined) out['context'] = str(doc['context'], `${path}/context`);
  if (doc['citations'] !== undefined)
    out['citations'] = { enabled: obj(doc['citations'], `${path}/citations`)['enabled'] === true };
  return out;
}

function toolResultContent(value: unknown, path: string): Json {
  const [kind, v] = member(value, path);
  if (kind === 'text') return { type: 'text', text: str(v, `${path}/text`) };
  if (kind === 'json') return { type: 'text', text: JSON.stringify(v) };
  if (kind === 'image') return image(v, `${path}/image`);
  if (kind === 'document') return document(v, `${path}/document`);
  return fail(path, `a tool result holds text, json, image or document, not ${kind}`);
}

function reasoning(value: unknown, path: string): Json {
  const [kind, v] = member(value, path);
  if (kind === 'reasoningText') {
    const r = obj(v, `${path}/reasoningText`);
    const out: Json = { type: 'thinking', thinking: str(r['text'], `${path}/reasoningText/text`) };
    if (r['signature'] !== undefined) out['signature'] = str(r['signature'], `${path}/reasoningText/signature`);
    return out;
  }
  if (kind === 'redactedContent')
    return {
      type: 'redacted_thinking',
      data: Buffer.from(base64(v, `${path}/redactedContent`), 'base64').toString('utf8'),
    };
  return fail(path, `reasoning content is reasoningText or redactedContent, not ${kind}`);
}

/** One Converse content block as the Anthropic block it is (a cache point is handled by the caller). */
function block(value: unknown, path: string): Json {
  const [kind, v] = member(value, path);
  switch (kind) {
    case 'text':
      return { type: 'text', text: str(v, `${path}/text`) };
    case 'image':
      return image(v, `${path}/image`);
    case 'document':
      return document(v, `${path}/document`);
    case 'toolUse': {
      const t = obj(v, `${path}/toolUse`);
      return {
        type: 'tool_use',
        id: str(t['toolUseId'], `${path}/toolUse/toolUseId`),
        name: str(t['name'], `${path}/toolUse/name`),
        input: t['input'] ?? {},
      };
    }
    case 'toolResult': {
      const t = obj(v, `${path}/toolResult`);
      const out: Json = {
        type: 'tool_result',
        tool_use_id: str(t['toolUseId'], `${path}/toolResult/toolUseId`),
        content: arr(t['content'], `${path}/toolResult/content`).map((c, i) =>
          toolResultContent(c, `${path}/toolResult/content/${i}`),
        ),
      };
      if (t['status'] === 'error') out['is_error'] = true;
      else if (t['status'] !== undefined && t['status'] !== 'success')
        fail(`${path}/toolResult/status`, 'must be "success" or "error"');
      return out;
    }
    case 'reasoningContent':
      return reasoning(v, `${path}/reasoningContent`);
    case 'guardContent':
      throw invalidRequest(
        "Guard content is evaluated by Bedrock's guardrails, which the Messages API does not run.",
        "Send it as a text block, or call Bedrock's Converse API directly.",
      );
    default:
      throw invalidRequest(
        `Malformed input request: unsupported content block ${kind}: the Messages API takes text, image, document, ` +
          `toolUse, toolResult, reasoningContent and cachePoint.`,
      );
  }
}

/** Blocks with Converse's `cachePoint` markers folded into the block before each as `cache_control`. */
function blocks(values: unknown[], path: string, one: (v: unknown, path: string) => Json): Json[] {
  const out: Json[] = [];
  values.forEach((v, i) => {
    const p = `${path}/${i}`;
    if (v && typeof v === 'object' && 'cachePoint' in v) {
      const last = out[out.length - 1];
      if (!last) fail(p, 'a cachePoint must follow the block it caches');
      last['cache_control'] = cacheControl((v as Json)['cachePoint'], `${p}/cachePoint`);
      return;
    }
    out.push(one(v, p));
  });
  return out;
}

function tool(value: unknown, path: string): Json {
  const [kind, v] = member(value, path);
  if (kind !== 'toolSpec') fail(path, `a tool is a toolSpec, not ${kind}`);
  const spec = obj(v, `${path}/toolSpec`);
  const out: Json = { name: str(spec['name'], `${path}/toolSpec/name`) };
  if (spec['description'] !== undefined) out['description'] = str(spec['description'], `${path}/toolSpec/description`);
  const schema =
    spec['inputSchema'] === undefined ? undefined : obj(spec['inputSchema'], `${path}/toolSpec/inputSchema`)['json'];
  out['input_schema'] = schema ?? { type: 'object' };
  if (spec['strict'] !== undefined) out['strict'] = spec['strict'] === true;
  return out;
}

function toolChoice(value: unknown, path: string): Json {
  const [kind, v] = member(value, path);
  if (kind === 'auto' || kind === 'any') return { type: kind };
  if (kind === 'tool') return { type: 'tool', name: str(obj(v, `${path}/tool`)['name'], `${path}/tool/name`) };
  return fail(path, `toolChoice is auto, any or tool, not ${kind}`);
}

/** The JSON-pointer paths a Converse request asks to have copied from the model's answer. */
export function responseFieldPaths(body: Json): string[] {
  const paths = body['additionalModelResponseFieldPaths'];
  if (paths === undefined) return [];
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || !p.startsWith('/')))
    fail('additionalModelResponseFieldPaths', 'expected an array of JSON pointers such as "/stop_sequence"');
  return paths as string[];
}

/**
 * A Converse request body as the Anthropic Messages body it means (without `model`). `maxTokens`
 * left out becomes `defaultMaxTokens`.
 *
 * @example
 * ```ts
 * converseToAnthropic({ messages: [{ role: 'user', content: [{ text: 'Hi' }, { cachePoint: { type: 'default' } }] }] },
 * 4096);
 * // { messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
 * max_tokens: 4096 }
 * ```
 */
export function converseToAnthropic(body: Json, defaultMaxTokens: number): Json {
  checkTopLevel(body);
  const out: Json = { messages: converseMessages(body['messages']) };
  const system = converseSystem(body['system']);
  if (system.length) out['system'] = system;
  Object.assign(out, inferenceOf(body['inferenceConfig'], defaultMaxTokens));
  if (body['toolConfig'] !== undefined) {
    const tc = obj(body['toolConfig'], 'toolConfig');
    out['tools'] = blocks(arr(tc['tools'], 'toolConfig/tools'), 'toolConfig/tools', tool);
    if (tc['toolChoice'] !== undefined) out['tool_choice'] = toolChoice(tc['toolChoice'], 'toolConfig/toolChoice');
  }
  if (body['outputConfig'] !== undefined) out['output_config'] = { format: outputFormat(body['outputConfig']) };
  const extra = body['additionalModelRequestFields'];
  if (extra !== undefined && extra !== null) mergeExtraFields(out, obj(extra, 'additionalModelRequestFields'));
  responseFieldPaths(body);
  return out;
}

/** Keys Converse does not have, fields this gateway does not translate, latency and tiers it cannot honour. */
function checkTopLevel(body: Json): void {
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) fail('', `extraneous key [${key}] is not permitted`);
    if (NOT_TRANSLATED[key] !== undefined && body[key] !== null)
      throw invalidRequest(`${key} is not supported by this gateway's Converse API. ${NOT_TRANSLATED[key]}.`);
  }
  const perf = body['performanceConfig'] as { latency?: unknown } | undefined;
  if (perf && perf.latency !== undefined && perf.latency !== 'standard')
    throw invalidRequest(
      'performanceConfig.latency "optimized" is not supported by this gateway.',
      'Leave performanceConfig out, or set latency to "standard".',
    );
  const tier = body['serviceTier'] as { type?: unknown } | undefined;
  if (tier && tier.type !== undefined && tier.type !== 'default')
    throw invalidRequest(
      `serviceTier "${String(tier.type)}" is not supported by this gateway.`,
      'Leave serviceTier out, or set its type to "default".',
    );
}

function converseMessages(value: unknown): Json[] {
  return arr(value, 'messages').map((m, i) => {
    const msg = obj(m, `messages/${i}`);
    if (msg['role'] !== 'user' && msg['role'] !== 'assistant')
      fail(`messages/${i}/role`, 'must be "user" or "assistant"');
    return {
      role: msg['role'],
      content: blocks(arr(msg['content'], `messages/${i}/content`), `messages/${i}/content`, block),
    };
  });
}

function converseSystem(value: unknown): Json[] {
  return blocks(arr(value, 'system'), 'system', (v, p) => {
    const [kind, text] = member(v, p);
    if (kind !== 'text')
      throw invalidRequest(
        kind === 'guardContent'
          ? "Guard content in the system prompt is evaluated by Bedrock's guardrails, which the Messages API " +
              'does not run.'
          : `Malformed input request: #/${p}: a system block is text or cachePoint, not ${kind}.`,
      );
    return { type: 'text', text: str(text, `${p}/text`) };
  });
}

function inferenceOf(value: unknown, defaultMaxTokens: number): Json {
  const inf = value === undefined ? {} : obj(value, 'inferenceConfig');
  for (const key of Object.keys(inf))
    if (!['maxTokens', 'temperature', 'topP', 'stopSequences'].includes(key))
      fail('inferenceConfig', `extraneous key [${key}] is not permitted`);
  const out: Json = { max_tokens: inf['maxTokens'] ?? defaultMaxTokens };
  if (inf['temperature'] !== undefined) out['temperature'] = inf['temperature'];
  if (inf['topP'] !== undefined) out['top_p'] = inf['topP'];
  if (inf['stopSequences'] !== undefined) out['stop_sequences'] = inf['stopSequences'];
  return out;
}

/** `additionalModelRequestFields` into the body: `output_config` merged, anything else set once. */
function mergeExtraFields(out: Json, extra: Json): void {
  for (const [key, value] of Object.entries(extra)) {
    if (key === 'output_config' && out['output_config'] && value && typeof value === 'object')
      out['output_config'] = Object.assign({}, value, out['output_config']);
    else if (Object.hasOwn(out, key))
      throw invalidRequest(
        `additionalModelRequestFields.${key} repeats a field the request already sets.`,
        `Set ${key} once: in its Converse field, or in additionalModelRequestFields.`,
      );
    else out[key] = value;
  }
}

function outputFormat(value: unknown): Json {
  const text = obj(obj(value, 'outputConfig')['textFormat'], 'outputConfig/textFormat');
  if (text['type'] !== 'json_schema') fail('outputConfig/textFormat/type', 'must be "json_schema"');
  const def = obj(
    obj(text['structure'], 'outputConfig/textFormat/structure')['jsonSchema'],
    'outputConfig/textFormat/structure/jsonSchema',
  );
  let schema: unknown;
  try {
    schema = JSON.parse(str(def['schema'], 'outputConfig/textFormat/structure/jsonSchema/schema'));
  } catch {
    fail('outputConfig/textFormat/structure/jsonSchema/schema', 'is not a JSON schema in a string');
  }
  return { type: 'json_schema', schema };
}

export {
  anthropicEventToConverse,
  anthropicToConverseResponse,
  type ConverseStreamState,
} from './converse-response.js';
