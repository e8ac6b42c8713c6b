import type { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Label-bound handles on prom-client series, for metrics updated on every execution and request.
 *
 * prom-client's `inc(labels)` / `observe(labels)`, and the children `labels()` returns, build,
 * validate and hash a label object on every call (0.5–1 µs each). A handle here takes its first
 * update through that public path, then keeps the series entry prom-client created and updates it
 * in place with prom-client's own arithmetic. Exposition, `get()`, `reset()` and `remove()` stay
 * prom-client's, byte for byte.
 *
 * The entry layout (`hashMap` of `{ labels, value }`, or of `{ labels, bucketValues, sum, count }`
 * beside `upperBounds` for a histogram) is prom-client 15's internal state, read in this file only.
 * A handle checks it when binding and, when it does not match, stays on the public path: slower,
 * never wrong. test/observability/series-cache.test.ts fails if that happens.
 */

export type LabelValue = string | number;
type Labels = Record<string, string>;

interface ValueEntry {
  labels: Record<string, unknown>;
  value: number;
}

interface HistogramEntry {
  labels: Record<string, unknown>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** Where prom-client keeps a metric's series, keyed by its label hash. */
interface SeriesStore<E> {
  hashMap: Record<string, E>;
}

/** prom-client's entry for one label set, re-found after `reset()`, `remove()` or a gauge `set()` replaced it. */
class EntryRef<E extends { labels: Record<string, unknown> }> {
  readonly #metric: SeriesStore<E>;
  readonly #labels: Labels;
  readonly #isEntry: (entry: unknown) => entry is E;
  #key = '';
  #entry: E | undefined;
  /** Set when an entry prom-client must have just created was not found: its layout changed, stop looking. */
  #unbindable = false;

  constructor(metric: object, labels: Labels, isEntry: (entry: unknown) => entry is E) {
    this.#metric = metric as SeriesStore<E>;
    this.#labels = labels;
    this.#isEntry = isEntry;
  }

  /** The bound entry while prom-client still holds it; undefined means "take the public path". */
  current(): E | undefined {
    const entry = this.#entry;
    return entry !== undefined && this.#metric.hashMap[this.#key] === entry ? entry : undefined;
  }

  /** Called after a public-path update, which has created or replaced the entry. */
  bind(): void {
    this.#entry = undefined;
    const hashMap: unknown = this.#metric.hashMap;
    if (this.#unbindable || typeof hashMap !== 'object' || hashMap === null) {
      this.#unbindable = true;
      return;
    }
    for (const [key, entry] of Object.entries(hashMap)) {
      if (this.#isEntry(entry) && hasLabels(entry.labels, this.#labels)) {
        this.#key = key;
        this.#entry = entry;
        return;
      }
    }
    this.#unbindable = true;
  }

  get isBound(): boolean {
    return this.current() !== undefined;
  }
}

function hasLabels(actual: Record<string, unknown>, expected: Labels): boolean {
  const names = Object.keys(expected);
  if (Object.keys(actual).length !== names.length) return false;
  return names.every((name) => String(actual[name]) === expected[name]);
}

function isValueEntry(entry: unknown): entry is ValueEntry {
  const candidate = entry as Partial<ValueEntry> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.labels === 'object' && typeof candidate.value === 'number';
}

/** A counter series; `isBound` is false until the first update, and stays false if prom-client's layout changed. */
export class CounterSeries {
  readonly #counter: Counter<string>;
  readonly #labels: Labels;
  readonly #entry: EntryRef<ValueEntry>;

  constructor(counter: Counter<string>, labels: Labels) {
    this.#counter = counter;
    this.#labels = labels;
    this.#entry = new EntryRef(counter, labels, isValueEntry);
  }

  inc(value = 1): void {
    const entry = this.#entry.current();
    // Odd values (negative, NaN, infinite) go the public way, which throws or accepts them as prom-client does.
    if (entry !== undefined && value >= 0 && value !== Infinity) {
      entry.value += value;
      return;
    }
    this.#counter.inc(this.#labels, value);
    this.#entry.bind();
  }

  get isBound(): boolean {
    return this.#entry.isBound;
  }
}

export class GaugeSeries {
  readonly #gauge: Gauge<string>;
  readonly #labels: Labels;
  readonly #entry: EntryRef<ValueEntry>;

  constructor(gauge: Gauge<string>, labels: Labels) {
    this.#gauge = gauge;
    this.#labels = labels;
    this.#entry = new EntryRef(gauge, labels, isValueEntry);
  }

  inc(value = 1): void {
    const entry = this.#entry.current();
    if (entry !== undefined && Number.isFinite(value)) {
      entry.value += value;
      return;
    }
    this.#gauge.inc(this.#labels, value);
    this.#entry.bind();
  }

  dec(value = 1): void {
    const entry = this.#entry.current();
    if (entry !== undefined && Number.isFinite(value)) {
      entry.value += -value;
      return;
    }
    this.#gauge.dec(this.#labels, value);
    this.#entry.bind();
  }

  set(value: number): void {
    const entry = this.#entry.current();
    if (entry !== undefined && Number.isFinite(value)) {
      entry.value = value;
      return;
    }
    this.#gauge.set(this.#labels, value);
    this.#entry.bind();
  }

  get isBound(): boolean {
    return this.#entry.isBound;
  }
}

export class HistogramSeries {
  readonly #histogram: Histogram<string>;
  readonly #labels: Labels;
  readonly #bounds: Buckets | undefined;
  readonly #entry: EntryRef<HistogramEntry>;

  constructor(histogram: Histogram<string>, labels: Labels, bounds: Buckets | undefined) {
    this.#histogram = histogram;
    this.#labels = labels;
    this.#bounds = bounds;
    this.#entry = new EntryRef(histogram, labels, (entry): entry is HistogramEntry => bounds !== undefined && isHistogramEntry(entry, bounds));
  }

  observe(value: number): void {
    const entry = this.#entry.current();
    const bounds = this.#bounds;
    if (entry === undefined || bounds === undefined || !Number.isFinite(value)) {
      this.#histogram.observe(this.#labels, value);
      this.#entry.bind();
      return;
    }
    // The same steps in the same order as prom-client's observe, so sums round identically.
    entry.sum += value;
    entry.count += 1;
    for (let i = 0; i < bounds.upper.length; i += 1) {
      if (value <= (bounds.upper[i] as number)) {
        (entry.bucketValues[bounds.keys[i] as string] as number) += 1;
        return;
      }
    }
  }

  get isBound(): boolean {
    return this.#entry.isBound;
  }
}

/** A histogram's upper bounds, and each one as the property key prom-client stores its count under. */
interface Buckets {
  readonly upper: readonly number[];
  readonly keys: readonly string[];
}

function bucketsOf(histogram: Histogram<string>): Buckets | undefined {
  const upper: unknown = (histogram as unknown as { upperBounds?: unknown }).upperBounds;
  if (!Array.isArray(upper) || !upper.every((bound) => typeof bound === 'number')) return undefined;
  return { upper, keys: upper.map(String) };
}

function isHistogramEntry(entry: unknown, bounds: Buckets): entry is HistogramEntry {
  const candidate = entry as Partial<HistogramEntry> | null;
  if (typeof candidate !== 'object' || candidate === null) return false;
  const { labels, bucketValues, sum, count } = candidate;
  return (
    typeof labels === 'object' &&
    typeof sum === 'number' &&
    typeof count === 'number' &&
    typeof bucketValues === 'object' &&
    bounds.keys.every((key) => Object.hasOwn(bucketValues, key) && typeof bucketValues[key] === 'number')
  );
}

interface LabelTree<S> {
  readonly children: Map<LabelValue, LabelTree<S>>;
  series?: S;
}

/**
 * One series per label-value tuple, made on first use and reused after: a lookup costs one Map
 * `get` per label. Values arrive in `labelNames` order; numbers become their string form, as in
 * prom-client. Cardinality is whatever the callers' label values allow, exactly as with prom-client.
 */
export class SeriesCache<S, V extends readonly LabelValue[]> {
  readonly #labelNames: readonly string[];
  readonly #create: (labels: Labels) => S;
  readonly #root: LabelTree<S> = { children: new Map() };

  constructor(labelNames: readonly string[], create: (labels: Labels) => S) {
    this.#labelNames = labelNames;
    this.#create = create;
  }

  of(...values: V): S {
    let node = this.#root;
    for (const value of values) {
      let child = node.children.get(value);
      if (child === undefined) {
        child = { children: new Map() };
        node.children.set(value, child);
      }
      node = child;
    }
    return (node.series ??= this.#create(this.#labelsOf(values)));
  }

  #labelsOf(values: V): Labels {
    if (values.length !== this.#labelNames.length) {
      throw new Error(`Expected ${this.#labelNames.length} label values (${this.#labelNames.join(', ')}), got ${values.length}`);
    }
    const labels: Labels = {};
    this.#labelNames.forEach((name, i) => (labels[name] = String(values[i])));
    return labels;
  }
}

/** `labelNames` must be the ones (in the order) the counter was declared with. */
export function counterSeries<V extends readonly LabelValue[]>(counter: Counter<string>, labelNames: readonly string[]): SeriesCache<CounterSeries, V> {
  return new SeriesCache(labelNames, (labels) => new CounterSeries(counter, labels));
}

export function gaugeSeries<V extends readonly LabelValue[]>(gauge: Gauge<string>, labelNames: readonly string[]): SeriesCache<GaugeSeries, V> {
  return new SeriesCache(labelNames, (labels) => new GaugeSeries(gauge, labels));
}

export function histogramSeries<V extends readonly LabelValue[]>(histogram: Histogram<string>, labelNames: readonly string[]): SeriesCache<HistogramSeries, V> {
  const bounds = bucketsOf(histogram);
  return new SeriesCache(labelNames, (labels) => new HistogramSeries(histogram, labels, bounds));
}
