/** What the sql adapter refuses at load, with the path and a fix; and how it finds named parameters. */
import { describe, expect, it } from 'vitest';
import { parseStatement } from '../../../src/adapters/sql/sql-params.js';
import { ConfigurationError } from '../../../src/errors.js';
import { buildEngine } from '../../../src/library.js';
import { loadFlows, mockComponent } from '../../../src/testing/index.js';

const component = {
  adapter: 'sql',
  url: 'postgres://app@127.0.0.1:5432/test',
  statements: { add: 'INSERT INTO t (id, total) VALUES (:id, :total)', remove: 'DELETE FROM t WHERE id = :id' },
};

async function loadIssues(request: unknown, statements: Record<string, string> = component.statements): Promise<string[]> {
  try {
    const built = await buildEngine({ flows: [{ name: 'f', components: { db: { ...component, statements } }, phases: [{ id: 'p', component: 'db', request }] }] });
    await built.engine.close();
    return [];
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
}

describe('sql requests are checked at load', () => {
  it('accepts a declared statement with exactly its parameters (values may be expressions)', async () => {
    expect(await loadIssues({ statement: 'add', params: { id: '{% input.id %}', total: 3 } })).toEqual([]);
  });

  it('refuses a statement chosen by an expression: SQL is never chosen or built from input', async () => {
    const issues = await loadIssues({ statement: '{% input.which %}', params: {} });
    expect(issues.join('\n')).toMatch(/phases\[0\]\.request\.statement.*not an expression/);
  });

  it('refuses a whole request given as one expression', async () => {
    expect((await loadIssues('{% input %}')).join('\n')).toMatch(/a sql request is \{ statement/);
  });

  it('names an unknown statement with a did-you-mean, and missing or unknown parameters', async () => {
    expect((await loadIssues({ statement: 'ad', params: {} })).join('\n')).toMatch(/unknown statement "ad".*did you mean "add"/i);
    const issues = (await loadIssues({ statement: 'add', params: { id: 1, totl: 2 } })).join('\n');
    expect(issues).toMatch(/uses :total but params has no "total"/);
    expect(issues).toMatch(/params\.totl.*has no :totl.*did you mean "total"/i);
  });

  it('refuses SQL text holding an expression', async () => {
    const issues = await loadIssues({ statement: 'add', params: { id: 1 } }, { add: "SELECT * FROM t WHERE id = '{% input.id %}'" });
    expect(issues.join('\n')).toMatch(/contains an expression: SQL text is fixed/);
  });

  it('refuses an unsupported URL scheme with the ones it knows', async () => {
    try {
      await buildEngine({ flows: [{ name: 'f', components: { db: { ...component, url: 'oracle://x/y' } }, phases: [{ id: 'p', component: 'db', request: { statement: 'remove', params: { id: 1 } } }] }] });
      expect.unreachable();
    } catch (error) {
      expect(String((error as ConfigurationError).issues.map((i) => i.message))).toMatch(/"oracle:" is not supported: use postgres:\/\//);
    }
  });
});

describe('named parameters', () => {
  it('become $n (PostgreSQL, a repeated name reuses its number) or ? (MySQL, repeated in order)', () => {
    expect(parseStatement('SELECT :a, :b, :a', 'postgres')).toEqual({ text: 'SELECT $1, $2, $1', order: ['a', 'b'], names: ['a', 'b'] });
    expect(parseStatement('SELECT :a, :b, :a', 'mysql')).toEqual({ text: 'SELECT ?, ?, ?', order: ['a', 'b', 'a'], names: ['a', 'b'] });
  });

  it('are not found in literals, quoted identifiers, comments, dollar quotes or casts', () => {
    const sql = `SELECT ':x', "col:y", x::int, $$ :z $$, $t$ :w $t$ -- :c\n/* :d */ , :real`;
    expect(parseStatement(sql, 'postgres').names).toEqual(['real']);
    expect(parseStatement("SELECT 'it\\'s :x', `a:b`, :real # :c", 'mysql').names).toEqual(['real']);
  });
});

describe('the test kit', () => {
  it('mocks a sql component by name, with the result the phase sees, and records the request it got', async () => {
    const kit = await loadFlows({
      flows: [
        {
          name: 'f',
          components: { db: component },
          phases: [{ id: 'p', component: 'db', request: { statement: 'add', params: { id: '{% input.id %}', total: 2 } }, output: '{% result.rowCount %}' }],
          output: '{% phases.p %}',
        },
      ],
      mocks: [mockComponent('db', { result: { rows: [], rowCount: 1 } })],
    });
    try {
      const result = await kit.run('f', { id: 'x' });
      expect(result.success).toBe(true);
      expect(result.output).toBe(1);
      expect(result.calls('db')).toMatchObject([{ mocked: true, request: { statement: 'add', params: { id: 'x', total: 2 } } }]);
    } finally {
      await kit.close();
    }
  });
});
