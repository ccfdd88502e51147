/** The browser pages of the sign-in: plain HTML, every value escaped, no script. */

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}' +
    'code{font-size:1.6rem;letter-spacing:.1rem}button{font:inherit;padding:.5rem 1rem;margin:.5rem .5rem 0 0}' +
    'input{font:inherit;padding:.4rem;text-transform:uppercase}</style></head><body>' +
    `<h1>${escape(title)}</h1>${body}</body></html>`
  );
}

/** The code-entry form, or "Approve sign-in?" with the code and two buttons (never submitted by itself). */
export function devicePage(userCode: string | undefined, notice: string | undefined): string {
  const note = notice ? `<p>${escape(notice)}</p>` : '';
  if (!userCode)
    return page(
      'Sign in to bedrock-claude',
      `${note}<form method="post" action="/device"><label>Code shown on your device<br>` +
        '<input name="user_code" autocomplete="off" maxlength="9" required></label><br>' +
        '<button type="submit">Continue</button></form>',
    );
  return page(
    'Approve sign-in?',
    `${note}<p>Check that your device shows this code:</p><p><code>${escape(userCode)}</code></p>` +
      `<form method="post" action="/device"><input type="hidden" name="user_code" value="${escape(userCode)}">` +
      '<button type="submit">This matches my device — continue</button>' +
      '<button type="submit" formaction="/device/deny">Deny</button></form>',
  );
}

/** A page that says one thing (done, refused, expired, blocked). */
export function messagePage(title: string, text: string): string {
  return page(title, `<p>${escape(text)}</p>`);
}

/** Headers of every sign-in page: nothing cached, no framing, forms only to here and the identity provider. */
export function pageHeaders(idpOrigin: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; " +
      `form-action 'self' ${idpOrigin}; base-uri 'none'`,
  };
}
