import type { Diagnostic } from './diagnostic.js';
import { estimateInputTokens } from './estimate-tokens.js';
import { modelSaid, validation, type Rule } from './rule.js';

// The rules about what a request says: its turns and blocks, its sampling settings, its size.

const EMPTY_TURN_FIX =
  'Give every message some content, or drop the empty one; only a last assistant turn (a prefill) may be empty.';
const EMPTY_BLOCK_FIX =
  'Drop the empty text block (a tool that printed nothing is a common source), or put text in it.';

export const emptyContent: Rule = {
  code: 'empty-content',
  description:
    'An empty message or text block, or a prefill (last assistant turn) that ends in whitespace: Bedrock refuses ' +
    'all three.',
  run(ctx) {
    const messages = ctx.body?.['messages'];
    if (!Array.isArray(messages)) return [];
    const out: Diagnostic[] = [];
    const push = (location: string, detail: string, fix: string) => {
      const msg = modelSaid(detail);
      out.push({ code: 'empty-content', severity: 'error', location, message: msg, fix, bedrock: validation(msg) });
    };
    messages.forEach((m, i) => {
      const content = (m as { content?: unknown } | null)?.content;
      if (typeof content !== 'string' && !Array.isArray(content)) return; // messages-invalid reports it
      const prefill = i === messages.length - 1 && (m as { role?: unknown }).role === 'assistant';
      if (content.length === 0) {
        if (!prefill)
          push(
            `body.messages[${i}].content`,
            `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
            EMPTY_TURN_FIX,
          );
        return;
      }
      const texts: Array<[location: string, text: string]> = [];
      if (typeof content === 'string') texts.push([`body.messages[${i}].content`, content]);
      else {
        content.forEach((b, j) => {
          const block = b as { type?: unknown; text?: unknown } | null;
          if (block?.type === 'text' && typeof block.text === 'string')
            texts.push([`body.messages[${i}].content[${j}].text`, block.text]);
        });
      }
      for (const [location, text] of texts) {
        if (text === '') push(location, 'messages: text content blocks must be non-empty', EMPTY_BLOCK_FIX);
        else if (!text.trim())
          push(location, 'messages: text content blocks must contain non-whitespace text', EMPTY_BLOCK_FIX);
      }
      // A prefill ending in whitespace: only when text is what the turn ends with.
      const endsWithText =
        typeof content === 'string' || (content[content.length - 1] as { type?: unknown } | null)?.type === 'text';
      const lastText = texts[texts.length - 1];
      if (prefill && endsWithText && lastText && lastText[1].trim() && /\s$/.test(lastText[1])) {
        push(
          lastText[0],
          'messages: final assistant content cannot end with trailing whitespace',
          'Trim the whitespace off the end of the prefill (the last assistant turn).',
        );
      }
    });
    return out;
  },
};

export const temperatureTopP: Rule = {
  code: 'temperature-and-top-p',
  description: '`temperature` and `top_p` together on a model that rejects it.',
  run(ctx) {
    if (!ctx.body || !ctx.model || ctx.model.temperatureWithTopP) return [];
    if (ctx.body['temperature'] === undefined || ctx.body['top_p'] === undefined) return [];
    const msg = modelSaid('`temperature` and `top_p` cannot both be specified for this model. Please use only one.');
    return [
      {
        code: 'temperature-and-top-p',
        severity: 'error',
        location: 'body.top_p',
        message: msg,
        fix: `Send only one of temperature and top_p to ${ctx.model.displayName}.`,
        bedrock: validation(msg),
      },
    ];
  },
};

export const contextWindow: Rule = {
  code: 'prompt-too-long',
  description: 'A prompt over the model context window without the 1M beta (estimated tokens).',
  run(ctx) {
    if (!ctx.body || !ctx.model) return [];
    const estimate = ctx.input.inputTokens ?? estimateInputTokens(ctx.body);
    const has1m =
      ctx.model.context1m &&
      [...ctx.bodyBetas, ...(ctx.input.format === 'anthropic' ? ctx.headerBetas : [])].includes(
        ctx.catalog.data.betas.context1m,
      );
    const window = has1m ? Math.max(1_000_000, ctx.model.contextWindow) : ctx.model.contextWindow;
    if (estimate <= window) return [];
    const fix =
      !has1m && ctx.model.context1m && ctx.model.contextWindow < 1_000_000
        ? `Add the beta: "anthropic_beta": ["${ctx.catalog.data.betas.context1m}"] (1M tokens on ` +
          `${ctx.model.displayName}), or shorten the prompt.`
        : 'Shorten the prompt (summarise or drop old turns).';
    return [
      {
        code: 'prompt-too-long',
        severity: 'error',
        location: 'body.messages',
        message:
          `Input is too long for requested model: about ${estimate} tokens > ${window} maximum for ` +
          `${ctx.model.displayName}.`,
        fix,
        bedrock: validation('Input is too long for requested model.'),
      },
    ];
  },
};

export const maxTokens: Rule = {
  code: 'max-tokens-over-limit',
  description: '`max_tokens` above the model maximum output.',
  run(ctx) {
    const mt = ctx.body?.['max_tokens'];
    if (!ctx.model || typeof mt !== 'number' || mt <= ctx.model.maxOutputTokens) return [];
    const msg = modelSaid(
      `max_tokens: ${mt} > ${ctx.model.maxOutputTokens}, which is the maximum allowed number of output tokens for ` +
        `${ctx.model.bedrockId}`,
    );
    return [
      {
        code: 'max-tokens-over-limit',
        severity: 'error',
        location: 'body.max_tokens',
        message: msg,
        fix: `Set max_tokens to at most ${ctx.model.maxOutputTokens}.`,
        bedrock: validation(msg),
      },
    ];
  },
};
