import type { BedrockHttpRequest } from './to-bedrock.js';

/** The forms `convert` writes a Bedrock call in. */
export type CallFormat = 'aws-cli' | 'curl' | 'boto3' | 'typescript' | 'python' | 'bedrock-body';
export const CALL_FORMATS: readonly CallFormat[] = ['aws-cli', 'curl', 'boto3', 'typescript', 'python', 'bedrock-body'];

/** Single-quotes a string for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function indentJson(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);
}

/** A JSON value as a Python literal (true/false/null become True/False/None). */
function pythonLiteral(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  const next = `${indent}    `;
  if (Array.isArray(value))
    return value.length ? `[\n${value.map((v) => `${next}${pythonLiteral(v, next)}`).join(',\n')},\n${indent}]` : '[]';
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length
    ? `{\n${entries.map(([k, v]) => `${next}${JSON.stringify(k)}: ${pythonLiteral(v, next)}`).join(',\n')},\n${indent}}`
    : '{}';
}

/**
 * Writes a translated Bedrock request as a runnable call: an AWS CLI command, a curl command
 * (SigV4 by curl itself), boto3, the Anthropic Bedrock SDK in TypeScript or Python, or the bare body.
 *
 * @example
 * ```ts
 * renderBedrockCall(toBedrockRequest(req, { modelId }), { modelId, region: 'us-west-2', format: 'aws-cli' });
 * ```
 */
export function renderBedrockCall(
  request: BedrockHttpRequest,
  options: { modelId: string; region: string; format: CallFormat; anthropicModel?: string | undefined },
): string {
  const call: Call = { body: request.body, stream: request.stream, path: request.path, ...options };
  return RENDERERS[options.format](call);
}

interface Call {
  body: Record<string, unknown>;
  stream: boolean;
  path: string;
  modelId: string;
  region: string;
}

const RENDERERS: Record<CallFormat, (call: Call) => string> = {
  'bedrock-body': ({ body }) => JSON.stringify(body, null, 2),
  'aws-cli': ({ body, stream, modelId, region }) =>
    [
      `aws bedrock-runtime ${stream ? 'invoke-model-with-response-stream' : 'invoke-model'} \\`,
      `  --region ${region} \\`,
      `  --model-id ${shellQuote(modelId)} \\`,
      `  --content-type application/json \\`,
      `  --accept application/json \\`,
      `  --cli-binary-format raw-in-base64-out \\`,
      `  --body ${shellQuote(JSON.stringify(body))} \\`,
      '  output.json',
    ].join('\n'),
  curl: ({ body, stream, path, region }) =>
    [
      `curl -sS https://bedrock-runtime.${region}.amazonaws.com${path} \\`,
      `  --aws-sigv4 "aws:amz:${region}:bedrock" \\`,
      '  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\',
      '  ${AWS_SESSION_TOKEN:+-H "x-amz-security-token: $AWS_SESSION_TOKEN"} \\',
      '  -H "content-type: application/json" \\',
      `  -H "accept: ${stream ? 'application/vnd.amazon.eventstream' : 'application/json'}" \\`,
      `  --data ${shellQuote(JSON.stringify(body))}${stream ? ' \\\n  --output stream.bin' : ''}`,
    ].join('\n'),
  boto3: ({ body, stream, modelId, region }) =>
    [
      'import json',
      'import boto3',
      '',
      `client = boto3.client("bedrock-runtime", region_name=${JSON.stringify(region)})`,
      `body = ${pythonLiteral(body)}`,
      stream
        ? `response = client.invoke_model_with_response_stream(modelId=${JSON.stringify(modelId)}, ` +
          `body=json.dumps(body))\nfor event in response["body"]:\n    chunk = ` +
          `json.loads(event["chunk"]["bytes"])\n    if chunk["type"] == "content_block_delta" and ` +
          `chunk["delta"]["type"] == "text_delta":\n        print(chunk["delta"]["text"], end="", ` +
          `flush=True)\nprint()`
        : `response = client.invoke_model(modelId=${JSON.stringify(modelId)}, body=json.dumps(body), ` +
          `contentType="application/json", accept="application/json")\nmessage = ` +
          `json.loads(response["body"].read())\nprint(message["content"][0]["text"])`,
    ].join('\n'),
  typescript: ({ body, stream, modelId, region }) => {
    const { call, args } = sdkCall(body, modelId);
    return [
      "import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';",
      '',
      `const client = new AnthropicBedrock({ awsRegion: ${JSON.stringify(region)} });`,
      stream
        ? `const stream = ${call}.stream(${indentJson(args, '')});\nstream.on('text', (text) => ` +
          `process.stdout.write(text));\nawait stream.finalMessage();`
        : `const message = await ${call}.create(${indentJson(args, '')});\nconsole.log(message.content);`,
    ].join('\n');
  },
  python: ({ body, stream, modelId, region }) => {
    const { call, args } = sdkCall(body, modelId);
    const kwargs = Object.entries(args)
      .map(([k, v]) => `    ${k}=${pythonLiteral(v, '    ')},`)
      .join('\n');
    return [
      'from anthropic import AnthropicBedrock',
      '',
      `client = AnthropicBedrock(aws_region=${JSON.stringify(region)})`,
      stream
        ? `with ${call}.stream(\n${kwargs}\n) as stream:\n    for text in stream.text_stream:\n        print(text, ` +
          `end="", flush=True)\nprint()`
        : `message = ${call}.create(\n${kwargs}\n)\nprint(message.content)`,
    ].join('\n');
  },
};

/** The SDK's call (betas go through client.beta) and its arguments: the body without its Bedrock fields. */
function sdkCall(body: Record<string, unknown>, modelId: string) {
  const { anthropic_version: _v, anthropic_beta: betas, ...params } = body;
  const hasBetas = Array.isArray(betas) && betas.length > 0;
  const call = hasBetas ? 'client.beta.messages' : 'client.messages';
  const args: Record<string, unknown> = { model: modelId, ...params, ...(hasBetas ? { betas } : {}) };
  return { call, args };
}
