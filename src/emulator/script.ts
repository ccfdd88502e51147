import { z } from 'zod';

/**
 * `--script FILE`: rules that match the model and the last user text (regular expressions) to a
 * scripted reply, so people can test their own apps deterministically. First match wins.
 *
 * ```yaml
 * rules:
 *   - match: { text: "weather" }
 *     reply: { toolUse: { name: get_weather, input: { city: Paris } } }
 *   - match: { model: "haiku", text: "^fail" }
 *     reply: { error: { status: 429, type: ThrottlingException, message: "Too many requests, please wait before trying
 * again." } }
 *   - match: { text: "slow" }
 *     reply: { text: "finally", delayMs: 500 }
 * ```
 */
const replySchema = z
  .object({
    text: z.string().optional(),
    toolUse: z.object({ name: z.string(), input: z.unknown() }).optional(),
    error: z
      .object({
        status: z.number().int().min(400).max(599),
        type: z.string().regex(/^[A-Z][A-Za-z]+$/),
        message: z.string(),
      })
      .optional(),
    delayMs: z.number().min(0).max(600_000).optional(),
  })
  .strict();

export const scriptSchema = z
  .object({
    rules: z.array(
      z
        .object({
          match: z.object({ model: z.string().optional(), text: z.string().optional() }).strict().default({}),
          reply: replySchema,
        })
        .strict(),
    ),
  })
  .strict();

export type Script = z.infer<typeof scriptSchema>;
export type ScriptReply = z.infer<typeof replySchema>;

interface CompiledRule {
  model: RegExp | undefined;
  text: RegExp | undefined;
  reply: ScriptReply;
}

/** Validates and compiles a script; throws a readable error for a bad file. */
export function compileScript(input: unknown): (model: string, text: string) => ScriptReply | undefined {
  const parsed = scriptSchema.safeParse(input);
  if (!parsed.success) {
    throw new TypeError(
      `script: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const rules: CompiledRule[] = parsed.data.rules.map((r, i) => {
    try {
      return {
        model: r.match.model ? new RegExp(r.match.model, 'i') : undefined,
        text: r.match.text ? new RegExp(r.match.text, 'i') : undefined,
        reply: r.reply,
      };
    } catch (err) {
      throw new TypeError(`script: rules[${i}]: ${(err as Error).message}`);
    }
  });
  return (model, text) => rules.find((r) => (!r.model || r.model.test(model)) && (!r.text || r.text.test(text)))?.reply;
}
