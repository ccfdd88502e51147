// A Claude apps gateway's `gateway.yaml`, read as bedrock-claude's own config: the sections both products have are
// taken as they are (listen, oidc, session, store, Bedrock upstreams, models, managed, telemetry, admin, rate
// limits), and anything this gateway does not do is refused by name, with what to do instead.

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The top-level sections that only a Claude apps gateway's file has (ours are camelCase and different). */
const REFERENCE_SECTIONS = ['listen', 'oidc', 'session', 'upstreams', 'auto_include_builtin_models', 'rate_limits'];

/** Whether a parsed config is a Claude apps gateway's `gateway.yaml`. */
export function isReferenceConfig(raw: unknown): raw is Obj {
  return isObj(raw) && REFERENCE_SECTIONS.some((k) => k in raw);
}

class Refused extends Error {}

/** Refuses a key by its path, saying why and what to do. */
function refuse(path: string, why: string): never {
  throw new Refused(`${path}: ${why}`);
}

/** Takes the keys a section may have: each known one by `take`, anything else refused by name. */
function section(value: unknown, path: string, take: Record<string, (v: unknown) => void>, unsupported: Obj = {}) {
  if (value === undefined) return;
  if (!isObj(value)) refuse(path, 'expected a mapping');
  for (const [k, v] of Object.entries(value)) {
    const why = unsupported[k];
    if (typeof why === 'string') refuse(`${path}.${k}`, why);
    const fn = take[k];
    if (!fn) refuse(`${path}.${k}`, 'not a key bedrock-claude knows in a Claude apps gateway file');
    fn(v);
  }
}

const NOT_HERE = 'not supported by bedrock-claude';

function listen(out: Obj, v: unknown): void {
  section(
    v,
    'listen',
    {
      host: (x) => (out['host'] = x),
      port: (x) => (out['port'] = x),
      public_url: (x) => (out['publicUrl'] = x),
    },
    {
      tls: `${NOT_HERE}: terminate TLS in front of the gateway (a load balancer or a reverse proxy) and set public_url`,
      trusted_proxies: `${NOT_HERE}: the gateway uses the connection's address`,
    },
  );
}

function oidc(identity: Obj, v: unknown): void {
  const o: Obj = {};
  identity['oidc'] = o;
  const as = (name: string) => (x: unknown) => (o[name] = x);
  section(
    v,
    'oidc',
    {
      issuer: as('issuer'),
      client_id: as('clientId'),
      client_secret: as('clientSecret'),
      allowed_email_domains: as('allowedEmailDomains'),
      allowed_groups: as('allowedGroups'),
      groups_claim: as('groupsClaim'),
      email_claim: as('emailClaim'),
      scopes: (x) => (o['scopes'] = typeof x === 'string' ? x.split(/\s+/).filter(Boolean) : x),
      use_pkce: as('usePkce'),
      // bedrock-claude always falls back to userinfo for a claim the ID token lacks.
      userinfo_fallback: (x) => x === false && refuse('oidc.userinfo_fallback', `false is ${NOT_HERE}`),
    },
    Object.fromEntries(
      [
        'extra_auth_params',
        'clock_skew_seconds',
        'token_endpoint_auth_method',
        'id_token_signed_response_alg',
        'additional_authorized_parties',
        'discovery_url',
        'form_action_origins',
        'ca_cert_pem',
        'google_groups',
        'client_assertion',
        'groups_jsonpath',
        'user_id_claim',
        'use_proxy',
        'scope_on_refresh',
      ].map((k) => [k, NOT_HERE]),
    ),
  );
}

function store(out: Obj, v: unknown): void {
  let url: URL | undefined;
  const auth: { username?: string; password?: string } = {};
  section(
    v,
    'store',
    {
      postgres_url: (x) => (url = new URL(String(x))),
      username: (x) => (auth.username = String(x)),
      password: (x) => (auth.password = String(x)),
    },
    { max_connections: `${NOT_HERE}: the pool size is the gateway's own` },
  );
  if (!url) refuse('store.postgres_url', 'missing (bedrock-claude needs the database URL)');
  if (auth.username) url.username = encodeURIComponent(auth.username);
  if (auth.password) url.password = encodeURIComponent(auth.password);
  out['store'] = url.toString();
}

/** Bedrock upstreams: the first gives the region, endpoint and credentials; the others' regions are the failover. */
function upstreams(out: Obj, v: unknown): void {
  if (!Array.isArray(v) || !v.length) refuse('upstreams', 'a list of at least one upstream');
  const regions: string[] = [];
  v.forEach((u, i) => {
    const path = `upstreams[${i}]`;
    if (!isObj(u)) refuse(path, 'expected a mapping');
    if (u['provider'] !== 'bedrock')
      refuse(`${path}.provider`, `"${String(u['provider'])}" is ${NOT_HERE}: bedrock-claude serves Claude on Bedrock`);
    const aws: Obj = {};
    section(
      u,
      path,
      {
        provider: () => undefined,
        name: () => undefined,
        region: (x) => regions.push(String(x)),
        base_url: (x) => {
          if (i === 0) out['bedrockEndpoint'] = x;
          else if (x !== out['bedrockEndpoint']) refuse(`${path}.base_url`, 'every upstream must share one endpoint');
        },
        auth: (a) =>
          section(a, `${path}.auth`, {
            aws_access_key_id: (x) => (aws['accessKeyId'] = x),
            aws_secret_access_key: (x) => (aws['secretAccessKey'] = x),
            aws_session_token: (x) => (aws['sessionToken'] = x),
            profile: (x) => (aws['profile'] = x),
          }),
        aws_bearer_token: (x) => (aws['apiKey'] = x),
      },
      Object.fromEntries(['guardrail', 'assume_role', 'headers', 'groups', 'models'].map((k) => [k, NOT_HERE])),
    );
    if (i === 0 && Object.keys(aws).length) out['aws'] = aws;
  });
  if (regions[0]) out['region'] = regions[0];
  if (regions.length > 1) out['fallbackRegions'] = regions.slice(1);
}

/** `models[]`: each id a route to its Bedrock model (`upstream_model`, else the id itself), in the first region. */
function models(out: Obj, v: unknown): void {
  if (!Array.isArray(v)) refuse('models', 'a list');
  const routes: Obj = {};
  if (typeof out['region'] !== 'string') refuse('models', 'needs a Bedrock upstream with its region');
  v.forEach((m, i) => {
    if (!isObj(m) || typeof m['id'] !== 'string') refuse(`models[${i}].id`, 'missing');
    let modelId = m['id'];
    section(m, `models[${i}]`, {
      id: () => undefined,
      label: () => undefined,
      description: () => undefined,
      upstream_model: (x) => {
        const first = isObj(x) ? Object.values(x)[0] : x;
        if (typeof first === 'string') modelId = first;
      },
    });
    routes[m['id']] = [{ region: out['region'], modelId }];
  });
  out['routes'] = routes;
}

function admin(out: Obj, identity: Obj, v: unknown): void {
  const keys: Obj[] = [];
  const named = (write: boolean) => (x: unknown) => {
    if (!Array.isArray(x)) refuse(`admin.${write ? 'write' : 'read'}_keys`, 'a list of {id, key}');
    for (const k of x) if (isObj(k)) keys.push({ id: k['id'], key: k['key'], write });
  };
  section(
    v,
    'admin',
    {
      write_keys: named(true),
      read_keys: named(false),
      admin_groups: (x) =>
        (identity['roles'] = Object.assign(isObj(identity['roles']) ? identity['roles'] : {}, { admins: x })),
      blocked_message: (x) => (identity['blockedMessage'] = x),
      group_limit_mode: (x) =>
        x !== 'min' && refuse('admin.group_limit_mode', `"${String(x)}": bedrock-claude always applies the tightest`),
    },
    Object.fromEntries(
      ['billing_group_tag', 'pooled_conflict_rule', 'pooled_priority_order'].map((k) => [k, NOT_HERE]),
    ),
  );
  if (keys.length) out['adminKeys'] = keys;
}

/** The rest of the top level: each section both products have, or a refusal by name. */
function topLevel(out: Obj, identity: Obj): Record<string, (v: unknown) => void> {
  const limit = (name: string) => (x: unknown) => {
    if (!isObj(x)) refuse(`rate_limits.${name}`, 'expected {max, window_seconds}');
    return { max: x['max'], windowSeconds: x['window_seconds'] };
  };
  return {
    listen: (v) => listen(out, v),
    oidc: (v) => oidc(identity, v),
    session: (v) =>
      section(v, 'session', {
        jwt_secret: (x) => ((identity['session'] as Obj)['jwtSecret'] = x),
        ttl_hours: (x) => ((identity['session'] as Obj)['ttlHours'] = x),
      }),
    store: (v) => store(out, v),
    upstreams: (v) => upstreams(out, v),
    models: (v) => models(out, v),
    auto_include_builtin_models: (v) =>
      v === false &&
      refuse('auto_include_builtin_models', `false is ${NOT_HERE}: the built-in catalog is always there`),
    managed: (v) => (identity['managed'] = v),
    telemetry: (v) =>
      section(
        v,
        'telemetry',
        { forward_to: (x) => (identity['telemetry'] = { forwardTo: forwardTo(x) }) },
        {
          resource_attributes: NOT_HERE,
        },
      ),
    admin: (v) => admin(out, identity, v),
    rate_limits: (v) => {
      const r: Obj = {};
      section(v, 'rate_limits', {
        device_authorization: (x) => (r['deviceAuthorization'] = limit('device_authorization')(x)),
        device_verify: (x) => (r['deviceVerify'] = limit('device_verify')(x)),
      });
      identity['rateLimits'] = r;
    },
    limits: (v) =>
      section(v, 'limits', {
        max_request_bytes: (x) =>
          (out['limits'] = Object.assign(isObj(out['limits']) ? out['limits'] : {}, { bodyBytes: x })),
      }),
    timeouts: (v) =>
      section(v, 'timeouts', {
        upstream_ttfb_ms: (x) =>
          (out['limits'] = Object.assign(isObj(out['limits']) ? out['limits'] : {}, { firstByteMs: x })),
      }),
    login_notice: (v) => (identity['loginNotice'] = v),
  };
}

function forwardTo(x: unknown): Obj[] {
  if (!Array.isArray(x)) refuse('telemetry.forward_to', 'a list');
  return x.map((d, i) => {
    const o: Obj = {};
    section(
      d,
      `telemetry.forward_to[${i}]`,
      {
        url: (v) => (o['url'] = v),
        headers: (v) => (o['headers'] = v),
        metrics: (v) => (o['metrics'] = v),
        logs: (v) => (o['logs'] = v),
        traces: (v) => (o['traces'] = v),
      },
      { auth: NOT_HERE },
    );
    return o;
  });
}

const REFUSED_SECTIONS: Obj = {
  enforcement: `${NOT_HERE}: budgets are refused when the store cannot say (Redis: counters.failMode)`,
  access_control: NOT_HERE,
  pricing: `${NOT_HERE}: prices come from the catalog and the AWS Price List (bedrock-claude models sync --prices)`,
  load_test_mode: NOT_HERE,
  cri: NOT_HERE,
};

/**
 * A Claude apps gateway's `gateway.yaml` (already parsed and interpolated) as bedrock-claude's config: a person's
 * sign-in under `identity`, Bedrock upstreams as the region, endpoint, credentials and failover regions, models as
 * routes, admin keys by name. Throws an Error naming the first key it does not take and why.
 */
export function fromReferenceConfig(raw: Obj): Obj {
  const out: Obj = {};
  const identity: Obj = { session: {} };
  // The upstreams first: models become routes in their region.
  const ordered = Object.fromEntries(
    Object.entries(raw).sort(([a], [b]) => Number(b === 'upstreams') - Number(a === 'upstreams')),
  );
  try {
    section(ordered, '(gateway.yaml)', topLevel(out, identity), REFUSED_SECTIONS);
  } catch (err) {
    if (err instanceof Refused) throw new Error(`config: a Claude apps gateway file: ${err.message}`, { cause: err });
    throw err;
  }
  if (identity['oidc']) out['identity'] = identity;
  return out;
}
