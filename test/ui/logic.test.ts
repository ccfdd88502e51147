// The dashboard's logic and formatting, without a browser: ranges, totals, stacks, key status,
// limits, the live minute, and how numbers and times are written.
process.env['TZ'] = 'UTC'; // `when` writes local time: these expectations are in UTC
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { int, ms, pct, usd, when } from '../../ui/format.js';
import { cumulative, keyStatus, limitsText, minuteData, rangeOf, recentRate, stackOf, totals } from '../../ui/logic.js';

const NOW = Date.UTC(2026, 11, 6, 12, 30);
const HOUR = 3_600_000;

describe('dashboard logic', () => {
  it('names the range of the buttons and the custom inputs, ending now', () => {
    assert.deepEqual(rangeOf(new URLSearchParams(''), NOW), { since: NOW - 24 * HOUR, until: NOW + 1, label: '24h' });
    assert.deepEqual(rangeOf(new URLSearchParams('range=7d'), NOW).since, NOW - 7 * 24 * HOUR);
    assert.equal(rangeOf(new URLSearchParams('range=30d'), NOW).label, '30d');
    const custom = rangeOf(
      new URLSearchParams('range=custom&since=2026-12-01T00:00:00Z&until=2026-12-02T00:00:00Z'),
      NOW,
    );
    assert.deepEqual(custom, { since: Date.UTC(2026, 11, 1), until: Date.UTC(2026, 11, 2), label: 'custom' });
    const backwards = rangeOf(
      new URLSearchParams('range=custom&since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z'),
      NOW,
    );
    assert.equal(backwards.label, '24h', 'an until before since falls back to the last day');
    assert.equal(rangeOf(new URLSearchParams('range=<script>'), NOW).label, '24h');
  });

  it('totals a report, both cache lifetimes as one write', () => {
    const row = {
      group: 'a',
      requests: 2,
      errors: 1,
      inputTokens: 10,
      outputTokens: 5,
      cacheReadTokens: 3,
      cacheWrite5mTokens: 4,
      cacheWrite1hTokens: 6,
      costUsd: 0.25,
    };
    assert.deepEqual(totals([row, Object.assign({}, row, { group: null, costUsd: 0.5 })]), {
      requests: 4,
      errors: 2,
      inputTokens: 20,
      outputTokens: 10,
      cacheReadTokens: 6,
      cacheWriteTokens: 20,
      costUsd: 0.75,
    });
    assert.equal(totals([]).requests, 0);
  });

  it('stacks the top eight groups on one time axis and the rest as other', () => {
    const since = NOW - 3 * HOUR;
    const order = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8', 'g9'];
    const bucket = since - (since % HOUR);
    const rows = [
      { bucket, group: 'g0', requests: 3, errors: 0, costUsd: 1 },
      { bucket: bucket + HOUR, group: 'g8', requests: 1, errors: 0, costUsd: 2 },
      { bucket: bucket + HOUR, group: 'g9', requests: 1, errors: 0, costUsd: 3 },
      { bucket: bucket + 2 * HOUR, group: null, requests: 1, errors: 0, costUsd: 4 },
    ];
    const stack = stackOf(rows, since, NOW, HOUR, 'costUsd', order);
    assert.deepEqual(stack.times, [bucket, bucket + HOUR, bucket + 2 * HOUR, bucket + 3 * HOUR]);
    assert.deepEqual(
      stack.series.map((s) => s.label),
      ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'other'],
    );
    assert.deepEqual(stack.series[0]!.values, [1, 0, 0, 0]);
    assert.deepEqual(stack.series[8]!.values, [0, 5, 4, 0], 'g8, g9 and a row with no group are "other"');
    const sums = cumulative({
      times: [1, 2],
      series: [
        { label: 'a', values: [1, 2] },
        { label: 'b', values: [10, 20] },
      ],
    });
    assert.deepEqual(
      sums,
      [
        [1, 2],
        [11, 22],
      ],
      'each band on top of the ones before',
    );
  });

  it("says a key's status at the time it is asked, and its limits in words", () => {
    assert.equal(keyStatus({ revoked: undefined, expires: NOW + 1 }, NOW), 'active');
    assert.equal(
      keyStatus({ revoked: undefined, expires: NOW + 1 }, NOW + 1),
      'expired',
      'the same key, a moment later',
    );
    assert.equal(keyStatus({ revoked: NOW - 5, expires: undefined }, NOW), 'revoked');
    assert.equal(
      limitsText({ rpm: 1200, itpm: undefined, otpm: undefined, concurrency: 2 }),
      'rpm 1,200, concurrency 2',
    );
    assert.equal(limitsText({}), '–');
  });

  it("puts the live minute on the server's clock, a second a point", () => {
    const [times, requests, errors] = minuteData(NOW + 999, [1, 2, 3], [0, 1, 0]);
    assert.deepEqual(times, [NOW / 1000 - 2, NOW / 1000 - 1, NOW / 1000]);
    assert.deepEqual(
      [requests, errors],
      [
        [1, 2, 3],
        [0, 1, 0],
      ],
    );
    assert.equal(recentRate([100, ...Array.from({ length: 10 }, () => 3)]), 3, 'the last ten seconds only');
  });
});

describe('dashboard formatting', () => {
  it('writes money, counts, durations and shares', () => {
    assert.deepEqual([usd(0), usd(0.00012), usd(0.5), usd(1234.567)], ['$0', '$0.000120', '$0.50', '$1234.57']);
    assert.deepEqual([int(1234567.4), int(0)], ['1,234,567', '0']);
    assert.deepEqual([ms(null), ms(12.4), ms(1500)], ['–', '12 ms', '1.50 s']);
    assert.equal(pct(0.1234), '12.3%');
  });
  it('writes times to the second, minute or day', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5);
    assert.deepEqual(
      [when(t), when(t, 'minute'), when(t, 'day'), when(null)],
      ['2026-01-02 03:04:05', '2026-01-02 03:04', '2026-01-02', '–'],
    );
  });
});
