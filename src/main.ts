#!/usr/bin/env node
import pino from 'pino';
import { runCli } from './cli.ts';
import { parseConfig, USAGE } from './config.ts';
import { startOperator } from './operator.ts';

async function run(argv: string[]): Promise<void> {
  let cfg;
  try {
    cfg = parseConfig(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (cfg === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = pino({ level: cfg.logLevel, base: { app: 'pcluster-image-operator' } });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: (e as Error)?.message ?? String(e) }, 'unhandled rejection');
    process.exit(1);
  });
  const op = await startOperator(cfg, log, {
    onLeadershipLost: () => {
      log.fatal('leader election lost; exiting so a restart rejoins as a candidate');
      process.exit(1);
    },
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new work; finishing in-flight steps');
    op.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: (e as Error).message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'delete-image' || cmd === 'describe-image' || cmd === 'list-images') {
  runCli(cmd, rest).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`pcluster-image-operator ${cmd}: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  const argv = cmd === 'run' ? rest : cmd === undefined ? [] : [cmd, ...rest];
  run(argv).catch((e: unknown) => {
    process.stderr.write(`pcluster-image-operator: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
