import { describe, expect, it } from 'vitest';
import { parsePrometheusText, parseSampleValue, seriesId } from './parse.js';

function problemsOf(text: string, origin?: string): { pointer: string; message: string }[] {
  try {
    parsePrometheusText(text, origin === undefined ? {} : { origin });
  } catch (err: any) {
    expect(err.code).toBe('E_INVALID');
    return err.problems;
  }
  throw new Error('expected the text to be rejected');
}

describe('parsePrometheusText', () => {
  it('reads counters and gauges with their HELP and TYPE', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# TYPE in_flight gauge',
      'in_flight 4',
    ].join('\n');
    const e = parsePrometheusText(text);
    expect(e.families.map((f) => [f.name, f.type, f.samples.length])).toEqual([
      ['http_requests_total', 'counter', 2],
      ['in_flight', 'gauge', 1],
    ]);
    expect(e.families[0]!.help).toBe('The total number of HTTP requests.');
    expect(e.samples[1]).toEqual({
      name: 'http_requests_total',
      labels: { method: 'post', code: '400' },
      value: 3,
      timestampMs: 1395066363000,
      line: 4,
    });
    expect(e.samples[2]).toEqual({ name: 'in_flight', labels: {}, value: 4, line: 7 });
  });

  it('unescapes label values and HELP text', () => {
    const text = [
      '# HELP msdos_file_access_time_seconds Access time\\nin seconds, a back\\\\slash.',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    ].join('\n');
    const e = parsePrometheusText(text);
    expect(e.families[0]!.help).toBe('Access time\nin seconds, a back\\slash.');
    expect(e.samples[0]!.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(e.samples[0]!.value).toBe(1_458_255_915);
  });

  it('accepts blanks around labels, a trailing comma, empty braces and CRLF line ends', () => {
    const text = 'a { x = "1" , y="2", } 1\r\nb{} 2\r\n  c\t3\r\n';
    const e = parsePrometheusText(text);
    expect(e.samples.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['a', { x: '1', y: '2' }, 1],
      ['b', {}, 2],
      ['c', {}, 3],
    ]);
  });

  it('reads NaN, +Inf, -Inf, exponents and negative timestamps', () => {
    const e = parsePrometheusText('a NaN\nb +Inf\nc -Inf\nd -1.5e-3 -42\ne .5\n');
    const [a, b, c, d, e5] = e.samples;
    expect(a!.value).toBeNaN();
    expect(b!.value).toBe(Number.POSITIVE_INFINITY);
    expect(c!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(d).toMatchObject({ value: -0.0015, timestampMs: -42 });
    expect(e5!.value).toBe(0.5);
  });

  it('groups a histogram’s _bucket, _sum and _count samples under its family', () => {
    const text = [
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="0.1"} 33444',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
    ].join('\n');
    const e = parsePrometheusText(text);
    expect(e.families).toHaveLength(1);
    expect(e.families[0]!.type).toBe('histogram');
    expect(e.families[0]!.samples.map((s) => s.name)).toEqual([
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_sum',
      'http_request_duration_seconds_count',
    ]);
  });

  it('groups a summary’s quantiles, _sum and _count under its family', () => {
    const text = [
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds{quantile="0.99"} 76656',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
    ].join('\n');
    const e = parsePrometheusText(text);
    expect(e.families.map((f) => [f.name, f.type, f.samples.length])).toEqual([['rpc_duration_seconds', 'summary', 4]]);
  });

  it('gives samples without a TYPE an untyped family of their own name and ignores other comments', () => {
    const e = parsePrometheusText('# just a comment\n#\nfoo_bucket{le="1"} 1\nfoo_count 1\n# EOF\n');
    expect(e.families.map((f) => [f.name, f.type])).toEqual([
      ['foo_bucket', 'untyped'],
      ['foo_count', 'untyped'],
    ]);
  });

  it('keeps a family that is declared but has no samples yet', () => {
    const e = parsePrometheusText('# HELP x_total Requests.\n# TYPE x_total counter\n');
    expect(e.families).toEqual([{ name: 'x_total', type: 'counter', help: 'Requests.', samples: [] }]);
    expect(e.samples).toEqual([]);
  });

  it('rejects a value that is not a number, naming line and column', () => {
    expect(problemsOf('ok 1\nbad{a="b"} twelve\n')).toEqual([
      { pointer: 'line 2:12', message: "'twelve' is not a number (use e.g. 1, 2.5e-3, NaN, +Inf, -Inf)" },
    ]);
  });

  it('prefixes pointers with the origin and reports every bad line in one error', () => {
    const problems = problemsOf('a 1\nb{x="1} 2\nc 3 4 5\n', 'http://127.0.0.1:9/metrics');
    expect(problems.map((p) => p.pointer)).toEqual([
      'http://127.0.0.1:9/metrics:2:5',
      'http://127.0.0.1:9/metrics:3:7',
    ]);
    expect(problems[0]!.message).toBe('unterminated label value; close it with "');
    expect(problems[1]!.message).toBe("unexpected '5' after the timestamp");
  });

  it('rejects bad label syntax: unterminated values, bad escapes, duplicates, missing =', () => {
    expect(problemsOf('a{x="1} 2')[0]!.message).toMatch(/unterminated label value/);
    expect(problemsOf('a{x="\\t"} 2')[0]).toEqual({
      pointer: 'line 1:6',
      message: "invalid escape '\\t' in a label value; only \\\\, \\\" and \\n are allowed",
    });
    expect(problemsOf('a{x="1",x="2"} 2')[0]).toEqual({ pointer: 'line 1:9', message: "label 'x' appears twice" });
    expect(problemsOf('a{x "1"} 2')[0]!.message).toBe("expected '=' after label name 'x'");
    expect(problemsOf('a{x="1" y="2"} 2')[0]!.message).toBe("expected ',' or '}' after a label value");
    expect(problemsOf('a{1x="1"} 2')[0]!.message).toMatch(/expected a label name/);
  });

  it('rejects a missing value, a bad metric name and a bad timestamp', () => {
    expect(problemsOf('lonely')[0]!.message).toBe("missing value for 'lonely'");
    expect(problemsOf('9lives 1')[0]!.message).toMatch(/expected a metric name/);
    expect(problemsOf('a-b 1')[0]!.message).toBe("unexpected '-' after the metric name");
    expect(problemsOf('a 1 12.5')[0]).toEqual({
      pointer: 'line 1:5',
      message: "timestamp '12.5' is not an integer of milliseconds since the epoch",
    });
  });

  it('rejects TYPE after samples, a second TYPE or HELP, and unknown types', () => {
    expect(problemsOf('a 1\n# TYPE a gauge\n')[0]!.message).toBe(
      "# TYPE for 'a' comes after its samples; put it before the first sample",
    );
    expect(problemsOf('h_bucket{le="+Inf"} 1\n# TYPE h histogram\n')[0]!.message).toMatch(/comes after its samples/);
    expect(problemsOf('# TYPE a gauge\n# TYPE a counter\n')[0]).toEqual({
      pointer: 'line 2:8',
      message: "a second # TYPE for 'a'",
    });
    expect(problemsOf('# HELP a x\n# HELP a y\n')[0]!.message).toBe("a second # HELP for 'a'");
    expect(problemsOf('# TYPE a meter\n')[0]!.message).toBe(
      "unknown metric type 'meter'; use counter, gauge, histogram, summary, untyped",
    );
  });

  it('rejects histogram buckets without a numeric le and summary quantiles without a quantile', () => {
    expect(problemsOf('# TYPE h histogram\nh_bucket 1\n')[0]!.message).toBe(
      "histogram sample 'h_bucket' needs a 'le' label",
    );
    expect(problemsOf('# TYPE h histogram\nh_bucket{le="big"} 1\n')[0]).toEqual({
      pointer: 'line 2:10',
      message: 'label le="big" is not a number',
    });
    expect(problemsOf('# TYPE h histogram\nh 1\n')[0]!.message).toMatch(/must be named h_bucket, _sum or _count/);
    expect(problemsOf('# TYPE s summary\ns 1\n')[0]!.message).toBe("summary sample 's' needs a 'quantile' label");
  });

  it('rejects a series that appears twice, whatever the label order', () => {
    expect(problemsOf('a{x="1",y="2"} 1\na{y="2",x="1"} 2\n')[0]!.message).toBe(
      'duplicate series a{x="1",y="2"} (first on line 1)',
    );
  });

  it('stops collecting problems at maxProblems', () => {
    const text = Array.from({ length: 50 }, (_, i) => `bad${i} x`).join('\n');
    expect(problemsOf(text)).toHaveLength(20);
  });
});

describe('parseSampleValue', () => {
  it('accepts Go float syntax and the special values, nothing else', () => {
    expect(parseSampleValue('1e3')).toBe(1000);
    expect(parseSampleValue('-Inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseSampleValue('inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parseSampleValue('nan')).toBeNaN();
    for (const bad of ['', '1,5', '0x10', 'Infinite', '1e', '--1']) expect(parseSampleValue(bad)).toBeUndefined();
  });
});

describe('seriesId', () => {
  it('sorts labels and quotes values as JSON strings', () => {
    expect(seriesId('m', { b: '2', a: 'x"y' })).toBe('m{a="x\\"y",b="2"}');
    expect(seriesId('m', {})).toBe('m');
  });
});
