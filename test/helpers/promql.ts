const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Metric names a PromQL expression selects; enough PromQL for dashboards, not a full parser. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values and regexes, incl. Grafana variables
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors such as [$__rate_interval]
    .replace(GROUPING, ''); // label lists, which look like metric names
  const names: string[] = [];
  for (const [, name, call] of stripped.matchAll(/(?<![\w$:.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (name !== undefined && call === undefined && !KEYWORDS.has(name.toLowerCase())) names.push(name);
  }
  return names;
}

export function baseName(series: string): string {
  return series.replace(/_(?:bucket|sum|count)$/, '');
}
