// Bundles the operator into one ES module, dist/operator.mjs: what the container runs.
// Why a bundle: the AWS SDK's ES builds tree-shake to the dozen commands the operator sends
// (client-ec2 alone is ~2 MB of serializers for ~600 actions otherwise), and one minified file
// parses into far less resident memory than ~900 modules from node_modules (docs/benchmarks.md).
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const repo = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { outfile: { type: 'string' } } });
const outfile = values.outfile ? resolve(values.outfile) : join(repo, 'dist', 'operator.mjs');
await build({
  entryPoints: [join(repo, 'src', 'main.ts')],
  outfile,
  bundle: true,
  minify: true,
  // names stay readable in stack traces and in pino's error serializer
  keepNames: true,
  sourcemap: 'linked',
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // ES builds first: the CommonJS builds of the AWS SDK cannot be tree-shaken
  mainFields: ['module', 'main'],
  // a few CommonJS dependencies require() Node built-ins, which an ES module has no require for
  banner: { js: "import { createRequire as __pioCreateRequire } from 'node:module'; const require = __pioCreateRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning',
});
process.stdout.write(`bundled ${outfile}\n`);
