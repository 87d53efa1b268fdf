import { describe, expect, it } from 'vitest';
import { type MetricsMapping, instanceKey, mapScrape } from './metrics.js';
import { parsePrometheusText } from './parse.js';
import { bucketIncreases, counterSum, histogramQuantile, indexExposition } from './series.js';

const idx = (text: string) => indexExposition(parsePrometheusText(text));

const WEB: MetricsMapping = {
  requests: 'http_requests_total',
  errors: { metric: 'http_requests_total', label: 'code', match: '^5' },
  latency: { metric: 'http_request_duration_seconds', unit: 'seconds' },
  inFlight: 'http_requests_in_flight',
};

function web(counts: { ok: number; fail: number }, buckets: [string, number][], inFlight: number): string {
  return [
    '# TYPE http_requests_total counter',
    `http_requests_total{code="200"} ${counts.ok}`,
    `http_requests_total{code="503"} ${counts.fail}`,
    '# TYPE http_request_duration_seconds histogram',
    ...buckets.map(([le, n]) => `http_request_duration_seconds_bucket{le="${le}"} ${n}`),
    `http_request_duration_seconds_count ${buckets[buckets.length - 1]![1]}`,
    '# TYPE http_requests_in_flight gauge',
    `http_requests_in_flight ${inFlight}`,
  ].join('\n');
}

const opts = { group: 'web', instanceName: 'web-scrape' };

describe('mapScrape', () => {
  it('turns two scrapes into rps, error rate, latency percentiles and in-flight', () => {
    const prev = idx(
      web(
        { ok: 100, fail: 0 },
        [
          ['0.1', 10],
          ['0.2', 10],
          ['0.5', 10],
          ['+Inf', 10],
        ],
        1,
      ),
    );
    const cur = idx(
      web(
        { ok: 190, fail: 10 },
        [
          ['0.1', 60],
          ['0.2', 100],
          ['0.5', 110],
          ['+Inf', 110],
        ],
        7,
      ),
    );
    const m = mapScrape(WEB, { prev, cur, windowMs: 2000 }, opts);
    expect(m).toMatchObject({ group: 'web', requests: 100, rps: 50, errors: 10, errorRate: 0.1, inFlight: 7 });
    expect(m.windowMs).toBe(2000);
    expect(m.missing).toEqual([]);
    // 100 observations: 50 in (0,0.1], 40 in (0.1,0.2], 10 in (0.2,0.5].
    expect(m.latencyMs!.p50).toBeCloseTo(100, 9);
    expect(m.latencyMs!.p95).toBeCloseTo(350, 9);
    expect(m.latencyMs!.p99).toBeCloseTo(470, 9);
  });

  it('reports zero rates and zero latency for an idle window', () => {
    const text = web({ ok: 5, fail: 1 }, [['+Inf', 6]], 0);
    const m = mapScrape(WEB, { prev: idx(text), cur: idx(text), windowMs: 1000 }, opts);
    expect(m).toMatchObject({ requests: 0, rps: 0, errors: 0, errorRate: 0, latencyMs: { p50: 0, p95: 0, p99: 0 } });
  });

  it('counts a counter reset as growth from zero and a new series from zero', () => {
    const prev = idx('c_total{code="200"} 500\n');
    const cur = idx('c_total{code="200"} 20\nc_total{code="500"} 3\n');
    const m = mapScrape(
      { requests: 'c_total', errors: { metric: 'c_total', label: 'code', match: '^5' } },
      { prev, cur, windowMs: 1000 },
      opts,
    );
    expect(m).toMatchObject({ requests: 23, errors: 3 });
  });

  it('counts every series of an errors counter when no label filter is given', () => {
    const prev = idx('req_total 10\nerr_total{kind="a"} 1\nerr_total{kind="b"} 1\n');
    const cur = idx('req_total 20\nerr_total{kind="a"} 2\nerr_total{kind="b"} 3\n');
    const m = mapScrape(
      { requests: 'req_total', errors: { metric: 'err_total' } },
      { prev, cur, windowMs: 1000 },
      opts,
    );
    expect(m).toMatchObject({ requests: 10, errors: 3, errorRate: 0.3 });
  });

  it('lists mapped metrics the target does not expose and leaves their fields out', () => {
    const text = '# TYPE declared_total counter\n';
    const mapping: MetricsMapping = {
      requests: 'declared_total',
      inFlight: 'nope',
      latency: { metric: 'lat', unit: 'seconds' },
    };
    const m = mapScrape(mapping, { prev: idx(text), cur: idx(text), windowMs: 1000 }, opts);
    expect(m.missing).toEqual(['inFlight', 'latency']);
    expect(m).toMatchObject({ requests: 0, rps: 0 });
    expect(m).not.toHaveProperty('inFlight');
    expect(m).not.toHaveProperty('latencyMs');
  });

  it('treats a histogram without its +Inf bucket as missing latency', () => {
    const text = '# TYPE lat histogram\nlat_bucket{le="1"} 3\n';
    const m = mapScrape(
      { latency: { metric: 'lat', unit: 'seconds' } },
      { prev: idx(text), cur: idx(text), windowMs: 1000 },
      opts,
    );
    expect(m.missing).toEqual(['latency']);
  });

  it('reads a summary’s quantiles as they are, in milliseconds when the unit says so', () => {
    const text = [
      '# TYPE rpc_ms summary',
      'rpc_ms{quantile="0.5"} 12',
      'rpc_ms{quantile="0.9"} 30',
      'rpc_ms{quantile="0.99"} 80',
      'rpc_ms_count 10',
    ].join('\n');
    const m = mapScrape(
      { latency: { metric: 'rpc_ms', unit: 'milliseconds' } },
      { prev: idx(text), cur: idx(text), windowMs: 1000 },
      opts,
    );
    // 0.95 has no sample: the closest quantile, 0.99, stands in.
    expect(m.latencyMs).toEqual({ p50: 12, p95: 80, p99: 80 });
  });

  it('gives CPU in cores per instance from a CPU-seconds counter and memory in MiB', () => {
    const prev = idx(
      '# TYPE cpu_seconds_total counter\ncpu_seconds_total{instance="a"} 10\ncpu_seconds_total{instance="b"} 4\n',
    );
    const cur = idx(
      [
        '# TYPE cpu_seconds_total counter',
        'cpu_seconds_total{instance="a"} 12',
        'cpu_seconds_total{instance="b"} 5',
        '# TYPE rss_bytes gauge',
        'rss_bytes{instance="a"} 104857600',
        'rss_bytes{instance="b"} 52428800',
      ].join('\n'),
    );
    const m = mapScrape({ cpu: 'cpu_seconds_total', memory: 'rss_bytes' }, { prev, cur, windowMs: 2000 }, opts);
    expect(m.cpu).toEqual({ avg: 0.75, perInstance: { a: 1, b: 0.5 } });
    expect(m.memoryMiB).toEqual({ avg: 75, perInstance: { a: 100, b: 50 } });
  });

  it('reads a CPU gauge as is and keys an unlabelled series by the source name', () => {
    const text = '# TYPE cores gauge\ncores 1.5\n# TYPE up gauge\nup 3\n';
    const m = mapScrape({ cpu: 'cores', instances: 'up' }, { prev: idx(text), cur: idx(text), windowMs: 1000 }, opts);
    expect(m.cpu).toEqual({ avg: 1.5, perInstance: { 'web-scrape': 1.5 } });
    expect(m.instances).toBe(3);
  });

  it('carries the mapped samples raw, non-finite values as strings, up to maxSamples', () => {
    const text = 'g{a="1"} NaN\ng{a="2"} +Inf\ng{a="3"} -Inf 17\nother 1\n';
    const m = mapScrape(
      { inFlight: 'g' },
      { prev: idx(text), cur: idx(text), windowMs: 1000 },
      { ...opts, maxSamples: 2 },
    );
    expect(m.samples).toEqual([
      { name: 'g', labels: { a: '1' }, value: 'NaN' },
      { name: 'g', labels: { a: '2' }, value: '+Inf' },
    ]);
    expect(m.samplesOmitted).toBe(1);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});

describe('histogramQuantile', () => {
  const b = (pairs: [number, number][]) => pairs.map(([le, count]) => ({ le, count }));

  it('interpolates linearly inside the bucket that holds the rank, the first bucket starting at 0', () => {
    const buckets = b([
      [1, 40],
      [2, 80],
      [Number.POSITIVE_INFINITY, 80],
    ]);
    expect(histogramQuantile(0.25, buckets)).toBe(0.5);
    expect(histogramQuantile(0.75, buckets)).toBe(1.5);
  });

  it('answers the highest finite bound for a rank in the +Inf bucket', () => {
    expect(
      histogramQuantile(
        0.99,
        b([
          [0.5, 1],
          [1, 2],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ),
    ).toBe(1);
  });

  it('answers a non-positive first bound as is', () => {
    expect(
      histogramQuantile(
        0.5,
        b([
          [-1, 5],
          [Number.POSITIVE_INFINITY, 5],
        ]),
      ),
    ).toBe(-1);
  });

  it('has no answer without observations, without +Inf or without a finite bucket', () => {
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 0],
          [Number.POSITIVE_INFINITY, 0],
        ]),
      ),
    ).toBeUndefined();
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 3],
          [2, 4],
        ]),
      ),
    ).toBeUndefined();
    expect(histogramQuantile(0.5, b([[Number.POSITIVE_INFINITY, 4]]))).toBeUndefined();
  });
});

describe('bucketIncreases', () => {
  it('sums bucket increases across label sets by le', () => {
    const prev = idx(
      'h_bucket{p="a",le="1"} 5\nh_bucket{p="a",le="+Inf"} 6\nh_bucket{p="b",le="1"} 0\nh_bucket{p="b",le="+Inf"} 0\n',
    );
    const cur = idx(
      'h_bucket{p="a",le="1"} 7\nh_bucket{p="a",le="+Inf"} 9\nh_bucket{p="b",le="1"} 4\nh_bucket{p="b",le="+Inf"} 4\n',
    );
    expect(bucketIncreases(prev, cur, 'h')).toEqual([
      { le: 1, count: 6 },
      { le: Number.POSITIVE_INFINITY, count: 7 },
    ]);
  });

  it('keeps the buckets cumulative when a reset seen in one bucket only would break the order', () => {
    const prev = idx('h_bucket{le="1"} 50\nh_bucket{le="+Inf"} 50\n');
    const cur = idx('h_bucket{le="1"} 3\nh_bucket{le="+Inf"} 51\n');
    expect(bucketIncreases(prev, cur, 'h')).toEqual([
      { le: 1, count: 3 },
      { le: Number.POSITIVE_INFINITY, count: 3 },
    ]);
  });
});

describe('counterSum', () => {
  it('ignores NaN values', () => {
    expect(counterSum(idx('c 1\n'), idx('c NaN\n'), 'c')).toBe(0);
  });
});

describe('instanceKey', () => {
  it('prefers the instance label, then the sorted labels, then the fallback', () => {
    expect(instanceKey({ instance: 'h:1', job: 'x' }, 'f')).toBe('h:1');
    expect(instanceKey({ pod: 'p', node: 'n' }, 'f')).toBe('node=n,pod=p');
    expect(instanceKey({}, 'f')).toBe('f');
  });
});
