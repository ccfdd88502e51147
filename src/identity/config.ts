import { z } from 'zod';
import { budgetSchema, limitsSchema } from '../control/records.js';
import { managedSchema } from './managed-settings.js';
import { telemetrySchema } from './telemetry-relay.js';

const window = z
  .object({ max: z.number().int().positive().max(100_000), windowSeconds: z.number().int().positive().max(86_400) })
  .strict();

/**
 * Sign-in with the company's identity provider (Claude Code's gateway login): any OpenID Connect provider, the claims
 * that carry email and groups, who may sign in, and the gateway's own short-lived tokens.
 */
export const identitySchema = z
  .object({
    oidc: z
      .object({
        /** The provider's issuer URL (discovery at `/.well-known/openid-configuration`). */
        issuer: z.string().url(),
        clientId: z.string().min(1).max(512),
        clientSecret: z.string().min(1).max(4096).optional(),
        scopes: z
          .array(z.string().regex(/^[\x21-\x7e]{1,100}$/))
          .default(['openid', 'profile', 'email', 'offline_access']),
        emailClaim: z.string().min(1).default('email'),
        groupsClaim: z.string().min(1).default('groups'),
        /** Only these email domains may sign in (case-insensitive); none: any. */
        allowedEmailDomains: z.array(z.string().min(1)).optional(),
        /** Only members of one of these groups may sign in; none: anyone the provider vouches for. */
        allowedGroups: z.array(z.string().min(1)).optional(),
        usePkce: z.boolean().default(true),
      })
      .strict(),
    session: z
      .object({
        /** Signs the gateway's tokens (HS256); a list rotates them: the first signs, all verify. */
        jwtSecret: z.union([z.string().min(32), z.array(z.string().min(32)).min(1).max(8)]),
        /** How long a token lasts before the device refreshes it (default 1 hour). */
        ttlHours: z.number().positive().max(24).default(1),
      })
      .strict(),
    /**
     * IdP groups to teams: a signed-in member of the group reports under the team and counts against its budget and
     * limits (teams may also list their groups through the admin API). A person in several counts against each.
     */
    groups: z.record(z.string().min(1).max(256), z.string().min(1).max(200)).optional(),
    /** Every signed-in person's own allow-list, budget and limits, unless an admin set theirs (admin API). */
    people: z
      .object({
        models: z.array(z.string().min(1).max(2048)).min(1).max(1000).optional(),
        budget: budgetSchema.optional(),
        limits: limitsSchema.optional(),
      })
      .strict()
      .optional(),
    /**
     * The dashboard's roles, from IdP groups: `admins` may do everything; `teamAdmins` maps a group to the teams its
     * members run (their keys, budgets, limits and usage). Everyone else who signs in is a member (their own keys and
     * usage).
     */
    roles: z
      .object({
        admins: z.array(z.string().min(1).max(256)).max(100).optional(),
        teamAdmins: z
          .record(
            z.string().min(1).max(256),
            z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200))]),
          )
          .optional(),
      })
      .strict()
      .optional(),
    /** Per client address: device codes handed out, and codes tried on the verification page (default 30 and 10). */
    rateLimits: z
      .object({ deviceAuthorization: window.optional(), deviceVerify: window.optional() })
      .strict()
      .optional(),
    /** Said after a signed-in person's budget refusal (where to ask for more: "ask in #claude-limits"). */
    blockedMessage: z.string().max(300).optional(),
    /** Shown next to the sign-in code (plain text). */
    loginNotice: z.string().max(500).optional(),
    /** Managed settings for signed-in Claude Code clients, by group or email domain. */
    managed: managedSchema.optional(),
    /** Where signed-in clients' OpenTelemetry is relayed (their settings point their exporters at the gateway). */
    telemetry: telemetrySchema.optional(),
  })
  .strict();

export type IdentityConfig = z.infer<typeof identitySchema>;
