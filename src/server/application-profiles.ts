import {
  APPLICATION_PROFILE_ARN,
  profileFromBedrock,
  profileFromSource,
  type ApplicationProfile,
} from '../catalog/application-profiles.js';
import type { Catalog } from '../catalog/catalog.js';
import { controlPlaneGet } from '../aws/control-plane.js';
import type { BedrockAuth } from '../aws/credentials.js';

/** Bedrock's `GetInferenceProfile` for an ARN, in its region: the answer's JSON, or a throw. */
export type ProfileLookup = (arn: string, region: string) => Promise<unknown>;

/**
 * `GetInferenceProfile` on the control plane of the ARN's region (or the configured endpoint, such as
 * the emulator), signed as the gateway's calls are; 5 s at most.
 */
export function bedrockProfileLookup(options: { auth: BedrockAuth; endpoint?: string | undefined }): ProfileLookup {
  return (arn, region) =>
    controlPlaneGet(region, options.auth, `/inference-profiles/${encodeURIComponent(arn)}`, options.endpoint, 5_000);
}

const LEARNT_MAX = 1000;
const FAILED_FOR_MS = 60_000;
/** Look-ups a second, at most (a burst of 10): unknown ARNs from clients must not turn into a flood of AWS calls. */
const LOOKUPS_PER_SECOND = 2;
const LOOKUP_BURST = 10;

/**
 * What the gateway knows of application inference profiles: the config's (`applicationProfiles`:
 * ARN → the system profile or model it was made from) and what Bedrock said when asked
 * (`GetInferenceProfile`, once per ARN, remembered; a failure remembered for a minute; look-ups
 * rate-limited and the memory bounded, since the ARNs come from clients).
 */
export class ApplicationProfiles {
  private readonly configured = new Map<string, ApplicationProfile>();
  private readonly learnt = new Map<string, ApplicationProfile>();
  private readonly failed = new Map<string, number>();
  private readonly asking = new Map<string, Promise<void>>();
  private tokens = LOOKUP_BURST;
  private refilledAt: number;

  constructor(
    private readonly catalog: Catalog,
    configured: Record<string, string> = {},
    private readonly lookup?: ProfileLookup | undefined,
    private readonly clock: () => number = Date.now,
  ) {
    for (const [arn, source] of Object.entries(configured))
      this.configured.set(arn, profileFromSource(arn, source, catalog));
    this.refilledAt = clock();
  }

  /** What is known of an ARN, if anything. */
  get(arn: string): ApplicationProfile | undefined {
    return this.configured.get(arn) ?? this.learnt.get(arn);
  }

  /** Asks Bedrock about an application profile ARN not known yet (at most once at a time per ARN). */
  learn(arn: string): Promise<void> {
    if (!this.lookup || this.get(arn) || !APPLICATION_PROFILE_ARN.test(arn)) return Promise.resolve();
    const until = this.failed.get(arn);
    if (until !== undefined && this.clock() < until) return Promise.resolve();
    const pending = this.asking.get(arn);
    if (pending) return pending;
    if (!this.take()) return Promise.resolve();
    const asked = this.ask(arn).finally(() => this.asking.delete(arn));
    this.asking.set(arn, asked);
    return asked;
  }

  private async ask(arn: string): Promise<void> {
    let profile: ApplicationProfile | undefined;
    try {
      profile = profileFromBedrock(await this.lookup!(arn, arn.split(':')[3]!), this.catalog);
    } catch {
      profile = undefined; // not found, not allowed, unreachable: resolved as unknown, asked again in a minute
    }
    if (!profile) {
      if (this.failed.size >= LEARNT_MAX) this.failed.delete(this.failed.keys().next().value!);
      this.failed.set(arn, this.clock() + FAILED_FOR_MS);
      return;
    }
    if (this.learnt.size >= LEARNT_MAX) this.learnt.delete(this.learnt.keys().next().value!);
    this.learnt.set(arn, profile);
  }

  private take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(LOOKUP_BURST, this.tokens + ((now - this.refilledAt) / 1000) * LOOKUPS_PER_SECOND);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
