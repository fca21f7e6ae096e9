import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerignore, execForm, parseCopy, parseDockerfile, type Stage } from './dockerfile-parse.js';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const runtime = stages[stages.length - 1]!;
const args = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** Files under a context-relative path, as Docker would send them (after .dockerignore). */
function contextFiles(path: string): string[] {
  const absolute = join(ROOT, path);
  if (!existsSync(absolute)) return [];
  if (statSync(absolute).isFile()) return ignored(path) ? [] : [path];
  return readdirSync(absolute).flatMap((entry) => (ignored(`${path}/${entry}`) ? [] : contextFiles(`${path}/${entry}`)));
}

/** Every file a stage COPYs from the build context (not from other stages). */
function copiedFiles(stage: Stage): string[] {
  return args(stage, 'COPY')
    .map(parseCopy)
    .filter((c) => c.from === undefined)
    .flatMap((c) => c.sources.flatMap((s) => contextFiles(s.replace(/^\.\//, ''))));
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
}, 120_000);

/** Copies a stage's COPY set into a fresh directory, as `docker build` would see it. */
function cleanCopy(stage: Stage): string {
  const dir = mkdtempSync(join(tmpdir(), 'docker-stage-'));
  temps.push(dir);
  for (const file of copiedFiles(stage)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file));
  }
  return dir;
}

function npm(cwd: string, ...npmArgs: string[]): void {
  try {
    execFileSync('npm', npmArgs, { cwd, stdio: 'pipe', timeout: 300_000, env: { ...process.env, NODE_ENV: '' } });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm ${npmArgs.join(' ')} failed in a clean copy:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`);
  }
}

describe('Dockerfile', () => {
  it('is multi-stage on a current LTS slim Node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.image).toMatch(/^node:\d+-slim(@sha256:[0-9a-f]{64})?$/);
    expect(stages[0]!.name).toBe('build');
  });

  it('builds dist/ with dev dependencies in the build stage', () => {
    const build = stages[0]!;
    const runs = args(build, 'RUN').join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).not.toMatch(/--omit=dev/);
    expect(runs).toMatch(/npm run build/);
  });

  it('runs with production dependencies only, as the node user, with a node-based health check', () => {
    const runs = args(runtime, 'RUN').join('\n');
    expect(runs).toMatch(/npm ci [^\n]*--omit=dev/);
    // Copying node_modules from the build stage would bring the dev deps (and the dev `node` binary) in.
    const fromBuild = args(runtime, 'COPY').map(parseCopy).filter((c) => c.from !== undefined);
    expect(fromBuild.flatMap((c) => c.sources)).toEqual(['/app/dist']);
    expect(args(runtime, 'ENV')).toContain('NODE_ENV=production');
    const users = args(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).toBe('node');
    // The node user can write the documented spool directory (SUMMARY_SPOOL_DIR), and nothing in /app.
    expect(runs).toMatch(/mkdir -p \/var\/lib\/audiohook-realtime\/spool && chown -R node:node \/var\/lib\/audiohook-realtime/);
    expect(runs).not.toMatch(/chown[^\n]*\/app/);
    expect(args(runtime, 'EXPOSE')).toEqual(['8080']);

    const healthcheck = args(runtime, 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    const probe = execForm(healthcheck[0]!.replace(/^(--\S+\s+)*CMD\s+/, ''));
    expect(probe?.[0]).toBe('node');
    expect(probe?.join(' ')).toContain("'http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz'");

    const cmd = args(runtime, 'CMD');
    expect(cmd).toHaveLength(1);
    expect(execForm(cmd[0]!)).toEqual(['node', 'dist/cli/main.js', 'serve']);
    expect(args(runtime, 'ENTRYPOINT')).toEqual([]);
  });

  it('the health check passes on 200 from /healthz on $PORT and fails on 503 or no server', async () => {
    const probe = execForm(args(runtime, 'HEALTHCHECK')[0]!.replace(/^(--\S+\s+)*CMD\s+/, ''))!;
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const run = async (env: NodeJS.ProcessEnv) =>
      execFileAsync(process.execPath, probe.slice(1), { env: { ...process.env, ...env }, timeout: 20_000 }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1,
      );
    try {
      expect(await run({ PORT: String(port) })).toBe(0);
      status = 503;
      expect(await run({ PORT: String(port) })).toBe(1);
      expect(paths).toEqual(['/healthz', '/healthz']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await run({ PORT: String(port) })).toBe(1);
  });
});

describe('.dockerignore and the COPY set', () => {
  it('keeps secrets, git, tests, fixtures and installed modules out of the context', () => {
    for (const path of ['.env', '.env.local', 'config/.env.production', '.git', '.git/config', 'test/ops/x.test.ts',
      'node_modules/ws/index.js', 'fixtures/caller/hello.wav', 'docs/DEPLOY.md', 'dist/cli/main.js', 'coverage/x',
      'bench/out/a.json', 'npm-debug.log']) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/cli/main.ts']) {
      expect(ignored(path), path).toBe(false);
    }
  });

  it('every COPY source survives .dockerignore and the image gets no secret files', () => {
    for (const stage of stages) {
      for (const copy of args(stage, 'COPY').map(parseCopy).filter((c) => c.from === undefined)) {
        for (const source of copy.sources) expect(contextFiles(source.replace(/^\.\//, '')).length, source).toBeGreaterThan(0);
      }
    }
    const all = stages.flatMap(copiedFiles);
    expect(all).toContain('package-lock.json');
    expect(all.some((f) => f.startsWith('src/'))).toBe(true);
    for (const file of all) expect(file).not.toMatch(/(^|\/)(\.env[^/]*|\.npmrc|.*\.pem|.*\.key)$/);
  });

  it('the lockfile gives the runtime install every dependency and no devDependency', () => {
    // What `npm ci --omit=dev` installs is exactly the lockfile entries not marked dev (lockfile v2+).
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      lockfileVersion: number;
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    const production = new Set(
      Object.entries(lock.packages)
        .filter(([path, entry]) => path !== '' && !entry.dev)
        .map(([path]) => path),
    );
    for (const dep of Object.keys(packageJson.dependencies)) expect(production.has(`node_modules/${dep}`), dep).toBe(true);
    for (const dev of Object.keys(packageJson.devDependencies)) expect(production.has(`node_modules/${dev}`), dev).toBe(false);
    // The dev Node binary in particular (its install script downloads a whole Node).
    expect(lock.packages['node_modules/node']?.dev).toBe(true);
  });

  // A real `npm ci` from a clean copy takes 10+ s: opt in with DOCKER_BUILD_CHECK=1 (CI does).
  it.skipIf(process.env['DOCKER_BUILD_CHECK'] !== '1')(
    'the runtime stage installs from a clean copy: production deps only, no dev Node binary',
    { timeout: 180_000 },
    async () => {
      const dir = cleanCopy(runtime);
      expect(readdirSync(dir).sort()).toEqual(['package-lock.json', 'package.json']);
      // --prefer-offline: served from the npm cache when warm, otherwise from the registry.
      npm(dir, 'ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund');
      for (const dev of Object.keys(packageJson.devDependencies)) {
        expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
      }
      expect(existsSync(join(dir, 'node_modules', '.bin', 'node'))).toBe(false);
      const script = Object.keys(packageJson.dependencies)
        .map((dep) => `await import(${JSON.stringify(dep)});`)
        .join('');
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, stdio: 'pipe' });
    },
  );

  // The full build stage (all dev deps, tsc) takes a while: opt in with DOCKER_BUILD_CHECK=1.
  it.skipIf(process.env['DOCKER_BUILD_CHECK'] !== '1')(
    'the build stage compiles a clean copy, and the CMD runs on production deps only',
    { timeout: 300_000 },
    () => {
      const build = cleanCopy(stages[0]!);
      npm(build, 'ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund');
      npm(build, 'run', 'build');
      const cmd = execForm(args(runtime, 'CMD')[0]!)!;
      expect(existsSync(join(build, cmd[1]!)), cmd[1]).toBe(true);

      const image = cleanCopy(runtime);
      npm(image, 'ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund');
      cpSync(join(build, 'dist'), join(image, 'dist'), { recursive: true });
      // Without GENESYS_API_KEY the server must refuse to start with a clear message: that proves the
      // entry point loads and reaches configuration with only production dependencies installed.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GENESYS_')));
      let result: { status: number | null; stderr: string };
      try {
        execFileSync(process.execPath, cmd.slice(1), { cwd: image, env: { ...env, NODE_ENV: 'production' }, stdio: 'pipe', timeout: 30_000 });
        result = { status: 0, stderr: '' };
      } catch (error) {
        const e = error as { status: number | null; stderr: Buffer };
        result = { status: e.status, stderr: e.stderr.toString() };
      }
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('GENESYS_API_KEY');
      expect(result.stderr).not.toMatch(/Cannot find (module|package)/);
    },
  );
});
