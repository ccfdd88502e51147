import { z } from 'zod';

/**
 * What a models file's entry may say, checked before it joins the catalog: the fields a mistake in would misprice or
 * misroute every call (an ID, a context window, a price), each with what was expected. The other fields are taken as
 * they are (the catalog's own type describes them).
 */
const positiveInt = z.number().int().positive();
const price = z.number().nonnegative('a price in USD per million tokens, 0 or more');
const prices = z.looseObject({
  input: price.optional(),
  output: price.optional(),
  cacheWrite: price.optional(),
  cacheWrite1h: price.optional(),
  cacheRead: price.optional(),
});

const entrySchema = z.looseObject({
  name: z.string().min(1).max(200),
  bedrockId: z
    .string()
    .regex(/^anthropic\.[\w.:-]{1,200}$/, 'a Bedrock model ID, e.g. anthropic.claude-sonnet-4-6')
    .optional(),
  aliases: z.array(z.string().min(1).max(200)).max(50).optional(),
  contextWindow: positiveInt.optional(),
  maxOutputTokens: positiveInt.optional(),
  pricing: prices.optional(),
});

const fileSchema = z.looseObject({ models: z.array(entrySchema).optional() });

/** A validation issue's path as a person writes it: `models[0].pricing.input`, `(the file)` for the root. */
export const issuePath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  ) || '(the file)';

/** Throws, naming the entry and the field, when a models file says something the catalog cannot take. */
export function checkModelsFile(overrides: unknown): void {
  const parsed = fileSchema.safeParse(overrides ?? {});
  if (parsed.success) return;
  const said = parsed.error.issues.map((i) => {
    return `${issuePath(i.path)}: ${i.message.replace(/^Invalid input: /, '')}`;
  });
  throw new TypeError(`models file: ${said.join('; ')}`);
}
