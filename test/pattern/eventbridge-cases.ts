/** @module EventBridge pattern cases (from the AWS docs and aws/event-ruler), valid and invalid, for every matcher. */
import type { PatternLimits } from '../../src/core/pattern/index.js';

/** One pattern, one event and the verdict event-ruler gives. */
export interface PatternCase {
  readonly name: string;
  /** The pattern as a JSON value, or as JSON text (to keep number literals such as `3e2` as written). */
  readonly pattern: unknown;
  readonly event: unknown;
  readonly match: boolean;
  /** Where the case comes from. */
  readonly doc?: string;
  /** The event as JSON text with literals JSON.stringify would rewrite (`5.0`, `3.0e2`, `\u00e9`). */
  readonly eventJson?: string;
}

/** A pattern parsePattern must reject, and the JSON pointer of (one of) its problems. */
export interface InvalidPatternCase {
  readonly name: string;
  readonly pattern: unknown;
  readonly pointer: string;
  readonly limits?: Partial<PatternLimits>;
}

interface Extra {
  readonly doc?: string;
  readonly eventJson?: string;
}

function verdict(match: boolean) {
  return (name: string, pattern: unknown, event: unknown, extra: Extra = {}): PatternCase => ({
    name,
    pattern,
    event,
    match,
    ...extra,
  });
}
const yes = verdict(true);
const no = verdict(false);

const README = { doc: 'aws/event-ruler README' };
const EB_FILTER = { doc: 'EventBridge docs: Content filtering in event patterns' };
const EB_ARRAYS = { doc: 'EventBridge docs: Arrays in event patterns' };
const EB_VALUES = { doc: 'EventBridge docs: Matching events on event field values' };
const RULER_TEST = { doc: 'event-ruler RulerTest.java' };
const AC_TEST = { doc: 'event-ruler ACMachineTest.java' };
const BYTE_TEST = { doc: 'event-ruler ByteMachineTest.java' };
const CORRECTNESS = { doc: 'event-ruler src/test/resources/correctness-cases.json' };
const DOTS = { doc: 'event-ruler README: Compiled rules and JSON keys with dots' };
const WILDCARD_BLOG = {
  doc: 'AWS Compute Blog: Filtering events in Amazon EventBridge with wildcard pattern matching',
};
const IP_EXACT = { doc: 'event-ruler JsonRuleCompiler: string values that parse as IP addresses compile to a range' };
const SORTED_ABSENCE = {
  doc: 'event-ruler ACFinder/StructuredFinder: exists:false is checked in sorted path order, within the elements bound so far',
};
const EXISTS = { exists: true } as const;
const ABSENT = { exists: false } as const;

/** The sample event of the event-ruler README. */
const EC2 = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};
const ec2 = (detail: Record<string, unknown>) => ({ ...EC2, detail: { ...EC2.detail, ...detail } });

/** The JSON example of RFC 8259, as event-ruler's RulerTest uses it. */
const IMAGE = {
  Image: {
    Width: 800,
    Height: 600,
    Title: 'View from 15th Floor',
    Thumbnail: { Url: 'http://www.example.com/image/481989943', Height: 125, Width: 100 },
    Animated: false,
    IDs: [116, 943, 234, 38793],
  },
};

const EMPLOYEES = {
  employees: [
    { firstName: 'John', lastName: 'Doe' },
    { firstName: 'Anna', lastName: 'Smith' },
    { firstName: 'Peter', lastName: 'Jones' },
  ],
};
const EMPLOYEE_GROUPS = {
  employees: [
    [
      { firstName: 'John', lastName: 'Doe', ids: [1234, 1000, 9999] },
      { firstName: 'Anna', lastName: 'Smith' },
    ],
    [{ firstName: 'Peter', lastName: 'Jones', ids: [] }],
  ],
};

const AUTOSCALING = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};
const MACIE = {
  'detail-type': 'Macie Finding',
  source: 'aws.macie',
  detail: { schemaVersion: '1.0', type: 'Policy:IAMUser/S3BucketEncryptionDisabled', severity: { score: 1 }, count: 2 },
};

const ASG_ARN =
  'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate';
const INSTANCE_ARNS = [
  'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
  'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
  'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
];

/** CloudEvents 1.0 envelopes as Homeostat carries them. */
const HEALTH = {
  specversion: '1.0',
  id: 'evt-7f3a',
  source: 'homeostat/provider/local',
  type: 'infra.instance.health',
  subject: 'group/web/instance/i-3',
  time: '2025-01-02T10:00:00Z',
  datacontenttype: 'application/json',
  partitionkey: 'group/web',
  data: {
    status: 'unhealthy',
    cpu: 93.5,
    region: 'eu-west-1',
    ip: '10.0.4.17',
    tags: ['web', 'prod'],
    previous: null,
    checks: [
      { name: 'http', ok: false, latencyMs: 1200 },
      { name: 'tcp', ok: true, latencyMs: 3 },
    ],
  },
};
const { data: _healthData, ...HEALTH_WITHOUT_DATA } = HEALTH;
const HTTP_503 = {
  specversion: '1.0',
  id: 'req-1',
  source: 'gateway',
  type: 'http.response',
  subject: 'GET /orders',
  data: { status: 503, path: '/orders', durationMs: 812 },
};

// prettier-ignore
const exact: PatternCase[] = [
  yes('exact: a rule with several fields matches when every field matches',
    { 'detail-type': ['EC2 Instance State-change Notification'], source: ['aws.ec2'], detail: { state: ['running'] } }, EC2, README),
  no('exact: string comparison is case-sensitive', { source: ['AWS.EC2'] }, EC2),
  no('exact: a rule value must equal the whole string, not its start', { source: ['aws'] }, EC2),
  yes('exact: a value list matches when any value is equal', { detail: { state: ['stopped', 'running'] } }, EC2, README),
  no('exact: a value list fails when no value is equal', { detail: { state: ['stopped', 'pending'] } }, EC2),
  no('exact: fields are AND-ed, so one failing field fails the rule', { source: ['aws.ec2'], region: ['us-west-2'] }, EC2),
  no('exact: a field the event lacks never equals a value', { 'not-there': ['x'] }, EC2),
  yes('exact: an integer matches the same JSON number', { detail: { 'c-count': [5] } }, EC2),
  yes('exact: 5 matches 5.0 written in the event', { a: [5] }, { a: 5 }, { eventJson: '{"a": 5.0}' }),
  yes('exact: 5.0 written in the rule matches 5', '{"a": [5.0]}', { a: 5 }),
  yes('exact: 3.0e2 written in the rule matches 300', '{"a": [3.0e2]}', { a: 300 }),
  no('exact: the string "5" does not match the number 5', { a: ['5'] }, { a: 5 }),
  yes('exact: a float matches an equal float', { detail: { 'x-limit': [301.8] } }, EC2),
  no('exact: a float does not match a nearby float', { detail: { 'x-limit': [301.80001] } }, EC2),
  yes('exact: a list of numbers matches one of them', { a: [1, 2, 3] }, { a: 2 }),
  yes('exact: a 12-digit account number matches as a number', { account: [123456789012] }, { account: 123456789012 },
    { doc: 'event-ruler JsonRuleCompilerTest.testBigNumbers' }),
  yes('exact: true matches JSON true', { a: [true] }, { a: true }),
  no('exact: true does not match the string "true"', { a: [true] }, { a: 'true' }),
  no('exact: the string "true" does not match JSON true', { a: ['true'] }, { a: true }),
  yes('exact: false matches JSON false', { Image: { Animated: [false] } }, IMAGE, RULER_TEST),
  no('exact: true does not match JSON false', { Image: { Animated: [true] } }, IMAGE, RULER_TEST),
  no('exact: 0 does not match false', { a: [0] }, { a: false }),
  no('exact: null does not match a missing field', { a: [null] }, { b: 1 }),
  no('exact: null does not match the empty string', { a: [null] }, { a: '' }),
  no('exact: the string "null" does not match JSON null', { a: ['null'] }, { a: null }),
  yes('exact: null and a string in one list are OR-ed', { a: [null, 'x'] }, { a: 'x' }),
  yes('exact: the empty string matches an empty string value', { detail: { eventVersion: [''] } }, AUTOSCALING, EB_VALUES),
  yes('exact: null matches a null value', { source: ['aws.autoscaling'], detail: { responseElements: [null] } }, AUTOSCALING, EB_VALUES),
  no('exact: the empty string does not match a missing field', { detail: { requestParameters: [''] } }, AUTOSCALING),
  yes('exact: nested numbers match (Macie finding)', { source: ['aws.macie'], detail: { severity: { score: [1] }, count: [2] } }, MACIE,
    EB_VALUES),
  no('exact: a nested number that differs fails', { source: ['aws.macie'], detail: { severity: { score: [2] } } }, MACIE),
  yes('exact: non-ASCII strings compare by their characters', { city: ['Zürich'] }, { city: 'Zürich' }),
  yes('exact: escapes in the event JSON text are decoded first', { a: ['é"\n'] }, { a: 'é"\n' },
    { eventJson: '{"a": "\\u00e9\\"\\n"}' }),
  yes('exact: a \\u escape alone in the event JSON text is decoded', { city: ['Zürich'] }, { city: 'Zürich' },
    { eventJson: '{"city": "Z\\u00fcrich"}' }),
  yes('exact: a \\n escape alone in the event JSON text is decoded', { a: ['x\ny'] }, { a: 'x\ny' }),
];

// prettier-ignore
const nested: PatternCase[] = [
  yes('nested: rule objects follow the event nesting', { Image: { Width: [800], Thumbnail: { Height: [125, 300] } } }, IMAGE,
    RULER_TEST),
  no('nested: a rule deeper than the event value does not match', { detail: { state: { status: ['running'] } } }, EC2),
  no('nested: a leaf rule does not match an object value', { detail: ['running'] }, EC2),
  yes('nested: three levels deep', { a: { b: { c: ['x'] } } }, { a: { b: { c: 'x' } } }),
  no('nested: the same key at another depth is another field', { a: { b: ['x'] } }, { b: 'x', a: { c: 'x' } }),
  no('nested: a rule path through a string value fails', { a: { b: ['x'] } }, { a: 'x' }),
  yes('nested: a dotted event key collides with nested rule keys', { a: { b: ['x'] } }, { 'a.b': 'x' }, DOTS),
  yes('nested: a dotted rule key matches nested event keys', { 'a.b': ['x'] }, { a: { b: 'x' } }, DOTS),
  yes('nested: sibling objects each match their own fields', { a: { x: ['1'] }, b: { x: ['2'] } }, { a: { x: '1' }, b: { x: '2' } }),
  no('nested: one failing sibling object fails the rule', { a: { x: ['1'] }, b: { x: ['2'] } }, { a: { x: '1' }, b: { x: '3' } }),
];

// prettier-ignore
const arrays: PatternCase[] = [
  yes('array: a rule list and an event array match on a non-empty intersection', { resources: INSTANCE_ARNS },
    { resources: [ASG_ARN, 'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }, EB_ARRAYS),
  no('array: a rule list and an event array with no common value', { resources: INSTANCE_ARNS },
    { resources: [ASG_ARN, 'arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] }, EB_ARRAYS),
  yes('array: one rule value matches one element', { tags: ['admin'] }, { tags: ['user', 'admin'] }, CORRECTNESS),
  no('array: no element equals the rule value', { tags: ['superadmin'] }, { tags: ['user', 'admin'] }, CORRECTNESS),
  yes('array: a number inside an event array', { Image: { IDs: [943] } }, IMAGE),
  yes('array: a numeric range holds for one element', { d: { vals: [{ numeric: ['>', 0, '<', 10] }] } }, { d: { vals: [100, 5, 200] } },
    CORRECTNESS),
  no('array: a numeric range holds for no element', { d: { vals: [{ numeric: ['>', 0, '<', 10] }] } }, { d: { vals: [100, 200] } }),
  yes('array: a prefix holds for one element', { tags: [{ prefix: 'ad' }] }, { tags: ['user', 'admin'] }),
  yes('array: nested arrays of primitives are flattened', { a: [3] }, { a: [[1, 2], [3]] }),
  yes('array: a mixed-type array matches the element of the right type', { a: ['1'] }, { a: [1, '1'] }),
  no('array: a mixed-type array without the value', { a: [2] }, { a: ['2', true] }),
  no('array: an empty event array matches no value', { a: ['x'] }, { a: [] }),
  yes('array: a null element matches null', { a: [null] }, { a: ['x', null] }),
  no('array: a leaf rule does not match an array of objects', { employees: ['Anna'] }, EMPLOYEES),
  yes('array: objects inside arrays of arrays are reached', { a: { b: ['x'] } }, { a: [[[{ b: 'x' }]]] }),
];

// prettier-ignore
const objectArrays: PatternCase[] = [
  yes('objects: a field inside an array of objects matches any element', { employees: { firstName: ['Anna'] } }, EMPLOYEES, README),
  yes('objects: two fields from the same element match', { employees: { firstName: ['Anna'], lastName: ['Smith'] } }, EMPLOYEES),
  no('objects: two fields from different elements do not match', { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, EMPLOYEES,
    { doc: 'event-ruler README: JSON Array Matching' }),
  no('objects: a value present in no element', { employees: { firstName: ['Alice'] } }, EMPLOYEES, RULER_TEST),
  no('objects: exists true must hold in the element the other fields bound', { employees: { firstName: ['Anna'], ids: [EXISTS] } },
    EMPLOYEE_GROUPS, RULER_TEST),
  yes('objects: two fields of one element inside an array of arrays', { employees: { firstName: ['Peter'], lastName: ['Jones'] } },
    EMPLOYEE_GROUPS),
  no('objects: exact values split across elements', { d: { name: ['alice'], status: ['active'] } },
    { d: [{ name: 'alice' }, { status: 'active' }] }, CORRECTNESS),
  yes('objects: exact values in one element', { d: { name: ['alice'], status: ['active'] } },
    { d: [{ name: 'alice', status: 'active' }] }, CORRECTNESS),
  no('objects: a prefix and an exists split across elements', { d: { name: [{ prefix: 'al' }], status: [EXISTS] } },
    { d: [{ name: 'alice' }, { status: 'ok' }] }, CORRECTNESS),
  yes('objects: one valid element among many', { d: { a: ['target'], b: ['found'] } },
    { d: [{ a: 'x' }, { a: 'y' }, { a: 'target', b: 'found' }, { a: 'z' }] }, CORRECTNESS),
  no('objects: three fields split three ways', { d: { a: [EXISTS], b: [EXISTS], c: [EXISTS] } },
    { d: [{ a: 1 }, { b: 2 }, { c: 3 }] }, CORRECTNESS),
  yes('objects: two levels of arrays with both fields in one inner element', { u: { t: { k: ['color'], v: ['blue'] } } },
    { u: [{ t: [{ k: 'color', v: 'blue' }] }] }, CORRECTNESS),
  no('objects: a leaf and a nested object from different elements', { d: { name: [EXISTS], info: { x: ['1'] } } },
    { d: [{ name: 'alice' }, { info: { x: '1' } }] }, CORRECTNESS),
  yes('objects: a leaf and a nested object from the same element', { d: { name: [EXISTS], info: { x: ['1'] } } },
    { d: [{ name: 'alice', info: { x: '1' } }] }, CORRECTNESS),
  no('objects: two levels of arrays split at the inner level', { a: { b: { x: [EXISTS], y: [EXISTS] } } },
    { a: [{ b: [{ x: 1 }, { y: 2 }] }] }, CORRECTNESS),
  yes('objects: an array field combines with a field outside the array', { users: { name: [EXISTS] }, version: ['1'] },
    { users: [{ name: 'alice' }], version: '1' }, CORRECTNESS),
  no('objects: a failing field outside the array fails the rule', { users: { name: [EXISTS] }, version: ['2'] },
    { users: [{ name: 'alice' }], version: '1' }, CORRECTNESS),
  yes('objects: fields from two different arrays may combine', { x: { a: ['1'] }, y: { b: ['2'] } },
    { x: [{ a: '1' }, { a: '0' }], y: [{ b: '0' }, { b: '2' }] }),
  yes('objects: only the last of many elements has both fields', { detail: { email: [EXISTS], name: [EXISTS] } },
    { detail: [{ email: 'a@x' }, { email: 'b@x' }, { email: 'c@x' }, { email: 'd@x' }, { email: 'e@x', name: 'eve' }] }, CORRECTNESS),
  yes('objects: a numeric range and an exists in the same element', { i: { p: [{ numeric: ['>', 0, '<', 100] }], n: [EXISTS] } },
    { i: [{ n: 'w', p: 50 }, { n: 'g', p: 200 }] }, CORRECTNESS),
  no('objects: a primitive array belongs to its element', { d: { name: ['n1'], tags: ['x'] } },
    { d: [{ name: 'n1', tags: ['y'] }, { name: 'n2', tags: ['x'] }] }),
  yes('objects: a primitive array of the bound element', { d: { name: ['n1'], tags: ['x'] } },
    { d: [{ name: 'n2', tags: ['y'] }, { name: 'n1', tags: ['z', 'x'] }] }),
  yes('objects: exists false holds in the element bound by earlier fields', { tasks: { id: ['t1'], state: ['ACTIVE'], zone: [ABSENT] } },
    { tasks: [{ id: 't1', state: 'ACTIVE' }, { id: 't2', state: 'DOWN', zone: 'z' }] }, AC_TEST),
  no('objects: exists false fails when the bound element has the field', { tasks: { id: ['t1'], state: ['ACTIVE'], zone: [ABSENT] } },
    { tasks: [{ id: 't1', state: 'ACTIVE', zone: 'z' }, { id: 't2', state: 'DOWN' }] }, AC_TEST),
  no('objects: exists false on the first path in sorted order sees every element', { d: { a: [ABSENT], b: ['x'] } },
    { d: [{ a: 1 }, { b: 'x' }] }, SORTED_ABSENCE),
  yes('objects: exists false on a later path in sorted order only sees the bound element', { d: { b: ['x'], c: [ABSENT] } },
    { d: [{ c: 1 }, { b: 'x' }] }, SORTED_ABSENCE),
  no('objects: anything-but fails when every element is excluded', { u: { s: [{ 'anything-but': 'banned' }] } },
    { u: [{ s: 'banned' }, { s: 'banned' }] }),
];

// prettier-ignore
const prefixSuffix: PatternCase[] = [
  yes('prefix: matches the start of a string', { time: [{ prefix: '2017-10-02' }] }, EC2, README),
  no('prefix: fails on another start', { time: [{ prefix: '2017-10-03' }] }, EC2),
  no('prefix: is case-sensitive', { source: [{ prefix: 'AWS.' }] }, EC2),
  yes('prefix: equal to the whole value matches', { a: [{ prefix: 'abc' }] }, { a: 'abc' }),
  no('prefix: longer than the value fails', { a: [{ prefix: 'abcd' }] }, { a: 'abc' }),
  no('prefix: does not apply to numbers', { a: [{ prefix: '1' }] }, { a: 123 }, README),
  no('prefix: https is not a prefix of an http URL', { Image: { Thumbnail: { Url: [{ prefix: 'https' }] } } }, IMAGE, RULER_TEST),
  yes('prefix: OR-ed with exact values in one list', { a: ['x', { prefix: 'ab' }] }, { a: 'abz' }),
  yes('prefix: non-ASCII prefix', { a: [{ prefix: '上海' }] }, { a: '上海城市' }),
  yes('prefix equals-ignore-case: matches in any case', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    { detail: { service: 'EVENTBRIDGE' } }, EB_FILTER),
  no('prefix equals-ignore-case: fails on other letters', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    { detail: { service: 'Events' } }, EB_FILTER),
  yes('prefix equals-ignore-case: mixed case in the rule', { Image: { Title: [{ prefix: { 'equals-ignore-case': 'VIeW' } }] } }, IMAGE,
    RULER_TEST),
  yes('suffix: matches the end of a string', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' }, EB_FILTER),
  no('suffix: is case-sensitive', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' }),
  yes('suffix: README source ending', { source: [{ suffix: 'ec2' }] }, EC2, README),
  yes('suffix: the end of a title', { Image: { Title: [{ suffix: 'loor' }] } }, IMAGE, RULER_TEST),
  yes('suffix: equal to the whole value matches', { a: [{ suffix: 'abc' }] }, { a: 'abc' }),
  no('suffix: longer than the value fails', { a: [{ suffix: 'xabc' }] }, { a: 'abc' }),
  no('suffix: does not apply to numbers', { a: [{ suffix: '3' }] }, { a: 123 }, README),
  yes('suffix equals-ignore-case: matches in any case', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    { detail: { FileName: 'IMAGE.PnG' } }, EB_FILTER),
  no('suffix equals-ignore-case: fails on another ending', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    { detail: { FileName: 'image.jpg' } }),
  yes('suffix equals-ignore-case: mixed case in the rule', { Image: { Title: [{ suffix: { 'equals-ignore-case': 'LoOr' } }] } }, IMAGE,
    RULER_TEST),
  yes('equals-ignore-case: the same letters in another case', { region: [{ 'equals-ignore-case': 'US-EAST-1' }] }, EC2),
  no('equals-ignore-case: is not a substring match', { source: [{ 'equals-ignore-case': 'EC2' }] }, EC2),
  no('equals-ignore-case: does not apply to numbers', { a: [{ 'equals-ignore-case': '1' }] }, { a: 1 }, README),
  yes('equals-ignore-case: non-ASCII letters fold', { a: [{ 'equals-ignore-case': 'ÉCOLE' }] }, { a: 'école' }),
  yes('equals-ignore-case: OR-ed with an exact value', { a: [{ 'equals-ignore-case': 'abc' }, 'DEF'] }, { a: 'ABC' }),
  no('equals-ignore-case: the exact value beside it stays case-sensitive', { a: [{ 'equals-ignore-case': 'abc' }, 'DEF'] }, { a: 'def' }),
  yes('equals-ignore-case: any element of an event array', { a: [{ 'equals-ignore-case': 'x' }] }, { a: ['y', 'X'] }),
];

// prettier-ignore
const wildcard: PatternCase[] = [
  yes('wildcard: dir/*.png matches a file in the directory', { path: [{ wildcard: 'dir/*.png' }] }, { path: 'dir/abc.png' }, EB_FILTER),
  yes('wildcard: * also spans slashes', { path: [{ wildcard: 'dir/*.png' }] }, { path: 'dir/sub/abc.png' }),
  no('wildcard: another extension fails', { path: [{ wildcard: 'dir/*.png' }] }, { path: 'dir/abc.jpg' }),
  yes('wildcard: a lone * matches the empty string', { a: [{ wildcard: '*' }] }, { a: '' }, BYTE_TEST),
  no('wildcard: does not apply to numbers', { a: [{ wildcard: '*' }] }, { a: 5 }, README),
  yes('wildcard: a leading * matches any start', { a: [{ wildcard: '*hello' }] }, { a: 'xxxhello' }, BYTE_TEST),
  no('wildcard: a leading * still needs the literal end', { a: [{ wildcard: '*hello' }] }, { a: 'hellx' }, BYTE_TEST),
  yes('wildcard: * in the middle matches zero characters', { a: [{ wildcard: 'h*llo' }] }, { a: 'hllo' }, BYTE_TEST),
  yes('wildcard: several * match several runs', { a: [{ wildcard: 'h*l*o' }] }, { a: 'hxxxlxxxo' }, BYTE_TEST),
  no('wildcard: several * still need every literal', { a: [{ wildcard: 'h*l*o' }] }, { a: 'ho' }, BYTE_TEST),
  yes('wildcard: a * in the event is an ordinary character', { a: [{ wildcard: 'h*l*o' }] }, { a: 'h*l*o' }, BYTE_TEST),
  yes('wildcard: trailing * after a literal', { a: [{ wildcard: 'he*l*' }] }, { a: 'hexl' }, BYTE_TEST),
  no('wildcard: trailing * does not excuse a missing literal', { a: [{ wildcard: 'he*l*' }] }, { a: 'hex' }, BYTE_TEST),
  yes('wildcard: \\* matches a literal star', { a: [{ wildcard: 'hel\\*o' }] }, { a: 'hel*o' }, BYTE_TEST),
  no('wildcard: \\* is not a wildcard', { a: [{ wildcard: 'hel\\*o' }] }, { a: 'hello' }, BYTE_TEST),
  yes('wildcard: an escaped star followed by a wildcard', { a: [{ wildcard: 'he\\**o' }] }, { a: 'he*llo' }, BYTE_TEST),
  no('wildcard: an escaped star needs the star in the value', { a: [{ wildcard: 'he\\**o' }] }, { a: 'hello' }, BYTE_TEST),
  yes('wildcard: \\\\ matches one backslash', { a: [{ wildcard: 'he\\\\llo' }] }, { a: 'he\\llo' }, BYTE_TEST),
  yes('wildcard: *Title* matches Title in the middle', { a: [{ wildcard: '*Title*' }] }, { a: 'MyTitleBar' }, WILDCARD_BLOG),
  no('wildcard: is case-sensitive', { a: [{ wildcard: '*Title*' }] }, { a: 'mytitlebar' }),
  yes('wildcard: without a star it is an exact match', { a: [{ wildcard: 'abc' }] }, { a: 'abc' }),
  no('wildcard: without a star a longer string fails', { a: [{ wildcard: 'abc' }] }, { a: 'abcd' }),
  yes('wildcard: README Simple*Service', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleNotificationService' }, README),
];

// prettier-ignore
const anythingBut: PatternCase[] = [
  yes('anything-but: a value other than the excluded string', { detail: { state: [{ 'anything-but': 'initializing' }] } }, EC2, README),
  no('anything-but: the excluded string', { detail: { state: [{ 'anything-but': 'initializing' }] } }, ec2({ state: 'initializing' })),
  yes('anything-but: a number other than the excluded number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, EC2, README),
  no('anything-but: the excluded number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, ec2({ 'x-limit': 123 })),
  no('anything-but: 123.0 in the event is the excluded 123', { a: [{ 'anything-but': 123 }] }, { a: 123 }, { eventJson: '{"a": 123.0}' }),
  yes('anything-but: a value outside a string list', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, EC2, README),
  no('anything-but: a value inside a string list', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    ec2({ state: 'overloaded' })),
  no('anything-but: a value inside a number list', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    ec2({ 'x-limit': 300 }), README),
  no('anything-but: 3.0e2 in the event is in the number list', { a: [{ 'anything-but': [100, 200, 300] }] }, { a: 300 },
    { eventJson: '{"a": 3.0e2}' }),
  yes('anything-but: a number is not the excluded string', { a: [{ 'anything-but': '5' }] }, { a: 5 }),
  yes('anything-but: a boolean is not the excluded string', { a: [{ 'anything-but': 'x' }] }, { a: true }),
  yes('anything-but: null is present and outside a string list', { a: [{ 'anything-but': ['x', 'y'] }] }, { a: null }),
  yes('anything-but: null is present and outside a number list', { a: [{ 'anything-but': [1, 2] }] }, { a: null }),
  no('anything-but: a missing nested field does not match', { detail: { status: [{ 'anything-but': 'stopped' }] } }, EC2),
  no('anything-but: every element of the event array is excluded', { a: [{ 'anything-but': 'x' }] }, { a: ['x', 'x'] }),
  yes('anything-but: one element of the event array is not excluded', { a: [{ 'anything-but': 'x' }] }, { a: ['x', 'y'] }),
  no('anything-but: an empty event array is not a present value', { a: [{ 'anything-but': 'x' }] }, { a: [] }),
  no('anything-but: an object is not a leaf value', { a: [{ 'anything-but': 'x' }] }, { a: { b: 'y' } }),
  yes('anything-but prefix: a value without the prefix', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, EC2, README),
  no('anything-but prefix: a value with the prefix', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    ec2({ state: 'initializing' })),
  no('anything-but prefix list: a value with one of the prefixes', { detail: { state: [{ 'anything-but': { prefix: ['init', 'error'] } }] } },
    ec2({ state: 'error-disk' }), README),
  yes('anything-but prefix list: a value with none of the prefixes',
    { detail: { state: [{ 'anything-but': { prefix: ['init', 'error'] } }] } }, EC2),
  yes('anything-but prefix: the excluded text at the end does not count', { a: [{ 'anything-but': { prefix: '$' } }] }, { a: 'value$' },
    AC_TEST),
  yes('anything-but suffix: a value without the suffix', { detail: { 'instance-id': [{ 'anything-but': { suffix: '1234' } }] } }, EC2,
    README),
  no('anything-but suffix: a value with the suffix', { detail: { 'instance-id': [{ 'anything-but': { suffix: '1234' } }] } },
    ec2({ 'instance-id': 'i-1234' })),
  no('anything-but suffix list: a value with one of the suffixes',
    { detail: { 'instance-id': [{ 'anything-but': { suffix: ['1234', '6789'] } }] } }, ec2({ 'instance-id': 'i-6789' }), README),
  no('anything-but equals-ignore-case: the excluded value in another case',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] } }, ec2({ state: 'STOPPED' }), README),
  yes('anything-but equals-ignore-case: another value', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] } },
    EC2),
  no('anything-but equals-ignore-case list: a listed value in another case',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } }, ec2({ state: 'overloaded' }), README),
  yes('anything-but wildcard: a path the wildcard does not match', { detail: { state: [{ 'anything-but': { wildcard: '*/bin/*.jar' } }] } },
    ec2({ state: '/usr/lib/tool.jar' }), README),
  no('anything-but wildcard: a path the wildcard matches', { detail: { state: [{ 'anything-but': { wildcard: '*/bin/*.jar' } }] } },
    ec2({ state: '/opt/bin/tool.jar' })),
  no('anything-but wildcard list: a path matching the second wildcard',
    { detail: { state: [{ 'anything-but': { wildcard: ['*/bin/*.jar', '*/bin/*.class'] } }] } }, ec2({ state: '/x/bin/a.class' }), README),
  yes('anything-but wildcard list: a path matching neither wildcard',
    { detail: { state: [{ 'anything-but': { wildcard: ['*/bin/*.jar', '*/bin/*.class'] } }] } }, ec2({ state: '/x/lib/a.class' })),
  yes('anything-but wildcard: *foo* spares strings without foo', { a: [{ 'anything-but': { wildcard: '*foo*' } }] }, { a: 'barfobarobar' },
    AC_TEST),
  no('anything-but wildcard: *foo* excludes foo in the middle', { a: [{ 'anything-but': { wildcard: '*foo*' } }] }, { a: 'barfoobar' },
    AC_TEST),
];

// prettier-ignore
const numeric: PatternCase[] = [
  yes('numeric: README ranges and an = written with an exponent',
    '{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}',
    EC2, README),
  yes('numeric: = matches an equal number', { a: [{ numeric: ['=', 301.8] }] }, { a: 301.8 }),
  no('numeric: > excludes its bound', { a: [{ numeric: ['>', 5] }] }, { a: 5 }),
  yes('numeric: >= includes its bound', { a: [{ numeric: ['>=', 5] }] }, { a: 5 }),
  no('numeric: < excludes its bound', { a: [{ numeric: ['<', 5] }] }, { a: 5 }),
  yes('numeric: <= includes its bound', { a: [{ numeric: ['<=', 5] }] }, { a: 5 }),
  no('numeric: an open lower bound excludes it', { a: [{ numeric: ['>', 0, '<=', 5] }] }, { a: 0 }),
  yes('numeric: a closed upper bound includes it', { a: [{ numeric: ['>', 0, '<=', 5] }] }, { a: 5 }),
  no('numeric: just above a closed upper bound fails', { a: [{ numeric: ['>', 0, '<=', 5] }] }, { a: 5.0000001 }),
  yes('numeric: a closed lower bound includes it', { a: [{ numeric: ['>=', 0, '<', 1] }] }, { a: 0 }),
  no('numeric: an open upper bound excludes it', { a: [{ numeric: ['>=', 0, '<', 1] }] }, { a: 1 }),
  yes('numeric: a negative range', { a: [{ numeric: ['>', -10, '<', -5] }] }, { a: -7 }),
  no('numeric: a negative range excludes its open upper bound', { a: [{ numeric: ['>', -10, '<', -5] }] }, { a: -5 }),
  no('numeric: < 599 fails for 600', { Image: { Height: [{ numeric: ['<', 599] }] } }, IMAGE, RULER_TEST),
  yes('numeric: float bounds around 100', { Image: { Thumbnail: { Width: [{ numeric: ['>=', 99.999, '<=', 100] }] } } }, IMAGE, RULER_TEST),
  no('numeric: a float lower bound just above the value', { Image: { Thumbnail: { Width: [{ numeric: ['>=', 100.00001, '<=', 1001] }] } } },
    IMAGE, RULER_TEST),
  yes('numeric: = 3e2 matches 300.0 written in the event', '{"a": [{"numeric": ["=", 3e2]}]}', { a: 300 }, { eventJson: '{"a": 300.0}' }),
  yes('numeric: a bound written as 1e3', '{"a": [{"numeric": ["<", 1e3]}]}', { a: 999.999 }),
  no('numeric: = does not match a string holding the number', { a: [{ numeric: ['=', 5] }] }, { a: '5' }, README),
  no('numeric: does not match booleans', { a: [{ numeric: ['>=', 0] }] }, { a: true }),
  no('numeric: does not match null', { a: [{ numeric: ['>=', 0] }] }, { a: null }),
  no('numeric: does not match an object', { a: [{ numeric: ['>', 0] }] }, { a: { b: 1 } }),
  yes('numeric: numbers far beyond 5e9 compare as float64', { a: [{ numeric: ['>', 1e15] }] }, { a: 2e15 }, README),
  yes('numeric: tiny positive numbers are above 0', { a: [{ numeric: ['>', 0] }] }, { a: 1e-7 }),
  no('numeric: 0.1 + 0.2 is not 0.3 in float64', { a: [{ numeric: ['=', 0.3] }] }, { a: 0.30000000000000004 }),
  no('numeric: ranges in one list are OR-ed (none holds)', { a: [{ numeric: ['<', 0] }, { numeric: ['>', 10] }] }, { a: 5 }),
  yes('numeric: ranges in one list are OR-ed (one holds)', { a: [{ numeric: ['<', 0] }, { numeric: ['>', 10] }] }, { a: 11 }),
  yes('numeric: a range OR-ed with an exact number', { a: [{ numeric: ['>', 100] }, 5] }, { a: 5 }),
];

// prettier-ignore
const exists: PatternCase[] = [
  yes('exists: true on a present field', { detail: { 'c-count': [EXISTS] } }, EC2, README),
  no('exists: false on a present field', { detail: { 'c-count': [ABSENT] } }, EC2, README),
  no('exists: true on a missing field', { detail: { 'e-count': [EXISTS] } }, EC2),
  yes('exists: false on a missing field', { detail: { 'e-count': [ABSENT] } }, EC2, README),
  yes('exists: true on an empty string', { a: [EXISTS] }, { a: '' }),
  yes('exists: true on false', { a: [EXISTS] }, { a: false }),
  yes('exists: true on zero', { a: [EXISTS] }, { a: 0 }),
  yes('exists: true on an array of primitives', { tags: [EXISTS] }, { tags: ['a'] }, CORRECTNESS),
  no('exists: true on an empty array', { a: [EXISTS] }, { a: [] }, CORRECTNESS),
  yes('exists: false on an empty array', { a: [ABSENT] }, { a: [] }),
  no('exists: true on an empty object', { a: [EXISTS] }, { a: {} }),
  yes('exists: false on an empty object', { a: [ABSENT] }, { a: {} }),
  no('exists: true on an array of objects, which is not a leaf', { a: [EXISTS] }, { a: [{ b: 1 }] }),
  yes('exists: true on a nested null', { a: { b: [EXISTS] } }, { a: { b: null } }),
  no('exists: false on a nested null', { a: { b: [ABSENT] } }, { a: { b: null } }),
  no('exists: false fails even when the other fields match', { source: ['aws.ec2'], detail: { 'c-count': [ABSENT] } }, EC2),
  yes('exists: false matches an empty event', { a: [ABSENT] }, {}),
  yes('exists: true and false on different fields', { a: [EXISTS], b: [ABSENT] }, { a: 1 }),
];

// prettier-ignore
const cidr: PatternCase[] = [
  yes('cidr: /8 contains the address', { detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } }, ec2({ 'source-ip': '10.255.1.2' }), README),
  yes('cidr: /24 contains its first address', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.0' }),
  yes('cidr: /24 contains its last address', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.255' }),
  no('cidr: /24 excludes the next address', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.1.0' }),
  yes('cidr: /16 contains the address', { ip: [{ cidr: '192.168.0.0/16' }] }, { ip: '192.168.255.254' }),
  no('cidr: /16 excludes the next network', { ip: [{ cidr: '192.168.0.0/16' }] }, { ip: '192.169.0.1' }),
  yes('cidr: host bits in the rule are ignored', { ip: [{ cidr: '10.0.0.77/24' }] }, { ip: '10.0.0.5' },
    { doc: 'event-ruler CIDR.cidr masks the base address' }),
  no('cidr: a string that is not an address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 'not-an-ip' }),
  no('cidr: an incomplete address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '10.0.0' }),
  no('cidr: a number is not an address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 10 }),
  yes('cidr: IPv6 /32 contains the address', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:1234::1' }, README),
  no('cidr: IPv6 /32 excludes another network', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' }),
  yes('cidr: IPv6 in upper case', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:DB8::ABCD' }),
  yes('cidr: IPv6 /64 contains its last address', { ip: [{ cidr: '2001:db8:0:1::/64' }] }, { ip: '2001:db8:0:1:ffff:ffff:ffff:ffff' }),
  no('cidr: IPv6 /64 excludes the next network', { ip: [{ cidr: '2001:db8:0:1::/64' }] }, { ip: '2001:db8:0:2::' }),
  no('cidr: an IPv4 address is not in an IPv6 range', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '192.168.0.1' }),
  yes('cidr: any element of an event array', { ips: [{ cidr: '10.0.0.0/24' }] }, { ips: ['192.168.1.1', '10.0.0.9'] }),
  yes('exact IP: IPv6 short and long forms are the same address', { ip: ['2001:db8::1'] },
    { ip: '2001:0db8:0000:0000:0000:0000:0000:0001' }, IP_EXACT),
  yes('exact IP: IPv6 hex case does not matter', { ip: ['2001:DB8::A'] }, { ip: '2001:db8::a' }, IP_EXACT),
  no('exact IP: another IPv6 address', { ip: ['2001:db8::1'] }, { ip: '2001:db8::2' }),
  yes('exact IP: the same IPv4 address', { ip: ['10.0.0.1'] }, { ip: '10.0.0.1' }),
  no('exact IP: an IPv4 address it is a prefix of', { ip: ['10.0.0.1'] }, { ip: '10.0.0.10' }),
];

const CW_OR = {
  source: ['aws.cloudwatch'],
  $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
};
const PARALLEL_OR = {
  $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
  detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
};
const AND_IN_OR = {
  source: ['aws.cloudwatch'],
  $or: [
    { metricName: ['CPUUtilization', 'ReadLatency'] },
    { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] },
    { scope: ['Service'] },
  ],
};
const NESTED_OR = {
  source: ['aws.cloudwatch'],
  $or: [
    { metricName: ['CPUUtilization', 'ReadLatency'] },
    { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
    { scope: ['Service'] },
  ],
};
const OPERATOR_OR = { $or: [{ a: [{ numeric: ['>', 10] }] }, { b: [{ prefix: 'x' }] }] };
const ARRAY_OR = { d: { $or: [{ a: ['1'], b: ['2'] }, { c: ['3'] }] } };

// prettier-ignore
const or: PatternCase[] = [
  yes('$or: the first branch', CW_OR, { source: 'aws.cloudwatch', metricName: 'CPUUtilization' }, README),
  no('$or: neither branch', CW_OR, { source: 'aws.cloudwatch', metricName: 'NetworkIn' }, README),
  yes('$or: two parallel ors both satisfied', PARALLEL_OR,
    { metricName: 'ReadLatency', detail: { 'detail-type': 'CloudWatch Alarm State Change' } }, README),
  no('$or: two parallel ors, the second unsatisfied', PARALLEL_OR, { namespace: 'AWS/EC2', detail: { other: 'x' } }, README),
  yes('$or: an AND inside a branch', AND_IN_OR, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES' }, README),
  no('$or: an AND inside a branch needs all its fields', AND_IN_OR, { source: 'aws.cloudwatch', metricType: 'MetricType' }, README),
  yes('$or: the third branch', AND_IN_OR, { source: 'aws.cloudwatch', scope: 'Service' }, README),
  yes('$or: the first branch of a nested or', NESTED_OR,
    { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', metricId: 1234 }, README),
  yes('$or: branches with operators, the second holds', OPERATOR_OR, { a: 5, b: 'xyz' }),
  no('$or: branches with operators, none holds', OPERATOR_OR, { a: 5, b: 'y' }),
  yes('$or: exists false in a branch matches an empty event', { $or: [{ a: [ABSENT] }, { a: ['x'] }] }, {}),
  no('$or: exists false in a branch fails on another value', { $or: [{ a: [ABSENT] }, { a: ['x'] }] }, { a: 'y' }),
  yes('$or: both branches holding still match', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { a: '1', b: '2' }),
  yes('$or: inside a nested object', { detail: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { detail: { b: '2' } }, README),
  no('$or: inside a nested object applies to nested paths', { detail: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { b: '2' }),
  no('$or: an object-valued $or is a field the event must have', { source: ['aws.cloudwatch'], $or: { metricType: ['MetricType'] } },
    { source: 'aws.cloudwatch', metricType: 'MetricType' }, README),
  no('$or: a branch keeps array consistency', ARRAY_OR, { d: [{ a: '1' }, { b: '2' }] }),
  yes('$or: a branch within one array element', ARRAY_OR, { d: [{ a: '1', b: '2' }] }),
];

// prettier-ignore
const cloudEvents: PatternCase[] = [
  yes('cloudevents: the type attribute', { type: ['infra.instance.health'] }, HEALTH),
  yes('cloudevents: a source prefix', { source: [{ prefix: 'homeostat/provider/' }] }, HEALTH),
  yes('cloudevents: a subject wildcard', { subject: [{ wildcard: 'group/web/instance/*' }] }, HEALTH),
  no('cloudevents: a subject wildcard for another group', { subject: [{ wildcard: 'group/api/*' }] }, HEALTH),
  yes('cloudevents: a time prefix', { time: [{ prefix: '2025-01-02T' }] }, HEALTH),
  yes('cloudevents: an extension attribute', { partitionkey: ['group/web'] }, HEALTH),
  no('cloudevents: specversion is a string, not a number', '{"specversion": [1.0]}', HEALTH),
  yes('cloudevents: type and a data field', { type: ['infra.instance.health'], data: { status: ['unhealthy'] } }, HEALTH),
  yes('cloudevents: two fields of one data.checks element', { data: { checks: { name: ['http'], ok: [false] } } }, HEALTH),
  no('cloudevents: two fields from different data.checks elements', { data: { checks: { name: ['tcp'], ok: [false] } } }, HEALTH),
  yes('cloudevents: a numeric range in the bound check',
    { data: { checks: { name: ['http'], latencyMs: [{ numeric: ['>=', 1000] }] } } }, HEALTH),
  yes('cloudevents: a numeric data field', { data: { cpu: [{ numeric: ['>', 90] }] } }, HEALTH),
  yes('cloudevents: a cidr on a data field', { data: { ip: [{ cidr: '10.0.0.0/16' }] } }, HEALTH),
  yes('cloudevents: a data array of tags', { data: { tags: ['prod'] } }, HEALTH),
  yes('cloudevents: a null data field matches null', { data: { previous: [null] } }, HEALTH),
  no('cloudevents: anything-but on a data field the event lacks', { data: { zone: [{ 'anything-but': 'eu-west-1a' }] } }, HEALTH),
  no('cloudevents: a data pattern against an event without data', { data: { status: ['unhealthy'] } }, HEALTH_WITHOUT_DATA),
  yes('cloudevents: an HTTP 5xx status', { type: ['http.response'], data: { status: [{ numeric: ['>=', 500] }] } }, HTTP_503,
    { doc: 'DESIGN.md rule example' }),
  no('cloudevents: an HTTP status below 500', { type: ['http.response'], data: { status: [{ numeric: ['>=', 500] }] } },
    { ...HTTP_503, data: { ...HTTP_503.data, status: 404 } }),
];

/** Every valid case, grouped by operator. */
export const eventBridgeCases: readonly PatternCase[] = [
  ...exact,
  ...nested,
  ...arrays,
  ...objectArrays,
  ...prefixSuffix,
  ...wildcard,
  ...anythingBut,
  ...numeric,
  ...exists,
  ...cidr,
  ...or,
  ...cloudEvents,
];

const manyFields = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, ['x']]));
const DEPTH_KEYS = Array.from({ length: 16 }, (_, i) => `l${i + 1}`);
/** 17 nested objects: the root, then one per key; the 17th (at /l1/.../l16) is one level too deep. */
const tooDeep = DEPTH_KEYS.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), { leaf: ['x'] });
const on = (operator: string, operand: unknown) => ({ a: [{ [operator]: operand }] });

/** Patterns the parser rejects, each with the pointer of the offending value. */
// prettier-ignore
export const invalidPatterns: readonly InvalidPatternCase[] = [
  { name: 'a top-level array', pattern: [1, 2, 3], pointer: '' },
  { name: 'a top-level number', pattern: 42, pointer: '' },
  { name: 'a top-level null', pattern: null, pointer: '' },
  { name: 'the empty pattern {}', pattern: {}, pointer: '' },
  { name: 'a leaf that is a string, not a list', pattern: { a: 'x' }, pointer: '/a' },
  { name: 'a leaf that is a number, not a list', pattern: { a: 5 }, pointer: '/a' },
  { name: 'a leaf that is null, not a list', pattern: { a: null }, pointer: '/a' },
  { name: 'a nested leaf that is a boolean', pattern: { detail: { state: true } }, pointer: '/detail/state' },
  { name: 'an empty value list', pattern: { a: [] }, pointer: '/a' },
  { name: 'an empty nested object', pattern: { a: {} }, pointer: '/a' },
  { name: 'a list inside a value list', pattern: { a: [['x']] }, pointer: '/a/0' },
  { name: 'an empty operator object', pattern: { a: [{}] }, pointer: '/a/0' },
  { name: 'an unknown operator', pattern: on('foo', 'x'), pointer: '/a/0/foo' },
  { name: 'two operators in one object', pattern: { a: [{ prefix: 'x', suffix: 'y' }] }, pointer: '/a/0' },
  { name: 'numeric with an unknown comparison', pattern: on('numeric', ['<>', 1]), pointer: '/a/0/numeric/0' },
  { name: 'numeric with ==', pattern: on('numeric', ['==', 1]), pointer: '/a/0/numeric/0' },
  { name: 'numeric with a quoted number', pattern: on('numeric', ['<', '5']), pointer: '/a/0/numeric/1' },
  { name: 'numeric with a boolean bound', pattern: on('numeric', ['>=', true]), pointer: '/a/0/numeric/1' },
  { name: 'numeric without a bound', pattern: on('numeric', ['=']), pointer: '/a/0/numeric' },
  { name: 'numeric that is not a list', pattern: on('numeric', 5), pointer: '/a/0/numeric' },
  { name: 'numeric with an empty range', pattern: on('numeric', ['>', 30, '<', 1]), pointer: '/a/0/numeric' },
  { name: 'numeric with equal open bounds', pattern: on('numeric', ['>', 1, '<', 1]), pointer: '/a/0/numeric' },
  { name: 'numeric with too many terms', pattern: on('numeric', ['>', 1, '<', 30, false]), pointer: '/a/0/numeric' },
  { name: 'numeric with an infinite bound', pattern: '{"a": [{"numeric": ["=", 1E309]}]}', pointer: '/a/0/numeric/1' },
  { name: 'exists with a string', pattern: on('exists', 'true'), pointer: '/a/0/exists' },
  { name: 'exists with null', pattern: on('exists', null), pointer: '/a/0/exists' },
  { name: 'prefix with a number', pattern: on('prefix', 3), pointer: '/a/0/prefix' },
  { name: 'suffix with a list', pattern: on('suffix', ['x']), pointer: '/a/0/suffix' },
  { name: 'prefix with an unknown option', pattern: on('prefix', { 'invalid-expression': 'abc' }), pointer: '/a/0/prefix' },
  { name: 'prefix equals-ignore-case with a number', pattern: on('prefix', { 'equals-ignore-case': 5 }),
    pointer: '/a/0/prefix/equals-ignore-case' },
  { name: 'equals-ignore-case with a list', pattern: on('equals-ignore-case', ['abc']), pointer: '/a/0/equals-ignore-case' },
  { name: 'wildcard with a number', pattern: on('wildcard', 5), pointer: '/a/0/wildcard' },
  { name: 'wildcard with consecutive stars', pattern: on('wildcard', 'foo**bar'), pointer: '/a/0/wildcard' },
  { name: 'wildcard escaping a letter', pattern: on('wildcard', 'he\\llo'), pointer: '/a/0/wildcard' },
  { name: 'wildcard ending in a lone backslash', pattern: on('wildcard', 'foo\\'), pointer: '/a/0/wildcard' },
  { name: 'cidr that is not an address', pattern: on('cidr', 'foo'), pointer: '/a/0/cidr' },
  { name: 'cidr with an IPv4 mask above 32', pattern: on('cidr', '10.0.0.0/33'), pointer: '/a/0/cidr' },
  { name: 'cidr with an IPv6 mask above 128', pattern: on('cidr', '2001:db8::/129'), pointer: '/a/0/cidr' },
  { name: 'cidr without a mask', pattern: on('cidr', '10.0.0.1'), pointer: '/a/0/cidr' },
  { name: 'cidr with a number', pattern: on('cidr', 10), pointer: '/a/0/cidr' },
  { name: 'anything-but with a mixed list', pattern: on('anything-but', ['a', 1]), pointer: '/a/0/anything-but' },
  { name: 'anything-but with an empty list', pattern: on('anything-but', []), pointer: '/a/0/anything-but' },
  { name: 'anything-but with null', pattern: on('anything-but', null), pointer: '/a/0/anything-but' },
  { name: 'anything-but with a boolean', pattern: on('anything-but', true), pointer: '/a/0/anything-but' },
  { name: 'a nested anything-but', pattern: on('anything-but', { 'anything-but': 'x' }), pointer: '/a/0/anything-but/anything-but' },
  { name: 'anything-but numeric', pattern: on('anything-but', { numeric: ['>', 1] }), pointer: '/a/0/anything-but/numeric' },
  { name: 'anything-but with an empty prefix', pattern: on('anything-but', { prefix: '' }), pointer: '/a/0/anything-but/prefix' },
  { name: 'anything-but with an empty suffix', pattern: on('anything-but', { suffix: '' }), pointer: '/a/0/anything-but/suffix' },
  { name: 'anything-but prefix with a number', pattern: on('anything-but', { prefix: 27 }), pointer: '/a/0/anything-but/prefix' },
  { name: 'anything-but wildcard with consecutive stars', pattern: on('anything-but', { wildcard: 'foo**bar' }),
    pointer: '/a/0/anything-but/wildcard' },
  { name: 'anything-but with a second key', pattern: { a: [{ 'anything-but': 'x', foo: 1 }] }, pointer: '/a/0' },
  { name: '$or with one branch', pattern: { $or: [{ a: ['x'] }] }, pointer: '/$or' },
  { name: '$or with no branch', pattern: { $or: [] }, pointer: '/$or' },
  { name: '$or with a string value', pattern: { $or: 'x' }, pointer: '/$or' },
  { name: '$or with a branch that is not an object', pattern: { $or: [{ a: ['x'] }, 'b'] }, pointer: '/$or/1' },
  { name: '$or with an empty branch', pattern: { $or: [{ a: ['x'] }, {}] }, pointer: '/$or/1' },
  { name: '$or with a bad leaf in a branch', pattern: { $or: [{ a: ['x'] }, { b: 'y' }] }, pointer: '/$or/1/b' },
  { name: 'more fields than the default cap of 64', pattern: manyFields, pointer: '' },
  { name: 'more nesting than the default cap of 16', pattern: tooDeep, pointer: `/${DEPTH_KEYS.join('/')}` },
  { name: 'more fields than a cap of 2', pattern: { a: ['1'], b: ['2'], c: ['3'] }, pointer: '', limits: { maxFields: 2 } },
  { name: 'more values than a cap of 2', pattern: { a: ['1', '2', '3'] }, pointer: '/a', limits: { maxValuesPerField: 2 } },
  { name: 'anything-but entries beyond a cap of 2', pattern: on('anything-but', ['1', '2', '3']), pointer: '/a',
    limits: { maxValuesPerField: 2 } },
  { name: 'more branches than a cap of 2', pattern: { $or: [{ a: ['1'] }, { b: ['2'] }, { c: ['3'] }] }, pointer: '',
    limits: { maxBranches: 2 } },
  { name: 'more wildcard stars than a cap of 2', pattern: on('wildcard', 'a*b*c*'), pointer: '/a/0/wildcard',
    limits: { maxWildcardStars: 2 } },
  { name: 'a string longer than a cap of 5', pattern: { a: ['abcdef'] }, pointer: '/a/0', limits: { maxValueLength: 5 } },
];
