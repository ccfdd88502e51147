import { invalidRequest } from '../errors.js';

// Anthropic Messages → Converse: the other way from converse.ts, for `convert` and the round-trip tests.

type Json = Record<string, unknown>;

function cachePointOf(cc: unknown): Json | undefined {
  if (!cc || typeof cc !== 'object') return undefined;
  const ttl = (cc as Json)['ttl'];
  return { cachePoint: ttl === undefined ? { type: 'default' } : { type: 'default', ttl } };
}

function withCachePoints(items: readonly unknown[], one: (b: Json) => Json): Json[] {
  const out: Json[] = [];
  for (const item of items) {
    const b = item as Json;
    out.push(one(b));
    const point = cachePointOf(b['cache_control']);
    if (point) out.push(point);
  }
  return out;
}

function imageOf(b: Json): Json {
  const source = b['source'] as Json;
  if (source['type'] !== 'base64')
    throw invalidRequest('Converse takes image bytes, not an image URL.', 'Send the image as base64.');
  return { image: { format: String(source['media_type']).replace(/^image\//, ''), source: { bytes: source['data'] } } };
}

function documentOf(b: Json): Json {
  const source = b['source'] as Json;
  const doc: Json = { format: source['type'] === 'base64' ? 'pdf' : 'txt', name: b['title'] ?? 'document' };
  if (source['type'] === 'base64') doc['source'] = { bytes: source['data'] };
  else if (source['type'] === 'text') doc['source'] = { text: source['data'] };
  else if (source['type'] === 'content')
    doc['source'] = { content: (source['content'] as Json[]).map((c) => ({ text: c['text'] })) };
  else throw invalidRequest('Converse takes document bytes or text, not a document URL.');
  if (b['context'] !== undefined) doc['context'] = b['context'];
  if (b['citations'] !== undefined) doc['citations'] = b['citations'];
  return { document: doc };
}

/** One Anthropic content block as its Converse block. */
export function converseBlockOf(b: Json): Json {
  switch (b['type']) {
    case 'text':
      return { text: b['text'] };
    case 'image':
      return imageOf(b);
    case 'document':
      return documentOf(b);
    case 'tool_use':
      return { toolUse: { toolUseId: b['id'], name: b['name'], input: b['input'] } };
    case 'tool_result': {
      const content =
        typeof b['content'] === 'string'
          ? [{ text: b['content'] }]
          : ((b['content'] as Json[] | undefined) ?? []).map((c) =>
              c['type'] === 'text' ? { text: c['text'] } : c['type'] === 'image' ? imageOf(c) : documentOf(c),
            );
      const r: Json = { toolUseId: b['tool_use_id'], content };
      if (b['is_error'] === true) r['status'] = 'error';
      return { toolResult: r };
    }
    case 'thinking': {
      const r: Json = { text: b['thinking'] };
      if (b['signature'] !== undefined) r['signature'] = b['signature'];
      return { reasoningContent: { reasoningText: r } };
    }
    case 'redacted_thinking':
      return { reasoningContent: { redactedContent: Buffer.from(String(b['data']), 'utf8').toString('base64') } };
    default:
      throw invalidRequest(`A ${String(b['type'])} block has no Converse equivalent.`);
  }
}

const MAPPED = new Set([
  'model',
  'stream',
  'messages',
  'system',
  'max_tokens',
  'temperature',
  'top_p',
  'stop_sequences',
  'tools',
  'tool_choice',
]);

/** Anthropic tools and tool choice as Converse's `toolConfig`. */
function toolConfigOf(tools: Json[], choice: unknown): Json {
  const toolConfig: Json = {
    tools: withCachePoints(tools, (t) => {
      const spec: Json = { name: t['name'] };
      if (t['description'] !== undefined) spec['description'] = t['description'];
      spec['inputSchema'] = { json: t['input_schema'] };
      if (t['strict'] !== undefined) spec['strict'] = t['strict'];
      return { toolSpec: spec };
    }),
  };
  const c = choice as Json | undefined;
  if (c) toolConfig['toolChoice'] = c['type'] === 'tool' ? { tool: { name: c['name'] } } : { [String(c['type'])]: {} };
  return toolConfig;
}

/**
 * An Anthropic Messages body as the Converse request that means the same: fields Converse has no
 * member for (thinking, top_k, betas, ...) go in `additionalModelRequestFields`, as Bedrock takes them.
 */
export function anthropicToConverse(body: Json): Json {
  const out: Json = {};
  out['messages'] = ((body['messages'] as Json[]) ?? []).map((m) => ({
    role: m['role'],
    content: withCachePoints(
      typeof m['content'] === 'string' ? [{ type: 'text', text: m['content'] }] : (m['content'] as Json[]),
      converseBlockOf,
    ),
  }));
  const system = body['system'];
  if (system !== undefined)
    out['system'] = withCachePoints(
      typeof system === 'string' ? [{ type: 'text', text: system }] : (system as Json[]),
      (b) => ({ text: b['text'] }),
    );
  const inf: Json = {};
  if (body['max_tokens'] !== undefined) inf['maxTokens'] = body['max_tokens'];
  if (body['temperature'] !== undefined) inf['temperature'] = body['temperature'];
  if (body['top_p'] !== undefined) inf['topP'] = body['top_p'];
  if (body['stop_sequences'] !== undefined) inf['stopSequences'] = body['stop_sequences'];
  if (Object.keys(inf).length) out['inferenceConfig'] = inf;
  if (body['tools'] !== undefined) out['toolConfig'] = toolConfigOf(body['tools'] as Json[], body['tool_choice']);
  const extra: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (MAPPED.has(key) || key === 'anthropic_version') continue;
    if (key === 'output_config' && value && typeof value === 'object' && (value as Json)['format']) {
      const { format, ...rest } = value as Json;
      out['outputConfig'] = {
        textFormat: {
          type: 'json_schema',
          structure: { jsonSchema: { schema: JSON.stringify((format as Json)['schema']) } },
        },
      };
      if (Object.keys(rest).length) extra[key] = rest;
      continue;
    }
    extra[key] = value;
  }
  if (Object.keys(extra).length) out['additionalModelRequestFields'] = extra;
  return out;
}
