/** The `nakadachi` command: parses the command line and hands over to one file per command group. */
import { accountCommand } from './cli/account-command.ts';
import { AdminError } from './cli/admin-channel.ts';
import { auditCommand } from './cli/audit-command.ts';
import { CONVERT_USAGE, convertCommand } from './cli/convert-command.ts';
import { parse, UsageError } from './cli/args.ts';
import { deadLettersCommand } from './cli/dead-letters-command.ts';
import { demoCommand } from './cli/demo-command.ts';
import { printJson, type Out } from './cli/output.ts';
import { partnerCommand } from './cli/partner-command.ts';
import { loadConfig, type Config } from './config.ts';
import { isGatewayError } from './core/errors.ts';
import { openMigratedDatabase, startGateway } from './main.ts';

const USAGE = `Usage: nakadachi <command> [options]

Commands:
  serve                                  run the gateway (HTTP API and jobs, see ROLE)
  migrate                                apply database migrations and exit
  partner add --id ID --name NAME --roles r1,r2 [--format xml|json|ubl|csv]
              [--inbound-format xml|json|ubl|csv] [--outbound-format xml|json|ubl]
              [--delivery push|mailbox|file] [--endpoint URL] [--signed-requests]
  partner set-format --id ID [--format F] [--inbound-format F] [--outbound-format F]
  partner aliases --id ID                the identifiers UBL documents name the partner by
  partner alias-add --id ID --scheme SCHEME --value VALUE
                                         e.g. --scheme GLN --value 5798000416604, or
                                         --scheme NAME --value "Gentofte Kommune"
  partner alias-remove --id ID --scheme SCHEME --value VALUE
  partner list
  partner show --id ID
  partner disable --id ID                refuse the partner's keys and documents
  partner enable --id ID
  partner rotate-key --id ID             issue a new API key; the old ones keep working
  partner revoke-key --id ID --key-id KEYID
  partner subscribe --id ID --feed items|reservations [--mode scheduled|immediate]
              [--schedule CRON] [--categories a,b] [--regions JP,DE]
  partner unsubscribe --id ID --feed items|reservations
  partner feeds --id ID                  the partner's feed subscriptions
  dead-letters list [--partner ID] [--type TYPE] [--older-than AGE] [--newer-than AGE]
                    [--limit N] [--after CURSOR]     AGE: 90, 30s, 15m, 2h, 7d
  dead-letters show --id MESSAGEID       a dead letter and its delivery attempts
  dead-letters replay --id ID[,ID…] | --partner ID | --type TYPE | --older-than AGE
                      | --newer-than AGE | --all [--limit N]
                                         back into the queue, same messageId
  account fund --partner ID --amount 1000.00 --currency JPY [--reference REF]
                                         a ledger entry from the external funding account
  account credit-limit --partner ID --amount AMOUNT --currency CUR
  account show --partner ID              balances, holds and recent entries (the gateway's
                                         own id shows its revenue and funding accounts)
  account suspend|activate --partner ID --currency CUR
                                         a suspended account is issued no checks
  audit status                           what the seals cover, the last seal
  audit seal                             seal the new log entries now (the seal-audit job
                                         does it every 10 s)
  audit verify                           recompute every digest and seal; exit 1 and name
                                         the first broken seal and entry if any
  audit export [--from TIME] [--to TIME] [--partner ID] [--out FILE]
                                         entries and the seals that cover them, as NDJSON
  audit verify --file FILE [--jwks KEYS.json]
                                         verify an export offline (no gateway, no database)
${CONVERT_USAGE}
  demo [--keep]                          play one deal end to end on a throw-away gateway
                                         (--keep: leave its data for the console)

Every command takes --json for output meant for scripts.
Configuration comes from the environment (see the README).`;

async function serveCommand(config: Readonly<Config>, args: string[]): Promise<void> {
  parse(args, {});
  const gateway = await startGateway(config);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      gateway.logger.info({ signal }, 'signal received');
      gateway.stop().then(resolve, (error: unknown) => {
        gateway.logger.error({ err: error }, 'unclean stop');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

async function migrateCommand(config: Readonly<Config>, args: string[], out: Out): Promise<void> {
  const values = parse(args, {});
  const { database, lock } = await openMigratedDatabase(config);
  await database.close();
  lock?.release();
  if (values.json === true) printJson(out, { migrated: true, database: database.kind });
  else out(`database (${database.kind}) is at the latest migration`);
}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function runCli(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Out = (t) => process.stdout.write(`${t}\n`),
  errOut: Out = (t) => process.stderr.write(`${t}\n`),
): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      out(USAGE);
      return command === undefined ? 2 : 0;
    }
    // The demo starts a gateway of its own on a temporary database: it reads no configuration.
    if (command === 'demo') {
      await demoCommand(args, env, out, errOut);
      return 0;
    }
    const config = loadConfig(env);
    switch (command) {
      case 'serve':
        await serveCommand(config, args);
        return 0;
      case 'migrate':
        await migrateCommand(config, args, out);
        return 0;
      case 'partner':
        await partnerCommand(config, args, out);
        return 0;
      case 'dead-letters':
        await deadLettersCommand(config, args, out);
        return 0;
      case 'account':
        await accountCommand(config, args, out);
        return 0;
      case 'audit':
        await auditCommand(config, args, out);
        return 0;
      case 'convert':
        return await convertCommand(config, args, out, errOut);
      default:
        throw new UsageError(`unknown command "${command}" (try: nakadachi help)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      errOut(`nakadachi: ${error.message}`);
      return 2;
    }
    if (error instanceof AdminError || isGatewayError(error)) {
      errOut(`nakadachi: ${error.message}`);
      return isGatewayError(error) && error.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    errOut(
      `nakadachi: unexpected failure: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli.ts')) {
  process.exitCode = await runCli(process.argv.slice(2), process.env);
}
