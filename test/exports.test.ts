// The package's public surface. Every entry point, loaded through the package's own name with
// `require` and with `import`, exposes exactly the names listed here, and README's API section
// names exactly these entries; `import` and `require` give the same objects. It reads lib/ as a
// user would (npm test builds it first through scripts/setup.mjs; by hand: npm run build:ts), so a
// stale lib/, a missing .mjs or an entry left out of package.json "exports" fails here.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { repoRoot } from './helpers/fixtures';

/** The run-time names of each entry (types are checked by tsc), grouped as in its source file. */
const ENTRIES: Record<string, string[]> = {
  clips4: [
    ...['ErrorCodes'],
    ...['checkTensor', 'zeros', 'tensor', 'float32', 'toFloat32'],
    ...['resolveDevice', 'setThreads', 'getThreads', 'cpuCache', 'emptyCpuCache', 'versions', 'doctor'],
    ...['safetensors'],
    ...['loadImage', 'resizeShorterCenterCrop', 'resizeKeepAspect', 'resizeExact', 'normalizeImages', 'CLIP_MEAN', 'CLIP_STD', 'IMAGENET_MEAN', 'IMAGENET_STD'],
    ...['matmul'],
    ...['Clip', 'readClipWeights'],
    ...['tokenize', 'loadTokenizer', 'BpeTokenizer', 'WordTokenizer'],
    ...['promptTemplates', 'classNames'],
    ...['Segmenter'],
    ...['PixelEmbedder', 'ResNet', 'PAPER_NET'],
    ...['writeLabelPng', 'writeOverlay', 'classAreas'],
  ],
  'clips4/train': [
    ...['resolveConfig', 'defaultConfig', 'trainerOptions', 'netConfig', 'viewOptions', 'configHelp', 'SCHEMA', 'runTraining', 'NativeTrainer', 'polyLr'],
    ...['distFromEnv', 'launchLocal', 'ProcessGroup', 'rankSlice'],
    ...['Progress', 'formatDuration', 'saveCheckpoint', 'loadLatest', 'TensorBoardWriter', 'exportRun'],
  ],
  'clips4/eval': [
    ...['ConfusionMatrix', 'languageEvaluate', 'knnEvaluate', 'kmeansSegments', 'trainLinearProbe', 'probePredict'],
    ...['propagateLabels', 'davisScores', 'jaccard', 'boundaryF', 'runDavis', 'colourFeatures', 'denseFrameEncoder'],
    ...['retrieveSegments', 'unknownFolds'],
  ],
  'clips4/data': [
    ...['vocDataset', 'contextDataset', 'cocoStuffDataset', 'davisSequences', 'folderDataset', 'readLabel'],
    ...['slic', 'cachedSlic', 'felzenszwalb', 'computeRegions', 'cachedRegions', 'SLIC_DEFAULTS', 'FELZENSZWALB_DEFAULTS'],
    ...['readRegionPng', 'folderRegions', 'regionsFor', 'regionSourceFromConfig', 'buildClipCache', 'cacheKey'],
    ...['encodeIndexedPng', 'decodeIndexedPng', 'vocPalette'],
    ...['isRawImage', 'checkRawImage', 'describeInput', 'DEFAULT_MAX_PIXELS', 'denormalizeImage'],
  ],
  'clips4/world': ['generateWorld', 'WORLD_CLASSES', 'STUFF', 'THINGS', 'UNKNOWN_FOLDS', 'LABEL_OFFSET', 'pretrainClip', 'reproduce', 'headline'],
  'clips4/plot': ['umap', 'renderCurves', 'readMetricRows'],
  'clips4/kernels': ['sphericalKMeans', 'splitByRegion', 'segmentMeans', 'pixelSegmentLoss', 'embeddingLoss', 'semanticLoss', 'unknownPrototypeLoss', 'knownPrototypes', 'knownPrototypeSegments', 'MemoryBank'],
};
const specs = Object.keys(ENTRIES);
/** 'clips4/train' → './train', the key of package.json "exports". */
const subpath = (spec: string) => `.${spec.slice('clips4'.length)}`;
/** The entry's source: src/index.ts for the root, src/entry/<name>.ts for the others. */
const source = (spec: string) => path.join(repoRoot, 'src', spec === 'clips4' ? 'index.ts' : `entry/${spec.slice('clips4/'.length)}.ts`);
const sorted = (names: string[]) => [...names].sort();
const rebuild = 'lib/ is missing or stale: run npm run build:ts (npm test builds it)';

test('package.json "exports" holds exactly the documented entries, each with types, import and require built in lib/', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | Record<string, string>> };
  t.is(pkg.name, 'clips4', 'the tests load the package through its own name');
  t.deepEqual(sorted(Object.keys(pkg.exports)), sorted([...specs.map(subpath), './package.json']));
  for (const spec of specs) {
    const targets = pkg.exports[subpath(spec)] as Record<string, string>;
    t.deepEqual(Object.keys(targets), ['types', 'import', 'require', 'default'], `${spec}: "types" must come first and "default" last to be seen`);
    for (const [condition, file] of Object.entries(targets)) t.true(fs.existsSync(path.join(repoRoot, file)), `${spec} "${condition}": ${file} is missing; ${rebuild}`);
  }
});

test('each entry exposes exactly the documented names, in its source and through require', (t) => {
  for (const spec of specs) {
    t.true(fs.existsSync(source(spec)), `${spec}: no entry file ${path.relative(repoRoot, source(spec))}`);
    t.deepEqual(sorted(Object.keys(require(source(spec)))), sorted(ENTRIES[spec]), `${spec}: its source file and the list here (and README's API section) disagree`);
    t.deepEqual(sorted(Object.keys(require(spec))), sorted(ENTRIES[spec]), `${spec}: ${rebuild}`);
  }
});

test('import resolves to the ES-module entries and gives the same names and objects as require', (t) => {
  // A child process, because this file runs as CommonJS under tsx, which turns import() into
  // require(); the child runs from the package's folder, so 'clips4/…' resolves to the package itself.
  const program = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    const out = {};
    for (const spec of ${JSON.stringify(specs)}) {
      const esm = await import(spec);
      const cjs = require(spec);
      out[spec] = {
        file: import.meta.resolve(spec),
        names: Object.keys(esm).filter((n) => n !== 'default'),
        cjsNames: Object.keys(cjs),
        defaultIsCjs: esm.default === cjs,
        different: Object.keys(cjs).filter((n) => esm[n] !== cjs[n]),
      };
    }
    const { ConfusionMatrix } = await import('clips4/eval');
    const cm = new ConfusionMatrix(2).add([0, 1, 1, 1], [0, 1, 0, 1]);
    out.confusion = { counts: Array.from(cm.counts), miou: cm.miou(), cjsClass: cm instanceof require('clips4/eval').ConfusionMatrix };
    process.stdout.write(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: repoRoot, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { file: string; names: string[]; cjsNames: string[]; defaultIsCjs: boolean; different: string[] }> & { confusion: { counts: number[]; miou: number; cjsClass: boolean } };
  for (const spec of specs) {
    t.regex(out[spec].file, /\.mjs$/, `${spec}: import must resolve through the "import" condition`);
    t.deepEqual(sorted(out[spec].names), sorted(out[spec].cjsNames), `${spec}: import and require list different names; ${rebuild}`);
    t.deepEqual(sorted(out[spec].names), sorted(ENTRIES[spec]), `${spec}: ${rebuild}`);
    t.true(out[spec].defaultIsCjs, `${spec}: the default export is the CommonJS module`);
    t.deepEqual(out[spec].different, [], `${spec}: import and require give different objects`);
  }
  // gt 0 → pred 0, gt 1 → pred 1 twice, gt 0 → pred 1: IoU 1/2 and 2/3.
  t.deepEqual(out.confusion.counts, [1, 1, 0, 2]);
  t.is(out.confusion.miou, (1 / 2 + 2 / 3) / 2);
  t.true(out.confusion.cjsClass);
});

test('a few functions work through the entries', (t) => {
  const root = require('clips4') as typeof import('../src/index');
  const train = require('clips4/train') as typeof import('../src/entry/train');
  const data = require('clips4/data') as typeof import('../src/entry/data');
  const world = require('clips4/world') as typeof import('../src/entry/world');
  const evaluation = require('clips4/eval') as typeof import('../src/entry/eval');
  t.deepEqual(Array.from(root.float32([2], [1, 2]).data), [1, 2]);
  t.is(typeof root.safetensors.read, 'function');
  t.is(new evaluation.ConfusionMatrix(2).add([0, 1], [0, 1]).miou(), 1);
  t.is(train.polyLr(0.1, 5, 10, 0.9), 0.1 * 0.5 ** 0.9);
  t.is(train.trainerOptions(train.defaultConfig(['loss.temperature=0.2'])).semanticTemperature, 0.2);
  t.regex(train.configHelp(), /train\.batch/);
  t.is(data.vocPalette().length, 256 * 3);
  t.is(world.WORLD_CLASSES.length, 24);
});

test("README's API section names exactly the entries", (t) => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = /\n## API\n([\s\S]*?)(\n## |$)/.exec(readme)?.[1];
  t.truthy(section, 'README.md has an "## API" section');
  const listed = [...section!.matchAll(/^\| `(clips4(?:\/[a-z]+)?)` \|/gm)].map((m) => m[1]);
  t.deepEqual(sorted(listed), sorted(specs));
});
