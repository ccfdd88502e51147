import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nonEmpty, regionEnvName, regionFromEnv } from '../../src/aws/env-region.js';

describe('regionFromEnv', () => {
  it('takes AWS_REGION, then AWS_DEFAULT_REGION', () => {
    assert.equal(regionFromEnv({ AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' }), 'us-west-2');
    assert.equal(regionFromEnv({ AWS_DEFAULT_REGION: 'eu-west-1' }), 'eu-west-1');
    assert.equal(regionFromEnv({}), undefined);
  });
  it('treats a blank AWS_REGION as unset, as CI systems export a missing secret', () => {
    assert.equal(regionFromEnv({ AWS_REGION: '', AWS_DEFAULT_REGION: 'eu-west-1' }), 'eu-west-1');
    assert.equal(regionEnvName({ AWS_REGION: '', AWS_DEFAULT_REGION: 'eu-west-1' }), 'AWS_DEFAULT_REGION');
    assert.equal(regionFromEnv({ AWS_REGION: '  ', AWS_DEFAULT_REGION: '' }), undefined);
    assert.equal(regionEnvName({ AWS_REGION: '  ' }), undefined);
  });
  it('trims what it keeps', () => {
    assert.equal(regionFromEnv({ AWS_REGION: ' ap-northeast-1\n' }), 'ap-northeast-1');
    assert.equal(nonEmpty(' x '), 'x');
    assert.equal(nonEmpty(undefined), undefined);
  });
});
