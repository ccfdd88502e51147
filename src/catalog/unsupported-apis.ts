/** An API of the Anthropic platform that Amazon Bedrock does not have. */
export interface UnsupportedApi {
  /** Request paths that belong to it. */
  pattern: RegExp;
  /** Its name, as a sentence uses it. */
  name: string;
  /** What to use on Bedrock instead. */
  fix: string;
  /** The gateway answers it itself (from the catalog), though Bedrock has no such API. */
  servedByGateway?: boolean;
}

/** The one table of them: the gateway answers these paths with the fix, and `check` flags them. */
export const UNSUPPORTED_APIS: readonly UnsupportedApi[] = [
  {
    pattern: /^\/v1\/messages\/batches(\/|$)/,
    name: 'Message Batches',
    fix: 'Use Bedrock batch inference (CreateModelInvocationJob with S3 input), or send the requests one by one.',
  },
  {
    pattern: /^\/v1\/files(\/|$)/,
    name: 'the Files API',
    fix: 'Send documents and images inline in the Messages request instead.',
  },
  {
    pattern: /^\/v1\/skills(\/|$)/,
    name: 'the Skills API',
    fix: 'Send the instructions inline in the Messages request instead.',
  },
  {
    pattern: /^\/v1\/models(\/|$)/,
    name: 'the Models API',
    fix: 'List models with `bedrock-claude models` or ListFoundationModels / ListInferenceProfiles.',
    servedByGateway: true,
  },
  { pattern: /^\/v1\/complete(\/|$)/, name: 'the legacy Text Completions API', fix: 'Use /v1/messages.' },
  {
    pattern: /^\/v1\/(organizations|admin)(\/|$)/,
    name: 'the Admin API',
    fix: 'Manage access with IAM and the Bedrock console.',
  },
];

/** The unsupported API a path (or a whole URL) belongs to; the query string is ignored. */
export function unsupportedApiFor(path: string): UnsupportedApi | undefined {
  const pathname = path.split('?')[0]!;
  const at = pathname.indexOf('/v1/');
  const tail = at > 0 ? pathname.slice(at) : pathname;
  return UNSUPPORTED_APIS.find((api) => api.pattern.test(tail));
}
