// docs/configuration.md is checked against the code: the field table, the error example and the
// complete example file must stay true as fields are added.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { configFields, loadConfigText } from '../../../src/config/index.ts';

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

/** The cells of each table row whose first cell is a `code` field path. */
function tableRows(markdown: string): string[][] {
  return markdown.split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|')));
}

function codeBlocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1] as string);
}

t.test('the field table lists every field with its type, default, origin and meaning', async (t) => {
  const rows = tableRows(doc);
  const fields = configFields();
  t.same(rows.map((r) => r[0]), fields.map((f) => `\`${f.path}\``), 'the same fields in the same order');
  for (const f of fields) {
    const row = rows.find((r) => r[0] === `\`${f.path}\``);
    if (row === undefined) continue;
    t.same(row.slice(1), [f.type, `\`${JSON.stringify(f.default)}\``, f.vcluster ? 'yes' : 'no', f.doc], f.path);
  }
});

t.test('the error example shows what vcnet prints for it', async (t) => {
  const [bad] = codeBlocks(doc, 'yaml');
  const [printed] = codeBlocks(doc, 'text');
  t.ok(bad !== undefined && printed !== undefined, 'both blocks are there');
  t.throws(() => loadConfigText(bad as string, { source: 'vcnet.yaml' }), { message: (printed as string).trimEnd() });
});

t.test('the complete example is valid and sets every field', async (t) => {
  const example = codeBlocks(doc, 'yaml').at(-1) as string;
  const config = loadConfigText(example);
  t.equal(config.vcnet.virtual.kubeconfig, 'virtual.kubeconfig');
  const written = parseDocument(example, { version: '1.1' });
  for (const f of configFields()) t.ok(written.hasIn(f.path.split('.')), `sets ${f.path}`);
});
