/** A setting's value, or `undefined` when it is missing or blank (`--region ""`, `AWS_REGION=`). */
export function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

/**
 * The region from the environment: `AWS_REGION`, then `AWS_DEFAULT_REGION`. A blank value counts as
 * unset, so the next one is used: CI systems export a missing secret as an empty string, and
 * `AWS_REGION=` would otherwise hide a good `AWS_DEFAULT_REGION`.
 */
export function regionFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  return nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']);
}

/** Which environment variable {@link regionFromEnv} took the region from. */
export function regionEnvName(
  env: Record<string, string | undefined> = process.env,
): 'AWS_REGION' | 'AWS_DEFAULT_REGION' | undefined {
  return nonEmpty(env['AWS_REGION'])
    ? 'AWS_REGION'
    : nonEmpty(env['AWS_DEFAULT_REGION'])
      ? 'AWS_DEFAULT_REGION'
      : undefined;
}
