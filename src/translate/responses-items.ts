/**
 * A Responses conversation as the gateway keeps it (`store: true`): the input as items with a type and an id (as
 * `GET /v1/responses/{id}/input_items` lists them), and a kept response's output as the input of the next turn
 * (`previous_response_id`), with Claude's signed thinking put back where the client was not given it.
 */

type Json = Record<string, unknown>;

const PREFIX: Record<string, string> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  reasoning: 'rs',
};

/** A message's content as parts (a string is one text part: `output_text` from the assistant, else `input_text`). */
function partsOf(role: unknown, content: unknown): unknown {
  if (typeof content !== 'string') return content;
  return [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: content }];
}

/**
 * The input of a request as items: a string is one user message; each item gets a type and, when it has none, an id
 * made from the response's (`msg_<hex>_in0`, ...).
 */
export function inputItems(input: unknown, responseId: string): Json[] {
  const raw: unknown[] = typeof input === 'string' ? [{ role: 'user', content: input }] : (input as unknown[]);
  const hex = responseId.replace(/^resp_/, '');
  return raw.map((value, i) => {
    const item = Object.assign({}, value as Json);
    const type = typeof item['type'] === 'string' ? item['type'] : 'message';
    item['type'] = type;
    if (type === 'message') item['content'] = partsOf(item['role'], item['content']);
    if (typeof item['id'] !== 'string') item['id'] = `${PREFIX[type] ?? 'item'}_${hex}_in${i}`;
    return item;
  });
}

/**
 * A kept response's output as input items for the next turn: its reasoning items with the signed thinking they were
 * kept with (`sealed`, by item id), so that Claude gets its thinking back before a tool use it led to.
 */
export function outputAsInput(output: readonly Json[], sealed: Readonly<Record<string, string>>): Json[] {
  return output.map((item) => {
    const thinking = item['type'] === 'reasoning' ? sealed[String(item['id'])] : undefined;
    return thinking ? Object.assign({}, item, { encrypted_content: thinking }) : item;
  });
}

/** The response an item id of ours belongs to (`rs_bc_1f2e_2` → `resp_bc_1f2e`), or undefined for another's id. */
export function responseOfItem(id: string): string | undefined {
  const m = /^(?:msg|fc|fco|rs)_(\w+?)_(?:in)?\d+$/.exec(id);
  return m ? `resp_${m[1]}` : undefined;
}

/** The item of this id in a kept response, as input: from its output (with its thinking) or from its input. */
export function keptItem(
  kept: { response: Json; input: readonly Json[]; sealed: Readonly<Record<string, string>> },
  id: string,
): Json | undefined {
  const output = outputAsInput((kept.response['output'] ?? []) as Json[], kept.sealed);
  return output.find((item) => item['id'] === id) ?? kept.input.find((item) => item['id'] === id);
}

/** Whether an input holds `item_reference` items (the AI SDK sends its stored reasoning so). */
export const hasReferences = (input: unknown): boolean =>
  Array.isArray(input) && input.some((item) => (item as Json | null)?.['type'] === 'item_reference');
