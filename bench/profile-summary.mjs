// Summarizes V8 .cpuprofile files of sigauth's workers: self time per function and per package,
// restricted to the bench's measured windows. Used by `node bench/run.mjs --profile`; also runs
// alone on a folder of profiles (whole profiles, no window):
//
//   node bench/profile-summary.mjs bench/results/profiles/<run>
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TOP = 15;

function location(frame) {
  let url = frame.url || '';
  if (!url) return '';
  url = url.replace(/^file:\/\//, '');
  if (url.startsWith(ROOT)) url = url.slice(ROOT.length + 1);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) url = url.slice(nm);
  return `${url}:${frame.lineNumber + 1}`;
}

function category(frame) {
  const name = frame.functionName;
  if (name === '(garbage collector)' || name === '(idle)' || name === '(program)' || name === '(root)') return name;
  const url = (frame.url || '').replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(url.lastIndexOf('node_modules/')));
  if (url.includes('node_modules/') && nm) return nm[1];
  if (url.startsWith('node:')) return 'node: (runtime JS)';
  if (url.includes('/dist/src/generated/')) return 'sigauth (generated Prisma client)';
  if (url.includes('/dist/src/')) return 'sigauth (dist/src)';
  if (!url) return '(native / VM builtins)';
  return url;
}

/**
 * Self time per node inside [fromUs, toUs] of the profile's own clock. Sample i covers the time
 * up to sample i + 1, as Chrome DevTools counts it.
 */
function selfTimes(profile, fromUs = -Infinity, toUs = Infinity) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = profile.startTime;
  const times = profile.timeDeltas.map((d) => (t += d));
  for (let i = 0; i < profile.samples.length - 1; i++) {
    if (times[i] < fromUs || times[i] > toUs) continue;
    const node = byId.get(profile.samples[i]);
    self.set(node, (self.get(node) ?? 0) + (times[i + 1] - times[i]));
  }
  return self;
}

/** Synchronous inclusive time of sigauth's own functions (dist/src, not the generated client). */
function ownInclusiveTimes(profile, self, inclusive) {
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  for (const [node, us] of self) {
    const seen = new Set();
    for (let n = node; n; n = parent.get(n.id)) {
      const frame = n.callFrame;
      if (!frame.url.includes('/dist/src/') || frame.url.includes('/dist/src/generated/')) continue;
      const key = `${frame.functionName || '(anonymous)'}\t${location(frame)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
}

function accumulate(self, byFunction, byCategory) {
  for (const [node, us] of self) {
    const frame = node.callFrame;
    const key = `${frame.functionName || '(anonymous)'}\t${location(frame)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const cat = category(frame);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
  }
}

/** pid from Node's profile file name: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile */
const pidOf = (file) => Number(file.split('.')[3]);

/**
 * `report` (optional) is the bench's sigauth report: its scenarios' hrtime windows and each
 * worker's exit time place the measured windows on each profile's clock, anchored at its end.
 */
export function summarizeProfiles(dir, report) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const workerPids = new Set((report?.rss?.workers ?? []).map((w) => w.pid));
  const windows = Object.values(report?.scenarios ?? {}).filter((s) => s.window).map((s) => s.window);
  const byFunction = new Map();
  const byCategory = new Map();
  const ownInclusive = new Map();
  const profiles = [];
  for (const file of files) {
    const pid = pidOf(file);
    if (workerPids.size > 0 && !workerPids.has(pid)) continue;
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const exitMs = report?.workerExitMs?.[pid];
    const ranges = exitMs !== undefined && windows.length > 0
      ? windows.map((w) => [profile.endTime - (exitMs - w.startMs) * 1000, profile.endTime - (exitMs - w.endMs) * 1000])
      : [[-Infinity, Infinity]];
    let totalUs = 0;
    for (const [from, to] of ranges) {
      const self = selfTimes(profile, from, to);
      for (const us of self.values()) totalUs += us;
      accumulate(self, byFunction, byCategory);
      ownInclusiveTimes(profile, self, ownInclusive);
    }
    profiles.push({ file, pid, windowed: ranges[0][0] !== -Infinity, sampledMs: Math.round(totalUs / 1000) });
  }
  const idleUs = byCategory.get('(idle)') ?? 0;
  const totalUs = [...byCategory.values()].reduce((a, b) => a + b, 0);
  const busyUs = totalUs - idleUs;
  const pct = (us) => Math.round((us / busyUs) * 1000) / 10;
  const top = [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .filter(([key]) => !key.startsWith('(idle)'))
    .slice(0, TOP)
    .map(([key, us]) => {
      const [functionName, where] = key.split('\t');
      return { functionName, location: where, selfMs: Math.round(us / 1000), percentOfBusy: pct(us) };
    });
  const packages = [...byCategory.entries()]
    .filter(([cat]) => cat !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percentOfBusy: pct(us) }));

  const own = [...ownInclusive.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([key, us]) => {
      const [functionName, where] = key.split('\t');
      return { functionName, location: where, inclusiveMs: Math.round(us / 1000), percentOfBusy: pct(us) };
    });

  const lines = [];
  lines.push(`CPU profile of ${profiles.length} worker(s) (${profiles.map((p) => `pid ${p.pid}: ${p.sampledMs} ms sampled${p.windowed ? ' in the measured window' : ''}`).join('; ')})`);
  lines.push(`busy ${Math.round(busyUs / 1000)} ms, idle ${Math.round(idleUs / 1000)} ms (${Math.round((idleUs / totalUs) * 100)} % idle)`);
  lines.push(`\ntop ${TOP} functions by self time (% of busy time):`);
  for (const [i, f] of top.entries()) lines.push(`${String(i + 1).padStart(3)}. ${String(f.percentOfBusy).padStart(5)} %  ${String(f.selfMs).padStart(6)} ms  ${f.functionName}  ${f.location}`);
  lines.push('\nself time by package (% of busy time):');
  for (const p of packages.slice(0, 20)) lines.push(`  ${String(p.percentOfBusy).padStart(5)} %  ${String(p.selfMs).padStart(6)} ms  ${p.name}`);
  lines.push(`\nsigauth's own functions by synchronous inclusive time (% of busy time):`);
  for (const f of own) lines.push(`  ${String(f.percentOfBusy).padStart(5)} %  ${String(f.inclusiveMs).padStart(6)} ms  ${f.functionName}  ${f.location}`);
  return { profiles, busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), top, packages, ownInclusive: own, text: lines.join('\n') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node bench/profile-summary.mjs <folder of .cpuprofile files>');
    process.exit(2);
  }
  console.log(summarizeProfiles(dir).text);
}
